"""A signed-in user's own account: passphrase, sessions, recent sign-ins.

Every function here acts on the asker's own account only; there is no one else's
record to reach, so nothing here needs a policy clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from caseload.db import utcnow
from caseload.domain.wording import plural, was_were
from caseload.extensions import db
from caseload.models import AuditEvent, User, UserSession
from caseload.services import ServiceError
from caseload.services.audit import record_event
from caseload.services.auth import (
    is_throttled,
    record_failure,
    release_request_lock,
)
from caseload.services.passwords import hash_password, passphrase_problems, verify_password
from caseload.services.settings import service_settings

#: How many sign-ins the account page lists.
RECENT_SIGN_INS = 20

#: The audit actions that are sign-ins.
SIGN_IN_ACTIONS = ("login.success", "login.failure")

WRONG_CURRENT = "That is not your current passphrase."  # noqa: S105
SAME_AS_CURRENT = "Choose a new passphrase, not your current one."  # noqa: S105
NOT_THE_SAME = "The two new passphrases are not the same."  # noqa: S105
TOO_MANY = "Too many wrong passphrases. Wait 15 minutes, then try again."
SESSION_GONE = "That session has already ended."


# Changing the passphrase ---------------------------------------------------------------


@dataclass(frozen=True)
class PassphraseChange:
    """A checked request to change a passphrase: the problems to show, or the new hash.

    Made by ``prepare_passphrase_change`` outside the request's write transaction (the
    hashing takes about 200 ms each way); applied by ``change_passphrase``.
    """

    field_errors: dict[str, str]
    new_hash: str | None = None


def prepare_passphrase_change(
    user: User, *, current: str, password: str, confirmation: str
) -> PassphraseChange:
    """Check the current passphrase and the new one, and hash the new one.

    The request's transaction is ended first, so neither hash holds a lock another
    request waits for (as at sign-in). A wrong current passphrase counts towards the
    sign-in throttle (per account and address) and is audited as ``login.failure``; a
    throttled account is refused before any check.
    """
    stored, username, display_name = user.password_hash, user.username, user.display_name
    if is_throttled(username):
        return PassphraseChange({"current": TOO_MANY})
    release_request_lock()
    if not verify_password(stored, current):
        record_failure(username, reason="change passphrase")
        return PassphraseChange({"current": WRONG_CURRENT})
    problems = passphrase_problems(password, username=username, display_name=display_name)
    if problems:
        return PassphraseChange({"password": problems[0]})
    if password == current:
        return PassphraseChange({"password": SAME_AS_CURRENT})
    if password != confirmation:
        return PassphraseChange({"confirmation": NOT_THE_SAME})
    return PassphraseChange({}, new_hash=hash_password(password))


def change_passphrase(user: User, change: PassphraseChange | None) -> int:
    """Apply a prepared change: the new passphrase, and every other session of the user
    ended (a stolen session does not outlive the change). Returns how many sessions were
    ended. Audited as ``user.password_change``. Refused with the prepared problems."""
    if change is None or change.field_errors or change.new_hash is None:
        errors = change.field_errors if change else {"current": WRONG_CURRENT}
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    user.password_hash = change.new_hash
    user.password_changed_at = utcnow()
    user.must_change_password = False
    ended = _end_others(user, reason="passphrase changed")
    record_event(
        "user.password_change",
        actor=user,
        object_type="user",
        object_id=user.id,
        detail={"first_sign_in": False, "sessions_ended": ended},
    )
    return ended


# Sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    """One of the user's live sessions, as the account page lists it."""

    id: str
    started: datetime
    last_seen: datetime
    ip: str | None
    current: bool


def _live_sessions(user: User, *, now: datetime) -> list[UserSession]:
    settings = service_settings()
    return list(
        db.session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.created_at > now - timedelta(hours=settings.session_absolute_hours),
                UserSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())
        )
    )


def active_sessions(user: User, *, now: datetime | None = None) -> list[SessionRow]:
    """The user's sessions still in force (not ended, idle or expired), latest first."""
    return [
        SessionRow(
            id=s.id,
            started=s.created_at,
            last_seen=s.last_seen_at,
            ip=s.ip,
            current=s.id == user.auth_session_id,
        )
        for s in _live_sessions(user, now=now or utcnow())
    ]


def _end_others(user: User, *, reason: str) -> int:
    ended = 0
    now = utcnow()
    for session in db.session.scalars(
        select(UserSession).where(
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
            UserSession.id != (user.auth_session_id or ""),
        )
    ):
        session.ended_at = now
        session.end_reason = reason
        ended += 1
    return ended


def end_other_sessions(user: User) -> int:
    """End every session of the user but this one; how many. Audited as
    ``session.end_others``."""
    ended = _end_others(user, reason="ended by user")
    record_event(
        "session.end_others",
        actor=user,
        object_type="user",
        object_id=user.id,
        detail={"sessions_ended": ended},
    )
    return ended


def end_own_session(user: User, session_id: str) -> None:
    """End one of the user's other sessions. Someone else's session, an unknown one,
    one already ended and the current one (sign out instead) are all refused alike.
    Audited as ``session.end``."""
    session = db.session.get(UserSession, session_id) if session_id else None
    if (
        session is None
        or session.user_id != user.id
        or session.ended_at is not None
        or session.id == user.auth_session_id
    ):
        raise ServiceError(SESSION_GONE)
    session.ended_at = utcnow()
    session.end_reason = "ended by user"
    record_event("session.end", actor=user, object_type="user", object_id=user.id)


# Sign-ins --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """A sign-in, successful or not, from the audit trail."""

    at: datetime
    succeeded: bool
    ip: str | None
    reason: str | None


def recent_sign_ins(user: User, *, limit: int = RECENT_SIGN_INS) -> list[SignIn]:
    """The user's latest sign-ins and failed attempts (by username), newest first."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action.in_(SIGN_IN_ACTIONS),
            AuditEvent.actor_username == user.username,
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        SignIn(
            at=e.at,
            succeeded=e.action == "login.success",
            ip=e.ip,
            reason=(e.detail or {}).get("reason") if e.action == "login.failure" else None,
        )
        for e in events
    ]


def failures_since_last_sign_in(user: User) -> int:
    """Failed attempts on the user's name since their last successful sign-in (all of
    them when there is none). Call it before the new sign-in is recorded."""
    last = (
        select(func.max(AuditEvent.at))
        .where(AuditEvent.action == "login.success", AuditEvent.actor_username == user.username)
        .scalar_subquery()
    )
    return (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "login.failure",
                AuditEvent.actor_username == user.username,
                (AuditEvent.at > last) | last.is_(None),
            )
        )
        or 0
    )


def failed_attempts_message(count: int) -> str | None:
    """What to tell a user at sign-in about failed attempts on their name, if any."""
    if count <= 0:
        return None
    return (
        f"There {was_were(count)} {plural(count, 'failed sign-in attempt')} on your "
        "account since you last signed in. If it was not you, tell your service "
        "administrator and see Your account."
    )
