"""Quick end-to-end walk through the worker's pages with the test client."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from caseload.domain.codes import Role
from caseload.web import london_now
from tests.conftest import csrf_token


def register(client: FlaskClient, **overrides: str) -> Any:
    today = london_now().date()
    data = {
        "name": "Jamie Test",
        "date_of_birth": "1990-04-02",
        "nhs_number": "943 476 5919",
        "referral_date": (today - timedelta(days=10)).isoformat(),
        "referral_source": "gp",
        "referrer_expectation": "Counselling",
        "presenting_problem": "Depression",
        "step": "2",
        "gender_identity": "male",
        "ethnic_category": "not_known",
        "employment_status": "not_stated",
        "long_term_condition": "yes",
        "disability": "no",
        "consent": "yes",
        "consent_note": "Agreed on the phone",
        "csrf_token": csrf_token(client, "/clients/new"),
        **overrides,
    }
    return client.post("/clients/new", data=data)


def test_worker_walks_through_the_day(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    assert client.get("/").headers["Location"] == "/caseload"
    assert client.get("/caseload").status_code == 200
    response = register(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    episode_url = response.headers["Location"]
    page = client.get(episode_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Jamie Test" in html
    assert "Consented to central reporting" in html
    episode_id = int(re.search(r"/episodes/(\d+)", episode_url).group(1))
    form_url = f"/episodes/{episode_id}/contacts/new"
    assert client.get(form_url).status_code == 200
    now = london_now() - timedelta(minutes=5)
    data = {
        "occurred_on": now.date().isoformat(),
        "occurred_time": now.strftime("%H:%M"),
        "contact_type": "assessment_and_treatment",
        "mode": "telephone",
        "attendance": "5",
        "csrf_token": csrf_token(client, form_url),
        **{f"phq9-{i}": "2" for i in range(1, 10)},
        **{f"gad7-{i}": "1" for i in range(1, 8)},
    }
    response = client.post(form_url, data=data)
    assert response.status_code == 200
    assert "record a risk assessment" in response.get_data(as_text=True)
    data |= {"phq9-9": "0", "csrf_token": csrf_token(client, form_url)}
    response = client.post(form_url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    html = client.get(episode_url).get_data(as_text=True)
    assert "PHQ-9 16" in html or "16" in html
    assert client.get(f"/episodes/{episode_id}/discharge").status_code == 200
    assert client.get(f"/episodes/{episode_id}/consent").status_code == 200
    assert client.get("/notes/").status_code == 200
    assert client.get("/notes/new").status_code == 200
    assert client.get("/caseload").status_code == 200


def test_chart_dates_are_uk_dates() -> None:
    """A contact at 00:30 in British Summer Time is plotted on that UK day, not the UTC one."""
    from datetime import UTC, date, datetime
    from types import SimpleNamespace

    from caseload.cases.pages import chart_points
    from caseload.domain.codes import AttendanceCode

    contact = SimpleNamespace(
        occurred_at=datetime(2026, 6, 1, 23, 30, tzinfo=UTC),  # 00:30 on 2 June in London
        in_force=True,
        is_booked=False,
        attendance=AttendanceCode.ATTENDED_ON_TIME,
        total={"phq9": 9, "gad7": 7}.get,
    )
    [point] = chart_points([contact])
    assert point.occurred_on == date(2026, 6, 2)
