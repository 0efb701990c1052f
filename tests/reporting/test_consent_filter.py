"""Central reporting never counts a record whose client has not consented.

The proof: build a service, take every figure, then add non-consented clients
with every kind of episode (recovered, deteriorated, unpaired, notes linked to
them) and check that no figure changes; then withdraw and give consent and
check that the figures follow on the next query.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from caseload.domain.codes import DischargeReason, ReflectiveTheme
from caseload.extensions import db
from caseload.models import User
from caseload.reporting.base import reportable_episodes, reportable_notes
from caseload.reporting.outcomes import discharged_outcomes, disclosed_outcomes
from caseload.services.clients import set_consent
from caseload.services.episodes import discharge
from caseload.services.notes import write_note
from tests.services.factories import NOW, TODAY, log_scores, register

START, END = TODAY - timedelta(days=365), TODAY

#: (first PHQ-9, first GAD-7) -> (last PHQ-9, last GAD-7): a spread of outcomes.
TRAJECTORIES = [
    ((18, 15), (6, 5)),  # reliable recovery
    ((14, 12), (9, 7)),  # recovered and reliably improved
    ((12, 10), (13, 11)),  # no reliable change
    ((8, 6), (16, 14)),  # not at caseness at start, deteriorated
    ((17, 12), (24, 18)),  # reliable deterioration
]


def build(worker: User, *, consented: bool, copies: int = 2) -> list[Any]:
    """Discharged episodes with the trajectories above, and a note linked to each."""
    episodes = []
    for _ in range(copies):
        for first, last in TRAJECTORIES:
            episode = register(worker, consented=consented)
            log_scores(worker, episode, [first, last])
            discharge(
                worker,
                episode,
                reason=DischargeReason.COMPLETED,
                discharged_on=TODAY,
                note="",
                today=TODAY,
                # The deteriorating trajectory has a red flag open: a risk plan is needed.
                risk_confirmed=True,
                risk_plan="Safety plan reviewed; GP informed.",
            )
            write_note(
                worker,
                text="Hard session.",
                themes=[ReflectiveTheme.EMOTIONAL_IMPACT],
                episode_id=episode.id,
            )
            episodes.append(episode)
    db.session.commit()
    return episodes


def figures() -> tuple[Any, ...]:
    """Every central figure this module offers."""
    db.session.expire_all()
    return (
        discharged_outcomes(start=START, end=END),
        disclosed_outcomes(start=START, end=END),
        db.session.scalar(select(func.count()).select_from(reportable_episodes().subquery())),
        db.session.scalar(select(func.count()).select_from(reportable_notes().subquery())),
    )


@pytest.fixture
def worker(user_factory: Any) -> User:
    from caseload.domain.codes import Role

    return user_factory(Role.WORKER)


def test_non_consented_records_change_no_figure(worker: User) -> None:
    build(worker, consented=True, copies=3)
    write_note(worker, text="General reflection.", themes=[ReflectiveTheme.NEW_ROLE])
    db.session.commit()
    before = figures()
    assert before[0].finished == 15
    assert before[3] == 16  # 15 linked notes and one unlinked
    build(worker, consented=False, copies=4)
    assert figures() == before


def test_withdrawal_takes_effect_on_the_next_query(worker: User) -> None:
    consented = build(worker, consented=True, copies=1)
    before = figures()
    set_consent(worker, consented[0].client, consented=False, note="Withdrew on the phone")
    db.session.commit()
    after = figures()
    assert after[0].finished == before[0].finished - 1
    assert after[3] == before[3] - 1
    set_consent(worker, consented[0].client, consented=True, note="Agreed again")
    db.session.commit()
    assert figures() == before


def test_figures_follow_the_national_definitions(worker: User) -> None:
    build(worker, consented=True, copies=2)
    raw = figures()[0]
    assert raw.finished == 10
    assert raw.at_caseness_denominator == 8  # the (8, 6) starts are not at caseness
    assert raw.recovered == 4
    assert raw.reliably_recovered == 4
    assert raw.reliably_deteriorated == 4


def test_small_numbers_are_suppressed(worker: User) -> None:
    build(worker, consented=True, copies=1)
    shown = disclosed_outcomes(start=START, end=END)
    assert shown.finished == 5
    assert shown.recovery_rate is None  # 2 recovered: below 5, so suppressed
    assert shown.paired_rate == 1.0


def test_period_bounds_are_by_discharge_date(worker: User) -> None:
    build(worker, consented=True, copies=1)
    empty = discharged_outcomes(start=TODAY + timedelta(days=1), end=TODAY + timedelta(days=30))
    assert empty.finished == 0
    assert NOW.date() == TODAY
