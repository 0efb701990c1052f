"""The arithmetic of the findings view: intervals, load bands, distributions and the
disclosure of each kind of figure (docs/findings.md, docs/design.md sections 6 and 10).

Pure: numbers in, frozen dataclasses out. The reporting layer counts in SQL and
hands the raw counts here; nothing a service lead sees leaves this module without
passing one of the ``show_*`` functions, so every figure obeys the publication rule:

- a count under 5 is suppressed (``*``), others are rounded to the nearest 5;
- a percentage comes from the unrounded counts, as a whole percent, and is suppressed
  with its numerator or denominator; its 95% Wilson interval is shown only with it;
- a mean (a manageability rating, minutes per case) is shown only when at least 5
  values from at least 3 different workers stand behind it, so no figure describes one
  worker (the same rule suppresses a team's load figures when it has fewer than 3
  workers).

Sources: the Wilson score interval (Wilson 1927; Newcombe 1998, "Two-sided confidence
intervals for the single proportion", method 3); Student's t quantiles for the mean's
interval; quartiles by the inclusive method (``statistics.quantiles``), as a spreadsheet's
QUARTILE.INC.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from caseload.domain.codes import RiskLevel
from caseload.domain.dates import local_date
from caseload.domain.disclosure import SUPPRESS_BELOW, disclose_count, is_suppressed
from caseload.domain.workload import EpisodeSpan, Handover, active_on, holder_on

#: The normal quantile for a two-sided 95% interval.
Z95 = statistics.NormalDist().inv_cdf(0.975)
#: Fewer distinct workers than this behind a figure about workers, and it is suppressed.
MIN_WORKERS = 3
#: Fewer values than this behind a mean, and it is suppressed (the count rule's threshold).
MIN_VALUES = SUPPRESS_BELOW
#: The load bands' lower edges below the cap (the study's "up to 45" load, in steps).
LOAD_EDGES = (30, 40)
#: The bands of risk cases a worker held when writing a note.
RISK_EDGES = (5, 10)
#: Risk ratings that signal risk, as the risk flag reads them
#: (``caseload.domain.flags.has_open_risk``: moderate or high).
SIGNAL_RATINGS = frozenset({RiskLevel.MODERATE, RiskLevel.HIGH})

#: Student's t 97.5% quantiles for 1-30 degrees of freedom; beyond, the normal quantile.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip

NO_DATA = "no data"
SUPPRESSED = "*"


def wilson_interval(successes: int, trials: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion, as fractions (0-1)."""
    if trials <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = (z / (1 + z2 / trials)) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    # At 0 or all successes the bound is exactly 0 or 1 (rounding would leave a hair).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def t_quantile(degrees_of_freedom: int) -> float:
    """Student's t 97.5% quantile (two-sided 95%), from a table to 30, normal beyond."""
    if degrees_of_freedom < 1:
        raise ValueError("at least one degree of freedom")
    if degrees_of_freedom <= len(_T975):
        return _T975[degrees_of_freedom - 1]
    return Z95


def mean_interval(n: int, total: float, sum_of_squares: float) -> tuple[float, float, float]:
    """(mean, low, high): the mean of n values and its 95% t interval, from the three sums
    SQL returns (count, sum, sum of squares). One value gives an interval of no width."""
    if n < 1:
        raise ValueError("a mean needs at least one value")
    mean = total / n
    if n == 1:
        return mean, mean, mean
    variance = max(0.0, (sum_of_squares - total * total / n) / (n - 1))
    half = t_quantile(n - 1) * math.sqrt(variance / n)
    return mean, mean - half, mean + half


