"""The worker's case pages through the test client: caseload, registration, the episode page,
access by scope and role, discharge and consent."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from caseload.domain.codes import AttendanceCode, DischargeReason, RiskLevel, Role
from caseload.extensions import db
from caseload.models import Episode
from caseload.web import CONFLICT_MESSAGE, today_in_london
from tests.conftest import sign_in
from tests.web.helpers import (
    add_contact,
    audit_events,
    book_past,
    checked_value,
    contact_data,
    error_messages,
    field_error,
    flash_after,
    input_value,
    make_case,
    page,
    reload,
    row_counts,
    table_html,
    textarea_value,
    token,
    utc_now,
)

# Registration --------------------------------------------------------------------------


#: Answers to the questions the national dataset needs at referral.
DATASET_ANSWERS = {
    "gender_identity": "female",
    "ethnic_category": "white_british",
    "employment_status": "employed",
    "long_term_condition": "no",
    "disability": "not_stated",
}


def registration(csrf: str, **overrides: Any) -> dict[str, Any]:
    """A valid registration post."""
    today = today_in_london()
    data = {
        "csrf_token": csrf,
        "name": "Morgan Example",
        "date_of_birth": "1985-06-15",
        "nhs_number": "943 476 5919",
        "phone": "07700 900123",
        "gp_practice": "Riverside Surgery",
        "referral_date": (today - timedelta(days=5)).isoformat(),
        "referral_source": "self",
        "referrer_expectation": "Counselling",
        "presenting_problem": "Generalised anxiety disorder",
        "step": "2",
        "complexity_factors": ["housing", "debt"],
        "complexity_note": "Rent arrears",
        **DATASET_ANSWERS,
        "consent": "not_asked",
        "consent_note": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_register_form_renders(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    response = client.get("/clients/new")
    assert response.status_code == 200
    assert checked_value(response, "consent") == "not_asked"
    assert checked_value(response, "step") == "2"


def test_register_saves_client_episode_and_consent(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    before = row_counts()
    response = client.post("/clients/new", data=registration(token(client)))
    assert response.status_code == 302
    assert re.fullmatch(r"/episodes/\d+", response.headers["Location"])
    html = flash_after(client, response)
    assert re.search(r"Registered as C-[0-9A-Z]{6}\.", html)
    assert "Consent not asked yet: kept out of central reporting" in html
    assert "Housing" in html
    assert "Debt" in html
    after = row_counts()
    assert after["clients"] == before["clients"] + 1
    assert after["episodes"] == before["episodes"] + 1
    assert after["consent_records"] == before["consent_records"] + 1
    episode = db.session.get(Episode, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert episode.worker_id == worker.id
    assert episode.client.nhs_number == "9434765919"


BAD_REGISTRATIONS = [
    pytest.param({"name": None}, "name", "Enter the client's name.", id="name-missing"),
    pytest.param({"name": "   "}, "name", "Enter the client's name.", id="name-blank"),
    pytest.param({"name": "N" * 121}, "name", "", id="name-huge"),
    pytest.param({"name": "N" * 100_000}, "name", "", id="name-enormous"),
    pytest.param({"date_of_birth": "2024-13-45"}, "date_of_birth", "", id="dob-garbage"),
    pytest.param({"date_of_birth": None}, "date_of_birth", "Enter date of birth", id="dob-missing"),
    pytest.param(
        {"date_of_birth": "2999-01-01"},
        "date_of_birth",
        "Date of birth must be in the past.",
        id="dob-future",
    ),
    pytest.param(
        {"date_of_birth": "1800-01-01"}, "date_of_birth", "within the last 120", id="dob-ancient"
    ),
    pytest.param({"nhs_number": "943 476 5918"}, "nhs_number", "check digit", id="nhs-check"),
    pytest.param(
        {"nhs_number": "12345678901234"}, "nhs_number", "valid 10-digit", id="nhs-too-long"
    ),
    pytest.param({"nhs_number": "9" * 15}, "nhs_number", "", id="nhs-huge"),
    pytest.param({"phone": "0" * 31}, "phone", "", id="phone-huge"),
    pytest.param({"gp_practice": "G" * 121}, "gp_practice", "", id="gp-huge"),
    pytest.param({"referral_date": "yesterday"}, "referral_date", "", id="referral-garbage"),
    pytest.param(
        {"referral_date": "2999-01-01"},
        "referral_date",
        "The referral date cannot be in the future.",
        id="referral-future",
    ),
    pytest.param(
        {"referral_date": "1980-01-01"},
        "referral_date",
        "cannot be before the date of birth",
        id="referral-before-birth",
    ),
    pytest.param(
        {"referral_source": None}, "referral_source", "Choose who referred", id="source-missing"
    ),
    pytest.param({"referral_source": "bogus"}, "referral_source", "", id="source-bogus"),
    pytest.param(
        {"referrer_expectation": "bogus"}, "referrer_expectation", "", id="expectation-bogus"
    ),
    pytest.param(
        {"referrer_expectation": ""},
        "referrer_expectation",
        "told to expect",
        id="expectation-missing",
    ),
    pytest.param(
        {"presenting_problem": ""}, "presenting_problem", "presenting problem", id="problem-missing"
    ),
    pytest.param({"presenting_problem": "x" * 61}, "presenting_problem", "", id="problem-bogus"),
    pytest.param({"step": "9"}, "step", "", id="step-bogus"),
    pytest.param(
        {"complexity_factors": ["bogus"]}, "complexity_factors", "", id="complexity-bogus"
    ),
    pytest.param({"complexity_note": "c" * 2001}, "complexity_note", "", id="complexity-huge"),
    pytest.param({"consent": "maybe"}, "consent", "", id="consent-bogus"),
    pytest.param({"consent_note": "c" * 501}, "consent_note", "", id="consent-note-huge"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_REGISTRATIONS)
def test_register_refuses_bad_input(
    client: FlaskClient, signed_in: Any, overrides: dict[str, Any], field: str, message: str
) -> None:
    signed_in(Role.WORKER)
    before = row_counts()
    response = client.post("/clients/new", data=registration(token(client), **overrides))
    assert response.status_code == 200
    assert "There is a problem" in page(response)
    shown = field_error(response, field)
    assert shown, error_messages(response)
    assert message in shown
    assert row_counts() == before


def test_register_keeps_answers_after_an_error(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    response = client.post(
        "/clients/new",
        data=registration(
            token(client),
            date_of_birth="2024-13-45",
            consent="yes",
            referral_source="gp",
            consent_note="Happy to be counted",
        ),
    )
    assert response.status_code == 200
    assert input_value(response, "name") == "Morgan Example"
    assert checked_value(response, "consent") == "yes"
    assert checked_value(response, "referral_source") == "gp"
    assert input_value(response, "consent_note") == "Happy to be counted"
    assert textarea_value(response, "complexity_note") == "Rent arrears"


def test_register_refuses_a_duplicate_nhs_number(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    assert client.post("/clients/new", data=registration(token(client))).status_code == 302
    before = row_counts()
    response = client.post("/clients/new", data=registration(token(client), name="Other One"))
    assert response.status_code == 200
    assert "already registered" in field_error(response, "nhs_number")
    assert row_counts() == before


def test_register_without_csrf_token_saves_nothing(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    before = row_counts()
    data = registration("")
    del data["csrf_token"]
    assert client.post("/clients/new", data=data).status_code == 400
    assert row_counts() == before


# The caseload ---------------------------------------------------------------------------


def test_caseload_shows_active_count_against_the_cap(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    add_contact(worker, make_case(worker, name="Active One"))
    add_contact(worker, make_case(worker, name="Active Two"))
    make_case(worker, name="Waiting Three")
    response = client.get("/caseload")
    assert response.status_code == 200
    html = page(response)
    assert re.search(r'Active cases: <span id="active-count">2</span> of 45', html)
    assert "1 waiting to start treatment." in html
    assert "Waiting Three" in table_html(response, "waiting-list")
    assert "Waiting Three" not in table_html(response, "active-cases")
    assert "Active One" in table_html(response, "active-cases")
    assert audit_events("caseload.view", actor=worker)


def test_caseload_lists_a_red_flag_case_before_an_unflagged_one(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    plain = make_case(worker, name="Alex Plain", referral_days_ago=20)
    red = make_case(worker, name="Robin Red", referral_days_ago=10)
    add_contact(worker, plain)
    add_contact(worker, red, phq9=(1, 1, 1, 1, 1, 1, 1, 1, 2), risk_level=RiskLevel.LOW)
    response = client.get("/caseload")
    assert response.status_code == 200
    active = table_html(response, "active-cases")
    assert active.index("Robin Red") < active.index("Alex Plain")
    assert "Red" in active[active.index("Robin Red") : active.index("Alex Plain")]
    reds = client.get("/caseload?show=red")
    assert reds.status_code == 200
    assert "Robin Red" in table_html(reds, "active-cases")
    assert "Alex Plain" not in table_html(reds, "active-cases")
    flagged = client.get("/caseload?show=amber")
    assert "Robin Red" in table_html(flagged, "active-cases")
    assert "Alex Plain" not in table_html(flagged, "active-cases")


def test_caseload_outcome_needed_for_a_past_booking(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    due = make_case(worker, name="Casey Due")
    add_contact(worker, due)
    book_past(worker, due)
    fine = make_case(worker, name="Drew Fine")
    add_contact(worker, fine)
    add_contact(worker, fine, at=utc_now() + timedelta(days=3), attendance=AttendanceCode.BOOKED)
    response = client.get("/caseload")
    active = table_html(response, "active-cases")
    row = active[active.index("Casey Due") :]
    row = row[: row.index("</tr>")]
    assert "Outcome needed" in row
    other = active[active.index("Drew Fine") :]
    other = other[: other.index("</tr>")]
    assert "Outcome needed" not in other
    assert "None booked" not in other
    only = client.get("/caseload?show=outcome")
    assert only.status_code == 200
    assert "Casey Due" in table_html(only, "active-cases")
    assert "Drew Fine" not in table_html(only, "active-cases")
    episode_page = page(client.get(f"/episodes/{due.id}"))
    assert "Outcome needed" in episode_page
    assert "Record outcome" in episode_page


@pytest.mark.parametrize(
    "show", ["all", "red", "amber", "outcome", "bogus", "", "__class__", "x" * 5000]
)
def test_caseload_filters_never_fail(client: FlaskClient, signed_in: Any, show: str) -> None:
    worker = signed_in(Role.WORKER)
    add_contact(worker, make_case(worker, name="Filter Case"))
    response = client.get("/caseload", query_string={"show": show})
    assert response.status_code == 200
    if show not in ("red", "amber", "outcome"):
        assert "Filter Case" in table_html(response, "active-cases")


def test_caseload_query_count_does_not_grow_with_cases(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)

    def add_cases(count: int, start: int) -> None:
        for number in range(start, start + count):
            episode = make_case(worker, name=f"Client {number}")
            add_contact(worker, episode)
            add_contact(
                worker,
                episode,
                at=utc_now() + timedelta(days=number + 1),
                attendance=AttendanceCode.BOOKED,
            )

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def measure() -> int:
        db.session.commit()
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/caseload").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    add_cases(3, 1)
    assert client.get("/caseload").status_code == 200  # warm up
    with_three = measure()
    add_cases(7, 4)
    with_ten = measure()
    assert "Client 10" in page(client.get("/caseload"))
    assert with_ten == with_three, statements


# The episode page ------------------------------------------------------------------------


def test_episode_page_shows_details_badge_and_actions(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, name="Jo Details", consented=True)
    add_contact(worker, episode)
    response = client.get(f"/episodes/{episode.id}")
    assert response.status_code == 200
    html = page(response)
    assert "Jo Details" in html
    assert episode.client.service_ref in html
    assert "Consented to central reporting" in html
    assert "Log a contact" in html
    assert "Discharge" in html
    assert "Correct" in html
    assert "Outcome:" not in html
    assert audit_events("episode.view", object_id=episode.id, actor=worker)


def test_episode_page_with_no_contacts(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker)
    response = client.get(f"/episodes/{episode.id}")
    assert response.status_code == 200
    assert "No contacts yet." in page(response)
    assert "Waiting" in page(response)


# Access ----------------------------------------------------------------------------------


def worker_pages(episode_id: int) -> list[str]:
    return [
        f"/episodes/{episode_id}",
        f"/episodes/{episode_id}/contacts/new",
        f"/episodes/{episode_id}/discharge",
        f"/episodes/{episode_id}/consent",
    ]


def contact_pages(contact_id: int) -> list[str]:
    return [
        f"/contacts/{contact_id}/correct",
        f"/contacts/{contact_id}/outcome",
        f"/contacts/{contact_id}/entered-in-error",
    ]


@pytest.fixture
def production_errors(app: Any) -> Any:
    """Errors handled as in production: an exception inside an error handler becomes the
    500 page instead of propagating into the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_another_workers_episode_is_404_audited_and_not_leaked(
    client: FlaskClient, signed_in: Any, user_factory: Any, production_errors: Any
) -> None:
    me = signed_in(Role.WORKER)
    other = user_factory(Role.WORKER)
    theirs = make_case(other, name="Secret Person")
    contact = add_contact(other, theirs, note="Secret clinical note")
    csrf = token(client)
    before = row_counts()
    for path in worker_pages(theirs.id) + contact_pages(contact.id):
        for method in ("get", "post"):
            if method == "post" and path == f"/episodes/{theirs.id}":
                continue
            response = getattr(client, method)(
                path, data={"csrf_token": csrf, "reason": "x", "consent": "no", "consent_note": "x"}
            )
            assert response.status_code == 404, (method, path)
            assert "Secret Person" not in page(response)
            assert "Secret clinical note" not in page(response)
    assert row_counts() == before
    denied = audit_events("access.denied", object_id=theirs.id, actor=me)
    assert len(denied) >= len(worker_pages(theirs.id)) + len(contact_pages(contact.id))
    assert reload(contact).status.value == "current"
    assert reload(theirs).discharged_on is None
    assert reload(theirs).client.consent_central_reporting is False


