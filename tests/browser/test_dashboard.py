"""The demo lead's service dashboard in real Chromium (issue 11): every SPC chart drawn, no
console error, no WCAG 2.2 A/AA violation, filters that work, and no client named."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from caseload.db import utcnow
from caseload.demo import build_demo_service, build_demo_staff
from caseload.domain.codes import Role
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import Client, Team, User
from tests.browser.test_accessibility import violations
from tests.conftest import next_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A small demo service: enough history for most charts, quick to build.
CLIENTS = 160


@pytest.fixture
def demo_lead(app: Flask) -> tuple[User, str]:
    """The demo staff and a small demo service up to today; the demo lead (enrolled in
    TOTP, as after a first sign-in) and their passphrase."""
    credentials = build_demo_staff()
    now = utcnow()
    build_demo_service(today=local_date(now), now=now, clients=CLIENTS)
    lead = db.session.scalar(select(User).where(User.role == Role.LEAD))
    assert lead is not None
    lead.totp_confirmed_at = now
    db.session.commit()
    (passphrase,) = [c.password for c in credentials if c.username == lead.username]
    return lead, passphrase


def sign_in(page: Any, base: str, user: User, passphrase: str) -> None:
    """Sign in through the forms with the demo passphrase and a fresh security code."""
    db.session.commit()
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Passphrase").fill(passphrase)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/login/mfa")
    code = next_code(user)
    db.session.commit()
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/lead/")


def settle(page: Any) -> None:
    """Wait until every chart has been drawn or has failed (a selector, not a script: the
    CSP forbids the eval wait_for_function needs)."""
    page.wait_for_selector("body.nhsuk-frontend-supported", state="attached")
    page.wait_for_selector(".app-chart[data-figure]:not([data-rendered])", state="detached")


def test_the_demo_lead_sees_every_chart_drawn(
    app: Flask, live_server: str, page: Any, demo_lead: tuple[User, str]
) -> None:
    # Signing in lands on the lead's home: the dashboard.
    sign_in(page, live_server, *demo_lead)
    settle(page)
    charts = page.locator(".app-chart[data-figure]")
    assert charts.count() >= 8
    drawn = [charts.nth(i).get_attribute("data-rendered") for i in range(charts.count())]
    assert drawn == ["true"] * charts.count()
    # Plotly drew each one: an SVG with its points.
    assert page.locator(".app-chart .main-svg").count() >= charts.count()
    assert page.locator("#spc-heading-recovery_rate").is_visible()
    assert violations(page) == []

    # No client is named anywhere on the page.
    text = page.locator("main").inner_text()
    for name, ref in db.session.execute(select(Client.name, Client.service_ref)).all()[:50]:
        assert name not in text
        assert ref not in text

    # Filter by a team: the page says so and still draws its charts.
    team = db.session.scalars(select(Team).order_by(Team.name)).first()
    assert team is not None
    # On SQLite the test's own transaction holds the write lock the server's audit needs.
    db.session.commit()
    page.get_by_label("Team").select_option(label=team.name)
    page.get_by_role("button", name="Show figures").click()
    page.wait_for_url(lambda url: f"team={team.id}" in url)
    settle(page)
    assert f"for {team.name}" in page.locator(".nhsuk-lede-text").inner_text()
    drawn = page.locator(".app-chart[data-figure]")
    assert [drawn.nth(i).get_attribute("data-rendered") for i in range(drawn.count())] == [
        "true"
    ] * drawn.count()
    assert violations(page) == []

    # The CSV link downloads the table.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the table as CSV").click()
    path = download.value.path()
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().strip()
    assert header.startswith("month,referrals,entered_treatment,finished,")
