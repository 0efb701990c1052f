"""Who held which episode, active on which day: hand-counted cases and Hypothesis properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseload.domain.workload import (
    EpisodeSpan,
    Handover,
    active_on,
    holder_on,
    recent_weeks,
    week_end,
    week_start,
    weekly_active_caseload,
)

#: A Monday.
TODAY = date(2025, 6, 2)
A, B, C = 1, 2, 3


def span(
    episode_id: int = 1,
    worker_id: int = A,
    first: date | None = date(2025, 5, 1),
    discharged: date | None = None,
) -> EpisodeSpan:
    return EpisodeSpan(
        episode_id=episode_id,
        worker_id=worker_id,
        first_treatment_on=first,
        discharged_on=discharged,
    )


# Active on a day ---------------------------------------------------------------------------


def test_waiting_episode_is_never_active() -> None:
    assert not active_on(span(first=None), TODAY)


def test_active_from_the_day_of_the_first_treatment_contact() -> None:
    episode = span(first=date(2025, 5, 10))
    assert not active_on(episode, date(2025, 5, 9))
    assert active_on(episode, date(2025, 5, 10))


def test_a_discharge_ends_it_that_day() -> None:
    episode = span(first=date(2025, 5, 1), discharged=date(2025, 5, 20))
    assert active_on(episode, date(2025, 5, 19))
    assert not active_on(episode, date(2025, 5, 20))
    assert not active_on(episode, date(2025, 6, 1))


# Who held it -------------------------------------------------------------------------------


def test_never_moved_is_held_by_its_worker_throughout() -> None:
    assert holder_on(span(worker_id=B), [], date(2020, 1, 1)) == B


def test_a_move_counts_for_the_new_worker_from_its_day() -> None:
    episode = span(worker_id=B)
    moves = [Handover(episode_id=1, on=date(2025, 5, 21), from_worker_id=A, to_worker_id=B)]
    assert holder_on(episode, moves, date(2025, 5, 20)) == A
    assert holder_on(episode, moves, date(2025, 5, 21)) == B
    assert holder_on(episode, moves, date(2025, 6, 1)) == B


def test_two_moves_in_order_and_on_one_day() -> None:
    episode = span(worker_id=A)
    moves = [
        Handover(episode_id=1, on=date(2025, 5, 10), from_worker_id=A, to_worker_id=B),
        Handover(episode_id=1, on=date(2025, 5, 20), from_worker_id=B, to_worker_id=C),
        Handover(episode_id=1, on=date(2025, 5, 20), from_worker_id=C, to_worker_id=A),
    ]
    assert holder_on(episode, moves, date(2025, 5, 9)) == A
    assert holder_on(episode, moves, date(2025, 5, 15)) == B
    # Both moves of the 20th happened by the end of it: the last one stands.
    assert holder_on(episode, moves, date(2025, 5, 20)) == A


def test_another_episodes_moves_are_ignored() -> None:
    moves = [Handover(episode_id=2, on=date(2025, 5, 1), from_worker_id=C, to_worker_id=B)]
    assert holder_on(span(worker_id=A), moves, date(2025, 5, 2)) == A


# Weeks -------------------------------------------------------------------------------------


def test_recent_weeks_are_26_mondays_ending_with_this_week() -> None:
    weeks = recent_weeks(date(2025, 6, 4))  # a Wednesday
    assert len(weeks) == 26
    assert weeks[-1] == date(2025, 6, 2)
    assert weeks[0] == date(2025, 6, 2) - timedelta(weeks=25)
    assert all(w.weekday() == 0 for w in weeks)
    assert weeks == sorted(weeks)


def test_week_start_and_end() -> None:
    assert week_start(date(2025, 6, 8)) == date(2025, 6, 2)  # a Sunday
    assert week_end(date(2025, 5, 26), today=TODAY) == date(2025, 6, 1)
    assert week_end(date(2025, 6, 2), today=date(2025, 6, 4)) == date(2025, 6, 4)
    with pytest.raises(ValueError, match="not a Monday"):
        week_end(date(2025, 6, 3), today=TODAY)
    with pytest.raises(ValueError, match="has not started"):
        week_end(date(2025, 6, 9), today=TODAY)


# The weekly series, hand counted ---------------------------------------------------------


def test_weekly_series_around_discharge_reassignment_and_a_late_start() -> None:
    weeks = [date(2025, 5, 5), date(2025, 5, 12), date(2025, 5, 19), date(2025, 5, 26), TODAY]
    # Ends: 11 May, 18 May, 25 May, 1 Jun, and today (2 Jun) for the current week.
    spans = [
        span(1, A, date(2025, 5, 1)),  # steady with A
        span(2, A, date(2025, 5, 6), discharged=date(2025, 5, 20)),  # discharged mid-period
        span(3, B, date(2025, 5, 2)),  # moved from A to B on 21 May
        span(4, B, date(2025, 5, 28)),  # treatment started mid-period
        span(5, A, None),  # waiting: never counted
        span(6, A, date(2025, 5, 3), discharged=date(2025, 5, 18)),  # discharged on a Sunday
    ]
    moves = [Handover(episode_id=3, on=date(2025, 5, 21), from_worker_id=A, to_worker_id=B)]
    counts = weekly_active_caseload(spans, moves, worker_ids=[A, B, C], weeks=weeks, today=TODAY)
    assert counts == {
        A: [4, 3, 1, 1, 1],
        B: [0, 0, 1, 2, 2],
        C: [0, 0, 0, 0, 0],
    }


def test_a_worker_not_asked_about_gets_no_row() -> None:
    counts = weekly_active_caseload(
        [span(1, B)], [], worker_ids=[A], weeks=[date(2025, 5, 26)], today=TODAY
    )
    assert counts == {A: [0]}


# Properties --------------------------------------------------------------------------------

DAY0 = date(2024, 12, 2)  # a Monday
days = st.integers(min_value=0, max_value=200).map(lambda n: DAY0 + timedelta(days=n))
workers = st.sampled_from([A, B, C])


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[EpisodeSpan], list[Handover]]:
    """Episodes with optional treatment start and discharge, and a chain of moves each."""
    spans, moves = [], []
    for episode_id in range(1, draw(st.integers(min_value=0, max_value=8)) + 1):
        first = draw(st.none() | days)
        discharged = draw(st.none() | days)
        holder = draw(workers)
        chain = sorted(draw(st.lists(days, max_size=3)))
        for on in chain:
            to = draw(workers.filter(lambda w, h=holder: w != h))
            moves.append(Handover(episode_id, on, holder, to))
            holder = to
        spans.append(EpisodeSpan(episode_id, holder, first, discharged))
    return spans, moves


weeks_drawn = st.lists(
    st.integers(min_value=0, max_value=28).map(lambda n: DAY0 + timedelta(weeks=n)),
    min_size=1,
    max_size=6,
    unique=True,
).map(sorted)


@given(histories(), weeks_drawn)
def test_moves_share_out_the_load_but_never_change_its_total(
    history: tuple[list[EpisodeSpan], list[Handover]], weeks: list[date]
) -> None:
    spans, moves = history
    today = DAY0 + timedelta(weeks=29)
    with_moves = weekly_active_caseload(
        spans, moves, worker_ids=[A, B, C], weeks=weeks, today=today
    )
    unmoved = weekly_active_caseload(spans, [], worker_ids=[A, B, C], weeks=weeks, today=today)
    for index, monday in enumerate(weeks):
        end = week_end(monday, today=today)
        active = sum(1 for s in spans if active_on(s, end))
        assert sum(with_moves[w][index] for w in (A, B, C)) == active
        assert sum(unmoved[w][index] for w in (A, B, C)) == active
        assert all(with_moves[w][index] >= 0 for w in (A, B, C))


@given(histories(), weeks_drawn)
def test_each_count_is_the_episodes_held_and_active_that_day(
    history: tuple[list[EpisodeSpan], list[Handover]], weeks: list[date]
) -> None:
    spans, moves = history
    today = DAY0 + timedelta(weeks=29)
    counts = weekly_active_caseload(spans, moves, worker_ids=[A, B], weeks=weeks, today=today)
    assert set(counts) == {A, B}
    for index, monday in enumerate(weeks):
        end = week_end(monday, today=today)
        for worker in (A, B):
            expected = sum(
                1 for s in spans if active_on(s, end) and holder_on(s, moves, end) == worker
            )
            assert counts[worker][index] == expected


@given(histories(), days)
def test_the_holder_after_every_move_is_the_current_worker(
    history: tuple[list[EpisodeSpan], list[Handover]], day: date
) -> None:
    spans, moves = history
    last_day = DAY0 + timedelta(days=201)
    for s in spans:
        assert holder_on(s, moves, last_day) == s.worker_id
        mine = [m for m in moves if m.episode_id == s.episode_id]
        if not mine or day < min(m.on for m in mine):
            assert holder_on(s, moves, day) == (mine[0].from_worker_id if mine else s.worker_id)
