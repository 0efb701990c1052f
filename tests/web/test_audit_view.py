"""The administrator's audit trail: who saw a client's record, what a user saw, the CSV
export, and filters that never break the page."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from caseload.domain.codes import Role
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Episode, User
from caseload.services import search as search_service
from caseload.services.audit import record_event, verify_chain
from caseload.services.audit_trail import PAGE_SIZE
from tests.conftest import make_user, sign_in
from tests.web.helpers import make_case, page


def admin_client(app: Flask) -> tuple[FlaskClient, User]:
    """A test client signed in as a new administrator."""
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    sign_in(client, admin)
    return client, admin


def worker_client(app: Flask, username: str) -> tuple[FlaskClient, User]:
    worker = make_user(Role.WORKER, username=username)
    client = app.test_client()
    sign_in(client, worker)
    return client, worker


def events_of(action: str) -> list[AuditEvent]:
    db.session.commit()
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by("id"))
    )


def clients_of(audit_event: AuditEvent) -> list[int]:
    return sorted(
        db.session.scalars(
            select(AuditEventClient.client_id).where(
                AuditEventClient.audit_event_id == audit_event.id
            )
        )
    )


def rows(response: Any) -> list[str]:
    """The text of each row of the events table, tags and spacing removed."""
    html = response.get_data(as_text=True)
    body = re.search(r'<table[^>]*id="audit-events".*?<tbody[^>]*>(.*?)</tbody>', html, re.S)
    if body is None:
        return []
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    ]


@pytest.fixture
def seen_clients(app: Flask) -> dict[str, Any]:
    """Two workers: one opens a client's episode and lists their caseload, the other
    only lists their own; the first also searches for the client by name."""
    first, first_worker = worker_client(app, "ann.worker")
    second, second_worker = worker_client(app, "bob.worker")
    case = make_case(first_worker, name="Casey Confidential")
    other = make_case(second_worker, name="Olive Otherclient")
    db.session.commit()
    assert first.get(f"/episodes/{case.id}").status_code == 200
    assert first.get("/caseload").status_code == 200
    assert second.get("/caseload").status_code == 200
    search_service.search_clients(first_worker, "Casey Confidential")
    db.session.commit()
    return {
        "case": case,
        "other": other,
        "ref": case.client.service_ref,
        "other_ref": other.client.service_ref,
        "first": first_worker,
        "second": second_worker,
    }


def test_who_saw_a_clients_record_opened_or_listed(
    app: Flask, seen_clients: dict[str, Any]
) -> None:
    client, admin = admin_client(app)
    response = client.get("/admin/audit", query_string={"client": seen_clients["ref"].lower()})
    assert response.status_code == 200
    found = rows(response)
    assert any("ann.worker" in r and "episode.view" in r for r in found)
    assert any("ann.worker" in r and "caseload.view" in r for r in found)
    assert any("ann.worker" in r and "client.create" in r for r in found)
    assert not any("bob.worker" in r for r in found)
    assert all(seen_clients["ref"] in r for r in found)
    text = page(response)
    # Clients by service reference only: no name, not even inside a search's terms.
    assert "Casey" not in text
    assert "Confidential" not in text
    assert "Otherclient" not in text
    # Reading the trail is audited, naming the client looked up.
    (viewed,) = events_of("audit.view")
    assert viewed.actor_id == admin.id
    assert viewed.detail == {"client": seen_clients["ref"], "events": len(found)}
    assert clients_of(viewed) == [seen_clients["case"].client_id]
    assert verify_chain().intact


def test_what_a_user_saw(app: Flask, seen_clients: dict[str, Any]) -> None:
    client, _admin = admin_client(app)
    anon = app.test_client()
    anon.post("/login", data={"username": "bob.worker", "password": "wrong"})  # no CSRF: refused
    record_event("login.failure", actor_username="bob.worker", detail={"reason": "password"})
    db.session.commit()
    response = client.get("/admin/audit", query_string={"user": " Bob.Worker "})
    found = rows(response)
    assert found
    assert all("bob.worker" in r for r in found)
    assert any("caseload.view" in r and seen_clients["other_ref"] in r for r in found)
    assert any("login.failure" in r and "reason: password" in r for r in found)
    assert not any(seen_clients["ref"] in r for r in found)


def test_search_terms_and_typed_reasons_are_withheld(
    app: Flask, seen_clients: dict[str, Any]
) -> None:
    client, _admin = admin_client(app)
    record_event(
        "contact.correct",
        actor=seen_clients["first"],
        client_id=seen_clients["case"].client_id,
        detail={"reason": "Casey said the score was wrong"},
    )
    db.session.commit()
    response = client.get("/admin/audit", query_string={"action": "client.search"})
    (search,) = rows(response)
    assert "terms: withheld" in search
    assert "results: 1" in search
    response = client.get("/admin/audit", query_string={"action": "contact"})
    (correction,) = rows(response)
    assert "reason: withheld" in correction
    assert "Casey" not in page(response)


def test_the_action_filter_takes_an_action_or_its_family(
    app: Flask, seen_clients: dict[str, Any]
) -> None:
    client, _admin = admin_client(app)
    exact = rows(client.get("/admin/audit", query_string={"action": "episode.view"}))
    assert exact
    assert all("episode.view" in r for r in exact)
    family = rows(client.get("/admin/audit", query_string={"action": "login"}))
    assert family
    assert all(" login." in f" {r}" for r in family)
    assert any("login.success" in r for r in family)
    # A family is a whole word: "log" is no family of "login".
    assert rows(client.get("/admin/audit", query_string={"action": "log"})) == []


def test_the_period_is_in_uk_days(app: Flask, seen_clients: dict[str, Any]) -> None:
    client, _admin = admin_client(app)
    viewed = events_of("episode.view")[0]
    day = local_date(viewed.at)

    def period(start: Any, end: Any) -> list[str]:
        query = {"action": "episode.view"}
        for name, value in (("date_from", start), ("date_to", end)):
            if value is not None:
                query |= {
                    f"{name}-day": str(value.day),
                    f"{name}-month": str(value.month),
                    f"{name}-year": str(value.year),
                }
        return rows(client.get("/admin/audit", query_string=query))

    assert len(period(day, day)) == 1
    assert len(period(day, None)) == 1
    assert period(day + timedelta(days=1), None) == []
    assert period(None, day - timedelta(days=1)) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"client": "C-NOSUCH"}, "No client has the service reference C-NOSUCH."),
        ({"action": "episode view; drop"}, "Enter an action such as episode.view"),
        ({"user": "x" * 65}, "A username has at most 64 characters."),
        (
            {"date_from-day": "2", "date_from-month": "3", "date_from-year": "2026"}
            | {"date_to-day": "1", "date_to-month": "3", "date_to-year": "2026"},
            "The end of the period must be the same as or after its start.",
        ),
        ({"date_from-day": "31", "date_from-month": "2", "date_from-year": "2026"}, "real date"),
        ({"date_to-day": "3", "date_to-year": "2026"}, "must include a month"),
    ],
)
def test_filters_that_cannot_be_met_say_why(
    app: Flask, query: dict[str, str], message: str
) -> None:
    client, _admin = admin_client(app)
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    assert message in page(response)
    assert "nhsuk-error-summary" in response.get_data(as_text=True)
    assert rows(response) == []
    assert events_of("audit.view") == []  # nothing was shown, so nothing was read
    export = client.get("/admin/audit.csv", query_string=query)
    assert export.status_code == 302
    assert "/admin/audit?" in export.headers["Location"]
    assert events_of("audit.export") == []


def test_pages_of_events_newest_first(app: Flask) -> None:
    client, admin = admin_client(app)
    for number in range(PAGE_SIZE + 7):
        record_event("diary.view", actor=admin, detail={"bookings": number})
    db.session.commit()
    query = {"action": "diary.view"}
    first = client.get("/admin/audit", query_string=query)
    listed = rows(first)
    assert len(listed) == PAGE_SIZE
    assert "bookings: 56" in listed[0]
    assert "bookings: 7" in listed[-1]
    html = first.get_data(as_text=True)
    assert "Newer events" not in html
    older_id = events_of("diary.view")[7].id
    assert f"before={older_id}" in html
    assert "action=diary.view" in html
    second = client.get("/admin/audit", query_string=query | {"before": str(older_id)})
    assert [r.split("bookings: ")[1] for r in rows(second)] == [str(n) for n in range(6, -1, -1)]
    assert "Older events" not in second.get_data(as_text=True)
    newer_id = events_of("diary.view")[6].id
    assert f"after={newer_id}" in second.get_data(as_text=True)
    back = client.get("/admin/audit", query_string=query | {"after": str(newer_id)})
    assert rows(back) == listed
    assert "Newer events" not in back.get_data(as_text=True)


def test_the_export_is_every_matching_event_as_csv(
    app: Flask, seen_clients: dict[str, Any]
) -> None:
    client, admin = admin_client(app)
    record_event("login.failure", actor_username='=HYPERLINK("x")', detail={"reason": "password"})
    for number in range(PAGE_SIZE + 3):
        record_event("caseload.view", actor=seen_clients["first"], client_ids=[number + 1000])
    db.session.commit()
    response = client.get("/admin/audit.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, *lines = table
    assert header[:5] == ["Event", "Time (UK)", "Time (UTC)", "User", "Action"]
    stored = events_of("caseload.view")
    assert len([line for line in lines if line[4] == "caseload.view"]) == len(stored)
    assert [int(line[0]) for line in lines] == sorted(
        (int(line[0]) for line in lines), reverse=True
    )
    assert ['\'=HYPERLINK("x")', "login.failure"] in [line[3:5] for line in lines]
    assert "Casey" not in response.get_data(as_text=True)
    (exported,) = events_of("audit.export")
    assert exported.actor_id == admin.id

    only = client.get("/admin/audit.csv", query_string={"client": seen_clients["ref"]})
    lines = list(csv.reader(io.StringIO(only.get_data(as_text=True))))[1:]
    assert lines
    assert all(seen_clients["ref"] in line[7].split("; ") for line in lines)
    # The worker who saw the record, and this very export, which names the client too.
    assert {line[3] for line in lines} == {"ann.worker", admin.username}
    assert lines[0][3:5] == [admin.username, "audit.export"]
    assert clients_of(events_of("audit.export")[-1]) == [seen_clients["case"].client_id]


def test_the_page_makes_a_fixed_number_of_queries(app: Flask) -> None:
    client, admin = admin_client(app)
    workers = [make_user(Role.WORKER) for _ in range(3)]
    case = make_case(workers[0], name="Query Counted")
    db.session.commit()
    ref = case.client.service_ref
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def measure(query: dict[str, str]) -> int:
        db.session.commit()
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/admin/audit", query_string=query).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    def add_events(number: int) -> None:
        for n in range(number):
            worker = workers[n % 3]
            record_event("caseload.view", actor=worker, client_ids=[case.client_id, n + 500])
        db.session.commit()

    add_events(2)
    measure({})  # warm up
    few = (measure({}), measure({"client": ref, "user": workers[0].username}))
    add_events(PAGE_SIZE + 10)
    many = (measure({}), measure({"client": ref, "user": workers[0].username}))
    assert many == few, statements
    # Sign-in session, the client looked up, the events, their clients; then the audit event.
    assert max(many) <= 12, statements


def test_an_episode_the_admin_may_not_open_stays_closed(
    app: Flask, seen_clients: dict[str, Any]
) -> None:
    """The trail names the client; it gives no way into the record."""
    client, _admin = admin_client(app)
    response = client.get("/admin/audit", query_string={"client": seen_clients["ref"]})
    assert f"/episodes/{seen_clients['case'].id}" not in response.get_data(as_text=True)
    assert client.get(f"/episodes/{seen_clients['case'].id}").status_code == 403


# Hostile query strings -------------------------------------------------------------------

KEYS = [
    "user",
    "client",
    "action",
    "before",
    "after",
    "date_from",
    "date_to",
    *(f"{n}-{p}" for n in ("date_from", "date_to") for p in ("day", "month", "year")),
    "_external",
    "_scheme",
    "_anchor",
]
VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "99999999999999999999999",
            "2147483648",
            "٣",
            "９",
            "9999",
            "0001",
            "javascript",
            "<script>alert(1)</script>",
            "{{ 7*7 }}",
            "%",
            "_",
            "login.",
            ".",
            "\u202e",
            "x" * 5000,
        ]
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=8))
def test_hostile_query_strings_never_give_a_500(
    hostile_admin: FlaskClient, query: list[tuple[str, str]]
) -> None:
    for path in ("/admin/audit", "/admin/audit.csv"):
        response = hostile_admin.get(path, query_string=query)
        if any("\x00" in value for _key, value in query):
            assert response.status_code == 400
        else:
            assert response.status_code in (200, 302), response.status_code
        location = response.headers.get("Location")
        assert location is None or location.startswith("/admin/audit"), location
        html = response.get_data(as_text=True)
        # Only the filters' own keys reach the page's links (url_for's _external, _scheme...).
        assert 'href="javascript' not in html
        assert "//localhost" not in html


@pytest.fixture
def hostile_admin(app: Flask) -> FlaskClient:
    """An administrator's client on an app that turns errors into 500s, as in production."""
    client, _admin = admin_client(app)
    record_event("caseload.view", actor=make_user(Role.WORKER), client_ids=[1, 2])
    db.session.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return client


