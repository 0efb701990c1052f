"""get_episode, discharge, optimistic locking and worker_caseload on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from caseload.domain.codes import AttendanceCode, ComplexityFactor, DischargeReason, RiskLevel, Role
from caseload.domain.flags import FlagKind, FlagSettings
from caseload.extensions import db
from caseload.models import AuditEvent, Episode, User
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services.episodes import discharge, get_episode, worker_caseload
from tests.services.factories import (
    NOW,
    REFERRAL_DATE,
    TODAY,
    audit_actions,
    client_details,
    gad7,
    log,
    log_scores,
    phq9,
    register,
    row_counts,
)


@pytest.fixture
def episode(worker: User) -> Episode:
    """A committed, waiting episode of the North team's worker."""
    episode = register(worker)
    db.session.commit()
    return episode


def discharge_now(actor: User, episode: Episode, **kwargs: Any) -> Any:
    """Discharge as completed today unless told otherwise."""
    values: dict[str, Any] = {
        "reason": DischargeReason.COMPLETED,
        "discharged_on": TODAY,
        "note": "Goals met.",
        "today": TODAY,
    }
    return discharge(actor, episode, **(values | kwargs))


# Visibility -------------------------------------------------------------------------


def test_worker_sees_own_episode_and_the_view_is_audited(worker: User, episode: Episode) -> None:
    found = get_episode(worker, episode.id)
    db.session.commit()
    assert found.id == episode.id
    event_ = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "episode.view")).one()
    assert event_.actor_id == worker.id
    assert event_.client_id == episode.client_id
    assert event_.object_id == str(episode.id)


def test_other_workers_episode_is_not_visible_and_the_denial_is_kept(
    user_factory: Any, episode: Episode
) -> None:
    stranger = user_factory(Role.WORKER, team="North team")
    with pytest.raises(NotVisible):
        get_episode(stranger, episode.id)
    db.session.rollback()  # as the request does after a 404
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "access.denied")
    ).one()
    assert denied.actor_id == stranger.id
    assert denied.object_type == "episode"
    assert denied.object_id == str(episode.id)
    assert "episode.view" not in audit_actions()


def test_missing_episode_looks_the_same_as_a_hidden_one(worker: User) -> None:
    with pytest.raises(NotVisible):
        get_episode(worker, 987654)
    db.session.rollback()
    assert audit_actions(action="access.denied", object_id="987654") == ["access.denied"]


def test_supervisor_of_the_workers_team_sees_the_episode(user_factory: Any) -> None:
    supervisor = user_factory(Role.SUPERVISOR, team="East team")
    east_worker = user_factory(Role.WORKER, team="East team")
    episode = register(east_worker)
    db.session.commit()
    assert get_episode(supervisor, episode.id).id == episode.id


def test_supervisor_of_another_team_does_not(user_factory: Any, episode: Episode) -> None:
    other = user_factory(Role.SUPERVISOR, team="South team")
    with pytest.raises(NotVisible):
        get_episode(other, episode.id)
    db.session.rollback()
    assert audit_actions(action="access.denied", actor_id=other.id) == ["access.denied"]


@pytest.mark.parametrize("role", [Role.LEAD, Role.ADMIN])
def test_leads_and_admins_see_no_individual_episode(
    user_factory: Any, episode: Episode, role: Role
) -> None:
    user = user_factory(role)
    with pytest.raises(NotVisible):
        get_episode(user, episode.id)
    db.session.rollback()
    assert audit_actions(action="access.denied", actor_id=user.id) == ["access.denied"]


def test_supervisor_may_see_but_not_change(user_factory: Any) -> None:
    supervisor = user_factory(Role.SUPERVISOR, team="West team")
    west_worker = user_factory(Role.WORKER, team="West team")
    episode = register(west_worker)
    db.session.commit()
    with pytest.raises(NotVisible):
        get_episode(supervisor, episode.id, for_change=True)
    db.session.rollback()
    assert audit_actions(action="access.denied", actor_id=supervisor.id) == ["access.denied"]
    assert get_episode(west_worker, episode.id, for_change=True).id == episode.id


# Optimistic locking -----------------------------------------------------------------


def test_discharge_with_a_stale_version_is_a_conflict(worker: User, episode: Episode) -> None:
    with pytest.raises(Conflict):
        discharge_now(worker, episode, expected_version=episode.version + 1)
    db.session.rollback()
    assert db.session.get(Episode, episode.id).is_open  # type: ignore[union-attr]


def test_discharge_with_the_current_version_bumps_it(worker: User, episode: Episode) -> None:
    seen = episode.version
    discharge_now(worker, episode, expected_version=seen)
    db.session.commit()
    assert episode.version == seen + 1


