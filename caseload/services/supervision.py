"""Case-management supervision: the exception queue, reviews on record, sessions,
reassignment and the notes workers share (docs/supervisor-guide.md).

Only a supervisor uses these, and only for the workers in their teams: every query
takes the asker and the clauses of ``caseload.policy``. A record the asker may not
see raises NotVisible after an audited denial.

A review stores the keys of the flags it saw (``Flag.key``: the kind and the evidence).
The queue shows a case while it has a standing flag whose key no review has seen, so
new evidence (a new item-9 answer, another missed appointment) brings it back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from caseload.db import utcnow
from caseload.domain.codes import (
    ComplexityFactor,
    ReflectiveTheme,
    Role,
    Severity,
    SupervisionDecision,
)
from caseload.domain.curves import ExpectedCurves
from caseload.domain.dates import local_date
from caseload.domain.episodes import EpisodeSummaryFacts, MeasureSeries
from caseload.domain.flags import EpisodeFacts, Flag, FlagKind, episode_flags
from caseload.extensions import db
from caseload.models import (
    Client,
    Episode,
    EpisodeComplexityFactor,
    EpisodeMeasureSummary,
    EpisodeReassignment,
    EpisodeSummary,
    NoteTheme,
    ReflectiveNote,
    SupervisionReview,
    SupervisionReviewFlag,
    SupervisionSession,
    SupervisionSessionCase,
    User,
)
from caseload.policy import own_sessions, supervised_worker_ids, visible_episodes, visible_notes
from caseload.services import NotVisible, ServiceError
from caseload.services.audit import record_event, record_event_now
from caseload.services.curves import CurveStatus, current_curves, curves_with_status
from caseload.services.episodes import (
    SUMMARY_FIELDS,
    check_version,
    flag_settings,
    flags_for,
    measure_series,
)

__all__ = [
    "CurveStatus",
    "Queue",
    "QueueRow",
    "SessionSummary",
    "SharedNotes",
    "case_flags",
    "end_session",
    "exception_queue",
    "get_session",
    "move_in_session",
    "reassign",
    "reassign_targets",
    "record_review",
    "reviews_for",
    "session_summary",
    "shared_notes",
    "start_session",
]

#: Longest reason for a review or a reassignment, and longest review note (the forms
#: say the same).
MAX_REASON = 2000
MAX_REVIEW_NOTE = 5000
#: Rows on one page of the exception queue.
QUEUE_PAGE_SIZE = 50
#: The next review is booked at most this far ahead.
MAX_NEXT_REVIEW = timedelta(days=365)
#: Most shared notes shown at once.
SHARED_NOTES_SHOWN = 200
#: The flag kinds a case can carry (the others are about a worker's load).
EPISODE_FLAG_KINDS = tuple(
    k for k in FlagKind if k not in {FlagKind.OVER_CAPACITY, FlagKind.RISK_SHARE}
)


# Access ----------------------------------------------------------------------------------


def _require_supervisor(asker: User, *, object_type: str, object_id: object) -> None:
    """Supervision content is for supervisors only; anyone else gets an audited denial."""
    if asker.role is not Role.SUPERVISOR:
        record_event_now("access.denied", actor=asker, object_type=object_type, object_id=object_id)
        raise NotVisible(object_id)


def _team_workers(asker: User) -> list[User]:
    """The asker's workers by display name: active workers in their teams, and any
    disabled one still holding an open case (the cases need supervising until moved)."""
    holding = select(Episode.worker_id).where(
        visible_episodes(asker), Episode.discharged_on.is_(None)
    )
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.id.in_(supervised_worker_ids(asker)),
                User.role == Role.WORKER,
                or_(User.active.is_(True), User.id.in_(holding)),
            )
            .order_by(User.display_name, User.id)
        )
    )


def _one_worker(asker: User, worker_id: int) -> User:
    """One of the asker's workers, or an audited denial."""
    worker = db.session.scalar(
        select(User).where(
            User.id == worker_id,
            User.id.in_(supervised_worker_ids(asker)),
            User.role == Role.WORKER,
        )
    )
    if worker is None:
        record_event_now("access.denied", actor=asker, object_type="user", object_id=worker_id)
        raise NotVisible(worker_id)
    return worker


