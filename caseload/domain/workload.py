"""A worker's load over time: who held which episode, and whether it was active, on a day.

The weekly active caseload on the supervisor's team-load page is rebuilt from history,
never from today's numbers projected back:

- an episode is *active* on day d when its first attended treatment contact was on or
  before d and it was not discharged on or before d (the summary's ``is_active`` rule,
  "open and in treatment", asked of a past day);
- it is *held* on day d by the worker its reassignments say: a move on day d counts for
  the new worker from d, and for the old one up to the day before. An episode never
  moved was held by its worker throughout.

Worker load counts every case, consented or not: it is data about the worker's
workload, not about the clients (docs/design.md section 10). Days are UK calendar days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

#: Weeks of history on the team-load chart (about six months).
WEEKS_SHOWN = 26


@dataclass(frozen=True, slots=True)
class EpisodeSpan:
    """What the weekly count needs of one episode."""

    episode_id: int
    #: The worker holding it now (or at discharge).
    worker_id: int
    #: The UK date of the first attended treatment contact; None while waiting.
    first_treatment_on: date | None
    discharged_on: date | None


@dataclass(frozen=True, slots=True)
class Handover:
    """One reassignment of an episode, on a UK date."""

    episode_id: int
    on: date
    from_worker_id: int
    to_worker_id: int


def active_on(span: EpisodeSpan, day: date) -> bool:
    """In treatment on that day: treatment had started and the episode was not yet
    discharged (a discharge on the day ends it that day)."""
    started = span.first_treatment_on is not None and span.first_treatment_on <= day
    return started and (span.discharged_on is None or span.discharged_on > day)


def holder_on(span: EpisodeSpan, handovers: Sequence[Handover], day: date) -> int:
    """The worker who held the episode on that day, from its handovers in the order they
    happened (a move on ``day`` counts for the worker it moved to)."""
    moves = sorted((h for h in handovers if h.episode_id == span.episode_id), key=lambda h: h.on)
    holder = moves[0].from_worker_id if moves else span.worker_id
    for move in moves:
        if move.on > day:
            break
        holder = move.to_worker_id
    return holder


def week_start(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def recent_weeks(today: date, count: int = WEEKS_SHOWN) -> list[date]:
    """The Mondays of the last ``count`` weeks, oldest first, the current week last."""
    if count < 1:
        raise ValueError("count must be at least 1")
    current = week_start(today)
    return [current - timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def week_end(monday: date, *, today: date) -> date:
    """The day a week's count is taken: its Sunday, or today for the current week."""
    if monday.weekday() != 0:
        raise ValueError(f"{monday} is not a Monday")
    if monday > today:
        raise ValueError(f"the week of {monday} has not started by {today}")
    return min(monday + timedelta(days=6), today)


def weekly_active_caseload(
    spans: Iterable[EpisodeSpan],
    handovers: Iterable[Handover],
    *,
    worker_ids: Collection[int],
    weeks: Sequence[date],
    today: date,
) -> dict[int, list[int]]:
    """For each worker, how many episodes were active and held by them at the end of each
    week (``week_end``); every worker asked about gets a row, zeros included."""
    ends = [week_end(monday, today=today) for monday in weeks]
    by_episode: dict[int, list[Handover]] = defaultdict(list)
    for handover in handovers:
        by_episode[handover.episode_id].append(handover)
    counts = {worker_id: [0] * len(ends) for worker_id in worker_ids}
    for span in spans:
        moves = by_episode.get(span.episode_id, [])
        for index, day in enumerate(ends):
            if not active_on(span, day):
                continue
            row = counts.get(holder_on(span, moves, day))
            if row is not None:
                row[index] += 1
    return counts
