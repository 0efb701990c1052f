"""In real Chromium: a worker prints a client summary (its chart is a static SVG) and writes
a discharge letter to the GP; a lead downloads the CSV and the FHIR bundle."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import Letter
from tests.browser.helpers import sign_in_page
from tests.browser.test_console import sign_in_as
from tests.conftest import make_user
from tests.services.records import full_record

pytestmark = pytest.mark.browser


def test_a_worker_prints_a_client_summary_with_its_chart(
    app: Flask, live_server: str, page: Any
) -> None:
    worker = make_user(Role.WORKER, username="print-worker", team="North team")
    record = full_record(worker, name="Pat Printed", discharged=True)
    sign_in_page(page, live_server, worker)
    page.goto(f"{live_server}/episodes/{record.episode.id}")
    page.get_by_role("link", name="Print a client summary").click()
    page.wait_for_url(f"{live_server}/episodes/{record.episode.id}/summary")

    chart = page.locator("svg.app-print-chart")
    assert chart.is_visible()
    assert chart.get_attribute("role") == "img"
    assert chart.locator("polyline").count() == 2  # PHQ-9 and GAD-7, drawn without a script
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 400
    assert box["height"] > 250

    # The print button appears once the page's script runs, and opens the print dialogue.
    button = page.get_by_role("button", name="Print this summary")
    assert button.is_visible()
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    button.click()
    assert page.locator("body[data-printed='yes']").count() == 1

    # On paper: no menu, header, footer or buttons; the record and the chart stay.
    page.emulate_media(media="print")
    assert not page.locator("header.nhsuk-header").is_visible()
    assert not page.locator("footer.nhsuk-footer").is_visible()
    assert not button.is_visible()
    assert chart.is_visible()
    assert page.get_by_role("heading", name="Pat Printed").is_visible()
    pdf = page.pdf(prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    page.emulate_media(media="screen")


def test_a_worker_writes_a_discharge_letter_to_the_gp(
    app: Flask, live_server: str, page: Any
) -> None:
    worker = make_user(Role.WORKER, username="letter-worker", team="North team")
    record = full_record(worker, name="Lee Lettered", discharged=True)
    sign_in_page(page, live_server, worker)
    page.goto(f"{live_server}/episodes/{record.episode.id}")
    page.get_by_role("link", name="Letters to the GP").click()
    page.get_by_role("button", name="Write the discharge letter to the GP").click()
    box = page.get_by_label("The letter")
    draft = box.input_value()
    assert "Lee Lettered was referred on" in draft
    box.fill(draft.replace("Dear Doctor,", "Dear Dr Adeyemi,"))
    page.get_by_role("button", name="Save the letter").click()
    page.wait_for_url(f"{live_server}/letters/*")
    assert "Dear Dr Adeyemi," in page.inner_text("#letter-body")
    assert "cannot be changed" in page.inner_text("main")
    db.session.commit()
    letter = db.session.query(Letter).one()
    assert letter.body.startswith("caseload")
    assert "Dear Dr Adeyemi," in letter.body


def test_a_lead_downloads_the_csv_and_the_fhir_bundle(
    app: Flask, live_server: str, page: Any, tmp_path: Path
) -> None:
    worker = make_user(Role.WORKER, username="export-worker", team="North team")
    full_record(worker, name="Casey Consenting", consented=True, discharged=True)
    full_record(worker, name="Nico Notconsenting", consented=False, discharged=True)
    lead = make_user(Role.LEAD, username="export-lead")
    sign_in_as(page, live_server, lead)
    page.get_by_role("link", name="Exports").click()
    page.wait_for_url(f"{live_server}/lead/exports")
    assert page.locator("#export-episodes").inner_text() == "1"

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download the CSV").click()
    assert page.locator("#export-progress").is_visible()  # the progress message shows
    path = tmp_path / "episodes.csv"
    csv_download.value.save_as(path)
    assert csv_download.value.suggested_filename.startswith("caseload-episodes-")
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["recovered"] == "yes"
    assert "Casey" not in text
    assert "Nico" not in text

    with page.expect_download() as fhir_download:
        page.get_by_role("button", name="Download the FHIR bundle").click()
    bundle_path = tmp_path / "scores.json"
    fhir_download.value.save_as(bundle_path)
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    assert bundle["type"] == "collection"
    assert len(bundle["entry"]) == 3 * 2 * 2
