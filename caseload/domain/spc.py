"""Statistical process control: XmR charts the NHS "Making Data Count" way.

The rules are docs/design.md section 9, which follows NHS England's "Making
Data Count" guidance and the NHS-R Community's "plot the dots" method
(the NHSRplotthedots R package):

- centre line: the mean of the values, or of the first ``baseline_points``
  values when a baseline is fixed (12 or more);
- moving ranges ``|x(i) - x(i-1)|`` (within the baseline) and their mean;
  with outlier screening (the default) a moving range at or above
  3.267 x that mean is left out and the mean is taken again;
- process limits: mean +/- 2.66 x mean moving range; a point is "close to a
  limit" beyond two thirds of that distance from the mean but inside the
  limits;
- special causes, first that applies: outside the limits (strictly); part of
  a trend of 7 or more points each strictly higher (lower) than the one
  before; 2 of 3 consecutive points close to a limit with all 3 on the same
  side of the mean (only the close points are marked); part of a run of 7 or
  more points on the same side of the mean (a point on the mean breaks it);
- variation: for a figure where higher is better, high signals are
  improvement and low ones concern; the reverse when lower is better;
  neutral figures are simply high or low;
- assurance against a target (not for neutral figures): a target beyond the
  limits on the bad side means the process will consistently fail it, on the
  good side consistently pass it; between the limits (inclusive), hit and miss.

With fewer than 12 points the chart can be drawn but its limits are not yet
reliable: every point is then common cause (no special cause is claimed) and
the words say why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from statistics import fmean

from caseload.domain.wording import plural

#: Points needed before limits are reliable and special causes are claimed.
MIN_POINTS = 12
#: Mean moving range x 2.66 is the distance from the mean to each process limit.
LIMIT_FACTOR = 2.66
#: Moving ranges at or above this multiple of their mean are screened out.
SCREEN_FACTOR = 3.267
#: A trend is this many points, each strictly beyond the one before.
TREND_POINTS = 7
#: A run is this many points on the same side of the mean.
RUN_POINTS = 7


class Improvement(StrEnum):
    """Which direction of change is good for a figure."""

    INCREASE = "increase"
    DECREASE = "decrease"
    NEUTRAL = "neutral"


class SpecialCause(StrEnum):
    """The rule a point triggers, or common cause (first that applies)."""

    COMMON = "common"
    ABOVE_UPPER_LIMIT = "above_upper_limit"
    BELOW_LOWER_LIMIT = "below_lower_limit"
    TREND_UP = "trend_up"
    TREND_DOWN = "trend_down"
    TWO_OF_THREE_ABOVE = "two_of_three_above"
    TWO_OF_THREE_BELOW = "two_of_three_below"
    RUN_ABOVE = "run_above"
    RUN_BELOW = "run_below"

    @property
    def is_high(self) -> bool:
        """True for the rules that signal a high or rising process."""
        return self in _HIGH_CAUSES

    @property
    def label(self) -> str:
        """Plain words for the rule."""
        return _CAUSE_LABELS[self]


_HIGH_CAUSES = frozenset(
    {
        SpecialCause.ABOVE_UPPER_LIMIT,
        SpecialCause.TREND_UP,
        SpecialCause.TWO_OF_THREE_ABOVE,
        SpecialCause.RUN_ABOVE,
    }
)

_CAUSE_LABELS: dict[SpecialCause, str] = {
    SpecialCause.COMMON: "common cause",
    SpecialCause.ABOVE_UPPER_LIMIT: "above the upper limit",
    SpecialCause.BELOW_LOWER_LIMIT: "below the lower limit",
    SpecialCause.TREND_UP: "rising in a row",
    SpecialCause.TREND_DOWN: "falling in a row",
    SpecialCause.TWO_OF_THREE_ABOVE: "close to the upper limit",
    SpecialCause.TWO_OF_THREE_BELOW: "close to the lower limit",
    SpecialCause.RUN_ABOVE: "above the mean",
    SpecialCause.RUN_BELOW: "below the mean",
}


class Variation(StrEnum):
    """What a point's special cause means for this figure."""

    COMMON_CAUSE = "common_cause"
    IMPROVEMENT = "improvement"
    CONCERN = "concern"
    NEUTRAL_HIGH = "neutral_high"
    NEUTRAL_LOW = "neutral_low"

    @property
    def label(self) -> str:
        """Plain words, as Making Data Count names them."""
        return _VARIATION_LABELS[self]


