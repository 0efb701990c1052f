"""Answer sign-ins at the door while a flood has spent the passphrase-check budget.

The budget (``services.signin_gate``) already keeps a flood of wrong passphrases from
hashing: once it runs dry every attempt is refused "busy" without a check. But each of
those refusals still went through the whole request: the session cookie, the settings
and policy checks, the form and its template, about 2 ms of a core. A flood that is
answered that quickly simply posts faster, and the refusals alone took half of a
two-core machine from the people working in it.

So while a flood has overrun the budget (its bucket empty, or a check running with
less than half the bucket left: ``CheckBudget.overrun``; not merely while one check is
running, so a colleague signing in at the same moment as another still gets the form
back, with their username kept) a ``POST`` to the sign-in page is answered here, in
front of the app: a 429 with
``Retry-After``, and the "Sign-in is busy" page (``auth.busy``). That page is rendered
by the app itself, so it has the service's look and security headers, and kept for
``PAGE_SECONDS``; serving it costs no database query, no session and no template. Its
cookie headers are dropped, so it never sets or ends a session. Nothing is recorded
for a shed attempt, as for any "busy" answer: it was never checked, and counts against
no one. A sign-in from a recognised device (``services.devices``) is never shed here:
it has a budget of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for
from werkzeug.http import parse_cookie
from werkzeug.test import EnvironBuilder, run_wsgi_app

from caseload.services import devices
from caseload.services.signin_gate import (
    RETRY_AFTER_SECONDS,
    CheckBudget,
    app_budget,
    lane_limits,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: How long the rendered busy page is served before it is rendered again (so a changed
#: service name reaches it).
PAGE_SECONDS = 60.0

#: Headers of the rendered page that a shed answer must not repeat.
DROPPED_HEADERS = frozenset({"set-cookie", "content-length", "date"})


#: The largest body a shed sign-in reads and drops (a sign-in form is well under 1 KB);
#: a larger one goes on to the app, which refuses it.
MAX_DRAINED_BYTES = 16 * 1024


def _drain(environ: dict[str, Any]) -> bool:
    """Read the posted form and drop it, so a kept-alive connection's next request
    starts where it should on any server; False when it is too big to read here."""
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_DRAINED_BYTES:
        return False
    if int(length):
        environ["wsgi.input"].read(int(length))
    return True


@dataclass(frozen=True)
class BusyPage:
    """The rendered page: its headers (without cookies), body and when it was made."""

    headers: list[tuple[str, str]]
    body: bytes
    made_at: float


class SignInShed:
    """WSGI middleware: a ``POST`` to the sign-in page while a flood has overrun the
    budget gets the stored busy page; every other request goes on to the app."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.budget: CheckBudget = app_budget(app)
        with app.test_request_context():
            self.login_path = url_for("auth.login")
            self.busy_path = url_for("auth.busy")
        self._page: BusyPage | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and environ.get("PATH_INFO") == self.login_path
            and self._overrun()
            and not self._from_a_recognised_device(environ)
        ):
            page = self._busy_page(environ)
            if page is not None and _drain(environ):
                headers = [*page.headers, ("Content-Length", str(len(page.body)))]
                headers.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
                start_response("429 TOO MANY REQUESTS", headers)
                return [page.body]
        return self.wsgi_app(environ, start_response)

    def _overrun(self) -> bool:
        share, burst = lane_limits(self.app, "anonymous")
        if share <= 0:  # no budget configured: nothing is ever refused for it
            return False
        return self.budget.overrun(share=share, burst=burst)

    def _from_a_recognised_device(self, environ: dict[str, Any]) -> bool:
        """Whether the request carries a genuine device cookie (``services.devices``):
        then the app decides, from the recognised devices' own budget, whether the
        cookie is for the username typed. A flood cannot make one."""
        cookie = parse_cookie(environ).get(devices.COOKIE_NAME)
        config = self.app.config
        mark = devices.cookie_mark(config["SECRET_KEY"], cookie, config["DEVICE_COOKIE_DAYS"])
        return mark is not None

    def _busy_page(self, environ: dict[str, Any]) -> BusyPage | None:
        """The stored page, rendered again when older than PAGE_SECONDS; None when the
        app could not render it (the attempt then goes to the app as usual)."""
        page = self._page
        now = time.monotonic()
        if page is not None and now - page.made_at < PAGE_SECONDS:
            return page
        with self._lock:
            page = self._page
            if page is not None and now - page.made_at < PAGE_SECONDS:
                return page
            page = self._render(environ, now)
            if page is not None:
                self._page = page
            return page

    def _render(self, environ: dict[str, Any], now: float) -> BusyPage | None:
        """Ask the app for its busy page, as an anonymous browser would. Not with the
        sender's Host header: the page is kept and served to others, so nothing a
        sender controls may reach it (its links are relative in any case)."""
        builder = EnvironBuilder(
            path=self.busy_path,
            base_url=f"http://localhost{environ.get('SCRIPT_NAME', '')}",
        )
        try:
            parts, status, headers = run_wsgi_app(self.wsgi_app, builder.get_environ(), True)
        finally:
            builder.close()
        body = b"".join(parts)
        if not status.startswith("200"):
            return None
        kept = [(k, v) for k, v in headers.to_wsgi_list() if k.lower() not in DROPPED_HEADERS]
        return BusyPage(kept, body, now)
