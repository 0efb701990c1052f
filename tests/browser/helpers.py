"""Helpers for browser tests."""

from __future__ import annotations

from typing import Any

from caseload.extensions import db
from tests.conftest import PASSWORD, next_code


def sign_in_page(page: Any, base: str, user: Any) -> None:
    """Sign in through the forms. The test's own transaction is ended before each request,
    since on SQLite an open transaction holds the write lock the server needs."""
    username = user.username
    db.session.commit()
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Passphrase").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/login/mfa")
    code = next_code(user)
    db.session.commit()
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/caseload")
