"""Service outcome figures for a period, from consenting clients only, with disclosure control.

The national definitions live in :mod:`caseload.domain.outcomes`; this module
only selects the episodes (from the consent-filtered base) and the few summary
columns those definitions need, so the figures can never drift from the rules
the episode pages use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func

from caseload.domain.disclosure import disclose_count, disclose_rate
from caseload.domain.outcomes import ServiceRates
from caseload.extensions import db
from caseload.models import Episode, EpisodeSummary
from caseload.reporting.base import reportable_episodes


def discharged_outcomes(*, start: date, end: date) -> ServiceRates:
    """Raw national counts for episodes of consenting clients discharged in [start, end].

    One SQL aggregate over the outcome columns each summary keeps (filled by the
    domain's ``episode_outcome`` when the episode changed), never a loop over episodes.
    """
    finished = EpisodeSummary.finished_treatment.is_(True)

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((and_(finished, *conditions), 1), else_=0)), 0)

    row = db.session.execute(
        reportable_episodes()
        .with_only_columns(
            count(),
            count(EpisodeSummary.caseness_at_start.is_(True)),
            count(EpisodeSummary.recovered.is_(True)),
            count(EpisodeSummary.reliably_recovered.is_(True)),
            count(EpisodeSummary.reliably_improved.is_(True)),
            count(EpisodeSummary.reliably_deteriorated.is_(True)),
            count(EpisodeSummary.paired.is_(True)),
        )
        .where(Episode.discharged_on.between(start, end))
    ).one()
    return ServiceRates(
        finished=int(row[0]),
        at_caseness_denominator=int(row[1]),
        recovered=int(row[2]),
        reliably_recovered=int(row[3]),
        reliably_improved=int(row[4]),
        reliably_deteriorated=int(row[5]),
        paired=int(row[6]),
    )


@dataclass(frozen=True)
class DisclosedOutcomes:
    """Outcome figures safe to show a service lead: counts suppressed or rounded to 5,
    rates suppressed with their numerator or denominator (docs/design.md section 6)."""

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
        reliable_recovery_rate=disclose_rate(raw.reliably_recovered, raw.at_caseness_denominator),
        reliable_improvement_rate=disclose_rate(raw.reliably_improved, raw.finished),
        reliable_deterioration_rate=disclose_rate(raw.reliably_deteriorated, raw.finished),
        paired_rate=disclose_rate(raw.paired, raw.finished),
    )
