"""Booking ahead and the diary on a real database: bounds, clashes, working hours, defaults,
what the diary lists, and outcomes recorded in one click with their audit events."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from caseload.domain.codes import AttendanceCode, ContactMode, ContactType, DischargeReason, Role
from caseload.domain.dates import london_to_utc
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Contact, Episode, User
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services.bookings import (
    DEFAULT_DURATION_MINUTES,
    BookingInput,
    book_contact,
    booking_defaults,
    clash_warning,
    confirmation_key,
    next_working_day,
    overlaps,
    record_booking_outcome,
    week_of,
    worker_diary,
    working_hours_warnings,
)
from caseload.services.contacts import get_contact_for_change
from caseload.services.settings import ServiceSettings
from tests.services.factories import NOW, TODAY, client_details, log, register, row_counts

SETTINGS = ServiceSettings()
BOOKED = AttendanceCode.BOOKED
#: The day after TODAY (a Monday): a Tuesday.
TUESDAY = TODAY + timedelta(days=1)
SATURDAY = TODAY + timedelta(days=5)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A UK wall-clock time as aware UTC."""
    return london_to_utc(day, time(hour, minute))


def booking(
    starts_at: datetime,
    duration: int | None = 30,
    contact_type: ContactType = ContactType.TREATMENT,
) -> BookingInput:
    return BookingInput(
        starts_at=starts_at,
        contact_type=contact_type,
        mode=ContactMode.TELEPHONE,
        duration_minutes=duration,
    )


def book(worker: User, episode: Episode, data: BookingInput, **kwargs: Any) -> Contact:
    """Book with the default settings at NOW (flushed, not committed)."""
    kwargs.setdefault("settings", SETTINGS)
    kwargs.setdefault("now", NOW)
    return book_contact(worker, episode, data, **kwargs)


def refusal(worker: User, episode: Episode, data: BookingInput, **kwargs: Any) -> dict[str, str]:
    """The field errors of a refused booking; nothing of it is kept."""
    before = row_counts()
    with pytest.raises(ServiceError) as refused, db.session.begin_nested():
        book(worker, episode, data, **kwargs)
    assert row_counts() == before
    return refused.value.field_errors


@pytest.fixture
def episode(worker: User) -> Episode:
    """A committed, waiting episode of the worker's."""
    episode = register(worker)
    db.session.commit()
    return episode


@pytest.fixture
def second_case(worker: User) -> Episode:
    """Another of the worker's cases, for clashes across cases."""
    episode = register(worker, details=client_details(name="Second Client"))
    db.session.commit()
    return episode


# Pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 6, 2), date(2025, 6, 3)),  # Monday -> Tuesday
        (date(2025, 6, 5), date(2025, 6, 6)),  # Thursday -> Friday
        (date(2025, 6, 6), date(2025, 6, 9)),  # Friday -> Monday
        (date(2025, 6, 7), date(2025, 6, 9)),  # Saturday -> Monday
        (date(2025, 6, 8), date(2025, 6, 9)),  # Sunday -> Monday
    ],
)
def test_the_next_working_day_skips_the_weekend(today: date, expected: date) -> None:
    assert next_working_day(today) == expected


def test_a_week_runs_monday_to_sunday() -> None:
    assert week_of(date(2025, 6, 4)) == (date(2025, 6, 2), date(2025, 6, 8))
    assert week_of(date(2025, 6, 8)) == (date(2025, 6, 2), date(2025, 6, 8))
    assert week_of(date(2025, 6, 9)) == (date(2025, 6, 9), date(2025, 6, 15))


def test_overlaps_but_touching_ends_do_not_clash() -> None:
    ten, half_past, eleven = at(TUESDAY, 10), at(TUESDAY, 10, 30), at(TUESDAY, 11)
    assert overlaps(ten, eleven, half_past, eleven)
    assert overlaps(half_past, eleven, ten, eleven)
    assert not overlaps(ten, half_past, half_past, eleven)
    assert not overlaps(half_past, eleven, ten, half_past)