_VARIATION_LABELS: dict[Variation, str] = {
    Variation.COMMON_CAUSE: "Common cause variation",
    Variation.IMPROVEMENT: "Special cause improvement",
    Variation.CONCERN: "Special cause concern",
    Variation.NEUTRAL_HIGH: "Special cause variation (high)",
    Variation.NEUTRAL_LOW: "Special cause variation (low)",
}


class Assurance(StrEnum):
    """Whether the process can be relied on to meet its target."""

    CONSISTENT_PASS = "consistent_pass"  # noqa: S105 (an assurance, not a password)
    CONSISTENT_FAIL = "consistent_fail"
    INCONSISTENT = "inconsistent"


@dataclass(frozen=True, slots=True)
class XmrPoint:
    """One value on the chart and what it signals."""

    index: int
    value: float
    #: |value - previous value|; None for the first point.
    moving_range: float | None
    special_cause: SpecialCause
    variation: Variation


@dataclass(frozen=True, slots=True)
class Signal:
    """Consecutive points sharing one special cause (for the words beside a chart)."""

    special_cause: SpecialCause
    variation: Variation
    start: int
    end: int

    @property
    def count(self) -> int:
        """How many points the signal spans."""
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class XmrChart:
    """An XmR chart: centre line, process limits, classified points, assurance."""

    mean: float
    lower_limit: float
    upper_limit: float
    mean_moving_range: float
    points: tuple[XmrPoint, ...]
    improvement: Improvement
    target: float | None
    assurance: Assurance | None
    #: Leading points that fixed the mean and limits (all of them when none was fixed).
    baseline_points: int

    @property
    def enough_points(self) -> bool:
        """Whether there are enough points for reliable limits and special causes."""
        return len(self.points) >= MIN_POINTS

    @property
    def values(self) -> tuple[float, ...]:
        """The values, in order."""
        return tuple(p.value for p in self.points)

    @property
    def signals(self) -> tuple[Signal, ...]:
        """Runs of consecutive points with the same special cause, oldest first."""
        found: list[Signal] = []
        for point in self.points:
            if point.special_cause is SpecialCause.COMMON:
                continue
            last = found[-1] if found else None
            if (
                last is not None
                and last.special_cause is point.special_cause
                and last.end == point.index - 1
            ):
                found[-1] = Signal(last.special_cause, last.variation, last.start, point.index)
            else:
                found.append(Signal(point.special_cause, point.variation, point.index, point.index))
        return tuple(found)


def xmr(
    values: Iterable[float],
    *,
    improvement: str = "neutral",
    target: float | None = None,
    screen_outliers: bool = True,
    baseline_points: int | None = None,
) -> XmrChart:
    """An XmR chart of these values in order (docs/design.md section 9).

    ``improvement`` is ``"increase"``, ``"decrease"`` or ``"neutral"``;
    ``baseline_points`` (12 or more, at most the number of values) fixes the
    mean and limits from that many leading values. Raises ValueError for no
    values, a value that is not a finite number, or a bad argument.
    """
    xs = _finite(values)
    direction = Improvement(improvement)
    base = _baseline(xs, baseline_points)
    mean = math.fsum(base) / len(base)
    mean_mr = _mean_moving_range(base, screen=screen_outliers)
    spread = LIMIT_FACTOR * mean_mr
    lower, upper = mean - spread, mean + spread
    if len(xs) >= MIN_POINTS:
        causes = _special_causes(xs, mean=mean, lower=lower, upper=upper)
    else:
        causes = [SpecialCause.COMMON] * len(xs)
    points = tuple(
        XmrPoint(
            index=i,
            value=x,
            moving_range=abs(x - xs[i - 1]) if i else None,
            special_cause=cause,
            variation=_variation(cause, direction),
        )
        for i, (x, cause) in enumerate(zip(xs, causes, strict=True))
    )
    goal = None if target is None else _finite([target])[0]
    return XmrChart(
        mean=mean,
        lower_limit=lower,
        upper_limit=upper,
        mean_moving_range=mean_mr,
        points=points,
        improvement=direction,
        target=goal,
        assurance=_assurance(goal, direction, lower=lower, upper=upper),
        baseline_points=len(base),
    )


