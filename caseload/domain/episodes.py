"""The pure episode summary: what an episode's contacts add up to.

The database keeps one summary row per episode, recomputed by
``summarise_episode`` in the same transaction as the contact that changes it.

Rules (docs/design.md section 3):

- only attended contacts (codes 5 and 6) give scores, risk or dates of
  care; booked (0), cancelled (2, 4) and not-seen (3, 7) contacts never do;
- every measure is summarised the same way, by its id (a new measure is a
  definition file, not new code here): first score = earliest attended
  contact with a total for it; last = latest attended contact with one, and
  None when only one contact has that measure (so "paired" needs two
  different contacts); ``latest`` is the most recent score for display,
  equal to the first when there is only one;
- the risk item of a measure (PHQ-9 item 9, from its definition) gives the
  latest risk answer, whatever the rest of the questionnaire;
- "missing measures" and "both measures" mean the measures the definitions
  mark as asked at every contact (PHQ-9 and GAD-7);
- a treatment contact is an attended contact whose type counts as
  treatment (treatment, or assessment and treatment);
- ``consecutive_dnas`` is the run of non-attendances (did not attend, 3,
  and arrived late and not seen, 7) since the last attended contact.
  Cancellations (2, 4) and booked contacts neither add to the run nor break
  it; an attended contact ends it;
- an *incomplete questionnaire* is one started (at least one item answered)
  and left unfinished at an attended contact: it has no total (no
  prorating). ``incomplete_questionnaires`` counts them over the episode,
  and ``unanswered_risk_items`` those whose risk item (PHQ-9 item 9) was
  left unanswered. A questionnaire not started at all is "not collected",
  which the missing-measures counts cover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from caseload.domain.codes import AttendanceCode, ContactType, EpisodeStatus, RiskLevel
from caseload.domain.measures import (
    GAD7,
    PHQ9,
    Measure,
    anxiety_disorder_measures,
    every_contact_measures,
)
from caseload.domain.outcomes import EpisodeOutcome, episode_outcome


def is_unfinished(answers: Sequence[object] | None) -> bool:
    """Whether a questionnaire was started (an item answered) and left unfinished (an item
    unanswered). ``None`` for an item is unanswered; "not applicable" is an answer."""
    return (
        answers is not None
        and any(a is not None for a in answers)
        and any(a is None for a in answers)
    )


def risk_item_unanswered(measure: Measure, answers: Sequence[object] | None) -> bool:
    """Whether a started questionnaire left the definition's risk item (PHQ-9 item 9)
    unanswered; always False for a measure without one."""
    if measure.risk_item is None or answers is None or len(answers) < measure.risk_item:
        return False
    return any(a is not None for a in answers) and answers[measure.risk_item - 1] is None


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """One contact in force (superseded and entered-in-error contacts already excluded)."""

    contact_id: int
    occurred_at: datetime
    contact_type: ContactType
    attendance: AttendanceCode
    #: Complete questionnaires' totals by measure id.
    totals: Mapping[str, int] = field(default_factory=dict)
    #: Answers to risk items by measure id (PHQ-9 item 9), complete questionnaire or not.
    risk_answers: Mapping[str, int] = field(default_factory=dict)
    risk_level: RiskLevel | None = None
    measures_not_collected: bool = False
    #: Measures started and left unfinished at this contact (no total), by id.
    incomplete: frozenset[str] = frozenset()
    #: Of those, the ones whose risk item (PHQ-9 item 9) was left unanswered.
    risk_item_unanswered: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MeasureSeries:
    """One measure's scores over an episode, by the national first/last rules."""

    measure_id: str
    first: int | None = None
    last: int | None = None
    latest: int | None = None
    first_contact_id: int | None = None
    last_contact_id: int | None = None
    first_at: datetime | None = None
    latest_at: datetime | None = None
    #: Totals at attended contacts, oldest first (for expected curves and charts).
    totals: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class EpisodeSummaryFacts:
    """What an episode's contacts add up to; the content of the summary rows."""

    #: One series per measure scored at least once, ordered by measure id.
    measures: tuple[MeasureSeries, ...] = ()
    #: The latest answer to a risk item (PHQ-9 item 9), which measure, and when.
    latest_risk_answer: int | None = None
    latest_risk_answer_measure: str | None = None
    latest_risk_answer_at: datetime | None = None
    latest_risk_level: RiskLevel | None = None
    latest_risk_at: datetime | None = None
    #: attended contacts whose type counts as treatment
    treatment_contacts: int = 0
    attended_contacts: int = 0
    #: earliest attended contact of any type
    first_contact_at: datetime | None = None
    #: first and second attended treatment contacts (waits and hidden waits)
    first_treatment_at: datetime | None = None
    second_treatment_at: datetime | None = None
    last_attended_at: datetime | None = None
    #: non-attendances (codes 3 and 7) since the last attended contact
    consecutive_dnas: int = 0
    #: attended treatment contacts without every every-contact measure (the flag)
    attended_missing_measures: int = 0
    #: of those, how many had a recorded reason for not collecting measures
    missing_measures_with_reason: int = 0
    #: attended contacts of any type with every every-contact measure (data completeness)
    attended_with_both_measures: int = 0
    #: questionnaires started and left unfinished at attended contacts (no total)
    incomplete_questionnaires: int = 0
    #: of those, how many left the risk item (PHQ-9 item 9) unanswered
    unanswered_risk_items: int = 0

    def series(self, measure_id: str) -> MeasureSeries:
        """The measure's series; an empty one when it was never scored."""
        for series in self.measures:
            if series.measure_id == measure_id:
                return series
        return MeasureSeries(measure_id)

    def first(self, measure_id: str) -> int | None:
        """The measure's first score."""
        return self.series(measure_id).first

    def last(self, measure_id: str) -> int | None:
        """The measure's last score (None with one score only)."""
        return self.series(measure_id).last

    def latest(self, measure_id: str) -> int | None:
        """The measure's most recent score, for display."""
        return self.series(measure_id).latest


