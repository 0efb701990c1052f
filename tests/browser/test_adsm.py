"""The contact form of a PTSD episode, with its PCL-5, in real Chromium: the live total,
saving, and no WCAG 2.2 A/AA violation or console error on the form or the pages that
then show the PCL-5 as the episode's anxiety measure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from caseload.db import utcnow
from caseload.domain.codes import AttendanceCode, ContactMode, ContactType, ReferralSource, Role
from caseload.extensions import db
from caseload.services.clients import ClientDetails, Referral, register_client
from caseload.services.contacts import ContactInput, log_contact
from caseload.web import today_in_london
from tests.browser.helpers import sign_in_page
from tests.browser.test_accessibility import violations
from tests.conftest import make_user
from tests.web.helpers import GAD7_MILD, PHQ9_MILD

pytestmark = pytest.mark.browser

PTSD = "Post-traumatic stress disorder"


def test_contact_form_with_the_pcl5_is_accessible(app: Flask, live_server: str, page: Any) -> None:
    worker = make_user(Role.WORKER)
    today = today_in_london()
    episode = register_client(
        worker,
        details=ClientDetails(name="Pat Checklist", date_of_birth=today.replace(year=1979)),
        referral=Referral(
            referral_date=today - timedelta(days=30),
            referral_source=ReferralSource.GP,
            referrer_expectation="Counselling",
            presenting_problem=PTSD,
        ),
        consented=True,
        consent_note="Agreed",
        today=today,
    )
    # An assessment with the PCL-5 at 60, so the next one pairs it.
    log_contact(
        worker,
        episode,
        ContactInput(
            occurred_at=utcnow() - timedelta(days=7),
            contact_type=ContactType.ASSESSMENT_AND_TREATMENT,
            mode=ContactMode.TELEPHONE,
            attendance=AttendanceCode.ATTENDED_ON_TIME,
            answers={"phq9": list(PHQ9_MILD), "gad7": list(GAD7_MILD), "pcl5": [3] * 20},
        ),
    )
    episode_url = f"{live_server}/episodes/{episode.id}"
    db.session.commit()
    sign_in_page(page, live_server, worker)

    found = {}
    page.goto(episode_url + "/contacts/new")
    pcl5 = page.locator(".app-questionnaire[data-measure='pcl5']")
    page.get_by_text("Add the PTSD Checklist for DSM-5 (PCL-5) (optional)").click()
    assert pcl5.is_visible()
    found["contact form, PCL-5 open"] = violations(page)

    for number, value in enumerate(PHQ9_MILD, start=1):
        page.locator(f"input[name='phq9-{number}'][value='{value}']").check()
    for number, value in enumerate(GAD7_MILD, start=1):
        page.locator(f"input[name='gad7-{number}'][value='{value}']").check()
    for number in range(1, 11):
        page.locator(f"input[name='pcl5-{number}'][value='1']").check()
    assert "10 of 20 answered" in pcl5.locator(".app-live-total").inner_text()
    for number in range(11, 21):
        page.locator(f"input[name='pcl5-{number}'][value='1']").check()
    # The PCL-5 has no published severity bands: the total stands alone.
    assert pcl5.locator(".app-live-total").inner_text().strip() == "Total 20"
    found["contact form, PCL-5 answered"] = violations(page)

    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url(episode_url)
    assert "PCL-5 20." in page.locator(".nhsuk-notification-banner").inner_text()
    page.wait_for_selector("#outcome-chart[data-rendered='true']")
    found["episode"] = violations(page)

    page.goto(episode_url + "/discharge")
    assert "PCL-5 first and last" in page.locator("#anxiety-measure").inner_text()
    found["discharge, PCL-5 as the anxiety measure"] = violations(page)
    assert found == {name: [] for name in found}
    assert page.console_errors == []
