"""Dates as clinicians read them: Europe/London calendar days, "3 Nov 2026"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: The service's time zone: times are stored in UTC and shown and entered in UK time.
LONDON = ZoneInfo("Europe/London")


def london_to_utc(day: date, at: time) -> datetime:
    """A UK wall-clock date and time as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


def local_date(moment: datetime) -> date:
    """The Europe/London calendar day of an aware datetime (a naive one is taken as local)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(LONDON).date()


def format_day_month(day: date) -> str:
    """A day and month without a leading zero, such as "3 Nov" (portable, unlike %-d)."""
    return f"{day.day} {_MONTHS[day.month - 1]}"


def format_month(day: date) -> str:
    """A calendar month, locale-independent, such as "Nov 2026"."""
    return f"{_MONTHS[day.month - 1]} {day.year}"


def format_date(day: date) -> str:
    """A short, locale-independent date such as "3 Nov 2026"."""
    return f"{format_day_month(day)} {day.year}"


def format_datetime(moment: datetime) -> str:
    """A moment in UK time such as "3 Nov 2026, 14:30"."""
    local = moment.astimezone(LONDON)
    return f"{format_date(local.date())}, {local:%H:%M}"