@pytest.mark.parametrize(
    ("start", "minutes", "fields"),
    [
        ((TUESDAY, 8, 0), 30, set()),
        ((TUESDAY, 17, 30), 30, set()),  # ends exactly at the end of the day
        ((TUESDAY, 7, 59), 30, {"booked_time"}),
        ((TUESDAY, 17, 45), 30, {"booked_time"}),
        ((TUESDAY, 19, 0), 30, {"booked_time"}),
        ((SATURDAY, 10, 0), 30, {"booked_on"}),
        ((SATURDAY, 7, 0), 30, {"booked_on", "booked_time"}),
    ],
)
def test_working_hours_warnings(
    start: tuple[date, int, int], minutes: int, fields: set[str]
) -> None:
    starts_at = at(*start)
    warnings = working_hours_warnings(
        starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), settings=SETTINGS
    )
    assert set(warnings) == fields
    if "booked_on" in warnings:
        assert warnings["booked_on"] == "Saturday 7 June 2025 is at a weekend."
    if "booked_time" in warnings:
        assert "outside working hours (08:00 to 18:00)" in warnings["booked_time"]


def test_working_hours_come_from_the_settings() -> None:
    late = ServiceSettings(working_day_start=time(10, 0), working_day_end=time(20, 0))
    starts_at = at(TUESDAY, 19, 0)
    end = starts_at + timedelta(minutes=30)
    assert working_hours_warnings(starts_at=starts_at, ends_at=end, settings=late) == {}
    early = at(TUESDAY, 9, 0)
    assert (
        "10:00 to 20:00"
        in working_hours_warnings(
            starts_at=early, ends_at=early + timedelta(minutes=30), settings=late
        )["booked_time"]
    )


def test_the_clash_warning_gives_times_not_clients() -> None:
    assert clash_warning([]) is None
    one = clash_warning([(at(TUESDAY, 10), at(TUESDAY, 10, 30))])
    assert one == "This clashes with another of your bookings: 3 Jun 2025, 10:00 to 10:30."
    two = clash_warning(
        [(at(TUESDAY, 10), at(TUESDAY, 10, 30)), (at(TUESDAY, 10, 15), at(TUESDAY, 11))]
    )
    assert two is not None
    assert two.startswith("This clashes with 2 of your bookings")


def test_a_confirmation_is_for_one_start_and_length() -> None:
    key = confirmation_key(booking(at(TUESDAY, 10)))
    assert key == "2025-06-03T10:00/30"
    assert confirmation_key(booking(at(TUESDAY, 10, 5))) != key
    assert confirmation_key(booking(at(TUESDAY, 10), duration=45)) != key


# Defaults -----------------------------------------------------------------------------------


def test_defaults_are_the_next_working_day_at_the_start_of_the_day(
    worker: User, episode: Episode
) -> None:
    friday = date(2025, 6, 6)
    defaults = booking_defaults(episode, today=friday, settings=SETTINGS)
    assert defaults.day == date(2025, 6, 9)
    assert defaults.at == time(8, 0)
    assert defaults.contact_type is ContactType.ASSESSMENT  # not seen yet
    assert defaults.mode is ContactMode.TELEPHONE
    assert defaults.duration_minutes == DEFAULT_DURATION_MINUTES
    later = ServiceSettings(working_day_start=time(9, 30))
    assert booking_defaults(episode, today=friday, settings=later).at == time(9, 30)
    log(worker, episode, phq9_total=8, gad7_total=6)
    db.session.commit()
    assert booking_defaults(episode, today=TODAY, settings=SETTINGS).contact_type is (
        ContactType.TREATMENT
    )


# Booking ------------------------------------------------------------------------------------


