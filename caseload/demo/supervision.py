"""Planning the demo's case-management supervision: weekly sessions with each worker over
the last weeks, supervisors checking their queue between sessions, and a few cases moved
from a team's heaviest caseload to its lightest. Pure; no database.

Which cases a session reaches and what each review sees depend on the flags the cases
have on that day, so those are drawn while the history is written (``draw_review``,
``case_minutes``), from a generator of their own: the plan of clients and contacts
(``caseload.demo.plan``) is the same with or without supervision.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from caseload.demo.draws import weighted
from caseload.demo.records import (
    PlannedCheck,
    PlannedEpisode,
    PlannedNote,
    PlannedReassignment,
    PlannedReview,
    PlannedSession,
    SupervisionPlan,
)
from caseload.demo.staff import TEAMS, WORKERS
from caseload.demo.tables import (
    CASE_MINUTES,
    CHECK_BETWEEN_SESSIONS,
    REASSIGNMENTS_PER_TEAM,
    REVIEW_DECISIONS,
    SESSION_MINUTES,
    SESSION_SKIPPED,
    SUPERVISION_ENDS_DAYS,
    SUPERVISION_WEEKS,
    TARGETS_CLIENTS,
)
from caseload.demo.text import demo_text
from caseload.domain.codes import Severity, SupervisionDecision
from caseload.domain.dates import LONDON
from caseload.domain.flags import Flag, FlagKind


def supervision_rng(seed: int) -> random.Random:
    """The generator of the supervision history, separate from the plan's."""
    return random.Random(f"supervision {seed}")


def team_of(worker: int) -> int:
    """The team (index into TEAMS) of a demo worker (index into WORKERS)."""
    return worker % len(TEAMS)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def plan_sessions(rng: random.Random, *, today: date) -> list[PlannedSession]:
    """Each worker's weekly session, on their own weekday, over the weeks before the last.

    A week is sometimes missed (leave, sickness). The history stops a week before today
    (``SUPERVISION_ENDS_DAYS``), so this week's supervision is the newcomer's to run.
    """
    monday = today - timedelta(days=today.weekday())
    last = today - timedelta(days=SUPERVISION_ENDS_DAYS)
    sessions: list[PlannedSession] = []
    for worker in range(len(WORKERS)):
        weekday = worker * 2 % 5  # spread each supervisor's workers over the week
        hour = rng.choice((9, 10, 11, 14, 15))
        for week in range(SUPERVISION_WEEKS, -1, -1):
            day = monday - timedelta(weeks=week) + timedelta(days=weekday)
            if day > last or rng.random() < SESSION_SKIPPED:
                continue
            minutes = rng.randint(*SESSION_MINUTES)
            sessions.append(PlannedSession(worker, _at(day, hour, rng.choice((0, 30))), minutes))
    return sorted(sessions, key=lambda s: (s.at, s.worker))


def plan_checks(rng: random.Random, *, today: date) -> list[PlannedCheck]:
    """Supervisors looking at their queue at the end of a day between sessions."""
    monday = today - timedelta(days=today.weekday())
    last = today - timedelta(days=SUPERVISION_ENDS_DAYS)
    checks = []
    for week in range(SUPERVISION_WEEKS, -1, -1):
        for team in range(len(TEAMS)):
            day = monday - timedelta(weeks=week) + timedelta(days=rng.randrange(5))
            if day <= last and rng.random() < CHECK_BETWEEN_SESSIONS:
                checks.append(PlannedCheck(team, _at(day, 17, 30)))
    return sorted(checks, key=lambda c: (c.at, c.team))


def plan_reassignments(
    rng: random.Random,
    episodes: list[PlannedEpisode],
    notes: Sequence[PlannedNote],
    *,
    today: date,
) -> list[PlannedReassignment]:
    """A few cases in treatment moved from each team's heaviest caseload to its lightest.

    Cases that were discharged later are preferred, so the caseloads at the end stay
    as planned; a case linked to a reflective note stays with its author.
    """
    count = max(1, round(REASSIGNMENTS_PER_TEAM * min(1.0, len(episodes) / TARGETS_CLIENTS)))
    linked = {n.episode for n in notes if n.episode is not None}
    reasons = demo_text().reassignment_reasons
    moves: list[PlannedReassignment] = []
    for team in range(len(TEAMS)):
        members = [w for w in range(len(WORKERS)) if team_of(w) == team]
        heaviest, lightest = members[0], members[-1]  # WORKERS run from most to least loaded
        taken: set[int] = set()
        for _ in range(count):
            day = today - timedelta(days=rng.randint(14, 7 * SUPERVISION_WEEKS))
            while day.weekday() >= 5:
                day -= timedelta(days=1)
            candidates = [
                i
                for i, e in enumerate(episodes)
                if e.worker == heaviest
                and i not in linked
                and i not in taken
                and e.active_on(day)
                and (e.discharge is None or e.discharge[0] > day)
            ]
            later_discharged = [i for i in candidates if episodes[i].discharge is not None]
            pool = later_discharged or candidates
            if not pool:
                continue
            index = rng.choice(pool)
            taken.add(index)
            moves.append(PlannedReassignment(index, lightest, _at(day, 12), rng.choice(reasons)))
    return sorted(moves, key=lambda m: (m.at, m.episode))


def plan_supervision(
    rng: random.Random,
    episodes: list[PlannedEpisode],
    notes: Sequence[PlannedNote],
    *,
    today: date,
) -> SupervisionPlan:
    """The supervision history to write over the demo's plan of episodes and notes."""
    return SupervisionPlan(
        sessions=tuple(plan_sessions(rng, today=today)),
        checks=tuple(plan_checks(rng, today=today)),
        reassignments=tuple(plan_reassignments(rng, episodes, notes, today=today)),
    )


def case_minutes(rng: random.Random, flags: Sequence[Flag]) -> float:
    """Minutes a session spends on a case, longer for a red flag."""
    severity = flags[0].severity if flags else Severity.INFO
    low, high = CASE_MINUTES[severity.value]
    return rng.uniform(low, high)


def draw_review(
    rng: random.Random, flags: Sequence[Flag], *, today: date, in_session: bool
) -> PlannedReview:
    """A review of a case whose most severe flags to discuss are ``flags`` (most severe first).

    The reason follows the first flag's kind and the decision is drawn for it; a review
    of a red case is due again within a week, others in two to four weeks or left open.
    """
    text = demo_text()
    kind = flags[0].kind if flags else FlagKind.REVIEW_OVERDUE
    decision = weighted(rng, REVIEW_DECISIONS[kind])
    reason = rng.choice(text.review_reasons[kind])
    note = ""
    if decision is SupervisionDecision.OTHER or rng.random() < 0.8:
        note = rng.choice(text.review_notes[decision])
    if not in_session:
        note = f"{text.between_sessions} {note}".strip()
    red = any(f.severity is Severity.RED for f in flags)
    next_review_on: date | None = today + timedelta(days=7)
    if not red:
        next_review_on = (
            None if rng.random() < 0.15 else today + timedelta(days=rng.choice((14, 28, 28)))
        )
    return PlannedReview(reason, decision, note, next_review_on)
