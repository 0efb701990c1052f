"""The pages the bench measures, each as the person who uses it would ask for it.

Every page is requested through the app's real routes by a client signed in through the
real forms (passphrase, then a TOTP code). A form is fetched untimed before each timed
POST, so each POST carries a fresh CSRF token, form key and version, as a browser's
would; the form is filled from its own defaults plus the answers a worker would give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pyotp
from flask.testing import FlaskClient


@dataclass
class Form:
    """One POST form of a page: its action, its fields' default values, and the options
    of each radio group."""

    action: str
    values: dict[str, str]
    radios: dict[str, list[str]]


class FormReader(HTMLParser):
    """Every POST form on a page, with its fields' default values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._form = Form(a.get("action", ""), {}, {})
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "radio":
                form.radios.setdefault(name, []).append(a.get("value", ""))
                if "checked" in a:
                    form.values[name] = a.get("value", "")
            elif kind == "checkbox":
                if "checked" in a:
                    form.values[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "file"):
                form.values[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                form.values[self._select] = value
        elif tag == "textarea" and name:
            form.values.setdefault(name, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self._form is not None:
            self._form.values.setdefault(self._select, self._select_first or "")
            self._select = None
        elif tag == "form":
            self._form = None


def read_form(html: str, action: str | None = None) -> Form:
    """The page's POST form that posts to ``action`` (or to the page itself, with no
    action), else its largest: never the sign-out button's form in the header."""
    reader = FormReader()
    reader.feed(html)
    if not reader.forms:
        raise RuntimeError("no POST form on the page")
    if action is not None:
        for form in reader.forms:
            if form.action.split("?")[0] == action:
                return form
    return max(reader.forms, key=lambda f: len(f.values) + len(f.radios))


#: A questionnaire item's radio group: "phq9-1", "gad7-7", "pcl5-20".
ITEM = re.compile(r"^[a-z0-9]+-\d+$")


def contact_answers(form: Form) -> dict[str, str]:
    """A worker's answers on the log-contact form: attended (the default), every item
    of every questionnaire answered "several days" (1), except the risk item at 0, so
    the form asks for nothing more."""
    data = dict(form.values)
    for name, options in form.radios.items():
        if ITEM.match(name):
            data[name] = "0" if name == "phq9-9" else ("1" if "1" in options else options[0])
    return data


def sign_in(client: FlaskClient, username: str, password: str, secret: str) -> None:
    """Sign in through the real forms; raises when either step is refused."""
    form = read_form(client.get("/login").get_data(as_text=True))
    first = client.post("/login", data={**form.values, "username": username, "password": password})
    if first.status_code != 302:
        raise RuntimeError(f"sign-in of {username} answered {first.status_code}")
    form = read_form(client.get("/login/mfa").get_data(as_text=True))
    second = client.post("/login/mfa", data={**form.values, "code": pyotp.TOTP(secret).now()})
    if second.status_code != 302 or "/login" in second.headers.get("Location", ""):
        raise RuntimeError(f"the code step of {username} answered {second.status_code}")


#: How a page is asked for: ``(prepare, send)`` for a signed-in client and the context.
Request = Callable[
    [FlaskClient, dict[str, Any]], tuple[Callable[[], None] | None, Callable[[], int]]
]


@dataclass(frozen=True)
class Page:
    """One measured page: who asks for it, and how.

    ``request(client, context)`` returns ``(prepare, send)``: ``prepare`` runs untimed
    before each request (None when nothing is needed), ``send`` makes the timed request
    and returns its status. ``expect`` is the status a correct answer has.
    """

    name: str
    who: str
    request: Request
    expect: int = 200
    #: Pages bounded by one worker's or one team's cases: their time must not grow with
    #: the service (the scaling target).
    bounded: bool = True
    #: The p95 target in milliseconds at 100,000 episodes on SQLite (None: the issue sets
    #: none; the ratio to the floor still applies).
    target_ms: float | None = 50.0


def _get(path: Callable[[dict[str, Any]], str]) -> Request:
    def request(
        client: FlaskClient, context: dict[str, Any]
    ) -> tuple[Callable[[], None] | None, Callable[[], int]]:
        url = path(context)
        return None, lambda: client.get(url, buffered=True).status_code

    return request


def _post(
    form_path: Callable[[dict[str, Any]], str],
    fill: Callable[[Form, dict[str, Any]], dict[str, str]],
    action: Callable[[dict[str, Any]], str] | None = None,
) -> Request:
    def request(
        client: FlaskClient, context: dict[str, Any]
    ) -> tuple[Callable[[], None] | None, Callable[[], int]]:
        data: dict[str, str] = {}
        url = (action or form_path)(context)

        def prepare() -> None:
            form = read_form(client.get(form_path(context)).get_data(as_text=True), url)
            data.clear()
            data.update(fill(form, context))

        def send() -> int:
            return client.post(url, data=data, buffered=True).status_code

        return prepare, send

    return request


def _sign_in_request(
    client: FlaskClient, context: dict[str, Any]
) -> tuple[Callable[[], None] | None, Callable[[], int]]:
    account = context["accounts"]["worker"]
    data: dict[str, str] = {}

    def prepare() -> None:
        client.delete_cookie("caseload_session")
        form = read_form(client.get("/login").get_data(as_text=True))
        data.clear()
        data.update(form.values, username=account.username, password=account.password)

    def send() -> int:
        return client.post("/login", data=data, buffered=True).status_code

    return prepare, send


PAGES: tuple[Page, ...] = (
    Page("worker caseload", "worker", _get(lambda c: "/caseload")),
    Page("diary", "worker", _get(lambda c: "/diary")),
    Page("episode page", "worker", _get(lambda c: f"/episodes/{c['episode_id']}")),
    Page(
        "log-contact form",
        "worker",
        _get(lambda c: f"/episodes/{c['episode_id']}/contacts/new"),
    ),
    # Search looks through every client of the service (to find a duplicate), so it is
    # not bounded by one worker's cases.
    Page(
        "search",
        "worker",
        _get(lambda c: f"/clients/search?q={c['search_term']}"),
        bounded=False,
    ),
    Page("supervisor queue", "supervisor", _get(lambda c: "/supervision/")),
    Page("team load", "supervisor", _get(lambda c: "/supervision/team")),
    Page("lead dashboard", "lead", _get(lambda c: "/lead/"), bounded=False, target_ms=300),
    Page("findings view", "lead", _get(lambda c: "/lead/findings"), bounded=False, target_ms=300),
    Page(
        "CSV export",
        "lead",
        _post(
            lambda c: "/lead/exports", lambda f, c: dict(f.values), lambda c: "/lead/exports/csv"
        ),
        bounded=False,
        target_ms=None,
    ),
    Page("admin audit view", "admin", _get(lambda c: "/admin/audit"), bounded=False, target_ms=300),
    # Writes last, so the pages above are read as the service was built.
    Page(
        "log-contact POST",
        "worker",
        _post(
            lambda c: f"/episodes/{c['episode_id']}/contacts/new",
            lambda f, c: contact_answers(f),
        ),
        expect=302,
    ),
    # argon2id by design: about 150 ms of hashing a passphrase, whatever the service size.
    Page("sign-in", "anonymous", _sign_in_request, expect=302, target_ms=None),
)
