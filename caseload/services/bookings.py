"""Booking appointments ahead, and the worker's diary of what is booked and what is overdue.

A booking is a contact with attendance code 0 (booked, outcome not yet recorded),
saved through ``contacts.log_contact`` like any other contact; its outcome is
recorded later through ``contacts.record_outcome``. This module adds what booking
needs on top: defaults (the next working day at the start of the working day),
the bounds (not in the past, not beyond the booking horizon), the warnings a
worker confirms (a clash with another of their bookings, a time outside working
hours or at a weekend), and the diary that lists the week's bookings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from caseload.db import utcnow
from caseload.domain.codes import AttendanceCode, ContactMode, ContactType, EntryStatus
from caseload.domain.dates import LONDON, format_date, london_to_utc
from caseload.extensions import db
from caseload.models import Contact, Episode, User
from caseload.policy import changeable_episodes
from caseload.services import ServiceError
from caseload.services.audit import record_event
from caseload.services.contacts import (
    MAX_DURATION_MINUTES,
    ContactInput,
    as_input,
    log_contact,
    record_outcome,
)
from caseload.services.settings import ServiceSettings, service_settings

#: How long a booking lasts when it was saved without a duration (before the booking form
#: asked for one), for finding clashes; also the booking form's default.
DEFAULT_DURATION_MINUTES = 30

#: The outcomes the diary records in one click, with the words on its buttons.
ONE_CLICK_OUTCOMES: dict[AttendanceCode, str] = {
    AttendanceCode.DID_NOT_ATTEND: "Did not attend",
    AttendanceCode.CANCELLED_BY_PATIENT: "Cancelled by client",
    AttendanceCode.CANCELLED_BY_PROVIDER: "Cancelled by service",
}
#: The outcomes that may be recorded before the appointment's time: cancellations.
AHEAD_OF_TIME = frozenset(
    {AttendanceCode.CANCELLED_BY_PATIENT, AttendanceCode.CANCELLED_BY_PROVIDER}
)

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class BookingInput:
    """What the booking form collects: when (aware), what kind of contact, how long."""

    starts_at: datetime
    contact_type: ContactType
    mode: ContactMode
    duration_minutes: int | None


@dataclass(frozen=True)
class BookingDefaults:
    """What a new booking form starts with."""

    day: date
    at: time
    contact_type: ContactType
    mode: ContactMode
    duration_minutes: int


# Pure rules -------------------------------------------------------------------------------


def day_name(day: date) -> str:
    """A day as a diary heads it: "Tuesday 3 June 2025"."""
    month = _MONTH_NAMES[day.month - 1]
    return f"{_WEEKDAY_NAMES[day.weekday()]} {day.day} {month} {day.year}"


def is_working_day(day: date) -> bool:
    """Monday to Friday. Bank holidays are not known to caseload, so they count as working."""
    return day.weekday() < 5


def next_working_day(today: date) -> date:
    """The first working day after today (Friday, Saturday and Sunday give Monday)."""
    day = today + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def week_of(day: date) -> tuple[date, date]:
    """The Monday and the Sunday of the week a day is in."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def booking_end(starts_at: datetime, duration_minutes: int | None) -> datetime:
    """When a booking ends (a booking without a duration is taken as the default length)."""
    return starts_at + timedelta(minutes=duration_minutes or DEFAULT_DURATION_MINUTES)


def overlaps(
    starts_at: datetime, ends_at: datetime, other_start: datetime, other_end: datetime
) -> bool:
    """Whether two stretches of time share a moment (touching ends do not clash)."""
    return other_start < ends_at and starts_at < other_end


def _clock(moment: datetime) -> str:
    return f"{moment.astimezone(LONDON):%H:%M}"


def working_hours_warnings(
    *, starts_at: datetime, ends_at: datetime, settings: ServiceSettings
) -> dict[str, str]:
    """Warnings, by form field, for a booking at a weekend or outside working hours."""
    warnings: dict[str, str] = {}
    start = starts_at.astimezone(LONDON)
    end = ends_at.astimezone(LONDON)
    if not is_working_day(start.date()):
        warnings["booked_on"] = f"{day_name(start.date())} is at a weekend."
    day_start = datetime.combine(start.date(), settings.working_day_start, tzinfo=LONDON)
    day_end = datetime.combine(start.date(), settings.working_day_end, tzinfo=LONDON)
    if start < day_start or end > day_end:
        warnings["booked_time"] = (
            f"{_clock(start)} to {_clock(end)} is outside working hours "
            f"({settings.working_day_start:%H:%M} to {settings.working_day_end:%H:%M})."
        )
    return warnings


def clash_warning(clashes: list[tuple[datetime, datetime]]) -> str | None:
    """The warning for a booking that overlaps others of the worker's (None for none).

    The other bookings are named by their times only: they may be another client's,
    and this page is about this one.
    """
    if not clashes:
        return None
    times = " and ".join(
        f"{format_date(s.astimezone(LONDON).date())}, {_clock(s)} to {_clock(e)}"
        for s, e in clashes
    )
    many = "another of your bookings" if len(clashes) == 1 else f"{len(clashes)} of your bookings"
    return f"This clashes with {many}: {times}."


