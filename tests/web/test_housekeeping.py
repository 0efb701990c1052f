"""Housekeeping a newcomer hit: the footer's accessibility statement and privacy notice,
the service name from a setting, the NHS.UK stylesheet without blocked web fonts, and
the make targets and README a first run depends on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from caseload import create_app
from caseload.assets import without_font_faces
from caseload.config import ROOT
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.services.settings import service_settings
from tests.conftest import base_config
from tests.web.helpers import page

ABOUT_PAGES = ("/about/accessibility", "/about/privacy")


@pytest.fixture
def configured(app: Flask, tmp_path: Any) -> Iterator[Callable[..., FlaskClient]]:
    """Make a client of another app on the same database with some settings changed; its
    engine is disposed afterwards (an app's pool left to the garbage collector would leave
    PostgreSQL connections open until some later test)."""
    others: list[Flask] = []

    def make(**settings: str) -> FlaskClient:
        config = base_config(app.config["DATABASE_URL"], tmp_path / f"other-{len(others)}")
        other = create_app(config | settings)
        others.append(other)
        return other.test_client()

    yield make
    for other in others:
        with other.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("path", ABOUT_PAGES)
def test_about_pages_are_public(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/login", "/about/privacy"])
def test_the_footer_links_both_pages_signed_out(client: FlaskClient, path: str) -> None:
    footer = page(client.get(path)).split('<footer class="nhsuk-footer"')[1]
    assert 'href="/about/accessibility">Accessibility statement</a>' in footer
    assert 'href="/about/privacy">Privacy notice</a>' in footer


def test_the_footer_links_both_pages_signed_in(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    footer = page(client.get("/caseload")).split('<footer class="nhsuk-footer"')[1]
    assert "/about/accessibility" in footer
    assert "/about/privacy" in footer


def test_the_privacy_notice_covers_what_a_client_needs_to_know(client: FlaskClient) -> None:
    text = page(client.get("/about/privacy"))
    for heading in (
        "Who is responsible for your information",
        "What we record about you",
        "Why we record it",
        "Who can see your record",
        "Agreeing to be counted in the service's reports",
        "The audit trail",
        "How long we keep your information",
        "Your rights",
        "Contact us",
    ):
        assert f">{heading}</h2>" in text, heading
    assert 'yes, no, or not yet asked. Only "yes" is counted.' in text
    assert "national data opt-out" in text
    assert "Information Commissioner's Office" in text


def test_the_accessibility_statement_follows_the_pattern(client: FlaskClient) -> None:
    text = page(client.get("/about/accessibility"))
    for heading in (
        "How accessible caseload is",
        "Feedback and contact information",
        "Enforcement procedure",
        "Technical information about caseload's accessibility",
        "How we tested caseload",
    ):
        assert f">{heading}</h2>" in text, heading
    assert "Web Content Accessibility Guidelines version 2.2</a> AA standard" in text
    assert "partially compliant" in text
    assert "the axe accessibility engine" in text
    assert "Chromium" in text
    assert "2.2.1 (Timing adjustable)" in text


def test_contacts_the_service_has_not_given_say_so(client: FlaskClient) -> None:
    assert client.application.config["PRIVACY_CONTACT"] == ""
    assert "has not yet published how to contact it" in page(client.get("/about/privacy"))
    assert "has not yet published how to report" in page(client.get("/about/accessibility"))


def test_contacts_come_from_the_settings(configured: Callable[..., FlaskClient]) -> None:
    client = configured(
        SERVICE_NAME="Riverside Talking Therapies",
        ORGANISATION_NAME="Riverside NHS Foundation Trust",
        PRIVACY_CONTACT="dpo@riverside.example, 01632 960000",
        ACCESSIBILITY_CONTACT="access@riverside.example",
    )
    privacy = page(client.get("/about/privacy"))
    assert "Riverside NHS Foundation Trust runs Riverside Talking Therapies" in privacy
    assert "dpo@riverside.example, 01632 960000" in privacy
    assert "Not yet given" not in privacy
    statement = page(client.get("/about/accessibility"))
    assert "access@riverside.example" in statement
    assert "run by Riverside NHS Foundation Trust" in statement


def test_the_service_name_defaults_to_caseload(client: FlaskClient) -> None:
    assert service_settings().service_name == "caseload"
    text = page(client.get("/login"))
    assert '<span class="nhsuk-header__service-name">caseload</span>' in text
    assert re.search(r"<title>.* – caseload</title>", text)


def test_the_service_name_comes_from_the_setting(configured: Callable[..., FlaskClient]) -> None:
    client = configured(SERVICE_NAME="Riverside Talking Therapies")
    text = page(client.get("/login"))
    assert '<span class="nhsuk-header__service-name">Riverside Talking Therapies</span>' in text
    assert "<title>Sign in – Riverside Talking Therapies</title>" in text or re.search(
        r"<title>.* – Riverside Talking Therapies</title>", text
    )
    assert "caseload</span>" not in text


def test_a_blank_service_name_falls_back_to_the_default(
    configured: Callable[..., FlaskClient],
) -> None:
    client = configured(SERVICE_NAME="")
    assert '<span class="nhsuk-header__service-name">caseload</span>' in page(client.get("/login"))


# The NHS.UK stylesheet --------------------------------------------------------------------


def test_the_stylesheet_is_served_without_web_fonts(app: Flask, client: FlaskClient) -> None:
    from caseload.assets import vendor_url

    with app.test_request_context():
        url = vendor_url("nhsuk-frontend.min.css")
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    css = response.get_data(as_text=True)
    assert "@font-face" not in css
    assert "assets.nhs.uk" not in css
    assert not re.search(r"url\((['\"]?)(https?:)?//", css), "no file from another site"
    assert "sourceMappingURL" not in css
    assert "font-family:Frutiger W01,arial,sans-serif" in css, "the stack falls back to Arial"
    assert ".nhsuk-header" in css, "the rest of the stylesheet is kept"
    assert response.cache_control.max_age == 365 * 24 * 3600
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_without_font_faces_keeps_every_other_rule() -> None:
    css = (
        '@font-face{font-family:X;src:url(https://a.example/x.woff2) format("woff2")}'
        "body{font-family:X,Arial,sans-serif}"
        "@font-face {font-family:Y;font-weight:600;src:url(//b.example/y.woff)}"
        "@media print{a{color:#000}}\n/*# sourceMappingURL=x.css.map */"
    )
    assert (
        without_font_faces(css)
        == "body{font-family:X,Arial,sans-serif}@media print{a{color:#000}}\n"
    )


def test_the_installed_stylesheet_only_loses_its_font_faces() -> None:
    installed = (ROOT / "node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css").read_text()
    stripped = without_font_faces(installed)
    assert installed.count("@font-face") >= 1
    assert len(installed) - len(stripped) < 2000, "only the font rules are removed"


# Make targets and README ------------------------------------------------------------------


def test_make_run_takes_a_port() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PORT \?= 5000$", makefile, re.M)
    run = makefile.split("\nrun:")[1].split("\n\n")[0]
    assert "--port $(PORT)" in run
    assert "127.0.0.1:$(PORT)" in run


def test_the_readme_starts_with_make_install() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make install" in readme
    assert readme.index("make install") < readme.index("make run")
    assert "PORT=" in readme


def test_seed_demo_shows_its_progress(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo", "--clients", "3"])
    assert result.exit_code == 0, result.output
    assert "Synthetic clients" in result.output  # click's progress bar (a bar on a terminal)
