"""The demo's history in time order: every registration, contact, consent change and
discharge of the plan, with the supervision sessions, checks and reassignments between
them. Pure; no database.

The history is written in this order (``caseload.demo.history``) so that on the day of a
session the services see exactly the contacts, discharges and reviews made by then: the
flags a review sees and clears are the flags the case had that day, and a later contact
raises them again with new evidence, as it would in a real service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import IntEnum

from caseload.demo.records import PlannedEpisode, SupervisionPlan
from caseload.domain.dates import LONDON

#: A referral is registered at the start of its day, a discharge at the end of its day,
#: around the contacts (which are all in working hours).
REGISTERED_AT = time(8)
DISCHARGED_AT = time(18)


class Step(IntEnum):
    """What happens at a moment; at the same moment, the lower step goes first."""

    REGISTER = 0
    CONTACT = 1
    CONSENT = 2
    DISCHARGE = 3
    REASSIGN = 4
    SESSION = 5
    CHECK = 6


@dataclass(frozen=True, order=True)
class Event:
    """One step of the history: ``index`` is an episode (registration, contact, consent,
    discharge) or an entry of the supervision plan; ``item`` a contact of the episode."""

    at: datetime
    step: Step
    index: int
    item: int = 0


def _moment(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


def consent_changed_at(plan: PlannedEpisode, *, now: datetime) -> datetime:
    """When the client changed their answer: at their third attended contact (or the last
    one before it), else when they were first seen."""
    held = [c for c in plan.contacts if c.attendance.attended]
    if held:
        return held[min(2, len(held) - 1)].at
    return min(first_seen(plan), now)


def first_seen(plan: PlannedEpisode) -> datetime:
    """The first contact, or the start of the referral day when there is none."""
    if plan.contacts:
        return plan.contacts[0].at
    return _moment(plan.referral.referral_date, time(9))


def demo_timeline(
    episodes: list[PlannedEpisode], supervision: SupervisionPlan, *, now: datetime
) -> list[Event]:
    """Every step of the demo's history, oldest first."""
    events: list[Event] = []
    for index, plan in enumerate(episodes):
        events.append(
            Event(_moment(plan.referral.referral_date, REGISTERED_AT), Step.REGISTER, index)
        )
        events.extend(
            Event(contact.at, Step.CONTACT, index, item)
            for item, contact in enumerate(plan.contacts)
        )
        if plan.consent_change is not None:
            events.append(Event(consent_changed_at(plan, now=now), Step.CONSENT, index))
        if plan.discharge is not None:
            events.append(Event(_moment(plan.discharge[0], DISCHARGED_AT), Step.DISCHARGE, index))
    events.extend(
        Event(move.at, Step.REASSIGN, number)
        for number, move in enumerate(supervision.reassignments)
    )
    events.extend(
        Event(session.at, Step.SESSION, number)
        for number, session in enumerate(supervision.sessions)
    )
    events.extend(
        Event(check.at, Step.CHECK, number) for number, check in enumerate(supervision.checks)
    )
    return sorted(events)
