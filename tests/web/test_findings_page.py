"""The findings view through real requests: its nine sections, how each is measured,
disclosure control on every figure and chart, no names, note text or client references,
the printable version, the filters, and a query budget that does not grow with the data."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from caseload.domain.codes import ReflectiveTheme, RiskLevel, Role
from caseload.extensions import db
from caseload.lead.findings_page import SECTION_KEYS
from caseload.models import AuditEventClient, Client, User
from caseload.services.notes import write_note
from tests.conftest import make_user, sign_in
from tests.web.helpers import add_contact, audit_events, counting, make_case, page, utc_now

#: PHQ-9 answers totalling 11 with item 9 at 2 (a risk signal), and without it.
PHQ9_RISK = (2, 2, 1, 1, 1, 1, 1, 0, 2)
PHQ9_CALM = (2, 2, 2, 1, 1, 1, 1, 1, 0)
WORKER_NAME = "Wilhelmina Quimby"
NOTE_TEXT = "Felt overwhelmed after the Thursday clinic"


def build_service(workers: list[User], *, clients: int = 7, risky: int = 6) -> list[Any]:
    """Consenting GP referrals over the last few weeks, all assessed; ``risky`` of them with
    a risk signal at assessment; and a note for each worker."""
    episodes = []
    for n in range(clients):
        worker = workers[n % len(workers)]
        episode = make_case(
            worker, name=f"Zebedee Client{n}", referral_days_ago=30 - n, consented=True
        )
        add_contact(
            worker,
            episode,
            at=utc_now() - timedelta(days=20 - n),
            phq9=PHQ9_RISK if n < risky else PHQ9_CALM,
            risk_level=RiskLevel.LOW,
        )
        episodes.append(episode)
    for worker in workers:
        write_note(
            worker,
            text=NOTE_TEXT,
            themes=[ReflectiveTheme.RISK_AND_COMPLEXITY],
            manageability=2,
        )
    db.session.commit()
    return episodes


@pytest.fixture
def workers(app: Any) -> list[User]:
    made = [make_user(Role.WORKER, team="North team") for _ in range(3)]
    made[0].display_name = WORKER_NAME
    db.session.commit()
    return made


@pytest.fixture
def lead(client: FlaskClient, app: Any) -> User:
    user = make_user(Role.LEAD, username="findings-lead")
    sign_in(client, user)
    return user


def sections(text: str) -> dict[str, str]:
    """Each section's HTML, by key."""
    found = {}
    for key in SECTION_KEYS:
        match = re.search(
            rf'<section class="app-finding" id="finding-{key}".*?</section>', text, re.S
        )
        assert match, f"section {key} is missing"
        found[key] = match.group(0)
    return found


def table_rows(text: str, table_id: str) -> list[list[str]]:
    """A table's body rows as lists of cell texts."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody[^>]*>(.*?)</tbody>', text, re.S)
    assert match, f"no table {table_id}"
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(1), re.S)
    ]


def figures(response: Any) -> list[dict[str, Any]]:
    """Every chart's figure on the page (from the raw HTML: the JSON is escaped in it)."""
    raw = response.get_data(as_text=True)
    return [json.loads(html.unescape(found)) for found in re.findall(r'data-figure="([^"]*)"', raw)]


def test_the_lead_sees_nine_sections_each_measured_and_read(
    client: FlaskClient, workers: list[User], lead: User
) -> None:
    build_service(workers)
    response = client.get("/lead/findings")
    assert response.status_code == 200
    text = page(response)
    found = sections(text)
    assert list(found) == list(SECTION_KEYS)
    for key, body in found.items():
        assert '<details class="nhsuk-details app-finding__measure"' in body, key
        assert "How this is measured" in body, key
        assert "From the study:" in body, key
        reading = re.search(r'data-reading="[^"]+">(.*?)</p>', body, re.S)
        assert reading, key
        assert reading.group(1).strip(), key
        assert 'class="app-chart app-finding__chart"' in body, key
        assert "<table" in body, key
    # Six of seven assessed GP referrals had a risk signal: counts rounded to 5, the
    # percentage from the unrounded counts (6/7 = 86%).
    gp = next(row for row in table_rows(text, "risk-source-table") if row[0] == "GP")
    assert gp[1:4] == ["5", "5", "86%"]
    assert re.search(r"\d+% to 9\d%|\d+% to 100%", gp[4])
    assert "Risk at assessment is 86% for GP referrals" in found["risk"]
    assert len(figures(response)) >= 9


