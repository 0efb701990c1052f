"""A supervisor's hour in real Chromium: the exception queue of a demo-like team, a red
case reviewed and gone from the queue, a supervision session through one worker's flagged
cases, team load with a plotly chart per worker, shared notes and a reassignment form; axe
finds no WCAG 2.2 A/AA violation on any of them and no page logs a console error."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from caseload.domain.codes import (
    ComplexityFactor,
    ReferralSource,
    ReflectiveTheme,
    RiskLevel,
    Role,
)
from caseload.extensions import db
from caseload.models import Episode, User
from caseload.services import supervision as supervision_service
from caseload.services.clients import ClientDetails, Referral, register_client
from caseload.services.notes import write_note
from caseload.web import today_in_london
from tests.browser.test_accessibility import violations
from tests.browser.test_console import open_and_settle, sign_in_as
from tests.conftest import make_user
from tests.web.helpers import add_contact, make_case, reload, utc_now

pytestmark = pytest.mark.browser

#: PHQ-9 answers with item 9 at 2: a risk signal.
PHQ9_ITEM9 = (2, 2, 2, 1, 1, 1, 1, 1, 2)


def worker_named(name: str) -> User:
    user = make_user(Role.WORKER, team="North team")
    user.display_name = name
    db.session.commit()
    return user


def demo_like_team() -> tuple[User, dict[str, User], dict[str, Episode]]:
    """A supervisor with three workers: red, amber and quiet cases, scores over several
    contacts, complexity, and notes both shared and private."""
    supervisor = make_user(Role.SUPERVISOR, username="browser-sup", team="North team")
    supervisor.display_name = "Sam Supervisor"
    workers = {name: worker_named(name) for name in ("Ana Ahmed", "Ben Brown", "Cat Cole")}
    ana, ben, cat = workers.values()
    cases: dict[str, Episode] = {}
    red = make_case(ana, name="Rowan Red", referral_days_ago=45)
    for days_ago, phq9 in ((30, (2,) * 8 + (0,)), (16, (2,) * 8 + (1,)), (2, PHQ9_ITEM9)):
        add_contact(
            ana,
            red,
            at=utc_now() - timedelta(days=days_ago),
            phq9=phq9,
            risk_level=RiskLevel.MODERATE if phq9[-1] else None,
            risk_action="Safety plan agreed." if phq9[-1] else "",
        )
    cases["red"] = red
    amber = make_case(ana, name="Amy Amber", referral_days_ago=60)
    add_contact(ana, amber, at=utc_now() - timedelta(days=35))
    cases["amber"] = amber
    complex_case = register_client(
        ben,
        details=ClientDetails(name="Cody Complex", date_of_birth=date(1985, 2, 3)),
        referral=Referral(
            referral_date=today_in_london() - timedelta(days=12),
            referral_source=ReferralSource.SELF,
            referrer_expectation="Counselling",
            presenting_problem="Depression",
            complexity_factors=frozenset({ComplexityFactor.HOUSING}),
        ),
        consented=True,
        consent_note="Asked at registration",
        today=today_in_london(),
    )
    db.session.commit()
    add_contact(ben, complex_case, at=utc_now() - timedelta(days=4))
    cases["complex"] = complex_case
    for number in range(3):
        quiet = make_case(cat, name=f"Quinn Quiet {number}", referral_days_ago=6)
        add_contact(cat, quiet, at=utc_now() - timedelta(days=1))
    write_note(
        ana,
        text="Two risky cases this week; glad of supervision.",
        themes=[ReflectiveTheme.RISK_AND_COMPLEXITY],
        episode_id=red.id,
        manageability=2,
        shared_with_supervisor=True,
    )
    write_note(ana, text="PRIVATE NOTE, never shown.", themes=[ReflectiveTheme.RECOGNITION])
    db.session.commit()
    return supervisor, workers, cases


def review_link(page: Any, ref: str) -> Any:
    """The "Review" link of a queue row."""
    return page.locator("#queue tbody tr").filter(has_text=ref).get_by_role("link", name="Review")


def queue_text(page: Any) -> str:
    return str(page.locator("#queue").inner_text())


def test_a_supervisor_reviews_a_red_case_runs_a_session_and_sees_team_load(
    app: Flask, live_server: str, page: Any
) -> None:
    supervisor, workers, cases = demo_like_team()
    red_ref = reload(cases["red"]).client.service_ref
    amber_ref = reload(cases["amber"]).client.service_ref
    complex_ref = reload(cases["complex"]).client.service_ref
    sign_in_as(page, live_server, supervisor)
    found: dict[str, list[str]] = {}

    # The queue is the supervisor's home: red first, then amber.
    assert page.url == f"{live_server}/supervision/"
    page.wait_for_selector("body.nhsuk-frontend-supported", state="attached")
    rows = page.locator("#queue tbody tr")
    assert red_ref in rows.nth(0).inner_text()
    assert "Red" in rows.nth(0).inner_text()
    assert amber_ref in queue_text(page)
    assert complex_ref in queue_text(page)
    found["queue"] = violations(page)

    # Review the red case from its row; it leaves the queue.
    page.locator("#queue tbody tr").filter(has_text=red_ref).get_by_role(
        "link", name="Review"
    ).click()
    page.wait_for_selector("#review-form")
    assert "item 9" in page.locator("#flags-to-discuss").inner_text()
    found["review form"] = violations(page)
    page.get_by_label("Why was this case discussed?").fill("Item 9 scored 2 at the last contact.")
    page.get_by_label("Review risk").check()
    page.get_by_label("Note for the practitioner").fill("Call this week; update the safety plan.")
    page.get_by_role("button", name="Save review").click()
    page.wait_for_url(f"{live_server}/supervision/")
    assert "Review saved" in page.locator(".nhsuk-notification-banner").inner_text()
    assert red_ref not in queue_text(page)
    assert amber_ref in queue_text(page)

    # A review refused for its problems shows them at the top.
    review_link(page, amber_ref).click()
    page.get_by_role("button", name="Save review").click()
    assert page.locator(".nhsuk-error-summary").is_visible()
    found["review form with errors"] = violations(page)
    assert page.console_errors == []  # the refused form answers 200: nothing logged

    # A session through Ana's flagged cases: the amber one is left to discuss.
    open_and_settle(page, f"{live_server}/supervision/")
    page.get_by_role("button", name="Start a supervision session with Ana Ahmed").click()
    page.wait_for_selector("h1")
    assert "Case 1 of" in page.locator("h1").inner_text()
    assert amber_ref in page.locator("h1").inner_text()
    found["session case"] = violations(page)
    page.get_by_role("button", name="End session").click()
    page.wait_for_selector("#session-summary")
    assert "Session ended" in page.locator(".nhsuk-notification-banner").inner_text()
    found["session summary"] = violations(page)

    # Team load: a plotly chart per worker, each with the cap, and its table.
    page.get_by_role("link", name="Team load").first.click()
    page.wait_for_selector(".app-chart[data-rendered]", state="attached")
    charts = page.locator(".app-chart")
    assert charts.count() == len(workers)
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.wait_for(state="attached")
        page.wait_for_selector(
            f"#{chart.get_attribute('id')}[data-rendered='true']", state="attached"
        )
        assert chart.locator("svg.main-svg").count() > 0
        assert "Cap 45" in (chart.text_content() or "")
    assert page.locator(".js-plotly-plot").count() == len(workers)
    assert page.locator("details table").count() == len(workers)
    found["team load"] = violations(page)

    # Shared notes: what Ana shared, never her private note.
    page.get_by_role("link", name="Shared notes").first.click()
    notes = page.locator("#shared-notes").inner_text()
    assert "Two risky cases this week" in notes
    assert "PRIVATE NOTE" not in notes
    found["shared notes"] = violations(page)

    # The reassignment form, from the case page's link.
    open_and_settle(page, f"{live_server}/episodes/{cases['complex'].id}")
    page.get_by_role("link", name="Reassign this case to another practitioner").click()
    page.wait_for_selector("#to_worker_id")
    found["reassign"] = violations(page)
    page.locator("#to_worker_id").select_option(label="Cat Cole")
    page.get_by_label("Reason for the move").fill("Ben is above his planned load.")
    page.get_by_role("button", name="Reassign the case").click()
    assert "moved to Cat Cole" in page.locator(".nhsuk-notification-banner").inner_text()
    found["case page after the move"] = violations(page)

    assert found == {name: [] for name in found}


def test_the_queue_pages_through_one_practitioner_s_cases(
    app: Flask, live_server: str, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One row a page, so Ana's two flagged cases make two pages; the practitioner filter
    is kept from page to page and the paged queue has no accessibility violation."""
    monkeypatch.setattr(supervision_service, "QUEUE_PAGE_SIZE", 1)
    supervisor, workers, cases = demo_like_team()
    red_ref = reload(cases["red"]).client.service_ref
    amber_ref = reload(cases["amber"]).client.service_ref
    sign_in_as(page, live_server, supervisor)
    page.locator("#worker-filter").get_by_role("link", name="Ana Ahmed").click()
    page.wait_for_selector("#queue-pages")
    assert red_ref in queue_text(page)
    assert amber_ref not in queue_text(page)
    assert "Page 1 of 2" in page.locator("#queue-page-status").inner_text()
    assert violations(page) == []

    page.locator("#queue-pages").get_by_role("link", name="Next").click()
    page.wait_for_selector("#queue-page-status")
    assert f"worker={workers['Ana Ahmed'].id}" in page.url
    assert "page=2" in page.url
    assert amber_ref in queue_text(page)
    assert red_ref not in queue_text(page)
    assert "Page 2 of 2" in page.locator("#queue-page-status").inner_text()
    assert "2 cases to discuss (filtered)" in queue_text(page)
    page.locator("#queue-pages").get_by_role("link", name="Previous").click()
    page.wait_for_selector("#queue-page-status")
    assert red_ref in queue_text(page)
    assert page.console_errors == []