def test_a_booking_is_saved_as_a_booked_contact_with_its_audit_event(
    worker: User, episode: Episode
) -> None:
    contact = book(worker, episode, booking(at(TUESDAY, 10), duration=45))
    db.session.commit()
    assert contact.attendance is BOOKED
    assert contact.duration_minutes == 45
    assert contact.contact_type is ContactType.TREATMENT
    assert contact.scores == []
    assert episode.summary.booked_contacts == 1
    assert episode.summary.earliest_booked_at == at(TUESDAY, 10)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contact.book")).one()
    assert event.object_id == str(contact.id)
    assert event.client_id == episode.client_id


@pytest.mark.parametrize(
    ("starts_at", "field", "message"),
    [
        (at(TODAY - timedelta(days=1), 10), "booked_on", "A booking must be in the future"),
        (NOW - timedelta(hours=1), "booked_time", "That time has passed"),
        (NOW, "booked_time", "That time has passed"),
        (at(TODAY + timedelta(days=366), 10), "booked_on", "at most 365 days ahead"),
        (at(TODAY + timedelta(days=800), 10), "booked_on", "(until 2 Jun 2026)"),
    ],
)
def test_bookings_in_the_past_or_beyond_a_year_are_refused(
    worker: User, episode: Episode, starts_at: datetime, field: str, message: str
) -> None:
    errors = refusal(worker, episode, booking(starts_at))
    assert message in errors[field]
    # A confirmation never overrides a refusal.
    errors = refusal(
        worker, episode, booking(starts_at), confirmed_for=confirmation_key(booking(starts_at))
    )
    assert message in errors[field]


def test_the_last_day_of_the_horizon_and_the_next_minute_are_bookable(
    worker: User, episode: Episode
) -> None:
    last_day = TODAY + timedelta(days=365)  # a Tuesday
    assert book(worker, episode, booking(at(last_day, 10))).attendance is BOOKED
    assert book(worker, episode, booking(NOW + timedelta(minutes=1))).attendance is BOOKED
    shorter = ServiceSettings(booking_horizon_days=30)
    errors = refusal(worker, episode, booking(at(TODAY + timedelta(days=31), 10)), settings=shorter)
    assert "at most 30 days ahead" in errors["booked_on"]


@pytest.mark.parametrize("duration", [None, 0, -5, 481, 10_000])
def test_a_booking_needs_a_possible_length(
    worker: User, episode: Episode, duration: int | None
) -> None:
    errors = refusal(worker, episode, booking(at(TUESDAY, 10), duration=duration))
    assert errors == {"duration_minutes": "Duration must be between 1 and 480 minutes."}


def test_a_discharged_episode_takes_no_booking(worker: User, episode: Episode) -> None:
    episode.discharged_on = TODAY  # set directly: the discharge rules are not the point here
    episode.discharge_reason = DischargeReason.DECLINED
    db.session.commit()
    with pytest.raises(ServiceError, match="discharged"):
        book(worker, episode, booking(at(TUESDAY, 10)))


def test_a_clash_with_another_of_the_workers_bookings_is_warned_then_confirmed(
    worker: User, episode: Episode, second_case: Episode
) -> None:
    book(worker, second_case, booking(at(TUESDAY, 10)))
    db.session.commit()
    overlapping = booking(at(TUESDAY, 10, 15))
    errors = refusal(worker, episode, overlapping)
    assert errors["booked_time"] == (
        "This clashes with another of your bookings: 3 Jun 2025, 10:00 to 10:30."
    )
    assert "Book anyway" in errors["book_anyway"]
    assert "Second Client" not in " ".join(errors.values())
    # A confirmation given for another time does not count.
    stale = confirmation_key(booking(at(TUESDAY, 9, 45)))
    assert "booked_time" in refusal(worker, episode, overlapping, confirmed_for=stale)
    contact = book(worker, episode, overlapping, confirmed_for=confirmation_key(overlapping))
    assert contact.attendance is BOOKED


