"""Writing the audit trail: one event per read or write of a client's record,
per export and per sign-in (docs/design.md section 7).

Events normally join the request's unit of work and are committed with it, once,
by the web layer. Two exceptions, both documented in docs/architecture.md:

- a read-only request holds its events back (``hold_events``) so that its reads
  stay a read transaction; the web layer writes them at the end, in one short
  transaction of their own (``release_held_events``);
- an event that must outlive the request's rollback (a denial, a failed sign-in)
  is written on a connection and transaction of its own (``record_event_now``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import Executable, event, insert
from sqlalchemy.orm import Session, SessionTransaction

from caseload.db import utcnow
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient

#: ``Session.info`` keys: the events a read-only request holds back, the events flushed
#: in the open transaction, and the writes waiting for the session's transaction to end.
HELD_EVENTS = "caseload.audit.held_events"
FLUSHED_EVENTS = "caseload.audit.flushed_events"
INDEPENDENT_WRITES = "caseload.audit.independent_writes"


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
    write_independently(
        insert(AuditEvent).values(**values),
        children=[{"client_id": cid, "at": values["at"]} for cid in clients],
    )


def write_independently(
    statement: Executable, *, children: list[dict[str, Any]] | None = None
) -> None:
    """Run an insert or update on a connection and transaction of its own, kept
    whether the request's transaction commits or rolls back.

    It runs as soon as the session's current transaction ends (at once when none
    is open): on SQLite a second connection cannot write while the session's own
    connection holds the write lock, and waiting for it would deadlock. Rows of
    ``children`` go to ``audit_event_clients`` under the inserted event's id.
    """
    session = db.session()
    session.info.setdefault(INDEPENDENT_WRITES, []).append((statement, children or []))
    if not session.in_transaction():
        _run_independent_writes(session)


def _run_independent_writes(session: Session) -> None:
    """Run the session's waiting independent writes, each in its own transaction."""
    pending = session.info.pop(INDEPENDENT_WRITES, None) or []
    engine = session.get_bind(AuditEvent).engine
    for statement, children in pending:
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            result = conn.execute(statement)
            if children:
                (event_id,) = result.inserted_primary_key or (None,)
                conn.execute(
                    insert(AuditEventClient),
                    [{"audit_event_id": event_id, **row} for row in children],
                )


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
