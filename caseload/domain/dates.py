"""Dates as clinicians read them: Europe/London calendar days, "3 Nov 2026"."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def _london() -> ZoneInfo:
    return ZoneInfo("Europe/London")


def local_date(moment: datetime) -> date:
    """The Europe/London calendar day of an aware datetime (a naive one is taken as local)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(_london()).date()


def format_date(day: date) -> str:
    """A short, locale-independent date such as "3 Nov 2026"."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
