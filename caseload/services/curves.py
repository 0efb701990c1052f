"""The service's expected-recovery curves: built from its own finished episodes of
clients who consent to central reporting, cached in the database, rebuilt when stale.

A service-wide curve is a central figure (docs/design.md section 10), so the episodes
come from the consent-filtered base, ``caseload.reporting.base``. The curves are read
from the ``expected_curves`` cache, never built per request: ``flask rebuild-curves``
rebuilds them on demand, and the first request that needs them once they are missing
or older than ``curve_refresh_days`` rebuilds them after its own transaction has ended,
on a connection and transaction of their own (``current_curves``). That request uses
the curves it found (or none); a failed rebuild is logged and leaves the cache as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Select, delete, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from caseload.db import utcnow
from caseload.domain.curves import DEFAULT_MIN_EPISODES, ExpectedCurves, build_expected_curves
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.extensions import db
from caseload.models import Episode, EpisodeMeasureSummary, EpisodeSummary, ExpectedCurveCache
from caseload.reporting.base import reportable_episodes
from caseload.services.settings import service_settings

log = logging.getLogger(__name__)

#: The measures the "not on track" flag has curves for.
CURVE_MEASURES = (PHQ9, GAD7)
#: ``Session.info`` key: a rebuild this session's transaction found due, run once the
#: transaction has ended (min_episodes, the moment it was found due, the refresh age).
PENDING_REBUILD = "caseload.curves.pending_rebuild"
#: The least ``curve_refresh_days`` an administrator may set.
MIN_REFRESH_AGE = timedelta(days=1)


@dataclass(frozen=True)
class CurveStatus:
    """How old the cached curves are and how many episodes they came from."""

    #: None: never built.
    built_at: datetime | None
    #: Finished, consented episodes the curves came from (the most over the measures).
    episodes_used: int


@dataclass(frozen=True)
class BuiltCurves:
    """Curves freshly built from the finished, consented episodes."""

    curves: tuple[ExpectedCurves, ...]
    #: Episodes with a series of each measure, by measure id.
    episodes_used: dict[str, int]
    #: Episodes that gave a series of any measure.
    finished: int


def _series_query(measure_id: str) -> Select[int, list[int]]:
    """One measure's series of the finished episodes of consenting clients."""
    return (
        reportable_episodes()
        .with_only_columns(
            EpisodeMeasureSummary.episode_id,
            EpisodeMeasureSummary.totals,
            maintain_column_froms=True,
        )
        .join(EpisodeMeasureSummary, EpisodeMeasureSummary.episode_id == EpisodeSummary.episode_id)
        .where(
            Episode.discharged_on.is_not(None),
            EpisodeSummary.finished_treatment.is_(True),
            EpisodeMeasureSummary.measure_id == measure_id,
        )
        .order_by(EpisodeMeasureSummary.episode_id)
    )


def build_curves(executor: Session | Connection, *, min_episodes: int) -> BuiltCurves:
    """Build the PHQ-9 and GAD-7 curves (one query per measure, never contact by contact)."""
    curves = []
    used: dict[str, int] = {}
    finished: set[int] = set()
    for measure_id in CURVE_MEASURES:
        rows = executor.execute(_series_query(measure_id)).all()
        series = [list(row.totals) for row in rows if row.totals]
        finished.update(row.episode_id for row in rows)
        curves.append(
            build_expected_curves(
                series, measure=get_measure(measure_id), min_episodes=min_episodes
            )
        )
        used[measure_id] = len(series)
    return BuiltCurves(curves=tuple(curves), episodes_used=used, finished=len(finished))


def rebuild_expected_curves(
    *, min_episodes: int = DEFAULT_MIN_EPISODES, now: datetime | None = None
) -> int:
    """Rebuild and cache the PHQ-9 and GAD-7 curves in the session; flushes, returns the
    number of episodes used.

    Uses every discharged episode that finished a course of treatment (the summary's
    ``finished_treatment``) of a client who consents to central reporting.
    """
    built_at = now or utcnow()
    built = build_curves(db.session(), min_episodes=min_episodes)
    for curves in built.curves:
        cached = db.session.get(ExpectedCurveCache, curves.measure_id)
        if cached is None:
            cached = ExpectedCurveCache(measure_id=curves.measure_id)
            db.session.add(cached)
        cached.data = curves.to_dict()
        cached.episodes_used = built.episodes_used[curves.measure_id]
        cached.built_at = built_at
    db.session.flush()
    db.session.info.pop(PENDING_REBUILD, None)  # this one is as fresh
    return built.finished