def test_nothing_on_the_page_opens_a_client(app: Flask, seen_clients: dict[str, Any]) -> None:
    client, _admin = admin_client(app)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "/clients/" not in html
    assert db.session.get(Episode, seen_clients["case"].id) is not None


def test_an_event_naming_many_clients_shows_five_and_the_csv_lists_all(app: Flask) -> None:
    worker = make_user(Role.WORKER)
    refs = sorted(make_case(worker, name=f"Listed Person{n}").client.service_ref for n in range(8))
    ids = [c.id for c in db.session.scalars(select(Episode)).all()]
    clients = [db.session.get(Episode, i).client_id for i in ids]  # type: ignore[union-attr]
    record_event("caseload.view", actor=worker, client_ids=clients)
    db.session.commit()
    client, _ = admin_client(app)
    html = client.get("/admin/audit", query_string={"action": "caseload.view"}).get_data(
        as_text=True
    )
    row = html.split("caseload.view</code>")[1].split("</tr>")[0]
    by_id = sorted(
        (c.id, c.service_ref)
        for c in (db.session.get(Episode, i).client for i in ids)  # type: ignore[union-attr]
    )
    shown = [ref for _, ref in by_id[:5]]
    assert all(ref in row for ref in shown)
    assert not any(ref in row for _, ref in by_id[5:])
    assert "and more (the CSV download lists them all)" in row
    export = client.get("/admin/audit.csv", query_string={"action": "caseload.view"})
    listed = export.get_data(as_text=True)
    assert all(ref in listed for ref in refs)