def test_a_missing_episode_or_contact_is_404_and_audited(
    client: FlaskClient, signed_in: Any, production_errors: Any
) -> None:
    me = signed_in(Role.WORKER)
    for path in worker_pages(987654) + contact_pages(876543):
        assert client.get(path).status_code == 404, path
    assert audit_events("access.denied", object_id=987654, actor=me)


def test_supervisor_of_the_team_can_view_but_not_change(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    signed_in(Role.SUPERVISOR, team="North team")
    worker = user_factory(Role.WORKER, team="North team")
    episode = make_case(worker, name="Team Client")
    contact = add_contact(worker, episode)
    response = client.get(f"/episodes/{episode.id}")
    assert response.status_code == 200
    html = page(response)
    assert "Team Client" in html
    assert "Log a contact" not in html
    assert "Record outcome" not in html
    assert f"/contacts/{contact.id}/correct" not in html
    csrf = token(client)
    before = row_counts()
    for path in worker_pages(episode.id)[1:] + contact_pages(contact.id):
        assert client.get(path).status_code == 403, path
        assert client.post(path, data={"csrf_token": csrf, "reason": "x"}).status_code == 403
    posted = client.post(f"/episodes/{episode.id}/contacts/new", data={"csrf_token": csrf})
    assert posted.status_code == 403
    assert "Team Client" not in page(posted)
    assert client.get("/caseload").status_code == 403
    assert row_counts() == before


def test_supervisor_of_another_team_gets_404(
    client: FlaskClient, signed_in: Any, user_factory: Any, production_errors: Any
) -> None:
    boss = signed_in(Role.SUPERVISOR, team="South team")
    worker = user_factory(Role.WORKER, team="North team")
    episode = make_case(worker, name="North Client")
    response = client.get(f"/episodes/{episode.id}")
    assert response.status_code == 404
    assert "North Client" not in page(response)
    assert audit_events("access.denied", object_id=episode.id, actor=boss)


@pytest.mark.parametrize("role", [Role.LEAD, Role.ADMIN])
def test_leads_and_admins_never_see_case_pages(
    client: FlaskClient, signed_in: Any, user_factory: Any, role: Role
) -> None:
    signed_in(role)
    worker = user_factory(Role.WORKER)
    episode = make_case(worker, name="Hidden Client")
    contact = add_contact(worker, episode)
    csrf = token(client)
    before = row_counts()
    paths = [
        "/caseload",
        "/clients/new",
        "/notes/",
        "/notes/new",
        *worker_pages(episode.id),
        *contact_pages(contact.id),
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Hidden Client" not in page(response)
    for path in [
        "/clients/new",
        "/notes/new",
        *worker_pages(episode.id)[1:],
        *contact_pages(contact.id),
    ]:
        assert client.post(path, data={"csrf_token": csrf}).status_code == 403, path
    assert row_counts() == before


def test_signed_out_user_is_sent_to_sign_in(client: FlaskClient, user_factory: Any) -> None:
    worker = user_factory(Role.WORKER)
    episode = make_case(worker, name="Anon Target")
    response = client.get(f"/episodes/{episode.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# Discharge -------------------------------------------------------------------------------


def discharge_data(csrf: str, episode: Episode, **overrides: Any) -> dict[str, Any]:
    data = {
        "csrf_token": csrf,
        "reason": "completed",
        "discharged_on": today_in_london().isoformat(),
        "note": "Goals met.",
        "version": str(episode.version),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def treated_case(worker: Any, name: str = "Dana Discharge") -> Episode:
    """An episode with two treatment contacts: PHQ-9 16 then 8, GAD-7 14 then 7."""
    episode = make_case(worker, name=name, referral_days_ago=40)
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=20),
        phq9=(2, 2, 2, 2, 2, 2, 2, 2, 0),
        gad7=(2, 2, 2, 2, 2, 2, 2),
    )
    add_contact(worker, episode, at=utc_now() - timedelta(days=2))
    return episode


def test_discharge_shows_the_outcome_preview(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    response = client.get(f"/episodes/{episode.id}/discharge")
    assert response.status_code == 200
    html = page(response)
    assert "Outcome if discharged now" in html
    preview = re.search(r'id="outcome-preview">([^<]+)<', html)
    assert preview
    assert preview.group(1).strip()
    today = today_in_london()
    assert [
        input_value(response, f"discharged_on-{part}") for part in ("day", "month", "year")
    ] == [
        str(today.day),
        str(today.month),
        str(today.year),
    ]
    assert input_value(response, "version") == str(episode.version)
    assert "Scores are not paired" not in html


def test_discharge_warns_when_scores_are_not_paired(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker)
    response = client.get(f"/episodes/{episode.id}/discharge")
    assert response.status_code == 200
    assert "Scores are not paired" in page(response)


def test_discharge_saves_and_shows_the_outcome(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    preview = (
        re.search(
            r'id="outcome-preview">([^<]+)<', page(client.get(f"/episodes/{episode.id}/discharge"))
        )
        .group(1)
        .strip()
    )
    response = client.post(
        f"/episodes/{episode.id}/discharge", data=discharge_data(token(client), episode)
    )
    html = flash_after(client, response)
    assert f"{reload(episode).client.service_ref} has been discharged." in html
    assert "Outcome:" in html
    category = re.search(r'id="outcome-category">([^<]+)<', html)
    assert category
    assert category.group(1).strip() == preview
    assert "Recovered: yes" in html
    assert "Log a contact" not in html
    assert reload(episode).discharge_reason is DischargeReason.COMPLETED
    assert audit_events("episode.discharge", object_id=episode.id)
    # The case leaves the caseload, and no contact can be added any more.
    assert "Dana Discharge" not in page(client.get("/caseload"))
    before = row_counts()
    refused = client.post(
        f"/episodes/{episode.id}/contacts/new",
        data=contact_data(token(client)),
        follow_redirects=True,
    )
    assert refused.request.path == f"/episodes/{episode.id}"
    assert "This episode is discharged" in page(refused)
    assert client.get(f"/episodes/{episode.id}/contacts/new").status_code == 302
    assert row_counts() == before
    again = client.post(
        f"/episodes/{episode.id}/discharge",
        data=discharge_data(token(client), reload(episode)),
        follow_redirects=True,
    )
    assert again.request.path == f"/episodes/{episode.id}"
    assert "already discharged" in page(again)


BAD_DISCHARGES = [
    pytest.param(
        {"reason": None}, "reason", "Choose the reason for discharge.", id="reason-missing"
    ),
    pytest.param({"reason": "bogus"}, "reason", "", id="reason-bogus"),
    pytest.param(
        {"discharged_on": None}, "discharged_on", "Enter the discharge date", id="date-missing"
    ),
    pytest.param(
        {"discharged_on": "2024-13-45"},
        "discharged_on",
        "The discharge date must be a real date",
        id="date-garbage",
    ),
    pytest.param(
        {"discharged_on": "2999-01-01"},
        "discharged_on",
        "cannot be in the future",
        id="date-future",
    ),
    pytest.param(
        {"discharged_on": "2000-01-01"},
        "discharged_on",
        "cannot be before the referral date",
        id="date-before-referral",
    ),
    pytest.param({"note": "n" * 4001}, "note", "", id="note-huge"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_DISCHARGES)
def test_discharge_refuses_bad_input(
    client: FlaskClient, signed_in: Any, overrides: dict[str, Any], field: str, message: str
) -> None:
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    before = row_counts()
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data=discharge_data(token(client), episode, **overrides),
    )
    assert response.status_code == 200
    shown = field_error(response, field)
    assert shown, error_messages(response)
    assert message in shown
    assert row_counts() == before
    assert reload(episode).discharged_on is None
    if "note" not in overrides:
        assert textarea_value(response, "note") == "Goals met."


def test_the_discharge_date_is_typed_in_day_month_and_year_boxes(
    client: FlaskClient, signed_in: Any
) -> None:
    """Issue 8: the NHS.UK date input, never the browser's date picker."""
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    path = f"/episodes/{episode.id}/discharge"
    assert 'type="date"' not in page(client.get(path))
    today = today_in_london()
    data = discharge_data(token(client), episode)
    del data["discharged_on"]
    boxes = {"discharged_on-day": str(today.day), "discharged_on-month": str(today.month)}
    boxes["discharged_on-year"] = str(today.year)
    refused = client.post(path, data=data | boxes | {"discharged_on-day": "32"})
    assert refused.status_code == 200
    assert field_error(refused, "discharged_on") == "The discharge date must be a real date"
    assert input_value(refused, "discharged_on-day") == "32"
    assert reload(episode).discharged_on is None
    assert client.post(path, data=data | boxes).status_code == 302
    assert reload(episode).discharged_on == today


def test_discharge_before_the_last_contact_is_refused(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    early = (today_in_london() - timedelta(days=10)).isoformat()
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data=discharge_data(token(client), episode, discharged_on=early),
    )
    assert response.status_code == 200
    assert "before the last attended contact" in field_error(response, "discharged_on")
    assert reload(episode).discharged_on is None


def test_discharge_refused_while_a_booking_has_no_outcome(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    add_contact(worker, episode, at=utc_now() + timedelta(days=2), attendance=AttendanceCode.BOOKED)
    response = client.post(
        f"/episodes/{episode.id}/discharge", data=discharge_data(token(client), reload(episode))
    )
    assert response.status_code == 200
    # Named at the top of the form, not on the reason field (tests/web/test_safety_pages.py).
    assert any("booked contact" in message for message in error_messages(response))
    assert field_error(response, "reason") == ""
    assert reload(episode).discharged_on is None


def test_discharge_with_a_stale_version_is_a_conflict(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    opened_at = str(episode.version)
    episode.complexity_note = "Changed in another tab"
    db.session.commit()
    assert str(reload(episode).version) != opened_at
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data=discharge_data(
            token(client), episode, version=opened_at, reason="stepped_up", note="Needs step 3"
        ),
    )
    assert response.status_code == 409
    assert CONFLICT_MESSAGE in page(response)
    assert checked_value(response, "reason") == "stepped_up"
    assert textarea_value(response, "note") == "Needs step 3"
    assert reload(episode).discharged_on is None


def test_discharge_with_a_garbage_version_is_a_conflict_not_a_500(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = treated_case(worker)
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data=discharge_data(token(client), episode, version="abc"),
    )
    assert response.status_code == 409
    assert CONFLICT_MESSAGE in page(response)
    assert reload(episode).discharged_on is None


# Consent ---------------------------------------------------------------------------------


def test_consent_page_renders_with_history(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    response = client.get(f"/episodes/{episode.id}/consent")
    assert response.status_code == 200
    assert checked_value(response, "consent") == "yes"
    assert "Asked at registration" in page(response)


def test_consent_change_is_kept_in_history_and_changes_the_badge(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    assert "Consented to central reporting" in page(client.get(f"/episodes/{episode.id}"))
    before = row_counts()
    response = client.post(
        f"/episodes/{episode.id}/consent",
        data={
            "csrf_token": token(client),
            "consent": "declined",
            "consent_note": "Withdrew consent on the phone",
            "version": str(episode.client.version),
        },
    )
    html = flash_after(client, response)
    assert "Consent recorded." in html
    assert "No consent: kept out of central reporting" in html
    assert "Consented to central reporting" not in html
    assert row_counts()["consent_records"] == before["consent_records"] + 1
    assert reload(episode).client.consent_central_reporting is False
    history = page(client.get(f"/episodes/{episode.id}/consent"))
    rows = re.findall(r"<tr><td.*?</tr>", history, re.S)
    assert len(rows) == 2
    assert any(">Yes<" in row and "Asked at registration" in row for row in rows)
    assert any(">Declined<" in row and "Withdrew consent on the phone" in row for row in rows)
    assert audit_events("consent.change", object_id=episode.client_id)
    # And back again.
    response = client.post(
        f"/episodes/{episode.id}/consent",
        data={
            "csrf_token": token(client),
            "consent": "yes",
            "consent_note": "Agreed again",
            "version": str(reload(episode).client.version),
        },
    )
    assert "Consented to central reporting" in flash_after(client, response)


BAD_CONSENTS = [
    pytest.param(
        {"consent": "yes", "consent_note": ""},
        "consent_note",
        "Say what the client said",
        id="yes-without-note",
    ),
    pytest.param(
        {"consent": "declined", "consent_note": "   "},
        "consent_note",
        "Say what the client said",
        id="no-with-blank-note",
    ),
    pytest.param(
        {"consent_note": "Said something"},
        "consent",
        "Choose what the client said",
        id="choice-missing",
    ),
    pytest.param({"consent": "maybe", "consent_note": "Unsure"}, "consent", "", id="choice-bogus"),
    pytest.param(
        {"consent": "declined", "consent_note": "w" * 501}, "consent_note", "", id="note-huge"
    ),
]


@pytest.mark.parametrize(("data", "field", "message"), BAD_CONSENTS)
def test_consent_refuses_bad_input(
    client: FlaskClient, signed_in: Any, data: dict[str, str], field: str, message: str
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    before = row_counts()
    response = client.post(
        f"/episodes/{episode.id}/consent",
        data={"csrf_token": token(client), "version": str(episode.client.version), **data},
    )
    assert response.status_code == 200
    shown = field_error(response, field)
    assert shown, error_messages(response)
    assert message in shown
    assert row_counts() == before
    assert reload(episode).client.consent_central_reporting is True
    if data.get("consent") in ("yes", "declined", "not_asked"):
        assert checked_value(response, "consent") == data["consent"]


def test_second_worker_session_cannot_change_consent(
    app: Any, client: FlaskClient, signed_in: Any, user_factory: Any, production_errors: Any
) -> None:
    owner = signed_in(Role.WORKER)
    episode = make_case(owner, consented=True)
    intruder = user_factory(Role.WORKER)
    other = app.test_client()
    sign_in(other, intruder)
    response = other.post(
        f"/episodes/{episode.id}/consent",
        data={
            "csrf_token": token(other),
            "consent": "declined",
            "consent_note": "Not mine to change",
        },
    )
    assert response.status_code == 404
    assert reload(episode).client.consent_central_reporting is True
