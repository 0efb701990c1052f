"""Reading the audit trail, for an administrator: "who saw this client's record?" and
"what did this user see?" (docs/security.md, "Audit trail").

The trail is the one place outside the clinical pages that names clients, and it
names them only by service reference. An event's detail is shown only for the
entries listed in ``SHOWN_DETAIL`` (codes, counts, staff names); anything else, such
as the terms of a search or the reason typed for a correction, could name a client
or say something clinical and is withheld. Reading the trail is itself audited
(``audit.view``, ``audit.export``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, or_, select, union_all

from caseload.domain.dates import LONDON, london_to_utc
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Client, User
from caseload.policy import ADMIN
from caseload.services import NotVisible, ServiceError
from caseload.services.audit import record_event, record_event_now
from caseload.services.auth import normalise_username

#: Events on one page of the viewer.
PAGE_SIZE = 50

#: Rows the export reads from the database at a time.
EXPORT_BATCH = 500

#: What an action filter may be: a dotted action (``episode.view``) or its start (``episode``).
ACTION_PATTERN = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")

#: Dates outside these bounds are no bound at all: no event is older or newer.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9000, 1, 1)

#: The detail entries the viewer and the export show, by action: ``"*"`` for every
#: action, ``"family."`` for every action of a family (``user.``). Each holds codes,
#: counts, record ids or staff names, never free text about a client. Any other entry
#: is shown as withheld: add a key here only when it can never hold such text.
SHOWN_DETAIL: Mapping[str, frozenset[str]] = {
    "*": frozenset(
        {
            "bookings",
            "cases",
            "consent",
            "consented",
            "decision",
            "discussed",
            "endpoint",
            "episodes",
            "first_sign_in",
            "flags_cleared",
            "for",
            "from_worker_id",
            "matches",
            "more",
            "not_duplicate_of",
            "notes",
            "open_cases",
            "open_risk",
            "page",
            "path",
            "policy",
            "re_referral",
            "reassignment_id",
            "relationship",
            "results",
            "review_id",
            "rows",
            "seconds",
            "session_id",
            "tab",
            "to_worker_id",
            "worker_id",
            "workers",
        }
    ),
    "login.failure": frozenset({"reason"}),
    "episode.discharge": frozenset({"reason"}),
    "user.": frozenset(
        {"display_name", "new", "old", "role", "team", "teams_left_unsupervised", "username"}
    ),
    "team.": frozenset({"name", "new", "old", "supervisor", "worker"}),
    "settings.": frozenset({"changes"}),
    "audit.": frozenset({"action", "client", "events", "from", "to", "user"}),
}

#: How a withheld detail entry reads.
WITHHELD = "withheld"

#: The export's columns.
CSV_HEADER = (
    "Event",
    "Time (UK)",
    "Time (UTC)",
    "User",
    "Action",
    "Record type",
    "Record",
    "Clients (service references)",
    "Address",
    "Request",
    "Detail",
)

#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection):
#: such a cell is written with a leading apostrophe. A username typed at a failed
#: sign-in is anyone's text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class TrailFilters:
    """What the administrator asked for; empty text and None mean "any"."""

    username: str = ""
    service_ref: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class TrailEvent:
    """One event as the viewer shows it: clients by service reference, detail screened."""

    id: int
    at: datetime
    username: str | None
    action: str
    object_type: str | None
    object_id: str | None
    #: Service references of every client the event concerns, in order.
    client_refs: tuple[str, ...]
    ip: str | None
    request_id: str | None
    #: (entry, value) pairs of the detail, free text withheld (``SHOWN_DETAIL``).
    details: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TrailPage:
    """One page of events, newest first, and where the neighbouring pages start."""

    events: list[TrailEvent]
    filters: TrailFilters
    #: ``after`` for the page of newer events, None when these are the newest.
    newer: int | None
    #: ``before`` for the page of older events, None when these are the oldest.
    older: int | None


@dataclass(frozen=True)
class _Query:
    """The filters as SQL conditions, the client asked about, and the filters as the
    audit event records them."""

    conditions: tuple[ColumnElement[bool], ...]
    client_id: int | None
    detail: dict[str, str]


def find_events(
    asker: User,
    filters: TrailFilters,
    *,
    before: int | None = None,
    after: int | None = None,
    page_size: int = PAGE_SIZE,
) -> TrailPage:
    """A page of the events matching the filters, newest first; audited as ``audit.view``.

    ``before`` gives the page of events older than that event id, ``after`` the page
    of events newer. Events whose clients include the filtered client are found
    whether they opened the record or listed it. Three queries at most, however many
    events and clients the page holds. A filter that cannot be met raises
    ``ServiceError`` with the field's message.
    """
    _require_admin(asker)
    query = _query(filters)
    page = select(AuditEvent).where(*query.conditions)
    if after is not None:
        page = page.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(page_size + 1)
        found = list(db.session.scalars(page))
        more = len(found) > page_size
        found = found[:page_size][::-1]
        newer = found[0].id if more and found else None
        older = found[-1].id if found else None
    else:
        if before is not None:
            page = page.where(AuditEvent.id < before)
        page = page.order_by(AuditEvent.id.desc()).limit(page_size + 1)
        found = list(db.session.scalars(page))
        more = len(found) > page_size
        found = found[:page_size]
        newer = found[0].id if before is not None and found else None
        older = found[-1].id if more else None
    refs = _first_client_refs([e.id for e in found], SHOWN_CLIENT_REFS + 1)
    events = [_trail_event(e, refs.get(e.id, ())) for e in found]
    record_event(
        "audit.view",
        actor=asker,
        object_type="audit_trail",
        client_id=query.client_id,
        detail={**query.detail, "events": len(events)},
    )
    return TrailPage(events=events, filters=filters, newer=newer, older=older)


def export_events(asker: User, filters: TrailFilters) -> Iterator[TrailEvent]:
    """Every event matching the filters, newest first, read in batches as it is
    consumed (an export of any size in constant memory); audited as ``audit.export``.

    The checks and the audit event happen at the call; the rows when iterated.
    """
    _require_admin(asker)
    query = _query(filters)
    record_event(
        "audit.export",
        actor=asker,
        object_type="audit_trail",
        client_id=query.client_id,
        detail=query.detail,
    )
    return _stream(query)


def _stream(query: _Query) -> Iterator[TrailEvent]:
    """The matching events with their clients' references: one streamed query."""
    rows = db.session.execute(
        select(
            AuditEvent,
            AuditEventClient.client_id.label("listed_client_id"),
            Client.service_ref,
        )
        .outerjoin(AuditEventClient, AuditEventClient.audit_event_id == AuditEvent.id)
        .outerjoin(Client, Client.id == AuditEventClient.client_id)
        .where(*query.conditions)
        .order_by(AuditEvent.id.desc(), AuditEventClient.client_id)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    for _event_id, group in groupby(rows, key=lambda row: row[0].id):
        listed = list(group)
        refs = tuple(
            _ref(row.listed_client_id, row.service_ref)
            for row in listed
            if row.listed_client_id is not None
        )
        yield _trail_event(listed[0][0], refs)


def _require_admin(asker: User) -> None:
    """Only an administrator reads the trail (the route's policy says so too)."""
    if not ADMIN.allows(asker):
        record_event_now("access.denied", actor=asker, object_type="audit_trail")
        raise NotVisible("audit trail")


def _query(filters: TrailFilters) -> _Query:
    """The filters as conditions on ``audit_events``, refusing those that cannot be met."""
    problems: dict[str, str] = {}
    conditions: list[ColumnElement[bool]] = []
    client_id = None
    username = normalise_username(filters.username)
    if len(username) > 64:
        problems["user"] = "A username has at most 64 characters."
    elif username:
        conditions.append(
            or_(
                AuditEvent.actor_username == username,
                AuditEvent.actor_id.in_(select(User.id).where(User.username == username)),
            )
        )
    action = filters.action.strip().lower()
    if action and (len(action) > 64 or not ACTION_PATTERN.fullmatch(action)):
        problems["action"] = (
            "Enter an action such as episode.view, or the start of one such as episode."
        )
    elif action:
        conditions.append(
            or_(
                AuditEvent.action == action,
                AuditEvent.action.startswith(action + ".", autoescape=True),
            )
        )
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        problems["date_to"] = "The end of the period must be the same as or after its start."
    else:
        if filters.date_from and filters.date_from > EARLIEST_DAY:
            conditions.append(AuditEvent.at >= london_to_utc(filters.date_from, time.min))
        if filters.date_to and filters.date_to < LATEST_DAY:
            day_after = filters.date_to + timedelta(days=1)
            conditions.append(AuditEvent.at < london_to_utc(day_after, time.min))
    ref = filters.service_ref.strip().upper()
    if ref and not problems:
        client_id = db.session.scalar(select(Client.id).where(Client.service_ref == ref[:64]))
        if client_id is None:
            problems["client"] = f"No client has the service reference {ref[:64]}."
        else:
            listed = select(AuditEventClient.audit_event_id).where(
                AuditEventClient.client_id == client_id
            )
            conditions.append(AuditEvent.id.in_(listed))
    if problems:
        raise ServiceError("Check the filters.", field_errors=problems)
    given = {
        "user": username,
        "client": ref,
        "action": action,
        "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "",
    }
    detail = {key: value for key, value in given.items() if value}
    return _Query(conditions=tuple(conditions), client_id=client_id, detail=detail)


#: How many clients of an event the audit page names; the rest are "and more" there and
#: every one is in the CSV download. A list page's event names every client it showed,
#: and an export's every client it held: thousands, on a large service.
SHOWN_CLIENT_REFS = 5


def _first_client_refs(event_ids: Sequence[int], limit: int) -> dict[int, tuple[str, ...]]:
    """The service references of the first ``limit`` clients of each event (by client
    id), in one statement: one index range per event, however many clients an event
    names."""
    if not event_ids:
        return {}
    firsts = [
        select(AuditEventClient.audit_event_id, AuditEventClient.client_id)
        .where(AuditEventClient.audit_event_id == event_id)
        .order_by(AuditEventClient.client_id)
        .limit(limit)
        .subquery()
        .select()
        for event_id in event_ids
    ]
    listed = union_all(*firsts).subquery()
    rows = db.session.execute(
        select(listed.c.audit_event_id, listed.c.client_id, Client.service_ref)
        .outerjoin(Client, Client.id == listed.c.client_id)
        .order_by(listed.c.audit_event_id, listed.c.client_id)
    )
    return {
        event_id: tuple(_ref(row.client_id, row.service_ref) for row in group)
        for event_id, group in groupby(rows, key=lambda row: row.audit_event_id)
    }


def _ref(client_id: int, service_ref: str | None) -> str:
    """A client by service reference (a client row that is gone, by its number)."""
    return service_ref or f"unknown client {client_id}"


def _trail_event(audit_event: AuditEvent, refs: tuple[str, ...]) -> TrailEvent:
    return TrailEvent(
        id=audit_event.id,
        at=audit_event.at,
        username=audit_event.actor_username,
        action=audit_event.action,
        object_type=audit_event.object_type,
        object_id=audit_event.object_id,
        client_refs=refs,
        ip=audit_event.ip,
        request_id=audit_event.request_id,
        details=shown_details(audit_event.action, audit_event.detail),
    )


def shown_details(action: str, detail: Any) -> tuple[tuple[str, str], ...]:
    """An event's detail as (entry, value) pairs, anything not in ``SHOWN_DETAIL``
    withheld."""
    if not isinstance(detail, Mapping):
        return () if detail is None else (("detail", WITHHELD),)
    family = action.split(".", 1)[0] + "."
    allowed = SHOWN_DETAIL["*"] | SHOWN_DETAIL.get(action, frozenset())
    allowed |= SHOWN_DETAIL.get(family, frozenset())
    return tuple(
        (str(key), _plain(value) if key in allowed else WITHHELD)
        for key, value in sorted(detail.items(), key=lambda item: str(item[0]))
    )


def _plain(value: Any) -> str:
    """A detail value in plain words: yes/no, lists and mappings spelled out."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {_plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    return str(value)[:200]


def csv_lines(events: Iterator[TrailEvent], *, batch: int = 100) -> Iterator[str]:
    """The export as CSV text, a few rows at a time, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for count, audit_event in enumerate(events, start=1):
        writer.writerow([_cell(value) for value in _csv_row(audit_event)])
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_row(audit_event: TrailEvent) -> tuple[object, ...]:
    return (
        audit_event.id,
        audit_event.at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S"),
        audit_event.at.isoformat(timespec="seconds"),
        audit_event.username or "",
        audit_event.action,
        audit_event.object_type or "",
        audit_event.object_id or "",
        "; ".join(audit_event.client_refs),
        audit_event.ip or "",
        audit_event.request_id or "",
        "; ".join(f"{key}: {value}" for key, value in audit_event.details),
    )


def _cell(value: object) -> str:
    """One CSV cell, defused if a spreadsheet would read it as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
