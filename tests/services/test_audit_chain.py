"""The audit trail's hash chain: every way of writing an event links it in, appending is
serial, and an UPDATE, a DELETE or an inserted row made with raw SQL is found."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event, insert, select

from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, User
from caseload.services.audit import (
    GENESIS,
    event_hash,
    hold_events,
    record_event,
    record_event_now,
    release_held_events,
    verify_chain,
    write_independently,
)
from tests.conftest import make_user

#: How long a test waits for its threads before calling the run broken.
PATIENCE_SECONDS = 30


def stored_events() -> list[AuditEvent]:
    """Every committed event in id order, with its clients."""
    db.session.commit()
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def clients_of(event_id: int) -> list[int]:
    return sorted(
        db.session.scalars(
            select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event_id)
        )
    )


def test_every_way_of_writing_an_event_links_it_into_the_chain(worker: User) -> None:
    record_event("episode.view", actor=worker, client_id=3, detail={"b": 2, "a": [1, "x"]})
    record_event("caseload.view", actor=worker, client_ids=[9, 4])
    db.session.commit()
    hold_events()  # a read-only request: held back, then written at its end
    record_event("diary.view", actor=worker, client_ids=[4])
    db.session.commit()
    assert release_held_events()
    db.session.commit()
    record_event_now("access.denied", actor=worker, object_type="episode", object_id=7)
    write_independently(
        insert(AuditEvent).values(at=utcnow(), action="login.failure", actor_username="x"),
        children=[{"client_id": 5, "at": utcnow()}],
    )

    events = stored_events()
    actions = [e.action for e in events if e.action != "user.create"]
    assert actions == [
        "episode.view",
        "caseload.view",
        "diary.view",
        "access.denied",
        "login.failure",
    ]
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    previous = GENESIS
    for audit_event in events:
        assert audit_event.prev_hash == previous
        content = {name: getattr(audit_event, name) for name in ("id", "at", "action")}
        content |= {
            name: getattr(audit_event, name)
            for name in (
                "actor_id",
                "actor_username",
                "object_type",
                "object_id",
                "client_id",
                "ip",
                "request_id",
                "detail",
            )
        }
        assert audit_event.hash == event_hash(content, clients_of(audit_event.id), previous)
        previous = audit_event.hash
    check = verify_chain()
    assert check.intact
    assert (check.events, check.last_id, check.last_hash) == (len(events), events[-1].id, previous)


def test_the_hash_covers_the_clients_and_the_link() -> None:
    at = utcnow()
    content = {"id": 1, "at": at, "action": "caseload.view", "detail": {"x": 1}}
    base = event_hash(content, [1, 2], GENESIS)
    assert base == event_hash(content, [2, 1], GENESIS)  # a set of clients, in any order
    assert base != event_hash(content, [1], GENESIS)
    assert base != event_hash(content, [1, 2], "1" * 64)
    assert base != event_hash({**content, "detail": {"x": 2}}, [1, 2], GENESIS)
    assert len(base) == 64
    assert int(base, 16) >= 0


def test_a_rolled_back_savepoint_leaves_no_gap_in_the_chain(worker: User) -> None:
    record_event("episode.view", actor=worker, client_id=1)
    savepoint = db.session.begin_nested()  # a save that will be refused
    record_event("contact.create", actor=worker, client_id=1)
    db.session.flush()
    savepoint.rollback()
    record_event("episode.view", actor=worker, client_id=2)
    db.session.commit()
    assert [e.action for e in stored_events()][-2:] == ["episode.view", "episode.view"]
    assert verify_chain().intact


def test_events_are_appended_after_the_transactions_other_writes(
    app: Flask, worker: User, user_factory: Any
) -> None:
    """The chain is read and its lock (PostgreSQL) taken by the commit's last flush, and
    read once per transaction however many events it writes."""
    db.session.commit()
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    for number in range(3):
        record_event("caseload.view", actor=worker, client_ids=[number, number + 10])
    worker.display_name = "Renamed Worker"  # another write in the same transaction
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    update = next(i for i, s in enumerate(statements) if s.startswith("UPDATE users"))
    head = [i for i, s in enumerate(statements) if s.startswith("SELECT audit_events.id")]
    inserts = [i for i, s in enumerate(statements) if s.startswith("INSERT INTO audit_events")]
    assert len(head) == 1
    assert update < head[0] < inserts[0]
    locks = [s for s in statements if "pg_advisory_xact_lock" in s]
    assert len(locks) == (1 if db.engine.dialect.name == "postgresql" else 0)
    assert verify_chain().intact
    # Still in the order they were recorded.
    written = [e for e in stored_events() if e.action == "caseload.view"]
    assert [clients_of(e.id) for e in written] == [[0, 10], [1, 11], [2, 12]]


def test_concurrent_writers_never_chain_to_the_same_event(app: Flask) -> None:
    users = [make_user(Role.WORKER) for _ in range(4)]
    user_ids = [u.id for u in users]
    start = threading.Barrier(len(user_ids))
    failures: list[BaseException] = []

    def write(user_id: int) -> None:
        try:
            with app.app_context():
                user = db.session.get(User, user_id)
                db.session.commit()  # no lock held while the others start
                start.wait(PATIENCE_SECONDS)
                for number in range(10):
                    record_event("episode.view", actor=user, client_id=number)
                    db.session.commit()
                    record_event_now("access.denied", actor=user, object_id=number)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            failures.append(error)

    db.session.commit()
    threads = [threading.Thread(target=write, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)
    assert failures == []
    check = verify_chain(batch=7)
    assert check.intact, check.broken
    assert check.events == len(stored_events()) == len(user_ids) * (1 + 20)
    assert len({e.prev_hash for e in stored_events()}) == check.events


# Tampering: what someone with access to the database might do --------------------------

GUARDS = {
    "sqlite": {
        "drop": [
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
            "DROP TRIGGER audit_event_clients_no_update",
            "DROP TRIGGER audit_event_clients_no_delete",
        ],
        "create": [
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
            for table in ("audit_events", "audit_event_clients")
            for verb in ("UPDATE", "DELETE")
        ],
    },
    "postgresql": {
        "drop": [
            "DROP TRIGGER audit_events_append_only ON audit_events",
            "DROP TRIGGER audit_event_clients_append_only ON audit_event_clients",
        ],
        "create": [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()"
            for table in ("audit_events", "audit_event_clients")
        ],
    },
}


@pytest.fixture
def unguarded(app: Flask) -> Iterator[None]:
    """The append-only triggers dropped, as an attacker with database access would;
    created again afterwards (on PostgreSQL the schema outlives the test)."""
    guards = GUARDS[db.engine.dialect.name]
    db.session.commit()
    with db.engine.begin() as conn:
        for statement in guards["drop"]:
            conn.execute(sa.text(statement))
    yield
    db.session.remove()
    with db.engine.begin() as conn:
        for statement in guards["create"]:
            conn.execute(sa.text(statement))


@pytest.fixture
def five_events(worker: User) -> list[int]:
    """Five chained events after the fixture's own; their ids."""
    for number in range(5):
        record_event("episode.view", actor=worker, client_id=100 + number)
    db.session.commit()
    ids = [e.id for e in stored_events()][-5:]
    assert verify_chain().intact
    return ids


