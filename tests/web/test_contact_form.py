"""The contact form through the test client: logging, booking, bad input of many kinds,
recording an outcome, corrections, entered in error and version conflicts."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from caseload.domain.codes import AttendanceCode, EntryStatus, RiskLevel, Role
from caseload.domain.dates import LONDON
from caseload.extensions import db
from caseload.models import Contact, Episode
from caseload.services import contacts as contact_service
from caseload.services.bookings import next_working_day
from caseload.web import CONFLICT_MESSAGE, london_now, today_in_london
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


@pytest.fixture
def worker(signed_in: Any) -> Any:
    return signed_in(Role.WORKER)


@pytest.fixture
def episode(worker: Any) -> Episode:
    """A waiting episode referred 20 days ago."""
    return make_case(worker, name="Kim Contact", referral_days_ago=20)


def url(episode: Episode) -> str:
    return f"/episodes/{episode.id}/contacts/new"


def latest_contact(episode: Episode) -> Contact:
    db.session.commit()
    return db.session.scalars(
        db.select(Contact).where(Contact.episode_id == episode.id).order_by(Contact.id.desc())
    ).first()


# Rendering and saving ------------------------------------------------------------------


def test_form_renders_with_now_as_default(client: FlaskClient, episode: Episode) -> None:
    response = client.get(url(episode))
    assert response.status_code == 200
    html = page(response)
    assert "Kim Contact" in html
    assert "PHQ-9" in html
    assert "GAD-7" in html
    today = today_in_london()
    assert [input_value(response, f"occurred_on-{part}") for part in ("day", "month", "year")] == [
        str(today.day),
        str(today.month),
        str(today.year),
    ]
    assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", input_value(response, "occurred_time") or "")
    assert checked_value(response, "attendance") == "5"
    assert checked_value(response, "phq9-1") is None


def test_the_date_is_typed_in_boxes_and_the_time_on_the_24_hour_clock(
    client: FlaskClient, episode: Episode
) -> None:
    """Issue 8: no browser date or time picker, whose format follows the browser's locale
    ("11/26/2026", "04:00 PM"); the NHS.UK date input and a 24-hour time typed as text."""
    html = page(client.get(url(episode)))
    assert 'type="date"' not in html
    assert 'type="time"' not in html
    time_input = re.search(r'<input[^>]*name="occurred_time"[^>]*>', html)
    assert time_input is not None
    assert 'type="text"' in time_input.group(0)
    assert 'inputmode="numeric"' in time_input.group(0)
    assert "For example, 14:30" in html
    for part in ("day", "month", "year"):
        assert f'id="occurred_on-{part}"' in html


@pytest.mark.parametrize(
    ("typed", "saved"),
    [("14:30", time(14, 30)), ("9:30", time(9, 30)), ("09.30", time(9, 30)), ("0905", time(9, 5))],
)
def test_a_time_is_read_on_the_24_hour_clock_from_day_month_and_year_boxes(
    client: FlaskClient, episode: Episode, typed: str, saved: time
) -> None:
    day = today_in_london() - timedelta(days=1)
    data = contact_data(token(client), occurred_time=typed)
    del data["occurred_on"]
    data |= {"occurred_on-day": str(day.day), "occurred_on-month": str(day.month)}
    data["occurred_on-year"] = str(day.year)
    response = client.post(url(episode), data=data)
    assert response.status_code == 302, error_messages(response)
    local = latest_contact(episode).occurred_at.astimezone(LONDON)
    assert (local.date(), local.time()) == (day, saved)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"occurred_time": "2pm"}, "The time of the contact must be a real time on the 24-hour"),
        ({"occurred_time": "24:00"}, "The time of the contact must be a real time on the 24-hour"),
        ({"occurred_time": "12:75"}, "The time of the contact must be a real time on the 24-hour"),
        ({"occurred_time": "  "}, "Enter the time of the contact, for example 14:30"),
        ({"occurred_on-day": "31", "occurred_on-month": "4"}, "The date of the contact must be a"),
        ({"occurred_on-year": ""}, "The date of the contact must include a year"),
    ],
)
def test_a_nonsense_date_or_time_is_named_and_kept(
    client: FlaskClient, episode: Episode, typed: dict[str, str], message: str
) -> None:
    today = today_in_london()
    data = contact_data(token(client))
    del data["occurred_on"]
    data |= {"occurred_on-day": str(today.day), "occurred_on-month": str(today.month)}
    data |= {"occurred_on-year": str(today.year)} | typed
    before = row_counts()
    response = client.post(url(episode), data=data)
    assert response.status_code == 200
    field = "occurred_time" if "occurred_time" in typed else "occurred_on"
    assert field_error(response, field).startswith(message), error_messages(response)
    for name, value in typed.items():
        assert input_value(response, name) == value
    assert row_counts() == before


def test_attended_contact_with_both_questionnaires_saves(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    before = row_counts()
    response = client.post(url(episode), data=contact_data(token(client)))
    assert response.headers.get("Location") == f"/episodes/{episode.id}"
    html = flash_after(client, response)
    assert "Contact saved. PHQ-9 8. GAD-7 7." in html
    assert "In treatment" in html
    after = row_counts()
    assert after["contacts"] == before["contacts"] + 1
    assert {k: v for k, v in after.items() if k != "contacts"} == {
        k: v for k, v in before.items() if k != "contacts"
    }
    contact = latest_contact(episode)
    assert contact.total("phq9") == 8
    assert contact.total("gad7") == 7
    assert contact.duration_minutes == 30
    assert contact.created_by_id == worker.id
    assert reload(episode).summary.attended_contacts == 1
    assert audit_events("contact.create", object_id=contact.id)


def test_item9_with_a_risk_assessment_saves_and_flags(
    client: FlaskClient, episode: Episode
) -> None:
    data = contact_data(
        token(client),
        phq9=(2, 2, 2, 2, 2, 2, 2, 2, 1),
        **{
            "risk_level": "moderate",
            "risk_factors": "Passive thoughts",
            "risk_action": "Safety plan agreed; GP informed",
        },
    )
    html = flash_after(client, client.post(url(episode), data=data))
    assert "Contact saved. PHQ-9 17. GAD-7 7." in html
    assert "Item 9: 1" in html
    assert "Safety plan agreed; GP informed" in html
    assert "PHQ-9 item 9 scored 1" in html
    assert latest_contact(episode).risk_level is RiskLevel.MODERATE


def test_wsas_with_not_applicable_work_item_saves(client: FlaskClient, episode: Episode) -> None:
    data = contact_data(
        token(client),
        **{
            "wsas-1": "na",
            "wsas-2": "4",
            "wsas-3": "4",
            "wsas-4": "2",
            "wsas-5": "0",
            "phq9_difficulty": "1",
        },
    )
    flash_after(client, client.post(url(episode), data=data))
    contact = latest_contact(episode)
    assert contact.total("wsas") == 10
    assert contact.score("wsas").answers[0] == "n/a"
    assert contact.score("phq9").difficulty == 1


def test_measures_not_collected_with_a_reason_saves(client: FlaskClient, episode: Episode) -> None:
    data = contact_data(
        token(client),
        phq9=None,
        gad7=None,
        measures_not_collected="y",
        not_collected_reason="declined",
    )
    html = flash_after(client, client.post(url(episode), data=data))
    assert "Contact saved." in html
    assert latest_contact(episode).total("phq9") is None


@pytest.mark.parametrize("attendance", ["3", "7", "2", "4"])
def test_non_attendance_without_scores_saves(
    client: FlaskClient, episode: Episode, attendance: str
) -> None:
    data = contact_data(token(client), attendance=attendance, phq9=None, gad7=None)
    html = flash_after(client, client.post(url(episode), data=data))
    assert "Contact saved." in html
    assert latest_contact(episode).attendance is AttendanceCode(int(attendance))


def test_booking_ahead_through_the_booking_form_shows_record_outcome(
    client: FlaskClient, episode: Episode
) -> None:
    """Booking is its own form now (tests/web/test_diary_pages.py covers it in full)."""
    day = next_working_day(today_in_london())
    data = {
        "csrf_token": token(client),
        "booked_on": day.isoformat(),
        "booked_time": "10:00",
        "contact_type": "treatment",
        "mode": "telephone",
        "duration_minutes": "30",
    }
    html = flash_after(client, client.post(f"/episodes/{episode.id}/book", data=data))
    assert "Appointment booked for" in html
    assert "Record outcome" in html
    assert "Outcome needed" not in html
    contact = latest_contact(episode)
    assert contact.is_booked
    assert audit_events("contact.book", object_id=contact.id)
    waiting = table_html(client.get("/caseload"), "waiting-list")
    row = waiting[waiting.index("Kim Contact") :]
    assert "None booked" not in row[: row.index("</tr>")]


def test_the_log_contact_form_no_longer_books(client: FlaskClient, episode: Episode) -> None:
    form = client.get(url(episode))
    assert 'value="0"' not in page(form).split('id="attendance"')[1].split("</fieldset>")[0]
    assert "To book a future contact" not in page(form)
    before = row_counts()
    response = client.post(
        url(episode),
        data=contact_data(token(client), when=FUTURE, attendance="0", phq9=None, gad7=None),
    )
    assert response.status_code == 200
    assert field_error(response, "attendance")
    assert row_counts() == before


# Bad input -----------------------------------------------------------------------------

FUTURE = london_now() + timedelta(days=2)
BEFORE_REFERRAL = london_now() - timedelta(days=40)
PAST = london_now() - timedelta(days=1)

BAD_CONTACTS = [
    pytest.param(
        {"occurred_on": ""}, "occurred_on", "Enter the date of the contact", id="date-missing"
    ),
    pytest.param({"occurred_on": "2024-13-45"}, "occurred_on", "", id="date-garbage"),
    pytest.param({"occurred_on": "not a date"}, "occurred_on", "", id="date-text"),
    pytest.param(
        {"occurred_on": "0001-01-01"}, "occurred_on", "before the referral", id="date-year-one"
    ),
    pytest.param(
        {"occurred_on": "9999-12-31"}, "occurred_on", "in the future", id="date-year-9999"
    ),
    pytest.param(
        {"occurred_time": ""}, "occurred_time", "Enter the time of the contact", id="time-missing"
    ),
    pytest.param({"occurred_time": "25:99"}, "occurred_time", "real time", id="time-garbage"),
    pytest.param({"duration_minutes": "abc"}, "duration_minutes", "", id="duration-text"),
    pytest.param(
        {"duration_minutes": "0"}, "duration_minutes", "between 1 and 480", id="duration-zero"
    ),
    pytest.param(
        {"duration_minutes": "481"}, "duration_minutes", "between 1 and 480", id="duration-long"
    ),
    pytest.param(
        {"duration_minutes": "-5"}, "duration_minutes", "between 1 and 480", id="duration-negative"
    ),
    pytest.param({"duration_minutes": "9" * 40}, "duration_minutes", "", id="duration-huge"),
    pytest.param({"phq9-1": "7"}, "phq9-1", "", id="phq9-out-of-range"),
    pytest.param({"phq9-1": "-1"}, "phq9-1", "", id="phq9-negative"),
    pytest.param({"phq9-1": "na"}, "phq9-1", "", id="phq9-not-applicable"),
    pytest.param({"gad7-7": "x"}, "gad7-7", "", id="gad7-text"),
    pytest.param({"wsas-2": "9"}, "wsas-2", "", id="wsas-out-of-range"),
    pytest.param({"phq9_difficulty": "9"}, "phq9_difficulty", "", id="difficulty-bogus"),
    pytest.param({"contact_type": "bogus"}, "contact_type", "", id="type-bogus"),
    pytest.param({"mode": "telepathy"}, "mode", "", id="mode-bogus"),
    pytest.param({"attendance": "99"}, "attendance", "", id="attendance-99"),
    pytest.param({"attendance": "1"}, "attendance", "", id="attendance-unused-code"),
    pytest.param({"attendance": ""}, "attendance", "Choose what happened", id="attendance-none"),
    pytest.param({"intervention": "hypnosis"}, "intervention", "", id="intervention-bogus"),
    pytest.param(
        {"not_collected_reason": "bogus", "measures_not_collected": "y"},
        "not_collected_reason",
        "",
        id="not-collected-bogus",
    ),
    pytest.param({"risk_level": "extreme"}, "risk_level", "", id="risk-bogus"),
    pytest.param({"note": "n" * 10_001}, "note", "", id="note-huge"),
    pytest.param({"risk_factors": "r" * 4001}, "risk_factors", "", id="risk-factors-huge"),
    pytest.param(
        {"risk_action": "a" * 4001, "risk_level": "low"}, "risk_action", "", id="risk-action-huge"
    ),
    pytest.param(
        {"occurred_on": FUTURE.date().isoformat(), "occurred_time": FUTURE.strftime("%H:%M")},
        "occurred_on",
        "cannot be dated in the future",
        id="attended-in-future",
    ),
    pytest.param(
        {
            "occurred_on": FUTURE.date().isoformat(),
            "occurred_time": FUTURE.strftime("%H:%M"),
            "attendance": "3",
            "phq9-1": "",
            "gad7-1": "",
        },
        "occurred_on",
        "cannot be dated in the future",
        id="dna-in-future",
    ),
    pytest.param(
        {"occurred_on": BEFORE_REFERRAL.date().isoformat()},
        "occurred_on",
        "cannot be before the referral date",
        id="before-referral",
    ),
    pytest.param(
        {"phq9-9": "1"}, "risk_level", "record a risk assessment", id="item9-without-risk"
    ),
    pytest.param(
        {"phq9-9": "3"}, "risk_level", "record a risk assessment", id="item9-at-3-without-risk"
    ),
    pytest.param(
        {"risk_level": "moderate"},
        "risk_action",
        "Say what action was taken",
        id="moderate-without-action",
    ),
    pytest.param(
        {"risk_level": "high", "risk_action": "   "},
        "risk_action",
        "Say what action was taken",
        id="high-with-blank-action",
    ),
    pytest.param(
        {"attendance": "3"},
        "attendance",
        "Questionnaires can only be recorded for an attended contact",
        id="scores-on-dna",
    ),
    pytest.param(
        {"attendance": "2"},
        "attendance",
        "Questionnaires can only be recorded",
        id="scores-on-cancellation",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_CONTACTS)
def test_bad_contact_is_refused_and_nothing_saved(
    client: FlaskClient, episode: Episode, overrides: dict[str, str], field: str, message: str
) -> None:
    before = row_counts()
    summary_before = reload(episode).summary.attended_contacts
    response = client.post(url(episode), data=contact_data(token(client), **overrides))
    assert response.status_code == 200
    assert "There is a problem" in page(response)
    shown = field_error(response, field)
    assert shown, error_messages(response)
    assert message in shown
    assert row_counts() == before
    assert reload(episode).summary.attended_contacts == summary_before
    # What was typed is kept.
    assert textarea_value(response, "note") == overrides.get("note", "Reviewed the activity diary.")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {},
            "Record the PHQ-9 and GAD-7, or say why they were not collected.",
            id="no-measures-no-reason",
        ),
        pytest.param(
            {"measures_not_collected": "y"},
            "Record the PHQ-9 and GAD-7",
            id="ticked-without-reason",
        ),
        pytest.param(
            {"risk_level": "low", "attendance": "3"},
            "A risk assessment can only be recorded for an attended contact",
            id="risk-on-dna",
        ),
    ],
)
def test_missing_measures_are_refused(
    client: FlaskClient, episode: Episode, overrides: dict[str, str], message: str
) -> None:
    before = row_counts()
    data = contact_data(token(client), phq9=None, gad7=None, **overrides)
    response = client.post(url(episode), data=data)
    assert response.status_code == 200
    assert any(message in m for m in error_messages(response)), error_messages(response)
    assert row_counts() == before


def test_both_measures_and_not_collected_is_refused(client: FlaskClient, episode: Episode) -> None:
    before = row_counts()
    response = client.post(
        url(episode),
        data=contact_data(
            token(client), measures_not_collected="y", not_collected_reason="no_time"
        ),
    )
    assert response.status_code == 200
    assert "untick" in field_error(response, "not_collected_reason")
    assert row_counts() == before


def test_answers_are_kept_when_the_form_is_refused(client: FlaskClient, episode: Episode) -> None:
    data = contact_data(
        token(client),
        phq9=(3, 2, 1, 0, 3, 2, 1, 0, 2),
        gad7=(0, 1, 2, 3, 0, 1, 2),
        mode="video",
        contact_type="review",
        duration_minutes="45",
        risk_factors="Lives alone",
    )
    response = client.post(url(episode), data=data)
    assert response.status_code == 200
    assert "record a risk assessment" in field_error(response, "risk_level")
    assert "complete the risk assessment before saving" in page(response)
    for number, answer in enumerate((3, 2, 1, 0, 3, 2, 1, 0, 2), start=1):
        assert checked_value(response, f"phq9-{number}") == str(answer)
    for number, answer in enumerate((0, 1, 2, 3, 0, 1, 2), start=1):
        assert checked_value(response, f"gad7-{number}") == str(answer)
    assert checked_value(response, "attendance") == "5"
    assert input_value(response, "duration_minutes") == "45"
    day = date.fromisoformat(data["occurred_on"])
    assert [input_value(response, f"occurred_on-{part}") for part in ("day", "month", "year")] == [
        str(day.day),
        str(day.month),
        str(day.year),
    ]
    assert textarea_value(response, "risk_factors") == "Lives alone"
    assert 'value="video" selected' in response.get_data(
        as_text=True
    ) or 'selected value="video"' in response.get_data(as_text=True)


def test_contact_without_csrf_token_is_refused(client: FlaskClient, episode: Episode) -> None:
    before = row_counts()
    data = contact_data("")
    del data["csrf_token"]
    assert client.post(url(episode), data=data).status_code == 400
    assert row_counts() == before


# Recording the outcome of a booking -----------------------------------------------------


def test_record_outcome_completes_a_past_booking(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    booking = book_past(worker, episode)
    episode_page = page(client.get(f"/episodes/{episode.id}"))
    assert "Outcome needed" in episode_page
    assert f"/contacts/{booking.id}/outcome" in episode_page
    form = client.get(f"/contacts/{booking.id}/outcome")
    assert form.status_code == 200
    assert "Record what happened" in page(form)
    # "Booked" is not an outcome: the form starts from "attended", as a new contact does.
    assert checked_value(form, "attendance") == str(int(AttendanceCode.ATTENDED_ON_TIME))
    assert input_value(form, "version") == str(booking.version)
    when = booking.occurred_at.astimezone(LONDON)
    before = row_counts()
    response = client.post(
        f"/contacts/{booking.id}/outcome",
        data=contact_data(token(client), when=when, version=str(booking.version)),
    )
    html = flash_after(client, response)
    assert "Contact updated." in html
    assert "Outcome needed" not in html
    assert row_counts() == before
    booking = reload(booking)
    assert booking.attendance is AttendanceCode.ATTENDED_ON_TIME
    assert booking.total("phq9") == 8
    assert audit_events("contact.complete", object_id=booking.id)


def test_record_outcome_refuses_booked_again_and_bad_input(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    booking = book_past(worker, episode)
    when = booking.occurred_at.astimezone(LONDON)
    path = f"/contacts/{booking.id}/outcome"
    for overrides, field in [
        ({"attendance": "0", "phq9-1": "", "gad7-1": ""}, "attendance"),
        ({"phq9-9": "2"}, "risk_level"),
        ({"attendance": "3"}, "attendance"),
        ({"occurred_on": "2024-13-45"}, "occurred_on"),
    ]:
        data = contact_data(token(client), when=when, version=str(booking.version))
        data.update(overrides)
        if overrides.get("attendance") == "0":
            data = {k: v for k, v in data.items() if not k.startswith(("phq9-", "gad7-"))}
        response = client.post(path, data=data)
        assert response.status_code == 200, overrides
        assert field_error(response, field), (overrides, error_messages(response))
        assert reload(booking).is_booked


def test_record_outcome_of_a_completed_contact_is_refused(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    before = row_counts()
    response = client.post(
        f"/contacts/{contact.id}/outcome",
        data=contact_data(token(client), version=str(contact.version)),
        follow_redirects=True,
    )
    assert response.request.path == f"/episodes/{episode.id}"
    assert "already has its outcome recorded" in page(response)
    assert row_counts() == before
    assert client.get(f"/contacts/{contact.id}/outcome").status_code == 302


# Corrections ----------------------------------------------------------------------------


def test_correction_form_is_filled_from_the_saved_contact(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode, note="Original note")
    response = client.get(f"/contacts/{contact.id}/correct")
    assert response.status_code == 200
    assert "Correct a contact" in page(response)
    assert checked_value(response, "phq9-1") == "1"
    assert checked_value(response, "phq9-9") == "0"
    assert textarea_value(response, "note") == "Original note"
    assert input_value(response, "version") == str(contact.version)


def test_correction_requires_a_reason(client: FlaskClient, worker: Any, episode: Episode) -> None:
    contact = add_contact(worker, episode)
    before = row_counts()
    for reason in ("", "   "):
        response = client.post(
            f"/contacts/{contact.id}/correct",
            data=contact_data(token(client), version=str(contact.version), reason=reason),
        )
        assert response.status_code == 200
        assert field_error(response, "reason") == "Give a reason."
        assert checked_value(response, "phq9-1") == "1"
    assert row_counts() == before
    assert reload(contact).status is EntryStatus.CURRENT


def test_correction_refuses_bad_contact_data(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    before = row_counts()
    response = client.post(
        f"/contacts/{contact.id}/correct",
        data=contact_data(
            token(client), version=str(contact.version), reason="Wrong scores", **{"phq9-9": "2"}
        ),
    )
    assert response.status_code == 200
    assert "record a risk assessment" in field_error(response, "risk_level")
    assert textarea_value(response, "reason") == "Wrong scores"
    assert row_counts() == before
    assert reload(contact).status is EntryStatus.CURRENT


def test_correction_supersedes_the_original(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    before = row_counts()
    response = client.post(
        f"/contacts/{contact.id}/correct",
        data=contact_data(
            token(client),
            version=str(contact.version),
            reason="Typed GAD-7 wrongly",
            gad7=(2, 2, 2, 2, 2, 2, 2),
        ),
    )
    html = flash_after(client, response)
    assert "Correction saved." in html
    assert "Corrected" in html
    assert "Typed GAD-7 wrongly" in html
    assert row_counts()["contacts"] == before["contacts"] + 1
    original = reload(contact)
    assert original.status is EntryStatus.SUPERSEDED
    correction = latest_contact(episode)
    assert correction.supersedes_id == original.id
    assert correction.total("gad7") == 14
    assert reload(episode).summary.latest("gad7") == 14
    assert audit_events("contact.correct", object_id=original.id)
    # The superseded original cannot be corrected or struck out again.
    after = row_counts()
    again = client.post(
        f"/contacts/{original.id}/correct",
        data=contact_data(token(client), version=str(original.version), reason="Again"),
    )
    assert again.status_code == 200
    assert "Only the current version" in page(again)
    struck = client.post(
        f"/contacts/{original.id}/entered-in-error",
        data={"csrf_token": token(client), "reason": "Again", "version": str(original.version)},
    )
    assert struck.status_code == 200
    assert "no longer current" in page(struck)
    assert row_counts() == after


def test_correction_with_a_stale_version_is_a_conflict(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    opened = client.get(f"/contacts/{contact.id}/correct")
    opened_version = input_value(opened, "version")
    # Someone else strikes the contact out in the meantime.
    contact_service.mark_entered_in_error(worker, contact, reason="Duplicate")
    db.session.commit()
    before = row_counts()
    response = client.post(
        f"/contacts/{contact.id}/correct",
        data=contact_data(
            token(client),
            version=opened_version,
            reason="Fix the time",
            note="My careful corrected note",
            gad7=(3, 3, 3, 3, 3, 3, 3),
        ),
    )
    assert response.status_code == 409
    assert CONFLICT_MESSAGE in page(response)
    assert textarea_value(response, "note") == "My careful corrected note"
    assert textarea_value(response, "reason") == "Fix the time"
    assert checked_value(response, "gad7-1") == "3"
    assert row_counts() == before
    assert reload(contact).status is EntryStatus.ENTERED_IN_ERROR


def test_outcome_with_a_stale_version_is_a_conflict(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    booking = book_past(worker, episode)
    when = booking.occurred_at.astimezone(LONDON)
    response = client.post(
        f"/contacts/{booking.id}/outcome",
        data=contact_data(
            token(client), when=when, version=str(booking.version + 1), note="Kept text"
        ),
    )
    assert response.status_code == 409
    assert CONFLICT_MESSAGE in page(response)
    assert textarea_value(response, "note") == "Kept text"
    assert reload(booking).is_booked


def test_correction_with_a_garbage_version_is_a_conflict_not_a_500(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    response = client.post(
        f"/contacts/{contact.id}/correct",
        data=contact_data(token(client), version="abc", reason="Tampered"),
    )
    assert response.status_code == 409
    assert textarea_value(response, "reason") == "Tampered"
    assert reload(contact).status is EntryStatus.CURRENT


# Entered in error -----------------------------------------------------------------------


def test_entered_in_error_requires_a_reason(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    form = client.get(f"/contacts/{contact.id}/entered-in-error")
    assert form.status_code == 200
    assert input_value(form, "version") == str(contact.version)
    for reason in ("", "  ", "r" * 2001):
        response = client.post(
            f"/contacts/{contact.id}/entered-in-error",
            data={"csrf_token": token(client), "reason": reason, "version": str(contact.version)},
        )
        assert response.status_code == 200
        assert field_error(response, "reason")
    assert reload(contact).status is EntryStatus.CURRENT


def test_entered_in_error_takes_the_contact_out_of_scoring(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    assert reload(episode).summary.attended_contacts == 1
    before = row_counts()
    response = client.post(
        f"/contacts/{contact.id}/entered-in-error",
        data={
            "csrf_token": token(client),
            "reason": "Wrong client",
            "version": str(contact.version),
        },
    )
    html = flash_after(client, response)
    assert "Contact marked as entered in error." in html
    assert 'nhsuk-tag--grey">Entered in error' in html
    assert "Wrong client" in html
    assert row_counts() == before
    assert reload(contact).status is EntryStatus.ENTERED_IN_ERROR
    assert reload(episode).summary.attended_contacts == 0
    assert audit_events("contact.entered_in_error", object_id=contact.id)


def test_entered_in_error_with_a_stale_version_is_a_conflict(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    opened_version = input_value(client.get(f"/contacts/{contact.id}/entered-in-error"), "version")
    contact_service.correct_contact(
        worker, contact, contact_service.as_input(contact), reason="Corrected elsewhere"
    )
    db.session.commit()
    before = row_counts()
    response = client.post(
        f"/contacts/{contact.id}/entered-in-error",
        data={"csrf_token": token(client), "reason": "My reason", "version": opened_version},
    )
    assert response.status_code == 409
    assert CONFLICT_MESSAGE in page(response)
    assert textarea_value(response, "reason") == "My reason"
    assert row_counts() == before
    assert reload(contact).status is EntryStatus.SUPERSEDED


def test_entered_in_error_with_a_garbage_version_is_a_conflict_not_a_500(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    contact = add_contact(worker, episode)
    response = client.post(
        f"/contacts/{contact.id}/entered-in-error",
        data={"csrf_token": token(client), "reason": "Tampered", "version": "abc"},
    )
    assert response.status_code == 409
    assert reload(contact).status is EntryStatus.CURRENT


# Timeline details -------------------------------------------------------------------------


def test_timeline_marks_dnas_and_keeps_order(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    add_contact(worker, episode, at=utc_now() - timedelta(days=10))
    add_contact(
        worker, episode, at=utc_now() - timedelta(days=5), attendance=AttendanceCode.DID_NOT_ATTEND
    )
    response = client.get(f"/episodes/{episode.id}")
    assert response.status_code == 200
    html = page(response)
    assert "Did not attend" in html
    assert html.index("Did not attend") < html.index("Attended on time")