def test_touching_bookings_and_other_workers_bookings_do_not_clash(
    worker: User, episode: Episode, second_case: Episode, user_factory: Any
) -> None:
    book(worker, second_case, booking(at(TUESDAY, 10)))
    colleague = user_factory(Role.WORKER, team="North team")
    theirs = register(colleague, details=client_details(name="Their Client"))
    book(colleague, theirs, booking(at(TUESDAY, 11)))
    db.session.commit()
    assert book(worker, episode, booking(at(TUESDAY, 10, 30))).attendance is BOOKED
    assert book(worker, episode, booking(at(TUESDAY, 11))).attendance is BOOKED
    assert book(worker, episode, booking(at(TUESDAY, 9, 30))).attendance is BOOKED


def test_a_booking_saved_without_a_length_is_taken_as_the_default_length(
    worker: User, episode: Episode, second_case: Episode
) -> None:
    log(worker, second_case, at(TUESDAY, 14), attendance=BOOKED)  # no duration
    db.session.commit()
    assert "booked_time" in refusal(worker, episode, booking(at(TUESDAY, 14, 20)))
    assert book(worker, episode, booking(at(TUESDAY, 14, 30))).attendance is BOOKED


def test_a_long_booking_earlier_in_the_day_still_clashes(
    worker: User, episode: Episode, second_case: Episode
) -> None:
    book(worker, second_case, booking(at(TUESDAY, 9), duration=240))  # a group until 13:00
    db.session.commit()
    assert "clashes" in refusal(worker, episode, booking(at(TUESDAY, 12, 30)))["booked_time"]


def test_recorded_or_cancelled_bookings_do_not_clash(
    worker: User, episode: Episode, second_case: Episode
) -> None:
    other = book(worker, second_case, booking(at(TUESDAY, 10)))
    db.session.commit()
    record_booking_outcome(
        worker,
        other,
        attendance=AttendanceCode.CANCELLED_BY_PATIENT,
        expected_version=other.version,
        now=NOW,
    )
    db.session.commit()
    assert book(worker, episode, booking(at(TUESDAY, 10))).attendance is BOOKED


def test_outside_hours_and_weekends_are_warned_and_both_warnings_shown(
    worker: User, episode: Episode, second_case: Episode
) -> None:
    book(worker, second_case, booking(at(TUESDAY, 17, 30)))
    db.session.commit()
    late = booking(at(TUESDAY, 17, 45))
    errors = refusal(worker, episode, late)
    assert "clashes with another of your bookings" in errors["booked_time"]
    assert "17:45 to 18:15 is outside working hours" in errors["booked_time"]
    weekend = booking(at(SATURDAY, 10))
    assert refusal(worker, episode, weekend)["booked_on"] == (
        "Saturday 7 June 2025 is at a weekend."
    )
    assert book(worker, episode, weekend, confirmed_for=confirmation_key(weekend))
    assert book(worker, episode, late, confirmed_for=confirmation_key(late))


# One-click outcomes -------------------------------------------------------------------------


def past_booking(worker: User, episode: Episode, hours_ago: int = 2) -> Contact:
    """A booking whose time passed with no outcome (made while it was still ahead)."""
    moment = NOW - timedelta(hours=hours_ago)
    contact = log(worker, episode, moment, attendance=BOOKED, now=moment - timedelta(days=1))
    db.session.commit()
    return contact


@pytest.mark.parametrize(
    "code",
    [
        AttendanceCode.DID_NOT_ATTEND,
        AttendanceCode.CANCELLED_BY_PATIENT,
        AttendanceCode.CANCELLED_BY_PROVIDER,
    ],
)
def test_a_past_booking_takes_a_one_click_outcome_with_its_audit_event(
    worker: User, episode: Episode, code: AttendanceCode
) -> None:
    contact = past_booking(worker, episode)
    before = row_counts()["contacts"]
    contact, _ = get_contact_for_change(worker, contact.id)
    record_booking_outcome(worker, contact, attendance=code, expected_version=contact.version)
    db.session.commit()
    assert contact.attendance is code
    assert contact.occurred_at == NOW - timedelta(hours=2)  # the booked time is kept
    assert row_counts()["contacts"] == before
    assert episode.summary.booked_contacts == 0
    assert episode.summary.consecutive_dnas == (1 if code is AttendanceCode.DID_NOT_ATTEND else 0)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contact.complete")
    ).one()
    assert (event.object_id, event.client_id) == (str(contact.id), episode.client_id)


