"""Shared helpers for the web tests of the worker's pages: records made through the services,
form data, row counts, audit look-ups and small HTML checks."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    ReferralSource,
    RiskLevel,
)
from caseload.extensions import db
from caseload.models import (
    AuditEvent,
    Client,
    ConsentRecord,
    Contact,
    Episode,
    ReflectiveNote,
    User,
)
from caseload.services import clients as client_service
from caseload.services import contacts as contact_service
from caseload.web import london_now, today_in_london
from tests.conftest import csrf_token

#: The tables a failed form must leave untouched.
COUNTED = {
    "clients": Client,
    "episodes": Episode,
    "contacts": Contact,
    "consent_records": ConsentRecord,
    "reflective_notes": ReflectiveNote,
}

#: PHQ-9 answers totalling 8 with item 9 at 0, and GAD-7 answers totalling 7.
PHQ9_MILD = (1, 1, 1, 1, 1, 1, 1, 1, 0)
GAD7_MILD = (1, 1, 1, 1, 1, 1, 1)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def row_counts() -> dict[str, int]:
    """How many rows each clinical table holds, read afresh from the database."""
    db.session.commit()
    return {
        name: db.session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in COUNTED.items()
    }


def reload(record: Any) -> Any:
    """A record as the database now holds it (after requests in their own sessions)."""
    db.session.commit()
    db.session.refresh(record)
    return record


def make_case(
    worker: User,
    *,
    name: str = "Jamie Test",
    referral_days_ago: int = 20,
    consented: bool = False,
    presenting_problem: str = "Depression",
) -> Episode:
    """A committed client and episode assigned to the worker, made through the service."""
    today = today_in_london()
    episode = client_service.register_client(
        worker,
        details=client_service.ClientDetails(name=name, date_of_birth=date(1990, 4, 2)),
        referral=client_service.Referral(
            referral_date=today - timedelta(days=referral_days_ago),
            referral_source=ReferralSource.GP,
            referrer_expectation="Counselling",
            presenting_problem=presenting_problem,
        ),
        consented=consented,
        consent_note="Asked at registration",
        today=today,
    )
    db.session.commit()
    return episode


def add_contact(
    worker: User,
    episode: Episode,
    *,
    at: datetime | None = None,
    attendance: AttendanceCode = AttendanceCode.ATTENDED_ON_TIME,
    contact_type: ContactType = ContactType.TREATMENT,
    phq9: Sequence[int] | None = PHQ9_MILD,
    gad7: Sequence[int] | None = GAD7_MILD,
    risk_level: RiskLevel | None = None,
    risk_action: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Contact:
    """A committed contact made through the service (attended with mild scores by default)."""
    attended = attendance.attended
    contact = contact_service.log_contact(
        worker,
        episode,
        contact_service.ContactInput(
            occurred_at=at or utc_now() - timedelta(days=2),
            contact_type=contact_type,
            mode=ContactMode.TELEPHONE,
            attendance=attendance,
            note=note,
            answers={
                measure_id: list(answers)
                for measure_id, answers in (("phq9", phq9), ("gad7", gad7))
                if attended and answers
            },
            risk_level=risk_level,
            risk_action=risk_action,
        ),
        now=now,
    )
    db.session.commit()
    return contact


def book_past(worker: User, episode: Episode, *, hours_ago: int = 3) -> Contact:
    """A booking whose time has passed without an outcome (made while it was still ahead)."""
    at = utc_now() - timedelta(hours=hours_ago)
    return add_contact(
        worker, episode, at=at, attendance=AttendanceCode.BOOKED, now=at - timedelta(days=2)
    )


def token(client: FlaskClient) -> str:
    """A CSRF token for the signed-in client's session (from the header's sign-out form)."""
    return csrf_token(client, "/")


def contact_data(
    csrf: str,
    *,
    when: datetime | None = None,
    attendance: str = "5",
    phq9: Sequence[int | str] | None = PHQ9_MILD,
    gad7: Sequence[int | str] | None = GAD7_MILD,
    **overrides: str,
) -> dict[str, str]:
    """A valid contact form post: attended an hour ago, PHQ-9 8 and GAD-7 7, no risk."""
    moment = when or london_now() - timedelta(hours=1)
    data = {
        "csrf_token": csrf,
        "occurred_on": moment.date().isoformat(),
        "occurred_time": moment.strftime("%H:%M"),
        "contact_type": "treatment",
        "mode": "telephone",
        "attendance": attendance,
        "duration_minutes": "30",
        "intervention": "guided_self_help",
        "note": "Reviewed the activity diary.",
    }
    for number, answer in enumerate(phq9 or (), start=1):
        data[f"phq9-{number}"] = str(answer)
    for number, answer in enumerate(gad7 or (), start=1):
        data[f"gad7-{number}"] = str(answer)
    data.update(overrides)
    return data


def page(response: Any) -> str:
    """A response's HTML with entities decoded, for matching messages."""
    return html.unescape(response.get_data(as_text=True))


