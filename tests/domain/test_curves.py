"""Expected-recovery curves and the off-track test, including the fallback."""

from __future__ import annotations

import json

import pytest

from caseload.domain.curves import (
    CurvePoint,
    ExpectedCurves,
    build_expected_curves,
    is_off_track,
    uses_fallback,
)
from caseload.domain.measures import GAD7, PHQ9, get_measure

PHQ = get_measure(PHQ9)


def _moderate_cohort(count: int) -> list[tuple[int, ...]]:
    """Episodes starting in the moderate band (10-14) and falling steadily."""
    return [(12 + (i % 3) - 1, 11, 9, 8, 7, 6) for i in range(count)]


def test_medians_per_band_and_contact() -> None:
    series = [(20, 18, 16, 14), (22, 20, 18, 15), (24, 21, 18, 16), (12, 10), (13, 9)]
    curves = build_expected_curves(series, measure=PHQ, min_episodes=2)
    assert curves.expected("severe", 1) == 22
    assert curves.expected("severe", 4) == 15
    assert curves.expected("moderate", 2) == 9.5
    assert curves.expected("moderate", 3) is None  # nobody reached contact 3
    assert curves.expected("mild", 1) is None


def test_min_episodes_hides_thin_cells() -> None:
    curves = build_expected_curves(_moderate_cohort(9), measure=PHQ)
    assert curves.points == ()
    curves = build_expected_curves(_moderate_cohort(10), measure=PHQ)
    assert curves.expected("moderate", 4) == 8.0
    assert all(p.episodes == 10 for p in curves.points)


def test_curves_round_trip_through_json() -> None:
    curves = build_expected_curves(_moderate_cohort(12), measure=PHQ)
    again = ExpectedCurves.from_dict(json.loads(json.dumps(curves.to_dict())))
    assert again == curves
    assert again.expected("moderate", 6) == 6.0


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"measure_id": "phq9", "min_episodes": 10},
        {"measure_id": 1, "min_episodes": 1, "points": []},
    ],
)
def test_malformed_curves_raise(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="malformed"):
        ExpectedCurves.from_dict(data)


def test_duplicate_points_raise() -> None:
    point = CurvePoint("moderate", 1, 12.0, 10)
    with pytest.raises(ValueError, match="duplicate"):
        ExpectedCurves("phq9", 10, (point, point))


def test_out_of_range_scores_raise() -> None:
    with pytest.raises(ValueError, match="outside"):
        build_expected_curves([(12, 30)], measure=PHQ, min_episodes=1)


def test_min_episodes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        build_expected_curves([], measure=PHQ, min_episodes=0)


CURVES = build_expected_curves(_moderate_cohort(10), measure=PHQ)  # expected at contact 4: 8


@pytest.mark.parametrize(
    ("series", "off"),
    [
        ((12, 11, 10, 14), False),  # 14 is 6 above expected 8: exactly the threshold, not more
        ((12, 11, 10, 15), True),  # 7 above expected: off track
        ((12, 11, 10, 8), False),
        ((12, 11, 10), None),  # fewer than 4 scored contacts
    ],
)
def test_off_track_against_curve(series: tuple[int, ...], off: bool | None) -> None:
    assert is_off_track(series, curves=CURVES, measure=PHQ) is off
    if off is not None:
        assert not uses_fallback(series, curves=CURVES, measure=PHQ)


@pytest.mark.parametrize(
    ("series", "off"),
    [
        ((18, 16, 14, 12), False),  # fell 6 by contact 4: reliable improvement
        ((18, 16, 14, 13), True),  # fell 5: no reliable improvement
        ((18, 18, 18, 18, 18), True),
        ((18, 12, 13, 11, 11), False),
    ],
)
def test_fallback_no_reliable_improvement_by_contact_4(series: tuple[int, ...], off: bool) -> None:
    # Starting band moderately severe has no curve data, so the fallback applies.
    assert uses_fallback(series, curves=CURVES, measure=PHQ)
    assert is_off_track(series, curves=CURVES, measure=PHQ) is off
    assert is_off_track(series, curves=None, measure=PHQ) is off


def test_fallback_for_gad7_uses_its_threshold() -> None:
    gad = get_measure(GAD7)
    assert is_off_track((12, 11, 10, 8), curves=None, measure=gad) is False
    assert is_off_track((12, 11, 10, 9), curves=None, measure=gad) is True


def test_measure_without_reliable_change_is_not_assessed() -> None:
    assert is_off_track((20, 20, 20, 20), curves=None, measure=get_measure("wsas")) is None


def test_curves_for_another_measure_raise() -> None:
    with pytest.raises(ValueError, match="curves are for"):
        is_off_track((12, 12, 12, 12), curves=CURVES, measure=get_measure(GAD7))
