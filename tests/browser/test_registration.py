"""Registration in real Chromium: the form with its errors, the likely-duplicate warning and
its override, the consent page and the case page's reminders pass axe's WCAG 2.2 A/AA
rules, and no page logs a console error (the ``page`` fixture fails on any)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.web import today_in_london
from tests.browser.helpers import sign_in_page
from tests.browser.test_accessibility import violations
from tests.conftest import make_user
from tests.web.helpers import make_case

pytestmark = pytest.mark.browser


def refused(page: Any) -> None:
    """The form came back with its problems (200): the page says what to fix, and
    Chromium logs no console error for it (issue 8)."""
    page.locator(".nhsuk-error-summary").wait_for(state="visible")
    assert page.console_errors == []


def fill_registration(page: Any, *, name: str, born: date) -> None:
    """Fill the register form as a worker would, answering the dataset's questions."""
    referred = today_in_london() - timedelta(days=3)
    page.get_by_label("Full name").fill(name)
    for prefix, day in (("date_of_birth", born), ("referral_date", referred)):
        page.locator(f"#{prefix}-day").fill(str(day.day))
        page.locator(f"#{prefix}-month").fill(str(day.month))
        page.locator(f"#{prefix}-year").fill(str(day.year))
    page.get_by_label("Postcode (optional)").fill("ls1 4ap")
    page.get_by_label("Female (including trans woman)").check()
    page.get_by_label("What is the client's ethnic group?").select_option("white_british")
    page.get_by_label("Employed", exact=True).check()
    page.locator("#long_term_condition-1").check()  # No
    page.locator("#disability-2").check()  # Not stated
    page.get_by_label("GP", exact=True).check()
    page.get_by_label("What was the client told to expect from us?").select_option("Counselling")
    page.get_by_label("What is the main problem the client was referred for?").select_option(
        "Depression"
    )


def test_the_register_form_with_errors_and_with_a_duplicate_warning_is_accessible(
    app: Flask, live_server: str, page: Any
) -> None:
    worker = make_user(Role.WORKER)
    existing = make_case(worker, name="Morgan Example")  # born 2 Apr 1990
    db.session.commit()
    sign_in_page(page, live_server, worker)

    page.goto(f"{live_server}/clients/new")
    assert violations(page) == []
    page.get_by_role("button", name="Register client").click()  # empty: errors shown
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    refused(page)
    assert violations(page) == []
    summary.get_by_role("link", name="Enter date of birth").click()
    assert page.evaluate("document.activeElement.id") == "date_of_birth-day"

    fill_registration(page, name="Morgan Exampel", born=date(1990, 4, 2))
    page.get_by_role("button", name="Register client").click()
    warning = page.locator("#possible-duplicates")
    warning.wait_for(state="visible")  # the page the POST answered, loaded
    refused(page)
    assert existing.client.service_ref in warning.inner_text()
    assert violations(page) == []

    page.get_by_label("This is a different person: register anyway").check()
    page.get_by_role("button", name="Register client").click()
    page.wait_for_url(f"{live_server}/episodes/*")
    assert page.locator("#consent-reminder").is_visible()
    page.wait_for_selector("#outcome-chart[data-rendered='true']")
    assert violations(page) == []


def test_the_consent_page_and_the_young_person_banner_are_accessible(
    app: Flask, live_server: str, page: Any
) -> None:
    app.config["MINIMUM_AGE"] = 16
    worker = make_user(Role.WORKER)
    db.session.commit()
    sign_in_page(page, live_server, worker)

    page.goto(f"{live_server}/clients/new")
    referred = today_in_london() - timedelta(days=3)
    fill_registration(page, name="Kit Young", born=referred.replace(year=referred.year - 17))
    page.get_by_label("Yes, the client agrees").check()
    page.get_by_role("button", name="Register client").click()
    page.wait_for_url(f"{live_server}/episodes/*")
    assert page.locator("#young-person").is_visible()
    assert page.locator("#consent-reminder").count() == 0
    page.wait_for_selector("#outcome-chart[data-rendered='true']")
    assert violations(page) == []

    page.get_by_role("link", name="Change consent").click()
    assert violations(page) == []
    page.get_by_label("No, the client declined").check()
    page.get_by_role("button", name="Save consent").click()  # no note: an error
    assert page.locator(".nhsuk-error-summary").is_visible()
    refused(page)
    assert violations(page) == []
    page.get_by_label("What did the client say?").fill("Changed their mind on the phone.")
    page.get_by_role("button", name="Save consent").click()
    page.wait_for_url(f"{live_server}/episodes/*")
    assert "No consent: kept out of central reporting" in page.content()
