"""Browser fixtures: Debian's Chromium driven by Playwright, against a live server.

Playwright never downloads a browser here; it launches /usr/bin/chromium.
Under CI a missing browser fails the run instead of skipping.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("CASELOAD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the run."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the test app on a free local port in a background thread."""
    from caseload.extensions import db

    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page that fails the test on any console error.

    Console errors and uncaught exceptions collect in ``page.console_errors``; a test
    that expects one (a missing page's 404 is logged as a failed resource) asserts it
    and clears the list. Any left at the end fail the test.
    """
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        # Every error counts: a blocked request (the CSP refusing a font, a script or
        # an image from elsewhere) is logged as one, so a page must ask for none.
        if msg.type == "error":
            errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()
    if errors:
        pytest.fail(f"console errors: {errors}")
