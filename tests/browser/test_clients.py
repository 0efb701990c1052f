"""Finding a client in real Chromium: search, the client page, re-referral and the
discharged list pass axe's WCAG 2.2 A/AA rules and log no console error."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from caseload.domain.codes import DischargeReason, Role
from caseload.extensions import db
from caseload.services import episodes as episode_service
from caseload.web import today_in_london
from tests.browser.helpers import sign_in_page
from tests.browser.test_accessibility import violations
from tests.conftest import make_user
from tests.web.helpers import add_contact, make_case, utc_now

pytestmark = pytest.mark.browser


def discharge(worker: Any, episode: Any) -> None:
    """Discharge an episode today, committed."""
    today = today_in_london()
    episode_service.discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=today,
        note="",
        today=today,
    )
    db.session.commit()


def test_finding_and_re_referring_a_client(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER, team="North team")
    other = make_user(Role.WORKER, team="South team")
    make_user(Role.SUPERVISOR, team="South team")
    mine = make_case(worker, name="Robin Mine", referral_days_ago=40)
    add_contact(worker, mine, at=utc_now() - timedelta(days=10))
    discharge(worker, mine)
    make_case(other, name="Robin Open Elsewhere")
    theirs = make_case(other, name="Robin Ended Elsewhere")
    discharge(other, theirs)
    sign_in_page(page, live_server, worker)

    found: dict[str, list[str]] = {}
    page.get_by_role("link", name="Find a client").first.click()
    page.get_by_label("Name, NHS number, service reference or date of birth").fill("robin")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("#search-results")
    assert page.locator("#search-results tbody tr").count() == 3
    found["search results"] = violations(page)

    page.set_viewport_size({"width": 390, "height": 844})
    found["search results at 390px"] = violations(page)
    # The NHS.UK header folds its menu into "More" a moment after a resize.
    with suppress(PlaywrightTimeout):
        page.wait_for_function("document.documentElement.scrollWidth <= 390", timeout=3000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the results scroll sideways at 390px ({width}px)"
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"{live_server}/clients/search?q=31/02/1990")
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["search with a problem"] = violations(page)

    page.goto(f"{live_server}/clients/search?q=robin")
    page.get_by_role("link", name="Robin Mine", exact=True).click()
    page.wait_for_selector("#episodes")
    found["client page"] = violations(page)

    page.goto(f"{live_server}/clients/discharged")
    page.wait_for_selector("#discharged")
    found["discharged list"] = violations(page)

    page.goto(f"{live_server}/clients/search?q=robin+ended")
    page.get_by_role("link", name="Add a new referral for Robin Ended Elsewhere").click()
    page.get_by_role("button", name="Add referral").click()  # a form full of errors
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["re-referral with errors"] = violations(page)
    assert page.console_errors == []  # the refused form answers 200: nothing logged

    day = today_in_london()
    page.get_by_label("Day").fill(str(day.day))
    page.get_by_label("Month").fill(str(day.month))
    page.get_by_label("Year").fill(str(day.year))
    page.get_by_label("Self-referral").check()
    page.get_by_label("What was the client told to expect from us?").select_option("Counselling")
    page.get_by_label("What is the main problem the client was referred for?").select_option(
        "Depression"
    )
    found["re-referral form"] = violations(page)
    page.get_by_role("button", name="Add referral").click()
    page.wait_for_url(f"{live_server}/episodes/*")
    assert "Added a new referral for " in page.inner_text("main")

    page.goto(f"{live_server}/clients/search?q=robin+open")
    page.get_by_text("Robin Open Elsewhere").wait_for()
    assert "Ask the case holder's supervisor" in page.inner_text("#search-results")

    assert found == {name: [] for name in found}
    assert page.console_errors == []


def test_the_referral_page_for_a_client_open_elsewhere(
    app: Flask, live_server: str, page: Any
) -> None:
    worker = make_user(Role.WORKER, team="North team")
    other = make_user(Role.WORKER, team="South team")
    theirs = make_case(other, name="Open Elsewhere")
    url = f"{live_server}/clients/{theirs.client_id}/referrals/new"
    sign_in_page(page, live_server, worker)
    page.goto(url)
    page.wait_for_selector("#open-episode")
    assert violations(page) == []
    assert page.console_errors == []
