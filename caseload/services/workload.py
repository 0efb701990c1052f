"""Each worker's load for their supervisor: counts today and the weekly active caseload
rebuilt from the contact, discharge and reassignment history (docs/supervisor-guide.md).

Worker load counts every case, consented or not: it is data about the worker's
workload, not about the clients (docs/design.md section 10).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from caseload.domain.codes import AttendanceCode, EntryStatus, Role, Severity
from caseload.domain.dates import local_date, london_to_utc
from caseload.domain.flags import Flag, FlagSettings, worker_flags
from caseload.domain.workload import EpisodeSpan, Handover, recent_weeks, week_end
from caseload.domain.workload import weekly_active_caseload as count_weekly
from caseload.extensions import db
from caseload.models import (
    Contact,
    Episode,
    EpisodeReassignment,
    EpisodeSummary,
    SupervisionSession,
    User,
)
from caseload.policy import episodes_in_force, supervised_worker_ids, visible_episodes
from caseload.services import NotVisible
from caseload.services.audit import record_event, record_event_now
from caseload.services.curves import current_curves
from caseload.services.episodes import flag_settings, flags_for
from caseload.services.settings import service_settings

#: The attendance codes of a contact that took place (the client was seen).
ATTENDED = tuple(code for code in AttendanceCode if code.attended)
#: Treatments finished in the last year are counted over this many days, today included.
FINISHED_WINDOW_DAYS = 365


@dataclass(frozen=True)
class WorkerLoad:
    """One worker's row of the team-load table."""

    worker: User
    #: Open cases: in treatment (``active``) and waiting.
    open_cases: int
    active: int
    waiting: int
    #: Open cases whose most severe standing flag is red / amber.
    red: int
    amber: int
    #: Open cases with open risk (``summary.risk_open``).
    risk_cases: int
    #: Open cases with any complexity factor.
    complex_cases: int
    #: Attended contacts on the worker's episodes in the last 7 / 28 days (today included).
    contacts_7d: int
    contacts_28d: int
    #: Episodes discharged in the last 365 days with finished treatment, held at discharge.
    finished_12m: int
    #: UK date of the worker's most recent ended supervision session.
    last_session_on: date | None
    #: Active caseload at the end of each week in ``TeamLoad.weeks``.
    weekly: list[int]
    #: Over capacity / risk share (domain.flags.worker_flags).
    worker_flags: tuple[Flag, ...]


@dataclass(frozen=True)
class TeamLoad:
    """The team-load table and the weeks its series cover."""

    rows: list[WorkerLoad]
    #: The Monday of each of the last 26 weeks, oldest first (current week last).
    weeks: list[date]
    #: The active caseload cap (45) and the planning range of treatments finished a year.
    cap: int
    planning_low: int
    planning_high: int


@dataclass
class _OpenCounts:
    """What one worker's open cases add up to."""

    open_cases: int = 0
    active: int = 0
    red: int = 0
    amber: int = 0
    risk_cases: int = 0
    active_risk: int = 0
    complex_cases: int = 0


def _start_of(day: date) -> datetime:
    """The first moment of a UK day, in UTC."""
    return london_to_utc(day, time(0, 0))


def _open_counts(asker: User, *, today: date, settings: FlagSettings) -> dict[int, _OpenCounts]:
    """Per worker, the open cases with their flags worked out (a fixed number of queries)."""
    episodes = db.session.scalars(
        select(Episode)
        .options(
            joinedload(Episode.summary).selectinload(EpisodeSummary.measures),
            selectinload(Episode.complexity),
        )
        .where(visible_episodes(asker), Episode.discharged_on.is_(None))
    )
    curves = current_curves()
    counts: dict[int, _OpenCounts] = {}
    for episode in episodes:
        row = counts.setdefault(episode.worker_id, _OpenCounts())
        summary = episode.summary
        row.open_cases += 1
        row.active += bool(summary.is_active)
        row.risk_cases += bool(summary.risk_open)
        row.active_risk += bool(summary.is_active and summary.risk_open)
        row.complex_cases += bool(episode.complexity)
        flags = flags_for(episode, today=today, settings=settings, curves=curves)
        worst = flags[0].severity if flags else None  # most severe first
        row.red += worst is Severity.RED
        row.amber += worst is Severity.AMBER
    return counts


