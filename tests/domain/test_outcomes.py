"""episode_outcome and service_rates: boundaries, 44 worked episodes, and the national rates."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import pytest

from caseload.domain.episodes import (
    EpisodeSummaryFacts,
    MeasureSeries,
    episode_outcome_from_summary,
)
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.domain.outcomes import (
    OUTCOME_THRESHOLDS,
    EpisodeOutcome,
    OutcomeCategory,
    OutcomeThresholds,
    ReliableChange,
    episode_outcome,
    is_hidden_wait,
    rate,
    reliable_direction,
    second_contact_gap_days,
    service_rates,
    wait_days,
    within_wait_target,
)


class Worked(NamedTuple):
    """One worked episode: scores, contacts, ended, and the expected booleans as 0/1.

    Expected order: finished, paired, caseness_at_start, recovered,
    reliable_improvement, reliable_deterioration, reliable_recovery.
    """

    name: str
    reason: str
    first_phq9: int | None
    last_phq9: int | None
    first_gad7: int | None
    last_gad7: int | None
    contacts: int
    ended: bool
    expected: str


# fmt: off
N = None
WORKED: list[Worked] = [
    Worked("brief-example", "PHQ 14->6 and GAD 12->5: both below caseness, both reliable falls",
           14, 6, 12, 5, 5, True, "1111101"),
    Worked("recovered-not-reliable", "11->9 and 9->7 end below caseness, neither fall reliable",
           11, 9, 9, 7, 4, True, "1111000"),
    Worked("improved-still-case", "20->12 and 15->10: both reliable falls, last PHQ still 10+",
           20, 12, 15, 10, 6, True, "1110100"),
    Worked("no-change-at-caseness", "15->13 and 12->10: small falls, still cases",
           15, 13, 12, 10, 6, True, "1110000"),
    Worked("deteriorated-both", "12->18 (+6) and 10->14 (+4): reliable rises at the threshold",
           12, 18, 10, 14, 4, True, "1110010"),
    Worked("phq-fall-at-threshold", "PHQ 16->10 falls exactly 6; last PHQ 10 is still a case",
           16, 10, 9, 9, 3, True, "1110100"),
    Worked("phq-fall-one-below", "PHQ 16->11 falls 5, one short of reliable",
           16, 11, 9, 9, 3, True, "1110000"),
    Worked("gad-fall-at-threshold", "GAD 12->8 falls exactly 4; last GAD 8 is still a case",
           8, 8, 12, 8, 3, True, "1110100"),
    Worked("gad-fall-one-below", "GAD 12->9 falls 3, one short of reliable",
           8, 8, 12, 9, 3, True, "1110000"),
    Worked("phq-rise-at-threshold", "PHQ 10->16 rises exactly 6: reliable deterioration",
           10, 16, 9, 9, 3, True, "1110010"),
    Worked("phq-rise-one-below", "PHQ 10->15 rises 5: not reliable",
           10, 15, 9, 9, 3, True, "1110000"),
    Worked("gad-rise-at-threshold", "GAD 8->12 rises exactly 4: reliable deterioration",
           9, 9, 8, 12, 3, True, "1110010"),
    Worked("gad-rise-one-below", "GAD 8->11 rises 3: not reliable",
           9, 9, 8, 11, 3, True, "1110000"),
    Worked("mixed-cancel", "PHQ falls 8 but GAD rises 4: neither improvement nor deterioration",
           20, 12, 5, 9, 5, True, "1110000"),
    Worked("recovered-mixed", "both end below caseness, but GAD rose 5 while PHQ fell 12",
           16, 4, 2, 7, 5, True, "1111000"),
    Worked("recovered-and-deteriorated", "both end below caseness; GAD rose 5, PHQ fell only 3",
           12, 9, 2, 7, 4, True, "1111010"),
    Worked("not-case-improved", "PHQ 9 and GAD 7 at start: below caseness, yet both fell reliably",
           9, 2, 7, 2, 5, True, "1100100"),
    Worked("not-case-no-change", "below caseness throughout",
           6, 5, 5, 4, 3, True, "1100000"),
    Worked("not-case-deteriorated", "below caseness at start, then PHQ +7 and GAD +5",
           5, 12, 4, 9, 3, True, "1100010"),
    Worked("case-by-phq-only", "first PHQ exactly 10 is caseness; 10->4 is reliable",
           10, 4, 3, 3, 3, True, "1111101"),
    Worked("case-by-gad-only", "first GAD exactly 8 is caseness; 8->3 is reliable",
           5, 5, 8, 3, 3, True, "1111101"),
    Worked("just-below-caseness", "PHQ 9 and GAD 7 are one below the cut-offs",
           9, 9, 7, 7, 3, True, "1100000"),
    Worked("last-phq-10-blocks", "last PHQ 10 is not below caseness, so not recovered",
           18, 10, 10, 3, 6, True, "1110100"),
    Worked("last-gad-8-blocks", "last GAD 8 is not below caseness, so not recovered",
           18, 9, 14, 8, 6, True, "1110100"),
    Worked("last-just-below", "last PHQ 9 and GAD 7 are just below caseness",
           18, 9, 14, 7, 6, True, "1111101"),
    Worked("one-contact", "only 1 treatment contact: not finished, outcome still computed",
           14, 6, 12, 5, 1, True, "0111101"),
    Worked("no-contacts", "no treatment contact and no last scores",
           14, N, 12, N, 0, True, "0010000"),
    Worked("still-open", "still open: not finished whatever the scores",
           14, 6, 12, 5, 5, False, "0111101"),
    Worked("two-contacts", "exactly 2 treatment contacts and ended: finished",
           14, 6, 12, 5, 2, True, "1111101"),
    Worked("no-last-phq", "one PHQ-9 only (last None): not paired, all four outcomes false",
           14, N, 12, 5, 4, True, "1010000"),
    Worked("no-last-gad", "one GAD-7 only: not paired",
           14, 6, 12, N, 4, True, "1010000"),
    Worked("no-first-phq", "no first PHQ-9; caseness from GAD 12 alone; not paired",
           N, 6, 12, 5, 4, True, "1010000"),
    Worked("no-first-gad", "no first GAD-7; caseness from PHQ 14; not paired",
           14, 6, N, 5, 4, True, "1010000"),
    Worked("no-scores", "no scores at all: finished, not at caseness, not paired",
           N, N, N, N, 3, True, "1000000"),
    Worked("first-only-low", "first scores below caseness and no last scores",
           5, N, 4, N, 3, True, "1000000"),
    Worked("dropped-deteriorated", "2 contacts then dropped out, worse on both",
           11, 17, 9, 13, 2, True, "1110010"),
    Worked("zeros", "all zero: not a case, no change",
           0, 0, 0, 0, 3, True, "1100000"),
    Worked("max-to-zero", "maximum to zero on both",
           27, 0, 21, 0, 8, True, "1111101"),
    Worked("zero-to-max", "zero to maximum on both",
           0, 27, 0, 21, 8, True, "1100010"),
    Worked("severe-unchanged", "maximum throughout",
           27, 27, 21, 21, 10, True, "1110000"),
    Worked("both-at-threshold-still-cases", "27->21 and 21->17: both fall exactly the threshold",
           27, 21, 21, 17, 6, True, "1110100"),
    Worked("phq-reliable-gad-small-rise", "PHQ falls 7, GAD rises 2 (not reliable): improvement",
           15, 8, 10, 12, 5, True, "1110100"),
    Worked("gad-reliable-phq-small-rise", "GAD 15->5 reliable, PHQ 8->9; both end below caseness",
           8, 9, 15, 5, 5, True, "1111101"),
    Worked("open-deteriorated", "open, one contact, reliably worse on both",
           10, 20, 8, 15, 1, False, "0110010"),
]
# fmt: on


def _outcome(w: Worked) -> EpisodeOutcome:
    return episode_outcome(
        first_phq9=w.first_phq9,
        last_phq9=w.last_phq9,
        first_gad7=w.first_gad7,
        last_gad7=w.last_gad7,
        treatment_contacts=w.contacts,
        ended=w.ended,
    )


def summary(
    *,
    first_phq9: int | None,
    last_phq9: int | None,
    first_gad7: int | None,
    last_gad7: int | None,
    treatment_contacts: int,
) -> EpisodeSummaryFacts:
    """An episode summary from keyword scores (latest is the last score, or the first)."""
    measures = tuple(
        MeasureSeries(m, first=first, last=last, latest=first if last is None else last)
        for m, first, last in ((GAD7, first_gad7, last_gad7), (PHQ9, first_phq9, last_phq9))
        if first is not None or last is not None
    )
    return EpisodeSummaryFacts(measures=measures, treatment_contacts=treatment_contacts)


@pytest.mark.parametrize("w", WORKED, ids=[w.name for w in WORKED])
def test_worked_episode_from_its_summary(w: Worked) -> None:
    s = summary(
        first_phq9=w.first_phq9,
        last_phq9=w.last_phq9,
        first_gad7=w.first_gad7,
        last_gad7=w.last_gad7,
        treatment_contacts=w.contacts,
    )
    assert episode_outcome_from_summary(s, ended=w.ended) == _outcome(w)


def test_default_thresholds_come_from_the_measure_definitions() -> None:
    phq9, gad7 = get_measure(PHQ9), get_measure(GAD7)
    for thresholds in (OutcomeThresholds(), OUTCOME_THRESHOLDS):
        assert thresholds.phq9_caseness == phq9.caseness_cutoff == 10
        assert thresholds.gad7_caseness == gad7.caseness_cutoff == 8
        assert thresholds.phq9_reliable_change == phq9.reliable_change == 6
        assert thresholds.gad7_reliable_change == gad7.reliable_change == 4
        assert thresholds.min_treatment_contacts == 2


def test_thresholds_can_still_be_given() -> None:
    strict = OutcomeThresholds(phq9_caseness=12)
    assert (strict.phq9_caseness, strict.gad7_caseness) == (12, 8)
    o = episode_outcome(
        first_phq9=11,
        last_phq9=4,
        first_gad7=5,
        last_gad7=2,
        treatment_contacts=3,
        ended=True,
        thresholds=strict,
    )
    assert not o.caseness_at_start
    assert episode_outcome(
        first_phq9=11, last_phq9=4, first_gad7=5, last_gad7=2, treatment_contacts=3, ended=True
    ).caseness_at_start


def test_table_is_large_and_unique() -> None:
    assert len(WORKED) >= 40
    assert len({w.name for w in WORKED}) == len(WORKED)


@pytest.mark.parametrize("worked", WORKED, ids=[w.name for w in WORKED])
def test_worked_episode(worked: Worked) -> None:
    o = _outcome(worked)
    actual = "".join(
        str(int(flag))
        for flag in (
            o.finished_treatment,
            o.paired,
            o.caseness_at_start,
            o.recovered,
            o.reliable_improvement,
            o.reliable_deterioration,
            o.reliable_recovery,
        )
    )
    assert actual == worked.expected, worked.reason


def test_service_rates_over_worked_table() -> None:
    """Hand count over the 40 finished episodes of the table.

    Not finished: one-contact, no-contacts, still-open, open-deteriorated.
    Finished not at caseness: not-case-improved, not-case-no-change,
    not-case-deteriorated, just-below-caseness, no-scores, first-only-low,
    zeros, zero-to-max (8), so the recovery denominator is 40 - 8 = 32.
    Recovered (10): brief-example, recovered-not-reliable, recovered-mixed,
    recovered-and-deteriorated, case-by-phq-only, case-by-gad-only,
    last-just-below, two-contacts, max-to-zero, gad-reliable-phq-small-rise.
    Reliably recovered (7): those minus recovered-not-reliable,
    recovered-mixed, recovered-and-deteriorated.
    Reliably improved (15): the 7 above plus improved-still-case,
    phq-fall-at-threshold, gad-fall-at-threshold, not-case-improved,
    last-phq-10-blocks, last-gad-8-blocks, both-at-threshold-still-cases,
    phq-reliable-gad-small-rise.
    Reliably deteriorated (7): deteriorated-both, phq-rise-at-threshold,
    gad-rise-at-threshold, recovered-and-deteriorated, not-case-deteriorated,
    dropped-deteriorated, zero-to-max.
    Paired (34): 40 minus the six not-paired finished episodes.
    """
    r = service_rates(_outcome(w) for w in WORKED)
    assert r.finished == 40
    assert r.at_caseness_denominator == 32
    assert (r.recovered, r.reliably_recovered) == (10, 7)
    assert (r.reliably_improved, r.reliably_deteriorated) == (15, 7)
    assert r.paired == 34
    assert r.recovery_rate == pytest.approx(10 / 32)
    assert r.reliable_recovery_rate == pytest.approx(7 / 32)
    assert r.reliable_improvement_rate == pytest.approx(15 / 40)
    assert r.reliable_deterioration_rate == pytest.approx(7 / 40)
    assert r.paired_rate == pytest.approx(34 / 40)


def test_service_rates_empty_gives_none() -> None:
    r = service_rates([])
    assert r.finished == 0
    assert r.recovery_rate is None
    assert r.reliable_recovery_rate is None
    assert r.reliable_improvement_rate is None
    assert r.reliable_deterioration_rate is None


def test_unfinished_episodes_never_count() -> None:
    open_recovered = _outcome(WORKED[27])  # still-open
    assert open_recovered.recovered
    assert not open_recovered.finished_treatment
    r = service_rates([open_recovered])
    assert (r.finished, r.recovered, r.reliably_improved) == (0, 0, 0)


def test_all_not_at_caseness_gives_none_recovery_but_rates_for_change() -> None:
    o = episode_outcome(
        first_phq9=5, last_phq9=0, first_gad7=3, last_gad7=0, treatment_contacts=3, ended=True
    )
    r = service_rates([o])
    assert r.recovery_rate is None
    assert r.reliable_improvement_rate == 0.0


# Reliable change at the threshold and one below, both measures, both directions.
@pytest.mark.parametrize(
    ("first", "last", "threshold", "direction"),
    [
        (16, 10, 6, -1),
        (16, 11, 6, 0),
        (10, 16, 6, 1),
        (10, 15, 6, 0),
        (12, 8, 4, -1),
        (12, 9, 4, 0),
        (8, 12, 4, 1),
        (8, 11, 4, 0),
        (None, 11, 4, 0),
        (8, None, 4, 0),
    ],
)
def test_reliable_direction(
    first: int | None, last: int | None, threshold: int, direction: int
) -> None:
    assert reliable_direction(first=first, last=last, threshold=threshold) == direction


@pytest.mark.parametrize(
    ("name", "category", "change"),
    [
        ("brief-example", OutcomeCategory.RELIABLE_RECOVERY, ReliableChange.IMPROVEMENT),
        ("recovered-not-reliable", OutcomeCategory.RECOVERED, ReliableChange.NO_CHANGE),
        (
            "recovered-and-deteriorated",
            OutcomeCategory.RELIABLE_DETERIORATION,
            ReliableChange.DETERIORATION,
        ),
        ("improved-still-case", OutcomeCategory.RELIABLE_IMPROVEMENT, ReliableChange.IMPROVEMENT),
        ("not-case-no-change", OutcomeCategory.NOT_AT_CASENESS, ReliableChange.NO_CHANGE),
        ("no-change-at-caseness", OutcomeCategory.NO_RELIABLE_CHANGE, ReliableChange.NO_CHANGE),
        ("no-last-phq", OutcomeCategory.NOT_PAIRED, ReliableChange.NOT_PAIRED),
        (
            "not-case-deteriorated",
            OutcomeCategory.RELIABLE_DETERIORATION,
            ReliableChange.DETERIORATION,
        ),
    ],
)
def test_category_and_change(name: str, category: OutcomeCategory, change: ReliableChange) -> None:
    o = _outcome(next(w for w in WORKED if w.name == name))
    assert o.category is category
    assert o.change is change
    assert category.label
    assert change.label


def test_category_labels() -> None:
    assert OutcomeCategory.RELIABLE_RECOVERY.label == "Reliable recovery"
    assert OutcomeCategory.NOT_AT_CASENESS.label == "Not at caseness at start"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_phq9": -1},
        {"last_gad7": True},
        {"first_gad7": 2.5},
        {"treatment_contacts": -1},
        {"treatment_contacts": 1.0},
    ],
)
def test_episode_outcome_rejects_bad_input(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "first_phq9": 10,
        "last_phq9": 5,
        "first_gad7": 10,
        "last_gad7": 5,
        "treatment_contacts": 3,
        "ended": True,
    }
    with pytest.raises(ValueError, match="whole number|negative"):
        episode_outcome(**{**base, **kwargs})  # type: ignore[arg-type]


def test_rate() -> None:
    assert rate(1, 4) == 0.25
    assert rate(0, 0) is None
    with pytest.raises(ValueError, match="rate"):
        rate(5, 4)


# Waits ----------------------------------------------------------------------------------


REFERRAL = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("first_treatment", "days", "within_42", "within_126"),
    [
        (date(2026, 1, 1), 0, True, True),
        (date(2026, 2, 12), 42, True, True),
        (date(2026, 2, 13), 43, False, True),
        (date(2026, 5, 7), 126, False, True),
        (date(2026, 5, 8), 127, False, False),
        (None, None, None, None),
    ],
)
def test_waits(
    first_treatment: date | None, days: int | None, within_42: bool | None, within_126: bool | None
) -> None:
    assert wait_days(REFERRAL, first_treatment) == days
    assert within_wait_target(REFERRAL, first_treatment, days=42) is within_42
    assert within_wait_target(REFERRAL, first_treatment, days=126) is within_126


def test_wait_before_referral_raises() -> None:
    with pytest.raises(ValueError, match="before the referral"):
        wait_days(REFERRAL, date(2025, 12, 31))


@pytest.mark.parametrize(
    ("second", "gap", "over_28", "over_90"),
    [
        (date(2026, 1, 29), 28, False, False),
        (date(2026, 1, 30), 29, True, False),
        (date(2026, 4, 1), 90, True, False),
        (date(2026, 4, 2), 91, True, True),
        (None, None, None, None),
    ],
)
def test_hidden_waits(
    second: date | None, gap: int | None, over_28: bool | None, over_90: bool | None
) -> None:
    first = date(2026, 1, 1)
    assert second_contact_gap_days(first, second) == gap
    assert is_hidden_wait(first, second, days=28) is over_28
    assert is_hidden_wait(first, second, days=90) is over_90


def test_second_contact_before_first_raises() -> None:
    with pytest.raises(ValueError, match="before the first"):
        second_contact_gap_days(date(2026, 1, 2), date(2026, 1, 1))
