"""One commit per request, in one place (docs/design.md section 4).

Views and services never commit. When the response is ready, the web layer
commits the request's session once; a failed request (a 500) is rolled back.
Forms shown again with their problems (200, or 409 for a conflict) commit too:
``submit`` ran the refused save in a savepoint that is already undone, and the
read events before it are kept.

A read-only request (GET, HEAD, OPTIONS) begins its transactions DEFERRED on
SQLite, so its reads never hold the write lock, and holds its audit events back
(``services.audit.hold_events``). At its end the read transaction is closed and
the events are written in one short ``BEGIN IMMEDIATE`` transaction, which waits
for the lock instead of failing on a stale read snapshot. A request that may
write (POST ...) begins IMMEDIATE, as every transaction outside a request does.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, request

from caseload.db import SQLITE_BEGIN, sqlite_begin
from caseload.extensions import db
from caseload.services.audit import (
    drop_held_events,
    hold_events,
    release_held_events,
    unsaved_events,
)

log = logging.getLogger(__name__)

#: Methods that only read; their requests never hold SQLite's write lock.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Open each request's transaction in the right mode and commit it once at the end."""
    # First of the before-request hooks: the session loader's query must already
    # begin in the request's mode.
    app.before_request_funcs.setdefault(None, []).insert(0, begin_request)
    app.after_request(commit_request)
    app.teardown_request(end_request)


def begin_request() -> None:
    """Make a read-only request's transactions deferred and hold its audit events."""
    if request.method in READ_ONLY_METHODS:
        g.sqlite_begin_token = SQLITE_BEGIN.set("DEFERRED")
        hold_events()


def commit_request(response: Response) -> Response:
    """Commit the request's work once; roll it back when the request failed."""
    if response.status_code >= 500:
        db.session.rollback()
        drop_held_events()
        return response
    db.session.commit()
    if release_held_events():
        # The reads are over; the events go in one short write, which on SQLite waits
        # for the lock at BEGIN instead of failing on the reads' stale snapshot.
        with sqlite_begin("IMMEDIATE"):
            db.session.commit()
    return response


def end_request(error: BaseException | None) -> None:
    """Restore the transaction mode, and refuse to let audit events go unsaved.

    An event recorded after the commit (in a later hook, a streamed body) would be
    lost without a trace; the tests fail on it, production logs it.
    """
    token = g.pop("sqlite_begin_token", None)
    if token is not None:
        SQLITE_BEGIN.reset(token)
    unsaved = unsaved_events()
    if error is None and unsaved:
        actions = ", ".join(e.action for e in unsaved)
        if current_app.testing:
            raise RuntimeError(f"request ended with audit events not committed: {actions}")
        log.error(
            "Request %s ended with audit events not committed: %s", g.get("request_id"), actions
        )
