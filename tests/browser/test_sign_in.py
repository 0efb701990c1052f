"""A demo worker signs in through the real forms in headless Chromium."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask

from caseload.demo import build_demo_staff, write_credentials
from caseload.extensions import db

pytestmark = pytest.mark.browser


def _now() -> datetime:
    return datetime.now(UTC)


def test_demo_worker_signs_in_and_sees_home(app: Flask, live_server: str, page: Any) -> None:
    credentials_file = Path(app.instance_path) / "demo-credentials.json"
    write_credentials(credentials_file, build_demo_staff())
    db.session.commit()
    worker = next(c for c in json.loads(credentials_file.read_text()) if c["role"] == "worker")

    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
    page.get_by_label("Username").fill(worker["username"])
    page.get_by_label("Passphrase").fill(worker["password"])
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{live_server}/login/mfa")
    assert page.get_by_role("heading", level=1).inner_text() == "Set up your authenticator"
    totp = pyotp.TOTP(worker["totp_secret"])
    shown = page.locator("#demo-code").inner_text()
    assert shown in {totp.at(totp.timecode(_now()) * 30 + d) for d in (-30, 0, 30)}
    page.get_by_label("Security code").fill(pyotp.TOTP(worker["totp_secret"]).now())
    page.get_by_role("button", name="Sign in").click()

    # A worker's home is their caseload.
    page.wait_for_url(f"{live_server}/caseload")
    assert page.get_by_role("heading", level=1).inner_text() == "My caseload"
    assert "Aisha Rahman" in page.locator(".nhsuk-header__account").inner_text()
    assert page.get_by_role("button", name="Sign out").is_visible()
    # The NHS.UK stylesheet and our module script loaded under the strict CSP.
    header_colour = page.evaluate(
        "getComputedStyle(document.querySelector('.nhsuk-header')).backgroundColor"
    )
    assert header_colour == "rgb(0, 94, 184)"
    assert page.evaluate("document.body.classList.contains('nhsuk-frontend-supported')")
    assert page.console_errors == []
