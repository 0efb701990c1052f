"""Anxiety disorder specific measures in the outcome rules: worked examples.

The national rule (docs/design.md section 3): the anxiety measure is the ADSM that
matches the presenting problem when it was scored at the first and the last contact
("anxiety measure >= its cut-off; GAD-7 >= 8"), and GAD-7 otherwise. The PCL-5's
caseness is 32 or more and its reliable change 10 points (NHS Talking Therapies Manual).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from caseload.domain import episodes as episodes_module
from caseload.domain.codes import AttendanceCode, ContactType
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    MeasureSeries,
    choose_anxiety_measure,
    episode_outcome_from_summary,
    summarise_episode,
)
from caseload.domain.measures import GAD7, PHQ9, anxiety_disorder_measures, get_measure
from caseload.domain.outcomes import OUTCOME_THRESHOLDS, OutcomeCategory, episode_outcome

PTSD = "Post-traumatic stress disorder"
PCL5 = "pcl5"
START = datetime(2025, 3, 3, 10, tzinfo=UTC)


def series(measure_id: str, first: int | None, last: int | None) -> MeasureSeries:
    """A measure's first and last scores (a last score means two different contacts)."""
    if first is None:
        return MeasureSeries(measure_id)
    totals = (first,) if last is None else (first, last)
    return MeasureSeries(measure_id, first=first, last=last, latest=totals[-1], totals=totals)


def summary(
    *, phq9: tuple[int | None, int | None], gad7: tuple[int | None, int | None], **more: tuple
) -> EpisodeSummaryFacts:
    """Summary facts with PHQ-9 and GAD-7 (first, last) and any other measures by id."""
    measures = {PHQ9: phq9, GAD7: gad7, **more}
    return EpisodeSummaryFacts(
        measures=tuple(series(m, *scores) for m, scores in sorted(measures.items())),
        treatment_contacts=4,
    )


def test_pcl5_is_the_ptsd_adsm_with_the_national_thresholds() -> None:
    assert [m.id for m in anxiety_disorder_measures(PTSD)] == [PCL5]
    assert anxiety_disorder_measures("Depression") == ()
    assert anxiety_disorder_measures(None) == ()
    assert OUTCOME_THRESHOLDS.anxiety(PCL5) == (32, 10)
    assert OUTCOME_THRESHOLDS.anxiety(GAD7) == (8, 4)


# Worked examples: a PTSD episode with the PCL-5 at the first and the last contact ----------


def test_pcl5_gives_caseness_where_phq9_and_gad7_do_not() -> None:
    """PHQ-9 8 to 4 and GAD-7 6 to 3 are never at caseness; the PCL-5 50 to 20 is, and
    falls below 32 by 30 points: reliable recovery. On GAD-7 it would be "not at
    caseness at start"."""
    facts = summary(phq9=(8, 4), gad7=(6, 3), pcl5=(50, 20))
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert outcome.anxiety_measure == PCL5
    assert outcome.uses_adsm
    assert (outcome.first_anxiety, outcome.last_anxiety) == (50, 20)
    assert (outcome.first_gad7, outcome.last_gad7) == (6, 3)  # kept for display
    assert outcome.finished_treatment
    assert outcome.paired
    assert outcome.caseness_at_start
    assert outcome.recovered
    assert outcome.reliable_improvement
    assert outcome.reliable_recovery
    assert not outcome.reliable_deterioration
    assert outcome.category is OutcomeCategory.RELIABLE_RECOVERY

    on_gad7 = episode_outcome_from_summary(facts, ended=True)
    assert on_gad7.anxiety_measure == GAD7
    assert on_gad7.category is OutcomeCategory.NOT_AT_CASENESS


def test_pcl5_above_its_cut_off_at_the_end_is_not_recovery() -> None:
    """PHQ-9 14 to 6 and GAD-7 10 to 4 would be recovery on GAD-7; the last PCL-5 of 35 is
    still at caseness (32 or more). Its fall of exactly 10 counts as reliable."""
    facts = summary(phq9=(14, 6), gad7=(10, 4), pcl5=(45, 35))
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert outcome.anxiety_measure == PCL5
    assert outcome.caseness_at_start
    assert not outcome.recovered
    assert outcome.reliable_improvement
    assert not outcome.reliable_recovery
    assert outcome.category is OutcomeCategory.RELIABLE_IMPROVEMENT
    assert episode_outcome_from_summary(facts, ended=True).recovered


