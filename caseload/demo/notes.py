"""Planning the workers' reflective notes: each worker's from the day they joined, heavier
and less manageable the more active cases they held that day."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from caseload.demo.draws import clamp, previous_weekday
from caseload.demo.records import PlannedEpisode, PlannedNote
from caseload.demo.staff import WORKERS
from caseload.demo.tables import LOAD_THEMES, PERIOD_DAYS, TEAM_GROWTH
from caseload.demo.text import demo_text
from caseload.domain.codes import ReflectiveTheme
from caseload.domain.dates import LONDON

#: The fewest reflective notes a worker has written, however recently they joined.
NOTES_AT_LEAST = 8
#: Days between a worker's reflective notes, on average.
NOTE_EVERY_DAYS = 16


def joined_days_ago(worker: int) -> int:
    """How many days ago the worker (an index into ``WORKERS``) joined the team: the oldest
    referrals they could have taken (``TEAM_GROWTH``); the first ones from the start."""
    joined = PERIOD_DAYS
    for older_than, team_size in TEAM_GROWTH:
        if worker < team_size:
            return joined
        joined = older_than
    return joined


def plan_notes(
    rng: random.Random, episodes: list[PlannedEpisode], *, today: date
) -> list[PlannedNote]:
    """Every worker's reflective notes since they joined, linked to their episodes."""
    note_texts = demo_text().note_texts
    notes: list[PlannedNote] = []
    for worker in range(len(WORKERS)):
        own = [i for i, e in enumerate(episodes) if e.worker == worker]
        # Notes come from the day the worker joined, about one every NOTE_EVERY_DAYS (at least
        # NOTES_AT_LEAST each), so those longest in post wrote the most.
        joined = joined_days_ago(worker)
        count = max(NOTES_AT_LEAST, round(joined / NOTE_EVERY_DAYS * rng.uniform(0.8, 1.2)))
        days = sorted(
            previous_weekday(today - timedelta(days=round(rng.uniform(2, joined - 2))))
            for _ in range(count)
        )
        for day in days:
            caseload = sum(episodes[i].active_on(day) for i in own)
            themes = [rng.choice(list(ReflectiveTheme))]
            if caseload >= 25 and rng.random() < 0.7:
                themes.insert(0, rng.choice(LOAD_THEMES))
            if day < today - timedelta(days=joined - 120) and rng.random() < 0.6:
                themes.insert(
                    0, rng.choice((ReflectiveTheme.NEW_ROLE, ReflectiveTheme.TRAINING_INTENSITY))
                )
            themes = list(dict.fromkeys(themes))[:3]
            text = " ".join(rng.choice(note_texts[t]) for t in themes[:2])
            # About 4 of 5 with 15 active cases, 3 with 30, 2 at the cap of 45.
            manageability = clamp(5.0 - caseload / 15 + rng.gauss(0, 0.6), 1, 5)
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
