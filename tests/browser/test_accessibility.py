"""Every worker page passes axe-core's WCAG 2.2 A/AA rules in real Chromium."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask

from caseload.db import utcnow
from caseload.domain.codes import ComplexityFactor, ReferralSource, ReflectiveTheme, Role
from caseload.extensions import db
from caseload.services.clients import ClientDetails, Referral, register_client
from caseload.services.notes import write_note
from caseload.services.signin_gate import app_budget
from caseload.web import today_in_london
from tests.browser.helpers import sign_in_page
from tests.conftest import make_user
from tests.web.helpers import add_contact

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def violations(page: Any) -> list[str]:
    """axe's WCAG A/AA violations on the page, one line each."""
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result.response["violations"]
    ]


def test_worker_pages_have_no_wcag_violations(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    today = today_in_london()
    episode = register_client(
        worker,
        details=ClientDetails(name="Sam Accessible", date_of_birth=today.replace(year=1980)),
        referral=Referral(
            referral_date=today - timedelta(days=30),
            referral_source=ReferralSource.SELF,
            referrer_expectation="Counselling",
            presenting_problem="Depression",
            complexity_factors=frozenset({ComplexityFactor.HOUSING}),
        ),
        consented=False,
        consent_note="",
        today=today,
    )
    for days_ago in (3, 2):
        add_contact(worker, episode, at=utcnow() - timedelta(days=days_ago))
    write_note(
        worker,
        text="Busy week.",
        themes=[ReflectiveTheme.DATA_COLLECTION],
        episode_id=episode.id,
        manageability=3,
    )
    episode_url = f"{live_server}/episodes/{episode.id}"
    db.session.commit()
    sign_in_page(page, live_server, worker)

    found = {}
    for path in [
        "/caseload",
        "/clients/new",
        "/notes/",
        "/notes/new",
        "/account/",
        "/account/passphrase",
    ]:
        page.goto(live_server + path)
        found[path] = violations(page)
    page.goto(episode_url)
    page.wait_for_selector("#outcome-chart[data-rendered='true']")
    found["episode"] = violations(page)
    for suffix in ["/contacts/new", "/discharge", "/consent"]:
        page.goto(episode_url + suffix)
        found[suffix] = violations(page)
    page.goto(episode_url + "/contacts/new")
    page.get_by_role("button", name="Save contact").click()  # a form full of errors
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["contact form with errors"] = violations(page)
    assert found == {name: [] for name in found}
    # A form shown again with its problems is a 200: not even the refusal logs an error.
    assert page.console_errors == []


def test_sign_in_pages_have_no_wcag_violations(live_server: str, page: Any) -> None:
    page.goto(f"{live_server}/login")
    assert violations(page) == []
    page.get_by_role("button", name="Continue").click()  # empty: errors shown
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert violations(page) == []


def test_a_sign_in_refused_at_the_door_shows_the_busy_page(
    app: Flask, live_server: str, page: Any
) -> None:
    page.goto(f"{live_server}/login")
    # A flood has overrun the passphrase budget: sign-in is answered in front of the app.
    app.config.update(SIGNIN_CHECK_SHARE=0.000001, SIGNIN_CHECK_BURST=1.0)
    budget = app_budget(app)
    assert budget.try_acquire(share=0.000001, burst=1.0)
    budget.release(5.0)
    page.get_by_label("Username").fill("someone")
    page.get_by_label("Passphrase").fill("a wrong passphrase entirely")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Sign-in is busy"
    assert violations(page) == []
    # The answer's own status (429, with Retry-After) is logged, and nothing else.
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 429 (TOO MANY REQUESTS)"
    ]
    page.console_errors.clear()
    page.get_by_role("button", name="Back to sign in").click()
    page.wait_for_url(f"{live_server}/login")
    assert page.get_by_label("Username").is_visible()


def test_the_audit_trail_has_no_wcag_violations(app: Flask, live_server: str, page: Any) -> None:
    from caseload.services.audit import record_event
    from tests.conftest import PASSWORD, next_code
    from tests.web.helpers import make_case

    admin = make_user(Role.ADMIN)
    worker = make_user(Role.WORKER)
    case = make_case(worker, name="Ada Audited")
    ref = case.client.service_ref
    for number in range(60):  # more than a page: the page links to older events
        record_event("caseload.view", actor=worker, client_ids=[case.client_id, number + 100])
    db.session.commit()
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Passphrase").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server}/login/mfa")
    code = next_code(admin)
    db.session.commit()
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")

    found = {}
    page.get_by_role("link", name="Audit trail").click()
    page.wait_for_url(f"{live_server}/admin/audit")
    found["audit trail"] = violations(page)
    page.get_by_label("Client service reference").fill(ref)
    page.get_by_role("button", name="Show events").click()
    page.wait_for_selector("#audit-events")
    assert page.get_by_role("link", name="Older events").is_visible()
    found["one client's events"] = violations(page)
    page.get_by_label("Client service reference").fill("C-NOSUCH")
    page.locator("#date_to-day").fill("31")
    page.locator("#date_to-month").fill("2")
    page.locator("#date_to-year").fill("2026")
    page.get_by_role("button", name="Show events").click()
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["filters with errors"] = violations(page)
    assert found == {name: [] for name in found}


