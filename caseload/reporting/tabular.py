"""Cells and CSV text for central-reporting tables, after disclosure control.

The figures come from :mod:`caseload.reporting.base` (consenting clients only) and
reach a file through these helpers only, so every export writes a suppressed count,
a rounded count and a suppressed rate the same way (docs/design.md section 6):

- a count: ``*`` below 5, else rounded to the nearest 5;
- a rate: a percentage with one decimal (halves up) from the unrounded counts,
  ``*`` when its numerator or denominator is suppressed, and empty when there is
  no denominator at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from caseload.domain.disclosure import SUPPRESSED, disclose_count, disclose_rate

ONE_DECIMAL = Decimal("0.1")


class RateStatus(StrEnum):
    """Why a rate is shown or not."""

    SHOWN = "shown"
    SUPPRESSED = "suppressed"
    NO_DENOMINATOR = "no_denominator"


@dataclass(frozen=True, slots=True)
class DisclosedRate:
    """A percentage safe to publish: its value, or why it has none."""

    status: RateStatus
    #: The exact percentage from the unrounded counts (0-100), when shown.
    percent: Decimal | None = None

    @property
    def value(self) -> float | None:
        """The percentage as a number for a chart, when shown."""
        return None if self.percent is None else float(self.percent)

    @property
    def shown(self) -> bool:
        """Whether the rate may be shown."""
        return self.status is RateStatus.SHOWN

    @property
    def text(self) -> str:
        """The cell: "52.3", "*", or "" without a denominator."""
        if self.status is RateStatus.NO_DENOMINATOR:
            return ""
        if self.percent is None:
            return SUPPRESSED
        return str(self.percent.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP))

    @property
    def label(self) -> str:
        """For a page: "52.3%", "*" (suppressed) or "–" (no denominator)."""
        if self.status is RateStatus.NO_DENOMINATOR:
            return "–"
        return self.text if self.percent is None else f"{self.text}%"


def disclosed_rate(numerator: int, denominator: int) -> DisclosedRate:
    """numerator / denominator as a percentage after disclosure control."""
    if denominator == 0:
        return DisclosedRate(RateStatus.NO_DENOMINATOR)
    rate = disclose_rate(numerator, denominator)
    if rate is None:
        return DisclosedRate(RateStatus.SUPPRESSED)
    # From the counts in decimal, so "one decimal, halves up" is decided on the true value.
    return DisclosedRate(RateStatus.SHOWN, Decimal(numerator) * 100 / Decimal(denominator))


def count_cell(n: int | None) -> str:
    """A disclosed count as a cell: the rounded count, or "*" when suppressed (None)."""
    return SUPPRESSED if n is None else str(n)


def disclosed_count_cell(n: int) -> str:
    """A raw count as a cell, after disclosure control."""
    return count_cell(disclose_count(n))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A whole CSV document (``\\r\\n`` line ends, as the csv module writes them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
