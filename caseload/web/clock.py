"""The time as people in the service mean it: UK time."""

from __future__ import annotations

from datetime import date, datetime

from caseload.domain.dates import LONDON


def london_now() -> datetime:
    """The current time in the UK."""
    return datetime.now(LONDON)


def today_in_london() -> date:
    """Today's date in the UK (the date a clinician means by "today")."""
    return london_now().date()
