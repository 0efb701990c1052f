"""The lead's and supervisor's chart figures are plain dicts that plotly accepts whole and
that match, key for key, the figure JSON plotly itself built for the same inputs.

The expected figures in ``tests/fixtures/charts`` were written by plotly's own figure
builder (``go.Figure``, ``add_trace``, ``update_layout`` then ``to_json``); the charts are
now built as plain dicts, so these tests hold the two to the same output. Regenerate them
with ``python -m tests.test_chart_figures`` only after a deliberate change to a chart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from caseload.charts import figure_json
from caseload.domain.findings import NO_DATA, SUPPRESSED, ShownMean, ShownShare
from caseload.domain.spc import xmr
from caseload.lead import findings_charts
from caseload.lead.charts import spc_figure
from caseload.supervision.charts import weekly_caseload_chart

FIXTURES = Path(__file__).parent / "fixtures" / "charts"


def _months(first: date, count: int) -> list[date]:
    months = []
    year, month = first.year, first.month
    for _ in range(count):
        months.append(date(year, month, 1))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return months


def _spc_percent_with_gaps() -> dict[str, Any]:
    # Twenty months with two missing (a break in the line), a run above the mean, a
    # point past each limit and a target; the period asked for is wider than the data.
    months = _months(date(2024, 4, 1), 22)
    del months[7], months[12]
    values = [
        48.0, 51.5, 49.2, 50.1, 47.7, 52.3, 50.0, 49.1, 81.0, 50.4,
        53.1, 54.2, 55.0, 56.3, 57.1, 58.4, 59.9, 61.2, 12.5, 50.2,
    ]  # fmt: skip
    chart = xmr(values, improvement="increase", target=50.0)
    return spc_figure(
        chart,
        months,
        title="Moving to recovery",
        target=50.0,
        period=(date(2024, 1, 1), date(2026, 3, 1)),
    )


def _spc_count_decreasing() -> dict[str, Any]:
    # A count (no %) where lower is better, no target, no period: the lower limit is
    # held at 0 and the points classified as improvement and concern.
    months = _months(date(2025, 1, 1), 15)
    values = [12, 14, 11, 13, 12, 30, 13, 12, 2, 3, 2, 3, 2, 3, 2]
    chart = xmr([float(v) for v in values], improvement="decrease")
    return spc_figure(chart, months, title="Waiting over 18 weeks", target=None, percent=False)


def _spc_neutral_negative() -> dict[str, Any]:
    # Neutral direction with negative values: neutral high and low markers, and a lower
    # limit below 0 drawn as it is; a fractional target.
    months = _months(date(2025, 3, 1), 14)
    values = [-2.0, 1.5, -0.5, 0.5, 9.0, 0.0, -1.0, 0.5, -9.5, 1.0, 2.0, 2.5, 3.0, 3.5]
    chart = xmr(values, target=1.25)
    return spc_figure(chart, months, title="Change in score", target=1.25, percent=False)


def _spc_near_full() -> dict[str, Any]:
    # Shares close to 100%: the upper limit is held at 100; too few points for rules.
    months = _months(date(2025, 9, 1), 5)
    chart = xmr([97.0, 99.5, 92.0, 100.0, 96.5], improvement="increase", target=95.0)
    return spc_figure(chart, months, title="Seen within 6 weeks", target=95.0)


def _spc_one_month() -> dict[str, Any]:
    chart = xmr([42.0])
    return spc_figure(chart, [date(2026, 1, 1)], title="One month", target=None)


SHARES = [
    ShownShare("12", "40", 30, 18, 45),
    ShownShare(SUPPRESSED, "7", None, withheld=SUPPRESSED),
    ShownShare("0", "0", None, withheld=NO_DATA),
    ShownShare("33", "50", 66, 52, 78),
]
MEANS = [
    ShownMean("40", 3.2, 2.8, 3.6),
    ShownMean("12", 5.5),
    ShownMean(SUPPRESSED, None, withheld=SUPPRESSED),
    ShownMean("0", None, withheld=NO_DATA),
    ShownMean("25", -1.25, -2.5, 0.0),
]
MONTHS = _months(date(2025, 11, 1), 4)
WEEKS = [date(2026, 6, 1) + timedelta(weeks=n) for n in range(6)]

CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "spc_percent_with_gaps": _spc_percent_with_gaps,
    "spc_count_decreasing": _spc_count_decreasing,
    "spc_neutral_negative": _spc_neutral_negative,
    "spc_near_full": _spc_near_full,
    "spc_one_month": _spc_one_month,
    "share_bars": lambda: findings_charts.share_bars(
        ["Self", "GP", "Other", "Secondary care"], SHARES, y_title="Recovered"
    ),
    "share_bars_empty": lambda: findings_charts.share_bars([], [], y_title="Recovered"),
    "monthly_lines_one": lambda: findings_charts.monthly_lines(
        MONTHS, [("With risk", SHARES)], y_title="With risk"
    ),
    "monthly_lines_four": lambda: findings_charts.monthly_lines(
        MONTHS,
        [("A", SHARES), ("B", SHARES[::-1]), ("C", SHARES), ("D", SHARES)],
        y_title="Share",
    ),
    "mean_bars": lambda: findings_charts.mean_bars(
        ["a", "b", "c", "d", "e"], MEANS, y_title="Change"
    ),
    "mean_bars_range": lambda: findings_charts.mean_bars(
        ["a", "b", "c", "d", "e"], MEANS, y_title="Sessions", y_range=(0, 12.5)
    ),
    "monthly_means": lambda: findings_charts.monthly_means(
        MONTHS + [date(2026, 3, 1)], MEANS, name="Mean sessions", y_title="Sessions"
    ),
    "weekly_distribution": lambda: findings_charts.weekly_distribution(
        WEEKS, [30, 31.5, None, 33, 35, 36], [40, 44.5, None, 52, 47, 46], cap=45
    ),
    "weekly_distribution_gaps": lambda: findings_charts.weekly_distribution(
        WEEKS[:2], [None, None], [None, None], cap=50
    ),
    "weekly_caseload": lambda: weekly_caseload_chart(WEEKS, [40, 44, 47, 45, 0, 12], cap=45),
    "weekly_caseload_empty": lambda: weekly_caseload_chart([], [], cap=30),
}


def _expected(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_figure_matches_what_plotly_built(name: str) -> None:
    figure = CASES[name]()
    assert json.loads(json.dumps(figure)) == _expected(name)
    assert figure_json(figure)  # JSON-safe for the data-figure attribute


@pytest.mark.parametrize("name", sorted(CASES))
def test_plotly_accepts_every_property_of_the_figure(name: str) -> None:
    figure = CASES[name]()
    validated = json.loads(go.Figure(figure).to_json())
    assert validated == json.loads(json.dumps(figure))


def test_each_figure_is_built_afresh() -> None:
    """A figure handed out can be changed without touching the next one."""
    first = CASES["spc_percent_with_gaps"]()
    first["layout"]["template"]["data"]["scatter"].clear()
    first["layout"]["xaxis"]["type"] = "linear"
    first["data"][0]["line"]["color"] = "red"
    assert CASES["spc_percent_with_gaps"]() == _expected("spc_percent_with_gaps")
    bars = CASES["share_bars"]()
    bars["layout"]["font"]["size"] = 1
    assert CASES["share_bars"]() == _expected("share_bars")


def write_fixtures() -> None:
    """Write the expected figures from the current chart code."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, build in sorted(CASES.items()):
        text = json.dumps(build(), indent=1, sort_keys=True)
        (FIXTURES / f"{name}.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_fixtures()
