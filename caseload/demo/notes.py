"""Planning the workers' reflective notes: more often, heavier and less manageable as
caseloads fill over the period."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from caseload.demo.draws import clamp, previous_weekday
from caseload.demo.records import PlannedEpisode, PlannedNote
from caseload.demo.staff import WORKERS
from caseload.demo.tables import LOAD_THEMES, PERIOD_DAYS
from caseload.demo.text import demo_text
from caseload.domain.codes import ReflectiveTheme
from caseload.domain.dates import LONDON


def plan_notes(
    rng: random.Random, episodes: list[PlannedEpisode], *, today: date
) -> list[PlannedNote]:
    """Every worker's reflective notes over the period, linked to their episodes."""
    note_texts = demo_text().note_texts
    notes: list[PlannedNote] = []
    for worker in range(len(WORKERS)):
        own = [i for i, e in enumerate(episodes) if e.worker == worker]
        # Notes come more often as the caseload fills (the service opened in the period).
        days = sorted(
            previous_weekday(today - timedelta(days=round(rng.triangular(2, PERIOD_DAYS, 2))))
            for _ in range(rng.randint(8, 15))
        )
        for day in days:
            caseload = sum(episodes[i].active_on(day) for i in own)
            themes = [rng.choice(list(ReflectiveTheme))]
            if caseload >= 25 and rng.random() < 0.7:
                themes.insert(0, rng.choice(LOAD_THEMES))
            if day < today - timedelta(days=PERIOD_DAYS - 120) and rng.random() < 0.6:
                themes.insert(
                    0, rng.choice((ReflectiveTheme.NEW_ROLE, ReflectiveTheme.TRAINING_INTENSITY))
                )
            themes = list(dict.fromkeys(themes))[:3]
            text = " ".join(rng.choice(note_texts[t]) for t in themes[:2])
            manageability = clamp(5.4 - caseload / 9 + rng.gauss(0, 0.5), 1, 5)
            linked = None
            candidates = [i for i in own if episodes[i].referral.referral_date <= day]
            if ReflectiveTheme.ROLE_CONFUSION in themes:
                candidates = [
                    i
                    for i in candidates
                    if episodes[i].referral.referrer_expectation == "Counselling"
                ]
            if candidates and (ReflectiveTheme.ROLE_CONFUSION in themes or rng.random() < 0.3):
                linked = rng.choice(candidates[-15:])
            moment = datetime.combine(
                day, time(17, rng.choice((0, 15, 30))), tzinfo=LONDON
            ).astimezone(UTC)
            notes.append(
                PlannedNote(
                    worker=worker,
                    at=moment,
                    text=text,
                    themes=tuple(themes),
                    manageability=manageability,
                    shared=rng.random() < 0.4,
                    caseload=caseload,
                    episode=linked,
                )
            )
    return notes
