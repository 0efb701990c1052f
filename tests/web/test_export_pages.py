"""Records that leave the screen, through the web: the printable client summary, letters
to the GP, one client's FHIR bundle, and the lead's exports behind a fresh sign-in."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEventClient, Letter, User, UserSession
from caseload.services.letters import save_letter
from tests.conftest import PASSWORD, csrf_token, make_user, next_code, sign_in
from tests.services.records import full_record, nhs_number
from tests.web.helpers import audit_events, counting, page, reload, token

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def escaped_everywhere(body: str) -> None:
    """The hostile text appears only escaped: never as markup."""
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert str(escape(HOSTILE)) in body


@pytest.fixture
def worker(signed_in: Any) -> User:
    """A signed-in worker of the North team."""
    return signed_in(Role.WORKER, team="North team")


# The printable client summary ------------------------------------------------------------


def test_the_summary_shows_every_field_and_its_chart(client: FlaskClient, worker: User) -> None:
    supervisor = make_user(Role.SUPERVISOR, team="North team")
    number = nhs_number(5)
    record = full_record(worker, nhs=number, supervisor=supervisor, discharged=True, item9_at_end=1)
    client_record = record.episode.client
    response = client.get(f"/episodes/{record.episode.id}/summary")
    assert response.status_code == 200
    body = page(response)
    for expected in (
        "Morgan Example",
        client_record.service_ref,
        "9 Mar 1984",
        f"{number[:3]} {number[3:6]} {number[6:]}",
        "07700 900456",
        "Messages may be left, texts allowed",
        "LS1 4AP",
        "Riverside Medical Centre",
        "Code B82005",
        "Robin Example (Sister)",
        "07700 900789",
        client_record.gender_identity.label,
        client_record.ethnic_category.label,
        client_record.employment_status.label,
        "Welsh; needs an interpreter",
        "by gp",
        "Counselling",
        "Depression",
        "Housing",
        "Lives alone since the separation.",
        worker.display_name,
        "3 attended (3 treatment), 1 did not attend, 1 cancelled",
        "Guided self-help based on CBT (book or workbook), Behavioural activation",
        record.risk_factors,
        record.risk_action,
        "PHQ-9 item 9 (thoughts of being better off dead or of self-harm)",
        "Continue as planned",
        record.review_note,
        record.risk_plan,
        "Discharged 1 Jun 2025: completed treatment.",
        "Goals met.",
        "Reliable recovery",
        "PHQ-9 from 18 to 7; GAD-7 from 15 to 6",
        "Printed by Test Practitioner",
    ):
        assert expected in body, expected
    table = re.search(
        r'<table class="nhsuk-table" id="summary-scores-table">.*?</table>', body, re.S
    )
    assert table is not None
    rows = re.findall(r"<tr class=\"nhsuk-table__row\">(.*?)</tr>", table.group(0), re.S)
    assert len(rows) == 3  # each attended contact
    cells = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    assert cells[0].endswith(
        "Assessment and treatment 18 Moderately severe 15 Severe 22 Severe functional impairment"
    )
    assert cells[1].endswith("Treatment 12 Moderate 9 Mild –")
    assert cells[2].endswith(
        "Treatment 7 Mild 6 Mild 12 Significant functional impairment (moderate)"
    )
    # The chart is a static SVG drawn on the server: no script needed to print it.
    svg = re.search(r"<svg[^>]*class=\"app-print-chart\".*?</svg>", body, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0)
    assert svg.group(0).count("<circle") >= 3 + 1  # three PHQ-9 points and the legend key
    assert "Did not attend" in svg.group(0)
    assert "Cancelled" in svg.group(0)
    assert "PHQ-9 went from 18 to 7 and GAD-7 from 15 to 6" in body
    assert re.search(r"css/print\.[0-9a-f]{12}\.css", body)
    assert "plotly.min.js" not in body


def test_the_summary_escapes_hostile_text(client: FlaskClient, worker: User) -> None:
    record = full_record(worker, name=HOSTILE, risk_action=HOSTILE, complexity_note=HOSTILE)
    body = client.get(f"/episodes/{record.episode.id}/summary").get_data(as_text=True)
    escaped_everywhere(body)


def test_the_summary_is_audited_and_only_for_the_case_s_worker_and_supervisor(
    client: FlaskClient, worker: User
) -> None:
    record = full_record(worker)
    assert client.get(f"/episodes/{record.episode.id}/summary").status_code == 200
    (event,) = audit_events("summary.print", actor=worker)
    assert event.client_id == record.episode.client_id
    assert audit_events("episode.view") == []  # one event for the action

    other = client.application.test_client()
    other_supervisor = make_user(Role.SUPERVISOR, team="South team")
    sign_in(other, other_supervisor)
    assert other.get(f"/episodes/{record.episode.id}/summary").status_code == 404
    assert audit_events("access.denied", actor=other_supervisor)


def test_the_summary_and_fhir_queries_do_not_grow_with_the_contacts(
    client: FlaskClient, worker: User
) -> None:
    small = full_record(worker, name="Few Contacts")
    large = full_record(worker, name="Many Contacts")
    from tests.services.factories import NOW, log

    for day in range(12):
        log(worker, large.episode, NOW - timedelta(days=12 - day), phq9_total=9, gad7_total=8)
    db.session.commit()
    client.get(f"/episodes/{small.episode.id}/summary")  # warm the caches

    def measure(episode_id: int) -> dict[str, int]:
        found = {}
        for name in ("summary", "fhir"):
            with counting() as statements:
                assert client.get(f"/episodes/{episode_id}/{name}").status_code == 200
            found[name] = len(statements)
        return found

    few = measure(small.episode.id)
    assert measure(large.episode.id) == few
    assert max(few.values()) <= 20


# Letters ---------------------------------------------------------------------------------


def test_a_worker_edits_and_saves_a_discharge_letter_then_prints_it(
    client: FlaskClient, worker: User
) -> None:
    record = full_record(worker, discharged=True)
    letters_page = page(client.get(f"/episodes/{record.episode.id}/letters"))
    assert "No letters saved on this episode yet." in letters_page
    url = f"/episodes/{record.episode.id}/letters/discharge/new"
    assert url in letters_page
    form = client.get(url)
    assert form.status_code == 200
    draft = re.search(r"<textarea[^>]*>(.*?)</textarea>", form.get_data(as_text=True), re.S)
    assert draft is not None
    text = html.unescape(draft.group(1)).strip()
    assert "Morgan Example was referred on" in text
    assert "PHQ-9: 18 (moderately severe) at the start, 7 (mild) at the end" in text
    edited = text.replace("Dear Doctor,", "Dear Dr Okafor,")
    response = client.post(url, data={"body": edited, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    letter = db.session.scalars(select(Letter)).one()
    assert response.headers["Location"] == f"/letters/{letter.id}"
    assert letter.body == edited.replace("\r\n", "\n").strip()
    assert letter.title == "Discharge letter to the GP"
    printed = client.get(response.headers["Location"])
    assert printed.status_code == 200
    assert "Dear Dr Okafor," in page(printed)
    assert "cannot be changed" in page(printed)
    (saved,) = audit_events("letter.save", actor=worker)
    (opened,) = audit_events("letter.print", actor=worker)
    assert saved.client_id == opened.client_id == record.episode.client_id
    listed = page(client.get(f"/episodes/{record.episode.id}/letters"))
    assert f"/letters/{letter.id}" in listed
    # No route changes a saved letter.
    assert (
        client.post(f"/letters/{letter.id}", data={"csrf_token": token(client)}).status_code == 405
    )


def test_the_letter_form_and_page_escape_hostile_text(client: FlaskClient, worker: User) -> None:
    record = full_record(worker, name=HOSTILE, risk_action=HOSTILE)
    url = f"/episodes/{record.episode.id}/letters/assessment/new"
    form = client.get(url).get_data(as_text=True)
    escaped_everywhere(form)
    draft = re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S)
    assert draft is not None
    assert HOSTILE in html.unescape(draft.group(1))  # the worker reads it as written
    client.post(url, data={"body": f"Re: {HOSTILE}", "csrf_token": csrf_token(client, url)})
    letter = db.session.scalars(select(Letter)).one()
    assert letter.body == f"Re: {HOSTILE}"
    escaped_everywhere(client.get(f"/letters/{letter.id}").get_data(as_text=True))
    escaped_everywhere(client.get(f"/episodes/{record.episode.id}/letters").get_data(as_text=True))


def test_a_refused_letter_keeps_the_worker_s_text_and_saves_nothing(
    client: FlaskClient, worker: User
) -> None:
    record = full_record(worker)
    url = f"/episodes/{record.episode.id}/letters/assessment/new"
    response = client.post(url, data={"body": "  ", "csrf_token": csrf_token(client, url)})
    assert response.status_code == 200
    assert "Write the letter before saving it." in page(response)
    too_long = "x" * 20_001
    response = client.post(url, data={"body": too_long, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 200
    assert too_long in page(response)
    assert db.session.scalars(select(Letter)).all() == []


def test_a_discharge_letter_waits_for_the_discharge_and_unknown_letters_are_404(
    client: FlaskClient, worker: User
) -> None:
    record = full_record(worker)
    response = client.get(f"/episodes/{record.episode.id}/letters/discharge/new")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/episodes/{record.episode.id}/letters"
    assert "once the episode is discharged" in page(client.get(response.headers["Location"]))
    assert client.get(f"/episodes/{record.episode.id}/letters/solicitor/new").status_code == 404


def test_the_supervisor_reads_the_letters_but_does_not_write_them(
    client: FlaskClient, signed_in: Any
) -> None:
    supervisor = signed_in(Role.SUPERVISOR, team="North team")
    worker = make_user(Role.WORKER, team="North team")
    record = full_record(worker)
    letter = save_letter(worker, record.episode, key="assessment", body="Dear Doctor,")
    db.session.commit()
    listed = page(client.get(f"/episodes/{record.episode.id}/letters"))
    assert "Write the" not in listed
    assert client.get(f"/letters/{letter.id}").status_code == 200
    url = f"/episodes/{record.episode.id}/letters/assessment/new"
    assert client.get(url).status_code == 403
    assert audit_events("letter.print", actor=supervisor)


def test_letter_pages_keep_to_a_query_budget(client: FlaskClient, worker: User) -> None:
    record = full_record(worker, discharged=True)
    for number in range(2):
        save_letter(worker, record.episode, key="assessment", body=f"Letter {number}")
    db.session.commit()
    letter = db.session.scalars(select(Letter)).first()
    paths = {
        "letters": f"/episodes/{record.episode.id}/letters",
        "letter": f"/letters/{letter.id}",
        "form": f"/episodes/{record.episode.id}/letters/discharge/new",
    }
    client.get(paths["letters"])  # warm the caches

    def measure() -> dict[str, int]:
        found = {}
        for name, path in paths.items():
            with counting() as statements:
                assert client.get(path).status_code == 200, path
            found[name] = len(statements)
        return found

    few = measure()
    for number in range(6):
        save_letter(worker, record.episode, key="assessment", body=f"More {number}")
    db.session.commit()
    assert measure() == few
    assert max(few.values()) <= 20


# One client's FHIR bundle ------------------------------------------------------------------


def test_the_worker_downloads_the_client_s_scores_as_fhir(
    client: FlaskClient, worker: User
) -> None:
    record = full_record(worker, nhs=nhs_number(9))
    response = client.get(f"/episodes/{record.episode.id}/fhir")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    bundle = json.loads(response.get_data(as_text=True))
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == 1 + 6 * 2
    assert audit_events("episode.fhir", actor=worker)
    episode_page = page(client.get(f"/episodes/{record.episode.id}"))
    for link in ("summary", "letters", "fhir"):
        assert f"/episodes/{record.episode.id}/{link}" in episode_page


# The lead's exports ------------------------------------------------------------------------


@pytest.fixture
def lead(signed_in: Any) -> User:
    """A signed-in service lead."""
    return signed_in(Role.LEAD)


def age_sign_in(user: User, minutes: int = 6) -> None:
    """Make the user's sign-in older than the fresh-sign-in limit."""
    session = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert session is not None
    session.authenticated_at = utcnow() - timedelta(minutes=minutes)
    db.session.commit()