def test_every_figure_is_disclosed_and_names_nobody(
    client: FlaskClient, workers: list[User], lead: User
) -> None:
    episodes = build_service(workers, clients=9, risky=4)
    response = client.get("/lead/findings")
    text = page(response)
    for key in SECTION_KEYS:
        for table_id in re.findall(rf'<table[^>]*id="({key}[^"]*)"', text):
            for row in table_rows(text, table_id):
                for cell in row[1:]:
                    if re.fullmatch(r"\d+", cell):
                        assert int(cell) % 5 == 0, (table_id, row)
                        assert int(cell) >= 5, (table_id, row)
    for figure in figures(response):
        for trace in figure["data"]:
            for y in trace.get("y") or []:
                assert y is None or isinstance(y, int | float)
            for label in trace.get("customdata") or []:
                counts = re.findall(r"(\d+) in all", str(label))
                assert all(int(n) % 5 == 0 for n in counts), label
    # 4 of 9 with risk: under 5, so the share is suppressed, never 44%.
    gp = next(row for row in table_rows(text, "risk-source-table") if row[0] == "GP")
    assert gp[1:4] == ["10", "*", "*"]
    assert "44%" not in sections(text)["risk"]
    forbidden = [WORKER_NAME, NOTE_TEXT, "Zebedee"]
    for episode in episodes:
        client_row = db.session.get(Client, episode.client_id)
        assert client_row is not None
        forbidden.append(client_row.service_ref)
    for user in workers:
        forbidden.append(user.username)
    printable = page(client.get("/lead/findings?print=1"))
    for word in forbidden:
        assert word not in text, word
        assert word not in printable, word


def test_the_printable_version_opens_every_explanation_and_names_the_filters(
    client: FlaskClient, workers: list[User], lead: User
) -> None:
    build_service(workers)
    team = workers[0].team
    assert team is not None
    screen = page(client.get(f"/lead/findings?team={team.id}"))
    link = re.search(r'id="findings-printable" href="([^"]+)"', screen)
    assert link
    printable = page(client.get(html.unescape(link.group(1))))
    assert printable.count('app-finding__measure" id=') == len(SECTION_KEYS)
    assert len(
        re.findall(r'<details class="nhsuk-details app-finding__measure"[^>]* open>', printable)
    ) == len(SECTION_KEYS)
    assert '<form class="app-findings__filters"' not in printable
    assert "North team" in re.search(r'id="findings-scope".*?</dl>', printable, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'href="/static/css/findings\.[0-9a-f]{12}\.css"', printable)
    assert " open>" not in screen.split('id="finding-risk"')[1].split("</details>")[0]


def test_filters_refuse_bad_input_with_a_notice_never_an_error(
    client: FlaskClient, workers: list[User], lead: User
) -> None:
    for query, notice in (
        ("from=garbage&to=2025-13", "That period could not be used"),
        ("from=1999-01&to=1999-02", "That period could not be used"),
        ("team=999999", "That team could not be found"),
        ("team=1%27%3B--", "That team could not be found"),
    ):
        response = client.get(f"/lead/findings?{query}")
        assert response.status_code == 200, query
        assert notice in page(response), query
    today = utc_now().date()
    late = f"{today:%Y-%m}"
    early = f"{today.replace(day=1) - timedelta(days=40):%Y-%m}"
    swapped = page(client.get(f"/lead/findings?from={late}&to={early}"))
    assert "were swapped" in swapped


def test_a_small_team_shows_its_load_figures_withheld(
    client: FlaskClient, workers: list[User], lead: User
) -> None:
    solo = make_user(Role.WORKER, team="Tiny team")
    for n in range(6):
        episode = make_case(solo, name=f"Solo {n}", referral_days_ago=40, consented=True)
        add_contact(solo, episode, at=utc_now() - timedelta(days=30 - n))
    team = solo.team
    assert team is not None
    text = page(client.get(f"/lead/findings?team={team.id}"))
    load = sections(text)["load"]
    assert "Load figures are withheld" in load
    rows = dict((row[0], row[1]) for row in table_rows(text, "load-table"))
    assert rows["Median"] == "*"


def test_only_the_lead_may_open_the_findings(client: FlaskClient, app: Any) -> None:
    assert client.get("/lead/findings").status_code == 302  # to sign in
    for role in (Role.WORKER, Role.SUPERVISOR, Role.ADMIN):
        other = app.test_client()
        sign_in(other, make_user(role))
        assert other.get("/lead/findings").status_code == 403, role


def test_the_view_is_audited_without_client_ids(
    client: FlaskClient, workers: list[User], lead: User
) -> None:
    build_service(workers)
    client.get("/lead/findings")
    events = audit_events("findings.view", actor=lead)
    assert len(events) == 1
    assert events[0].detail is not None
    assert events[0].detail["team"] is None
    listed = select(func.count()).select_from(AuditEventClient)
    assert db.session.scalar(listed.where(AuditEventClient.audit_event_id == events[0].id)) == 0


def test_the_query_count_does_not_grow_with_the_service(
    client: FlaskClient, workers: list[User], lead: User
) -> None:
    build_service(workers, clients=3, risky=1)
    client.get("/lead/findings")  # settings and the like cached
    with counting() as small:
        assert client.get("/lead/findings").status_code == 200
    build_service(workers, clients=12, risky=5)
    with counting() as large:
        assert client.get("/lead/findings").status_code == 200
    assert len(large) == len(small)
    assert len(small) <= 40, small