def test_the_admin_pages_have_no_wcag_violations(app: Flask, live_server: str, page: Any) -> None:
    from tests.browser.test_console import sign_in_as

    admin = make_user(Role.ADMIN, username="axe-admin")
    worker = make_user(Role.WORKER, username="axe-worker", team="North team")
    make_user(Role.SUPERVISOR, username="axe-sup", team="North team")
    db.session.commit()
    sign_in_as(page, live_server, admin)

    found = {}
    for path in [
        "/admin/accounts",
        "/admin/accounts?role=worker&status=active",
        f"/admin/accounts/{worker.id}",
        f"/admin/accounts/{worker.id}/role",
        "/admin/teams",
        f"/admin/teams/{worker.team_id}",
        "/admin/teams/new",
        "/admin/settings",
        f"/login/confirm?next=/admin/accounts/{worker.id}/role",
    ]:
        page.goto(live_server + path)
        found[path] = violations(page)
    page.goto(f"{live_server}/admin/settings")
    page.get_by_label("Caseload cap (cases)").fill("500")
    page.get_by_role("button", name="Save settings").click()
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["settings with errors"] = violations(page)
    page.goto(f"{live_server}/admin/accounts/new")
    page.get_by_role("button", name="Create account").click()
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["new account with errors"] = violations(page)
    page.get_by_label("Username").fill("axe.newcomer")
    page.get_by_label("Full name").fill("Axe Newcomer")
    page.get_by_label("Practitioner").check()
    page.get_by_role("button", name="Create account").click()
    page.wait_for_selector("#temporary-passphrase-value")
    found["new account's passphrase"] = violations(page)
    temporary = page.locator("#temporary-passphrase-value").inner_text().strip()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")
    page.get_by_label("Username").fill("axe.newcomer")
    page.get_by_label("Passphrase").fill(temporary)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server}/login/new-passphrase")
    found["new passphrase"] = violations(page)
    page.get_by_role("button", name="Save passphrase").click()
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["new passphrase with errors"] = violations(page)
    assert found == {name: [] for name in found}
    assert page.console_errors == []  # the refused forms answer 200: nothing logged


def test_the_pages_that_leave_the_screen_have_no_wcag_violations(
    app: Flask, live_server: str, page: Any
) -> None:
    """The printable summary (on screen and as printed), the letters, the letter form with
    and without errors, a saved letter, and the lead's exports page."""
    from caseload.services.letters import save_letter
    from tests.browser.test_console import sign_in_as
    from tests.services.records import full_record

    worker = make_user(Role.WORKER, username="axe-letters", team="North team")
    supervisor = make_user(Role.SUPERVISOR, username="axe-letters-sup", team="North team")
    record = full_record(worker, discharged=True, supervisor=supervisor, item9_at_end=1)
    full_record(worker, name="Axe Consenting", consented=True)
    letter = save_letter(worker, record.episode, key="discharge", body="Dear Doctor,\n\nThanks.")
    db.session.commit()
    sign_in_page(page, live_server, worker)
    episode = f"{live_server}/episodes/{record.episode.id}"

    found = {}
    page.goto(f"{episode}/summary")
    found["client summary"] = violations(page)
    page.emulate_media(media="print")
    found["client summary, printed"] = violations(page)
    page.emulate_media(media="screen")
    for name, url in (
        ("letters", f"{episode}/letters"),
        ("letter form", f"{episode}/letters/discharge/new"),
        ("saved letter", f"{live_server}/letters/{letter.id}"),
    ):
        page.goto(url)
        found[name] = violations(page)
    page.goto(f"{episode}/letters/assessment/new")
    page.get_by_label("The letter").fill("")
    page.get_by_role("button", name="Save the letter").click()
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["letter form with errors"] = violations(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")

    sign_in_as(page, live_server, make_user(Role.LEAD, username="axe-exports-lead"))
    page.goto(f"{live_server}/lead/exports")
    found["lead's exports"] = violations(page)
    assert found == {name: [] for name in found}
    assert page.console_errors == []  # the refused letter form answers 200: nothing logged


def test_the_lead_dashboard_has_no_wcag_violations(app: Flask, live_server: str, page: Any) -> None:
    from tests.browser.test_console import open_and_settle, sign_in_as
    from tests.web.test_dashboard_pages import finished, months_ago

    worker = make_user(Role.WORKER, username="axe-lead-worker", team="North team")
    for count in (1, 2, 3):
        for _ in range(5):
            finished(worker, months_ago(count))
    lead = make_user(Role.LEAD, username="axe-lead")
    sign_in_as(page, live_server, lead)
    found = {}
    for path in ["/lead/", "/lead/?team=nonsense&from=1999-01"]:
        open_and_settle(page, live_server + path)
        assert page.locator(".app-chart[data-rendered='true']").count() >= 3
        found[path] = violations(page)
    assert found == {name: [] for name in found}