def service_with_and_without_consent() -> dict[str, Any]:
    worker = make_user(Role.WORKER, team="North team")
    consented = [
        full_record(worker, name=f"Consenting Person {n}", consented=True, discharged=True)
        for n in range(2)
    ]
    refused = full_record(worker, name="Quietly Private", consented=False, discharged=True)
    return {"consented": consented, "refused": refused}


def test_the_exports_need_a_fresh_sign_in(client: FlaskClient, lead: User) -> None:
    service_with_and_without_consent()
    age_sign_in(lead)
    response = client.get("/lead/exports")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/confirm?next=/lead/exports"
    for kind in ("csv", "fhir"):
        posted = client.post(f"/lead/exports/{kind}", data={"csrf_token": token(client)})
        assert posted.status_code == 302
        assert posted.headers["Location"] == "/login/confirm?next=/lead/exports"
    assert audit_events("export.csv") == audit_events("export.fhir") == []

    confirm_token = csrf_token(client, "/login/confirm")
    right = client.post(
        "/login/confirm?next=/lead/exports",
        data={"password": PASSWORD, "code": next_code(lead), "csrf_token": confirm_token},
    )
    assert right.headers["Location"] == "/lead/exports"
    shown = page(client.get("/lead/exports"))
    assert re.search(r'id="export-episodes">2<', shown)
    assert "Download the CSV" in shown


