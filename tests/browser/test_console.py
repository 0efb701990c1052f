"""No page logs a console error, for any role, in real Chromium.

For each role the test signs in through the real forms and opens every GET page the
role's policy lets it in to: each rule of ``app.url_map`` without arguments, and each
rule with arguments filled from a small demo-like service (an open episode with
contacts and a chart, a booking awaiting its outcome, a booking later this week, a
discharged client). A blocked font, script or image, a failed module import and an
uncaught exception all log an error, and each one fails the test, naming its page.

A new route with an argument this file does not know fails the walk: add a candidate
for it to ``ARGUMENTS``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter

from caseload.domain.codes import AttendanceCode, DischargeReason, Role
from caseload.extensions import db
from caseload.models import User
from caseload.policy import policy_of
from caseload.services import episodes as episode_service
from caseload.services.letters import save_letter
from caseload.services.supervision import start_session
from caseload.web import STATIC_ENDPOINTS, today_in_london
from tests.conftest import PASSWORD, make_user, next_code
from tests.web.helpers import add_contact, book_past, make_case, utc_now

pytestmark = pytest.mark.browser

#: GET endpoints with no page to show a signed-in person (they redirect onwards), and
#: downloads (a file, not a page: tests/web/test_audit_view.py checks the export).
NOT_PAGES = frozenset(
    {
        "auth.login",
        "auth.mfa",
        "auth.new_passphrase",
        "admin.audit_csv",
        "lead.dashboard_csv",
        "exports.episode_fhir",
    }
)


@dataclass(frozen=True)
class World:
    """The people and records the pages are opened with."""

    users: dict[Role, User]
    episode: int
    client: int
    held: int
    booked: int
    discharged_episode: int
    discharged_client: int
    #: The supervisor's session with the worker (the open episode is its first case).
    session: int = 0
    #: A letter to the GP saved on the open episode.
    letter: int = 0


def build_world() -> World:
    """One team (a worker and their supervisor), a lead and an administrator, and the
    worker's records: enough for every page to show something."""
    users = {
        Role.WORKER: make_user(Role.WORKER, username="console-worker", team="North team"),
        Role.SUPERVISOR: make_user(Role.SUPERVISOR, username="console-sup", team="North team"),
        Role.LEAD: make_user(Role.LEAD, username="console-lead"),
        Role.ADMIN: make_user(Role.ADMIN, username="console-admin"),
    }
    worker = users[Role.WORKER]
    episode = make_case(worker, name="Casey Console", referral_days_ago=40, consented=True)
    add_contact(worker, episode, at=utc_now() - timedelta(days=21))
    add_contact(
        worker, episode, at=utc_now() - timedelta(days=14), attendance=AttendanceCode.DID_NOT_ATTEND
    )
    held = add_contact(worker, episode, at=utc_now() - timedelta(days=7))
    booked = book_past(worker, episode)
    add_contact(
        worker,
        episode,
        at=utc_now() + timedelta(days=1),
        attendance=AttendanceCode.BOOKED,
        now=utc_now(),
    )
    ended = make_case(worker, name="Dana Discharged", referral_days_ago=90)
    add_contact(worker, ended, at=utc_now() - timedelta(days=30))
    episode_service.discharge(
        worker,
        ended,
        reason=next(iter(DischargeReason)),
        discharged_on=today_in_london() - timedelta(days=3),
        note="",
        today=today_in_london(),
        expected_version=ended.version,
        risk_confirmed=True,
        risk_plan="Reviewed before discharge.",
    )
    session = start_session(
        users[Role.SUPERVISOR], worker_id=worker.id, today=today_in_london()
    )  # the open episode's review is overdue (referred 40 days ago), so it is on the list
    letter = save_letter(worker, episode, key="assessment", body="Dear Doctor,")
    db.session.commit()
    return World(
        session=session.id,
        letter=letter.id,
        users=users,
        episode=episode.id,
        client=episode.client_id,
        held=held.id,
        booked=booked.id,
        discharged_episode=ended.id,
        discharged_client=ended.client_id,
    )


