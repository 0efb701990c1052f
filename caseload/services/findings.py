"""The service lead's findings view as a use case: who may ask, for which period and
team, and the audit event (docs/findings.md).

The figures themselves are :mod:`caseload.reporting.findings` (consented records only,
worker load from every case); this module decides the scope from the asker and the
filters and records that the lead looked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import Team, User
from caseload.reporting.findings import Scope, ServiceFindings, service_findings
from caseload.services import NotVisible
from caseload.services.audit import record_event, record_event_now
from caseload.services.episodes import flag_settings
from caseload.services.settings import service_settings


@dataclass(frozen=True)
class Findings:
    """The findings for one period and team, with the settings they are read against."""

    figures: ServiceFindings
    #: The team chosen, or None for the whole service.
    team: Team | None
    cap: int
    planning_low: int
    planning_high: int


def _require_lead(asker: User) -> None:
    """Only a service lead sees the findings (audited denial otherwise)."""
    if asker.role is not Role.LEAD:
        record_event_now("access.denied", actor=asker, object_type="findings", object_id=asker.id)
        raise NotVisible(asker.id)


def findings_teams(asker: User) -> list[Team]:
    """The teams the findings can be filtered by, by name."""
    _require_lead(asker)
    return list(db.session.scalars(select(Team).order_by(Team.name, Team.id)))


def lead_findings(
    asker: User,
    *,
    months: Sequence[date],
    team: Team | None,
    today: date,
) -> Findings:
    """Every section's figures for the months (first days, oldest first) and the team
    (None: the whole service), audited as ``findings.view`` with no client ids: the
    view shows aggregates only."""
    _require_lead(asker)
    workers = select(User.id).where(User.role == Role.WORKER)
    if team is not None:
        workers = workers.where(User.team_id == team.id)
    settings = flag_settings()
    scope = Scope(
        months=tuple(months),
        today=today,
        worker_ids=tuple(db.session.scalars(workers.order_by(User.id))),
        team_only=team is not None,
        cap=settings.caseload_cap,
    )
    figures = service_findings(scope)
    record_event(
        "findings.view",
        actor=asker,
        object_type="findings",
        detail={
            "from": scope.start.isoformat(),
            "to": scope.end.isoformat(),
            "team": None if team is None else team.id,
        },
    )
    service = service_settings()
    return Findings(
        figures=figures,
        team=team,
        cap=settings.caseload_cap,
        planning_low=service.planning_range_low,
        planning_high=service.planning_range_high,
    )