def test_a_future_booking_can_be_cancelled_but_not_marked_as_a_dna(
    worker: User, episode: Episode
) -> None:
    contact = book(worker, episode, booking(at(TUESDAY, 10)))
    db.session.commit()
    with pytest.raises(ServiceError, match="before its time"), db.session.begin_nested():
        record_booking_outcome(
            worker,
            contact,
            attendance=AttendanceCode.DID_NOT_ATTEND,
            expected_version=contact.version,
            now=NOW,
        )
    assert contact.is_booked
    record_booking_outcome(
        worker,
        contact,
        attendance=AttendanceCode.CANCELLED_BY_PROVIDER,
        expected_version=contact.version,
        now=NOW,
    )
    assert contact.attendance is AttendanceCode.CANCELLED_BY_PROVIDER


@pytest.mark.parametrize(
    "code",
    [AttendanceCode.ATTENDED_ON_TIME, AttendanceCode.BOOKED, AttendanceCode.ARRIVED_LATE_SEEN],
)
def test_one_click_takes_only_the_three_outcomes(
    worker: User, episode: Episode, code: AttendanceCode
) -> None:
    contact = past_booking(worker, episode)
    with pytest.raises(ServiceError) as refused:
        record_booking_outcome(worker, contact, attendance=code, expected_version=contact.version)
    assert "attendance" in refused.value.field_errors
    assert contact.is_booked


def test_a_stale_version_or_a_recorded_booking_is_refused(worker: User, episode: Episode) -> None:
    contact = past_booking(worker, episode)
    dna = AttendanceCode.DID_NOT_ATTEND
    with pytest.raises(Conflict):
        record_booking_outcome(
            worker, contact, attendance=dna, expected_version=contact.version + 1
        )
    record_booking_outcome(worker, contact, attendance=dna, expected_version=contact.version)
    db.session.commit()
    with pytest.raises(ServiceError, match="already has its outcome"):
        record_booking_outcome(worker, contact, attendance=dna, expected_version=contact.version)


def test_another_workers_booking_cannot_be_reached(
    worker: User, user_factory: Any, episode: Episode
) -> None:
    colleague = user_factory(Role.WORKER, team="North team")
    theirs = register(colleague, details=client_details(name="Their Client"))
    db.session.commit()
    contact = past_booking(colleague, theirs)
    with pytest.raises(NotVisible):
        get_contact_for_change(worker, contact.id)


# The diary ----------------------------------------------------------------------------------


def listed_clients(action: str) -> list[int]:
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).one()
    return sorted(
        db.session.scalars(
            select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event.id)
        )
    )