# The exception queue ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """One open case in the exception queue, with the flags still to discuss."""

    #: Client, worker and summary loaded (the measures and complexity factors are not:
    #: the flags and the scores shown were read from their columns).
    episode: Episode
    #: Flags whose key no review has seen yet, most severe first.
    flags: tuple[Flag, ...]
    #: Standing flags whose key a review already saw.
    seen: tuple[Flag, ...]
    #: Days since ``summary.last_review_on``, else since the referral date.
    days_since_review: int
    #: The last attended contact, as a UK date.
    last_contact_on: date | None
    #: The latest score of each measure scored at least once, by measure id.
    latest_scores: Mapping[str, int | None] = field(default_factory=dict)

    @property
    def severity(self) -> Severity:
        """The worst severity among the flags to discuss."""
        return _worst(self.flags)

    def has_kind(self, kind: FlagKind) -> bool:
        """Whether a flag of this kind is among those to discuss."""
        return any(f.kind is kind for f in self.flags)

    def latest(self, measure_id: str) -> int | None:
        """The measure's most recent score, for display."""
        return self.latest_scores.get(measure_id)


@dataclass(frozen=True)
class Queue:
    """A supervisor's exception queue, after the filters, with counts per filter."""

    #: The page shown, after both filters: red, then amber, then info; then most days
    #: since review; then episode id.
    rows: list[QueueRow]
    #: Rows after both filters, on every page.
    matching: int
    #: The page shown (from 1) and the number of pages (at least 1).
    page: int
    pages: int
    #: Rows before the filters.
    total: int
    #: The supervisor's workers, by display name.
    workers: list[User]
    #: Rows per worker id, under the kind filter only.
    worker_counts: dict[int, int]
    #: Rows with that kind among the flags to discuss, under the worker filter only
    #: (every kind a case can carry, zeros included, in FlagKind order).
    kind_counts: dict[FlagKind, int]
    worker_id: int | None
    kind: FlagKind | None
    curves: CurveStatus

    @property
    def first(self) -> int:
        """The position of the first row shown (0 when none)."""
        return (self.page - 1) * QUEUE_PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """The position of the last row shown (0 when none)."""
        return self.first + len(self.rows) - 1 if self.rows else 0


def _worst(flags: Sequence[Flag]) -> Severity:
    return min((f.severity for f in flags), key=lambda s: s.rank, default=Severity.INFO)


@dataclass(frozen=True)
class _Candidate:
    """An open case with a flag to discuss, as plain values: what the queue sorts,
    filters and counts before any episode is loaded as a record."""

    episode_id: int
    client_id: int
    worker_id: int
    flags: tuple[Flag, ...]
    seen: tuple[Flag, ...]
    days_since_review: int
    last_contact_on: date | None
    latest_scores: dict[str, int | None]
    kinds: frozenset[FlagKind]

    def has_kind(self, kind: FlagKind) -> bool:
        return kind in self.kinds

    def order(self) -> tuple[int, int, int]:
        return (_worst(self.flags).rank, -self.days_since_review, self.episode_id)


#: The summary columns the flags read, besides the measures.
_FACT_COLUMNS = tuple(getattr(EpisodeSummary, name) for name in SUMMARY_FIELDS)
_MEASURE_COLUMNS = (
    EpisodeMeasureSummary.measure_id,
    EpisodeMeasureSummary.first_score,
    EpisodeMeasureSummary.last_score,
    EpisodeMeasureSummary.latest_score,
    EpisodeMeasureSummary.first_contact_id,
    EpisodeMeasureSummary.last_contact_id,
    EpisodeMeasureSummary.first_at,
    EpisodeMeasureSummary.latest_at,
    EpisodeMeasureSummary.totals,
)


def _factor_present(factor: ComplexityFactor) -> ColumnElement[bool]:
    """Whether the episode of the row has this complexity factor (an index lookup)."""
    return (
        select(EpisodeComplexityFactor.episode_id)
        .where(
            EpisodeComplexityFactor.episode_id == Episode.id,
            EpisodeComplexityFactor.factor == factor,
        )
        .exists()
        .label(f"factor_{factor.value}")
    )