def test_two_sessions_saving_one_episode_raise_stale_data(app: Any, episode: Episode) -> None:
    episode_id = episode.id
    db.session.commit()
    db.session.close()
    # SQLite takes the write lock at BEGIN, so each session finishes before the next starts.
    with Session(db.engine, expire_on_commit=False) as first:
        stale = first.get(Episode, episode_id)
        assert stale is not None
        first.commit()
        with Session(db.engine) as second:
            fresh = second.get(Episode, episode_id)
            assert fresh is not None
            fresh.discharge_note = "Saved by someone else."
            second.commit()
        stale.discharge_note = "Saved over the top."
        with pytest.raises(StaleDataError):
            first.commit()
        first.rollback()
    db.session.expire_all()
    assert db.session.get(Episode, episode_id).discharge_note == "Saved by someone else."  # type: ignore[union-attr]


# Discharge --------------------------------------------------------------------------


def test_discharge_returns_the_national_outcome(worker: User, episode: Episode) -> None:
    log_scores(worker, episode, [(14, 12), (10, 9), (6, 5)])
    db.session.commit()
    outcome = discharge_now(worker, episode)
    db.session.commit()
    assert outcome.ended
    assert outcome.finished_treatment
    assert outcome.caseness_at_start
    assert outcome.recovered
    assert outcome.reliable_improvement
    assert outcome.reliable_recovery
    assert not outcome.reliable_deterioration
    assert (outcome.first_phq9, outcome.last_phq9, outcome.first_gad7, outcome.last_gad7) == (
        14,
        6,
        12,
        5,
    )
    db.session.expire_all()
    saved = db.session.get(Episode, episode.id)
    assert saved is not None
    assert saved.discharged_on == TODAY
    assert saved.discharge_reason is DischargeReason.COMPLETED
    assert saved.status.value == "discharged"
    assert audit_actions(action="episode.discharge") == ["episode.discharge"]


def test_discharge_after_one_contact_is_not_a_finished_course(
    worker: User, episode: Episode
) -> None:
    log(worker, episode, phq9_total=14, gad7_total=12)
    outcome = discharge_now(worker, episode, reason=DischargeReason.DROPPED_OUT)
    assert not outcome.finished_treatment
    assert not outcome.recovered


@pytest.mark.parametrize(
    ("when", "words"),
    [
        (TODAY + timedelta(days=1), "future"),
        (REFERRAL_DATE - timedelta(days=1), "referral date"),
    ],
)
def test_discharge_date_rules(worker: User, episode: Episode, when: Any, words: str) -> None:
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        discharge_now(worker, episode, discharged_on=when)
    assert words in caught.value.field_errors["discharged_on"]
    db.session.rollback()
    assert row_counts() == before
    assert db.session.get(Episode, episode.id).is_open  # type: ignore[union-attr]


def test_discharge_not_before_the_last_attended_contact(worker: User, episode: Episode) -> None:
    log(worker, episode, NOW - timedelta(days=1), phq9_total=10, gad7_total=8)
    with pytest.raises(ServiceError) as caught:
        discharge_now(worker, episode, discharged_on=TODAY - timedelta(days=2))
    assert "last attended" in caught.value.field_errors["discharged_on"]
    discharge_now(worker, episode, discharged_on=TODAY - timedelta(days=1))


def test_last_attended_contact_is_compared_as_a_london_day(worker: User, episode: Episode) -> None:
    # 23:30 UTC on 31 May is 00:30 on 1 June in London (BST): the contact was on 1 June.
    late = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
    log(worker, episode, late, phq9_total=10, gad7_total=8)
    with pytest.raises(ServiceError) as caught:
        discharge_now(worker, episode, discharged_on=late.date())
    assert "discharged_on" in caught.value.field_errors


def test_outstanding_bookings_block_discharge(worker: User, episode: Episode) -> None:
    log(worker, episode, NOW + timedelta(days=2), attendance=AttendanceCode.BOOKED)
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        discharge_now(worker, episode)
    assert "booked contact" in caught.value.field_errors["booked_contacts"]
    assert "reason" not in caught.value.field_errors
    db.session.rollback()
    assert db.session.get(Episode, episode.id).is_open  # type: ignore[union-attr]


def test_already_discharged_is_refused(worker: User, episode: Episode) -> None:
    discharge_now(worker, episode)
    db.session.commit()
    with pytest.raises(ServiceError, match="already discharged"):
        discharge_now(worker, episode)


# The caseload -----------------------------------------------------------------------


