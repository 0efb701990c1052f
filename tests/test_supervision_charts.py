"""The team-load small multiples, built from plain data with no app."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseload.charts import figure_json
from caseload.supervision.charts import weekly_caseload_chart, weekly_caseload_summary

WEEKS = [date(2026, 6, 1) + timedelta(weeks=n) for n in range(4)]


def test_the_chart_draws_the_weeks_and_the_cap_as_a_labelled_dashed_line() -> None:
    figure = weekly_caseload_chart(WEEKS, [40, 44, 47, 45], cap=45)
    trace = figure["data"][0]
    assert trace["x"] == [week.isoformat() for week in WEEKS]
    assert trace["y"] == [40, 44, 47, 45]
    (cap,) = [s for s in figure["layout"]["shapes"] if s["name"] == "cap"]
    assert (cap["y0"], cap["y1"], cap["line"]["dash"]) == (45, 45, "dash")
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Cap 45"]
    low, high = figure["layout"]["yaxis"]["range"]
    assert low == 0
    assert high > 47  # the highest week shows whole above the cap
    assert figure_json(figure)  # JSON-safe for the data-figure attribute


def test_the_cap_shows_even_when_every_week_is_far_below_it() -> None:
    figure = weekly_caseload_chart(WEEKS, [0, 1, 2, 3], cap=45)
    assert figure["layout"]["yaxis"]["range"][1] > 45


def test_one_value_per_week() -> None:
    with pytest.raises(ValueError, match="one value per week"):
        weekly_caseload_chart(WEEKS, [1, 2], cap=45)


def test_the_summary_reads_the_series_aloud() -> None:
    sentence = weekly_caseload_summary("Ana", WEEKS, [40, 44, 47, 46], cap=45)
    assert sentence == (
        "Ana's active caseload by week from 1 Jun 2026 to 22 Jun 2026: 40 at the start, "
        "46 this week, highest 47, against a cap of 45; above the cap in 2 weeks."
    )
    under = weekly_caseload_summary("Ben", WEEKS, [1, 2, 3, 4], cap=45)
    assert "above the cap" not in under
    assert weekly_caseload_summary("Cat", [], [], cap=45) == "No weeks to show for Cat."
