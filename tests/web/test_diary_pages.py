"""The diary, the booking form and the caseload's search, sort, pages and waiting list,
through the test client; with query budgets at two data sizes."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from caseload.domain.codes import AttendanceCode, ContactMode, ContactType, DischargeReason, Role
from caseload.domain.dates import LONDON, london_to_utc
from caseload.extensions import db
from caseload.models import AuditEventClient, Contact, Episode, User
from caseload.services.bookings import (
    BookingInput,
    book_contact,
    confirmation_key,
    day_name,
    next_working_day,
    week_of,
)
from caseload.web import london_now, today_in_london
from tests.web.helpers import (
    PHQ9_MILD,
    add_contact,
    audit_events,
    book_past,
    checked_value,
    contact_data,
    counting,
    error_messages,
    field_error,
    flash_after,
    input_value,
    make_case,
    page,
    reload,
    row_counts,
    table_html,
    token,
    utc_now,
)

#: The boxes of a date input.
DMY = ("day", "month", "year")


@pytest.fixture
def worker(signed_in: Any) -> User:
    return signed_in(Role.WORKER)


@pytest.fixture
def episode(worker: User) -> Episode:
    """A waiting episode referred 20 days ago."""
    return make_case(worker, name="Dana Diary", referral_days_ago=20)


def book_at(worker: User, episode: Episode, starts_at: datetime, minutes: int = 30) -> Contact:
    """A committed booking made through the service, whatever the day or hour."""
    data = BookingInput(
        starts_at=starts_at,
        contact_type=ContactType.TREATMENT,
        mode=ContactMode.VIDEO,
        duration_minutes=minutes,
    )
    contact = book_contact(worker, episode, data, confirmed_for=confirmation_key(data))
    db.session.commit()
    return contact


def expected_table(starts_at: datetime) -> str | None:
    """Where the diary shows a booking: the id of its table, or None when not shown."""
    now = london_now()
    day = starts_at.astimezone(LONDON).date()
    today = now.date()
    if starts_at <= now:
        return "overdue"
    if day == today:
        return "today"
    if day <= week_of(today)[1]:
        return f"on-{day.isoformat()}"
    return None


def table_of(response: Any, contact: Contact) -> str | None:
    """The id of the diary table whose rows include the contact, or None."""
    html = response.get_data(as_text=True)
    for match in re.finditer(r'<table[^>]*id="([^"]+)".*?</table>', html, re.S):
        if f'data-contact="{contact.id}"' in match.group(0):
            return match.group(1)
    return None


def outcome_post(client: FlaskClient, contact: Contact, attendance: str, **extra: str) -> Any:
    data = {"csrf_token": token(client), "version": str(contact.version), "attendance": attendance}
    data.update(extra)
    return client.post(f"/diary/bookings/{contact.id}/outcome", data=data)


# The diary -----------------------------------------------------------------------------------


def test_the_diary_lists_overdue_today_and_this_week(
    client: FlaskClient, worker: User, episode: Episode, user_factory: Any
) -> None:
    second = make_case(worker, name="Eli Second")
    overdue = book_past(worker, episode, hours_ago=3)
    now = datetime.now(LONDON)
    soon = book_at(worker, second, now + timedelta(minutes=30))
    in_two_days = book_at(worker, episode, now + timedelta(days=2))
    next_week = book_at(worker, episode, now + timedelta(days=8))
    colleague = user_factory(Role.WORKER)
    theirs = make_case(colleague, name="Their Client")
    book_at(colleague, theirs, now + timedelta(hours=1))

    response = client.get("/diary")
    assert response.status_code == 200
    html = page(response)
    assert "Their Client" not in html
    assert table_of(response, overdue) == "overdue"
    assert table_of(response, soon) == expected_table(soon.occurred_at)
    assert table_of(response, in_two_days) == expected_table(in_two_days.occurred_at)
    assert table_of(response, next_week) is None
    overdue_row = table_html(response, "overdue")
    assert "Outcome needed" in overdue_row
    assert f"/contacts/{overdue.id}/outcome" in overdue_row  # "Attended" opens the contact form
    assert f"Today, {day_name(today_in_london())}" in html
    event = audit_events("diary.view", actor=worker)[-1]
    listed = db.session.scalars(
        select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event.id)
    ).all()
    shown = {episode.client_id} | (
        {second.client_id} if expected_table(soon.occurred_at) else set()
    )
    assert set(listed) == shown


def test_an_empty_diary(client: FlaskClient, worker: User) -> None:
    response = client.get("/diary")
    assert response.status_code == 200
    assert "Nothing else booked today." in page(response)
    assert "Outcome needed" not in page(response)


def test_the_diary_is_in_the_workers_menu_and_linked_from_the_caseload(
    client: FlaskClient, worker: User
) -> None:
    caseload = page(client.get("/caseload"))
    assert 'href="/diary"' in caseload
    assert re.search(r'href="/diary"[^>]*>My diary</a>', caseload)
    diary = page(client.get("/diary"))
    assert re.search(r'href="/diary" aria-current="page">My diary</a>', diary)


def test_a_future_booking_offers_only_cancellations(
    client: FlaskClient, worker: User, episode: Episode
) -> None:
    ahead = book_at(worker, episode, datetime.now(LONDON) + timedelta(hours=2))
    response = client.get("/diary")
    row = next(
        m.group(0)
        for m in re.finditer(r"<tr[^>]*>.*?</tr>", page(response), re.S)
        if f'data-contact="{ahead.id}"' in m.group(0)
    )
    assert 'value="2"' in row
    assert 'value="4"' in row
    assert 'value="3"' not in row  # not attended cannot be said before the time
    assert "Attended" not in row
    assert f"/contacts/{ahead.id}/outcome" not in row


def test_one_click_did_not_attend(client: FlaskClient, worker: User, episode: Episode) -> None:
    booking = book_past(worker, episode)
    before = row_counts()
    response = outcome_post(client, booking, "3")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/diary")
    html = flash_after(client, response)
    assert f"Recorded for {episode.client.service_ref}" in html
    assert ": did not attend." in html
    banner = html[html.index("nhsuk-notification-banner") : html.index("<h1>")]
    assert "Dana Diary" not in banner
    assert row_counts() == before
    booking = reload(booking)
    assert booking.attendance is AttendanceCode.DID_NOT_ATTEND
    assert audit_events("contact.complete", object_id=booking.id)
    assert reload(episode).summary.consecutive_dnas == 1
    assert table_of(client.get("/diary"), booking) is None


def test_attended_opens_the_contact_form_filled_in_with_attended_chosen(
    client: FlaskClient, worker: User, episode: Episode
) -> None:
    """Issue 8: the diary's Attended button opens the contact form with the booking's
    date, time, type and mode, and "What happened?" already on "attended"."""
    at = utc_now() - timedelta(hours=3)
    booking = add_contact(
        worker,
        episode,
        at=at,
        attendance=AttendanceCode.BOOKED,
        contact_type=ContactType.ASSESSMENT,
        now=at - timedelta(days=2),
    )
    link = re.search(
        rf'href="(/contacts/{booking.id}/outcome)"[^>]*>Attended', page(client.get("/diary"))
    )
    assert link is not None
    form = client.get(link.group(1))
    assert form.status_code == 200
    local = booking.occurred_at.astimezone(LONDON)
    boxes = {f"occurred_on-{part}": input_value(form, f"occurred_on-{part}") for part in DMY}
    assert list(boxes.values()) == [str(local.day), str(local.month), str(local.year)]
    assert input_value(form, "occurred_time") == local.strftime("%H:%M")
    assert re.search(r'<option selected value="assessment">', page(form))
    assert re.search(r'<option selected value="telephone">', page(form))
    assert checked_value(form, "attendance") == str(int(AttendanceCode.ATTENDED_ON_TIME))
    # Saved as the browser posts it: the boxes, the time and the choice as shown.
    data = contact_data(
        token(client),
        attendance=checked_value(form, "attendance") or "",
        version=input_value(form, "version") or "",
        contact_type="assessment",
        occurred_time=input_value(form, "occurred_time") or "",
    )
    del data["occurred_on"]
    response = client.post(link.group(1), data=data | boxes)
    assert response.status_code == 302, error_messages(response)
    booking = reload(booking)
    assert booking.attendance is AttendanceCode.ATTENDED_ON_TIME
    minute = "%Y-%m-%d %H:%M"
    assert booking.occurred_at.astimezone(LONDON).strftime(minute) == local.strftime(minute)
    assert booking.contact_type is ContactType.ASSESSMENT


@pytest.mark.parametrize(
    ("code", "said"), [("2", "cancelled by client"), ("4", "cancelled by service")]
)
def test_one_click_cancellations_ahead_of_time(
    client: FlaskClient, worker: User, episode: Episode, code: str, said: str
) -> None:
    ahead = book_at(worker, episode, datetime.now(LONDON) + timedelta(days=1))
    html = flash_after(client, outcome_post(client, ahead, code))
    assert f": {said}." in html
    assert reload(ahead).attendance is AttendanceCode(int(code))
    assert reload(episode).summary.booked_contacts == 0


def test_a_dna_before_the_booked_time_is_refused(
    client: FlaskClient, worker: User, episode: Episode
) -> None:
    ahead = book_at(worker, episode, datetime.now(LONDON) + timedelta(days=1))
    response = outcome_post(client, ahead, "3")
    assert response.status_code == 200
    assert "cannot be marked as not attended before its time" in " ".join(error_messages(response))
    assert reload(ahead).is_booked
    assert table_of(response, ahead) is not None  # the diary is shown again


@pytest.mark.parametrize(
    "data",
    [
        {"attendance": "5"},
        {"attendance": "0"},
        {"attendance": "7"},
        {"attendance": ""},
        {"attendance": "abc"},
        {},
    ],
    ids=["attended", "booked", "late-not-seen", "empty", "text", "missing"],
)
def test_only_the_three_outcomes_are_taken(
    client: FlaskClient, worker: User, episode: Episode, data: dict[str, str]
) -> None:
    booking = book_past(worker, episode)
    before = row_counts()
    form = {"csrf_token": token(client), "version": str(booking.version), **data}
    response = client.post(f"/diary/bookings/{booking.id}/outcome", data=form)
    assert response.status_code == 200
    assert error_messages(response)
    assert row_counts() == before
    assert reload(booking).is_booked


@pytest.mark.parametrize("version", ["stale", "", "abc"])
def test_a_stale_or_missing_version_is_a_conflict(
    client: FlaskClient, worker: User, episode: Episode, version: str
) -> None:
    booking = book_past(worker, episode)
    sent = str(booking.version + 1) if version == "stale" else version
    response = outcome_post(client, booking, "3", version=sent)
    assert response.status_code == 409
    assert "changed after you opened your diary" in page(response)
    assert reload(booking).is_booked


def test_a_booking_already_recorded_is_refused(
    client: FlaskClient, worker: User, episode: Episode
) -> None:
    booking = book_past(worker, episode)
    assert outcome_post(client, booking, "3").status_code == 302
    again = outcome_post(client, reload(booking), "2")
    assert again.status_code == 200
    assert "already has its outcome recorded" in " ".join(error_messages(again))
    assert reload(booking).attendance is AttendanceCode.DID_NOT_ATTEND


def test_another_workers_booking_is_not_found_and_the_denial_is_audited(
    client: FlaskClient, worker: User, user_factory: Any
) -> None:
    colleague = user_factory(Role.WORKER)
    theirs = make_case(colleague, name="Their Client")
    booking = book_past(colleague, theirs)
    response = outcome_post(client, booking, "3")
    assert response.status_code == 404
    assert audit_events("access.denied", object_id=booking.id, actor=worker)
    assert reload(booking).is_booked


# Booking an appointment ----------------------------------------------------------------------


def book_url(episode: Episode) -> str:
    return f"/episodes/{episode.id}/book"


def booking_data(csrf: str, day: Any, at: str = "10:00", **overrides: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf,
        "booked_on": day.isoformat(),
        "booked_time": at,
        "contact_type": "treatment",
        "mode": "face_to_face",
        "duration_minutes": "45",
    }
    data.update(overrides)
    return data


def latest_contact(episode: Episode) -> Contact | None:
    db.session.commit()
    return db.session.scalars(
        select(Contact).where(Contact.episode_id == episode.id).order_by(Contact.id.desc())
    ).first()


def test_the_booking_form_defaults_to_the_next_working_day_and_has_no_questionnaires(
    client: FlaskClient, episode: Episode
) -> None:
    response = client.get(book_url(episode))
    assert response.status_code == 200
    html = page(response)
    assert "Book an appointment" in html
    day = next_working_day(today_in_london())
    assert [input_value(response, f"booked_on-{part}") for part in ("day", "month", "year")] == [
        str(day.day),
        str(day.month),
        str(day.year),
    ]
    assert input_value(response, "booked_time") == "08:00"
    assert re.search(r'<input[^>]*name="booked_time"[^>]*type="text"', html)  # 24-hour clock
    assert input_value(response, "duration_minutes") == "30"
    assert re.search(r'<option selected value="assessment">', html)  # not seen yet
    assert re.search(r'<option selected value="telephone">', html)
    for questionnaire in ("phq9", "gad7", "PHQ-9"):
        assert questionnaire not in html
    assert "Book anyway" not in html
    assert "08:00 to 18:00" in html


def test_booking_saves_and_returns_to_the_episode(
    client: FlaskClient, worker: User, episode: Episode
) -> None:
    day = next_working_day(today_in_london())
    html = flash_after(
        client, client.post(book_url(episode), data=booking_data(token(client), day))
    )
    assert f"Appointment booked for {day.day}" in html
    assert ", 10:00." in html
    contact = latest_contact(episode)
    assert contact is not None
    assert contact.is_booked
    assert contact.occurred_at == london_to_utc(day, time(10, 0))
    assert (contact.contact_type, contact.mode, contact.duration_minutes) == (
        ContactType.TREATMENT,
        ContactMode.FACE_TO_FACE,
        45,
    )
    assert audit_events("contact.book", object_id=contact.id)


def test_a_clash_is_warned_and_booked_only_when_confirmed(
    client: FlaskClient, worker: User, episode: Episode
) -> None:
    day = next_working_day(today_in_london())
    other = make_case(worker, name="Fran Other")
    book_at(worker, other, london_to_utc(day, time(10, 0)))
    before = row_counts()
    first = client.post(book_url(episode), data=booking_data(token(client), day, "10:15"))
    assert first.status_code == 200
    assert "This clashes with another of your bookings" in field_error(first, "booked_time")
    assert "Fran Other" not in page(first)
    assert "Book anyway" in page(first)
    assert checked_value(first, "book_anyway") is None
    warned_for = input_value(first, "warned_for")
    assert warned_for == f"{day.isoformat()}T10:15/45"
    assert row_counts() == before
    # Changing the time with the box ticked checks the new time afresh.
    moved = client.post(
        book_url(episode),
        data=booking_data(token(client), day, "10:20", book_anyway="y", warned_for=warned_for),
    )
    assert moved.status_code == 200
    assert "clashes" in field_error(moved, "booked_time")
    assert row_counts() == before
    confirmed = client.post(
        book_url(episode),
        data=booking_data(
            token(client),
            day,
            "10:20",
            book_anyway="y",
            warned_for=input_value(moved, "warned_for"),
        ),
    )
    assert confirmed.status_code == 302
    assert latest_contact(episode).occurred_at == london_to_utc(day, time(10, 20))


def test_a_weekend_or_out_of_hours_booking_is_warned(client: FlaskClient, episode: Episode) -> None:
    today = today_in_london()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    response = client.post(book_url(episode), data=booking_data(token(client), saturday))
    assert response.status_code == 200
    assert "is at a weekend" in field_error(response, "booked_on")
    weekday = next_working_day(today)
    late = client.post(book_url(episode), data=booking_data(token(client), weekday, "17:50"))
    assert "17:50 to 18:35 is outside working hours" in field_error(late, "booked_time")
    assert latest_contact(episode) is None


def test_bookings_in_the_past_or_beyond_a_year_are_refused(
    client: FlaskClient, episode: Episode
) -> None:
    today = today_in_london()
    yesterday = client.post(
        book_url(episode), data=booking_data(token(client), today - timedelta(days=1))
    )
    assert "A booking must be in the future" in field_error(yesterday, "booked_on")
    too_far = client.post(
        book_url(episode), data=booking_data(token(client), today + timedelta(days=366))
    )
    assert "at most 365 days ahead" in field_error(too_far, "booked_on")
    # Ticking "Book anyway" never overrides a refusal.
    anyway = client.post(
        book_url(episode),
        data=booking_data(token(client), today + timedelta(days=366), book_anyway="y"),
    )
    assert anyway.status_code == 200
    assert latest_contact(episode) is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"booked_time": "25:00"}, "booked_time"),
        ({"booked_time": "2pm"}, "booked_time"),
        ({"booked_time": ""}, "booked_time"),
        ({"booked_on": "2025-13-45"}, "booked_on"),
        ({"booked_on": ""}, "booked_on"),
        ({"duration_minutes": "abc"}, "duration_minutes"),
        ({"duration_minutes": ""}, "duration_minutes"),
        ({"duration_minutes": "0"}, "duration_minutes"),
        ({"duration_minutes": "481"}, "duration_minutes"),
        ({"contact_type": "bogus"}, "contact_type"),
        ({"mode": ""}, "mode"),
    ],
)
def test_bad_booking_input_is_refused_and_kept(
    client: FlaskClient, episode: Episode, overrides: dict[str, str], field: str
) -> None:
    before = row_counts()
    data = booking_data(token(client), next_working_day(today_in_london()), **overrides)
    response = client.post(book_url(episode), data=data)
    assert response.status_code == 200
    assert field_error(response, field), error_messages(response)
    assert row_counts() == before
    assert input_value(response, field) in (overrides[field], None)


def test_the_date_is_typed_in_day_month_and_year_boxes(
    client: FlaskClient, episode: Episode
) -> None:
    day = next_working_day(today_in_london())
    boxes = {"booked_on-day": str(day.day), "booked_on-month": str(day.month)}
    data = booking_data(token(client), day) | boxes | {"booked_on-year": str(day.year)}
    del data["booked_on"]
    assert client.post(book_url(episode), data=data).status_code == 302
    for typed, message in [
        ({"booked_on-day": "31", "booked_on-month": "2"}, "Appointment date must be a real date"),
        ({"booked_on-month": ""}, "Appointment date must include a month"),
        (
            {"booked_on-day": "", "booked_on-month": "", "booked_on-year": ""},
            "Enter appointment date",
        ),
    ]:
        response = client.post(book_url(episode), data=data | typed)
        assert response.status_code == 200
        assert field_error(response, "booked_on") == message


def test_a_discharged_episode_sends_you_back(
    client: FlaskClient, worker: User, episode: Episode
) -> None:
    episode.discharged_on = today_in_london()
    episode.discharge_reason = DischargeReason.DECLINED
    db.session.commit()
    response = client.get(book_url(episode))
    assert response.status_code == 302
    assert "appointments can no longer be booked" in flash_after(client, response)


def test_the_episode_page_offers_booking_and_the_contact_form_does_not(
    client: FlaskClient, episode: Episode
) -> None:
    html = page(client.get(f"/episodes/{episode.id}"))
    assert f'href="/episodes/{episode.id}/book"' in html
    assert "Book an appointment" in html
    form = page(client.get(f"/episodes/{episode.id}/contacts/new"))
    assert "Booked, outcome not yet recorded" not in form


# The caseload: search, sort, pages and the waiting list ---------------------------------------


def rows_of(response: Any, table: str = "active-cases") -> list[str]:
    """The client names in a caseload table, in order."""
    return re.findall(r'href="/episodes/\d+">([^<]+)</a>', table_html(response, table))


def active_case(worker: User, name: str, *, phq9: tuple[int, ...] = PHQ9_MILD, days_ago: int = 2):
    episode = make_case(worker, name=name)
    add_contact(
        worker, episode, phq9=phq9, at=datetime.now(LONDON) - timedelta(days=days_ago, hours=1)
    )
    return episode


def test_search_filters_by_name_or_reference_in_any_case(client: FlaskClient, worker: User) -> None:
    alex = active_case(worker, "Alex Morgan")
    active_case(worker, "Sam Taylor")
    make_case(worker, name="Alexis Waiting")
    everyone = client.get("/caseload")
    assert sorted(rows_of(everyone)) == ["Alex Morgan", "Sam Taylor"]
    found = client.get("/caseload", query_string={"q": "  aLEx  "})
    assert rows_of(found) == ["Alex Morgan"]
    html = page(found)
    assert 'Active cases: <span id="active-count">2</span>' in html  # the counts stay whole
    assert "1 waiting to start treatment." in html
    assert "Waiting list (1)" in html  # "Alexis" matches on the waiting list
    assert "All cases (1)" in html
    by_ref = client.get("/caseload", query_string={"q": alex.client.service_ref.lower()})
    assert rows_of(by_ref) == ["Alex Morgan"]
    both_words = client.get("/caseload", query_string={"q": "morgan alex"})
    assert rows_of(both_words) == ["Alex Morgan"]
    none = client.get("/caseload", query_string={"q": "%"})
    assert rows_of(none) == []
    assert "No cases here match “%”." in page(none)
    assert "Clear the search" in page(none)
    assert rows_of(found, "waiting-list") == ["Alexis Waiting"]
    searches = [e.detail.get("search") for e in audit_events("caseload.view", actor=worker)]
    assert searches == [None, "aLEx", alex.client.service_ref.lower(), "morgan alex", "%"]


def test_sort_orders_and_an_unknown_sort_falls_back_to_urgency(
    client: FlaskClient, worker: User
) -> None:
    active_case(worker, "Cleo Low", phq9=(0, 0, 0, 1, 0, 0, 0, 0, 0), days_ago=1)
    active_case(worker, "ann high", phq9=(3, 3, 3, 2, 2, 2, 1, 1, 0), days_ago=10)
    active_case(worker, "Ben Mid", phq9=PHQ9_MILD, days_ago=5)
    assert rows_of(client.get("/caseload?sort=name")) == ["ann high", "Ben Mid", "Cleo Low"]
    assert rows_of(client.get("/caseload?sort=phq9")) == ["ann high", "Ben Mid", "Cleo Low"]
    assert rows_of(client.get("/caseload?sort=last_contact")) == [
        "ann high",
        "Ben Mid",
        "Cleo Low",
    ]
    for bogus in ("bogus", "", "__class__", "x" * 3000):
        response = client.get("/caseload", query_string={"sort": bogus})
        assert response.status_code == 200
        assert 'value="urgency" selected' in page(response)
    name_page = page(client.get("/caseload?sort=name"))
    assert 'value="name" selected' in name_page
    assert "In treatment, name, a to z" in name_page


def link_args(html: str, text: str) -> dict[str, list[str]]:
    """The query-string arguments of the first link whose text or label contains ``text``."""
    match = re.search(
        rf'<a[^>]*href="([^"]*)"[^>]*>(?:(?!</a>).)*?{re.escape(text)}', html, re.S
    ) or re.search(rf'<a[^>]*href="([^"]*)"[^>]*aria-label="{re.escape(text)}"', html)
    assert match, text
    return parse_qs(urlsplit(match.group(1).replace("&amp;", "&")).query)


def test_pages_of_25_keep_the_tab_search_and_sort(client: FlaskClient, worker: User) -> None:
    for number in range(30):
        active_case(worker, f"Paged Client {number:02d}")
    active_case(worker, "Someone Else")
    first = client.get("/caseload?q=paged&sort=name")
    assert rows_of(first) == [f"Paged Client {n:02d}" for n in range(25)]
    html = page(first)
    assert "Showing 1 to 25 of 30 cases." in html
    assert link_args(html, "Page 2") == {"q": ["paged"], "sort": ["name"], "page": ["2"]}
    assert link_args(html, "Next") == {"q": ["paged"], "sort": ["name"], "page": ["2"]}
    assert link_args(html, "Red flags") == {"show": ["red"], "q": ["paged"], "sort": ["name"]}
    second = client.get("/caseload?q=paged&sort=name&page=2")
    assert rows_of(second) == [f"Paged Client {n:02d}" for n in range(25, 30)]
    assert "Showing 26 to 30 of 30 cases." in page(second)
    assert link_args(page(second), "Previous") == {"q": ["paged"], "sort": ["name"]}
    assert rows_of(client.get("/caseload?q=paged&sort=name&page=999")) == rows_of(second)
    for odd in ("abc", "-1", "0", "٣", "1e3", ""):
        response = client.get("/caseload", query_string={"q": "paged", "sort": "name", "page": odd})
        assert response.status_code == 200
        assert rows_of(response) == rows_of(first)
    event = audit_events("caseload.view", actor=worker)[-1]
    listed = db.session.scalars(
        select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event.id)
    ).all()
    assert len(listed) == 25  # the clients on the page shown, not the whole caseload
    assert "Someone Else" not in html
    everyone = page(client.get("/caseload"))
    assert "Showing 1 to 25 of 31 cases." in everyone


def test_the_waiting_list_has_pages_of_its_own(client: FlaskClient, worker: User) -> None:
    for number in range(26):
        make_case(worker, name=f"Waiting Client {number:02d}", referral_days_ago=number + 1)
    active_case(worker, "Treated Client")
    first = client.get("/caseload?sort=name")
    assert len(rows_of(first, "waiting-list")) == 25
    assert rows_of(first) == ["Treated Client"]
    html = page(first)
    assert "Showing 1 to 25 of 26 cases." in html
    assert link_args(html, "Page 2") == {"sort": ["name"], "wpage": ["2"]}
    second = client.get("/caseload?sort=name&wpage=2&show=amber")
    assert rows_of(second, "waiting-list") == ["Waiting Client 25"]
    assert link_args(page(second), "All cases") == {"sort": ["name"], "wpage": ["2"]}


def test_the_waiting_list_shows_the_wait_against_6_and_18_weeks(
    client: FlaskClient, worker: User
) -> None:
    make_case(worker, name="Wait Ten", referral_days_ago=10)
    make_case(worker, name="Wait Six", referral_days_ago=42)
    make_case(worker, name="Wait Over Six", referral_days_ago=43)
    make_case(worker, name="Wait Over Eighteen", referral_days_ago=127)
    response = client.get("/caseload")
    table = table_html(response, "waiting-list")
    rows = {
        name: " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in table.split("</tr>")
        for name in rows_of(response, "waiting-list")
        if f">{name}</a>" in row
    }
    referred = today_in_london() - timedelta(days=10)
    assert f"{referred.day} " in rows["Wait Ten"]
    assert "1 week (10 days)" in rows["Wait Ten"]
    assert "Over" not in rows["Wait Ten"]
    assert "6 weeks (42 days)" in rows["Wait Six"]
    assert "Over" not in rows["Wait Six"]  # within 42 days is within the 6-week standard
    assert "Over 6 weeks" in rows["Wait Over Six"]
    assert "Over 18 weeks" in rows["Wait Over Eighteen"]
    assert "nhsuk-tag--red" in table.split("Wait Over Eighteen")[1].split("</tr>")[0]
    # The urgency order puts the longest wait first among cases with the same flags.
    assert rows_of(response, "waiting-list")[0] == "Wait Over Eighteen"
    assert "Waiting list (4)" in page(response)


# Query budgets ---------------------------------------------------------------------------------


def grow(worker: User, count: int, start: int) -> Episode:
    """More cases, each in treatment with an overdue booking and one later this week."""
    episode = None
    for number in range(start, start + count):
        episode = active_case(worker, f"Budget Client {number:02d}")
        book_past(worker, episode, hours_ago=number + 1)
        book_at(worker, episode, datetime.now(LONDON) + timedelta(minutes=10 * number + 5))
    assert episode is not None
    return episode


def test_page_queries_do_not_grow_with_the_data(client: FlaskClient, worker: User) -> None:
    def measure(path: str, method: str = "GET", data: Any = None) -> int:
        with counting() as statements:
            response = client.open(path, method=method, data=data)
        assert response.status_code == 200, (path, response.status_code)
        return len(statements)

    def book_with_clash(episode: Episode) -> int:
        clash = datetime.now(LONDON) + timedelta(minutes=5)
        data = booking_data(token(client), clash.date(), clash.strftime("%H:%M"))
        return measure(book_url(episode), "POST", data)

    small_case = grow(worker, 3, 1)
    client.get("/diary")  # warm up
    client.get("/caseload")  # warm up: the missing curves are built after it
    paths = [
        "/diary",
        "/caseload",
        "/caseload?q=budget&sort=phq9&page=1",
        "/caseload?show=red&wpage=2",
    ]
    small = {path: measure(path) for path in paths}
    small["book form"] = measure(book_url(small_case))
    small["book with clash"] = book_with_clash(small_case)
    large_case = grow(worker, 27, 4)
    large = {path: measure(path) for path in paths}
    large["book form"] = measure(book_url(large_case))
    large["book with clash"] = book_with_clash(large_case)
    assert "Budget Client 30" in page(client.get("/caseload?page=2"))
    assert large == small
    # Each: the session and its user, the settings revision (the session's idle limit is
    # a setting, issue 10), the page's own queries, the audit chain's last link, the audit
    # event and its clients. The diary reads its bookings, cases and clients in one query;
    # the caseload adds the whole caseload's counts to its queries; the booking form reads
    # the episode and locks it, and a booking that clashes adds the look-up of the
    # worker's other bookings (and the refused savepoint).
    budgets = {"/diary": 9, "book form": 10, "book with clash": 12}
    for path, statements in small.items():
        # The caseload pages: 12 before issue 10, plus the audit chain's last link and the
        # settings revision.
        assert statements <= budgets.get(path, 14), (path, statements)