def test_caseload_splits_active_and_waiting_with_red_flags_first(user_factory: Any) -> None:
    worker = user_factory(Role.WORKER, team="North team")
    other = user_factory(Role.WORKER, team="North team")
    waiting = register(worker, details=client_details(name="Wendy Waiting"))
    calm = register(
        worker,
        details=client_details(name="Carl Calm"),
        referral_date=REFERRAL_DATE - timedelta(days=2),
    )
    risky = register(worker, details=client_details(name="Rita Risk"))
    complex_ = register(
        worker,
        details=client_details(name="Cara Complex"),
        complexity_factors=frozenset({ComplexityFactor.DEBT}),
    )
    register(other, details=client_details(name="Not Mine"))
    finished = register(worker, details=client_details(name="Dan Discharged"))
    log(worker, calm, phq9_total=8, gad7_total=6)
    log(worker, complex_, phq9_total=8, gad7_total=6)
    log(worker, risky, phq9=phq9(12, item9=1), gad7=gad7(8), risk_level=RiskLevel.LOW)
    log(worker, finished, phq9_total=8, gad7_total=6)
    discharge_now(worker, finished)
    booked_at = NOW + timedelta(days=3)
    log(worker, waiting, booked_at, attendance=AttendanceCode.BOOKED)
    db.session.commit()

    caseload = worker_caseload(worker, worker=worker, today=TODAY, now=NOW)

    assert [r.episode.id for r in caseload.active] == [risky.id, complex_.id, calm.id]
    assert [r.episode.id for r in caseload.waiting] == [waiting.id]
    assert caseload.active_count == 3
    assert caseload.cap == 45
    # 1 risk case of 3 active is above the 20% share; 3 is well under the cap
    assert {f.kind for f in caseload.worker_flags} == {FlagKind.RISK_SHARE}
    assert caseload.active[0].flags[0].kind is FlagKind.RISK
    assert caseload.active[2].flags == ()
    assert caseload.waiting[0].next_booking == booked_at
    assert not caseload.waiting[0].needs_outcome
    assert all(r.next_booking is None for r in caseload.active)
    db.session.commit()
    assert audit_actions(action="caseload.view") == ["caseload.view"]


def test_past_booking_without_outcome_needs_one(worker: User, episode: Episode) -> None:
    earlier = NOW - timedelta(days=2)
    log(
        worker, episode, earlier + timedelta(hours=1), attendance=AttendanceCode.BOOKED, now=earlier
    )
    db.session.commit()
    [row] = worker_caseload(worker, worker=worker, today=TODAY, now=NOW).waiting
    assert row.needs_outcome
    assert row.next_booking is None  # the only booking is in the past

    [before] = worker_caseload(worker, worker=worker, today=TODAY, now=earlier).waiting
    assert not before.needs_outcome
    assert before.next_booking == earlier + timedelta(hours=1)


def test_worker_over_the_cap_is_flagged(worker: User) -> None:
    for number in range(3):
        episode = register(worker, details=client_details(name=f"Client {number}"))
        log(worker, episode, phq9_total=8, gad7_total=6)
    db.session.commit()
    at_cap = worker_caseload(
        worker, worker=worker, today=TODAY, now=NOW, settings=FlagSettings(caseload_cap=3)
    )
    assert FlagKind.OVER_CAPACITY not in {f.kind for f in at_cap.worker_flags}
    over = worker_caseload(
        worker, worker=worker, today=TODAY, now=NOW, settings=FlagSettings(caseload_cap=2)
    )
    assert over.cap == 2
    assert over.active_count == 3
    assert FlagKind.OVER_CAPACITY in {f.kind for f in over.worker_flags}


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Collect every SQL statement sent on the app's engine inside the block."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def caseload_statements(worker: User, cases: int) -> int:
    """Give the worker ``cases`` more open episodes, then count the caseload's queries."""
    for number in range(cases):
        episode = register(worker, details=client_details(name=f"Client {number}"))
        if number % 2:
            log(worker, episode, phq9_total=8 + number % 5, gad7_total=6)
            log(worker, episode, NOW + timedelta(days=number), attendance=AttendanceCode.BOOKED)
    db.session.commit()
    db.session.expire_all()
    with counting_statements() as statements:
        caseload = worker_caseload(worker, worker=worker, today=TODAY, now=NOW)
    assert len(caseload.active) + len(caseload.waiting) == cases
    db.session.commit()
    return len(statements)


def test_caseload_queries_do_not_grow_with_the_caseload(user_factory: Any) -> None:
    small_worker = user_factory(Role.WORKER, team="North team")
    large_worker = user_factory(Role.WORKER, team="North team")
    small = caseload_statements(small_worker, 3)
    large = caseload_statements(large_worker, 12)
    assert small == large
    # episodes, their measure summaries and complexity factors (selectin), next bookings,
    # the whole caseload's counts, cached curves, the audit event and its listed clients,
    # and the settings revision (one more since issue 10: the flag thresholds are stored
    # settings, and a read checks the revision before trusting the cache)
    assert small <= 9
