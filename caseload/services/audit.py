"""Writing the audit trail: one event per read or write of a client's record,
per export and per sign-in (docs/design.md section 7).

Events normally join the request's unit of work and are committed with it, once,
by the web layer. Two exceptions, both documented in docs/architecture.md:

- a read-only request holds its events back (``hold_events``) so that its reads
  stay a read transaction; the web layer writes them at the end, in one short
  transaction of their own (``release_held_events``);
- an event that must outlive the request's rollback (a denial, a failed sign-in)
  is written on a connection and transaction of its own (``record_event_now``).

Every event, whichever way it is written, is linked into a hash chain as it is
inserted: it stores the previous event's hash (``prev_hash``) and the SHA-256 of its
own content and that link (``hash``), so that an edit, deletion or insertion made
behind the application's back is found by ``verify_chain`` (``flask verify-audit``).
Appending is serial: on PostgreSQL the inserting transaction takes an advisory lock
before it reads the last link; SQLite's writers are serial already (``BEGIN
IMMEDIATE``). That costs one query per transaction that writes events (two on
PostgreSQL), not one per event.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import Connection, Engine, Executable, Insert, event, func, insert, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from caseload.db import utcnow
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient

#: ``Session.info`` keys: the events a read-only request holds back, the events flushed
#: in the open transaction, and the writes waiting for the session's transaction to end.
HELD_EVENTS = "caseload.audit.held_events"
FLUSHED_EVENTS = "caseload.audit.flushed_events"
INDEPENDENT_WRITES = "caseload.audit.independent_writes"

#: The ``prev_hash`` of the first event of the chain.
GENESIS = "0" * 64

#: The columns an event's hash covers, besides its clients and its ``prev_hash``.
CHAINED_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "client_id",
    "ip",
    "request_id",
    "detail",
)

#: The PostgreSQL advisory lock a transaction holds while it appends to the chain
#: ("caseload" in ASCII); nothing else in the application uses it.
CHAIN_LOCK = 0x636173656C6F6164

#: A write run on a connection and transaction of its own.
IndependentWrite = Callable[[Connection], None]


def client_ip() -> str | None:
    """The caller's address as the WSGI server saw it (behind a proxy, configure ProxyFix)."""
    return request.remote_addr if has_request_context() else None


def _event_values(
    action: str,
    *,
    actor: Any = None,
    actor_username: str | None = None,
    object_type: str | None = None,
    object_id: object = None,
    client_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one audit event, with the request's address and id."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return {
        "at": utcnow(),
        "action": action,
        "actor_id": actor.id if actor is not None else None,
        "actor_username": actor.username if actor is not None else actor_username,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "client_id": client_id,
        "ip": client_ip(),
        "request_id": g.get("request_id") if has_request_context() else None,
        "detail": detail,
    }


def _client_set(client_id: int | None, client_ids: Iterable[int] | None) -> list[int]:
    """Every client an event concerns, once each, in a stable order."""
    ids = set(client_ids or ())
    if client_id is not None:
        ids.add(client_id)
    return sorted(ids)


def record_event(
    action: str,
    *,
    actor: Any = None,
    actor_username: str | None = None,
    object_type: str | None = None,
    object_id: object = None,
    client_id: int | None = None,
    client_ids: Iterable[int] | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the request's unit of work (committed with the request).

    ``client_id`` is the client a page opened; ``client_ids`` the clients a list
    showed. Each becomes a row of ``audit_event_clients``, so "who saw client X"
    is one query either way.
    """
    values = _event_values(
        action,
        actor=actor,
        actor_username=actor_username,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        detail=detail,
    )
    audit_event = AuditEvent(**values)
    audit_event.clients = [
        AuditEventClient(client_id=cid, at=values["at"])
        for cid in _client_set(client_id, client_ids)
    ]
    held = db.session.info.get(HELD_EVENTS)
    if held is not None:
        held.append(audit_event)
    else:
        db.session.add(audit_event)
    return audit_event


def hold_events() -> None:
    """Hold the session's events back until its reads are over (a read-only request).

    Added to the session, an event would be flushed into the read transaction by
    the next query, turning it into a write transaction for the rest of the
    request; on SQLite that holds the write lock, or fails when the read
    snapshot is stale.
    """
    db.session.info[HELD_EVENTS] = []


def held_events() -> list[AuditEvent]:
    """The events held back and not yet written."""
    return list(db.session.info.get(HELD_EVENTS) or [])


def release_held_events() -> bool:
    """Add the held events to the session, for the web layer to commit after the
    request's reads are over; whether there were any. Events recorded after this
    join the session directly."""
    held = db.session.info.pop(HELD_EVENTS, None)
    if not held:
        return False
    db.session.add_all(held)
    return True


def drop_held_events() -> None:
    """Forget the held events of a request that failed."""
    db.session.info.pop(HELD_EVENTS, None)


def unsaved_events() -> list[AuditEvent]:
    """Events recorded but not committed: held back, pending, or flushed in the open
    transaction. At the end of a request there must be none."""
    session = db.session()
    return [
        *held_events(),
        *(obj for obj in session.new if isinstance(obj, AuditEvent)),
        *session.info.get(FLUSHED_EVENTS, ()),
    ]


def record_event_now(action: str, **kwargs: Any) -> None:
    """Record an event that must outlive the request's rollback (denials, failed
    sign-ins), on a connection and transaction of its own.

    Takes the same arguments as ``record_event``.
    """
    client_ids = kwargs.pop("client_ids", None)
    values = _event_values(action, **kwargs)
    clients = _client_set(values["client_id"], client_ids)
    _queue_independent_write(partial(_append_event, values=values, client_ids=clients))


def write_independently(
    statement: Executable, *, children: list[dict[str, Any]] | None = None
) -> None:
    """Run an insert or update on a connection and transaction of its own, kept
    whether the request's transaction commits or rolls back.

    It runs as soon as the session's current transaction ends (at once when none
    is open): on SQLite a second connection cannot write while the session's own
    connection holds the write lock, and waiting for it would deadlock. An insert
    into ``audit_events`` is linked into the chain like any event, and the rows of
    ``children`` go to ``audit_event_clients`` under its id.
    """
    if isinstance(statement, Insert) and statement.table.name == AuditEvent.__tablename__:
        values = dict(statement.compile().params)
        clients = sorted({row["client_id"] for row in children or ()})
        _queue_independent_write(partial(_append_event, values=values, client_ids=clients))
    else:
        _queue_independent_write(partial(_execute, statement))


def _execute(statement: Executable, connection: Connection) -> None:
    connection.execute(statement)


def _queue_independent_write(write: IndependentWrite) -> None:
    """Run a write once the session's transaction has ended (at once when none is open)."""
    session = db.session()
    session.info.setdefault(INDEPENDENT_WRITES, []).append(write)
    if not session.in_transaction():
        _run_independent_writes(session)


