"""The demo lead's findings view in real Chromium (issue 12): all nine sections with every
chart drawn, no console error, no WCAG 2.2 A/AA violation on screen or in the printable
version, and no worker, client or note text anywhere in it."""

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
from caseload.lead.findings_page import SECTION_KEYS
from caseload.models import Client, ReflectiveNote, Team, User
from tests.browser.test_accessibility import violations
from tests.browser.test_console import sign_in_as
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A small demo service: every section has something to show, quick to build.
CLIENTS = 240


@pytest.fixture
def demo_lead(app: Flask) -> User:
    """The demo staff and a small demo service up to today, and a lead who signs in with
    the test passphrase (the demo accounts' passphrases are random)."""
    build_demo_staff()
    now = utcnow()
    build_demo_service(today=local_date(now), now=now, clients=CLIENTS)
    return make_user(Role.LEAD, username="findings-lead")


def settle(page: Any) -> None:
    """Wait until every chart has been drawn or has failed (a selector, not a script: the
    CSP forbids the eval wait_for_function needs)."""
    page.wait_for_selector("body.nhsuk-frontend-supported", state="attached")
    page.wait_for_selector(".app-chart[data-figure]:not([data-rendered])", state="detached")


def drawn(page: Any) -> list[str | None]:
    charts = page.locator(".app-chart[data-figure]")
    return [charts.nth(i).get_attribute("data-rendered") for i in range(charts.count())]


def test_the_demo_lead_reads_every_finding(
    app: Flask, live_server: str, page: Any, demo_lead: User
) -> None:
    # What must appear nowhere, read before the browser starts: on SQLite the test's own
    # transaction would hold the lock the server's audit writes need.
    clients = db.session.execute(select(Client.name, Client.service_ref).limit(80)).all()
    staff = [
        name
        for (name,) in db.session.execute(select(User.display_name)).all()
        if name != demo_lead.display_name
    ]
    notes = [text for (text,) in db.session.execute(select(ReflectiveNote.text).limit(40))]
    team = db.session.scalars(select(Team).order_by(Team.name)).first()
    assert team is not None
    team_id, team_name = team.id, team.name
    db.session.commit()

    sign_in_as(page, live_server, demo_lead)
    page.get_by_role("link", name="Findings").click()
    page.wait_for_url(f"{live_server}/lead/findings")
    settle(page)
    for key in SECTION_KEYS:
        assert page.locator(f"#finding-{key}").is_visible(), key
        assert page.locator(f"#finding-{key}-reading").inner_text().strip(), key
    assert len(drawn(page)) >= len(SECTION_KEYS)
    assert drawn(page) == ["true"] * len(drawn(page))
    assert page.locator(".app-finding__chart .main-svg").count() >= len(drawn(page))
    # "How this is measured" opens from the keyboard.
    summary = page.locator("#finding-load-measure summary")
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("#finding-load-measure .nhsuk-details__text").is_visible()
    assert violations(page) == []

    text = page.locator("main").inner_text()
    for name, ref in clients:
        assert name not in text
        assert ref not in text
    for name in staff:
        assert name not in text
    for note_text in notes:
        assert note_text not in text

    # One team's findings, then the printable version with the team and period on it.
    page.get_by_label("Team", exact=True).select_option(label=team_name)
    page.get_by_role("button", name="Show findings").click()
    page.wait_for_url(lambda url: f"team={team_id}" in url)
    settle(page)
    assert drawn(page) == ["true"] * len(drawn(page))
    page.get_by_role("link", name="Printable version").click()
    page.wait_for_url(lambda url: "print=1" in url)
    settle(page)
    assert team_name in page.locator("#findings-scope").inner_text()
    assert page.locator("details[open]").count() == len(SECTION_KEYS)
    assert drawn(page) == ["true"] * len(drawn(page))
    assert violations(page) == []
    page.emulate_media(media="print")
    assert not page.locator(".nhsuk-header__navigation").is_visible()
    assert page.locator("#findings-scope").is_visible()
    assert page.console_errors == []
