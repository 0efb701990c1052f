"""What the supervision pages show, gathered in one place so the views stay thin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from flask import abort, url_for
from flask_login import current_user

from caseload.charts import figure_json
from caseload.domain.codes import ReflectiveTheme
from caseload.domain.flags import Flag, FlagKind
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.models import (
    Episode,
    SupervisionReview,
    SupervisionSession,
    SupervisionSessionCase,
)
from caseload.services import supervision as supervision_service
from caseload.services.workload import TeamLoad, WorkerLoad
from caseload.supervision.charts import weekly_caseload_chart, weekly_caseload_summary
from caseload.supervision.forms import ReviewForm, row_id

#: How many earlier reviews a case shows beside the review form.
RECENT_REVIEWS = 3

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Filters:
    """The filters a list page was asked for, and what was ignored (said on the page)."""

    worker_id: int | None = None
    kind: FlagKind | None = None
    theme: ReflectiveTheme | None = None
    notices: tuple[str, ...] = ()


def _read_worker(args: Mapping[str, str], notices: list[str]) -> int | None:
    text = args.get("worker", "").strip()
    if not text:
        return None
    worker_id = row_id(text)
    if worker_id is None:
        notices.append("The practitioner filter was not recognised, so it is not applied.")
    return worker_id


def _read_choice(
    args: Mapping[str, str], name: str, enum_cls: type[E], what: str, notices: list[str]
) -> E | None:
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        return enum_cls(text)
    except ValueError:
        notices.append(f"The {what} filter was not recognised, so it is not applied.")
        return None


def queue_filters(args: Mapping[str, str]) -> Filters:
    """The queue's filters (?worker=<id>&kind=<flag kind>); values that are not an id or a
    flag kind are ignored with a notice. Whether the worker is the asker's is the service's
    question (a worker outside the team is 404)."""
    notices: list[str] = []
    worker_id = _read_worker(args, notices)
    kind = _read_choice(args, "kind", FlagKind, "flag", notices)
    return Filters(worker_id=worker_id, kind=kind, notices=tuple(notices))


def notes_filters(args: Mapping[str, str]) -> Filters:
    """The shared notes' filters (?worker=<id>&theme=<theme>), read as the queue's are."""
    notices: list[str] = []
    worker_id = _read_worker(args, notices)
    theme = _read_choice(args, "theme", ReflectiveTheme, "theme", notices)
    return Filters(worker_id=worker_id, theme=theme, notices=tuple(notices))


def score_context() -> dict[str, Any]:
    """The outcome measures' definitions, for showing scores with their bands."""
    return {"phq9": get_measure(PHQ9), "gad7": get_measure(GAD7)}


def show_flags(form: ReviewForm, flags: Sequence[Flag]) -> None:
    """Put the keys of the flags on the page into the form: the review clears those."""
    form.flags_seen.data = [flag.key for flag in flags]


def review_context(
    episode: Episode, *, to_discuss: Sequence[Flag], seen: Sequence[Flag]
) -> dict[str, Any]:
    """One case as a review shows it: its flags, its latest scores and recent reviews."""
    reviews = supervision_service.reviews_for(current_user, episode)
    return {
        "episode": episode,
        "client": episode.client,
        "summary": episode.summary,
        "to_discuss": list(to_discuss),
        "seen": list(seen),
        "reviews": reviews[:RECENT_REVIEWS],
        "more_reviews": max(0, len(reviews) - RECENT_REVIEWS),
        **score_context(),
    }


def case_at(session: SupervisionSession, position: int) -> SupervisionSessionCase:
    """The case at a place in a session's list; no such place is a missing page."""
    for case in session.cases:
        if case.position == position:
            return case
    abort(404)


def after_review(session_id: int | None, episode_id: int) -> str:
    """Where a saved review goes: back to its session's case, else to the queue."""
    if session_id is None:
        return url_for("supervision.queue")
    session = supervision_service.get_session(current_user, session_id)
    for case in session.cases:
        if case.episode_id == episode_id:
            return url_for(
                "supervision.session_case", session_id=session.id, position=case.position
            )
    return url_for("supervision.session", session_id=session.id)


def decisions_by_episode(
    reviews: Sequence[SupervisionReview],
) -> dict[int, list[SupervisionReview]]:
    """A session's reviews grouped by case, in the order they were made."""
    grouped: dict[int, list[SupervisionReview]] = {}
    for review in sorted(reviews, key=lambda r: (r.created_at, r.id)):
        grouped.setdefault(review.episode_id, []).append(review)
    return grouped


@dataclass(frozen=True)
class WorkerChart:
    """One worker's small chart on the team-load page, with its words and numbers."""

    load: WorkerLoad
    figure: str
    summary: str


def team_charts(team: TeamLoad) -> list[WorkerChart]:
    """A chart of each worker's active caseload by week, with the cap drawn."""
    return [
        WorkerChart(
            load=row,
            figure=figure_json(weekly_caseload_chart(team.weeks, row.weekly, cap=team.cap)),
            summary=weekly_caseload_summary(
                row.worker.display_name, team.weeks, row.weekly, cap=team.cap
            ),
        )
        for row in team.rows
    ]
