"""The summary columns central reports count by use the ADSM of a PTSD episode.

``refresh_summary`` fills recovered, paired, caseness at start and the reliable-change
columns from the pure outcome rules with the episode's presenting problem, so an
episode with the PCL-5 at its first and last contact is counted on the PCL-5, and one
without is counted on GAD-7 (docs/design.md section 3).
"""

from __future__ import annotations

from datetime import timedelta

from caseload.domain.measures import GAD7
from caseload.extensions import db
from caseload.models import Episode, User
from caseload.services.episodes import outcome_for
from tests.services.factories import NOW, log, register

PTSD = "Post-traumatic stress disorder"


def pcl5(total: int) -> list[int]:
    """PCL-5 answers (0-4 each, filled from item 1) adding up to ``total``."""
    values = []
    for _ in range(20):
        values.append(min(4, total))
        total -= values[-1]
    return values


def columns(episode: Episode) -> dict[str, bool]:
    db.session.flush()
    db.session.expire_all()
    summary = db.session.get(Episode, episode.id).summary  # type: ignore[union-attr]
    return {
        name: getattr(summary, name)
        for name in (
            "caseness_at_start",
            "paired",
            "recovered",
            "reliably_improved",
            "reliably_deteriorated",
            "reliably_recovered",
        )
    }


def course(worker: User, episode: Episode, scores: list[tuple[int, int, int | None]]) -> None:
    """One attended treatment contact a day apart per (PHQ-9, GAD-7, PCL-5 or None)."""
    start = NOW - timedelta(days=len(scores))
    for day, (phq, gad, pcl) in enumerate(scores):
        extra = {} if pcl is None else {"pcl5": pcl5(pcl)}
        log(worker, episode, start + timedelta(days=day), phq9_total=phq, gad7_total=gad, **extra)


def test_a_ptsd_episode_with_the_pcl5_first_and_last_is_counted_on_it(worker: User) -> None:
    """PHQ-9 8 to 4 and GAD-7 6 to 3 never reach caseness; the PCL-5 falls from 50 to 20."""
    episode = register(worker, presenting_problem=PTSD)
    course(worker, episode, [(8, 6, 50), (6, 5, None), (4, 3, 20)])
    assert columns(episode) == {
        "caseness_at_start": True,
        "paired": True,
        "recovered": True,
        "reliably_improved": True,
        "reliably_deteriorated": False,
        "reliably_recovered": True,
    }
    outcome = outcome_for(episode)
    assert outcome.anxiety_measure == "pcl5"
    assert (outcome.first_anxiety, outcome.last_anxiety) == (50, 20)


def test_a_ptsd_episode_with_the_pcl5_at_the_first_contact_only_is_counted_on_gad7(
    worker: User,
) -> None:
    episode = register(worker, presenting_problem=PTSD)
    course(worker, episode, [(8, 6, 50), (6, 5, None), (4, 3, None)])
    assert columns(episode) == {
        "caseness_at_start": False,
        "paired": True,
        "recovered": False,
        "reliably_improved": False,
        "reliably_deteriorated": False,
        "reliably_recovered": False,
    }
    assert outcome_for(episode).anxiety_measure == GAD7


def test_a_pcl5_still_at_caseness_at_the_end_is_not_recovery(worker: User) -> None:
    """On GAD-7 (12 to 3) this would be recovery; the last PCL-5 of 40 is still a case."""
    episode = register(worker, presenting_problem=PTSD)
    course(worker, episode, [(14, 12, 60), (5, 3, 40)])
    found = columns(episode)
    assert found["caseness_at_start"]
    assert not found["recovered"]
    assert found["reliably_improved"]  # PHQ-9 -9 and PCL-5 -20


def test_a_depression_episode_ignores_a_pcl5(worker: User) -> None:
    """The same scores on a depression episode: the PCL-5 is not its anxiety measure."""
    episode = register(worker, presenting_problem="Depression")
    course(worker, episode, [(8, 6, 50), (6, 5, None), (4, 3, 20)])
    assert columns(episode)["caseness_at_start"] is False
    assert columns(episode)["recovered"] is False
    assert outcome_for(episode).anxiety_measure == GAD7