def error_messages(response: Any) -> list[str]:
    """The messages in the page's error summary."""
    text = response.get_data(as_text=True)
    match = re.search(r'nhsuk-error-summary__list">(.*?)</ul>', text, re.S)
    if not match:
        return []
    return [
        html.unescape(re.sub(r"<[^>]+>", "", item)).strip()
        for item in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    ]


def field_error(response: Any, field_id: str) -> str:
    """The error message shown beside one field, or ''."""
    text = response.get_data(as_text=True)
    match = re.search(
        rf'id="{re.escape(field_id)}-error"><span class="nhsuk-u-visually-hidden">Error:</span>'
        r"\s*(.*?)</span>",
        text,
        re.S,
    )
    return html.unescape(match.group(1)).strip() if match else ""


def checked_value(response: Any, name: str) -> str | None:
    """The value of the checked radio (or checkbox) of a group, or None."""
    for tag in re.findall(r"<input[^>]*>", response.get_data(as_text=True)):
        if f'name="{name}"' in tag and re.search(r"\schecked[\s>]", tag):
            value = re.search(r'value="([^"]*)"', tag)
            return html.unescape(value.group(1)) if value else ""
    return None


def input_value(response: Any, name: str) -> str | None:
    """The value of a text or date input, or None when absent."""
    for tag in re.findall(r"<input[^>]*>", response.get_data(as_text=True)):
        if f'name="{name}"' in tag:
            value = re.search(r'value="([^"]*)"', tag)
            return html.unescape(value.group(1)) if value else ""
    return None


def textarea_value(response: Any, name: str) -> str | None:
    """The content of a textarea, or None when absent."""
    match = re.search(
        rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>(.*?)</textarea>',
        response.get_data(as_text=True),
        re.S,
    )
    return html.unescape(match.group(1)).strip() if match else None


def flash_after(client: FlaskClient, response: Any) -> str:
    """Follow a redirect and return the page it leads to (with its flash banner)."""
    assert response.status_code == 302, page(response)[:2000]
    return page(client.get(response.headers["Location"]))


def audit_events(
    action: str, *, object_id: object = None, actor: User | None = None
) -> list[AuditEvent]:
    """Audit events of an action, optionally about one object and by one actor."""
    db.session.commit()
    query = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == str(object_id))
    if actor is not None:
        query = query.where(AuditEvent.actor_id == actor.id)
    return list(db.session.scalars(query))


def table_html(response: Any, table_id: str) -> str:
    """The HTML of one table on a page, by id ('' when absent)."""
    match = re.search(
        rf'<table[^>]*id="{re.escape(table_id)}".*?</table>', response.get_data(as_text=True), re.S
    )
    return html.unescape(match.group(0)) if match else ""


@contextmanager
def counting() -> Iterator[list[str]]:
    """Collect every SQL statement sent on the app's engine inside the block (query
    budgets). The test's own transaction is committed first, so it is not counted."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    db.session.commit()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
