"""Generic error pages with an incident id and nothing internal (docs/design.md section 7)."""

from __future__ import annotations

import uuid

from flask import Flask, g, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from caseload.db import sqlite_begin
from caseload.extensions import db
from caseload.services import NotVisible

#: Status code -> (title, what the person can do about it).
MESSAGES = {
    400: (
        "Something was wrong with that request",
        "The form may have expired. Go back, reload the page and try again.",
    ),
    403: (
        "You do not have access to this page",
        "If you think you should, ask your service administrator.",
    ),
    404: ("Page not found", "Check the address, or go back to your home page."),
    405: ("That action is not available here", "Go back and use the buttons on the page."),
    409: (
        "Someone else changed this record",
        "Reload the record to see their change before you try again.",
    ),
    413: ("That was too much to send", "Send less at once and try again."),
    429: ("Too many attempts", "Wait 15 minutes, then try again."),
    503: (
        "The service is busy",
        "Nothing was saved. Wait a few seconds, then try again.",
    ),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. If it keeps happening, give the incident number to your "
        "service administrator.",
    ),
}


def incident_id() -> str:
    """The id shown to the person and written to the log for this failure."""
    rid = g.get("request_id")
    return rid or uuid.uuid4().hex[:12]


#: Seconds a person (or a client) is asked to wait after the database was busy.
RETRY_AFTER_SECONDS = 5

#: PostgreSQL's SQLSTATE for a lock not granted within ``lock_timeout``.
PG_LOCK_NOT_AVAILABLE = "55P03"


def is_database_busy(error: BaseException) -> bool:
    """Whether an error is the database refusing to wait longer for a lock: SQLite's
    "database is locked" once its busy timeout has passed, or PostgreSQL's
    ``lock_timeout``. Both mean nothing was written and the same request can succeed later."""
    if not isinstance(error, OperationalError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) == PG_LOCK_NOT_AVAILABLE:
        return True
    return "database is locked" in str(original).lower()


def render_error(status: int) -> ResponseReturnValue:
    """The error page for a status code."""
    title, advice = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    return (
        render_template(
            "errors/error.html", status=status, title=title, advice=advice, incident=incident_id()
        ),
        status,
    )


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> ResponseReturnValue:
        app.logger.warning(
            "CSRF failure on %s %s [%s]", request.method, request.path, incident_id()
        )
        return render_error(400)

    @app.errorhandler(NotVisible)
    def not_visible(_error: NotVisible) -> ResponseReturnValue:
        # Someone else's record and no record at all look the same: 404. The denial was
        # audited on its own transaction where it was detected. Nothing is rolled back:
        # a refused save was undone by its savepoint, and the request commits the read
        # events it recorded before the refusal.
        return render_error(404)

    @app.errorhandler(DataError)
    def data_error(_error: DataError) -> ResponseReturnValue:
        # A value the database cannot hold got past validation: the request was bad.
        # The failed statement may have aborted the transaction, so start again.
        db.session.rollback()
        app.logger.warning(
            "Database refused a value on %s %s [%s]", request.method, request.path, incident_id()
        )
        return render_error(400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code >= 500:
            return server_error(error)
        if error.code in (301, 302, 303, 307, 308):
            return error
        return render_error(error.code)

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> ResponseReturnValue:
        original = getattr(error, "original_exception", None) or error
        if isinstance(error, InternalServerError) and original is error:
            original = error
        if is_database_busy(original):
            return database_busy()
        app.logger.error(
            "Incident %s on %s %s", incident_id(), request.method, request.path, exc_info=original
        )
        # Roll back now, so the error page can still read (the web layer's commit hook
        # rolls back any 500 too), and drop a "saved" message that is no longer true.
        db.session.rollback()
        session.pop("_flashes", None)
        return render_error(500)

    def database_busy() -> ResponseReturnValue:
        # The lock was not granted within the busy timeout: the statement that waited
        # wrote nothing, and the rollback (here, and the commit hook's for any 5xx)
        # undoes the rest of the request. A 503 with Retry-After, not an incident.
        db.session.rollback()
        session.pop("_flashes", None)
        app.logger.warning(
            "Database busy on %s %s [%s]", request.method, request.path, incident_id()
        )
        # The page may read (the signed-in user for the header): on SQLite it reads
        # in a deferred transaction, which never waits for the write lock.
        with sqlite_begin("DEFERRED"):
            title, advice = MESSAGES[503]
            page = render_template(
                "errors/error.html", status=503, title=title, advice=advice, incident=incident_id()
            )
            db.session.rollback()
        return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
