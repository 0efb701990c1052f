"""The pure episode summary: what an episode's contacts add up to.

The database keeps one summary row per episode, recomputed by
``summarise_episode`` in the same transaction as the contact that changes it.

Rules (DESIGN.md section 3):

- only attended contacts (codes 5 and 6) give scores, risk or dates of
  care; booked (0), cancelled (2, 4) and not-seen (3, 7) contacts never do;
- first score of a measure = earliest attended contact with it; last =
  latest attended contact with it, and None when only one contact has that
  measure (so "paired" needs two different contacts); ``latest_*`` is the
  most recent score for display, equal to the first when there is only one;
- a treatment contact is an attended contact whose type counts as
  treatment (treatment, or assessment and treatment);
- ``consecutive_dnas`` is the run of non-attendances (did not attend, 3,
  and arrived late and not seen, 7) since the last attended contact.
  Cancellations (2, 4) and booked contacts neither add to the run nor break
  it; an attended contact ends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from caseload.domain.codes import AttendanceCode, ContactType, RiskLevel
from caseload.domain.outcomes import EpisodeOutcome, episode_outcome


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """One contact in force (superseded and entered-in-error contacts already excluded)."""

    contact_id: int
    occurred_at: datetime
    contact_type: ContactType
    attendance: AttendanceCode
    phq9_total: int | None = None
    gad7_total: int | None = None
    wsas_total: int | None = None
    phq9_item9: int | None = None
    risk_level: RiskLevel | None = None
    measures_not_collected: bool = False


@dataclass(frozen=True, slots=True)
class EpisodeSummaryFacts:
    """What an episode's contacts add up to; the content of the summary row."""

    first_phq9: int | None = None
    last_phq9: int | None = None
    latest_phq9: int | None = None
    first_gad7: int | None = None
    last_gad7: int | None = None
    latest_gad7: int | None = None
    first_wsas: int | None = None
    last_wsas: int | None = None
    latest_wsas: int | None = None
    first_phq9_contact_id: int | None = None
    last_phq9_contact_id: int | None = None
    first_gad7_contact_id: int | None = None
    last_gad7_contact_id: int | None = None
    latest_item9: int | None = None
    latest_item9_at: datetime | None = None
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
    #: attended treatment contacts without both a PHQ-9 and a GAD-7 total (the flag)
    attended_missing_measures: int = 0
    #: of those, how many had a recorded reason for not collecting measures
    missing_measures_with_reason: int = 0
    #: attended contacts of any type with both totals (data completeness)
    attended_with_both_measures: int = 0


@dataclass(frozen=True, slots=True)
class _Series:
    first: int | None
    last: int | None
    latest: int | None
    first_id: int | None
    last_id: int | None


def _series(scored: list[tuple[int, int]]) -> _Series:
    """First/last/latest of a list of (contact_id, score) in time order."""
    if not scored:
        return _Series(None, None, None, None, None)
    first_id, first = scored[0]
    if len(scored) == 1:
        return _Series(first, None, first, first_id, None)
    last_id, last = scored[-1]
    return _Series(first, last, last, first_id, last_id)


def attended_in_order(contacts: Iterable[ContactFacts]) -> list[ContactFacts]:
    """Attended contacts, oldest first (ties broken by contact id)."""
    return sorted(
        (c for c in contacts if c.attendance.attended), key=lambda c: (c.occurred_at, c.contact_id)
    )


def summarise_episode(contacts: Iterable[ContactFacts]) -> EpisodeSummaryFacts:
    """Summarise an episode's contacts in force into its summary facts."""
    everything = sorted(contacts, key=lambda c: (c.occurred_at, c.contact_id))
    attended = [c for c in everything if c.attendance.attended]
    treatment = [c for c in attended if c.contact_type.is_treatment]

    phq9 = _series([(c.contact_id, c.phq9_total) for c in attended if c.phq9_total is not None])
    gad7 = _series([(c.contact_id, c.gad7_total) for c in attended if c.gad7_total is not None])
    wsas = _series([(c.contact_id, c.wsas_total) for c in attended if c.wsas_total is not None])

    item9_contact = next((c for c in reversed(attended) if c.phq9_item9 is not None), None)
    risk_contact = next((c for c in reversed(attended) if c.risk_level is not None), None)

    missing = [c for c in treatment if c.phq9_total is None or c.gad7_total is None]

    return EpisodeSummaryFacts(
        first_phq9=phq9.first,
        last_phq9=phq9.last,
        latest_phq9=phq9.latest,
        first_gad7=gad7.first,
        last_gad7=gad7.last,
        latest_gad7=gad7.latest,
        first_wsas=wsas.first,
        last_wsas=wsas.last,
        latest_wsas=wsas.latest,
        first_phq9_contact_id=phq9.first_id,
        last_phq9_contact_id=phq9.last_id,
        first_gad7_contact_id=gad7.first_id,
        last_gad7_contact_id=gad7.last_id,
        latest_item9=None if item9_contact is None else item9_contact.phq9_item9,
        latest_item9_at=None if item9_contact is None else item9_contact.occurred_at,
        latest_risk_level=None if risk_contact is None else risk_contact.risk_level,
        latest_risk_at=None if risk_contact is None else risk_contact.occurred_at,
        treatment_contacts=len(treatment),
        attended_contacts=len(attended),
        first_contact_at=attended[0].occurred_at if attended else None,
        first_treatment_at=treatment[0].occurred_at if treatment else None,
        second_treatment_at=treatment[1].occurred_at if len(treatment) > 1 else None,
        last_attended_at=attended[-1].occurred_at if attended else None,
        consecutive_dnas=_trailing_dnas(everything),
        attended_missing_measures=len(missing),
        missing_measures_with_reason=sum(1 for c in missing if c.measures_not_collected),
        attended_with_both_measures=sum(
            1 for c in attended if c.phq9_total is not None and c.gad7_total is not None
        ),
    )


def _trailing_dnas(contacts: list[ContactFacts]) -> int:
    run = 0
    for contact in reversed(contacts):
        if contact.attendance.attended:
            break
        if contact.attendance.is_dna:
            run += 1
    return run


def score_series(contacts: Iterable[ContactFacts]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """PHQ-9 and GAD-7 totals at attended contacts, oldest first (for expected curves)."""
    attended = attended_in_order(contacts)
    return (
        tuple(c.phq9_total for c in attended if c.phq9_total is not None),
        tuple(c.gad7_total for c in attended if c.gad7_total is not None),
    )


def episode_outcome_from_summary(summary: EpisodeSummaryFacts, *, ended: bool) -> EpisodeOutcome:
    """The national outcome of an episode from its summary."""
    return episode_outcome(
        first_phq9=summary.first_phq9,
        last_phq9=summary.last_phq9,
        first_gad7=summary.first_gad7,
        last_gad7=summary.last_gad7,
        treatment_contacts=summary.treatment_contacts,
        ended=ended,
    )