def test_the_lead_downloads_consented_records_only_and_it_is_audited(
    client: FlaskClient, lead: User
) -> None:
    service = service_with_and_without_consent()
    response = client.post("/lead/exports/csv", data={"csrf_token": token(client)})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="caseload-episodes-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["Content-Disposition"],
    )
    text = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    for record in [*service["consented"], service["refused"]]:
        client_record = reload(record.episode.client)
        assert client_record.name not in text
        assert client_record.service_ref not in text
    (event,) = audit_events("export.csv", actor=lead)
    assert event.detail["episodes"] == 2
    assert event.detail["clients"] == 2
    listed = db.session.scalars(
        select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event.id)
    ).all()
    assert sorted(listed) == sorted(r.episode.client_id for r in service["consented"])

    bundle = client.post("/lead/exports/fhir", data={"csrf_token": token(client)})
    assert bundle.status_code == 200
    assert bundle.mimetype == "application/fhir+json"
    parsed = json.loads(bundle.get_data(as_text=True))
    Bundle.model_validate(parsed)
    assert len(parsed["entry"]) == 2 * 6 * 2
    (fhir_event,) = audit_events("export.fhir", actor=lead)
    assert fhir_event.detail["questionnaires"] == 12


def test_a_large_service_is_told_the_download_takes_a_while(
    client: FlaskClient, lead: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    service_with_and_without_consent()
    assert "A large export" not in page(client.get("/lead/exports"))
    from caseload.lead import exports as lead_exports

    monkeypatch.setattr(lead_exports, "LARGE_EXPORT", 2)
    shown = page(client.get("/lead/exports"))
    assert "A large export" in shown
    assert 'data-download="export-progress"' in shown
    assert re.search(
        r'id="export-progress" role="status" hidden>Preparing your download of 2', shown
    )


def test_the_lead_exports_keep_to_a_query_budget(client: FlaskClient, lead: User) -> None:
    service_with_and_without_consent()
    client.get("/lead/exports")

    def measure() -> dict[str, int]:
        found = {}
        for name, method, path in (
            ("page", "GET", "/lead/exports"),
            ("csv", "POST", "/lead/exports/csv"),
            ("fhir", "POST", "/lead/exports/fhir"),
        ):
            data = {"csrf_token": token(client)} if method == "POST" else None
            with counting() as statements:
                assert client.open(path, method=method, data=data).status_code == 200
            found[name] = len(statements)
        return found

    few = measure()
    worker = make_user(Role.WORKER, team="South team")
    for number in range(5):
        full_record(worker, name=f"Another {number}", consented=True, discharged=True)
    assert measure() == few
    assert max(few.values()) <= 20


def test_the_printed_chart_is_drawn_from_the_figure() -> None:
    """The SVG follows the plotly figure: one band per shape, one point per score, a
    higher score higher up, and every text escaped."""
    from datetime import date

    from caseload.charts import ChartPoint, outcome_chart
    from caseload.exports.svg import date_ticks, figure_svg

    points = [
        ChartPoint(1, date(2025, 5, 1), 18, 15, attended=True, dna=False),
        ChartPoint(2, date(2025, 5, 8), None, None, attended=False, dna=True),
        ChartPoint(3, date(2025, 5, 15), 9, 12, attended=True, dna=False),
    ]
    figure = outcome_chart(points)
    svg = str(figure_svg(figure, title="<b>Title</b>", description="PHQ-9 & GAD-7"))
    assert "&lt;b&gt;Title&lt;/b&gt;" in svg
    assert "PHQ-9 &amp; GAD-7" in svg
    rects = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    assert svg.count('fill-opacity="0.12"') == len(rects)
    assert svg.count('stroke-dasharray="6 4"') == 2  # the two caseness lines
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(lines) == 2
    (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in lines[0].split())
    assert x2 > x1  # later to the right
    assert y2 > y1  # PHQ-9 9 sits lower than 18
    assert "style=" not in svg  # the CSP allows no inline style
    ticks = date_ticks(date(2025, 1, 1), date(2025, 12, 31))
    assert 2 <= len(ticks) <= 8
    assert all(t.day == 1 for t in ticks)