def _open_case_facts(
    asker: User, *conditions: ColumnElement[bool], today: date
) -> list[tuple[int, int, int, EpisodeFacts]]:
    """(episode id, client id, worker id, what the flags look at) for the asker's open
    cases matching the conditions, in two queries and without loading records: the
    episodes with their summary columns and complexity factors, and their measures."""
    rows = db.session.execute(
        select(
            Episode.id,
            Episode.client_id,
            Episode.worker_id,
            Episode.step,
            Episode.referral_date,
            EpisodeSummary.last_review_on,
            *_FACT_COLUMNS,
            *(_factor_present(factor) for factor in ComplexityFactor),
        )
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(visible_episodes(asker), *conditions)
    ).all()
    series: dict[int, list[MeasureSeries]] = {}
    for m in db.session.execute(
        select(EpisodeMeasureSummary.episode_id, *_MEASURE_COLUMNS)
        .join(Episode, Episode.id == EpisodeMeasureSummary.episode_id)
        .where(visible_episodes(asker), *conditions)
        .order_by(EpisodeMeasureSummary.episode_id, EpisodeMeasureSummary.measure_id)
    ):
        series.setdefault(m.episode_id, []).append(measure_series(m))
    cases = []
    ends = len(SUMMARY_FIELDS) + 6
    for row in rows:
        # By position: the episode's six columns, the summary's, then the factors'.
        values = tuple(row)
        summary = EpisodeSummaryFacts(
            measures=tuple(series.get(row.id, ())),
            **dict(zip(SUMMARY_FIELDS, values[6:ends], strict=True)),
        )
        facts = EpisodeFacts(
            summary=summary,
            step=row.step,
            complexity_factors=frozenset(
                factor
                for factor, present in zip(ComplexityFactor, values[ends:], strict=True)
                if present
            ),
            is_open=True,
            today=today,
            last_review_on=row.last_review_on,
            referral_date=row.referral_date,
        )
        cases.append((row.id, row.client_id, row.worker_id, facts))
    return cases


def _seen_keys(asker: User, *conditions: ColumnElement[bool]) -> dict[int, set[str]]:
    """The flag keys every review has seen, by episode, for the visible episodes matching
    the conditions (one query)."""
    rows = db.session.execute(
        select(SupervisionReview.episode_id, SupervisionReviewFlag.flag_key)
        .join(SupervisionReviewFlag, SupervisionReviewFlag.review_id == SupervisionReview.id)
        .join(Episode, Episode.id == SupervisionReview.episode_id)
        .where(visible_episodes(asker), *conditions)
        .distinct()
    ).all()
    seen: dict[int, set[str]] = {}
    for episode_id, key in rows:
        seen.setdefault(episode_id, set()).add(key)
    return seen


def _split(
    flags: Sequence[Flag], seen: Collection[str]
) -> tuple[tuple[Flag, ...], tuple[Flag, ...]]:
    """(to discuss, already seen), each in the order given (most severe first)."""
    return (
        tuple(f for f in flags if f.key not in seen),
        tuple(f for f in flags if f.key in seen),
    )


def _candidates(
    asker: User,
    *,
    today: date,
    curves: tuple[ExpectedCurves, ...],
    worker_id: int | None = None,
) -> list[_Candidate]:
    """Every open case of the asker's workers (or one worker) with a flag to discuss,
    in queue order, as plain values (three queries)."""
    conditions: list[ColumnElement[bool]] = [Episode.discharged_on.is_(None)]
    if worker_id is not None:
        conditions.append(Episode.worker_id == worker_id)
    cases = _open_case_facts(asker, *conditions, today=today)
    seen = _seen_keys(asker, *conditions)
    settings = flag_settings()
    found = []
    for episode_id, client_id, case_worker_id, facts in cases:
        standing = episode_flags(facts, settings=settings, curves=curves or None)
        to_discuss, already = _split(standing, seen.get(episode_id, set()))
        if not to_discuss:
            continue
        since = facts.last_review_on or facts.referral_date
        last = facts.summary.last_attended_at
        found.append(
            _Candidate(
                episode_id=episode_id,
                client_id=client_id,
                worker_id=case_worker_id,
                flags=to_discuss,
                seen=already,
                days_since_review=max((today - since).days, 0),
                last_contact_on=None if last is None else local_date(last),
                latest_scores={m.measure_id: m.latest for m in facts.summary.measures},
                kinds=frozenset(f.kind for f in to_discuss),
            )
        )
    found.sort(key=_Candidate.order)
    return found


