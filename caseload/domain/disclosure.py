"""Statistical disclosure control for central figures (docs/design.md section 6).

The rule follows NHS England's publication practice for NHS Talking
Therapies data: a count below 5 (including 0) is suppressed and shown as
``*``; any other count is rounded to the nearest 5; a percentage is
computed from the unrounded counts and suppressed when its numerator or
denominator is suppressed (or the denominator is 0).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SUPPRESSED = "*"
SUPPRESS_BELOW = 5
ROUND_TO = 5


def _check_count(name: str, n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"{name} must be a whole number, not {n!r}")
    if n < 0:
        raise ValueError(f"{name} cannot be negative")


def is_suppressed(n: int) -> bool:
    """True when a count is too small to publish (below 5, so 0 too)."""
    _check_count("count", n)
    return n < SUPPRESS_BELOW


def disclose_count(n: int) -> int | None:
    """The count rounded to the nearest 5, or None when suppressed."""
    if is_suppressed(n):
        return None
    # Nearest multiple of 5, halves up; an integer is never exactly halfway.
    return (n + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def disclose_rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator from the unrounded counts, or None when either is suppressed."""
    _check_count("numerator", numerator)
    _check_count("denominator", denominator)
    if numerator > denominator:
        raise ValueError(f"numerator {numerator} exceeds denominator {denominator}")
    if is_suppressed(numerator) or is_suppressed(denominator):
        return None
    return numerator / denominator


def display_count(n: int) -> str:
    """The published form of a count: "*" or a multiple of 5."""
    shown = disclose_count(n)
    return SUPPRESSED if shown is None else str(shown)


def display_rate(numerator: int, denominator: int) -> str:
    """The published form of a percentage, e.g. "52%", or "*" when suppressed."""
    if disclose_rate(numerator, denominator) is None:
        return SUPPRESSED
    percent = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return f"{percent}%"