def _contact_counts(
    asker: User, worker_ids: Collection[int], *, today: date
) -> dict[int, tuple[int, int]]:
    """Per worker, attended contacts on their episodes in the last 7 and 28 days.

    Only episodes open, or discharged within the 28 days, can hold such a contact (no
    contact is dated after its episode's discharge), so the query starts from those
    and reads their contacts through one index range each: the workers' years of
    closed cases are never read.
    """
    first_day = today - timedelta(days=27)
    tomorrow = _start_of(today + timedelta(days=1))
    week = _start_of(today - timedelta(days=6))
    month = _start_of(first_day)
    rows = db.session.execute(
        select(
            Episode.worker_id,
            func.coalesce(func.sum(case((Contact.occurred_at >= week, 1), else_=0)), 0),
            func.count(Contact.id),
        )
        .join(Episode, Episode.id == Contact.episode_id)
        .where(
            visible_episodes(asker),
            Episode.worker_id.in_(worker_ids),
            or_(Episode.discharged_on.is_(None), Episode.discharged_on >= first_day),
            Contact.status == EntryStatus.CURRENT,
            Contact.attendance.in_(ATTENDED),
            Contact.occurred_at >= month,
            Contact.occurred_at < tomorrow,
        )
        .group_by(Episode.worker_id)
    ).all()
    return {worker_id: (int(seven), int(twenty_eight)) for worker_id, seven, twenty_eight in rows}


def _finished_counts(asker: User, worker_ids: Collection[int], *, today: date) -> dict[int, int]:
    """Per worker, episodes discharged in the last year with a finished course of treatment.

    A closed episode cannot be reassigned, so its worker is the one who held it at
    discharge.
    """
    since = today - timedelta(days=FINISHED_WINDOW_DAYS - 1)
    rows = db.session.execute(
        select(Episode.worker_id, func.count(Episode.id))
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(
            visible_episodes(asker),
            Episode.worker_id.in_(worker_ids),
            Episode.discharged_on.between(since, today),
            EpisodeSummary.finished_treatment.is_(True),
        )
        .group_by(Episode.worker_id)
    ).all()
    return {worker_id: int(count) for worker_id, count in rows}


def _last_sessions(worker_ids: Collection[int]) -> dict[int, date]:
    """Per worker, the UK date their most recent ended supervision session started."""
    rows = db.session.execute(
        select(SupervisionSession.worker_id, func.max(SupervisionSession.started_at))
        .where(
            SupervisionSession.worker_id.in_(worker_ids),
            SupervisionSession.ended_at.is_not(None),
        )
        .group_by(SupervisionSession.worker_id)
    ).all()
    # max() keeps the column's type, so the times come back aware on every database.
    return {worker_id: local_date(started) for worker_id, started in rows if started}


