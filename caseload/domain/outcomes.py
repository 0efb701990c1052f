"""Episode outcomes and service rates, NHS Talking Therapies definitions.

The rules are docs/design.md section 3, "Outcomes", which follows the NHS
Talking Therapies Manual and NHS England's published key-metrics
definitions. Plain-English version with sources: docs/outcomes.md.

The anxiety side of every rule is "the anxiety measure": GAD-7, or the
anxiety disorder specific measure (ADSM) that matches the presenting
problem when it was scored at the first and the last contact ("anxiety
measure >= its cut-off; GAD-7 >= 8"). Which one applies is chosen in
``caseload.domain.episodes.choose_anxiety_measure``; its caseness cut-off
and reliable-change threshold come from its definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from caseload.domain.measures import GAD7, PHQ9, get_measure


def _caseness(measure_id: str) -> int:
    cutoff = get_measure(measure_id).caseness_cutoff
    if cutoff is None:
        raise ValueError(f"{measure_id} has no caseness cut-off; the outcome rules need one")
    return cutoff


def _reliable_change(measure_id: str) -> int:
    threshold = get_measure(measure_id).reliable_change
    if threshold is None:
        raise ValueError(f"{measure_id} has no reliable-change threshold; the rules need one")
    return threshold


@dataclass(frozen=True, slots=True)
class OutcomeThresholds:
    """Every number the outcome rules use.

    Caseness (PHQ-9 >= 10, GAD-7 >= 8) and reliable change (PHQ-9 6 points,
    GAD-7 4 points) are read from the measure definitions in
    ``seed_data/measures``, their one home (sources there and in
    docs/outcomes.md). "Finished a course of treatment" is an ended episode
    with at least 2 attended treatment contacts (NHS Talking Therapies Manual
    and NHS England's key-metrics definitions); this is its one home.
    """

    phq9_caseness: int = field(default_factory=lambda: _caseness(PHQ9))
    gad7_caseness: int = field(default_factory=lambda: _caseness(GAD7))
    phq9_reliable_change: int = field(default_factory=lambda: _reliable_change(PHQ9))
    gad7_reliable_change: int = field(default_factory=lambda: _reliable_change(GAD7))
    min_treatment_contacts: int = 2

    def anxiety(self, measure_id: str) -> tuple[int, int]:
        """The anxiety measure's caseness cut-off and reliable-change threshold.

        GAD-7's come from these thresholds (so a caller can vary them); an ADSM's
        from its definition, which must state both (ValueError otherwise).
        """
        if measure_id == GAD7:
            return self.gad7_caseness, self.gad7_reliable_change
        if measure_id == PHQ9:
            raise ValueError("PHQ-9 is the depression measure, not an anxiety measure")
        return _caseness(measure_id), _reliable_change(measure_id)


OUTCOME_THRESHOLDS = OutcomeThresholds()


@dataclass(frozen=True, slots=True)
class WaitTargets:
    """Waiting-time thresholds, in days.

    Source: NHS Talking Therapies Manual and key-metrics definitions:
    referral to first treatment within 6 weeks (42 days, national standard
    75%) and within 18 weeks (126 days, standard 95%); a gap between first
    and second treatment contact over 28 days, and over 90 days, is a
    "hidden wait". The percentage targets are service settings, not here.
    """

    first_treatment_short: int = 42
    first_treatment_long: int = 126
    hidden_wait_short: int = 28
    hidden_wait_long: int = 90


WAIT_TARGETS = WaitTargets()


class ReliableChange(StrEnum):
    """Direction of reliable change over an episode, by the national rule."""

    IMPROVEMENT = "improvement"
    DETERIORATION = "deterioration"
    NO_CHANGE = "no_change"
    NOT_PAIRED = "not_paired"

    @property
    def label(self) -> str:
        """Human label."""
        return _CHANGE_LABELS[self]


_CHANGE_LABELS: dict[ReliableChange, str] = {
    ReliableChange.IMPROVEMENT: "Reliable improvement",
    ReliableChange.DETERIORATION: "Reliable deterioration",
    ReliableChange.NO_CHANGE: "No reliable change",
    ReliableChange.NOT_PAIRED: "Not paired",
}


class OutcomeCategory(StrEnum):
    """One label summarising an episode's outcome for display.

    Precedence, first that applies: not paired; reliable recovery; reliable
    deterioration (shown ahead of "recovered" because a reliable worsening
    on one measure needs attention even when both last scores are below
    caseness); recovered; reliable improvement; not at caseness at start;
    no reliable change. The booleans of EpisodeOutcome, not this label,
    feed the service rates.
    """

    NOT_PAIRED = "not_paired"
    RELIABLE_RECOVERY = "reliable_recovery"
    RELIABLE_DETERIORATION = "reliable_deterioration"
    RECOVERED = "recovered"
    RELIABLE_IMPROVEMENT = "reliable_improvement"
    NOT_AT_CASENESS = "not_at_caseness"
    NO_RELIABLE_CHANGE = "no_reliable_change"

    @property
    def label(self) -> str:
        """Human label."""
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS: dict[OutcomeCategory, str] = {
    OutcomeCategory.NOT_PAIRED: "Not paired",
    OutcomeCategory.RELIABLE_RECOVERY: "Reliable recovery",
    OutcomeCategory.RELIABLE_DETERIORATION: "Reliable deterioration",
    OutcomeCategory.RECOVERED: "Recovered",
    OutcomeCategory.RELIABLE_IMPROVEMENT: "Reliable improvement",
    OutcomeCategory.NOT_AT_CASENESS: "Not at caseness at start",
    OutcomeCategory.NO_RELIABLE_CHANGE: "No reliable change",
}


@dataclass(frozen=True, slots=True)
class EpisodeOutcome:
    """An episode's scores and the national outcome booleans derived from them.

    ``first_gad7`` and ``last_gad7`` are always GAD-7's; the rules read the anxiety
    measure's, ``first_anxiety`` and ``last_anxiety`` (GAD-7's again unless
    ``anxiety_measure`` names an ADSM).
    """

    first_phq9: int | None
    last_phq9: int | None
    first_gad7: int | None
    last_gad7: int | None
    treatment_contacts: int
    ended: bool
    finished_treatment: bool
    paired: bool
    caseness_at_start: bool
    recovered: bool
    reliable_improvement: bool
    reliable_deterioration: bool
    reliable_recovery: bool
    #: The measure the anxiety side of the rules used: GAD-7 or the matching ADSM.
    anxiety_measure: str = GAD7
    first_anxiety: int | None = None
    last_anxiety: int | None = None

    @property
    def uses_adsm(self) -> bool:
        """Whether an anxiety disorder specific measure stood in for GAD-7."""
        return self.anxiety_measure != GAD7

    @property
    def change(self) -> ReliableChange:
        """Direction of reliable change (NOT_PAIRED when scores are missing)."""
        if not self.paired:
            return ReliableChange.NOT_PAIRED
        if self.reliable_improvement:
            return ReliableChange.IMPROVEMENT
        if self.reliable_deterioration:
            return ReliableChange.DETERIORATION
        return ReliableChange.NO_CHANGE

    @property
    def category(self) -> OutcomeCategory:
        """The single display label for this outcome (see OutcomeCategory)."""
        if not self.paired:
            return OutcomeCategory.NOT_PAIRED
        if self.reliable_recovery:
            return OutcomeCategory.RELIABLE_RECOVERY
        if self.reliable_deterioration:
            return OutcomeCategory.RELIABLE_DETERIORATION
        if self.recovered:
            return OutcomeCategory.RECOVERED
        if self.reliable_improvement:
            return OutcomeCategory.RELIABLE_IMPROVEMENT
        if not self.caseness_at_start:
            return OutcomeCategory.NOT_AT_CASENESS
        return OutcomeCategory.NO_RELIABLE_CHANGE


def reliable_direction(*, first: int | None, last: int | None, threshold: int) -> int:
    """-1 for a reliable decrease, +1 for a reliable increase, else 0 (also if a score is missing).

    A change of exactly the threshold counts as reliable.
    """
    if first is None or last is None:
        return 0
    if first - last >= threshold:
        return -1
    if last - first >= threshold:
        return 1
    return 0


def episode_outcome(
    *,
    first_phq9: int | None,
    last_phq9: int | None,
    first_gad7: int | None,
    last_gad7: int | None,
    treatment_contacts: int,
    ended: bool,
    thresholds: OutcomeThresholds = OUTCOME_THRESHOLDS,
    anxiety_measure: str = GAD7,
    first_anxiety: int | None = None,
    last_anxiety: int | None = None,
) -> EpisodeOutcome:
    """Apply the national outcome definitions to one episode's first and last scores.

    The anxiety side is GAD-7 (``first_gad7``, ``last_gad7``) unless ``anxiety_measure``
    names an ADSM, whose scores are then ``first_anxiety`` and ``last_anxiety`` and
    whose caseness cut-off and reliable-change threshold come from its definition.
    """
    for name, value in (
        ("first_phq9", first_phq9),
        ("last_phq9", last_phq9),
        ("first_gad7", first_gad7),
        ("last_gad7", last_gad7),
        ("first_anxiety", first_anxiety),
        ("last_anxiety", last_anxiety),
    ):
        _check_score(name, value)
    if isinstance(treatment_contacts, bool) or not isinstance(treatment_contacts, int):
        raise ValueError("treatment_contacts must be a whole number")
    if treatment_contacts < 0:
        raise ValueError("treatment_contacts cannot be negative")
    if anxiety_measure == GAD7:
        if first_anxiety is not None or last_anxiety is not None:
            raise ValueError("GAD-7 scores go in first_gad7 and last_gad7")
        first_anxiety, last_anxiety = first_gad7, last_gad7
    anxiety_caseness, anxiety_reliable_change = thresholds.anxiety(anxiety_measure)

    finished = ended and treatment_contacts >= thresholds.min_treatment_contacts
    caseness_at_start = (first_phq9 is not None and first_phq9 >= thresholds.phq9_caseness) or (
        first_anxiety is not None and first_anxiety >= anxiety_caseness
    )
    paired = False
    recovered = improvement = deterioration = False
    if (
        first_phq9 is not None
        and last_phq9 is not None
        and first_anxiety is not None
        and last_anxiety is not None
    ):
        paired = True
        recovered = (
            caseness_at_start
            and last_phq9 < thresholds.phq9_caseness
            and last_anxiety < anxiety_caseness
        )
        phq = reliable_direction(
            first=first_phq9, last=last_phq9, threshold=thresholds.phq9_reliable_change
        )
        anxiety = reliable_direction(
            first=first_anxiety, last=last_anxiety, threshold=anxiety_reliable_change
        )
        improvement = -1 in (phq, anxiety) and 1 not in (phq, anxiety)
        deterioration = 1 in (phq, anxiety) and -1 not in (phq, anxiety)

    return EpisodeOutcome(
        first_phq9=first_phq9,
        last_phq9=last_phq9,
        first_gad7=first_gad7,
        last_gad7=last_gad7,
        treatment_contacts=treatment_contacts,
        ended=ended,
        finished_treatment=finished,
        paired=paired,
        caseness_at_start=caseness_at_start,
        recovered=recovered,
        reliable_improvement=improvement,
        reliable_deterioration=deterioration,
        reliable_recovery=recovered and improvement,
        anxiety_measure=anxiety_measure,
        first_anxiety=first_anxiety,
        last_anxiety=last_anxiety,
    )


def _check_score(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number or None, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} cannot be negative")


@dataclass(frozen=True, slots=True)
class ServiceRates:
    """Counts and national rates over a set of episodes; only finished episodes count.

    Rates are floats in [0, 1], or None when their denominator is 0. The raw
    counts are exposed so reporting can apply disclosure control to them.
    """

    finished: int
    at_caseness_denominator: int
    recovered: int
    reliably_recovered: int
    reliably_improved: int
    reliably_deteriorated: int
    paired: int

    @property
    def recovery_rate(self) -> float | None:
        """Recovered / (finished - finished not at caseness at start)."""
        return rate(self.recovered, self.at_caseness_denominator)

    @property
    def reliable_recovery_rate(self) -> float | None:
        """Reliably recovered / (finished - finished not at caseness at start)."""
        return rate(self.reliably_recovered, self.at_caseness_denominator)

    @property
    def reliable_improvement_rate(self) -> float | None:
        """Reliably improved / finished."""
        return rate(self.reliably_improved, self.finished)

    @property
    def reliable_deterioration_rate(self) -> float | None:
        """Reliably deteriorated / finished."""
        return rate(self.reliably_deteriorated, self.finished)

    @property
    def paired_rate(self) -> float | None:
        """Data completeness: finished episodes with paired scores / finished."""
        return rate(self.paired, self.finished)


def service_rates(outcomes: Iterable[EpisodeOutcome]) -> ServiceRates:
    """Count finished episodes and their outcomes with the national denominators."""
    finished = [o for o in outcomes if o.finished_treatment]
    return ServiceRates(
        finished=len(finished),
        at_caseness_denominator=sum(1 for o in finished if o.caseness_at_start),
        recovered=sum(1 for o in finished if o.recovered),
        reliably_recovered=sum(1 for o in finished if o.reliable_recovery),
        reliably_improved=sum(1 for o in finished if o.reliable_improvement),
        reliably_deteriorated=sum(1 for o in finished if o.reliable_deterioration),
        paired=sum(1 for o in finished if o.paired),
    )


def rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when the denominator is 0."""
    if numerator < 0 or denominator < 0 or numerator > denominator:
        raise ValueError(f"cannot make a rate of {numerator} out of {denominator}")
    if denominator == 0:
        return None
    return numerator / denominator


