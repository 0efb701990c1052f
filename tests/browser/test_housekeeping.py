"""The footer's accessibility statement and privacy notice pass axe's WCAG 2.2 A/AA
rules in real Chromium, signed out and signed in, and the footer reaches them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from caseload.domain.codes import Role
from tests.browser.test_accessibility import violations
from tests.browser.test_console import open_and_settle, sign_in_as
from tests.conftest import make_user

pytestmark = pytest.mark.browser

ABOUT_PAGES = {
    "accessibility statement": "/about/accessibility",
    "privacy notice": "/about/privacy",
}


def test_about_pages_have_no_wcag_violations(app: Flask, live_server: str, page: Any) -> None:
    found = {}
    for name, path in ABOUT_PAGES.items():
        open_and_settle(page, live_server + path)
        found[f"{name}, signed out"] = violations(page)
    sign_in_as(page, live_server, make_user(Role.WORKER))
    for name, path in ABOUT_PAGES.items():
        open_and_settle(page, live_server + path)
        found[f"{name}, signed in"] = violations(page)
    assert found == {name: [] for name in found}


def test_the_footer_leads_to_both_pages(app: Flask, live_server: str, page: Any) -> None:
    open_and_settle(page, live_server + "/login")
    footer = page.get_by_role("contentinfo")
    footer.get_by_role("link", name="Privacy notice").click()
    page.wait_for_url(f"{live_server}/about/privacy")
    assert page.get_by_role("heading", level=1).inner_text() == "Privacy notice"
    page.get_by_role("contentinfo").get_by_role("link", name="Accessibility statement").click()
    page.wait_for_url(f"{live_server}/about/accessibility")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Accessibility statement")