def tamper(statement: str, **params: Any) -> None:
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


@pytest.mark.usefixtures("unguarded")
def test_an_updated_event_is_found(five_events: list[int]) -> None:
    target = five_events[2]
    tamper("UPDATE audit_events SET actor_username = 'someone.else' WHERE id = :id", id=target)
    check = verify_chain()
    assert check.broken is not None
    assert check.broken.event_id == target
    assert "changed after it was written" in check.broken.problem
    assert check.last_id == target - 1


@pytest.mark.usefixtures("unguarded")
def test_a_client_taken_off_an_event_is_found(five_events: list[int]) -> None:
    target = five_events[1]
    tamper("DELETE FROM audit_event_clients WHERE audit_event_id = :id", id=target)
    check = verify_chain()
    assert check.broken is not None
    assert check.broken.event_id == target


@pytest.mark.usefixtures("unguarded")
def test_a_deleted_event_is_found(five_events: list[int]) -> None:
    target = five_events[2]
    tamper("DELETE FROM audit_event_clients WHERE audit_event_id = :id", id=target)
    tamper("DELETE FROM audit_events WHERE id = :id", id=target)
    check = verify_chain()
    assert check.broken is not None
    assert check.broken.event_id == five_events[3]
    assert f"does not link to event {five_events[1]}" in check.broken.problem