def confirmation_key(data: BookingInput) -> str:
    """What a worker confirmed when they ticked "Book anyway": this start and length.

    A confirmation counts only for the booking it was given for, so changing the time
    after a warning brings the warnings back instead of booking silently.
    """
    start = data.starts_at.astimezone(LONDON)
    return f"{start:%Y-%m-%dT%H:%M}/{data.duration_minutes or DEFAULT_DURATION_MINUTES}"


# Booking -----------------------------------------------------------------------------------


def booking_defaults(
    episode: Episode, *, today: date, settings: ServiceSettings | None = None
) -> BookingDefaults:
    """The next working day at the start of the working day; an assessment until the client
    has been seen, then treatment; by telephone, for the default length."""
    settings = settings or service_settings()
    seen = episode.summary is not None and episode.summary.attended_contacts > 0
    return BookingDefaults(
        day=next_working_day(today),
        at=settings.working_day_start,
        contact_type=ContactType.TREATMENT if seen else ContactType.ASSESSMENT,
        mode=ContactMode.TELEPHONE,
        duration_minutes=DEFAULT_DURATION_MINUTES,
    )


def _bounds_errors(
    data: BookingInput, *, now: datetime, settings: ServiceSettings
) -> dict[str, str]:
    """Refusals: a booking in the past, beyond the horizon, or of an impossible length."""
    errors: dict[str, str] = {}
    day = data.starts_at.astimezone(LONDON).date()
    today = now.astimezone(LONDON).date()
    last_day = today + timedelta(days=settings.booking_horizon_days)
    if day < today:
        errors["booked_on"] = (
            "A booking must be in the future. To record a contact that has happened, "
            "log it instead."
        )
    elif data.starts_at <= now:
        errors["booked_time"] = "That time has passed: choose a later time today, or another day."
    elif day > last_day:
        errors["booked_on"] = (
            f"A booking can be at most {settings.booking_horizon_days} days ahead "
            f"(until {format_date(last_day)})."
        )
    duration = data.duration_minutes
    if duration is None or not 1 <= duration <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = (
            f"Duration must be between 1 and {MAX_DURATION_MINUTES} minutes."
        )
    return errors


def clashing_bookings(asker: User, data: BookingInput) -> list[tuple[datetime, datetime]]:
    """The asker's other bookings (on any of their cases) that overlap this one."""
    starts_at = data.starts_at
    ends_at = booking_end(starts_at, data.duration_minutes)
    # No booking is longer than the longest contact, so one that starts earlier than that
    # cannot reach this one: the window keeps the query on the occurred_at index.
    candidates = db.session.execute(
        select(Contact.occurred_at, Contact.duration_minutes)
        .join(Episode, Episode.id == Contact.episode_id)
        .where(
            changeable_episodes(asker),
            Contact.attendance == AttendanceCode.BOOKED,
            Contact.status == EntryStatus.CURRENT,
            Contact.occurred_at > starts_at - timedelta(minutes=MAX_DURATION_MINUTES),
            Contact.occurred_at < ends_at,
        )
        .order_by(Contact.occurred_at)
    ).all()
    spans = [(start, booking_end(start, minutes)) for start, minutes in candidates]
    return [(s, e) for s, e in spans if overlaps(starts_at, ends_at, s, e)]


def book_contact(
    asker: User,
    episode: Episode,
    data: BookingInput,
    *,
    confirmed_for: str = "",
    settings: ServiceSettings | None = None,
    now: datetime | None = None,
) -> Contact:
    """Book a contact ahead on one of the asker's open cases.

    Refused in the past, beyond the booking horizon or with an impossible length.
    A clash with another of the asker's bookings, or a time outside working hours or
    at a weekend, is refused until the worker confirms it (``confirmed_for`` is the
    :func:`confirmation_key` of the booking they confirmed). Saved through
    ``log_contact``, which keeps the summary and writes the audit event.
    """
    now = now or utcnow()
    settings = settings or service_settings()
    errors = _bounds_errors(data, now=now, settings=settings)
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    if confirmed_for != confirmation_key(data):
        warnings = working_hours_warnings(
            starts_at=data.starts_at,
            ends_at=booking_end(data.starts_at, data.duration_minutes),
            settings=settings,
        )
        clash = clash_warning(clashing_bookings(asker, data))
        if clash is not None:
            earlier = warnings.get("booked_time")
            warnings["booked_time"] = f"{clash} {earlier}" if earlier else clash
        if warnings:
            warnings["book_anyway"] = (
                "Check the warnings: change the booking, or tick \u201cBook anyway\u201d "
                "to keep it."
            )
            raise ServiceError(next(iter(warnings.values())), field_errors=warnings)
    return log_contact(
        asker,
        episode,
        ContactInput(
            occurred_at=data.starts_at,
            contact_type=data.contact_type,
            mode=data.mode,
            attendance=AttendanceCode.BOOKED,
            duration_minutes=data.duration_minutes,
        ),
        now=now,
    )


