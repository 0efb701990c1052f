"""Server-side sign-in sessions, failed-attempt counters and used form keys.

Both live in the database, not in process memory, so any number of app
servers can run behind one load balancer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, utcnow
from caseload.extensions import db
from caseload.models.users import User


class UserSession(db.Model):  # type: ignore[name-defined]
    """One signed-in browser session; the cookie carries only its random id."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the user last gave their passphrase and code in this session (the sign-in,
    #: or a confirmation since): changes of role and team need it to be recent.
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why it ended: signed out, idle, expired, disabled.
    end_reason: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class AuthFailure(db.Model):  # type: ignore[name-defined]
    """A failed password or code, counted for throttling."""

    __tablename__ = "auth_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The username as typed, lower-cased; the account may not exist.
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class FormSubmission(db.Model):  # type: ignore[name-defined]
    """A form submission that saved, by the idempotency key of the rendered form.

    The key is the primary key: a second submission of the same form (a double click, a
    retry after a timeout, back and resubmit) cannot save again, and is sent where the
    first one was (``location``, the first response's redirect).
    """

    __tablename__ = "form_submissions"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
