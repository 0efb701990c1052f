"""Service outcome figures for a period, from consenting clients only, with disclosure control.

The national definitions live in :mod:`caseload.domain.outcomes`; this module
only selects the episodes (from the consent-filtered base) and the few summary
columns those definitions need, so the figures can never drift from the rules
the episode pages use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from caseload.domain.disclosure import disclose_count, disclose_rate
from caseload.domain.outcomes import ServiceRates, episode_outcome, service_rates
from caseload.extensions import db
from caseload.models import Episode, EpisodeSummary
from caseload.reporting.base import reportable_episodes


def discharged_outcomes(*, start: date, end: date) -> ServiceRates:
    """Raw national counts for episodes of consenting clients discharged in [start, end]."""
    rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(
            EpisodeSummary.first_phq9,
            EpisodeSummary.last_phq9,
            EpisodeSummary.first_gad7,
            EpisodeSummary.last_gad7,
            EpisodeSummary.treatment_contacts,
        )
        .where(Episode.discharged_on.between(start, end))
    )
    return service_rates(
        episode_outcome(
            first_phq9=row.first_phq9,
            last_phq9=row.last_phq9,
            first_gad7=row.first_gad7,
            last_gad7=row.last_gad7,
            treatment_contacts=row.treatment_contacts,
            ended=True,
        )
        for row in rows
    )


@dataclass(frozen=True)
class DisclosedOutcomes:
    """Outcome figures safe to show a service lead: counts suppressed or rounded to 5,
    rates suppressed with their numerator or denominator (DESIGN.md section 6)."""

    finished: int | None
    recovery_rate: float | None
    reliable_recovery_rate: float | None
    reliable_improvement_rate: float | None
    reliable_deterioration_rate: float | None
    paired_rate: float | None


def disclosed_outcomes(*, start: date, end: date) -> DisclosedOutcomes:
    """The period's outcome figures after disclosure control."""
    raw = discharged_outcomes(start=start, end=end)
    return DisclosedOutcomes(
        finished=disclose_count(raw.finished),
        recovery_rate=disclose_rate(raw.recovered, raw.at_caseness_denominator),
        reliable_recovery_rate=disclose_rate(raw.reliably_recovered,
                                             raw.at_caseness_denominator),
        reliable_improvement_rate=disclose_rate(raw.reliably_improved, raw.finished),
        reliable_deterioration_rate=disclose_rate(raw.reliably_deteriorated, raw.finished),
        paired_rate=disclose_rate(raw.paired, raw.finished),
    )
