"""XmR charts, the Making Data Count way: worked examples of every rule (design.md s. 9).

Most examples put their points after a fixed baseline, so the limits are known by
hand: BASE is 10, 12 six times then 11 (13 points): mean 11, moving ranges eleven 2s
and one 1, mean moving range 23/12, limits 11 +/- 2.66 x 23/12 = 5.9017 .. 16.0983,
"close to a limit" beyond 11 +/- 3.3989 (above 14.3989, below 7.6011). BASE itself
is common cause throughout, and its last point sits on the mean, so it breaks runs.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseload.domain.spc import (
    MIN_POINTS,
    Assurance,
    SpecialCause,
    Variation,
    XmrChart,
    describe_assurance,
    describe_variation,
    xmr,
)

BASE = [10.0, 12.0] * 6 + [11.0]
LIMIT = 2.66 * 23 / 12

C = "common"
UP, DOWN = "above_upper_limit", "below_lower_limit"
TUP, TDOWN = "trend_up", "trend_down"
TWO_UP, TWO_DOWN = "two_of_three_above", "two_of_three_below"
RUN_UP, RUN_DOWN = "run_above", "run_below"


def after_base(values: list[float], improvement: str = "neutral") -> XmrChart:
    """The chart of BASE then ``values``, with BASE fixing the mean and limits."""
    return xmr(BASE + values, improvement=improvement, baseline_points=len(BASE))


def causes(chart: XmrChart) -> list[str]:
    return [str(p.special_cause) for p in chart.points]


def tail(chart: XmrChart) -> list[str]:
    """The causes after BASE, checking that BASE stayed common cause."""
    found = causes(chart)
    assert found[: len(BASE)] == [C] * len(BASE)
    return found[len(BASE) :]


def test_the_base_gives_the_hand_computed_limits() -> None:
    chart = after_base([11.0])
    assert chart.mean == pytest.approx(11)
    assert chart.mean_moving_range == pytest.approx(23 / 12)
    assert chart.lower_limit == pytest.approx(11 - LIMIT)
    assert chart.upper_limit == pytest.approx(11 + LIMIT)
    assert chart.upper_limit == pytest.approx(16.0983, abs=1e-4)
    assert chart.baseline_points == 13
    assert [p.value for p in chart.points] == [*BASE, 11.0]
    assert chart.points[0].moving_range is None
    assert chart.points[1].moving_range == 2


def test_without_a_baseline_every_value_sets_the_limits() -> None:
    # 1..12: mean 6.5, every moving range 1, limits 6.5 +/- 2.66 = 3.84 .. 9.16.
    chart = xmr(range(1, 13))
    assert chart.mean == pytest.approx(6.5)
    assert chart.mean_moving_range == pytest.approx(1)
    assert (chart.lower_limit, chart.upper_limit) == (pytest.approx(3.84), pytest.approx(9.16))
    # Outside the limits beats the trend the whole series is part of.
    assert causes(chart) == [DOWN] * 3 + [TUP] * 6 + [UP] * 3


# Rule 1: outside the limits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([17.0], [UP]),
        ([5.0], [DOWN]),
        ([16.0], [C]),  # close to the upper limit, but alone
        ([6.0], [C]),  # close to the lower limit, but alone
    ],
)
def test_outside_the_limits(values: list[float], expected: list[str]) -> None:
    assert tail(after_base(values)) == expected


# Rule 2: trends of 7 ----------------------------------------------------------------------


def test_seven_rising_points_are_a_trend() -> None:
    # 11 -> 9 is a fall; then 9 .. 12.5 rise 6 times: 7 points, all inside "close".
    assert tail(after_base([9, 9.5, 10, 10.5, 11.5, 12, 12.5])) == [TUP] * 7


def test_six_rising_points_are_not() -> None:
    assert tail(after_base([9, 9.5, 10, 10.5, 11.5, 12])) == [C] * 6


def test_seven_falling_points_are_a_trend() -> None:
    assert tail(after_base([13, 12.5, 12, 11.5, 10.5, 10, 9.5])) == [TDOWN] * 7


def test_an_equal_step_breaks_a_trend() -> None:
    assert tail(after_base([9, 9.5, 10, 10, 10.5, 11.5, 12, 12.5])) == [C] * 8


def test_the_point_after_a_trend_is_not_part_of_it() -> None:
    assert tail(after_base([9, 9.5, 10, 10.5, 11.5, 12, 12.5, 10])) == [TUP] * 7 + [C]


def test_a_peak_shared_by_two_trends_takes_the_direction_of_the_next_step() -> None:
    # 8 .. 14 rises (7 points), 14 .. 8 falls (7 points); the peak 14 is in both and
    # takes its direction from the step to the next point, which is in the fall too.
    values = [8, 9, 10, 11, 12, 13, 14, 13, 12, 11, 10, 9, 8]
    assert tail(after_base(values)) == [TUP] * 6 + [TDOWN] * 7


def test_a_trend_to_the_last_point_takes_the_step_from_the_previous_point() -> None:
    chart = after_base([13, 12.5, 12, 11.5, 10.5, 10, 9.5])
    assert chart.points[-1].special_cause == TDOWN


# Rule 3: two of three close to a limit ----------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([15, 12, 15], [TWO_UP, C, TWO_UP]),  # only the close points are marked
        ([15, 15, 12], [TWO_UP, TWO_UP, C]),
        ([15, 15, 15], [TWO_UP] * 3),
        ([7, 7.2, 9], [TWO_DOWN, TWO_DOWN, C]),
        ([15, 10, 15], [C, C, C]),  # the middle point is below the mean
        ([15, 11, 15], [C, C, C]),  # the middle point is on the mean
        ([15, 12, 12, 15], [C, C, C, C]),  # two close points, but not within three
    ],
)
def test_two_of_three_close_to_a_limit(values: list[float], expected: list[str]) -> None:
    assert tail(after_base(values)) == expected


# Rule 4: runs of 7 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([12] * 7, [RUN_UP] * 7),
        ([10] * 7, [RUN_DOWN] * 7),
        ([12] * 6, [C] * 6),
        ([12, 12, 12, 11, 12, 12, 12, 12], [C] * 8),  # a point on the mean breaks a run
        ([12] * 8, [RUN_UP] * 8),
    ],
)
def test_runs_on_one_side_of_the_mean(values: list[float], expected: list[str]) -> None:
    assert tail(after_base(values)) == expected


# Precedence -------------------------------------------------------------------------------


def test_outside_beats_two_of_three() -> None:
    assert tail(after_base([15, 17, 15])) == [TWO_UP, UP, TWO_UP]


def test_outside_beats_a_trend() -> None:
    assert tail(after_base([9, 9.5, 10, 10.5, 11.5, 12, 17])) == [TUP] * 6 + [UP]


def test_a_trend_beats_a_run() -> None:
    # 10 .. 14.2 rise (8 points); 11.5 .. 14.2 and the two 12s are 9 points above the mean.
    values = [10, 11.5, 12, 12.5, 13, 13.5, 14, 14.2, 12, 12]
    assert tail(after_base(values)) == [TUP] * 8 + [RUN_UP] * 2


def test_two_of_three_beats_a_run() -> None:
    values = [12, 15, 12, 15, 12, 12, 12]
    assert tail(after_base(values)) == [RUN_UP, TWO_UP, RUN_UP, TWO_UP, RUN_UP, RUN_UP, RUN_UP]


def test_a_trend_beats_two_of_three() -> None:
    # 9 .. 14.9 rise; 14.5 and 14.9 are close to the upper limit within three points.
    values = [9, 10, 11.5, 12, 13, 14.5, 14.9]
    assert tail(after_base(values)) == [TUP] * 7


# Variation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("improvement", "high", "low"),
    [
        ("increase", "improvement", "concern"),
        ("decrease", "concern", "improvement"),
        ("neutral", "neutral_high", "neutral_low"),
    ],
)
def test_variation_follows_the_better_direction(improvement: str, high: str, low: str) -> None:
    for values, kind in (
        ([17], high),
        ([5], low),
        ([9, 9.5, 10, 10.5, 11.5, 12, 12.5], high),
        ([13, 12.5, 12, 11.5, 10.5, 10, 9.5], low),
        ([15, 15, 15], high),
        ([7, 7, 7], low),
        ([12] * 7, high),
        ([10] * 7, low),
    ):
        chart = after_base(values, improvement)
        assert {str(p.variation) for p in chart.points[len(BASE) :]} == {kind}, values
        assert {p.variation for p in chart.points[: len(BASE)]} == {Variation.COMMON_CAUSE}


def test_values_are_plain_strings_too() -> None:
    point = after_base([17], "increase").points[-1]
    assert point.special_cause == "above_upper_limit"
    assert point.variation == "improvement"
    assert isinstance(point.special_cause, str)


# Screening, baselines, too few points -----------------------------------------------------


def test_outlying_moving_ranges_are_screened_from_the_limits() -> None:
    # Moving ranges: eleven 2s and a 28 (12 -> 40); their mean is 50/12 = 4.17 and
    # 28 >= 3.267 x 4.17 = 13.6, so it is left out and the mean is 2 again.
    values = [10, 12] * 6 + [40]
    screened = xmr(values)
    assert screened.mean == pytest.approx(172 / 13)
    assert screened.mean_moving_range == pytest.approx(2)
    assert screened.upper_limit == pytest.approx(172 / 13 + 5.32)
    assert screened.points[-1].special_cause == UP
    unscreened = xmr(values, screen_outliers=False)
    assert unscreened.mean_moving_range == pytest.approx(50 / 12)
    assert unscreened.upper_limit == pytest.approx(172 / 13 + 2.66 * 50 / 12)


def test_moving_ranges_below_the_screen_are_kept() -> None:
    # Ranges 1, 1, 1, 3: mean 1.5, screen at 4.9, so 3 stays.
    chart = xmr([0, 1, 0, 1, 4] * 3)
    ranges = [1, 1, 1, 3] * 3 + [4, 4]
    mean = sum(ranges) / len(ranges)
    assert max(ranges) < 3.267 * mean
    assert chart.mean_moving_range == pytest.approx(mean)


def test_a_baseline_fixes_the_mean_and_limits() -> None:
    values = [10.0, 12.0] * 6 + [30.0] * 5
    fixed = xmr(values, baseline_points=12)
    assert fixed.mean == pytest.approx(11)
    assert fixed.mean_moving_range == pytest.approx(2)
    assert fixed.baseline_points == 12
    assert causes(fixed)[12:] == [UP] * 5
    assert xmr(values).mean == pytest.approx((132 + 150) / 17)


@pytest.mark.parametrize("baseline", [11, 0, 18])
def test_a_baseline_needs_12_points_and_no_more_than_the_values(baseline: int) -> None:
    with pytest.raises(ValueError, match="baseline"):
        xmr([1.0] * 17, baseline_points=baseline)


def test_fewer_than_12_points_claim_no_special_cause() -> None:
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 40]
    chart = xmr(values, improvement="increase", target=0)
    assert not chart.enough_points
    assert causes(chart) == [C] * 11
    assert {p.variation for p in chart.points} == {Variation.COMMON_CAUSE}
    assert "not yet reliable" in describe_variation(chart)
    assert "fewer than 12" in describe_assurance(chart).lower()
    # The same values with one more point do claim them.
    assert UP in causes(xmr([*values, 11]))
    assert MIN_POINTS == 12


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [1.0, float("inf")], ["1"], [True]])
def test_values_must_be_finite_numbers(bad: list[object]) -> None:
    with pytest.raises(ValueError, match="value"):
        xmr(bad)  # type: ignore[arg-type]


def test_improvement_must_be_known() -> None:
    with pytest.raises(ValueError, match="up"):
        xmr([1.0, 2.0], improvement="up")


def test_one_value_has_no_spread() -> None:
    chart = xmr([0.5])
    assert (chart.mean, chart.lower_limit, chart.upper_limit) == (0.5, 0.5, 0.5)
    assert causes(chart) == [C]


# Assurance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("improvement", "target", "assurance"),
    [
        ("increase", 5.0, "consistent_pass"),  # below the lower limit 5.90
        ("increase", 17.0, "consistent_fail"),  # above the upper limit 16.10
        ("increase", 11.0, "inconsistent"),
        ("increase", 16.0, "inconsistent"),
        ("decrease", 5.0, "consistent_fail"),
        ("decrease", 17.0, "consistent_pass"),
        ("decrease", 6.0, "inconsistent"),
        ("neutral", 5.0, None),
        ("increase", None, None),
    ],
)
def test_assurance(improvement: str, target: float | None, assurance: str | None) -> None:
    chart = xmr(BASE, improvement=improvement, target=target)
    assert chart.assurance == assurance
    assert chart.target == target


def test_assurance_in_words() -> None:
    assert describe_assurance(xmr(BASE, improvement="increase", target=11)).startswith(
        "Hit and miss: the target lies within the limits"
    )
    assert "Consistently passing" in describe_assurance(xmr(BASE, improvement="increase", target=5))
    assert "Consistently failing" in describe_assurance(
        xmr(BASE, improvement="increase", target=17)
    )
    assert "No target" in describe_assurance(xmr(BASE, improvement="increase"))
    assert xmr(BASE, improvement="increase", target=5).assurance is Assurance.CONSISTENT_PASS


def test_variation_in_words() -> None:
    labels = [f"M{i}" for i in range(len(BASE) + 7)]
    chart = after_base([12] * 7, "increase")
    assert describe_variation(chart, labels=labels) == (
        "Special cause improvement: 7 months above the mean (M13 to M19)."
    )
    assert describe_variation(after_base([5, 11], "increase")) == (
        "Special cause concern: 1 month below the lower limit; "
        "the latest month shows common cause variation."
    )
    assert describe_variation(xmr(BASE)).startswith("Common cause variation")


# Properties -------------------------------------------------------------------------------

MIRROR = {
    C: C,
    UP: DOWN,
    DOWN: UP,
    TUP: TDOWN,
    TDOWN: TUP,
    TWO_UP: TWO_DOWN,
    TWO_DOWN: TWO_UP,
    RUN_UP: RUN_DOWN,
    RUN_DOWN: RUN_UP,
}

series = st.lists(
    st.floats(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


@given(series)
def test_mirroring_the_values_mirrors_every_signal(values: list[float]) -> None:
    chart = xmr(values, improvement="increase")
    mirrored = xmr([-v for v in values], improvement="decrease")
    assert causes(mirrored) == [MIRROR[c] for c in causes(chart)]
    assert [p.variation for p in mirrored.points] == [p.variation for p in chart.points]
    assert mirrored.mean == -chart.mean
    assert mirrored.upper_limit == -chart.lower_limit


@given(series)
def test_limits_surround_the_mean_and_points_follow_the_values(values: list[float]) -> None:
    chart = xmr(values)
    assert chart.lower_limit <= chart.mean <= chart.upper_limit
    assert min(values) <= chart.mean + 1e-9
    assert chart.mean - 1e-9 <= max(values)
    assert [p.value for p in chart.points] == values
    assert [p.index for p in chart.points] == list(range(len(values)))
    if len(values) < MIN_POINTS:
        assert set(causes(chart)) == {C}
    outside = {
        p.index for p in chart.points if p.special_cause in (SpecialCause.ABOVE_UPPER_LIMIT, DOWN)
    }
    assert outside == {
        i
        for i, v in enumerate(values)
        if len(values) >= MIN_POINTS and not (chart.lower_limit <= v <= chart.upper_limit)
    }
