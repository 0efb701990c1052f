"""Rebuilding the service's expected-recovery curves from its own finished episodes."""

from __future__ import annotations

from sqlalchemy import select

from caseload.db import utcnow
from caseload.domain.curves import DEFAULT_MIN_EPISODES, build_expected_curves
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.extensions import db
from caseload.models import Episode, EpisodeSummary, ExpectedCurveCache

#: A course of treatment is finished with at least this many treatment contacts (DESIGN.md 3).
FINISHED_TREATMENT_CONTACTS = 2


def rebuild_expected_curves(*, min_episodes: int = DEFAULT_MIN_EPISODES) -> int:
    """Rebuild and cache the PHQ-9 and GAD-7 curves; flushes, returns episodes used.

    Uses every discharged episode that finished a course of treatment. The
    series come from the episode summaries in one query, never contact by contact.
    """
    rows = db.session.execute(
        select(EpisodeSummary.phq9_series, EpisodeSummary.gad7_series)
        .join(Episode, Episode.id == EpisodeSummary.episode_id)
        .where(
            Episode.discharged_on.is_not(None),
            EpisodeSummary.treatment_contacts >= FINISHED_TREATMENT_CONTACTS,
        )
        .order_by(Episode.id)
    ).all()
    built_at = utcnow()
    for measure_id, column in ((PHQ9, 0), (GAD7, 1)):
        series = [list(row[column]) for row in rows if row[column]]
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
    return len(rows)