def _queue_rows(asker: User, shown: Sequence[_Candidate]) -> list[QueueRow]:
    """The rows shown, with their episodes loaded with the client, the worker and the
    summary (one query; nothing when no row is shown)."""
    if not shown:
        return []
    episodes = {
        e.id: e
        for e in db.session.scalars(
            select(Episode)
            .join(Client, Client.id == Episode.client_id)
            .options(
                contains_eager(Episode.client),
                joinedload(Episode.worker),
                joinedload(Episode.summary),
            )
            .where(visible_episodes(asker), Episode.id.in_([c.episode_id for c in shown]))
        ).unique()
    }
    return [
        QueueRow(
            episode=episodes[c.episode_id],
            flags=c.flags,
            seen=c.seen,
            days_since_review=c.days_since_review,
            last_contact_on=c.last_contact_on,
            latest_scores=c.latest_scores,
        )
        for c in shown
        if c.episode_id in episodes
    ]


def _page_of(count: int, page: int) -> tuple[int, int]:
    """(the page to show, the number of pages): a page before the first shows the first,
    one past the end the last."""
    pages = max(1, -(-count // QUEUE_PAGE_SIZE))
    return min(max(page, 1), pages), pages


def exception_queue(
    asker: User,
    *,
    today: date,
    worker_id: int | None = None,
    kind: FlagKind | None = None,
    page: int = 1,
) -> Queue:
    """One page of the open cases of the asker's workers with a flag still to discuss
    (audited: the event lists the clients of the rows shown).

    A fixed number of queries, whatever the number of cases: the workers, the cached
    curves, the open cases' summary and measure columns, their complexity factors, the
    keys the reviews saw and the records of the page's rows. The counts are over the
    whole queue; a page out of range shows the first or the last. A ``worker_id`` not
    among the asker's workers is an audited denial.
    """
    _require_supervisor(asker, object_type="user", object_id=worker_id or asker.id)
    workers = _team_workers(asker)
    if worker_id is not None and worker_id not in {w.id for w in workers}:
        record_event_now("access.denied", actor=asker, object_type="user", object_id=worker_id)
        raise NotVisible(worker_id)
    curves, status = curves_with_status()
    everything = _candidates(asker, today=today, curves=curves)
    of_kind = [c for c in everything if kind is None or c.has_kind(kind)]
    of_worker = [c for c in everything if worker_id is None or c.worker_id == worker_id]
    matching = [c for c in of_kind if worker_id is None or c.worker_id == worker_id]
    number, pages = _page_of(len(matching), page)
    start = (number - 1) * QUEUE_PAGE_SIZE
    rows = _queue_rows(asker, matching[start : start + QUEUE_PAGE_SIZE])
    record_event(
        "supervision.queue",
        actor=asker,
        object_type="user",
        object_id=asker.id,
        client_ids=[r.episode.client_id for r in rows],
        detail={"rows": len(rows), "matching": len(matching), "page": number}
        | ({"worker_id": worker_id} if worker_id is not None else {})
        | ({"kind": kind.value} if kind is not None else {}),
    )
    return Queue(
        rows=rows,
        matching=len(matching),
        page=number,
        pages=pages,
        total=len(everything),
        workers=workers,
        worker_counts=dict(Counter(c.worker_id for c in of_kind)),
        kind_counts={k: sum(1 for c in of_worker if c.has_kind(k)) for k in EPISODE_FLAG_KINDS},
        worker_id=worker_id,
        kind=kind,
        curves=status,
    )


def case_flags(
    asker: User, episode: Episode, *, today: date
) -> tuple[tuple[Flag, ...], tuple[Flag, ...]]:
    """One loaded episode's standing flags: (still to discuss, already seen by a review).

    For an episode the caller loaded with ``get_episode``; the seen keys are read
    through the asker's visibility, so someone who may not see the episode's reviews
    gets every flag as still to discuss.
    """
    flags = flags_for(episode, today=today, curves=current_curves())
    seen = _seen_keys(asker, Episode.id == episode.id).get(episode.id, set())
    return _split(flags, seen)


# Reviews ---------------------------------------------------------------------------------


def _episode_for_supervision(asker: User, episode_id: int, *, lock: bool = False) -> Episode:
    """An episode of one of the supervisor's workers, loaded for its flags; else an
    audited denial (a worker, a lead or an admin never acts through supervision)."""
    _require_supervisor(asker, object_type="episode", object_id=episode_id)
    query = (
        select(Episode)
        .options(
            joinedload(Episode.client),
            joinedload(Episode.worker),
            joinedload(Episode.summary).selectinload(EpisodeSummary.measures),
            selectinload(Episode.complexity),
        )
        .where(Episode.id == episode_id, visible_episodes(asker))
    )
    if lock:
        query = query.with_for_update(of=Episode)
    episode = db.session.scalar(query)
    if episode is None:
        record_event_now("access.denied", actor=asker, object_type="episode", object_id=episode_id)
        raise NotVisible(episode_id)
    return episode


def _review_problems(
    *,
    reason: str,
    decision: object,
    note: str,
    next_review_on: date | None,
    today: date,
) -> dict[str, str]:
    """Every refused field of a review, by form field name."""
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Say why the case was discussed."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Keep the reason under {MAX_REASON:,} characters."
    if not isinstance(decision, SupervisionDecision):
        errors["decision"] = "Choose what was decided."
    if len(note) > MAX_REVIEW_NOTE:
        errors["note"] = f"Keep the note under {MAX_REVIEW_NOTE:,} characters."
    elif decision is SupervisionDecision.OTHER and not note:
        errors["note"] = "Say in the note what was decided."
    if next_review_on is not None:
        if next_review_on <= today:
            errors["next_review_on"] = "The next review must be after today."
        elif next_review_on > today + MAX_NEXT_REVIEW:
            errors["next_review_on"] = "The next review must be within a year."
    return errors


def _session_for_review(asker: User, session_id: int, episode: Episode) -> SupervisionSession:
    """The asker's own open session with this case on its list, or a refusal."""
    session = db.session.scalar(
        select(SupervisionSession)
        .join(SupervisionSessionCase, SupervisionSessionCase.session_id == SupervisionSession.id)
        .where(
            SupervisionSession.id == session_id,
            own_sessions(asker),
            SupervisionSession.ended_at.is_(None),
            SupervisionSessionCase.episode_id == episode.id,
        )
    )
    if session is None:
        raise ServiceError(
            "This review is not part of an open supervision session of yours with this case: "
            "save it from the case instead.",
            field_errors={"session_id": "Not an open session with this case."},
        )
    return session


def record_review(
    asker: User,
    episode_id: int,
    *,
    reason: str,
    decision: SupervisionDecision,
    note: str,
    next_review_on: date | None,
    flags_seen: Collection[str],
    today: date,
    session_id: int | None = None,
    now: datetime | None = None,
) -> SupervisionReview:
    """Record a supervisor's review of one open case, clearing the flags the form showed.

    Only the supervisor of the case's worker reviews it (anyone else: NotVisible,
    audited), and only while it is open. The flags are worked out again at save time:
    the review stores those among them whose key the form showed (``flags_seen``), so
    a flag raised since the form was shown stays in the queue. Sets the summary's
    ``last_review_on`` to today (never to an earlier date).
    """
    episode = _episode_for_supervision(asker, episode_id)
    if not episode.is_open:
        raise ServiceError("This case is discharged: closed cases are not reviewed.")
    reason, note = reason.strip(), note.strip()
    errors = _review_problems(
        reason=reason, decision=decision, note=note, next_review_on=next_review_on, today=today
    )
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    session = None if session_id is None else _session_for_review(asker, session_id, episode)
    shown = set(flags_seen)
    standing = flags_for(episode, today=today, curves=current_curves())
    review = SupervisionReview(
        episode=episode,
        supervisor=asker,
        session_id=None if session is None else session.id,
        reviewed_on=today,
        reason=reason,
        decision=decision,
        note=note,
        next_review_on=next_review_on,
        created_at=now or utcnow(),
        flags_seen=[
            SupervisionReviewFlag(flag_key=f.key, kind=f.kind, severity=f.severity)
            for f in standing
            if f.key in shown
        ],
    )
    db.session.add(review)
    # A review recorded after the fact (the demo's history) never moves the date back.
    last = episode.summary.last_review_on
    episode.summary.last_review_on = today if last is None else max(last, today)
    db.session.flush()
    record_event(
        "supervision.review",
        actor=asker,
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
        detail={
            "review_id": review.id,
            "decision": decision.value,
            "flags_cleared": len(review.flags_seen),
        }
        | ({"session_id": review.session_id} if review.session_id else {}),
    )
    return review


def reviews_for(asker: User, episode: Episode) -> list[SupervisionReview]:
    """The supervision reviews of an episode the asker may see (its worker and their
    supervisor), newest first, with the supervisor and the flags seen; none for anyone
    else."""
    return list(
        db.session.scalars(
            select(SupervisionReview)
            .join(Episode, Episode.id == SupervisionReview.episode_id)
            .options(
                joinedload(SupervisionReview.supervisor),
                selectinload(SupervisionReview.flags_seen),
            )
            .where(SupervisionReview.episode_id == episode.id, visible_episodes(asker))
            .order_by(SupervisionReview.created_at.desc(), SupervisionReview.id.desc())
        )
    )


# Sessions --------------------------------------------------------------------------------


def _own_session(asker: User, session_id: int) -> SupervisionSession:
    """One of the asker's sessions with its cases, their episodes and clients; else an
    audited denial."""
    session = db.session.scalar(
        select(SupervisionSession)
        .options(
            joinedload(SupervisionSession.worker),
            selectinload(SupervisionSession.cases)
            .joinedload(SupervisionSessionCase.episode)
            .options(
                joinedload(Episode.client),
                joinedload(Episode.worker),
                joinedload(Episode.summary).selectinload(EpisodeSummary.measures),
                selectinload(Episode.complexity),
            ),
        )
        .where(SupervisionSession.id == session_id, own_sessions(asker))
    )
    if session is None:
        record_event_now(
            "access.denied", actor=asker, object_type="supervision_session", object_id=session_id
        )
        raise NotVisible(session_id)
    return session


def _stop_clock(session: SupervisionSession, now: datetime) -> None:
    """Add the time since the current case was opened to that case."""
    if session.current_position is None or session.current_since is None:
        return
    current = session.cases[session.current_position - 1]
    current.seconds = (current.seconds or 0) + max(
        int((now - session.current_since).total_seconds()), 0
    )
    session.current_since = None


def start_session(
    asker: User, *, worker_id: int, today: date, now: datetime | None = None
) -> SupervisionSession:
    """Start a supervision session with one of the asker's workers, or return the open one.

    The cases are that worker's queue rows, in queue order, fixed at the start; the
    first is on screen from now. Refused when the worker has no flagged case.
    """
    _require_supervisor(asker, object_type="user", object_id=worker_id)
    worker = _one_worker(asker, worker_id)
    existing = db.session.scalar(
        select(SupervisionSession)
        .where(
            own_sessions(asker),
            SupervisionSession.worker_id == worker.id,
            SupervisionSession.ended_at.is_(None),
        )
        .order_by(SupervisionSession.started_at.desc(), SupervisionSession.id.desc())
        .limit(1)
    )
    if existing is not None:
        return existing
    rows = _candidates(asker, today=today, curves=current_curves(), worker_id=worker.id)
    if not rows:
        raise ServiceError(
            f"{worker.display_name} has no flagged cases to discuss, so there is nothing "
            "to work through.",
            field_errors={"worker_id": "No flagged cases."},
        )
    now = now or utcnow()
    session = SupervisionSession(
        supervisor=asker,
        worker=worker,
        started_at=now,
        current_position=1,
        current_since=now,
        cases=[
            SupervisionSessionCase(
                episode_id=row.episode_id,
                position=position,
                first_opened_at=now if position == 1 else None,
                seconds=0,
            )
            for position, row in enumerate(rows, start=1)
        ],
    )
    db.session.add(session)
    db.session.flush()
    record_event(
        "supervision.session_start",
        actor=asker,
        object_type="supervision_session",
        object_id=session.id,
        client_ids=[row.client_id for row in rows],
        detail={"worker_id": worker.id, "cases": len(rows)},
    )
    return session


def get_session(asker: User, session_id: int) -> SupervisionSession:
    """One of the asker's own sessions, with its cases, episodes and clients (audited as
    ``supervision.session_view`` with the clients on its list)."""
    session = _own_session(asker, session_id)
    record_event(
        "supervision.session_view",
        actor=asker,
        object_type="supervision_session",
        object_id=session.id,
        client_ids=[case.episode.client_id for case in session.cases],
    )
    return session


def move_in_session(
    asker: User, session_id: int, *, position: int, now: datetime | None = None
) -> SupervisionSessionCase:
    """Put the case at ``position`` on screen, adding the time spent to the case left.

    An ended session keeps its timings: the case is returned unchanged.
    """
    session = _own_session(asker, session_id)
    if not 1 <= position <= len(session.cases):
        message = f"Choose a case from 1 to {len(session.cases)}."
        raise ServiceError(message, field_errors={"position": message})
    case = session.cases[position - 1]
    if not session.is_open:
        return case
    now = now or utcnow()
    _stop_clock(session, now)
    session.current_position = position
    session.current_since = now
    if case.first_opened_at is None:
        case.first_opened_at = now
    db.session.flush()
    return case


def end_session(asker: User, session_id: int, *, now: datetime | None = None) -> SupervisionSession:
    """End a session, adding the time spent on the case on screen (a second call changes
    nothing)."""
    session = _own_session(asker, session_id)
    if not session.is_open:
        return session
    now = now or utcnow()
    _stop_clock(session, now)
    session.ended_at = now
    db.session.flush()
    record_event(
        "supervision.session_end",
        actor=asker,
        object_type="supervision_session",
        object_id=session.id,
        detail={
            "worker_id": session.worker_id,
            "discussed": sum(1 for case in session.cases if case.discussed),
            "seconds": sum(case.seconds for case in session.cases),
        },
    )
    return session


@dataclass(frozen=True)
class SessionSummary:
    """What a session covered: cases discussed, reviews made, minutes per case."""

    session: SupervisionSession
    #: Cases opened during the session.
    discussed: int
    #: Reviews made in the session, oldest first, with their episodes and clients.
    reviews: list[SupervisionReview]
    #: The session's length: start to end, or to now while it is open.
    minutes: float
    #: Time on the cases (the one on screen included while open) per case discussed.
    minutes_per_case: float | None


def session_summary(asker: User, session_id: int, *, now: datetime | None = None) -> SessionSummary:
    """The summary of one of the asker's sessions (loaded and audited as ``get_session``)."""
    session = get_session(asker, session_id)
    reviews = list(
        db.session.scalars(
            select(SupervisionReview)
            .options(joinedload(SupervisionReview.episode).joinedload(Episode.client))
            .where(SupervisionReview.session_id == session.id)
            .order_by(SupervisionReview.created_at, SupervisionReview.id)
        )
    )
    end = session.ended_at or now or utcnow()
    seconds = sum(case.seconds or 0 for case in session.cases)
    if session.is_open and session.current_since is not None:
        seconds += max(int((end - session.current_since).total_seconds()), 0)
    discussed = sum(1 for case in session.cases if case.discussed)
    return SessionSummary(
        session=session,
        discussed=discussed,
        reviews=reviews,
        minutes=max((end - session.started_at).total_seconds(), 0) / 60,
        minutes_per_case=seconds / 60 / discussed if discussed else None,
    )


# Reassignment ----------------------------------------------------------------------------


def reassign_targets(asker: User, episode: Episode) -> list[User]:
    """Active workers in the same team as the episode's worker, other than that worker, by
    display name (none unless the asker supervises that team)."""
    holder_team = select(User.team_id).where(User.id == episode.worker_id).scalar_subquery()
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.team_id == holder_team,
                User.id.in_(supervised_worker_ids(asker)),
                User.role == Role.WORKER,
                User.active.is_(True),
                User.id != episode.worker_id,
            )
            .order_by(User.display_name, User.id)
        )
    )


