"""The demo administrator creates an account in real Chromium, and the new person completes
their first sign-in: the temporary passphrase, a passphrase of their own, then the
authenticator enrolment with a TOTP code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from caseload.demo import build_demo_staff, write_credentials
from caseload.extensions import db
from caseload.models import User

pytestmark = pytest.mark.browser

NEW_PASSPHRASE = "copper meadow lantern thistle"


def sign_in_demo(page: Any, base: str, username: str, password: str, secret: str) -> None:
    """A demo account's first sign-in: passphrase, then the code from its secret."""
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Passphrase").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/login/mfa")
    page.get_by_label("Security code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_the_demo_admin_creates_an_account_and_the_new_user_signs_in(
    app: Flask, live_server: str, page: Any
) -> None:
    staff = build_demo_staff()
    write_credentials(Path(app.instance_path) / "demo-credentials.json", staff)
    db.session.commit()
    admin = next(c for c in staff if c.role == "admin")
    sign_in_demo(page, live_server, admin.username, admin.password, admin.totp_secret)

    page.get_by_role("link", name="Accounts").click()
    page.wait_for_url(f"{live_server}/admin/accounts")
    page.get_by_role("button", name="Create an account").click()
    page.get_by_label("Username").fill("jo.newcomer")
    page.get_by_label("Full name").fill("Jo Newcomer")
    page.get_by_label("Practitioner").check()
    page.get_by_label("Team").select_option(label="North team")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_selector("#temporary-passphrase-value")
    temporary = page.locator("#temporary-passphrase-value").inner_text().strip()
    assert len(temporary) >= 15
    assert "Account created for Jo Newcomer." in page.locator("main").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")

    # The newcomer: temporary passphrase, then their own, then the authenticator.
    page.get_by_label("Username").fill("jo.newcomer")
    page.get_by_label("Passphrase").fill(temporary)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server}/login/new-passphrase")
    assert page.get_by_role("heading", level=1).inner_text() == "Choose your passphrase"
    page.get_by_label("New passphrase", exact=True).fill(NEW_PASSPHRASE)
    page.get_by_label("New passphrase again").fill(NEW_PASSPHRASE)
    page.get_by_role("button", name="Save passphrase").click()
    page.wait_for_url(f"{live_server}/login/mfa")
    assert page.get_by_role("heading", level=1).inner_text() == "Set up your authenticator"
    assert page.locator("#demo-code").count() == 0  # a real account never shows its code
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Security code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/caseload")
    assert page.get_by_role("heading", level=1).inner_text() == "My caseload"
    assert "Jo Newcomer" in page.locator(".nhsuk-header__account").inner_text()

    db.session.commit()
    user = db.session.scalar(select(User).where(User.username == "jo.newcomer"))
    assert user is not None
    assert not user.must_change_password
    assert user.mfa_enrolled
    assert user.team is not None
    assert user.team.name == "North team"
    assert not user.is_demo