def _series(measure_id: str, attended: list[ContactFacts]) -> MeasureSeries:
    """First/last/latest of one measure over attended contacts in time order."""
    scored = [c for c in attended if measure_id in c.totals]
    if not scored:
        return MeasureSeries(measure_id)
    first, final = scored[0], scored[-1]
    paired = len(scored) > 1
    return MeasureSeries(
        measure_id=measure_id,
        first=first.totals[measure_id],
        last=final.totals[measure_id] if paired else None,
        latest=final.totals[measure_id],
        first_contact_id=first.contact_id,
        last_contact_id=final.contact_id if paired else None,
        first_at=first.occurred_at,
        latest_at=final.occurred_at,
        totals=tuple(c.totals[measure_id] for c in scored),
    )


def attended_in_order(contacts: Iterable[ContactFacts]) -> list[ContactFacts]:
    """Attended contacts, oldest first (ties broken by contact id)."""
    return sorted(
        (c for c in contacts if c.attendance.attended), key=lambda c: (c.occurred_at, c.contact_id)
    )


def has_every_contact_measure(contact: ContactFacts) -> bool:
    """Whether the contact has a total for every measure asked at every contact."""
    return all(m in contact.totals for m in every_contact_measures())


def summarise_episode(contacts: Iterable[ContactFacts]) -> EpisodeSummaryFacts:
    """Summarise an episode's contacts in force into its summary facts."""
    everything = sorted(contacts, key=lambda c: (c.occurred_at, c.contact_id))
    attended = [c for c in everything if c.attendance.attended]
    treatment = [c for c in attended if c.contact_type.is_treatment]
    measure_ids = sorted({m for c in attended for m in c.totals})

    risk_contact = next((c for c in reversed(attended) if c.risk_answers), None)
    assessed_contact = next((c for c in reversed(attended) if c.risk_level is not None), None)
    risk_measure, risk_answer = (
        max(risk_contact.risk_answers.items(), key=lambda pair: pair[1])
        if risk_contact is not None
        else (None, None)
    )
    missing = [c for c in treatment if not has_every_contact_measure(c)]

    return EpisodeSummaryFacts(
        measures=tuple(_series(m, attended) for m in measure_ids),
        latest_risk_answer=risk_answer,
        latest_risk_answer_measure=risk_measure,
        latest_risk_answer_at=None if risk_contact is None else risk_contact.occurred_at,
        latest_risk_level=None if assessed_contact is None else assessed_contact.risk_level,
        latest_risk_at=None if assessed_contact is None else assessed_contact.occurred_at,
        treatment_contacts=len(treatment),
        attended_contacts=len(attended),
        first_contact_at=attended[0].occurred_at if attended else None,
        first_treatment_at=treatment[0].occurred_at if treatment else None,
        second_treatment_at=treatment[1].occurred_at if len(treatment) > 1 else None,
        last_attended_at=attended[-1].occurred_at if attended else None,
        consecutive_dnas=_trailing_dnas(everything),
        attended_missing_measures=len(missing),
        missing_measures_with_reason=sum(1 for c in missing if c.measures_not_collected),
        attended_with_both_measures=sum(1 for c in attended if has_every_contact_measure(c)),
        incomplete_questionnaires=sum(len(c.incomplete) for c in attended),
        unanswered_risk_items=sum(len(c.risk_item_unanswered & c.incomplete) for c in attended),
    )