def reassign(
    asker: User,
    episode_id: int,
    *,
    to_worker_id: int,
    reason: str,
    version: int | None,
    now: datetime | None = None,
) -> EpisodeReassignment:
    """Move an open case to another active worker in the same team, with a reason.

    The supervisor of the case's worker only; checks the episode's version (Conflict).
    The receiving worker sees the case at once and the old one no longer does; the
    move is kept (``EpisodeReassignment``) for the weekly caseload history. Audited.
    """
    episode = _episode_for_supervision(asker, episode_id, lock=True)
    check_version(episode, version)
    if not episode.is_open:
        raise ServiceError("This case is discharged: only open cases are reassigned.")
    errors: dict[str, str] = {}
    target = next((u for u in reassign_targets(asker, episode) if u.id == to_worker_id), None)
    if target is None:
        errors["to_worker_id"] = "Choose another active worker in the same team."
    reason = reason.strip()
    if not reason:
        errors["reason"] = "Say why the case is being reassigned."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Keep the reason under {MAX_REASON:,} characters."
    if errors or target is None:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    previous = episode.worker_id
    episode.worker = target
    move = EpisodeReassignment(
        episode=episode,
        from_worker_id=previous,
        to_worker_id=target.id,
        reassigned_at=now or utcnow(),
        reason=reason,
        by=asker,
    )
    db.session.add(move)
    db.session.flush()
    record_event(
        "episode.reassign",
        actor=asker,
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
        detail={"reassignment_id": move.id, "from_worker_id": previous, "to_worker_id": target.id},
    )
    return move


