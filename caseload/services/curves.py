"""Rebuilding the service's expected-recovery curves from its own finished episodes."""

from __future__ import annotations

from sqlalchemy import select

from caseload.db import utcnow
from caseload.domain.curves import DEFAULT_MIN_EPISODES, build_expected_curves
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.extensions import db
from caseload.models import Episode, EpisodeMeasureSummary, EpisodeSummary, ExpectedCurveCache


def rebuild_expected_curves(*, min_episodes: int = DEFAULT_MIN_EPISODES) -> int:
    """Rebuild and cache the PHQ-9 and GAD-7 curves; flushes, returns episodes used.

    Uses every discharged episode that finished a course of treatment (the
    summary's ``finished_treatment``). The series come from the episodes'
    measure summaries in one query per measure, never contact by contact.
    """
    built_at = utcnow()
    finished: set[int] = set()
    for measure_id in (PHQ9, GAD7):
        rows = db.session.execute(
            select(EpisodeMeasureSummary.episode_id, EpisodeMeasureSummary.totals)
            .join(EpisodeSummary, EpisodeSummary.episode_id == EpisodeMeasureSummary.episode_id)
            .join(Episode, Episode.id == EpisodeSummary.episode_id)
            .where(
                Episode.discharged_on.is_not(None),
                EpisodeSummary.finished_treatment.is_(True),
                EpisodeMeasureSummary.measure_id == measure_id,
            )
            .order_by(EpisodeMeasureSummary.episode_id)
        ).all()
        series = [list(row.totals) for row in rows if row.totals]
        finished.update(row.episode_id for row in rows)
        curves = build_expected_curves(
            series, measure=get_measure(measure_id), min_episodes=min_episodes
        )
        cached = db.session.get(ExpectedCurveCache, measure_id)
        if cached is None:
            cached = ExpectedCurveCache(measure_id=measure_id)
            db.session.add(cached)
        cached.data = curves.to_dict()
        cached.episodes_used = len(series)
        cached.built_at = built_at
    db.session.flush()
    return len(finished)
