"""The safety pages in Chromium: the item-9 prompt at the top of the contact form, the reason
for an unfinished questionnaire appearing as items are answered, the discharge page with open
risk and a blocking booking, and the chart's missed appointments. axe finds no WCAG 2.2 A/AA
violation on any of them and no page logs a console error."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from caseload.domain.codes import AttendanceCode, RiskLevel, Role
from caseload.extensions import db
from caseload.models import Episode
from tests.browser.helpers import sign_in_page
from tests.browser.test_accessibility import violations
from tests.conftest import make_user
from tests.web.helpers import add_contact, make_case, utc_now

pytestmark = pytest.mark.browser

#: Whether an element is wholly inside the viewport.
IN_VIEW = (
    "el => { const box = el.getBoundingClientRect(); "
    "return box.top >= 0 && box.bottom <= innerHeight }"
)
#: PHQ-9 items 1-8, leaving item 9 unanswered.
ITEMS_1_TO_8 = (1, 1, 1, 1, 1, 1, 1, 1)


def answer(page: Any, measure: str, answers: tuple[int, ...]) -> None:
    for number, value in enumerate(answers, start=1):
        page.locator(f"input[name='{measure}-{number}'][value='{value}']").check()


def test_item_9_unanswered_is_prompted_at_the_top(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    episode = make_case(worker, name="Ira Itemnine", referral_days_ago=14)
    url = f"{live_server}/episodes/{episode.id}/contacts/new"
    sign_in_page(page, live_server, worker)
    page.goto(url)

    reason_block = page.locator("fieldset[data-measure='phq9'] [data-incomplete]")
    warning = page.locator("fieldset[data-measure='phq9'] [data-risk-missing]")
    assert reason_block.is_hidden()
    answer(page, "phq9", ITEMS_1_TO_8)
    answer(page, "gad7", (1, 1, 1, 1, 1, 1, 1))
    # As soon as the PHQ-9 is partly answered with item 9 blank, the form says so.
    assert reason_block.is_visible()
    assert warning.is_visible()
    assert (
        "No total yet: 8 of 9 answered"
        in page.locator(".app-questionnaire[data-measure='phq9'] .app-live-total").inner_text()
    )
    risk = page.locator("#risk-assessment")
    assert "app-risk--required" in (risk.get_attribute("class") or "")
    assert "PHQ-9 item 9 is not answered" in risk.locator("[data-risk-prompt]").inner_text()

    page.get_by_role("button", name="Save contact").click()
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    assert page.console_errors == []  # the refused form answers 200: nothing logged
    first = summary.locator("li").first
    assert first.inner_text().startswith("PHQ-9 item 9")
    # The summary is at the top of the page and its first link goes to the item.
    assert summary.bounding_box()["y"] < page.locator("h1").bounding_box()["y"]
    first.locator("a").click()
    # The design system's error summary scrolls the item's question into view.
    assert page.locator("#phq9-9").evaluate(IN_VIEW)
    assert warning.is_visible()
    found = violations(page)

    # Answering item 9 takes the warning away; "other" asks for words.
    page.locator("input[name='phq9-9'][value='0']").check()
    assert warning.is_hidden()
    assert "app-risk--required" not in (risk.get_attribute("class") or "")
    page.locator("input[name='phq9-8']").first.evaluate("el => { el.checked = false }")
    page.locator("fieldset[data-measure='phq9']").dispatch_event("change")
    assert reason_block.is_visible()
    note = page.locator("input[name='phq9_incomplete_note']")
    assert note.is_hidden()
    page.locator("select[name='phq9_incomplete_reason']").select_option("other")
    assert note.is_visible()
    assert found == []
    assert page.console_errors == []


def at_risk_with_a_booking(worker: Any) -> Episode:
    episode = make_case(worker, name="Rowan Risk", referral_days_ago=40)
    add_contact(worker, episode, at=utc_now() - timedelta(days=30))
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=23),
        attendance=AttendanceCode.DID_NOT_ATTEND,
    )
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=16),
        attendance=AttendanceCode.CANCELLED_BY_PROVIDER,
    )
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=2),
        phq9=(2, 2, 1, 1, 1, 1, 1, 1, 2),
        risk_level=RiskLevel.HIGH,
        risk_action="Crisis team contacted with consent; GP informed.",
    )
    add_contact(worker, episode, at=utc_now() + timedelta(days=5), attendance=AttendanceCode.BOOKED)
    return episode


def test_discharge_with_open_risk_and_a_booking(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    episode = at_risk_with_a_booking(worker)
    db.session.commit()
    sign_in_page(page, live_server, worker)
    page.goto(f"{live_server}/episodes/{episode.id}/discharge")
    assert page.locator("#booked-contacts").is_visible()
    assert page.locator("#open-risk").is_visible()
    assert "PHQ-9 item 9 scored 2" in page.locator("#open-risk").inner_text()
    found = {"discharge page": violations(page)}

    page.get_by_label("Completed treatment").check()
    page.get_by_role("button", name="Discharge").click()
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    assert page.console_errors == []  # the refused form answers 200: nothing logged
    assert "booked contact" in summary.inner_text()
    assert "Confirm that you have checked the open risk" in summary.inner_text()
    found["discharge refused"] = violations(page)

    # The booking's own link leads to recording its outcome.
    page.locator("#booked-contacts").get_by_role("link", name="Record outcome").click()
    page.wait_for_url(f"{live_server}/contacts/*/outcome")
    assert found == {name: [] for name in found}
    assert page.console_errors == []


def test_the_chart_marks_missed_appointments_below_the_scores(
    app: Flask, live_server: str, page: Any
) -> None:
    worker = make_user(Role.WORKER)
    episode = at_risk_with_a_booking(worker)
    db.session.commit()
    sign_in_page(page, live_server, worker)
    page.goto(f"{live_server}/episodes/{episode.id}")
    page.wait_for_selector("#outcome-chart[data-rendered='true']")
    legend = page.locator("#outcome-chart .legend").text_content() or ""
    assert "Did not attend" in legend
    assert "Cancelled" in legend
    # The missed markers are drawn in the bottom strip, below every score of either plot.
    missed = page.locator("#outcome-chart .subplot.x3y3 .scatterlayer path.point")
    scores = page.locator(
        "#outcome-chart .subplot.xy .scatterlayer path.point,"
        " #outcome-chart .subplot.x2y2 .scatterlayer path.point"
    )
    assert missed.count() == 2
    assert scores.count() == 4  # PHQ-9 and GAD-7 at the two attended contacts
    lowest_score = max(box["y"] for box in (s.bounding_box() for s in scores.all()) if box)
    assert all(
        box is not None and box["y"] > lowest_score
        for box in (m.bounding_box() for m in missed.all())
    )
    found = violations(page)
    page.locator("summary", has_text="Scores as a table").click()
    assert "Cancelled by provider" in page.locator("#scores-table").inner_text()
    assert found == []
    assert page.console_errors == []