def team_load(asker: User, *, today: date) -> TeamLoad:
    """One row per worker the supervisor supervises, by display name (audited as
    ``supervision.team_load``, with no client ids: it names no client)."""
    if asker.role is not Role.SUPERVISOR:
        record_event_now("access.denied", actor=asker, object_type="team_load", object_id=asker.id)
        raise NotVisible(asker.id)
    workers = list(
        db.session.scalars(
            select(User)
            .where(
                User.id.in_(supervised_worker_ids(asker)),
                User.role == Role.WORKER,
                User.active.is_(True),
            )
            .order_by(User.display_name, User.id)
        )
    )
    ids = [w.id for w in workers]
    weeks = recent_weeks(today)
    settings = flag_settings()
    service = service_settings()
    open_counts = _open_counts(asker, today=today, settings=settings) if ids else {}
    contacts = _contact_counts(asker, ids, today=today) if ids else {}
    finished = _finished_counts(asker, ids, today=today) if ids else {}
    sessions = _last_sessions(ids) if ids else {}
    weekly = weekly_active_caseload(ids, weeks=weeks, today=today)
    rows = []
    for worker in workers:
        counts = open_counts.get(worker.id, _OpenCounts())
        seven, twenty_eight = contacts.get(worker.id, (0, 0))
        rows.append(
            WorkerLoad(
                worker=worker,
                open_cases=counts.open_cases,
                active=counts.active,
                waiting=counts.open_cases - counts.active,
                red=counts.red,
                amber=counts.amber,
                risk_cases=counts.risk_cases,
                complex_cases=counts.complex_cases,
                contacts_7d=seven,
                contacts_28d=twenty_eight,
                finished_12m=finished.get(worker.id, 0),
                last_session_on=sessions.get(worker.id),
                weekly=weekly.get(worker.id, [0] * len(weeks)),
                worker_flags=worker_flags(
                    active_caseload=counts.active, risk_cases=counts.active_risk, settings=settings
                ),
            )
        )
    record_event(
        "supervision.team_load",
        actor=asker,
        object_type="user",
        object_id=asker.id,
        detail={"workers": len(rows)},
    )
    return TeamLoad(
        rows=rows,
        weeks=weeks,
        cap=settings.caseload_cap,
        planning_low=service.planning_range_low,
        planning_high=service.planning_range_high,
    )


def weekly_active_caseload(
    worker_ids: Collection[int], *, weeks: Sequence[date], today: date
) -> dict[int, list[int]]:
    """For each worker, the episodes active and held by them at the end of each week.

    The end of a week is its Sunday, or today for the current week. Who held an
    episode on a day comes from its reassignments (a move on day d counts for the
    new worker from d); active means treatment had started and the episode was not
    discharged (``caseload.domain.workload``). Every case counts, consented or not,
    but not an episode entered in error. Two queries, whatever the number of episodes.
    """
    ids = sorted(set(worker_ids))
    if not ids or not weeks:
        return {worker_id: [0] * len(weeks) for worker_id in ids}
    ends = [week_end(monday, today=today) for monday in weeks]
    moved = select(EpisodeReassignment.episode_id).where(
        or_(
            EpisodeReassignment.from_worker_id.in_(ids),
            EpisodeReassignment.to_worker_id.in_(ids),
        )
    )
    relevant = and_(
        episodes_in_force(),
        or_(Episode.worker_id.in_(ids), Episode.id.in_(moved)),
        EpisodeSummary.first_treatment_on.is_not(None),
        EpisodeSummary.first_treatment_on <= max(ends),
        or_(Episode.discharged_on.is_(None), Episode.discharged_on > min(ends)),
    )
    spans = [
        EpisodeSpan(
            episode_id=episode_id,
            worker_id=worker_id,
            first_treatment_on=first_on,
            discharged_on=discharged_on,
        )
        for episode_id, worker_id, first_on, discharged_on in db.session.execute(
            select(
                Episode.id,
                Episode.worker_id,
                EpisodeSummary.first_treatment_on,
                Episode.discharged_on,
            )
            .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
            .where(relevant)
        )
    ]
    handovers = [
        Handover(
            episode_id=episode_id,
            on=local_date(at),
            from_worker_id=from_id,
            to_worker_id=to_id,
        )
        for episode_id, at, from_id, to_id in db.session.execute(
            select(
                EpisodeReassignment.episode_id,
                EpisodeReassignment.reassigned_at,
                EpisodeReassignment.from_worker_id,
                EpisodeReassignment.to_worker_id,
            )
            .join(Episode, Episode.id == EpisodeReassignment.episode_id)
            .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
            .where(relevant)
            .order_by(EpisodeReassignment.reassigned_at, EpisodeReassignment.id)
        )
    ]
    return count_weekly(spans, handovers, worker_ids=ids, weeks=weeks, today=today)