def _trailing_dnas(contacts: list[ContactFacts]) -> int:
    run = 0
    for contact in reversed(contacts):
        if contact.attendance.attended:
            break
        if contact.attendance.is_dna:
            run += 1
    return run


def episode_status(*, discharged: bool, treatment_contacts: int) -> EpisodeStatus:
    """Waiting until the first attended treatment contact, then in treatment (the active
    caseload counted against the cap), until discharged. The one rule for "active"."""
    if discharged:
        return EpisodeStatus.DISCHARGED
    return EpisodeStatus.IN_TREATMENT if treatment_contacts > 0 else EpisodeStatus.WAITING


def choose_anxiety_measure(summary: EpisodeSummaryFacts, *, presenting_problem: str | None) -> str:
    """The anxiety measure of an episode's outcome (docs/design.md section 3: "anxiety
    measure >= its cut-off; GAD-7 >= 8").

    The anxiety disorder specific measure (ADSM) that matches the presenting problem when
    the episode has a first and a last score of it (from two different contacts);
    otherwise GAD-7. Should a problem have more than one ADSM scored both times, the first
    in contact-form order wins. Any other problem (depression, say) always uses GAD-7.
    """
    for measure in anxiety_disorder_measures(presenting_problem):
        if summary.first(measure.id) is not None and summary.last(measure.id) is not None:
            return measure.id
    return GAD7


def episode_outcome_from_summary(
    summary: EpisodeSummaryFacts, *, ended: bool, presenting_problem: str | None = None
) -> EpisodeOutcome:
    """The national outcome of an episode from its summary: the one place that maps one
    to the other. Without a presenting problem the anxiety measure is GAD-7."""
    anxiety = choose_anxiety_measure(summary, presenting_problem=presenting_problem)
    return episode_outcome(
        first_phq9=summary.first(PHQ9),
        last_phq9=summary.last(PHQ9),
        first_gad7=summary.first(GAD7),
        last_gad7=summary.last(GAD7),
        treatment_contacts=summary.treatment_contacts,
        ended=ended,
        anxiety_measure=anxiety,
        first_anxiety=None if anxiety == GAD7 else summary.first(anxiety),
        last_anxiety=None if anxiety == GAD7 else summary.last(anxiety),
    )
