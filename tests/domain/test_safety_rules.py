"""The pure safety rules of issue 8: unfinished questionnaires in the summary and its flag,
and what a discharge must acknowledge (open risk newer than the last review, red flags)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from caseload.domain.codes import (
    INCOMPLETE_REASONS,
    AttendanceCode,
    ContactType,
    NotCollectedReason,
    RiskLevel,
    Severity,
)
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    is_unfinished,
    risk_item_unanswered,
    summarise_episode,
)
from caseload.domain.flags import (
    EpisodeFacts,
    Flag,
    FlagKind,
    discharge_risk_flags,
    episode_flags,
    incomplete_questionnaires_flag,
    open_risk_signalled_at,
)
from caseload.domain.measures import PHQ9, Measure, contact_form_measures, get_measure
from caseload.domain.scoring import NOT_APPLICABLE

TODAY = date(2026, 11, 10)
SEEN = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


def facts(summary: EpisodeSummaryFacts, *, last_review_on: date | None = None) -> EpisodeFacts:
    """An open step-2 episode referred a week before it was seen."""
    return EpisodeFacts(
        summary=summary,
        step=2,
        complexity_factors=frozenset(),
        is_open=True,
        today=TODAY,
        last_review_on=last_review_on,
        referral_date=date(2026, 10, 27),
    )


def contact(
    number: int,
    *,
    incomplete: frozenset[str] = frozenset(),
    risk_item_unanswered: frozenset[str] = frozenset(),
    attendance: AttendanceCode = AttendanceCode.ATTENDED_ON_TIME,
) -> ContactFacts:
    return ContactFacts(
        contact_id=number,
        occurred_at=SEEN + timedelta(days=7 * number),
        contact_type=ContactType.TREATMENT,
        attendance=attendance,
        incomplete=incomplete,
        risk_item_unanswered=risk_item_unanswered,
    )


# Reasons -------------------------------------------------------------------------------


def test_only_other_needs_the_workers_words() -> None:
    assert [r for r in NotCollectedReason if r.needs_note] == [NotCollectedReason.OTHER]
    assert NotCollectedReason.OTHER.label == "Other reason"
    # Declined, ran out of time, or other with a short text (issue 8).
    assert INCOMPLETE_REASONS == (
        NotCollectedReason.DECLINED,
        NotCollectedReason.NO_TIME,
        NotCollectedReason.OTHER,
    )


# Unfinished questionnaires --------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "unfinished"),
    [
        (None, False),  # not collected at all
        ([None] * 9, False),  # nothing answered: not started
        ([1] * 9, False),  # complete
        ([1] * 8 + [None], True),
        ([None] + [0] * 8, True),
        ([NOT_APPLICABLE, 1, 1, 1, None], True),  # "not applicable" is an answer
        ([NOT_APPLICABLE, 1, 1, 1, 1], False),
        (["n/a", 2, None, 2, 2], True),  # as stored
    ],
)
def test_is_unfinished(answers: list[object] | None, unfinished: bool) -> None:
    assert is_unfinished(answers) is unfinished


def test_the_risk_item_comes_from_the_definition() -> None:
    phq9, gad7 = get_measure("phq9"), get_measure("gad7")
    assert risk_item_unanswered(phq9, [1] * 8 + [None])
    assert not risk_item_unanswered(phq9, [None] * 8 + [0])
    assert not risk_item_unanswered(phq9, [None] * 9)  # not started: nothing was skipped
    assert not risk_item_unanswered(phq9, None)
    assert not risk_item_unanswered(gad7, [1] * 6 + [None])  # GAD-7 has no risk item


@pytest.mark.parametrize("measure", contact_form_measures(), ids=lambda m: m.id)
def test_every_measure_with_a_risk_item_is_checked_the_same_way(measure: Measure) -> None:
    answers: list[object] = [item.min for item in measure.items]
    if measure.risk_item is None:
        answers[-1] = None
        assert not risk_item_unanswered(measure, answers)
    else:
        answers[measure.risk_item - 1] = None
        assert risk_item_unanswered(measure, answers)
    # A one-item measure is answered or not asked: it cannot be left unfinished.
    assert is_unfinished(answers) is (len(measure.items) > 1)


def test_summary_counts_unfinished_questionnaires_at_attended_contacts() -> None:
    summary = summarise_episode(
        [
            contact(1, incomplete=frozenset({"phq9", "gad7"}), risk_item_unanswered={"phq9"}),
            contact(2),
            contact(3, incomplete=frozenset({"wsas"})),
            # A contact not attended holds no questionnaires that count.
            contact(
                4,
                incomplete=frozenset({"phq9"}),
                risk_item_unanswered=frozenset({"phq9"}),
                attendance=AttendanceCode.DID_NOT_ATTEND,
            ),
        ]
    )
    assert summary.incomplete_questionnaires == 3
    assert summary.unanswered_risk_items == 1


def test_a_risk_item_counts_only_with_its_unfinished_questionnaire() -> None:
    summary = summarise_episode([contact(1, risk_item_unanswered=frozenset({"phq9"}))])
    assert summary.incomplete_questionnaires == 0
    assert summary.unanswered_risk_items == 0


def test_no_flag_without_unfinished_questionnaires() -> None:
    assert incomplete_questionnaires_flag(facts(EpisodeSummaryFacts())) is None


def test_one_unfinished_questionnaire_is_an_amber_flag_in_a_sentence() -> None:
    flag = incomplete_questionnaires_flag(facts(EpisodeSummaryFacts(incomplete_questionnaires=1)))
    assert flag is not None
    assert flag.kind is FlagKind.INCOMPLETE_QUESTIONNAIRES
    assert flag.severity is Severity.AMBER
    assert flag.sentence == "1 questionnaire was started and left unfinished, so it has no total."


def test_the_flag_says_when_the_risk_item_was_not_answered() -> None:
    one = incomplete_questionnaires_flag(
        facts(EpisodeSummaryFacts(incomplete_questionnaires=1, unanswered_risk_items=1))
    )
    assert one is not None
    assert one.sentence.endswith("Its risk question (PHQ-9 item 9) was not answered.")
    several = incomplete_questionnaires_flag(
        facts(EpisodeSummaryFacts(incomplete_questionnaires=3, unanswered_risk_items=2))
    )
    assert several is not None
    assert several.sentence == (
        "3 questionnaires were started and left unfinished, so they have no total. "
        "In 2 of them the risk question (PHQ-9 item 9) was not answered."
    )
    # New evidence raises the flag again after a review cleared the old one.
    assert one.key != several.key


def test_the_flag_is_among_the_episode_flags_of_an_open_case_only() -> None:
    open_case = facts(EpisodeSummaryFacts(incomplete_questionnaires=2))
    assert FlagKind.INCOMPLETE_QUESTIONNAIRES in {f.kind for f in episode_flags(open_case)}
    assert episode_flags(replace(open_case, is_open=False)) == ()


# What a discharge must acknowledge --------------------------------------------------------


def risky(**fields: object) -> EpisodeSummaryFacts:
    """Seen on SEEN, with PHQ-9 item 9 answered 2 then."""
    values: dict[str, object] = {
        "latest_risk_answer": 2,
        "latest_risk_answer_measure": PHQ9,
        "latest_risk_answer_at": SEEN,
        "attended_contacts": 1,
        "last_attended_at": SEEN,
    }
    return EpisodeSummaryFacts(**(values | fields))  # type: ignore[arg-type]


def test_no_open_risk_has_no_signal_time() -> None:
    assert open_risk_signalled_at(EpisodeSummaryFacts()) is None
    assert open_risk_signalled_at(risky(latest_risk_answer=0)) is None
    low = risky(latest_risk_answer=0, latest_risk_level=RiskLevel.LOW, latest_risk_at=SEEN)
    assert open_risk_signalled_at(low) is None


def test_the_signal_time_is_the_later_of_item_9_and_the_rating() -> None:
    later = SEEN + timedelta(days=7)
    assert open_risk_signalled_at(risky()) == SEEN
    rated = risky(latest_risk_level=RiskLevel.HIGH, latest_risk_at=later)
    assert open_risk_signalled_at(rated) == later
    # A later low rating is no signal: the item-9 answer is the open one.
    low_later = risky(latest_risk_level=RiskLevel.LOW, latest_risk_at=later)
    assert open_risk_signalled_at(low_later) == SEEN


def _discharge_flags(
    episode: EpisodeFacts, *, cleared: frozenset[FlagKind] = frozenset()
) -> list[FlagKind]:
    """What discharge asks about, with some flags cleared as a supervision review would."""
    flags = [f for f in episode_flags(episode) if f.kind not in cleared]
    return [f.kind for f in discharge_risk_flags(episode, flags)]


def test_a_case_without_risk_or_red_flags_needs_nothing() -> None:
    assert _discharge_flags(facts(EpisodeSummaryFacts(incomplete_questionnaires=1))) == []


def test_open_risk_never_reviewed_is_shown() -> None:
    # Never reviewed, two weeks after referral, with a red flag: review overdue is red too.
    assert _discharge_flags(facts(risky())) == [FlagKind.RISK, FlagKind.REVIEW_OVERDUE]


@pytest.mark.parametrize(
    ("review", "shown"),
    [
        (SEEN.date() - timedelta(days=1), True),  # the signal came after the review
        (SEEN.date(), True),  # the same day: a date cannot say which came first
        (SEEN.date() + timedelta(days=1), False),  # reviewed since
    ],
)
def test_open_risk_newer_than_the_last_review(review: date, shown: bool) -> None:
    """With the risk flag cleared by that review, only a newer signal brings it back."""
    episode = facts(risky(), last_review_on=review)
    got = _discharge_flags(episode, cleared=frozenset({FlagKind.RISK, FlagKind.REVIEW_OVERDUE}))
    assert got == ([FlagKind.RISK] if shown else [])


def test_every_open_red_flag_is_shown_even_without_risk() -> None:
    worse = facts(
        EpisodeSummaryFacts(
            measures=(),
            attended_contacts=2,
            treatment_contacts=2,
            last_attended_at=SEEN,
        )
    )
    red = Flag(FlagKind.DETERIORATION, Severity.RED, "Scores have reliably worsened.", "x")
    amber = Flag(FlagKind.COMPLEXITY, Severity.AMBER, "Complexity.", "y")
    assert discharge_risk_flags(worse, [amber, red]) == (red,)


def test_the_risk_flag_is_not_repeated() -> None:
    episode = facts(risky())
    shown = discharge_risk_flags(episode, episode_flags(episode))
    assert [f.kind for f in shown].count(FlagKind.RISK) == 1
    assert shown[0].severity is Severity.RED
    assert "PHQ-9 item 9 scored 2" in shown[0].sentence
