"""The append-only audit trail (docs/design.md section 7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from caseload.db import UTCDateTime, utcnow
from caseload.extensions import db


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """Who did what to which record, when and from where. Never edited, never deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Kept as text too, so the trail reads the same after an account is renamed (and
    #: names who tried a failed sign-in); indexed for "what did this user see?".
    actor_username: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Dotted verb, e.g. ``login.success``, ``episode.view``, ``access.denied``.
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: The client whose record was touched, for "who looked at this client" reports.
    client_id: Mapped[int | None] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The ``hash`` of the event before this one in id order (``GENESIS`` for the first):
    #: the link of the hash chain (caseload.services.audit, docs/security.md).
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 (hex) of this event's content, its clients and ``prev_hash``. An edit,
    #: deletion or insertion made behind the application's back breaks the chain there;
    #: None only for a row written outside the application, which the check reports.
    hash: Mapped[str | None] = mapped_column(String(64))

    #: Every client the event concerns, the one it opened or all that a list showed.
    clients: Mapped[list[AuditEventClient]] = relationship(
        back_populates="event",
        cascade="save-update, merge",
        passive_deletes="all",
        lazy="raise_on_sql",
    )


class AuditEventClient(db.Model):  # type: ignore[name-defined]
    """One client an audit event concerns, so that "who saw client X, opened or in a
    list" is one indexed query. Append-only, like the event it belongs to."""

    __tablename__ = "audit_event_clients"
    __table_args__ = (Index("ix_audit_event_clients_client_id_at", "client_id", "at"),)

    audit_event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), primary_key=True)
    #: No foreign key, like ``AuditEvent.client_id``: the trail outlives any record.
    client_id: Mapped[int] = mapped_column(primary_key=True)
    #: The event's time, copied so the index answers "who saw X, when" on its own.
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    event: Mapped[AuditEvent] = relationship(back_populates="clients")


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    """The ORM never updates or deletes an audit row; the database triggers back this up."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent | AuditEventClient) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise PermissionError("the audit trail is append-only")