def _finite(values: Iterable[float]) -> list[float]:
    xs: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"an XmR value must be a number, not {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"an XmR value must be finite, not {value!r}")
        xs.append(float(value))
    if not xs:
        raise ValueError("an XmR chart needs at least one value")
    return xs


def _baseline(xs: Sequence[float], baseline_points: int | None) -> Sequence[float]:
    if baseline_points is None:
        return xs
    if isinstance(baseline_points, bool) or not isinstance(baseline_points, int):
        raise ValueError(f"baseline_points must be a whole number, not {baseline_points!r}")
    if baseline_points < MIN_POINTS:
        raise ValueError(f"a fixed baseline needs at least {MIN_POINTS} points")
    if baseline_points > len(xs):
        raise ValueError(f"baseline_points {baseline_points} exceeds the {len(xs)} values")
    return xs[:baseline_points]


def _mean_moving_range(xs: Sequence[float], *, screen: bool) -> float:
    ranges = [abs(b - a) for a, b in pairwise(xs)]
    if not ranges:
        return 0.0
    mean = fmean(ranges)
    if screen and mean > 0:
        # Making Data Count: a moving range at or above 3.267 x the mean is an outlier
        # that would widen the limits; leave it out and take the mean again.
        ranges = [r for r in ranges if r < SCREEN_FACTOR * mean]
        mean = fmean(ranges)
    return mean


def _special_causes(
    xs: Sequence[float], *, mean: float, lower: float, upper: float
) -> list[SpecialCause]:
    n = len(xs)
    causes = [SpecialCause.COMMON] * n

    def mark(i: int, cause: SpecialCause) -> None:
        if causes[i] is SpecialCause.COMMON:
            causes[i] = cause

    # 1. Outside the limits.
    for i, x in enumerate(xs):
        if x > upper:
            mark(i, SpecialCause.ABOVE_UPPER_LIMIT)
        elif x < lower:
            mark(i, SpecialCause.BELOW_LOWER_LIMIT)

    # 2. Trends: step s joins points s and s + 1; a trend is TREND_POINTS - 1 steps.
    steps = [_sign(b - a) for a, b in pairwise(xs)]
    in_trend = [0] * len(steps)  # the step's direction when it is part of a trend
    for start, length, sign in _streaks(steps):
        if sign != 0 and length >= TREND_POINTS - 1:
            for s in range(start, start + length):
                in_trend[s] = sign
    for i in range(n):
        after = in_trend[i] if i < len(steps) else 0
        before = in_trend[i - 1] if i > 0 else 0
        sign = after or before
        if sign:
            mark(i, SpecialCause.TREND_UP if sign > 0 else SpecialCause.TREND_DOWN)

    # 3. Two of three close to a limit, all three on the same side of the mean.
    two_thirds = 2 * (upper - lower) / 6  # two thirds of the distance to either limit
    side = [_sign(x - mean) for x in xs]
    close = [
        (1 if x > mean + two_thirds else -1 if x < mean - two_thirds else 0)
        if lower <= x <= upper
        else 0
        for x in xs
    ]
    for i in range(n - 2):
        window = range(i, i + 3)
        for sign, cause in (
            (1, SpecialCause.TWO_OF_THREE_ABOVE),
            (-1, SpecialCause.TWO_OF_THREE_BELOW),
        ):
            if all(side[j] == sign for j in window) and sum(close[j] == sign for j in window) >= 2:
                for j in window:
                    if close[j] == sign:
                        mark(j, cause)

    # 4. Runs on one side of the mean.
    for start, length, sign in _streaks(side):
        if sign != 0 and length >= RUN_POINTS:
            for i in range(start, start + length):
                mark(i, SpecialCause.RUN_ABOVE if sign > 0 else SpecialCause.RUN_BELOW)
    return causes


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _streaks(signs: Sequence[int]) -> list[tuple[int, int, int]]:
    """(start, length, sign) of each maximal stretch of equal signs."""
    found: list[tuple[int, int, int]] = []
    for i, sign in enumerate(signs):
        if found and found[-1][2] == sign and found[-1][0] + found[-1][1] == i:
            start, length, _ = found[-1]
            found[-1] = (start, length + 1, sign)
        else:
            found.append((i, 1, sign))
    return found