def test_the_diary_lists_overdue_today_and_the_rest_of_the_week(
    worker: User, episode: Episode, second_case: Episode, user_factory: Any
) -> None:
    wednesday = TODAY + timedelta(days=2)
    sunday = TODAY + timedelta(days=6)
    overdue_last_week = past_booking(worker, episode, hours_ago=24 * 6)
    overdue_today = past_booking(worker, second_case, hours_ago=2)
    later_today = book(worker, episode, booking(at(TODAY, 16)))
    wednesday_late = book(worker, second_case, booking(at(wednesday, 15)))
    wednesday_early = book(worker, episode, booking(at(wednesday, 9)))
    on_sunday = book(
        worker,
        episode,
        booking(at(sunday, 23, 0)),
        confirmed_for=confirmation_key(booking(at(sunday, 23, 0))),
    )
    book(
        worker,
        episode,
        booking(at(TODAY + timedelta(days=7), 0, 30)),
        confirmed_for=(confirmation_key(booking(at(TODAY + timedelta(days=7), 0, 30)))),
    )  # next Monday, just after midnight: not this week
    done = book(worker, episode, booking(at(TUESDAY, 10)))
    record_booking_outcome(
        worker,
        done,
        attendance=AttendanceCode.CANCELLED_BY_PATIENT,
        expected_version=done.version,
        now=NOW,
    )
    colleague = user_factory(Role.WORKER, team="North team")
    theirs = register(colleague, details=client_details(name="Their Client"))
    book(colleague, theirs, booking(at(TUESDAY, 11)))
    db.session.commit()

    diary = worker_diary(worker, today=TODAY, now=NOW)
    db.session.commit()

    assert diary.week_start == TODAY
    assert diary.week_end == sunday
    assert [e.contact.id for e in diary.overdue] == [overdue_last_week.id, overdue_today.id]
    assert all(e.overdue for e in diary.overdue)
    assert diary.today.day == TODAY
    assert [e.contact.id for e in diary.today.entries] == [later_today.id]
    assert not diary.today.entries[0].overdue
    assert diary.today.name == "Monday 2 June 2025"
    assert [d.day for d in diary.later] == [TODAY + timedelta(days=n) for n in range(1, 7)]
    by_day = {d.day: [e.contact.id for e in d.entries] for d in diary.later}
    assert by_day[TUESDAY] == []  # the cancelled booking and the colleague's are not shown
    assert by_day[wednesday] == [wednesday_early.id, wednesday_late.id]
    assert by_day[sunday] == [on_sunday.id]
    assert diary.later[1].entries[0].times == "09:00 to 09:30"
    assert list(diary.overdue[0].outcomes) == [
        AttendanceCode.DID_NOT_ATTEND,
        AttendanceCode.CANCELLED_BY_PATIENT,
        AttendanceCode.CANCELLED_BY_PROVIDER,
    ]
    assert list(diary.today.entries[0].outcomes) == [
        AttendanceCode.CANCELLED_BY_PATIENT,
        AttendanceCode.CANCELLED_BY_PROVIDER,
    ]
    assert listed_clients("diary.view") == sorted([episode.client_id, second_case.client_id])


def test_on_a_sunday_the_diary_is_today_only(worker: User, episode: Episode) -> None:
    sunday = TODAY + timedelta(days=6)
    evening = at(sunday, 19)
    later = book(
        worker, episode, booking(evening), confirmed_for=confirmation_key(booking(evening))
    )
    db.session.commit()
    diary = worker_diary(worker, today=sunday, now=at(sunday, 9))
    assert diary.later == ()
    assert [e.contact.id for e in diary.today.entries] == [later.id]


def test_an_empty_diary_lists_no_clients(worker: User) -> None:
    diary = worker_diary(worker, today=TODAY, now=NOW)
    db.session.commit()
    assert diary.entries == []
    assert listed_clients("diary.view") == []


def test_the_diary_uses_uk_days(worker: User, episode: Episode) -> None:
    """23:30 UK time on a Wednesday in summer is 22:30 UTC the same day, and 00:30 UK time
    on the Thursday is 23:30 UTC on the Wednesday: the diary files both by UK date."""
    wednesday = TODAY + timedelta(days=2)
    thursday = wednesday + timedelta(days=1)
    late = booking(at(wednesday, 23, 30))
    early = booking(at(thursday, 0, 30))
    assert early.starts_at.astimezone(UTC).date() == wednesday
    book(worker, episode, late, confirmed_for=confirmation_key(late))
    book(worker, episode, early, confirmed_for=confirmation_key(early))
    db.session.commit()
    diary = worker_diary(worker, today=TODAY, now=NOW)
    by_day = {d.day: [e.times for e in d.entries] for d in diary.later}
    assert by_day[wednesday] == ["23:30 to 00:00"]
    assert by_day[thursday] == ["00:30 to 01:00"]