@pytest.mark.usefixtures("unguarded")
def test_a_deleted_first_event_is_found(five_events: list[int]) -> None:
    first = stored_events()[0].id
    tamper("DELETE FROM audit_events WHERE id = :id", id=first)
    check = verify_chain()
    assert check.broken is not None
    assert "does not start the chain" in check.broken.problem


@pytest.mark.parametrize("forged", ["no hash", "a made-up hash"])
def test_an_inserted_event_is_found(five_events: list[int], forged: str) -> None:
    """A row added behind the application's back, linked to the last one as the chain
    expects; no trigger needs dropping to insert."""
    last = stored_events()[-1]
    tamper(
        "INSERT INTO audit_events (id, at, action, actor_username, prev_hash, hash) "
        "VALUES (:id, :at, 'episode.view', 'intruder', :prev, :hash)",
        id=last.id + 1,
        at=utcnow().replace(tzinfo=None),
        prev=last.hash,
        hash=None if forged == "no hash" else "ab" * 32,
    )
    check = verify_chain()
    assert check.broken is not None
    assert check.broken.event_id == last.id + 1
    assert check.events == len(stored_events()) - 1


@pytest.mark.usefixtures("unguarded")
def test_a_rewritten_chain_is_found_from_an_anchor(five_events: list[int]) -> None:
    """Whoever can write the database can also recompute every later hash; an anchor
    recorded outside the database (the last event's id and hash) catches that."""
    before = verify_chain()
    assert before.last_id is not None
    assert before.last_hash is not None
    anchor = (before.last_id, before.last_hash)
    tamper("UPDATE audit_events SET actor_username = 'x' WHERE id = :id", id=five_events[0])
    previous = stored_events()[five_events[0] - 2].hash
    for audit_event in stored_events()[five_events[0] - 1 :]:
        content = {c.key: getattr(audit_event, c.key) for c in AuditEvent.__table__.columns}
        new = event_hash(content, clients_of(audit_event.id), previous)
        tamper(
            "UPDATE audit_events SET prev_hash = :prev, hash = :hash WHERE id = :id",
            prev=previous,
            hash=new,
            id=audit_event.id,
        )
        previous = new
    assert verify_chain().intact  # the rewrite holds together on its own
    check = verify_chain(anchor=anchor)
    assert check.broken is not None
    assert check.broken.event_id == anchor[0]
    assert "rewritten" in check.broken.problem


@pytest.mark.usefixtures("unguarded")
def test_events_cut_from_the_end_are_found_from_an_anchor(five_events: list[int]) -> None:
    before = verify_chain()
    assert before.last_id is not None
    assert before.last_hash is not None
    tamper("DELETE FROM audit_event_clients WHERE audit_event_id = :id", id=five_events[-1])
    tamper("DELETE FROM audit_events WHERE id = :id", id=five_events[-1])
    assert verify_chain().intact
    check = verify_chain(anchor=(before.last_id, before.last_hash))
    assert check.broken is not None
    assert "deleted from the end" in check.broken.problem


# The command --------------------------------------------------------------------------


def test_verify_audit_reports_an_intact_trail(app: Flask, five_events: list[int]) -> None:
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    count = len(stored_events())
    assert f"Audit trail intact: {count} events." in result.output
    last = stored_events()[-1]
    assert f"{last.id}:{last.hash}" in result.output
    again = app.test_cli_runner().invoke(
        args=["verify-audit", "--anchor", f"{last.id}:{last.hash}"]
    )
    assert again.exit_code == 0, again.output
    wrong = app.test_cli_runner().invoke(args=["verify-audit", "--anchor", "banana"])
    assert wrong.exit_code != 0
    assert "ID:HASH" in wrong.output


@pytest.mark.usefixtures("unguarded")
def test_verify_audit_reports_the_first_broken_link(app: Flask, five_events: list[int]) -> None:
    tamper("UPDATE audit_events SET action = 'nothing.here' WHERE id = :id", id=five_events[1])
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code != 0
    assert f"Audit trail broken at event {five_events[1]}" in result.output
    assert "changed after it was written" in result.output