def _run_independent_writes(session: Session) -> None:
    """Run the session's waiting independent writes, each in its own transaction."""
    pending: list[IndependentWrite] = session.info.pop(INDEPENDENT_WRITES, None) or []
    engine = session.get_bind(AuditEvent).engine
    for write in pending:
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            write(conn)


# The hash chain ----------------------------------------------------------------------


def iso_utc(moment: datetime) -> str:
    """A time as the chain writes it: ISO 8601 in UTC with microseconds (naive is UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def event_hash(content: Mapping[str, Any], client_ids: Iterable[int], prev_hash: str | None) -> str:
    """The hash of one event: hex SHA-256 of its canonical serialisation.

    Canonical: a JSON object of the ``CHAINED_COLUMNS`` (the time as ``iso_utc``,
    ``detail`` as stored, its keys sorted at every level), the sorted client ids and
    the previous event's hash, with sorted keys, no spaces and ASCII only. Changing
    it breaks every existing chain: migration 0009 keeps a copy frozen as it was.
    """
    record = {name: content.get(name) for name in CHAINED_COLUMNS}
    record["at"] = iso_utc(content["at"])
    record["clients"] = sorted(client_ids)
    record["prev_hash"] = prev_hash
    text = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _chain_head(connection: Connection) -> tuple[int, str | None]:
    """Take the chain for this transaction and read its last link: (last id, its hash).

    On PostgreSQL the advisory lock, held to the end of the transaction, keeps a
    concurrent transaction from reading the same last link (it waits here); its own
    statement, so the read that follows sees every chain committed before the lock
    was granted. On SQLite the writer already holds the database's write lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))
    last = connection.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (0, GENESIS) if last is None else (last.id, last.hash)


def _append_event(connection: Connection, *, values: dict[str, Any], client_ids: list[int]) -> None:
    """Insert one event (and its clients) at the end of the chain, on this connection."""
    last_id, prev_hash = _chain_head(connection)
    row = {**values, "id": last_id + 1, "prev_hash": prev_hash}
    row["hash"] = event_hash(row, client_ids, prev_hash)
    connection.execute(insert(AuditEvent).values(**row))
    if client_ids:
        connection.execute(
            insert(AuditEventClient),
            [
                {"audit_event_id": row["id"], "client_id": cid, "at": row["at"]}
                for cid in client_ids
            ],
        )


def _recorded_order(audit_event: AuditEvent) -> int:
    """The order events were added to the session in."""
    return inspect(audit_event).insert_order or 0


@event.listens_for(Session, "before_flush")
def _chain_new_events(session: Session, _context: Any, _instances: Any) -> None:
    """Link the events this flush inserts into the chain, in the order they were
    recorded: each gets the next id, the previous event's hash and its own."""
    new = sorted((obj for obj in session.new if isinstance(obj, AuditEvent)), key=_recorded_order)
    if not new:
        return
    last_id, prev_hash = _chain_head(session.connection(bind_arguments={"mapper": AuditEvent}))
    for offset, audit_event in enumerate(new, start=1):
        audit_event.id = last_id + offset
        if audit_event.at is None:
            audit_event.at = utcnow()
        for row in audit_event.clients:
            if row.at is None:
                row.at = audit_event.at
        content = {name: getattr(audit_event, name) for name in CHAINED_COLUMNS}
        audit_event.prev_hash = prev_hash
        audit_event.hash = prev_hash = event_hash(
            content, (row.client_id for row in audit_event.clients), prev_hash
        )


