"""Signing in and out: passwords, TOTP, throttling and server-side sessions."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pyotp
import segno
from flask import current_app
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    ScalarSelect,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm.attributes import set_committed_value

from caseload.db import sqlite_begin, utcnow
from caseload.extensions import db
from caseload.models import AuthFailure, User, UserSession
from caseload.services import ServiceError
from caseload.services.audit import client_ip, record_event, record_event_now, write_independently
from caseload.services.passwords import (
    burn_verification_time,
    hash_password,
    passphrase_problems,
    verify_password,
)
from caseload.services.settings import service_settings

TOTP_ISSUER = "caseload"
TOTP_INTERVAL = 30


def normalise_username(username: str) -> str:
    """Usernames are compared case-insensitively and without surrounding spaces."""
    return username.strip().lower()


# Throttling ------------------------------------------------------------------------
#
# A sign-in attempt is counted *before* its passphrase or code is checked, on a
# connection and transaction of its own (``begin_attempt``): the attempt's row is
# committed first, then the window is counted in a new transaction. Whatever the
# interleaving, the k-th attempt to commit counts at least k rows, so no more than
# ``LOGIN_MAX_FAILURES`` checks run in a window however many arrive at once, on
# SQLite and on PostgreSQL alike. The limits are per (username, address) pair and per
# address, never per username alone: nobody can lock a named user out from elsewhere.


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt let through the throttle. Its row counts as a failure until
    ``attempt_succeeded`` removes it."""

    id: int
    username: str


@dataclass(frozen=True)
class Throttled:
    """A sign-in attempt refused before its check: what to tell the person, and how
    many seconds until an attempt may be checked again (the Retry-After header)."""

    message: str
    retry_after: int


def _window_start() -> datetime:
    return utcnow() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def _same_ip(ip: str | None) -> ColumnElement[bool]:
    return AuthFailure.ip.is_(None) if ip is None else AuthFailure.ip == ip


def _failures(name: str, ip: str | None) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """The count of failures for the (username, address) pair and for the address."""
    since = _window_start()
    pair = (
        select(func.count(AuthFailure.id))
        .where(AuthFailure.username == name, _same_ip(ip), AuthFailure.at >= since)
        .scalar_subquery()
    )
    by_ip = (
        select(func.count(AuthFailure.id))
        .where(_same_ip(ip), AuthFailure.at >= since)
        .scalar_subquery()
    )
    return pair, by_ip


def _latest_before(attempt_id: int, name: str | None, ip: str | None) -> ScalarSelect[datetime]:
    """When the pair (or, with no name, the address) last failed before this attempt."""
    query = select(func.max(AuthFailure.at)).where(_same_ip(ip), AuthFailure.id != attempt_id)
    if name is not None:
        query = query.where(AuthFailure.username == name)
    return query.scalar_subquery()


def _over_limit(pair: int, by_ip: int, *, extra: int = 0) -> bool:
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    return pair + extra > limit or by_ip + extra > limit * ADDRESS_FACTOR


#: An address may fail this many times the per-account limit (several people behind one
#: address, a shared office) before every sign-in from it waits.
ADDRESS_FACTOR = 5
#: The longest progressive wait between two checked attempts, in seconds.
MAX_BACKOFF_SECONDS = 60