# Shared reflective notes -----------------------------------------------------------------


@dataclass(frozen=True)
class SharedNotes:
    """The reflective notes the asker's workers shared, after the filters."""

    #: Newest first, with author, linked episode and client, and themes; at most 200.
    notes: list[ReflectiveNote]
    workers: list[User]
    worker_id: int | None
    theme: ReflectiveTheme | None


def shared_notes(
    asker: User, *, worker_id: int | None = None, theme: ReflectiveTheme | None = None
) -> SharedNotes:
    """The notes the asker's workers chose to share, newest first, read only (audited with
    the clients of the linked notes shown). Private notes never appear."""
    _require_supervisor(asker, object_type="notes", object_id=worker_id or asker.id)
    workers = _team_workers(asker)
    if worker_id is not None and worker_id not in {w.id for w in workers}:
        record_event_now("access.denied", actor=asker, object_type="user", object_id=worker_id)
        raise NotVisible(worker_id)
    query = (
        select(ReflectiveNote)
        .options(
            joinedload(ReflectiveNote.author),
            joinedload(ReflectiveNote.episode).joinedload(Episode.client),
            selectinload(ReflectiveNote.theme_rows),
        )
        .where(visible_notes(asker))
        .order_by(ReflectiveNote.written_at.desc(), ReflectiveNote.id.desc())
        .limit(SHARED_NOTES_SHOWN)
    )
    if worker_id is not None:
        query = query.where(ReflectiveNote.author_id == worker_id)
    if theme is not None:
        query = query.where(
            ReflectiveNote.id.in_(select(NoteTheme.note_id).where(NoteTheme.theme == theme))
        )
    notes = list(db.session.scalars(query))
    record_event(
        "notes.shared_view",
        actor=asker,
        object_type="user",
        object_id=asker.id,
        client_ids=[n.episode.client_id for n in notes if n.episode is not None],
        detail={"notes": len(notes)}
        | ({"worker_id": worker_id} if worker_id is not None else {})
        | ({"theme": theme.value} if theme is not None else {}),
    )
    return SharedNotes(notes=notes, workers=workers, worker_id=worker_id, theme=theme)
