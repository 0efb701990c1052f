"""Request plumbing: transactions, sessions, policy enforcement, security headers,
template helpers."""

from __future__ import annotations

import os
import unicodedata
import uuid
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from caseload.db import configure_engine
from caseload.domain.codes import Role
from caseload.domain.dates import format_date, format_datetime, local_date
from caseload.domain.registration import format_nhs_number
from caseload.extensions import db, login_manager
from caseload.models import User, UserSession
from caseload.policy import policy_of
from caseload.services.audit import record_event_now
from caseload.services.auth import load_session_user
from caseload.services.settings import service_settings
from caseload.services.users import count_demo_users
from caseload.web import transactions
from caseload.web.forms import remember_form_location

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

#: Endpoints served by Flask itself or for static files; everything else declares a policy.
STATIC_ENDPOINTS = frozenset({"static", "assets.vendor", "assets.nhsuk_assets"})


def init_app(app: Flask) -> None:
    """Wire the engine, the request's transaction, the session loader and the request hooks."""
    with app.app_context():
        for engine in db.engines.values():
            restrict_sqlite_file(engine.url.database if engine.dialect.name == "sqlite" else None)
            configure_engine(engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    transactions.init_app(app)

    login_manager.session_protection = None  # sessions are checked in the database
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_request_user)

    app.url_map.converters["int"] = RowIdConverter
    app.before_request(_assign_request_id)
    app.before_request(_refuse_nul_bytes)
    app.before_request(_refuse_file_parts)
    app.before_request(_read_digits_as_ascii)
    app.before_request(_enforce_policy)
    app.after_request(_security_headers)
    # Registered after the transaction's commit hook, so it runs before it.
    app.after_request(remember_form_location)
    app.context_processor(_template_globals)
    app.add_template_filter(format_local_date, "local_date")
    app.add_template_filter(format_local_datetime, "local_datetime")
    app.add_template_filter(format_nhs_number_or_blank, "nhs_number")


def load_request_user(session_id: str) -> User | None:
    """The signed-in user of this request (``services.auth.load_session_user``), with
    the server session and its user read in one query.

    The session row comes with its user joined, so the loader's own look-ups find
    both in the identity map instead of querying twice. The encrypted TOTP secret is
    left unread (and so not decrypted) until a page asks for it: only the sign-in
    and account pages do.
    """
    # Held while the loader runs: the identity map keeps objects only while referenced.
    preloaded = db.session.scalars(
        select(UserSession)
        .options(joinedload(UserSession.user).defer(User.totp_secret))
        .where(UserSession.id == session_id)
    ).first()
    user = load_session_user(session_id)
    del preloaded
    return user


def restrict_sqlite_file(path: str | None) -> None:
    """Create the SQLite file readable and writable by its owner only (0600), or make an
    existing one so. SQLite gives its -wal and -shm files the database file's mode."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def _assign_request_id() -> None:
    g.request_id = uuid.uuid4().hex[:12]


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in routes: a database id, so never above a 32-bit integer.

    A larger number could never match a row and would overflow the column type
    on PostgreSQL, so it simply does not match the route (404).
    """

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _refuse_nul_bytes() -> None:
    """No field of ours can hold a NUL character, and PostgreSQL refuses to store one."""
    for field in (request.args, request.form):
        if any("\x00" in key + value for key, value in field.items(multi=True)):
            abort(400)


def ascii_number(value: str) -> str:
    """A value written only in digits (and spaces) with its digits as ASCII.

    Digits from any script (Arabic-Indic, full-width ...) mean the same number, but
    Python's ``int`` and ``str.isdigit`` accept them while comparisons, regular
    expressions with ``[0-9]`` and the database do not. Any other value is unchanged.
    """
    if value.isascii() or not any(c.isdecimal() for c in value):
        return value
    if not all(c.isdecimal() or c.isspace() for c in value):
        return value
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in value)


def _read_digits_as_ascii() -> None:
    """Every posted value written only in digits reaches the forms in ASCII digits
    (a security code, a duration or an NHS number typed on a non-Latin keyboard)."""
    if not request.form:
        return
    posted = list(request.form.items(multi=True))
    read = [(key, ascii_number(value)) for key, value in posted]
    if read != posted:
        request.form = ImmutableMultiDict(read)


#: Endpoints whose forms take a file upload; every other form's fields are text.
UPLOAD_ENDPOINTS: frozenset[str] = frozenset()


