"""Registration to the national dataset through the test client: the NHS.UK date input and
its messages, the dataset's questions, the likely-duplicate warning and its override,
consent in three states and its reminder, the under-18 banner, NHS numbers spaced 3-3-4,
and the registration page's query budget."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from caseload.domain.codes import ConsentState, ReferralSource, Role
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Client, Episode
from caseload.services import clients as client_service
from caseload.web import today_in_london
from caseload.web.forms import DateReading, read_date_parts
from tests.services.test_episodes import counting_statements
from tests.web.helpers import (
    audit_events,
    checked_value,
    error_messages,
    field_error,
    flash_after,
    input_value,
    make_case,
    page,
    row_counts,
    token,
)

VALID_NHS_NUMBER = "9434765919"


def boxes(name: str, on: date | None = None, **typed: str) -> dict[str, str]:
    """A date as the three boxes post it: from a date, or as typed (day=, month=, year=)."""
    if on is not None:
        typed = {"day": str(on.day), "month": str(on.month), "year": str(on.year)} | typed
    return {f"{name}-{part}": typed.get(part, "") for part in ("day", "month", "year")}


def registration(csrf: str, **overrides: Any) -> dict[str, Any]:
    """A valid registration as the browser posts it, with every dataset answer."""
    today = today_in_london()
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "name": "Morgan Example",
        **boxes("date_of_birth", date(1985, 6, 15)),
        "nhs_number": "",
        "postcode": "ls1 4ap",
        "phone": "07700 900123",
        "contact_preferences": ["message"],
        "gp_practice": "Riverside Surgery",
        "gp_practice_code": "b86101",
        "emergency_contact_name": "Sam Example",
        "emergency_contact_relationship": "Partner",
        "emergency_contact_phone": "07700 900456",
        "gender_identity": "female",
        "ethnic_category": "white_irish",
        "employment_status": "student",
        "long_term_condition": "yes",
        "disability": "no",
        "sexual_orientation": "bisexual",
        "preferred_language": "Irish",
        "interpreter_needed": "y",
        **boxes("referral_date", today - timedelta(days=5)),
        "referral_source": "self",
        "referrer_expectation": "Counselling",
        "presenting_problem": "Generalised anxiety disorder",
        "step": "2",
        "consent": "not_asked",
        "consent_note": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def register(client: FlaskClient, **overrides: Any) -> Any:
    return client.post("/clients/new", data=registration(token(client), **overrides))


def saved_episode(response: Any) -> Episode:
    assert response.status_code == 302, error_messages(response)
    episode = db.session.get(Episode, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert episode is not None
    return episode


def shown_clients(event: AuditEvent) -> list[int]:
    """The clients an audit event names (a list page names them in a child table)."""
    return list(
        db.session.scalars(
            select(AuditEventClient.client_id)
            .where(AuditEventClient.audit_event_id == event.id)
            .order_by(AuditEventClient.client_id)
        )
    )


def adult_born(years: int = 18, *, days: int = 0) -> date:
    """A date of birth ``years`` before the default referral date (5 days ago), moved by days."""
    referred = today_in_london() - timedelta(days=5)
    return referred.replace(year=referred.year - years) + timedelta(days=days)


# The form ---------------------------------------------------------------------------------


def test_the_form_asks_dates_in_three_boxes_and_the_dataset_questions(
    client: FlaskClient, signed_in: Any
) -> None:
    signed_in(Role.WORKER)
    html = page(client.get("/clients/new"))
    for name in ("date_of_birth", "referral_date"):
        for part in ("day", "month", "year"):
            assert f'name="{name}-{part}"' in html
            assert f'id="{name}-{part}"' in html
    assert 'class="nhsuk-date-input"' in html
    for question in (
        "What is the client's gender?",
        "What is the client's ethnic group?",
        "What is the client's employment status?",
        "Does the client have a long-term physical health condition?",
        "Does the client consider themselves to have a disability?",
        "What is the client's sexual orientation? (optional)",
        "What was the client told to expect from us?",
        "Emergency contact (optional)",
    ):
        assert question in html
    assert "Not stated (asked, but preferred not to say)" in html
    assert "Not known (not asked)" in html
    assert "Asked, and does not know or is not sure" in html
    assert checked_value(client.get("/clients/new"), "consent") == "not_asked"
    assert "This is a different person" not in html


def test_a_registration_saves_every_answer_and_the_episode_page_shows_them(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    before = row_counts()
    response = register(client, nhs_number="943 476 5919")
    episode = saved_episode(response)
    assert episode.worker_id == worker.id
    assert row_counts()["clients"] == before["clients"] + 1
    c = episode.client
    assert (c.date_of_birth, c.postcode, c.gp_practice_code) == (
        date(1985, 6, 15),
        "LS1 4AP",
        "B86101",
    )
    assert (c.may_leave_message, c.sms_allowed, c.interpreter_needed) == (True, False, True)
    assert c.consent_state is ConsentState.NOT_ASKED

    html = flash_after(client, response)
    for shown in (
        "943 476 5919",
        "LS1 4AP",
        "Code B86101",
        "Messages may be left",
        "Sam Example (Partner)",
        "White: Irish",
        "Student, not working or seeking work",
        "Bisexual",
        "Irish; needs an interpreter",
    ):
        assert shown in html, shown
    assert "9434765919" not in html


# Date input messages ------------------------------------------------------------------------


DATE_PROBLEMS = [
    pytest.param({}, "Enter date of birth", ["day"], id="blank"),
    pytest.param({"day": "45", "month": "6", "year": "1985"}, "real date", ["day"], id="day-45"),
    pytest.param({"day": "15", "month": "13", "year": "1985"}, "real date", ["month"], id="m13"),
    pytest.param({"day": "xx", "month": "yy", "year": "1985"}, "real date", ["day"], id="words"),
    pytest.param({"day": "31", "month": "2", "year": "1985"}, "real date", ["day"], id="31-feb"),
    pytest.param(
        {"day": "15", "year": "1985"}, "Date of birth must include a month", ["month"], id="no-m"
    ),
    pytest.param(
        {"year": "1985"}, "Date of birth must include a day and month", ["day"], id="no-d-m"
    ),
    pytest.param(
        {"day": "15", "month": "6", "year": "85"}, "Year must include 4 numbers", ["year"], id="yy"
    ),
]


@pytest.mark.parametrize(("typed", "message", "first_box"), DATE_PROBLEMS)
def test_date_of_birth_messages_follow_the_nhs_pattern(
    client: FlaskClient, signed_in: Any, typed: dict[str, str], message: str, first_box: list[str]
) -> None:
    signed_in(Role.WORKER)
    before = row_counts()
    response = register(client, **boxes("date_of_birth", **typed))
    assert response.status_code == 200
    shown = field_error(response, "date_of_birth")
    assert message in shown
    if "real date" in message:
        assert shown == "Date of birth must be a real date"
    assert f'href="#date_of_birth-{first_box[0]}"' in response.get_data(as_text=True)
    assert row_counts() == before
    for part, value in typed.items():
        assert input_value(response, f"date_of_birth-{part}") == value


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ({"day": "3", "month": "6", "year": "1985"}, None),
        ({"day": " 03 ", "month": "Jun", "year": "1985"}, None),
        ({"day": "٣", "month": "6", "year": "1985"}, "Date of birth must be a real date"),
        ({"day": "3", "month": "6", "year": "１９８５"}, "Date of birth must be a real date"),
        ({"day": "29", "month": "2", "year": "2023"}, "Date of birth must be a real date"),
        ({"day": "1", "month": "1", "year": "0000"}, "Date of birth must be a real date"),
        ({"day": "", "month": "", "year": "1985"}, "Date of birth must include a day and month"),
        ({"day": "3", "month": "6", "year": ""}, "Date of birth must include a year"),
    ],
)
def test_reading_the_three_boxes(typed: dict[str, str], problem: str | None) -> None:
    reading = read_date_parts(typed, subject="date of birth", required=True)
    assert reading.problem == problem
    assert (reading.value is None) is (problem is not None)


def test_an_optional_date_may_be_left_empty() -> None:
    blank = dict.fromkeys(("day", "month", "year"), " ")
    assert read_date_parts(blank, subject="review date", required=False) == DateReading(None)
    assert read_date_parts(blank, subject="review date", required=True).problem == (
        "Enter review date"
    )


def test_only_the_boxes_in_error_are_highlighted(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    response = register(client, **boxes("date_of_birth", day="15", month="", year="1985"))
    html = response.get_data(as_text=True)
    highlighted = re.findall(r'nhsuk-input--error" id="date_of_birth-(\w+)"', html)
    assert highlighted == ["month"]


def test_a_blank_referral_date_says_enter_referral_date(
    client: FlaskClient, signed_in: Any
) -> None:
    signed_in(Role.WORKER)
    response = register(client, **boxes("referral_date"))
    assert field_error(response, "referral_date") == "Enter referral date"


def test_month_names_and_leading_zeros_are_accepted(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    response = register(client, **boxes("date_of_birth", day="05", month="March", year="1985"))
    assert saved_episode(response).client.date_of_birth == date(1985, 3, 5)


def test_a_date_in_the_future_is_refused_by_the_service(
    client: FlaskClient, signed_in: Any
) -> None:
    signed_in(Role.WORKER)
    response = register(client, **boxes("date_of_birth", date(2999, 1, 1)))
    assert field_error(response, "date_of_birth") == "Date of birth must be in the past."


# The dataset's questions --------------------------------------------------------------------


def test_the_dataset_questions_must_be_answered_with_not_stated_offered(
    client: FlaskClient, signed_in: Any
) -> None:
    signed_in(Role.WORKER)
    before = row_counts()
    response = register(
        client,
        gender_identity=None,
        ethnic_category="",
        employment_status=None,
        long_term_condition=None,
        disability=None,
    )
    assert response.status_code == 200
    for field in (
        "gender_identity",
        "ethnic_category",
        "employment_status",
        "long_term_condition",
        "disability",
    ):
        assert "'Not stated'" in field_error(response, field), field
    assert row_counts() == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"postcode": "nowhere"}, "postcode", "Enter a real UK postcode"),
        ({"gp_practice_code": "Riverside"}, "gp_practice_code", "a letter and 5 numbers"),
        ({"emergency_contact_phone": ""}, "emergency_contact_phone", "phone number"),
        ({"gender_identity": "unknown"}, "gender_identity", "Not a valid choice"),
        ({"ethnic_category": "A"}, "ethnic_category", "Not a valid choice"),
        ({"consent": "no"}, "consent", "Not a valid choice"),
    ],
)
def test_wrong_answers_are_refused_beside_their_field(
    client: FlaskClient, signed_in: Any, overrides: dict[str, str], field: str, message: str
) -> None:
    signed_in(Role.WORKER)
    before = row_counts()
    response = register(client, **overrides)
    assert response.status_code == 200
    assert message in field_error(response, field)
    assert row_counts() == before


# The age rule -------------------------------------------------------------------------------


def test_a_17_year_old_is_refused_with_the_age_named(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    response = register(client, **boxes("date_of_birth", adult_born(days=1)))
    assert field_error(response, "date_of_birth") == (
        "This service takes referrals from age 18: the client was 17 on the referral date."
    )


def test_with_a_minimum_of_16_a_17_year_old_gets_the_young_person_banner(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    app.config["MINIMUM_AGE"] = 16
    signed_in(Role.WORKER)
    young = saved_episode(register(client, **boxes("date_of_birth", adult_born(days=1))))
    html = page(client.get(f"/episodes/{young.id}"))
    assert "Under 18: follow the service's procedure for young people" in html
    assert "was 17 on the referral date" in html
    adult = saved_episode(
        register(client, name="Ada Adult", **boxes("date_of_birth", adult_born()))
    )
    assert "Under 18" not in page(client.get(f"/episodes/{adult.id}"))


# The likely-duplicate warning ---------------------------------------------------------------


def test_a_likely_duplicate_is_shown_before_saving_and_needs_the_box(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    first = saved_episode(register(client, name="Morgan Example"))
    before = row_counts()
    response = register(client, name="morgan  examplé")
    assert response.status_code == 200
    html = page(response)
    assert "This client may already be registered" in html
    assert first.client.service_ref in html
    assert "15 Jun 1985" in html
    assert f'href="/clients/{first.client_id}"' in html  # the worker's own client opens
    assert "This is a different person: register anyway" in html
    assert "Check the possible matches" in field_error(response, "different_person")
    assert row_counts() == before
    [warned] = audit_events("client.duplicate_warning", actor=worker)
    assert shown_clients(warned) == [first.client_id]

    response = register(client, name="morgan  examplé", different_person="y")
    second = saved_episode(response)
    assert second.client_id != first.client_id
    created = audit_events("client.create", object_id=second.id)
    assert created[0].detail == {"not_duplicate_of": [first.client_id]}


def test_another_workers_client_is_shown_only_as_far_as_the_search_shows(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    signed_in(Role.WORKER)
    other = user_factory(Role.WORKER, team="South team")
    theirs = make_case(other, name="Morgan Example")
    theirs.client.date_of_birth = date(1985, 6, 15)
    theirs.client.phone = "07700 900999"
    db.session.commit()
    html = page(register(client))
    assert "This client may already be registered" in html
    assert theirs.client.service_ref in html
    assert "Open, South team" in html
    assert f'href="/clients/{theirs.client_id}"' not in html
    assert f"/clients/search?q={theirs.client.service_ref}" in html
    assert "07700 900999" not in html


def test_the_same_nhs_number_is_refused_even_with_the_box_ticked(
    client: FlaskClient, signed_in: Any
) -> None:
    signed_in(Role.WORKER)
    saved_episode(register(client, nhs_number=VALID_NHS_NUMBER))
    before = row_counts()
    response = register(
        client,
        name="Another Person",
        nhs_number="943 476 5919",
        different_person="y",
        **boxes("date_of_birth", date(1970, 1, 1)),
    )
    assert response.status_code == 200
    html = page(response)
    assert "Same NHS number" in html
    assert "This is a different person: register anyway" not in html
    assert "already registered" in field_error(response, "nhs_number")
    assert row_counts() == before


def test_no_warning_for_a_new_person(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    saved_episode(register(client))
    response = register(client, name="Jordan Smith")
    saved_episode(response)
    assert not audit_events("client.duplicate_warning")


# Consent in three states ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "tag"),
    [
        ("yes", "Consented to central reporting"),
        ("declined", "No consent: kept out of central reporting"),
        ("not_asked", "Consent not asked yet: kept out of central reporting"),
    ],
)
def test_registration_offers_three_consent_states(
    client: FlaskClient, signed_in: Any, state: str, tag: str
) -> None:
    signed_in(Role.WORKER)
    response = register(client, consent=state, consent_note="Asked on the call.")
    episode = saved_episode(response)
    assert episode.client.consent_state is ConsentState(state)
    html = flash_after(client, response)
    assert tag in html
    assert ("Consent to central reporting has not been asked yet" in html) is (state == "not_asked")


def test_the_consent_reminder_links_to_the_consent_page_and_goes_once_asked(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker)  # registered with the old default: not asked yet
    html = page(client.get(f"/episodes/{episode.id}"))
    assert "Consent to central reporting has not been asked yet" in html
    assert f'<a href="/episodes/{episode.id}/consent">record their answer</a>' in html

    consent_page = client.get(f"/episodes/{episode.id}/consent")
    assert checked_value(consent_page, "consent") == "not_asked"
    for value in ("yes", "declined", "not_asked"):
        assert f'value="{value}"' in consent_page.get_data(as_text=True)
    response = client.post(
        f"/episodes/{episode.id}/consent",
        data={
            "csrf_token": token(client),
            "consent": "declined",
            "consent_note": "No, thanks.",
            "version": str(episode.client.version),
        },
    )
    html = flash_after(client, response)
    assert "Consent to central reporting has not been asked yet" not in html
    assert "No consent: kept out of central reporting" in html
    history = page(client.get(f"/episodes/{episode.id}/consent"))
    assert ">Declined<" in history
    assert ">Not asked yet<" in history


def test_the_consent_page_takes_the_day_the_client_answered(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, referral_days_ago=20)
    today = today_in_london()
    form = client.get(f"/episodes/{episode.id}/consent")
    assert input_value(form, "answered_on-day") == str(today.day)
    assert input_value(form, "answered_on-year") == str(today.year)

    url = f"/episodes/{episode.id}/consent"
    answer = {
        "csrf_token": token(client),
        "consent": "yes",
        "consent_note": "Agreed.",
        "version": str(episode.client.version),
    }
    before = row_counts()
    nonsense = client.post(
        url, data=answer | boxes("answered_on", day="40", month="1", year="2026")
    )
    assert (
        field_error(nonsense, "answered_on") == "The date the client answered must be a real date"
    )
    future = client.post(url, data=answer | boxes("answered_on", today + timedelta(days=1)))
    assert "today or in the past" in field_error(future, "answered_on")
    assert row_counts() == before

    said = today - timedelta(days=3)
    response = client.post(url, data=answer | boxes("answered_on", said))
    flash_after(client, response)
    history = page(client.get(url))
    assert f">{said.day} " in history
    db.session.expire_all()
    newest = db.session.get(Client, episode.client_id).consent_records[0]
    assert (newest.consent_state, newest.answered_on) == (ConsentState.YES, said)


def test_a_supervisor_sees_the_reminder_without_the_link(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    signed_in(Role.SUPERVISOR, team="North team")
    episode = make_case(user_factory(Role.WORKER, team="North team"))
    html = page(client.get(f"/episodes/{episode.id}"))
    assert "Consent to central reporting has not been asked yet" in html
    assert "record their answer" not in html


# NHS numbers --------------------------------------------------------------------------------


def test_nhs_numbers_are_shown_spaced_3_3_4(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker)
    episode.client.nhs_number = VALID_NHS_NUMBER
    db.session.commit()
    html = page(client.get(f"/episodes/{episode.id}"))
    assert "943 476 5919" in html
    assert VALID_NHS_NUMBER not in html


# Query budget -------------------------------------------------------------------------------


def registration_statements(client: FlaskClient, worker: Any, clients: int) -> tuple[int, int]:
    """Give the service ``clients`` more people sharing one birthday and surname, then count
    the statements of the form and of a registration that warns about all of them."""
    today = today_in_london()
    for number in range(clients):
        client_service.register_client(
            worker,
            details=client_service.ClientDetails(
                name=f"Pat{number} Example", date_of_birth=date(1985, 6, 15)
            ),
            referral=client_service.Referral(
                referral_date=today - timedelta(days=10),
                referral_source=ReferralSource.GP,
                referrer_expectation="Counselling",
                presenting_problem="Depression",
            ),
            today=today,
        )
    db.session.commit()
    csrf = token(client)
    with counting_statements() as form:
        assert client.get("/clients/new").status_code == 200
    with counting_statements() as warning:
        response = client.post("/clients/new", data=registration(csrf))
    assert response.status_code == 200
    assert page(response).count("Pat") >= clients
    return len(form), len(warning)


def test_registration_queries_do_not_grow_with_the_matches(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    with_two = registration_statements(client, worker, 2)
    with_twelve = registration_statements(client, worker, 10)
    assert with_two == with_twelve
    form, warning = with_twelve
    assert form <= 8, form
    assert warning <= 24, warning
    assert db.session.scalar(select(func.count()).select_from(Client)) == 12
    assert len(audit_events("client.duplicate_warning")) == 2