def test_pcl5_rise_of_ten_is_reliable_deterioration() -> None:
    facts = summary(phq9=(12, 12), gad7=(9, 9), pcl5=(30, 40))
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert outcome.caseness_at_start  # on the PHQ-9; the PCL-5 started below 32
    assert outcome.reliable_deterioration
    assert not outcome.reliable_improvement
    assert outcome.category is OutcomeCategory.RELIABLE_DETERIORATION


@pytest.mark.parametrize(
    ("first", "last", "case_at_start", "recovered", "improved"),
    [
        (32, 22, True, True, True),  # 32 is caseness; 22 is below it; -10 is reliable
        (31, 21, False, False, True),  # 31 is below caseness: not at caseness at start
        (40, 31, True, True, False),  # -9 is not reliable: recovered without improvement
        (40, 32, True, False, False),  # ends at the cut-off: still a case
    ],
)
def test_pcl5_boundaries(
    first: int, last: int, case_at_start: bool, recovered: bool, improved: bool
) -> None:
    facts = summary(phq9=(5, 3), gad7=(12, 2), pcl5=(first, last))
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert outcome.anxiety_measure == PCL5
    assert outcome.caseness_at_start is case_at_start
    assert outcome.recovered is recovered
    assert outcome.reliable_improvement is improved


def test_paired_on_phq9_and_the_pcl5_without_any_gad7() -> None:
    facts = summary(phq9=(15, 5), gad7=(None, None), pcl5=(50, 10))
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert outcome.paired
    assert outcome.reliable_recovery
    assert not episode_outcome_from_summary(facts, ended=True).paired


# Falling back to GAD-7 ---------------------------------------------------------------------


def test_pcl5_only_at_the_first_contact_falls_back_to_gad7() -> None:
    facts = summary(phq9=(8, 4), gad7=(10, 5), pcl5=(50, None))
    assert choose_anxiety_measure(facts, presenting_problem=PTSD) == GAD7
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert outcome.anxiety_measure == GAD7
    assert not outcome.uses_adsm
    assert (outcome.first_anxiety, outcome.last_anxiety) == (10, 5)
    assert outcome == episode_outcome_from_summary(facts, ended=True)
    assert outcome.reliable_recovery  # GAD-7 10 to 5: below 8, and 5 points


def test_no_pcl5_at_all_uses_gad7() -> None:
    facts = summary(phq9=(12, 5), gad7=(9, 9))
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert outcome.anxiety_measure == GAD7
    assert not outcome.recovered  # GAD-7 ends at 9


@pytest.mark.parametrize(
    "problem", ["Depression", "Generalised anxiety disorder", "Social anxiety disorder", None]
)
def test_other_presenting_problems_ignore_any_adsm(problem: str | None) -> None:
    facts = summary(phq9=(8, 4), gad7=(6, 3), pcl5=(50, 20))
    assert choose_anxiety_measure(facts, presenting_problem=problem) == GAD7
    outcome = episode_outcome_from_summary(facts, ended=True, presenting_problem=problem)
    assert outcome.anxiety_measure == GAD7
    assert outcome.category is OutcomeCategory.NOT_AT_CASENESS


def test_a_depression_episode_ignores_a_pcl5_scored_at_every_contact() -> None:
    contacts = [
        ContactFacts(
            contact_id=n,
            occurred_at=START + timedelta(weeks=n),
            contact_type=ContactType.TREATMENT,
            attendance=AttendanceCode.ATTENDED_ON_TIME,
            totals={PHQ9: phq, GAD7: gad, PCL5: pcl},
        )
        for n, (phq, gad, pcl) in enumerate([(12, 10, 60), (9, 7, 40), (6, 5, 20)], start=1)
    ]
    facts = summarise_episode(contacts)
    depression = episode_outcome_from_summary(facts, ended=True, presenting_problem="Depression")
    ptsd = episode_outcome_from_summary(facts, ended=True, presenting_problem=PTSD)
    assert depression.anxiety_measure == GAD7
    assert (depression.first_anxiety, depression.last_anxiety) == (10, 5)
    assert ptsd.anxiety_measure == PCL5
    assert (ptsd.first_anxiety, ptsd.last_anxiety) == (60, 20)
    assert depression.recovered
    assert ptsd.recovered
    assert depression.reliable_improvement
    assert ptsd.reliable_improvement