@event.listens_for(Session, "before_commit")
def _append_events_last(session: Session) -> None:
    """Flush a transaction's other changes before its new events.

    The chain's lock (PostgreSQL) is then taken by the commit's last flush and held
    only until the commit: a transaction holding it never goes on to wait for a row
    that another transaction has locked, which might be waiting for the chain.
    """
    if session.in_nested_transaction():
        return
    events = sorted(
        (obj for obj in session.new if isinstance(obj, AuditEvent)), key=_recorded_order
    )
    if not events:
        return
    others = any(not isinstance(obj, AuditEvent | AuditEventClient) for obj in session.new)
    if not (others or session.dirty or session.deleted):
        return
    for obj in [*(row for e in events for row in e.clients), *events]:
        session.expunge(obj)
    try:
        session.flush()
    finally:
        session.add_all(events)


@dataclass(frozen=True)
class ChainBreak:
    """The first event at which the chain does not hold, and what is wrong there."""

    event_id: int
    problem: str


@dataclass(frozen=True)
class ChainCheck:
    """The result of walking the chain."""

    #: Events found intact, in id order, before the break (all of them when intact).
    events: int
    #: The last intact event: its id and hash, worth recording outside the database
    #: (with the backup) as an anchor for a later check.
    last_id: int | None
    last_hash: str | None
    broken: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        """Whether every event links to the one before and matches its own hash."""
        return self.broken is None


def verify_chain(
    engine: Engine | None = None, *, anchor: tuple[int, str] | None = None, batch: int = 1000
) -> ChainCheck:
    """Walk the audit trail in id order and check every link; stop at the first break.

    Each event must link to the hash of the event before it (``GENESIS`` for the
    first) and match the hash of its own content: an UPDATE shows as a content that
    no longer matches, a DELETE as the next event linking to a missing one, an
    inserted row as one without a hash or with a wrong one. ``anchor`` (an event id
    and the hash recorded for it earlier) also catches a chain rewritten from that
    event on, or cut short before it. Streams the rows: constant memory, one query.
    """
    engine = engine or db.engine
    query = (
        select(
            *(AuditEvent.__table__.c[name] for name in CHAINED_COLUMNS),
            AuditEvent.prev_hash,
            AuditEvent.hash,
            AuditEventClient.client_id.label("listed_client_id"),
        )
        .outerjoin(AuditEventClient, AuditEventClient.audit_event_id == AuditEvent.id)
        .order_by(AuditEvent.id, AuditEventClient.client_id)
    )
    count, last_id, expected = 0, None, GENESIS
    with engine.connect().execution_options(sqlite_begin="DEFERRED", yield_per=batch) as conn:
        rows = conn.execute(query)
        try:
            for event_id, group in itertools.groupby(rows, key=lambda row: row.id):
                listed = list(group)
                first = listed[0]
                problem = _link_problem(first, listed, expected, last_id, anchor)
                if problem is not None:
                    return ChainCheck(count, last_id, expected, ChainBreak(event_id, problem))
                count, last_id, expected = count + 1, event_id, first.hash
        finally:
            rows.close()  # a server-side cursor left open at a break
    if anchor is not None and (last_id is None or last_id < anchor[0]):
        problem = "is missing: events were deleted from the end of the trail"
        return ChainCheck(count, last_id, expected, ChainBreak(anchor[0], problem))
    return ChainCheck(count, last_id, None if last_id is None else expected)


def _link_problem(
    row: Any,
    listed: list[Any],
    expected: str | None,
    previous_id: int | None,
    anchor: tuple[int, str] | None,
) -> str | None:
    """What is wrong with one event's link and content, or None."""
    if row.hash is None:
        return "has no hash: it was written outside the application"
    if row.prev_hash != expected:
        if previous_id is None:
            return "does not start the chain: events before it were deleted"
        return (
            f"does not link to event {previous_id}: an event between them was deleted, "
            f"or event {previous_id} was replaced"
        )
    client_ids = [r.listed_client_id for r in listed if r.listed_client_id is not None]
    if event_hash(row._mapping, client_ids, row.prev_hash) != row.hash:
        return "does not match its hash: it was changed after it was written"
    if anchor is not None and row.id == anchor[0] and row.hash != anchor[1]:
        return "does not match the hash recorded for it: the chain was rewritten"
    return None


@event.listens_for(Session, "after_flush")
def _note_flushed_events(session: Session, _context: Any) -> None:
    """Remember the events written in the open transaction, until it ends."""
    flushed = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if flushed:
        session.info.setdefault(FLUSHED_EVENTS, []).extend(flushed)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Once the session's outermost transaction has ended (committed or rolled back),
    its connection is back in the pool and holds no lock: run the writes that were
    waiting for it."""
    if transaction.parent is not None:
        return
    session.info.pop(FLUSHED_EVENTS, None)
    if session.info.get(INDEPENDENT_WRITES):
        _run_independent_writes(session)
