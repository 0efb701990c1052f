"""The audit trail's writing rules: clients per event, events that outlive a rollback,
events held back by a read-only request, and append-only rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, User
from caseload.services.audit import (
    hold_events,
    record_event,
    record_event_now,
    release_held_events,
    unsaved_events,
)


def actions() -> list[str]:
    """Every committed event's action but the fixtures' ``user.create``, oldest first.

    Read on a connection of its own, in a deferred transaction so that it reads
    while the session holds SQLite's write lock.
    """
    with db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return list(
            conn.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action != "user.create")
                .order_by(AuditEvent.id)
            )
        )


def clients_of(action: str) -> list[int]:
    """The clients recorded against the event of an action."""
    return sorted(
        db.session.scalars(
            select(AuditEventClient.client_id).join(AuditEvent).where(AuditEvent.action == action)
        )
    )


def test_an_event_lists_every_client_it_concerns_once(worker: User) -> None:
    record_event("caseload.view", actor=worker, client_ids=[7, 3, 7])
    record_event("episode.view", actor=worker, client_id=3)
    record_event("caseload.view.empty", actor=worker, client_ids=[])
    db.session.commit()
    assert clients_of("caseload.view") == [3, 7]
    assert clients_of("episode.view") == [3]
    assert clients_of("caseload.view.empty") == []
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "caseload.view")).one()
    times = set(
        db.session.scalars(
            select(AuditEventClient.at).where(AuditEventClient.audit_event_id == event.id)
        )
    )
    assert times == {event.at}


def test_who_saw_a_client_is_one_query_whether_opened_or_listed(
    worker: User, user_factory: object
) -> None:
    record_event("episode.view", actor=worker, client_id=5)
    record_event("caseload.view", actor=worker, client_ids=[4, 5, 6])
    record_event("caseload.view", actor=worker, client_ids=[4])
    db.session.commit()
    seen = db.session.execute(
        select(AuditEvent.action, AuditEvent.actor_id)
        .join(AuditEventClient)
        .where(AuditEventClient.client_id == 5)
        .order_by(AuditEventClient.at, AuditEvent.id)
    ).all()
    assert [tuple(row) for row in seen] == [
        ("episode.view", worker.id),
        ("caseload.view", worker.id),
    ]


def test_an_event_recorded_now_outlives_the_rollback(worker: User) -> None:
    record_event("episode.view", actor=worker, client_id=1)
    db.session.flush()  # the session now holds a write transaction (on SQLite, the lock)
    record_event_now("access.denied", actor=worker, object_type="episode", object_id=9)
    assert "access.denied" not in actions()  # waits for the session's transaction to end
    db.session.rollback()
    assert actions() == ["access.denied"]


def test_an_event_recorded_now_outside_a_transaction_is_written_at_once(worker: User) -> None:
    db.session.commit()
    record_event_now("access.denied", actor=worker, client_ids=[2])
    assert actions() == ["access.denied"]
    assert clients_of("access.denied") == [2]


def test_held_events_stay_out_of_the_session_until_written(worker: User) -> None:
    db.session.commit()
    hold_events()
    record_event("episode.view", actor=worker, client_id=1)
    assert [e.action for e in unsaved_events()] == ["episode.view"]
    assert not db.session.new
    db.session.commit()
    assert actions() == []
    assert release_held_events() is True
    db.session.commit()
    assert actions() == ["episode.view"]
    assert unsaved_events() == []
    assert release_held_events() is False


def test_a_flushed_event_is_unsaved_until_committed(worker: User) -> None:
    record_event("episode.view", actor=worker)
    db.session.flush()
    assert [e.action for e in unsaved_events()] == ["episode.view"]
    db.session.commit()
    assert unsaved_events() == []


def test_the_orm_refuses_to_change_or_delete_an_event_client(worker: User) -> None:
    record_event("caseload.view", actor=worker, client_ids=[1])
    db.session.commit()
    row = db.session.scalars(select(AuditEventClient)).one()
    row.client_id = 2
    with pytest.raises(PermissionError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(AuditEventClient)).one())
    with pytest.raises(PermissionError, match="append-only"):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event_clients SET client_id = 2",
        "DELETE FROM audit_event_clients",
    ],
)
def test_the_database_refuses_to_change_an_event_client(worker: User, statement: str) -> None:
    record_event("caseload.view", actor=worker, client_ids=[1])
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(sa.text(statement))
