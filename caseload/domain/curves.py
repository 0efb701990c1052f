"""Expected-recovery curves for the "not on track" flag.

Method: take the service's own finished episodes. For each, the series of
one measure's totals at attended contacts in order (contact 1 is usually
the assessment). Group the series by starting band (the band of the first
score). For each starting band and contact number n, the expected score is
the median of the n-th scores of the episodes that reached n scored
contacts, kept only when at least ``min_episodes`` episodes contribute.

A series is off track when, with at least ``from_contact`` scored contacts,
its latest score is worse than the expected score for that contact number
and starting band by more than the measure's reliable-change threshold.
Where the curves have no expected score for that cell (too few episodes),
the fallback is the docs/design.md rule "no reliable improvement by contact 4":
off track when the latest score is not at least the reliable-change
threshold below the first.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from caseload.domain.measures import Measure

DEFAULT_MIN_EPISODES = 10
DEFAULT_FROM_CONTACT = 4


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """The expected score at one contact number for one starting band."""

    start_band: str
    contact_number: int
    expected: float
    episodes: int


@dataclass(frozen=True, slots=True)
class ExpectedCurves:
    """Expected (median) scores by starting band and contact number, for one measure."""

    measure_id: str
    min_episodes: int
    points: tuple[CurvePoint, ...] = ()
    _lookup: dict[tuple[str, int], float] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        lookup: dict[tuple[str, int], float] = {}
        for point in self.points:
            cell = (point.start_band, point.contact_number)
            if cell in lookup:
                raise ValueError(f"duplicate curve point for {cell}")
            lookup[cell] = point.expected
        object.__setattr__(self, "_lookup", lookup)

    def expected(self, start_band_key: str, contact_number: int) -> float | None:
        """The expected score at this contact number for this starting band, or None."""
        return self._lookup.get((start_band_key, contact_number))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready plain dict (for caching in the database)."""
        return {
            "measure_id": self.measure_id,
            "min_episodes": self.min_episodes,
            "points": [
                {
                    "start_band": p.start_band,
                    "contact_number": p.contact_number,
                    "expected": p.expected,
                    "episodes": p.episodes,
                }
                for p in self.points
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExpectedCurves:
        """Rebuild curves from ``to_dict`` output; ValueError when malformed."""
        try:
            measure_id = data["measure_id"]
            min_episodes = data["min_episodes"]
            raw_points = data["points"]
            points = tuple(
                CurvePoint(
                    start_band=str(p["start_band"]),
                    contact_number=int(p["contact_number"]),
                    expected=float(p["expected"]),
                    episodes=int(p["episodes"]),
                )
                for p in raw_points
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed expected curves: {exc}") from exc
        if not isinstance(measure_id, str) or not isinstance(min_episodes, int):
            raise ValueError("malformed expected curves: measure_id or min_episodes")
        return cls(measure_id=measure_id, min_episodes=min_episodes, points=points)


def build_expected_curves(
    series: Iterable[Sequence[int]], *, measure: Measure, min_episodes: int = DEFAULT_MIN_EPISODES
) -> ExpectedCurves:
    """Median score per (starting band, contact number) over finished episodes' series."""
    if min_episodes < 1:
        raise ValueError("min_episodes must be at least 1")
    cells: dict[tuple[str, int], list[int]] = defaultdict(list)
    for scores in series:
        if not scores:
            continue
        start = measure.band_for(scores[0]).key
        for number, value in enumerate(scores, start=1):
            measure.band_for(value)  # validates the score is in range
            cells[(start, number)].append(value)
    band_order = {band.key: index for index, band in enumerate(measure.bands)}
    points = tuple(
        CurvePoint(
            start_band=band,
            contact_number=number,
            expected=float(statistics.median(values)),
            episodes=len(values),
        )
        for (band, number), values in sorted(
            cells.items(), key=lambda kv: (band_order[kv[0][0]], kv[0][1])
        )
        if len(values) >= min_episodes
    )
    return ExpectedCurves(measure_id=measure.id, min_episodes=min_episodes, points=points)


def is_off_track(
    series: Sequence[int],
    *,
    curves: ExpectedCurves | None,
    measure: Measure,
    from_contact: int = DEFAULT_FROM_CONTACT,
) -> bool | None:
    """Whether a series is off its expected curve (None before ``from_contact`` scores)."""
    if measure.reliable_change is None or len(series) < from_contact:
        return None
    if curves is not None and curves.measure_id != measure.id:
        raise ValueError(f"curves are for {curves.measure_id}, not {measure.id}")
    first, latest = series[0], series[-1]
    expected = None
    if curves is not None:
        expected = curves.expected(measure.band_for(first).key, len(series))
    if expected is not None:
        return latest - expected > measure.reliable_change
    return first - latest < measure.reliable_change


def uses_fallback(
    series: Sequence[int], *, curves: ExpectedCurves | None, measure: Measure
) -> bool:
    """True when ``is_off_track`` would use the fallback rule for this series."""
    if curves is None or not series:
        return True
    return curves.expected(measure.band_for(series[0]).key, len(series)) is None
