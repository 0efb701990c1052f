"""The diary, booking with a clash warning, and the caseload on a phone, in real Chromium:
axe finds no WCAG 2.2 A/AA violation, nothing logs a console error, nothing overflows
a 390 px screen."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from caseload.domain.codes import ContactMode, ContactType, RiskLevel, Role
from caseload.domain.dates import LONDON, london_to_utc
from caseload.extensions import db
from caseload.models import Episode, User
from caseload.services.bookings import (
    BookingInput,
    book_contact,
    confirmation_key,
    next_working_day,
)
from caseload.web import today_in_london
from tests.browser.helpers import sign_in_page
from tests.browser.test_accessibility import violations
from tests.conftest import make_user
from tests.web.helpers import add_contact, book_past, make_case

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def book_at(worker: User, episode: Episode, starts_at: datetime) -> None:
    data = BookingInput(
        starts_at=starts_at,
        contact_type=ContactType.TREATMENT,
        mode=ContactMode.TELEPHONE,
        duration_minutes=30,
    )
    book_contact(worker, episode, data, confirmed_for=confirmation_key(data))
    db.session.commit()


#: The page fits the screen: nothing scrolls sideways.
FITS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def overflow(page: Any) -> int:
    """How far the page is wider than the screen once it has settled, in CSS pixels (0 when
    it fits). The NHS.UK header moves menu items that do not fit into "More" after a resize,
    a moment later: the page gets up to 3 seconds to fit before it is measured."""
    # Measured below either way: the caller's assertion reports by how much it overflows.
    with suppress(PlaywrightTimeout):
        page.wait_for_function(FITS, timeout=3000)
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def expect_refused_form(page: Any) -> None:
    """A form shown again with its problems answers 200, so Chromium logs nothing for it:
    no console error at all (issue 8)."""
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert page.console_errors == []


def test_the_diary_and_a_one_click_outcome(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    overdue_case = make_case(worker, name="Olive Overdue")
    add_contact(worker, overdue_case)
    book_past(worker, overdue_case, hours_ago=5)
    later_case = make_case(worker, name="Lena Later")
    book_at(worker, later_case, datetime.now(LONDON) + timedelta(hours=3))
    ref = overdue_case.client.service_ref
    sign_in_page(page, live_server, worker)

    page.get_by_role("link", name="My diary").first.click()
    page.wait_for_url(f"{live_server}/diary")
    assert page.get_by_role("heading", name="Outcome needed").is_visible()
    assert violations(page) == []

    page.locator("#overdue").get_by_role("button", name="Did not attend").click()
    page.wait_for_url(f"{live_server}/diary")
    banner = page.locator(".nhsuk-notification-banner").inner_text()
    assert f"Recorded for {ref}" in banner
    assert "Olive" not in banner
    assert page.locator("#overdue").count() == 0
    assert violations(page) == []

    page.set_viewport_size(PHONE)
    page.reload()
    assert overflow(page) == 0
    assert page.console_errors == []


def test_booking_with_a_clash_warning(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    episode = make_case(worker, name="Bea Booking")
    other = make_case(worker, name="Cal Clash")
    day = next_working_day(today_in_london())
    book_at(worker, other, london_to_utc(day, time(10, 0)))
    episode_url = f"{live_server}/episodes/{episode.id}"
    sign_in_page(page, live_server, worker)

    page.goto(episode_url)
    page.get_by_role("button", name="Book an appointment").click()
    page.wait_for_url(f"{episode_url}/book")
    assert page.get_by_label("Day").input_value() == str(day.day)
    assert page.get_by_label("Month").input_value() == str(day.month)
    assert page.get_by_label("Year").input_value() == str(day.year)
    assert page.locator("#booked_time").input_value() == "08:00"
    assert violations(page) == []

    page.locator("#booked_time").fill("10:15")
    page.get_by_role("button", name="Book appointment").click()
    callout = page.locator(".app-booking-warning")
    assert callout.is_visible()
    assert "clashes with another of your bookings" in callout.inner_text()
    assert "Cal Clash" not in page.content()
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert violations(page) == []
    expect_refused_form(page)

    page.set_viewport_size(PHONE)
    assert overflow(page) == 0

    page.get_by_label("Book anyway").check()
    page.get_by_role("button", name="Book appointment").click()
    page.wait_for_url(episode_url)
    assert "Appointment booked for" in page.locator(".nhsuk-notification-banner").inner_text()
    assert page.console_errors == []


def test_the_caseload_at_390_px(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    for number in range(39):  # 26 in treatment (two pages), 13 waiting
        episode = make_case(
            worker,
            name=f"Alexandra Montgomery-Fitzwilliam {number:02d}",
            referral_days_ago=7 + number * 5,
        )
        if number % 3:
            add_contact(
                worker,
                episode,
                phq9=(2, 2, 2, 2, 2, 2, 2, 2, number % 2),
                risk_level=RiskLevel.LOW if number % 2 else None,
            )
    sign_in_page(page, live_server, worker)
    page.set_viewport_size(PHONE)

    page.goto(f"{live_server}/caseload?sort=name")
    assert overflow(page) == 0
    assert page.locator("#active-cases").is_visible()
    assert page.locator(".nhsuk-pagination").first.is_visible()
    assert violations(page) == []

    page.get_by_label("Search by name or service reference").fill("fitzwilliam 2")
    page.get_by_role("button", name="Show cases").click()
    page.wait_for_url(f"{live_server}/caseload?**")
    assert "q=fitzwilliam+2" in page.url
    assert "sort=name" in page.url
    assert overflow(page) == 0
    assert violations(page) == []

    page.goto(f"{live_server}/caseload?page=2&wpage=1")
    assert overflow(page) == 0
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/caseload")
    assert violations(page) == []
    assert page.console_errors == []
