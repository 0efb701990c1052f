"""The team-load figure: one small chart per worker of their active caseload by week,
with the service's cap drawn across it. Plain data in, a JSON-safe figure out; no Flask,
no database. Pages carry each figure in a ``data-figure`` attribute and
``static/js/chart.mjs`` draws it (see ``caseload/charts.py``). The figure is a plain
dict, exactly the JSON plotly's own figure builder would write for it
(``tests/test_chart_figures.py`` holds the two together)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from caseload.charts import SECONDARY_TEXT_COLOUR, base_layout, cap_line
from caseload.domain.dates import format_date
from caseload.domain.wording import plural

CASELOAD_COLOUR = "#005eb8"  # NHS blue
#: Head room above the larger of the cap and the highest week, so the cap line shows whole.
HEADROOM = 5


def weekly_caseload_chart(
    weeks: Sequence[date], weekly: Sequence[int], *, cap: int
) -> dict[str, Any]:
    """Active caseload at the end of each week (x: the week's Monday) with the cap as a
    dashed, labelled line: one of the team-load page's small multiples."""
    if len(weeks) != len(weekly):
        raise ValueError("one value per week")
    days = [week.isoformat() for week in weeks]
    top = max([cap, *weekly]) + HEADROOM
    shape, label = cap_line(cap, dash="dash", name="cap")
    return {
        "data": [
            {
                "type": "scatter",
                "x": days,
                "y": list(weekly),
                "name": "Active cases",
                "mode": "lines+markers",
                "line": {"color": CASELOAD_COLOUR, "width": 2},
                "marker": {"color": CASELOAD_COLOUR, "size": 6, "symbol": "circle"},
                "customdata": [format_date(week) for week in weeks],
                "hovertemplate": (
                    "Week beginning %{customdata}<br>%{y} active cases<extra></extra>"
                ),
            }
        ],
        "layout": {
            **base_layout(height=260, margin={"l": 56, "r": 16, "t": 16, "b": 40}),
            "showlegend": False,
            "meta": {"cap": cap, "weeks": len(weeks)},
            "shapes": [shape],
            "annotations": [label],
            "xaxis": {
                "type": "date",
                "tickformat": "%-d %b",
                "showgrid": False,
                "showline": True,
                "linecolor": SECONDARY_TEXT_COLOUR,
                "fixedrange": True,
            },
            "yaxis": {
                "title": {"text": "Active cases"},
                "range": [0, top],
                "rangemode": "tozero",
                "zeroline": False,
                "gridcolor": "#e8edee",
                "fixedrange": True,
            },
        },
    }


def weekly_caseload_summary(
    name: str, weeks: Sequence[date], weekly: Sequence[int], *, cap: int
) -> str:
    """One plain sentence describing a worker's chart, for screen readers."""
    if not weeks:
        return f"No weeks to show for {name}."
    highest = max(weekly)
    over = sum(1 for count in weekly if count > cap)
    sentence = (
        f"{name}'s active caseload by week from {format_date(weeks[0])} to "
        f"{format_date(weeks[-1])}: {weekly[0]} at the start, {weekly[-1]} this week, "
        f"highest {highest}, against a cap of {cap}"
    )
    if over:
        sentence += f"; above the cap in {plural(over, 'week')}"
    return sentence + "."