def whole_percent(fraction: float) -> int:
    """A fraction as a whole percent, halves up (as ``disclosure.display_rate``)."""
    return int((Decimal(repr(fraction)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def one_decimal(value: float) -> float:
    """A value to one decimal place, halves up."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# Bands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """A range of a figure such as active caseload: values up to ``upper`` (exclusive, or
    inclusive when ``inclusive``); the last band of a set has no upper bound."""

    index: int
    label: str
    upper: int | None
    inclusive: bool = False

    def holds(self, value: float) -> bool:
        """Whether a value at least the previous band's upper bound lies in this band."""
        if self.upper is None:
            return True
        return value <= self.upper if self.inclusive else value < self.upper


def load_bands(cap: int) -> tuple[Band, ...]:
    """The caseload bands: under 30, 30-39, 40 to the cap, over the cap (45 by default).

    Edges at or above the cap are dropped, so a lower cap keeps the bands in order:
    a cap of 35 gives under 30, 30-35 and over 35.
    """
    if cap < 1:
        raise ValueError("the cap must be at least 1")
    edges = [edge for edge in LOAD_EDGES if edge <= cap]
    bands: list[Band] = []
    lower = 0
    for edge in edges:
        label = f"under {edge}" if lower == 0 else f"{lower}-{edge - 1}"
        bands.append(Band(len(bands), label, edge))
        lower = edge
    bands.append(Band(len(bands), f"up to {cap}" if lower == 0 else f"{lower}-{cap}", cap, True))
    bands.append(Band(len(bands), f"over {cap}", None))
    return tuple(bands)


def risk_bands() -> tuple[Band, ...]:
    """The bands of a worker's open risk cases: under 5, 5-9, 10 or more."""
    low, high = RISK_EDGES
    return (
        Band(0, f"under {low}", low),
        Band(1, f"{low}-{high - 1}", high),
        Band(2, f"{high} or more", None),
    )


def band_of(value: float, bands: Sequence[Band]) -> Band:
    """The band a value falls in."""
    for band in bands:
        if band.holds(value):
            return band
    raise ValueError(f"no band holds {value}")  # pragma: no cover - the last band holds all


# Disclosed figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShownShare:
    """A proportion as a service lead may see it."""

    numerator: str
    denominator: str
    #: Whole percent, or None when suppressed or without a denominator.
    percent: int | None
    #: The 95% Wilson interval in whole percents, only alongside ``percent``.
    low: int | None = None
    high: int | None = None
    #: Why there is no percent: "" when shown, SUPPRESSED or NO_DATA.
    withheld: str = ""

    @property
    def text(self) -> str:
        """ "22%", "*" or "no data"."""
        return f"{self.percent}%" if self.percent is not None else self.withheld

    @property
    def interval_text(self) -> str:
        """ "15% to 30%", or "" when not shown."""
        if self.low is None or self.high is None:
            return ""
        return f"{self.low}% to {self.high}%"

    @property
    def shown(self) -> bool:
        """Whether the percentage may be shown."""
        return self.percent is not None


def show_count(n: int, *, enough_workers: bool = True) -> str:
    """A count as published: "*" under 5 (or without enough workers behind it), else
    rounded to the nearest 5."""
    shown = disclose_count(n)
    return SUPPRESSED if shown is None or not enough_workers else str(shown)


def show_share(numerator: int, denominator: int, *, enough_workers: bool = True) -> ShownShare:
    """A proportion after disclosure control: suppressed when its numerator or
    denominator is under 5, or when fewer than 3 workers stand behind a figure about
    workers (``enough_workers``); "no data" without a denominator."""
    if numerator > denominator:
        raise ValueError(f"numerator {numerator} exceeds denominator {denominator}")
    counts = (
        show_count(numerator, enough_workers=enough_workers),
        show_count(denominator, enough_workers=enough_workers),
    )
    if denominator == 0:
        return ShownShare(*counts, percent=None, withheld=NO_DATA)
    if not enough_workers or is_suppressed(numerator) or is_suppressed(denominator):
        return ShownShare(*counts, percent=None, withheld=SUPPRESSED)
    low, high = wilson_interval(numerator, denominator)
    return ShownShare(
        *counts,
        percent=whole_percent(numerator / denominator),
        low=whole_percent(low),
        high=whole_percent(high),
    )


@dataclass(frozen=True)
class ShownMean:
    """A mean (with its 95% interval) as a service lead may see it."""

    #: How many values stand behind it, as a published count.
    count: str
    mean: float | None
    low: float | None = None
    high: float | None = None
    withheld: str = ""

    @property
    def text(self) -> str:
        """ "3.2", "*" or "no data"."""
        return f"{self.mean:.1f}" if self.mean is not None else self.withheld

    @property
    def interval_text(self) -> str:
        """ "2.8 to 3.6", or "" when not shown."""
        if self.low is None or self.high is None:
            return ""
        return f"{self.low:.1f} to {self.high:.1f}"

    @property
    def shown(self) -> bool:
        """Whether the mean may be shown."""
        return self.mean is not None


def show_mean(
    n: int, total: float, sum_of_squares: float, *, workers: int, interval: bool = True
) -> ShownMean:
    """A mean after disclosure control: withheld with fewer than 5 values or fewer than
    3 different workers behind it; "no data" with none."""
    if n == 0:
        return ShownMean(count=show_count(0), mean=None, withheld=NO_DATA)
    enough = n >= MIN_VALUES and workers >= MIN_WORKERS
    count = show_count(n, enough_workers=workers >= MIN_WORKERS)
    if not enough:
        return ShownMean(count=count, mean=None, withheld=SUPPRESSED)
    mean, low, high = mean_interval(n, total, sum_of_squares)
    if not interval:
        return ShownMean(count=count, mean=one_decimal(mean))
    return ShownMean(
        count=count, mean=one_decimal(mean), low=one_decimal(low), high=one_decimal(high)
    )


@dataclass(frozen=True)
class Distribution:
    """The median and upper quartile of a set of values (worker-weeks, worker-years)."""

    count: int
    median: float
    upper_quartile: float


def distribution(values: Iterable[float]) -> Distribution | None:
    """Median and upper quartile (inclusive method), or None without values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return Distribution(1, float(data[0]), float(data[0]))
    upper = statistics.quantiles(data, n=4, method="inclusive")[2]
    return Distribution(len(data), float(statistics.median(data)), float(upper))


@dataclass(frozen=True)
class ShownDistribution:
    """A distribution of worker load as a service lead may see it."""

    median: float | None
    upper_quartile: float | None
    withheld: str = ""

    @property
    def median_text(self) -> str:
        """The median to one decimal, or why it is withheld."""
        return f"{self.median:.1f}" if self.median is not None else self.withheld

    @property
    def upper_quartile_text(self) -> str:
        """The upper quartile to one decimal, or why it is withheld."""
        return f"{self.upper_quartile:.1f}" if self.upper_quartile is not None else self.withheld


def show_distribution(
    found: Distribution | None, *, workers: int, min_values: int = MIN_VALUES
) -> ShownDistribution:
    """A distribution after disclosure control: withheld with fewer than ``min_values``
    values (5 unless the values are one per worker) or fewer than 3 workers behind it."""
    if found is None:
        return ShownDistribution(None, None, NO_DATA)
    if found.count < min_values or workers < MIN_WORKERS:
        return ShownDistribution(None, None, SUPPRESSED)
    return ShownDistribution(one_decimal(found.median), one_decimal(found.upper_quartile))


# Risk cases when a note was written -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskObservation:
    """What one attended contact said about risk: whether its risk-item answer was a
    signal (None when no risk item was answered) and whether its rated risk was moderate
    or high (None when none was rated)."""

    episode_id: int
    at: datetime
    contact_id: int
    answer_signal: bool | None
    rating_signal: bool | None


def risk_open_at(observations: Sequence[RiskObservation], moment: datetime) -> bool:
    """The risk rule (``flags.has_open_risk``) asked of a past moment: the latest risk-item
    answer by then was a signal, or the latest rating by then was moderate or high.
    ``observations`` are one episode's, in time order."""
    answer: bool | None = None
    rating: bool | None = None
    for seen in observations:
        if seen.at > moment:
            break
        if seen.answer_signal is not None:
            answer = seen.answer_signal
        if seen.rating_signal is not None:
            rating = seen.rating_signal
    return bool(answer) or bool(rating)


def risk_cases_at(
    moment: datetime,
    *,
    worker_id: int,
    spans: Sequence[EpisodeSpan],
    handovers: Mapping[int, Sequence[Handover]],
    observations: Mapping[int, Sequence[RiskObservation]],
) -> int:
    """How many episodes a worker held, active and with risk open, at a moment (the UK day
    of the moment for holding and activity, as the weekly caseload counts them)."""
    day = local_date(moment)
    count = 0
    for span in spans:
        if not active_on(span, day):
            continue
        if holder_on(span, handovers.get(span.episode_id, ()), day) != worker_id:
            continue
        count += risk_open_at(observations.get(span.episode_id, ()), moment)
    return count


def sorted_observations(
    observations: Iterable[RiskObservation],
) -> dict[int, list[RiskObservation]]:
    """Observations grouped by episode, each group in time order."""
    grouped: dict[int, list[RiskObservation]] = {}
    for seen in sorted(observations, key=lambda o: (o.at, o.contact_id)):
        grouped.setdefault(seen.episode_id, []).append(seen)
    return grouped


#: Treatments finished a year are worked out only for workers with at least this many
#: weeks holding an active case in the period, so a new starter is not annualised from a
#: few weeks.
MIN_ACTIVE_WEEKS = 13
WEEKS_A_YEAR = 52


def treatments_a_year(
    weekly: Mapping[int, Sequence[int]], finished: Mapping[int, int]
) -> list[float]:
    """Treatments finished a year per worker: finished x 52 / the weeks they held at least
    one active case, for workers with 13 or more such weeks (one value per worker, in no
    worker's name)."""
    rates = []
    for worker, counts in weekly.items():
        active_weeks = sum(1 for count in counts if count > 0)
        if active_weeks >= MIN_ACTIVE_WEEKS:
            rates.append(finished.get(worker, 0) * WEEKS_A_YEAR / active_weeks)
    return rates