def curves_with_status(
    *, now: datetime | None = None
) -> tuple[tuple[ExpectedCurves, ...], CurveStatus]:
    """The cached curves and their status, in one query; schedules a rebuild when they
    are missing, unreadable or older than ``curve_refresh_days`` (see ``current_curves``)."""
    now = now or utcnow()
    rows = list(db.session.scalars(select(ExpectedCurveCache)))
    curves: list[ExpectedCurves] = []
    unreadable = False
    for row in rows:
        try:
            curves.append(ExpectedCurves.from_dict(row.data))
        except ValueError:
            log.exception("The cached %s curves cannot be read; rebuilding them", row.measure_id)
            unreadable = True
    status = CurveStatus(
        built_at=min((row.built_at for row in rows), default=None),
        episodes_used=max((row.episodes_used for row in rows), default=0),
    )
    built = {row.measure_id: row.built_at for row in rows}
    # The setting is read only for curves older than its least value: missing curves are
    # due whatever it says, and younger ones are fresh, so neither costs a settings query.
    max_age = MIN_REFRESH_AGE
    due = unreadable or not set(CURVE_MEASURES) <= set(built)
    if not due and _is_stale(built, now=now, max_age=MIN_REFRESH_AGE):
        max_age = timedelta(days=service_settings().curve_refresh_days)
        due = _is_stale(built, now=now, max_age=max_age)
    if due:
        min_episodes = next((c.min_episodes for c in curves), DEFAULT_MIN_EPISODES)
        _schedule_rebuild(min_episodes=min_episodes, now=now, max_age=max_age)
    return tuple(curves), status


def current_curves(*, now: datetime | None = None) -> tuple[ExpectedCurves, ...]:
    """The service's expected curves from the database cache (may be empty).

    When they are missing or older than ``curve_refresh_days`` they are rebuilt once,
    after this session's transaction has ended, on a connection and transaction of
    their own: a read-only request never writes in its read transaction, and on SQLite
    a second connection never waits for the lock the session itself holds. This call
    returns the curves it found, stale or none.
    """
    curves, _status = curves_with_status(now=now)
    return curves


def curve_status() -> CurveStatus:
    """When the cached curves were built and from how many episodes."""
    rows = db.session.execute(
        select(ExpectedCurveCache.built_at, ExpectedCurveCache.episodes_used)
    ).all()
    return CurveStatus(
        built_at=min((row.built_at for row in rows), default=None),
        episodes_used=max((row.episodes_used for row in rows), default=0),
    )


def _is_stale(built: Mapping[str, datetime], *, now: datetime, max_age: timedelta) -> bool:
    """Missing a measure, or built longer ago than ``max_age`` (``built``: when each
    measure's curves were built)."""
    if not set(CURVE_MEASURES) <= set(built):
        return True
    return any(now - at > max_age for at in built.values())


def _schedule_rebuild(*, min_episodes: int, now: datetime, max_age: timedelta) -> None:
    """Rebuild once this session's transaction has ended (at once when none is open)."""
    session = db.session()
    if PENDING_REBUILD in session.info:
        return
    session.info[PENDING_REBUILD] = (min_episodes, now, max_age)
    if not session.in_transaction():
        _run_pending_rebuild(session)


@event.listens_for(Session, "after_transaction_end")
def _rebuild_after_transaction(session: Session, transaction: SessionTransaction) -> None:
    """Once the session's outermost transaction has ended, its connection holds no lock:
    run the rebuild it found due."""
    if transaction.parent is None and PENDING_REBUILD in session.info:
        _run_pending_rebuild(session)


def _run_pending_rebuild(session: Session) -> None:
    """Rebuild and store the curves in a transaction of their own; log any failure.

    Skipped when another request rebuilt them meanwhile. Two rebuilding at once both
    write (an upsert), so neither fails on the other's row.
    """
    min_episodes, now, max_age = session.info.pop(PENDING_REBUILD)
    try:
        engine = session.get_bind(ExpectedCurveCache).engine
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            cached = conn.execute(
                select(ExpectedCurveCache.measure_id, ExpectedCurveCache.built_at)
            ).all()
            if not _is_stale(dict(cached), now=now, max_age=max_age):
                return
            built = build_curves(conn, min_episodes=min_episodes)
            store_curves(conn, built, built_at=now)
        log.info("Expected curves rebuilt from %d finished episodes", built.finished)
    except Exception:
        log.exception("Rebuilding the expected curves failed; the cached curves stay in use")


def store_curves(conn: Connection, built: BuiltCurves, *, built_at: datetime) -> None:
    """Insert or replace the cached rows, one per measure, on a connection of its own (two
    rebuilds at once both write: the second replaces the first's rows)."""
    table = ExpectedCurveCache.__table__
    rows = [
        {
            "measure_id": curves.measure_id,
            "data": curves.to_dict(),
            "episodes_used": built.episodes_used[curves.measure_id],
            "built_at": built_at,
        }
        for curves in built.curves
    ]
    replaced = ("data", "episodes_used", "built_at")
    if conn.dialect.name == "postgresql":
        on_pg = postgresql.insert(table).values(rows)
        conn.execute(
            on_pg.on_conflict_do_update(
                index_elements=[table.c.measure_id],
                set_={name: on_pg.excluded[name] for name in replaced},
            )
        )
    elif conn.dialect.name == "sqlite":
        on_sqlite = sqlite.insert(table).values(rows)
        conn.execute(
            on_sqlite.on_conflict_do_update(
                index_elements=[table.c.measure_id],
                set_={name: on_sqlite.excluded[name] for name in replaced},
            )
        )
    else:
        conn.execute(delete(table).where(table.c.measure_id.in_([r["measure_id"] for r in rows])))
        conn.execute(insert(table), rows)