def record_booking_outcome(
    asker: User,
    contact: Contact,
    *,
    attendance: AttendanceCode,
    expected_version: int,
    now: datetime | None = None,
) -> Contact:
    """Record in one click that a booked client did not attend or that it was cancelled.

    The contact keeps its booked time, type, mode and length; only its attendance
    changes, through ``contacts.record_outcome`` (which checks the version, keeps the
    summary and writes the audit event). A non-attendance can only be recorded once
    the appointment's time has come; a cancellation may be recorded ahead.
    """
    if attendance not in ONE_CLICK_OUTCOMES:
        message = "Choose did not attend, cancelled by client or cancelled by service."
        raise ServiceError(message, field_errors={"attendance": message})
    now = now or utcnow()
    if attendance not in AHEAD_OF_TIME and contact.occurred_at > now:
        message = "A booking cannot be marked as not attended before its time."
        raise ServiceError(message, field_errors={"attendance": message})
    return record_outcome(
        asker,
        contact,
        replace(as_input(contact), attendance=attendance),
        expected_version=expected_version,
        now=now,
    )


# The diary ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiaryEntry:
    """One booked contact in the diary, with its client (loaded in the same query)."""

    contact: Contact
    #: Its time has passed and no outcome was recorded.
    overdue: bool

    @property
    def episode(self) -> Episode:
        """The case the booking belongs to."""
        return self.contact.episode

    @property
    def starts_at(self) -> datetime:
        """When the appointment starts."""
        return self.contact.occurred_at

    @property
    def ends_at(self) -> datetime:
        """When it ends (the default length when none was given)."""
        return booking_end(self.contact.occurred_at, self.contact.duration_minutes)

    @property
    def outcomes(self) -> dict[AttendanceCode, str]:
        """The one-click outcomes this booking offers: all three once its time has passed,
        the cancellations before."""
        return {
            code: label
            for code, label in ONE_CLICK_OUTCOMES.items()
            if self.overdue or code in AHEAD_OF_TIME
        }

    @property
    def times(self) -> str:
        """Its start and end on the 24-hour clock in UK time: "14:00 to 14:30"."""
        return f"{_clock(self.starts_at)} to {_clock(self.ends_at)}"


@dataclass(frozen=True)
class DiaryDay:
    """One day of the diary and what is booked on it, earliest first."""

    day: date
    entries: tuple[DiaryEntry, ...]

    @property
    def name(self) -> str:
        """The day as a heading: "Tuesday 3 June 2025"."""
        return day_name(self.day)


@dataclass(frozen=True)
class Diary:
    """The worker's week: overdue bookings first, then today, then the rest of the week."""

    today: DiaryDay
    later: tuple[DiaryDay, ...]
    overdue: tuple[DiaryEntry, ...]
    week_start: date
    week_end: date

    @property
    def entries(self) -> list[DiaryEntry]:
        """Every booking the diary shows."""
        return [*self.overdue, *self.today.entries, *(e for d in self.later for e in d.entries)]


def worker_diary(asker: User, *, today: date, now: datetime | None = None) -> Diary:
    """The asker's bookings with no outcome yet: overdue ones, today's and this week's.

    One query for the bookings with their cases and clients, whatever their number,
    and one audit event naming every client listed.
    """
    now = now or utcnow()
    week_start, week_end = week_of(today)
    week_after = london_to_utc(week_end + timedelta(days=1), time(0, 0))
    contacts = db.session.scalars(
        select(Contact)
        .join(Episode, Episode.id == Contact.episode_id)
        .options(joinedload(Contact.episode).joinedload(Episode.client))
        .where(
            changeable_episodes(asker),
            Episode.discharged_on.is_(None),
            Contact.attendance == AttendanceCode.BOOKED,
            Contact.status == EntryStatus.CURRENT,
            Contact.occurred_at < week_after,
        )
        .order_by(Contact.occurred_at, Contact.id)
    ).all()
    overdue: list[DiaryEntry] = []
    by_day: dict[date, list[DiaryEntry]] = {}
    for contact in contacts:
        if contact.occurred_at <= now:
            overdue.append(DiaryEntry(contact, overdue=True))
        else:
            day = contact.occurred_at.astimezone(LONDON).date()
            by_day.setdefault(day, []).append(DiaryEntry(contact, overdue=False))
    days = [today + timedelta(days=n) for n in range((week_end - today).days + 1)]
    diary = Diary(
        today=DiaryDay(today, tuple(by_day.get(today, ()))),
        later=tuple(DiaryDay(day, tuple(by_day.get(day, ()))) for day in days[1:]),
        overdue=tuple(overdue),
        week_start=week_start,
        week_end=week_end,
    )
    record_event(
        "diary.view",
        actor=asker,
        object_type="user",
        object_id=asker.id,
        client_ids=[e.episode.client_id for e in diary.entries],
        detail={"bookings": len(diary.entries)},
    )
    return diary
