"""plural: the one helper for a count with its noun."""

from __future__ import annotations

import pytest

from caseload.domain.wording import plural


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [
        (0, "contact", "0 contacts"),
        (1, "contact", "1 contact"),
        (2, "contact", "2 contacts"),
        (1, "attended treatment contact", "1 attended treatment contact"),
        (9, "treatment contact", "9 treatment contacts"),
    ],
)
def test_plural(count: int, noun: str, text: str) -> None:
    assert plural(count, noun) == text