def test_from_contacts_first_and_last_pcl5_come_from_different_contacts() -> None:
    """PCL-5 at the assessment only, then PHQ-9 and GAD-7 alone: GAD-7 is used. A PCL-5
    at a later contact too makes it paired, even with contacts between without one."""

    def contact(n: int, totals: dict[str, int]) -> ContactFacts:
        return ContactFacts(
            contact_id=n,
            occurred_at=START + timedelta(weeks=n),
            contact_type=ContactType.ASSESSMENT if n == 1 else ContactType.TREATMENT,
            attendance=AttendanceCode.ATTENDED_ON_TIME,
            totals=totals,
        )

    held = [
        contact(1, {PHQ9: 10, GAD7: 9, PCL5: 48}),
        contact(2, {PHQ9: 8, GAD7: 7}),
        contact(3, {PHQ9: 6, GAD7: 4}),
    ]
    once = summarise_episode(held)
    assert choose_anxiety_measure(once, presenting_problem=PTSD) == GAD7
    twice = summarise_episode([*held, contact(4, {PHQ9: 5, GAD7: 4, PCL5: 25})])
    assert choose_anxiety_measure(twice, presenting_problem=PTSD) == PCL5
    outcome = episode_outcome_from_summary(twice, ended=True, presenting_problem=PTSD)
    assert (outcome.first_anxiety, outcome.last_anxiety) == (48, 25)
    assert outcome.reliable_recovery


def test_of_two_adsms_for_one_problem_the_first_paired_in_form_order_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pcl5 = get_measure(PCL5)
    second = replace(pcl5, id="ptsd_other", contact_form_order=9)
    monkeypatch.setattr(
        episodes_module, "anxiety_disorder_measures", lambda problem: (pcl5, second)
    )
    both = summary(phq9=(9, 5), gad7=(6, 3), pcl5=(50, 20), ptsd_other=(40, 10))
    assert choose_anxiety_measure(both, presenting_problem=PTSD) == PCL5
    only_second = summary(phq9=(9, 5), gad7=(6, 3), pcl5=(50, None), ptsd_other=(40, 10))
    assert choose_anxiety_measure(only_second, presenting_problem=PTSD) == "ptsd_other"


# The keyword API of episode_outcome ---------------------------------------------------------


def test_episode_outcome_with_an_adsm_reads_its_thresholds_from_the_definition() -> None:
    outcome = episode_outcome(
        first_phq9=8,
        last_phq9=4,
        first_gad7=None,
        last_gad7=None,
        treatment_contacts=3,
        ended=True,
        anxiety_measure=PCL5,
        first_anxiety=32,
        last_anxiety=22,
    )
    assert outcome.reliable_recovery
    assert outcome.anxiety_measure == PCL5


def test_episode_outcome_with_an_adsm_but_no_scores_is_not_paired() -> None:
    outcome = episode_outcome(
        first_phq9=12,
        last_phq9=4,
        first_gad7=10,
        last_gad7=3,
        treatment_contacts=3,
        ended=True,
        anxiety_measure=PCL5,
    )
    assert not outcome.paired
    assert outcome.caseness_at_start  # on the PHQ-9


def test_episode_outcome_defaults_to_gad7_as_before() -> None:
    outcome = episode_outcome(
        first_phq9=12, last_phq9=4, first_gad7=10, last_gad7=3, treatment_contacts=3, ended=True
    )
    assert outcome.anxiety_measure == GAD7
    assert (outcome.first_anxiety, outcome.last_anxiety) == (10, 3)
    assert outcome.reliable_recovery


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"anxiety_measure": GAD7, "first_anxiety": 5}, "first_gad7"),
        ({"anxiety_measure": "wsas"}, "caseness"),
        ({"anxiety_measure": PHQ9}, "depression measure"),
        ({"anxiety_measure": PCL5, "first_anxiety": -1}, "negative"),
        ({"anxiety_measure": PCL5, "last_anxiety": 2.5}, "whole number"),
    ],
)
def test_episode_outcome_refuses_a_wrong_anxiety_measure(
    kwargs: dict[str, object], message: str
) -> None:
    base: dict[str, object] = {
        "first_phq9": 12,
        "last_phq9": 4,
        "first_gad7": 10,
        "last_gad7": 3,
        "treatment_contacts": 3,
        "ended": True,
    }
    with pytest.raises(ValueError, match=message):
        episode_outcome(**{**base, **kwargs})  # type: ignore[arg-type]


def test_an_unknown_anxiety_measure_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown measure"):
        episode_outcome(
            first_phq9=12,
            last_phq9=4,
            first_gad7=10,
            last_gad7=3,
            treatment_contacts=3,
            ended=True,
            anxiety_measure="nope",
        )
