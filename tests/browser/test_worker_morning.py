"""A worker's morning in real Chromium, end to end: the diary, a DNA recorded in one click,
a booking for next week, finding a discharged client and re-referring them, and a contact
with PHQ-9 item 9 unanswered that cannot be saved without the prompt being answered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from caseload.domain.codes import DischargeReason, Role
from caseload.extensions import db
from caseload.services.episodes import discharge
from caseload.web import today_in_london
from tests.browser.helpers import sign_in_page
from tests.conftest import make_user
from tests.web.helpers import add_contact, book_past, make_case

pytestmark = pytest.mark.browser


def test_a_workers_morning(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    today = today_in_london()
    # A case with a booking whose time has passed, waiting for its outcome.
    missed = make_case(worker, name="Dana Diary", referral_days_ago=30)
    add_contact(worker, missed, at=None)
    book_past(worker, missed)
    # A client this worker discharged some weeks ago.
    ended = make_case(worker, name="Robin Returning", referral_days_ago=120)
    add_contact(worker, ended)
    discharge(
        worker,
        ended,
        reason=DischargeReason.COMPLETED,
        discharged_on=today - timedelta(days=1),
        note="",
        today=today,
    )
    current = make_case(worker, name="Ira Morning", referral_days_ago=10)
    db.session.commit()
    sign_in_page(page, live_server, worker)

    # The diary: the overdue booking, recorded as did not attend in one click.
    page.get_by_role("link", name="My diary").first.click()
    page.locator("#overdue").get_by_role("button", name="Did not attend").click()
    assert "did not attend" in page.locator(".nhsuk-notification-banner").inner_text().lower()
    assert page.locator("#overdue").count() == 0

    # Book next week from the case page.
    page.goto(f"{live_server}/episodes/{current.id}")
    page.get_by_role("button", name="Book an appointment").click()
    next_week = today + timedelta(days=7 - today.weekday() + 1)  # Tuesday next week
    page.get_by_label("Day").fill(str(next_week.day))
    page.get_by_label("Month").fill(str(next_week.month))
    page.get_by_label("Year").fill(str(next_week.year))
    page.locator("#booked_time").fill("10:00")
    page.get_by_role("button", name="Book appointment").click()
    assert "Appointment booked for" in page.locator(".nhsuk-notification-banner").inner_text()

    # Find the discharged client and re-refer them.
    page.get_by_role("link", name="Find a client").first.click()
    page.get_by_label("Name, NHS number, service reference or date of birth").fill("robin")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Robin Returning", exact=True).click()
    page.get_by_role("button", name="Add a new referral").click()
    page.get_by_label("Day").fill(str(today.day))
    page.get_by_label("Month").fill(str(today.month))
    page.get_by_label("Year").fill(str(today.year))
    page.get_by_label("Self-referral").check()
    page.get_by_label("What was the client told to expect from us?").select_option("Counselling")
    page.get_by_label("What is the main problem the client was referred for?").select_option(
        "Depression"
    )
    page.get_by_role("button", name="Add referral").click()
    assert page.locator(".nhsuk-notification-banner").is_visible()

    # A contact with PHQ-9 item 9 unanswered: prompted at the top, not saved.
    page.goto(f"{live_server}/episodes/{current.id}/contacts/new")
    for number in range(1, 9):
        page.locator(f"input[name='phq9-{number}'][value='1']").check()
    for number in range(1, 8):
        page.locator(f"input[name='gad7-{number}'][value='1']").check()
    page.get_by_role("button", name="Save contact").click()
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    assert summary.locator("li").first.inner_text().startswith("PHQ-9 item 9")
    assert page.console_errors == []  # the refused form answers 200: nothing logged
