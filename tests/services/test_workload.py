"""Team load against a hand-counted service, built through the services: a case discharged
mid-period, one reassigned mid-period, one whose treatment started mid-period, a waiting one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from caseload.domain.codes import (
    AttendanceCode,
    ComplexityFactor,
    ContactType,
    DischargeReason,
    RiskLevel,
    Role,
)
from caseload.domain.flags import FlagKind
from caseload.domain.workload import recent_weeks
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Episode, User
from caseload.services import NotVisible
from caseload.services.episodes import discharge
from caseload.services.supervision import end_session, reassign, start_session
from caseload.services.workload import WorkerLoad, team_load, weekly_active_caseload
from tests.services.factories import TODAY, client_details, gad7, log, phq9, register
from tests.services.test_episodes import counting_statements


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in UTC (10:00 UTC is 11:00 in London in May and June)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def d(month: int, day: int, year: int = 2025) -> date:
    return date(year, month, day)


def treated(worker: User, episode: Episode, *days: date, **kwargs: Any) -> None:
    """An attended treatment contact on each day, with mild scores."""
    for day in days:
        log(worker, episode, at(day), phq9_total=8, gad7_total=6, **kwargs)


def discharged_on(worker: User, episode: Episode, day: date) -> None:
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=day,
        note="",
        today=TODAY,
    )


@dataclass
class Service:
    supervisor: User
    a: User
    b: User


@pytest.fixture
def service(user_factory: Any, worker: User) -> Service:
    """Two workers of one team with the history in the module docstring (TODAY is Monday
    2 June 2025; the last week ends today, the one before on Sunday 1 June)."""
    a = worker
    b = user_factory(Role.WORKER, team="North team")
    supervisor = user_factory(Role.SUPERVISOR, team="North team")
    user_factory(Role.WORKER, team="North team").active = False
    south = user_factory(Role.WORKER, team="South team")

    def case(worker: User, name: str, referred: date, **kwargs: Any) -> Episode:
        return register(worker, details=client_details(name=name), referral_date=referred, **kwargs)

    # A: in treatment since 1 May. 26 May 23:30 UTC is 27 May in London.
    steady = case(a, "Steady", d(4, 20))
    treated(a, steady, d(5, 1), d(5, 15))
    log(a, steady, at(d(5, 26), 23, 30), phq9_total=8, gad7_total=6)
    log(a, steady, at(TODAY, 9), phq9_total=8, gad7_total=6)
    # A: treated from 6 May, discharged on 20 May (finished: two treatment contacts).
    finished = case(a, "Finished", d(4, 20))
    treated(a, finished, d(5, 6), d(5, 13))
    log(a, finished, at(d(5, 16)), attendance=AttendanceCode.DID_NOT_ATTEND)
    discharged_on(a, finished, d(5, 20))
    # A: one treatment contact on 5 May, discharged on 8 May (not a finished course).
    brief = case(a, "Brief", d(5, 1))
    treated(a, brief, d(5, 5))
    discharged_on(a, brief, d(5, 8))
    # A: discharged 364 and 365 days ago.
    for name, ended in (("Year In", d(6, 3, 2024)), ("Year Out", d(6, 2, 2024))):
        old = case(a, name, d(5, 1, 2024))
        treated(a, old, d(5, 10, 2024), d(5, 20, 2024))
        discharged_on(a, old, ended)
    # A: waiting, with an assessment on 30 May and a complexity factor.
    waiting = case(a, "Waiting", d(5, 10), complexity_factors=frozenset({ComplexityFactor.DEBT}))
    log(a, waiting, at(d(5, 30)), phq9_total=8, gad7_total=6, contact_type=ContactType.ASSESSMENT)
    # A, then B: treated by A from 2 May, moved to B on 21 May, seen by B on 23 May.
    moved = case(a, "Moved", d(4, 20))
    treated(a, moved, d(5, 2), d(5, 9))
    reassign(
        supervisor, moved.id, to_worker_id=b.id, reason="Leave", version=None, now=at(d(5, 21))
    )
    treated(b, moved, d(5, 23))
    # B: assessed on 22 May, treatment from 28 May; item 9 answered 1 on 1 June.
    late = case(b, "Late Start", d(5, 20))
    log(b, late, at(d(5, 22)), phq9_total=8, gad7_total=6, contact_type=ContactType.ASSESSMENT)
    treated(b, late, d(5, 28))
    log(b, late, at(d(6, 1)), phq9=phq9(12, item9=1), gad7=gad7(8), risk_level=RiskLevel.LOW)
    # Not the supervisor's: the South team's worker.
    treated(south, case(south, "Elsewhere", d(5, 1)), d(5, 20))
    # A's supervision: a session on 20 May, ended; one on 30 May still open.
    session = start_session(supervisor, worker_id=a.id, today=d(5, 20), now=at(d(5, 20), 9))
    end_session(supervisor, session.id, now=at(d(5, 20), 9, 30))
    start_session(supervisor, worker_id=a.id, today=d(5, 30), now=at(d(5, 30), 9))
    db.session.commit()
    return Service(supervisor, a, b)


def test_team_load_against_hand_counts(service: Service) -> None:
    load = team_load(service.supervisor, today=TODAY)
    assert load.weeks == recent_weeks(TODAY)
    assert (load.weeks[0], load.weeks[-1]) == (d(12, 9, 2024), TODAY)
    assert (load.cap, load.planning_low, load.planning_high) == (45, 175, 250)
    assert [row.worker.id for row in load.rows] == [service.a.id, service.b.id]
    a, b = load.rows

    assert a == WorkerLoad(
        worker=service.a,
        open_cases=2,  # steady, waiting
        active=1,
        waiting=1,
        red=0,
        amber=2,  # steady (review overdue), waiting (complexity)
        risk_cases=0,
        complex_cases=1,
        contacts_7d=3,  # steady 27 May and today, waiting's assessment 30 May
        contacts_28d=6,  # + steady 15 May, finished 6 and 13 May (not the DNA, not 5 May)
        finished_12m=2,  # finished, year in
        last_session_on=d(5, 20),
        # weeks ending 4, 11, 18, 25 May, 1 June and today
        weekly=[0] * 20 + [2, 3, 3, 1, 1, 1],
        worker_flags=(),
    )
    assert b == WorkerLoad(
        worker=service.b,
        open_cases=2,  # moved, late start
        active=2,
        waiting=0,
        red=1,  # late start: risk
        amber=1,  # moved: review overdue
        risk_cases=1,
        complex_cases=0,
        contacts_7d=2,  # late start 28 May and 1 June
        contacts_28d=5,  # + moved 9 and 23 May (the case's history moved with it), 22 May
        finished_12m=0,
        last_session_on=None,
        weekly=[0] * 23 + [1, 2, 2],
        worker_flags=b.worker_flags,
    )
    assert [f.kind for f in b.worker_flags] == [FlagKind.RISK_SHARE]  # 1 of 2 active

    db.session.commit()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "supervision.team_load")
    ).one()
    assert event.actor_id == service.supervisor.id
    clients = select(func.count()).where(AuditEventClient.audit_event_id == event.id)
    assert db.session.scalar(clients) == 0


def test_the_weekly_series_is_history_not_todays_numbers(service: Service) -> None:
    weeks = recent_weeks(TODAY)[-4:]
    assert weekly_active_caseload([service.a.id, service.b.id], weeks=weeks, today=TODAY) == {
        service.a.id: [3, 1, 1, 1],
        service.b.id: [0, 1, 2, 2],
    }
    # Seen from the Friday before, the current week ends that day.
    friday = d(5, 30)
    assert weekly_active_caseload(
        [service.b.id], weeks=recent_weeks(friday)[-2:], today=friday
    ) == {service.b.id: [1, 2]}


@pytest.mark.parametrize("role", [Role.WORKER, Role.LEAD, Role.ADMIN])
def test_only_a_supervisor_has_a_team_load(user_factory: Any, role: Role) -> None:
    asker = user_factory(role)
    with pytest.raises(NotVisible):
        team_load(asker, today=TODAY)
    db.session.commit()
    denied = select(func.count()).where(AuditEvent.action == "access.denied")
    assert db.session.scalar(denied) == 1


def test_another_teams_supervisor_sees_only_their_own(service: Service, user_factory: Any) -> None:
    south = user_factory(Role.SUPERVISOR, team="South team")
    [row] = team_load(south, today=TODAY).rows
    assert row.worker.id not in (service.a.id, service.b.id)
    assert (row.open_cases, row.active, row.contacts_28d) == (1, 1, 1)


def test_team_load_queries_do_not_grow_with_the_cases(service: Service) -> None:
    def statements() -> int:
        db.session.commit()
        db.session.expire_all()
        with counting_statements() as seen:
            team_load(service.supervisor, today=TODAY)
        db.session.commit()
        return len(seen)

    before = statements()
    for number in range(6):
        episode = register(
            service.b, details=client_details(name=f"More {number}"), referral_date=d(5, 1)
        )
        treated(service.b, episode, d(5, 10 + number))
    assert statements() == before
    # BEGIN, the supervisor (expired by the test), the workers, the settings revision
    # twice (flag thresholds, service settings: once per request in the app), the open
    # cases with their measure summaries and complexity factors, the cached curves, the
    # contacts, the finished treatments, the sessions, the spans and the handovers
    assert before <= 14
