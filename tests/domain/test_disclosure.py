"""Disclosure control: suppression below 5, rounding to the nearest 5, suppressed rates."""

from __future__ import annotations

import pytest

from caseload.domain.disclosure import (
    SUPPRESSED,
    disclose_count,
    disclose_rate,
    display_count,
    display_rate,
    is_suppressed,
)


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, None),
        (1, None),
        (4, None),
        (5, 5),
        (6, 5),
        (7, 5),
        (8, 10),
        (12, 10),
        (13, 15),
        (15, 15),
        (17, 15),
        (18, 20),
        (1002, 1000),
        (1003, 1005),
    ],
)
def test_disclose_count(n: int, shown: int | None) -> None:
    assert disclose_count(n) == shown
    assert display_count(n) == (SUPPRESSED if shown is None else str(shown))
    assert is_suppressed(n) is (shown is None)


@pytest.mark.parametrize("bad", [-1, True, 2.0, "5"])
def test_disclose_count_rejects_non_counts(bad: object) -> None:
    with pytest.raises(ValueError, match="count"):
        disclose_count(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("num", "den", "value", "text"),
    [
        (26, 50, 0.52, "52%"),
        (7, 12, 7 / 12, "58%"),  # from unrounded counts: 7/12, not 5/10
        (5, 5, 1.0, "100%"),
        (4, 50, None, "*"),  # numerator suppressed
        (0, 50, None, "*"),  # zero is below 5
        (3, 4, None, "*"),  # both suppressed
        (1, 8, None, "*"),
        (5, 8, 0.625, "63%"),  # halves round up
        (0, 0, None, "*"),  # empty denominator
    ],
)
def test_disclose_rate(num: int, den: int, value: float | None, text: str) -> None:
    result = disclose_rate(num, den)
    if value is None:
        assert result is None
    else:
        assert result == pytest.approx(value)
    assert display_rate(num, den) == text


def test_rate_numerator_above_denominator_raises() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        disclose_rate(10, 5)