def wait_days(referral_date: date, first_treatment_date: date | None) -> int | None:
    """Days from referral to first treatment contact; None while not yet treated."""
    if first_treatment_date is None:
        return None
    days = (first_treatment_date - referral_date).days
    if days < 0:
        raise ValueError("first treatment is before the referral")
    return days


def within_wait_target(
    referral_date: date, first_treatment_date: date | None, *, days: int
) -> bool | None:
    """True when first treatment came within ``days`` of referral (inclusive); None if untreated."""
    waited = wait_days(referral_date, first_treatment_date)
    return None if waited is None else waited <= days


def second_contact_gap_days(
    first_treatment_date: date | None, second_treatment_date: date | None
) -> int | None:
    """Days between first and second treatment contacts; None until both exist."""
    if first_treatment_date is None or second_treatment_date is None:
        return None
    days = (second_treatment_date - first_treatment_date).days
    if days < 0:
        raise ValueError("second treatment contact is before the first")
    return days


def is_hidden_wait(
    first_treatment_date: date | None, second_treatment_date: date | None, *, days: int
) -> bool | None:
    """True when the gap to the second treatment contact is over ``days`` (28 or 90)."""
    gap = second_contact_gap_days(first_treatment_date, second_treatment_date)
    return None if gap is None else gap > days
