"""A worker logs a contact with both questionnaires in Chromium and sees the chart change."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from caseload.domain.codes import ReferralSource, Role
from caseload.extensions import db
from caseload.services.clients import ClientDetails, Referral, register_client
from caseload.web import today_in_london
from tests.browser.helpers import sign_in_page
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_log_contact_with_both_questionnaires_updates_the_chart(
    app: Flask, live_server: str, page: Any
) -> None:
    worker = make_user(Role.WORKER)
    episode = register_client(
        worker,
        details=ClientDetails(name="Robin Example", date_of_birth=date(1985, 3, 1)),
        referral=Referral(
            referral_date=today_in_london() - timedelta(days=14),
            referral_source=ReferralSource.GP,
            referrer_expectation="Counselling",
            presenting_problem="Depression",
        ),
        consented=True,
        consent_note="Agreed",
        today=today_in_london(),
    )
    episode_id = episode.id
    db.session.commit()
    sign_in_page(page, live_server, worker)

    page.get_by_role("link", name="Robin Example").click()
    page.wait_for_selector("#outcome-chart[data-rendered='true']")
    assert "No scores recorded yet" in page.locator("#outcome-chart").inner_text()
    assert page.locator("#outcome-chart .scatterlayer .trace path.js-line").count() == 0

    page.get_by_role("button", name="Log a contact").click()
    page.wait_for_url(f"{live_server}/episodes/{episode_id}/contacts/new")
    page.locator("#contact_type").select_option("assessment_and_treatment")
    phq9 = [2, 2, 1, 2, 1, 2, 1, 1, 1]  # item 9 answered 1: risk must be assessed
    gad7 = [2, 1, 2, 1, 1, 2, 1]
    for number, value in enumerate(phq9, start=1):
        page.locator(f"input[name='phq9-{number}'][value='{value}']").check()
    for number, value in enumerate(gad7, start=1):
        page.locator(f"input[name='gad7-{number}'][value='{value}']").check()
    # Live totals while answering; the risk section asks for an assessment.
    live = page.locator(".app-questionnaire[data-measure='phq9'] .app-live-total").inner_text()
    assert "13" in live
    assert "Moderate" in live
    assert page.locator("#risk-assessment").get_attribute("class").find("app-risk--required") >= 0
    page.get_by_role("button", name="Save contact").click()
    # Saving without the risk assessment is refused, and the answers are kept.
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert page.locator("input[name='phq9-9'][value='1']").is_checked()
    assert page.console_errors == []  # the refused form answers 200: nothing logged
    page.locator("input[name='risk_level'][value='low']").check()
    page.get_by_label("Action taken").fill("Safety plan reviewed; crisis numbers given.")
    page.get_by_role("button", name="Save contact").click()

    page.wait_for_url(f"{live_server}/episodes/{episode_id}")
    banner = page.locator(".nhsuk-notification-banner").inner_text()
    assert "Contact saved. PHQ-9 13. GAD-7 10." in banner
    page.wait_for_selector("#outcome-chart[data-rendered='true']")
    summary = page.locator("#outcome-chart").get_attribute("aria-label")
    assert "PHQ-9 was 13" in summary
    assert "GAD-7 was 10" in summary
    assert page.locator("#outcome-chart .scatterlayer .trace .points path").count() >= 2
    # plotly's stylesheet came from our file, so the layout is intact under the CSP.
    position = page.evaluate(
        "getComputedStyle(document.querySelector('#outcome-chart .main-svg')).position"
    )
    assert position == "absolute"
    assert page.console_errors == []
