"""Generic error pages with an incident id and nothing internal (docs/design.md section 7)."""

from __future__ import annotations

import uuid

from flask import Flask, g, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

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
        app.logger.error(
            "Incident %s on %s %s", incident_id(), request.method, request.path, exc_info=original
        )
        # Roll back now, so the error page can still read (the web layer's commit hook
        # rolls back any 500 too), and drop a "saved" message that is no longer true.
        db.session.rollback()
        session.pop("_flashes", None)
        return render_error(500)