def _variation(cause: SpecialCause, improvement: Improvement) -> Variation:
    if cause is SpecialCause.COMMON:
        return Variation.COMMON_CAUSE
    if improvement is Improvement.NEUTRAL:
        return Variation.NEUTRAL_HIGH if cause.is_high else Variation.NEUTRAL_LOW
    good = cause.is_high == (improvement is Improvement.INCREASE)
    return Variation.IMPROVEMENT if good else Variation.CONCERN


def _assurance(
    target: float | None, improvement: Improvement, *, lower: float, upper: float
) -> Assurance | None:
    if target is None or improvement is Improvement.NEUTRAL:
        return None
    if lower <= target <= upper:
        return Assurance.INCONSISTENT
    target_above = target > upper
    # Higher is better: a target above the limits is out of reach, below them always met.
    fails = target_above == (improvement is Improvement.INCREASE)
    return Assurance.CONSISTENT_FAIL if fails else Assurance.CONSISTENT_PASS


# Words beside a chart ------------------------------------------------------------------


def describe_variation(
    chart: XmrChart, *, labels: Sequence[str] | None = None, unit: str = "month"
) -> str:
    """One sentence on the chart's variation, the latest signal first.

    ``labels`` names the points (e.g. "Mar 2025"), one per point; ``unit`` is the
    noun for a point ("month").
    """
    if not chart.enough_points:
        return (
            f"Fewer than {MIN_POINTS} {unit}s of data: the limits are not yet reliable, "
            "so no special cause is claimed."
        )
    signals = chart.signals
    if not signals:
        return f"{Variation.COMMON_CAUSE.label}: no special cause in {len(chart.points)} {unit}s."
    latest = signals[-1]
    words = f"{latest.variation.label}: {_signal_words(latest, unit)}"
    if labels is not None:
        words += f" ({_span(latest, labels)})"
    if latest.end != len(chart.points) - 1:
        words += f"; the latest {unit} shows common cause variation"
    return words + "."


def _signal_words(signal: Signal, unit: str) -> str:
    return f"{plural(signal.count, unit)} {signal.special_cause.label}"


def _span(signal: Signal, labels: Sequence[str]) -> str:
    if len(labels) <= signal.end:
        raise ValueError("one label is needed per point")
    first, last = labels[signal.start], labels[signal.end]
    return first if signal.start == signal.end else f"{first} to {last}"


def describe_assurance(chart: XmrChart, *, unit: str = "month") -> str:
    """One sentence on whether the process meets its target."""
    if chart.target is None:
        return "No target is set for this figure."
    if chart.improvement is Improvement.NEUTRAL:
        return "No assurance is given for a figure with no better direction."
    if not chart.enough_points:
        return f"No assurance yet: fewer than {MIN_POINTS} {unit}s of data."
    if chart.assurance is Assurance.INCONSISTENT:
        return (
            "Hit and miss: the target lies within the limits, "
            f"so it will be met in some {unit}s and missed in others."
        )
    if chart.assurance is Assurance.CONSISTENT_PASS:
        return "Consistently passing: the target lies outside the limits on the good side."
    return (
        "Consistently failing: the target lies outside the limits on the bad side; "
        "the process will not meet it without change."
    )