def backoff_seconds(failures: int, *, after: int | None, per: int = 1) -> int:
    """How long after the last failure the next attempt waits, given ``failures`` in the
    window: none up to ``after``, then 1 s, doubling every ``per`` further failures
    (capped). ``after`` None: no progressive wait."""
    if after is None or failures < after:
        return 0
    return min(MAX_BACKOFF_SECONDS, 2 ** ((failures - after) // per))


def _wait_left(last: datetime | None, seconds: int, now: datetime) -> int:
    if last is None or seconds == 0:
        return 0
    remaining = (last + timedelta(seconds=seconds) - now).total_seconds()
    return max(0, math.ceil(remaining))


def is_throttled(username: str) -> bool:
    """Whether sign-in for this username from this address, or from this address at
    all, is locked for now."""
    pair, by_ip = _failures(normalise_username(username), client_ip())
    row = db.session.execute(select(pair, by_ip)).one()
    return _over_limit(row[0] or 0, row[1] or 0, extra=1)


def release_request_lock() -> None:
    """End the request's transaction so far, so nothing it holds (SQLite's write lock
    above all) is held while a passphrase is hashed or an attempt is counted on a
    connection of its own. The sign-in steps are the one place a request commits before
    its end: they write nothing of their own before this point."""
    db.session.commit()


def begin_attempt(username: str, *, recognised: bool = False) -> Attempt | Throttled:
    """Count a sign-in attempt before checking it, or refuse it unchecked.

    The attempt's row is committed on a connection of its own, then the window is
    counted in a fresh transaction that sees every attempt committed before it; a
    refused attempt's row is removed again (it was never checked). Refused: over the
    window's limit for the (username, address) pair or the address, or sooner after the
    last failure than the progressive wait allows (``LOGIN_BACKOFF_AFTER``). An attempt
    from a device recognised for the username (``services.devices``) is held by the
    pair's limit and wait only, not by what other attempts from its address earned.
    """
    name = normalise_username(username)[:64]
    ip = client_ip()
    release_request_lock()
    engine = db.session.get_bind(AuthFailure).engine
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        with conn.begin():
            attempt_id = conn.execute(
                insert(AuthFailure)
                .values(username=name, ip=ip, at=utcnow())
                .returning(AuthFailure.id)
            ).scalar_one()
        with conn.begin():
            pair, by_ip = _failures(name, ip)
            row = conn.execute(
                select(
                    pair,
                    by_ip,
                    _latest_before(attempt_id, name, ip),
                    _latest_before(attempt_id, None, ip),
                )
            ).one()
            by_address = (0, None) if recognised else (row[1] or 0, row[3])
            refusal = _refusal(row[0] or 0, by_address[0], row[2], by_address[1])
            if refusal is not None:
                conn.execute(delete(AuthFailure).where(AuthFailure.id == attempt_id))
    return refusal or Attempt(id=attempt_id, username=name)


def _refusal(
    pair: int, by_ip: int, pair_last: datetime | None, ip_last: datetime | None
) -> Throttled | None:
    """Why an attempt with these counts (its own row included) may not be checked."""
    config = current_app.config
    if _over_limit(pair, by_ip):
        minutes = config["LOGIN_WINDOW_MINUTES"]
        return Throttled(
            f"Too many failed attempts. Wait {minutes} minutes, then try again.", minutes * 60
        )
    after = config["LOGIN_BACKOFF_AFTER"]
    wait = max(
        _wait_left(pair_last, backoff_seconds(pair - 1, after=after), utcnow()),
        _wait_left(
            ip_last,
            backoff_seconds(
                by_ip - 1,
                after=None if after is None else after * ADDRESS_FACTOR,
                per=ADDRESS_FACTOR,
            ),
            utcnow(),
        ),
    )
    if wait > 0:
        unit = "second" if wait == 1 else "seconds"
        return Throttled(f"Too many failed attempts. Wait {wait} {unit}, then try again.", wait)
    return None


def attempt_failed(attempt: Attempt, *, reason: str) -> None:
    """The attempt's passphrase or code was wrong: its row stays, counted; audited."""
    record_event_now("login.failure", actor_username=attempt.username, detail={"reason": reason})


def attempt_succeeded(attempt: Attempt) -> None:
    """The attempt's passphrase or code was right: it is not a failure."""
    db.session.execute(delete(AuthFailure).where(AuthFailure.id == attempt.id))


def record_failure(username: str, *, reason: str) -> None:
    """Count a failed password or code and audit it, on a transaction of its own: the
    count and the event stand whatever becomes of the request."""
    name = normalise_username(username)[:64]
    write_independently(insert(AuthFailure).values(username=name, ip=client_ip(), at=utcnow()))
    record_event_now("login.failure", actor_username=name, detail={"reason": reason})


def clear_failures(username: str) -> None:
    """Forget a username's failures after a full successful sign-in."""
    db.session.execute(
        delete(AuthFailure).where(AuthFailure.username == normalise_username(username))
    )


# Password step ---------------------------------------------------------------------


def check_password(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (timing-safe).

    The account is read in a deferred transaction that ends before the hash is
    checked: hashing (about 200 ms) never holds a lock another request waits for.
    """
    release_request_lock()
    with sqlite_begin("DEFERRED"):
        user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
        db.session.commit()
    if user is None:
        burn_verification_time(password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


# TOTP step --------------------------------------------------------------------------


def ensure_totp_secret(user: User) -> str:
    """The user's TOTP secret, creating one for enrolment when there is none."""
    if user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(ensure_totp_secret(user), interval=TOTP_INTERVAL).provisioning_uri(
        name=user.username, issuer_name=TOTP_ISSUER
    )


def qr_code_data_uri(uri: str) -> str:
    """The QR code as an SVG data URI (an <img> source, so no raw HTML is emitted)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def verify_totp(user: User, code: str, *, at: float | None = None) -> bool:
    """Accept a 6-digit code from the current, previous or next step, each once only.

    The step is claimed with a conditional update (``totp_last_step`` below it), so of
    any number of sign-ins presenting the same code at once exactly one wins: on
    PostgreSQL the others wait on the row lock and then find the step taken.
    """
    code = code.strip().replace(" ", "")
    if user.totp_secret is None or len(code) != 6 or not (code.isascii() and code.isdigit()):
        return False
    now = time.time() if at is None else at
    totp = pyotp.TOTP(user.totp_secret, interval=TOTP_INTERVAL)
    current_step = int(now // TOTP_INTERVAL)
    for offset in (0, -1, 1):
        step = current_step + offset
        if secrets.compare_digest(totp.at(step * TOTP_INTERVAL), code):
            return _claim_step(user, step)
    return False


def _claim_step(user: User, step: int) -> bool:
    """Mark a code's step used, unless it (or a later one) already is."""
    users = User.__table__
    claimed = db.session.execute(
        update(users)
        .where(
            users.c.id == user.id,
            or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    if user.totp_confirmed_at is None:
        user.totp_confirmed_at = utcnow()
    return True


def demo_code_visible(user: User) -> bool:
    """Show the current code for a demo account while the database holds only demo users."""
    if not user.is_demo:
        return False
    others = db.session.scalar(select(func.count(User.id)).where(User.is_demo.is_(False)))
    return others == 0


def usable_code(user: User, *, at: float | None = None) -> str | None:
    """A code the server will accept now (demo accounts only): the current step's, or the
    next step's when the current one has been used; None when both are used."""
    now = time.time() if at is None else at
    current = int(now // TOTP_INTERVAL)
    step = current
    if user.totp_last_step is not None and user.totp_last_step >= step:
        step = user.totp_last_step + 1
    if step > current + 1:
        return None
    return pyotp.TOTP(ensure_totp_secret(user), interval=TOTP_INTERVAL).at(step * TOTP_INTERVAL)


# Sessions -----------------------------------------------------------------------------


def start_session(user: User) -> UserSession:
    """Open a server-side session for a fully authenticated user."""
    session = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, ip=client_ip())
    db.session.add(session)
    clear_failures(user.username)
    record_event("login.success", actor=user, object_type="user", object_id=user.id)
    return session


def end_session(session_id: str, *, reason: str) -> None:
    """End a session on the server so its cookie is worthless from now on."""
    session = db.session.get(UserSession, session_id)
    if session is not None and session.ended_at is None:
        session.ended_at = utcnow()
        session.end_reason = reason


def end_all_sessions(user: User, *, reason: str) -> None:
    """End every open session of a user (disabling, password reset)."""
    for session in db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ):
        session.ended_at = utcnow()
        session.end_reason = reason


#: Writing last_seen_at on every request is wasteful; a minute's precision is plenty.
TOUCH_INTERVAL = timedelta(seconds=60)


def load_session_user(session_id: str) -> User | None:
    """The user of a live session, ending it if idle or past its absolute limit.

    Both the ending and the note of activity are written on a transaction of their
    own (``write_independently``), not in the request's: they stand whatever becomes
    of the request, and a read-only request stays a read.
    """
    session = db.session.get(UserSession, session_id)
    if session is None or session.ended_at is not None:
        return None
    settings = service_settings()
    now = utcnow()
    reason = None
    if not session.user.active:
        reason = "disabled"
    elif now - session.created_at > timedelta(hours=settings.session_absolute_hours):
        reason = "expired"
    elif now - session.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        reason = "idle"
    if reason is not None:
        write_independently(
            update(UserSession)
            .where(UserSession.id == session.id, UserSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        return None
    if now - session.last_seen_at > TOUCH_INTERVAL:
        write_independently(
            update(UserSession).where(UserSession.id == session.id).values(last_seen_at=now)
        )
    user = session.user
    user.auth_session_id = session.id
    return user


# A temporary passphrase, changed at first sign-in ------------------------------------


SAME_AS_TEMPORARY = "Choose a passphrase of your own, not the temporary one."  # noqa: S105


def set_new_passphrase(user: User, *, password: str, confirmation: str) -> None:
    """Replace a temporary passphrase with the user's own (first sign-in).

    Checked against the passphrase rules; it must differ from the temporary one.
    Clears ``must_change_password``. Audited as ``user.password_change``.
    """
    errors: dict[str, str] = {}
    problems = passphrase_problems(password, username=user.username, display_name=user.display_name)
    if problems:
        errors["password"] = problems[0]
    elif verify_password(user.password_hash, password):
        errors["password"] = SAME_AS_TEMPORARY
    elif password != confirmation:
        errors["confirmation"] = "The two passphrases are not the same."
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    record_event(
        "user.password_change",
        actor=user,
        object_type="user",
        object_id=user.id,
        detail={"first_sign_in": True},
    )


# A fresh sign-in for sensitive changes -------------------------------------------------

NOT_CONFIRMED = "The passphrase or the code is not right. Try again with the next code."

#: How recently the passphrase and code must have been given for a change of role or
#: team (docs/admin-guide.md).
FRESH_SIGN_IN = timedelta(minutes=5)


def signed_in_recently(user: User, *, now: datetime | None = None) -> bool:
    """Whether the user gave their passphrase and code in this session within
    ``FRESH_SIGN_IN`` (at sign-in, or by confirming since)."""
    if user.auth_session_id is None:
        return False
    session = db.session.get(UserSession, user.auth_session_id)
    if session is None or session.ended_at is not None:
        return False
    return (now or utcnow()) - session.authenticated_at <= FRESH_SIGN_IN


def confirm_identity(user: User, *, password: str, code: str) -> None:
    """Check the signed-in user's passphrase and code again; the session then counts as
    freshly signed in (audited as ``login.confirm``). A failure raises ServiceError and
    counts towards throttling like a failed sign-in."""
    session = db.session.get(UserSession, user.auth_session_id) if user.auth_session_id else None
    if not verify_password(user.password_hash, password):
        record_failure(user.username, reason="confirm password")
        raise ServiceError(NOT_CONFIRMED, field_errors={"password": NOT_CONFIRMED})
    if session is None or not verify_totp(user, code):
        record_failure(user.username, reason="confirm code")
        raise ServiceError(NOT_CONFIRMED, field_errors={"code": NOT_CONFIRMED})
    session.authenticated_at = utcnow()
    record_event("login.confirm", actor=user, object_type="user", object_id=user.id)
