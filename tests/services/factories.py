"""Data for service tests: a registered client with an episode, and contacts with defaults.

Time is pinned: ``NOW`` and ``TODAY`` are passed to every service that takes them,
so the rules about the future and the past never depend on the wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    NotCollectedReason,
    ReferralSource,
)
from caseload.domain.measures import all_measures
from caseload.extensions import db
from caseload.models import (
    AuditEvent,
    Client,
    ConsentRecord,
    Contact,
    ContactScore,
    Episode,
    EpisodeSummary,
    ReflectiveNote,
    User,
)
from caseload.services.clients import ClientDetails, Referral, register_client
from caseload.services.contacts import ContactInput, log_contact

#: A Monday in British Summer Time, at noon: local and UTC dates agree.
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
TODAY = date(2025, 6, 2)
#: A week before TODAY, so no "review overdue" flag appears unless a test wants one.
REFERRAL_DATE = TODAY - timedelta(days=7)

VALID_NHS_NUMBER = "9434765919"


def answers_for(total: int, items: int) -> list[int]:
    """Item answers (0-3 each, filled from item 1) adding up to ``total``."""
    assert 0 <= total <= 3 * items
    values = []
    for _ in range(items):
        values.append(min(3, total))
        total -= values[-1]
    return values


def phq9(total: int, *, item9: int = 0) -> list[int]:
    """PHQ-9 answers with this total; item 9 is 0 unless given, so no risk signal by default."""
    values = answers_for(total - item9, 8) + [item9]
    assert sum(values) == total
    return values


def gad7(total: int) -> list[int]:
    """GAD-7 answers with this total."""
    return answers_for(total, 7)


def client_details(**overrides: Any) -> ClientDetails:
    """A valid person to register."""
    values: dict[str, Any] = {
        "name": "Alex Example",
        "date_of_birth": date(1990, 4, 1),
        "nhs_number": "",
        "phone": "07700 900123",
        "gp_practice": "High Street Surgery",
    }
    return ClientDetails(**(values | overrides))


def referral(**overrides: Any) -> Referral:
    """A valid GP referral a week before TODAY."""
    values: dict[str, Any] = {
        "referral_date": REFERRAL_DATE,
        "referral_source": ReferralSource.GP,
        "referrer_expectation": "counselling",
        "presenting_problem": "depression",
    }
    return Referral(**(values | overrides))


def register(
    worker: User,
    *,
    details: ClientDetails | None = None,
    referral_date: date = REFERRAL_DATE,
    consented: bool = False,
    consent_note: str = "Asked at registration.",
    **referral_overrides: Any,
) -> Episode:
    """Register a client with one episode assigned to ``worker`` (flushed, not committed)."""
    return register_client(
        worker,
        details=details or client_details(),
        referral=referral(referral_date=referral_date, **referral_overrides),
        consented=consented,
        consent_note=consent_note,
        today=TODAY,
    )


def contact_input(
    occurred_at: datetime | None = None,
    *,
    attendance: AttendanceCode = AttendanceCode.ATTENDED_ON_TIME,
    contact_type: ContactType = ContactType.TREATMENT,
    phq9_total: int | None = None,
    gad7_total: int | None = None,
    **overrides: Any,
) -> ContactInput:
    """A contact held a day before NOW, with PHQ-9 and GAD-7 when totals are given.

    Answers for any measure can be passed by its id (``phq9=[...]``, ``wsas=[...]``;
    None leaves it out). An attended contact without answers is marked "not
    collected" unless the caller passes a reason, so the defaults always pass.
    """
    answers: dict[str, Any] = {}
    if phq9_total is not None:
        answers["phq9"] = phq9(phq9_total)
    if gad7_total is not None:
        answers["gad7"] = gad7(gad7_total)
    for measure in all_measures():
        if measure.id in overrides:
            given = overrides.pop(measure.id)
            if given is None:
                answers.pop(measure.id, None)
            else:
                answers[measure.id] = given
    if "phq9_difficulty" in overrides:
        overrides["difficulty"] = {"phq9": overrides.pop("phq9_difficulty")}
    data = ContactInput(
        occurred_at=occurred_at or NOW - timedelta(days=1),
        contact_type=contact_type,
        mode=ContactMode.TELEPHONE,
        attendance=attendance,
        duration_minutes=30 if attendance.attended else None,
        answers=answers,
    )
    data = replace(data, **overrides)
    if attendance.attended and not data.answers and "not_collected_reason" not in overrides:
        data = replace(data, not_collected_reason=NotCollectedReason.NO_TIME)
    return data


def log(
    worker: User,
    episode: Episode,
    occurred_at: datetime | None = None,
    *,
    now: datetime = NOW,
    **kwargs: Any,
) -> Contact:
    """Log a contact with :func:`contact_input` defaults (flushed, not committed)."""
    return log_contact(worker, episode, contact_input(occurred_at, **kwargs), now=now)


def log_scores(
    worker: User,
    episode: Episode,
    pairs: Sequence[tuple[int, int]],
    *,
    start: datetime | None = None,
    contact_type: ContactType = ContactType.TREATMENT,
) -> list[Contact]:
    """Log one attended contact a day apart per (PHQ-9, GAD-7) pair, oldest first."""
    first = start or NOW - timedelta(days=len(pairs))
    return [
        log(
            worker,
            episode,
            first + timedelta(days=i),
            phq9_total=p,
            gad7_total=g,
            contact_type=contact_type,
        )
        for i, (p, g) in enumerate(pairs)
    ]


COUNTED = {
    "clients": Client,
    "episodes": Episode,
    "episode_summaries": EpisodeSummary,
    "consent_records": ConsentRecord,
    "contacts": Contact,
    "contact_scores": ContactScore,
    "reflective_notes": ReflectiveNote,
    "audit_events": AuditEvent,
}


def row_counts() -> dict[str, int]:
    """How many rows each clinical table and the audit trail hold, as the database sees it."""
    return {
        name: db.session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in COUNTED.items()
    }


def audit_actions(**filters: Any) -> list[str]:
    """The actions in the audit trail, oldest first, optionally filtered by column values."""
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    for column, value in filters.items():
        query = query.where(getattr(AuditEvent, column) == value)
    return list(db.session.scalars(query))
