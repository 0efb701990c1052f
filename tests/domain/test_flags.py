"""Every flag firing and not firing at its boundaries, ordering, and worker flags."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from caseload.domain.codes import ComplexityFactor, RiskLevel, Severity
from caseload.domain.curves import build_expected_curves
from caseload.domain.episodes import EpisodeSummaryFacts, MeasureSeries
from caseload.domain.flags import (
    EpisodeFacts,
    Flag,
    FlagKind,
    FlagSettings,
    complexity_flag,
    deterioration_flag,
    disengaging_flag,
    episode_flags,
    has_open_risk,
    long_treatment_flag,
    missing_measures_flag,
    not_on_track_flag,
    review_overdue_flag,
    risk_flag,
    severe_at_entry_flag,
    worker_flags,
)
from caseload.domain.measures import GAD7, PHQ9, get_measure

TODAY = date(2026, 11, 10)
LAST_SEEN = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


def summary(**fields: Any) -> EpisodeSummaryFacts:
    """A summary from keyword scores, as the flags read it.

    ``first_phq9``, ``last_phq9``, ``latest_phq9`` and ``phq9_series`` (and the
    same for GAD-7) build that measure's MeasureSeries (first and last default
    from the series, latest to the last score or else the first); ``item9`` and
    ``item9_at`` are the latest PHQ-9 item 9 answer; any other keyword is an
    EpisodeSummaryFacts field.
    """
    measures: list[MeasureSeries] = []
    for measure_id in sorted((PHQ9, GAD7)):
        totals = tuple(fields.pop(f"{measure_id}_series", ()))
        first = fields.pop(f"first_{measure_id}", totals[0] if totals else None)
        last = fields.pop(f"last_{measure_id}", totals[-1] if len(totals) > 1 else None)
        latest = fields.pop(f"latest_{measure_id}", first if last is None else last)
        if (first, last, latest, totals) != (None, None, None, ()):
            measures.append(
                MeasureSeries(measure_id, first=first, last=last, latest=latest, totals=totals)
            )
    item9 = fields.pop("item9", None)
    return EpisodeSummaryFacts(
        measures=tuple(measures),
        latest_risk_answer=item9,
        latest_risk_answer_measure=None if item9 is None else PHQ9,
        latest_risk_answer_at=fields.pop("item9_at", None),
        **fields,
    )


def facts(**summary_fields: Any) -> EpisodeFacts:
    """An open step-2 episode, seen a week ago, reviewed yesterday, with no concerns."""
    defaults: dict[str, Any] = {
        "attended_contacts": 1,
        "treatment_contacts": 1,
        "first_contact_at": LAST_SEEN,
        "last_attended_at": LAST_SEEN,
    }
    if "phq9_series" not in summary_fields:
        defaults["first_phq9"] = 12
    if "gad7_series" not in summary_fields:
        defaults["first_gad7"] = 10
    return EpisodeFacts(
        summary=summary(**{**defaults, **summary_fields}),
        step=2,
        complexity_factors=frozenset(),
        is_open=True,
        today=TODAY,
        last_review_on=date(2026, 11, 9),
        referral_date=date(2026, 10, 1),
    )


def test_quiet_episode_has_no_flags() -> None:
    assert episode_flags(facts()) == ()


def test_summary_helper_builds_measure_series() -> None:
    s = facts().summary
    assert (s.first(PHQ9), s.last(PHQ9), s.latest(PHQ9)) == (12, None, 12)
    assert (s.first(GAD7), s.last(GAD7), s.latest(GAD7)) == (10, None, 10)
    assert s.latest_risk_answer is None


# Risk ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item9", "level", "fires"),
    [
        (0, None, False),
        (None, None, False),
        (1, None, True),
        (3, None, True),
        (0, RiskLevel.LOW, False),
        (0, RiskLevel.NONE, False),
        (0, RiskLevel.MODERATE, True),
        (None, RiskLevel.HIGH, True),
    ],
)
def test_risk_flag(item9: int | None, level: RiskLevel | None, fires: bool) -> None:
    f = facts(item9=item9, item9_at=LAST_SEEN, latest_risk_level=level, latest_risk_at=LAST_SEEN)
    flag = risk_flag(f)
    assert (flag is not None) is fires
    assert has_open_risk(f.summary) is fires
    if flag is not None:
        assert flag.severity is Severity.RED
        assert flag.kind is FlagKind.RISK


@pytest.mark.parametrize(
    ("item9", "level", "open_risk"),
    [
        (None, None, False),
        (0, None, False),
        (1, None, True),
        (2, RiskLevel.NONE, True),
        (0, RiskLevel.LOW, False),
        (None, RiskLevel.LOW, False),
        (None, RiskLevel.MODERATE, True),
        (0, RiskLevel.HIGH, True),
    ],
)
def test_has_open_risk(item9: int | None, level: RiskLevel | None, open_risk: bool) -> None:
    s = summary(item9=item9, item9_at=LAST_SEEN, latest_risk_level=level, latest_risk_at=LAST_SEEN)
    assert has_open_risk(s) is open_risk
    assert has_open_risk(s) is (risk_flag(replace(facts(), summary=s)) is not None)


def test_risk_answer_without_its_measure_is_no_signal() -> None:
    # A risk answer that names no measure cannot be judged against a risk rule.
    s = replace(summary(), latest_risk_answer=3, latest_risk_answer_at=LAST_SEEN)
    assert not has_open_risk(s)
    assert risk_flag(replace(facts(), summary=s)) is None


def test_risk_evidence_names_the_measure_item_answer_and_date() -> None:
    flag = risk_flag(
        facts(
            item9=2,
            item9_at=LAST_SEEN,
            latest_risk_level=RiskLevel.HIGH,
            latest_risk_at=datetime(2026, 11, 9, 9, 0, tzinfo=UTC),
        )
    )
    assert flag is not None
    assert flag.evidence == "phq9.item9=2@2026-11-03;risk=high@2026-11-09"
    assert flag.key.startswith("risk:")


def test_risk_sentence_reads_aloud() -> None:
    flag = risk_flag(facts(item9=2, item9_at=LAST_SEEN))
    assert flag is not None
    assert flag.sentence == (
        "PHQ-9 item 9 scored 2 at the last contact on 3 Nov 2026: "
        "thoughts of self-harm or being better off dead."
    )


def test_risk_sentence_for_older_contact_and_rating() -> None:
    earlier = datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    flag = risk_flag(
        facts(
            item9=1,
            item9_at=earlier,
            latest_risk_level=RiskLevel.HIGH,
            latest_risk_at=LAST_SEEN,
        )
    )
    assert flag is not None
    assert "at the contact on 27 Oct 2026" in flag.sentence
    assert "The risk assessment at the last contact on 3 Nov 2026 rated risk as high." in (
        flag.sentence
    )


def test_new_evidence_changes_the_risk_key() -> None:
    first = risk_flag(facts(item9=1, item9_at=LAST_SEEN))
    later = risk_flag(facts(item9=1, item9_at=datetime(2026, 11, 9, tzinfo=UTC)))
    assert first is not None
    assert later is not None
    assert first.key != later.key
    assert first.key.startswith("risk:")


# Severe at entry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phq9", "gad7", "step", "fires"),
    [
        (19, 14, 2, False),
        (20, 14, 2, True),
        (19, 15, 2, True),
        (27, 21, 2, True),
        (27, 21, 3, False),
        (None, None, 2, False),
    ],
)
def test_severe_at_entry(phq9: int | None, gad7: int | None, step: int, fires: bool) -> None:
    f = replace(facts(first_phq9=phq9, first_gad7=gad7), step=step)
    flag = severe_at_entry_flag(f)
    assert (flag is not None) is fires
    if flag is not None:
        assert flag.severity is Severity.AMBER


# Deterioration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_phq9", "last_phq9", "first_gad7", "last_gad7", "fires"),
    [
        (10, 16, 8, 8, True),  # PHQ +6
        (10, 15, 8, 8, False),  # PHQ +5
        (10, 10, 8, 12, True),  # GAD +4
        (10, 10, 8, 11, False),  # GAD +3
        (10, 16, 12, 8, False),  # PHQ up, GAD down reliably: mixed
        (10, 16, 8, None, True),  # GAD missing must not hide a worse PHQ
        (10, None, 8, None, False),  # a single score of each: no change to see
    ],
)
def test_deterioration(
    first_phq9: int, last_phq9: int | None, first_gad7: int, last_gad7: int | None, fires: bool
) -> None:
    flag = deterioration_flag(
        facts(
            first_phq9=first_phq9, last_phq9=last_phq9, first_gad7=first_gad7, last_gad7=last_gad7
        )
    )
    assert (flag is not None) is fires
    if flag is not None:
        assert flag.severity is Severity.RED
        assert "PHQ-9 10 to 16" in flag.sentence or "GAD-7 8 to 12" in flag.sentence


# Not on track ---------------------------------------------------------------------------


def _series_facts(phq9: tuple[int, ...], gad7: tuple[int, ...], contacts: int) -> EpisodeFacts:
    return facts(treatment_contacts=contacts, phq9_series=phq9, gad7_series=gad7)


@pytest.mark.parametrize(
    ("phq9", "gad7", "contacts", "fires"),
    [
        ((18, 16, 14, 13), (), 4, True),  # fallback: fell 5, not reliably
        ((18, 16, 14, 12), (), 4, False),  # fell 6 by contact 4
        ((18, 16, 14, 13), (), 3, False),  # only 3 treatment contacts
        ((18, 17, 16), (), 4, False),  # only 3 scores
        ((), (12, 11, 10, 9), 5, True),  # GAD fell 3
        ((), (12, 11, 10, 8), 5, False),  # GAD fell 4
        ((8, 8, 8, 8), (6, 6, 6, 6), 4, False),  # neither measure started at caseness
    ],
)
def test_not_on_track_fallback(
    phq9: tuple[int, ...], gad7: tuple[int, ...], contacts: int, fires: bool
) -> None:
    flag = not_on_track_flag(_series_facts(phq9, gad7, contacts))
    assert (flag is not None) is fires
    if flag is not None:
        assert flag.severity is Severity.AMBER
        assert "has not reliably improved" in flag.sentence


def test_not_on_track_checks_low_starting_measure_when_configured() -> None:
    settings = FlagSettings(not_on_track_needs_caseness=False)
    assert not_on_track_flag(_series_facts((8, 8, 8, 8), (), 4), settings) is not None


def test_not_on_track_with_curves() -> None:
    phq = get_measure(PHQ9)
    cohort = [(12, 11, 9, 8)] * 10
    curves = build_expected_curves(cohort, measure=phq)
    on = not_on_track_flag(_series_facts((12, 12, 12, 14), (), 4), phq9_curves=curves)
    off = not_on_track_flag(_series_facts((12, 12, 12, 15), (), 4), phq9_curves=curves)
    assert on is None  # 6 above expected 8: not more than the threshold
    assert off is not None
    assert "worse than this service usually sees" in off.sentence
    via_episode = episode_flags(_series_facts((12, 12, 12, 15), (), 4), curves=curves)
    assert FlagKind.NOT_ON_TRACK in {f.kind for f in via_episode}


def test_episode_flags_route_curves_by_measure() -> None:
    phq_curves = build_expected_curves([(12, 11, 9, 8)] * 10, measure=get_measure(PHQ9))
    gad_curves = build_expected_curves([(12, 11, 9, 8)] * 10, measure=get_measure(GAD7))
    f = _series_facts((12, 12, 12, 14), (12, 12, 12, 13), 4)
    # GAD-7 13 is 5 above its expected 8: more than its threshold of 4.
    flags = episode_flags(f, curves=[gad_curves, phq_curves])
    off = next(flag for flag in flags if flag.kind is FlagKind.NOT_ON_TRACK)
    assert off.sentence.endswith("(GAD-7 12 to 13).")
    assert "worse than this service usually sees" in off.sentence
    # Without GAD-7 curves the GAD-7 series falls back to "no reliable improvement".
    only_phq = episode_flags(f, curves=phq_curves)
    fallback = next(flag for flag in only_phq if flag.kind is FlagKind.NOT_ON_TRACK)
    assert "has not reliably improved (GAD-7 12 to 13)" in fallback.sentence


# Complexity -----------------------------------------------------------------------------


def test_complexity() -> None:
    assert complexity_flag(facts()) is None
    f = replace(
        facts(), complexity_factors=frozenset({ComplexityFactor.DEBT, ComplexityFactor.BEREAVEMENT})
    )
    flag = complexity_flag(f)
    assert flag is not None
    assert flag.severity is Severity.AMBER
    assert flag.sentence == "Complexity recorded outside the usual step-2 remit: bereavement, debt."


# Disengaging ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dnas", "last_seen", "fires"),
    [
        (1, LAST_SEEN, False),  # one missed appointment, seen a week ago
        (2, LAST_SEEN, True),  # two in a row
        (3, LAST_SEEN, True),
        (0, datetime(2026, 10, 13, 12, 0, tzinfo=UTC), True),  # 28 days
        (0, datetime(2026, 10, 14, 12, 0, tzinfo=UTC), False),  # 27 days
        (0, None, False),  # never seen: still waiting, not disengaging
        (2, None, True),  # two DNAs of the first appointments
    ],
)
def test_disengaging(dnas: int, last_seen: datetime | None, fires: bool) -> None:
    flag = disengaging_flag(facts(consecutive_dnas=dnas, last_attended_at=last_seen))
    assert (flag is not None) is fires
    if flag is not None:
        assert flag.severity is Severity.AMBER


def test_disengaging_boundary_days() -> None:
    just = facts(last_attended_at=datetime(2026, 10, 13, 12, 0, tzinfo=UTC))  # 28 days
    not_yet = facts(last_attended_at=datetime(2026, 10, 14, 12, 0, tzinfo=UTC))  # 27 days
    flag = disengaging_flag(just)
    assert flag is not None
    assert flag.sentence == "No attended contact for 28 days (last seen 13 Oct 2026)."
    assert disengaging_flag(not_yet) is None


def test_disengaging_uses_london_dates() -> None:
    # 23:30 UTC on 13 Oct is 00:30 on 14 Oct in London (BST): 27 days, not 28.
    late = facts(last_attended_at=datetime(2026, 10, 13, 23, 30, tzinfo=UTC))
    assert disengaging_flag(late) is None


# Long treatment -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contacts", "step", "fires"), [(8, 2, False), (9, 2, True), (12, 3, False)]
)
def test_long_treatment(contacts: int, step: int, fires: bool) -> None:
    f = replace(facts(treatment_contacts=contacts), step=step)
    assert (long_treatment_flag(f) is not None) is fires


# Missing measures -----------------------------------------------------------------------


def test_missing_measures() -> None:
    assert missing_measures_flag(facts(attended_missing_measures=0)) is None
    flag = missing_measures_flag(facts(attended_missing_measures=2, missing_measures_with_reason=1))
    assert flag is not None
    assert flag.severity is Severity.INFO
    assert flag.sentence == (
        "2 attended treatment contacts without both PHQ-9 and GAD-7, 1 with a recorded reason."
    )


# Review overdue -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_review", "red", "fires"),
    [
        (date(2026, 10, 14), False, False),  # 27 days
        (date(2026, 10, 13), False, True),  # 28 days
        (date(2026, 11, 4), True, False),  # 6 days, red case
        (date(2026, 11, 3), True, True),  # 7 days, red case
    ],
)
def test_review_overdue(last_review: date, red: bool, fires: bool) -> None:
    f = replace(facts(), last_review_on=last_review)
    flag = review_overdue_flag(f, has_red_flag=red)
    assert (flag is not None) is fires
    if flag is not None:
        assert flag.severity is (Severity.RED if red else Severity.AMBER)


def test_never_reviewed_counts_from_referral() -> None:
    f = replace(facts(), last_review_on=None, referral_date=date(2026, 10, 13))
    flag = review_overdue_flag(f)
    assert flag is not None
    assert "not reviewed in supervision since referral on 13 Oct 2026" in flag.sentence
    assert review_overdue_flag(replace(f, referral_date=date(2026, 10, 14))) is None


def test_red_flag_shortens_review_interval_in_episode_flags() -> None:
    f = replace(facts(item9=1, item9_at=LAST_SEEN), last_review_on=date(2026, 11, 1))
    kinds = [flag.kind for flag in episode_flags(f)]
    assert kinds == [FlagKind.RISK, FlagKind.REVIEW_OVERDUE]
    assert all(flag.severity is Severity.RED for flag in episode_flags(f))


# The whole set --------------------------------------------------------------------------


def test_episode_flags_sorted_most_severe_first() -> None:
    f = replace(
        facts(
            item9=1,
            item9_at=LAST_SEEN,
            attended_missing_measures=1,
            treatment_contacts=9,
        ),
        complexity_factors=frozenset({ComplexityFactor.HOUSING}),
    )
    flags = episode_flags(f)
    assert [flag.severity.rank for flag in flags] == sorted(flag.severity.rank for flag in flags)
    assert flags[0].kind is FlagKind.RISK
    assert flags[-1].kind is FlagKind.MISSING_MEASURES
    assert {flag.kind for flag in flags} == {
        FlagKind.RISK,
        FlagKind.COMPLEXITY,
        FlagKind.LONG_TREATMENT,
        FlagKind.MISSING_MEASURES,
    }


def test_closed_episode_has_no_flags() -> None:
    f = replace(facts(item9=3, consecutive_dnas=4), is_open=False, last_review_on=None)
    assert episode_flags(f) == ()


def test_every_flag_sentence_is_one_plain_sentence() -> None:
    f = replace(
        facts(
            item9=1,
            item9_at=LAST_SEEN,
            first_phq9=22,
            last_phq9=None,
            attended_missing_measures=1,
            treatment_contacts=9,
            consecutive_dnas=2,
        ),
        complexity_factors=frozenset({ComplexityFactor.TRAUMA}),
        last_review_on=None,
    )
    flags = episode_flags(f)
    assert len(flags) >= 6
    for flag in flags:
        assert flag.sentence.endswith(".")
        assert flag.sentence[0].isupper() or flag.sentence[0].isdigit()


# Worker flags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caseload", "risk", "kinds"),
    [
        (45, 9, set()),  # at the cap, exactly 20% risk
        (46, 9, {FlagKind.OVER_CAPACITY}),
        (45, 10, {FlagKind.RISK_SHARE}),  # 22%
        (50, 20, {FlagKind.OVER_CAPACITY, FlagKind.RISK_SHARE}),
        (0, 0, set()),
    ],
)
def test_worker_flags(caseload: int, risk: int, kinds: set[FlagKind]) -> None:
    flags = worker_flags(active_caseload=caseload, risk_cases=risk)
    assert {f.kind for f in flags} == kinds
    assert all(isinstance(f, Flag) and f.severity is Severity.AMBER for f in flags)


def test_worker_flag_settings_are_used() -> None:
    settings = FlagSettings(caseload_cap=30, risk_share=0.5)
    flags = worker_flags(active_caseload=31, risk_cases=15, settings=settings)
    assert [f.kind for f in flags] == [FlagKind.OVER_CAPACITY]
    assert flags[0].sentence == "31 active cases, above the cap of 30."


def test_worker_flags_reject_impossible_counts() -> None:
    with pytest.raises(ValueError, match="risk cases"):
        worker_flags(active_caseload=3, risk_cases=4)


def test_a_new_run_of_missed_appointments_is_new_evidence() -> None:
    """A review that saw two missed appointments does not clear a later run of two that
    started after the client came back: the run's key names the last attended contact."""
    before = disengaging_flag(facts(consecutive_dnas=2, last_attended_at=LAST_SEEN))
    came_back = disengaging_flag(
        facts(consecutive_dnas=2, last_attended_at=LAST_SEEN + timedelta(days=14))
    )
    longer = disengaging_flag(facts(consecutive_dnas=3, last_attended_at=LAST_SEEN))
    assert before is not None
    assert came_back is not None
    assert longer is not None
    assert len({before.key, came_back.key, longer.key}) == 3
    assert disengaging_flag(facts(consecutive_dnas=2, last_attended_at=LAST_SEEN)) == before