#: Candidate values for each URL argument, from the world.
ARGUMENTS: dict[str, Any] = {
    "episode_id": lambda w: [w.episode, w.discharged_episode],
    "client_id": lambda w: [w.client, w.discharged_client],
    "contact_id": lambda w: [w.held, w.booked],
    "session_id": lambda w: [w.session],
    "position": lambda w: [1],
    # The administrator's account and team pages: the worker's.
    "user_id": lambda w: [w.users[Role.WORKER].id],
    "team_id": lambda w: [w.users[Role.WORKER].team_id],
    # Letters to the GP: a saved one, and the template a new one is drafted from.
    "letter_id": lambda w: [w.letter],
    "template": lambda w: ["assessment"],
}


def _values(rule: Rule, name: str, world: World) -> list[Any]:
    converter = rule._converters[name]  # noqa: SLF001 (the rule's own converters)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    assert name in ARGUMENTS, f"{rule.rule}: add a candidate for <{name}> to ARGUMENTS"
    return list(ARGUMENTS[name](world))


def page_paths(app: Flask, role: Role, world: World) -> Iterator[str]:
    """Every GET page the role's policy admits, with its arguments filled in."""
    adapter = app.url_map.bind("localhost")
    user = world.users[role]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or set()) or rule.endpoint in STATIC_ENDPOINTS:
            continue
        if rule.endpoint in NOT_PAGES:
            continue
        view_policy = policy_of(app.view_functions[rule.endpoint])
        if view_policy is None or not view_policy.allows(user):
            continue
        names = sorted(rule.arguments)
        for combination in itertools.product(*(_values(rule, n, world) for n in names)):
            yield adapter.build(rule.endpoint, dict(zip(names, combination, strict=True)))


def sign_in_as(page: Any, base: str, user: User) -> None:
    """Sign in through the forms, for any role (each lands on its own home page)."""
    db.session.commit()
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Passphrase").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/login/mfa")
    code = next_code(user)
    db.session.commit()
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    # Matched in Python: the CSP forbids the eval a wait_for_function script needs.
    page.wait_for_url(lambda url: not urlsplit(url).path.startswith("/login"))


def open_and_settle(page: Any, url: str) -> None:
    """Open a page and wait until its scripts have run: the NHS.UK components started
    and every chart drawn (or failed, which logs an error)."""
    page.goto(url)
    # A selector, not a script: the CSP forbids the eval that wait_for_function needs.
    page.wait_for_selector("body.nhsuk-frontend-supported", state="attached")
    if page.locator(".app-chart[data-figure]").count():
        page.wait_for_selector(".app-chart[data-rendered]", state="attached")


@pytest.mark.parametrize("role", [Role.WORKER, Role.SUPERVISOR, Role.LEAD, Role.ADMIN])
def test_no_page_logs_a_console_error(app: Flask, live_server: str, page: Any, role: Role) -> None:
    world = build_world()
    paths = list(page_paths(app, role, world))
    assert "/about/privacy" in paths
    assert "/about/accessibility" in paths
    if role is Role.WORKER:
        assert f"/episodes/{world.episode}" in paths
    if role is Role.ADMIN:
        assert "/admin/audit" in paths
    if role is Role.LEAD:
        assert "/lead/" in paths
    sign_in_as(page, live_server, world.users[role])

    errors: dict[str, list[str]] = {}
    for path in paths:
        open_and_settle(page, live_server + path)
        if page.console_errors:
            errors[path] = list(page.console_errors)
            page.console_errors.clear()
    assert errors == {}, f"console errors as {role.label}: {errors}"


def test_signed_out_pages_log_no_console_error(app: Flask, live_server: str, page: Any) -> None:
    signed_out = ["/login", "/login/busy", "/about/privacy", "/about/accessibility"]
    for path in [*signed_out, "/no-such-page"]:
        open_and_settle(page, live_server + path)
    # The missing page's own status, and nothing else.
    assert set(page.console_errors) == {
        "Failed to load resource: the server responded with a status of 404 (NOT FOUND)"
    }
    page.console_errors.clear()
