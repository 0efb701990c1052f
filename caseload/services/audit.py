"""Writing the audit trail: one event per read or write of a client's record,
per export and per sign-in (DESIGN.md section 7)."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request

from caseload.extensions import db
from caseload.models import AuditEvent


def client_ip() -> str | None:
    """The caller's address as the WSGI server saw it (behind a proxy, configure ProxyFix)."""
    return request.remote_addr if has_request_context() else None


def record_event(
    action: str,
    *,
    actor: Any = None,
    actor_username: str | None = None,
    object_type: str | None = None,
    object_id: object = None,
    client_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the current transaction."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_username=actor.username if actor is not None else actor_username,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        client_id=client_id,
        ip=client_ip(),
        request_id=g.get("request_id") if has_request_context() else None,
        detail=detail,
    )
    db.session.add(event)
    return event


def record_event_now(action: str, **kwargs: Any) -> None:
    """Record an event in its own transaction, for requests that will not commit.

    Used for denials and failed sign-ins, where the request's own work is
    rolled back but the event must still be kept.
    """
    db.session.rollback()
    record_event(action, **kwargs)
    db.session.commit()