def _refuse_file_parts() -> None:
    """A browser sends a file part only for a file input, and no form of ours has one
    (outside UPLOAD_ENDPOINTS): a text field sent as a file would reach the form as a
    file object, so the request is refused (400) before any form reads it."""
    if request.files and request.endpoint not in UPLOAD_ENDPOINTS:
        abort(400)


def _enforce_policy() -> Any:
    """Run the view's declared policy before the view; no policy means no entry."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in STATIC_ENDPOINTS:
        return None
    rule = policy_of(current_app.view_functions.get(endpoint))
    if rule is None:
        abort(403)
    if rule.allows(current_user):
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=safe_next(request.full_path)))
    record_event_now(
        "access.denied",
        actor=current_user,
        detail={"endpoint": endpoint, "path": request.path, "policy": rule.name},
    )
    abort(403)


def _security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["PRODUCTION"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint not in STATIC_ENDPOINTS:
        # Clinical pages must never sit in a shared or back-button cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _template_globals() -> dict[str, Any]:
    return {
        "service_name": service_settings().service_name,
        "navigation_items": navigation_items,
    }


#: The header menu for each role: (endpoint, text). Areas add their entries here.
NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.WORKER: [
        ("cases.caseload", "My caseload"),
        ("diary.index", "My diary"),
        ("cases.register_client", "Register a client"),
        ("clients.search", "Find a client"),
        ("clients.discharged", "Discharged clients"),
        ("notes.index", "Reflective notes"),
        ("account.index", "Your account"),
    ],
    Role.SUPERVISOR: [
        ("supervision.queue", "Exception queue"),
        ("supervision.team_load", "Team load"),
        ("supervision.shared_notes", "Shared notes"),
        ("clients.search", "Find a client"),
        ("account.index", "Your account"),
    ],
    Role.LEAD: [
        ("lead.dashboard", "Service dashboard"),
        ("lead.findings", "Findings"),
        ("lead.exports", "Exports"),
        ("account.index", "Your account"),
    ],
    Role.ADMIN: [
        ("admin.accounts", "Accounts"),
        ("admin.teams", "Teams"),
        ("admin.settings", "Settings"),
        ("admin.audit", "Audit trail"),
        ("account.index", "Your account"),
    ],
}


def navigation_items() -> list[dict[str, Any]]:
    """The signed-in user's menu, marking the current page."""
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, text in NAVIGATION.get(current_user.role, []):
        if endpoint in current_app.view_functions:
            items.append(
                {"href": url_for(endpoint), "text": text, "current": request.endpoint == endpoint}
            )
    return items


def safe_next(target: str | None) -> str | None:
    """A same-site relative path to return to after sign-in, or None when unsafe.

    Only a path on this site: one leading "/", no scheme or host, no backslash or
    control character, and nothing Unicode compatibility normalisation (NFKC, which
    URL parsers apply to host names) would change: a full-width solidus would read
    as "//" (another site) once normalised, and makes ``urlsplit`` raise.
    """
    if not target:
        return None
    target = target.strip()
    if unicodedata.normalize("NFKC", target) != target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    if target.endswith("?"):
        target = target[:-1]
    return target


def refuse_demo_accounts_in_production(app: Flask) -> None:
    """A production configuration will not start while any demo account exists."""
    if not app.config["PRODUCTION"]:
        return
    with app.app_context():
        try:
            demo_accounts = inspect(db.engine).has_table("users") and count_demo_users()
        finally:
            db.session.remove()
            db.engine.dispose()  # no connection opened at start-up outlives it (forking servers)
        if demo_accounts:
            raise RuntimeError(
                "Refusing to start in production: the database holds demo accounts. "
                "Use a fresh database for production."
            )


def format_local_date(value: date | datetime | None) -> str:
    """A date as people in the UK write it: 3 Nov 2026 (a datetime is taken in UK time)."""
    if value is None:
        return ""
    return format_date(local_date(value) if isinstance(value, datetime) else value)


def format_local_datetime(value: datetime | None) -> str:
    """A moment in UK time: 3 Nov 2026, 14:30."""
    return "" if value is None else format_datetime(value)


def format_nhs_number_or_blank(value: str | None) -> str:
    """An NHS number spaced 3-3-4 for reading: 943 476 5919 (nothing for None)."""
    return "" if value is None else format_nhs_number(value)
