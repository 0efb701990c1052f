"""The lead's service dashboard through the test client (issue 11): the page and its charts,
the CSV and its columns, the filters, what a lead never sees, consent on the next request,
and the query budget.

The page shows the last 24 complete months before today (UK), so the episodes here are
built in the months before today's: every month is computed from ``today_in_london()``
and no assertion depends on which day that is.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from caseload.domain.codes import DischargeReason, ReferralSource, Role
from caseload.domain.dates import london_to_utc
from caseload.extensions import db
from caseload.lead.dashboard import CHART_GROUPS
from caseload.models import Episode, User
from caseload.reporting.dashboard import CSV_COLUMNS, add_months, month_start
from caseload.services.clients import ClientDetails, Referral, register_client, set_consent
from caseload.services.episodes import discharge
from caseload.web import today_in_london
from tests.conftest import csrf_token, make_user, sign_in
from tests.services.factories import log
from tests.web.helpers import audit_events, counting, page, utc_now

NHS_NUMBER = "9434765919"
NAME = "Zebedee Quillfeather"


def months_ago(count: int) -> date:
    """The first day of the month ``count`` months before this one (UK): 1 is the newest
    month the dashboard shows."""
    return add_months(month_start(today_in_london()), -count)


def finished(
    worker: User,
    month: date,
    *,
    recovered: bool = True,
    consented: bool = True,
    name: str = "Alex Example",
    nhs_number: str = "",
    problem: str = "Depression",
    source: ReferralSource = ReferralSource.GP,
) -> Episode:
    """An episode referred, treated twice and discharged within ``month``: at caseness
    (18/15), then reliably recovered (5/4) or unchanged."""
    today = today_in_london()
    episode = register_client(
        worker,
        details=ClientDetails(name=name, date_of_birth=date(1990, 4, 2), nhs_number=nhs_number),
        referral=Referral(
            referral_date=month + timedelta(days=1),
            referral_source=source,
            referrer_expectation="Counselling",
            presenting_problem=problem,
        ),
        consented=consented,
        consent_note="Asked at registration.",
        today=today,
    )
    last = (5, 4) if recovered else (18, 15)
    for day, (phq, gad) in ((2, (18, 15)), (9, last)):
        moment = at_noon(month + timedelta(days=day))
        log(worker, episode, moment, phq9_total=phq, gad7_total=gad, now=utc_now())
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=month + timedelta(days=12),
        note="",
        today=today,
        risk_confirmed=True,
        risk_plan="Safety plan reviewed; GP informed.",
    )
    db.session.commit()
    return episode


def at_noon(day: date) -> datetime:
    """Noon on a UK day, as aware UTC."""
    return london_to_utc(day, time(12, 0))


@pytest.fixture
def worker() -> User:
    """A worker in the North team."""
    return make_user(Role.WORKER, username="north-worker", team="North team")


@pytest.fixture
def lead(client: FlaskClient) -> User:
    """A signed-in service lead."""
    user = make_user(Role.LEAD, username="the-lead")
    sign_in(client, user)
    return user


def csv_of(client: FlaskClient, query: str = "") -> list[dict[str, str]]:
    """The dashboard's CSV, parsed, after checking it is one."""
    response = client.get(f"/lead/dashboard.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def newest(rows: list[dict[str, str]]) -> dict[str, str]:
    """The CSV row of the newest month shown (last month)."""
    assert rows[-1]["month"] == f"{months_ago(1):%Y-%m}"
    return rows[-1]


def figures_on(response: Any) -> dict[str, dict[str, Any]]:
    """Every chart figure the page carries, by its chart's id."""
    text = response.get_data(as_text=True)
    return {
        key: json.loads(html.unescape(figure))
        for key, figure in re.findall(r'id="spc-chart-([a-z0-9_]+)" data-figure="([^"]*)"', text)
    }


CHART_KEYS = [spec.key for group in CHART_GROUPS for spec in group.charts]


# The page ---------------------------------------------------------------------------------


def test_a_leads_home_is_the_dashboard(client: FlaskClient, lead: User) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/lead/")
    html_page = page(client.get("/lead/"))
    assert "Service dashboard" in html_page
    # The menu leads there too.
    assert 'href="/lead/"' in client.get("/lead/").get_data(as_text=True)


def test_the_dashboard_draws_an_spc_chart_per_figure(
    client: FlaskClient, lead: User, worker: User
) -> None:
    for count in range(1, 4):
        for _ in range(6):
            finished(worker, months_ago(count))
    response = client.get("/lead/")
    assert response.status_code == 200
    text = page(response)
    figures = figures_on(response)
    # 6 finished a month: the counts round to 5; recovery 6 of 6; the suppressed figures
    # (no hidden waits, no deterioration) have no chart but say why.
    assert {"finished", "recovery_rate", "paired_rate", "referrals"} <= figures.keys()
    assert "reliable_deterioration_rate" not in figures
    assert text.count("No month in this period has figures large enough to show.") == (
        len(CHART_KEYS) - len(figures)
    )
    recovery = figures["recovery_rate"]
    assert recovery["layout"]["meta"]["points"] == 3
    values = recovery["data"][0]
    assert [y for y in values["y"] if y is not None] == [100.0, 100.0, 100.0]
    names = [trace["name"] for trace in recovery["data"]]
    assert "Target 50%" in names
    assert any(name.startswith("Upper process limit") for name in names)
    # Three months is fewer than 12: the words say so instead of claiming a cause.
    assert "the limits are not yet reliable" in text
    # The CSV link, after the same filters.
    match = re.search(r'<a id="dashboard-csv" href="([^"]+)">([^<]*CSV)', text)
    assert match is not None
    assert match.group(1).startswith("/lead/dashboard.csv?")


def test_the_csv_has_exactly_the_issues_columns(
    client: FlaskClient, lead: User, worker: User
) -> None:
    for recovered in (True,) * 7 + (False,) * 3:
        finished(worker, months_ago(1), recovered=recovered)
    response = client.get("/lead/dashboard.csv")
    header = response.get_data(as_text=True).splitlines()[0]
    assert header.split(",") == list(CSV_COLUMNS)
    assert header == (
        "month,referrals,entered_treatment,finished,finished_at_caseness,recovered,"
        "recovery_rate,reliably_recovered,reliable_recovery_rate,reliably_improved,"
        "reliable_improvement_rate,reliably_deteriorated,reliable_deterioration_rate,"
        "waited_6_weeks_rate,waited_18_weeks_rate,paired_rate"
    )
    rows = csv_of(client)
    assert len(rows) == 24
    assert newest(rows) == {
        "month": f"{months_ago(1):%Y-%m}",
        "referrals": "10",
        "entered_treatment": "10",
        "finished": "10",
        "finished_at_caseness": "10",
        "recovered": "5",  # 7, rounded
        "recovery_rate": "70.0",  # 7 of 10, from the unrounded counts
        "reliably_recovered": "5",
        "reliable_recovery_rate": "70.0",
        "reliably_improved": "5",
        "reliable_improvement_rate": "70.0",
        "reliably_deteriorated": "*",
        "reliable_deterioration_rate": "*",
        "waited_6_weeks_rate": "100.0",
        "waited_18_weeks_rate": "100.0",
        "paired_rate": "100.0",
    }
    # A month with nobody: counts suppressed, rates empty (no denominator).
    assert rows[0]["referrals"] == "*"
    assert rows[0]["recovery_rate"] == ""
    # The export is audited, with the period and filters it was asked for.
    events = audit_events("dashboard.export", actor=lead)
    assert len(events) == 2  # one per download
    event = events[-1]
    assert event.detail["last_month"] == f"{months_ago(1):%Y-%m}"
    assert event.detail["team_id"] is None


# Filters ---------------------------------------------------------------------------------


def test_filters_by_team_presenting_problem_and_referral_source(
    client: FlaskClient, lead: User, worker: User
) -> None:
    south = make_user(Role.WORKER, username="south-worker", team="South team")
    month = months_ago(2)
    for _ in range(5):
        finished(worker, month)
    for _ in range(6):
        finished(south, month, problem="Panic disorder", source=ReferralSource.SELF)
    assert worker.team_id is not None
    assert south.team_id is not None

    def finished_in_month(query: str) -> str:
        rows = csv_of(client, query)
        (row,) = [r for r in rows if r["month"] == f"{month:%Y-%m}"]
        return row["finished"]

    assert finished_in_month("") == "10"  # 11
    assert finished_in_month(f"?team={worker.team_id}") == "5"
    assert finished_in_month(f"?team={south.team_id}") == "5"  # 6
    assert finished_in_month("?problem=Panic+disorder") == "5"
    assert finished_in_month("?problem=Depression") == "5"
    assert finished_in_month("?source=self") == "5"
    assert finished_in_month("?source=gp") == "5"
    assert finished_in_month(f"?team={worker.team_id}&source=self") == "*"
    # The page keeps the filters on its CSV link and says what it shows.
    response = client.get(f"/lead/?team={south.team_id}&source=self")
    text = page(response)
    assert "/lead/dashboard.csv?from=" in text
    assert f"team={south.team_id}" in text
    assert "for South team, referred by self-referral" in text


def test_a_chosen_period(client: FlaskClient, lead: User, worker: User) -> None:
    first, last = months_ago(6), months_ago(2)
    rows = csv_of(client, f"?from={first:%Y-%m}&to={last:%Y-%m}")
    assert [r["month"] for r in rows] == [f"{add_months(first, i):%Y-%m}" for i in range(5)]


@pytest.mark.parametrize(
    "query",
    [
        "?team=abc",
        "?team=99999",
        "?problem=Nonsense",
        "?source=fax",
        "?from=1999-01&to=2000-01",
        "?from=2024-13",
        "?from=<script>&to=x",
        "?team=" + "9" * 40,
    ],
)
def test_filters_that_cannot_be_met_are_ignored_with_a_notice(
    client: FlaskClient, lead: User, query: str
) -> None:
    response = client.get(f"/lead/{query}")
    assert response.status_code == 200
    assert "app-notice" in response.get_data(as_text=True)
    assert csv_of(client, query) == csv_of(client)


def test_a_reversed_period_is_refused_with_a_notice(client: FlaskClient, lead: User) -> None:
    query = f"?from={months_ago(2):%Y-%m}&to={months_ago(5):%Y-%m}"
    assert "The period must run from" in page(client.get(f"/lead/{query}"))
    assert len(csv_of(client, query)) == 24


# What a lead never sees -------------------------------------------------------------------


def test_no_name_nhs_number_or_reference_reaches_the_lead(
    client: FlaskClient, lead: User, worker: User
) -> None:
    episodes = [
        finished(worker, months_ago(1), name=f"{NAME} {i}", nhs_number="" if i else NHS_NUMBER)
        for i in range(6)
    ]
    references = [e.client.service_ref for e in episodes]
    texts = [
        client.get("/lead/").get_data(as_text=True),
        client.get("/lead/dashboard.csv").get_data(as_text=True),
    ]
    for text in texts:
        assert NAME not in text
        assert "Quillfeather" not in text
        assert NHS_NUMBER not in text
        assert "943 476 5919" not in text
        for reference in references:
            assert reference not in text
    assert "Depression" in texts[0]  # a filter choice, not a client's record


def test_a_lead_cannot_open_a_case_page_and_the_refusal_is_audited(
    client: FlaskClient, lead: User, worker: User
) -> None:
    episode = finished(worker, months_ago(1))
    for path in (f"/episodes/{episode.id}", f"/clients/{episode.client_id}"):
        response = client.get(path)
        assert response.status_code in (403, 404)
        assert NAME not in response.get_data(as_text=True)
    assert len(audit_events("access.denied", actor=lead)) == 2


def test_other_roles_are_refused(client: FlaskClient) -> None:
    for role in (Role.WORKER, Role.SUPERVISOR, Role.ADMIN):
        user = make_user(role)
        sign_in(client, user)
        assert client.get("/lead/").status_code == 403
        assert client.get("/lead/dashboard.csv").status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


# Consent on the next request --------------------------------------------------------------


def test_consent_decides_on_the_next_request(client: FlaskClient, lead: User, worker: User) -> None:
    for _ in range(5):
        finished(worker, months_ago(1))
    before = client.get("/lead/dashboard.csv").get_data()
    page_before = figures_on(client.get("/lead/"))
    assert newest(csv_of(client))["finished"] == "5"

    # Non-consented clients, finished in the same month, change no byte.
    for _ in range(3):
        finished(worker, months_ago(1), consented=False, recovered=False)
    assert client.get("/lead/dashboard.csv").get_data() == before
    assert figures_on(client.get("/lead/")) == page_before

    # Withdrawing one client's consent takes them out on the next request.
    withdrawn = db.session.get(Episode, 1)
    assert withdrawn is not None
    set_consent(worker, withdrawn.client, consented=False, note="Withdrew consent.")
    db.session.commit()
    assert newest(csv_of(client))["finished"] == "*"
    assert client.get("/lead/dashboard.csv").get_data() != before


# Speed by design --------------------------------------------------------------------------


def test_the_dashboard_queries_do_not_grow_with_the_data(
    client: FlaskClient, lead: User, worker: User
) -> None:
    def measure(path: str) -> int:
        with counting() as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        return len(statements)

    paths = ("/lead/", "/lead/dashboard.csv", f"/lead/?team={worker.team_id}&source=gp")
    finished(worker, months_ago(1))
    few = [measure(path) for path in paths]
    for count in range(1, 6):
        for _ in range(5):
            finished(worker, months_ago(count))
    many = [measure(path) for path in paths]
    assert few == many
    assert max(many) <= 16
