"""SPC (XmR) figures for the lead's pages, the NHS "Making Data Count" way.

Plain data in, a JSON-safe plotly figure out; no Flask, no database. The maths is
``caseload.domain.spc``; this module only draws it: the monthly values (a month with
no value is a gap in the line, never a zero), the mean, the process limits, the
target, and each special-cause point coloured and shaped by its variation, so colour
is never the only cue. Charts are drawn from disclosed aggregates only and carry no
per-client point. Pages carry each figure in a ``data-figure`` attribute and
``static/js/chart.mjs`` draws it (see ``caseload/charts.py``).

The figure is built as plain dicts and lists, exactly the JSON plotly's own figure
builder would write for it (``tests/test_chart_figures.py`` holds the two together and
has plotly validate every property), because building it through
``plotly.graph_objects`` cost several milliseconds a chart on every view.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from caseload.charts import SECONDARY_TEXT_COLOUR, base_layout
from caseload.domain.dates import format_month
from caseload.domain.spc import Variation, XmrChart

VALUE_COLOUR = "#425563"  # NHS dark grey: the line and common-cause points
MEAN_COLOUR = "#212b32"
LIMIT_COLOUR = "#768692"  # NHS mid grey, dashed
TARGET_COLOUR = "#d5281b"  # NHS red, dash-dot and labelled

#: Making Data Count's colours (blue improvement, orange concern, purple neutral), each
#: with its own marker shape.
VARIATION_STYLE: dict[Variation, dict[str, Any]] = {
    Variation.IMPROVEMENT: {"colour": "#005eb8", "symbol": "circle", "size": 11},
    Variation.CONCERN: {"colour": "#ed8b00", "symbol": "diamond", "size": 12},
    Variation.NEUTRAL_HIGH: {"colour": "#330072", "symbol": "triangle-up", "size": 12},
    Variation.NEUTRAL_LOW: {"colour": "#330072", "symbol": "triangle-down", "size": 12},
}


def spc_figure(
    chart: XmrChart,
    months: Sequence[date],
    *,
    title: str,
    target: float | None,
    percent: bool = True,
    period: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """An XmR chart of monthly values: one month (the 1st) per point of ``chart``.

    Months missing between two points (a suppressed or empty month) break the line.
    ``period`` (first and last month) widens the x axis to the whole period asked for;
    ``percent`` puts a % on the values and keeps the drawn limits within 0-100; the lower
    limit of values that are never negative is drawn no lower than 0.
    """
    if len(months) != len(chart.points):
        raise ValueError("one month per point")
    unit = "%" if percent else ""
    first, last = period or (months[0], months[-1])
    span = [first.isoformat(), last.isoformat()]
    xs, ys, labels = _with_gaps(months, [p.value for p in chart.points])
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": xs,
            "y": ys,
            "name": title,
            "mode": "lines+markers",
            "line": {"color": VALUE_COLOUR, "width": 2},
            "marker": {"color": VALUE_COLOUR, "size": 7, "symbol": "circle"},
            "customdata": labels,
            "hovertemplate": f"%{{customdata}}: %{{y:.1f}}{unit}<extra></extra>",
            "connectgaps": False,
            "showlegend": False,
        }
    ]
    for variation, style in VARIATION_STYLE.items():
        marked = [
            (month, point.value)
            for month, point in zip(months, chart.points, strict=True)
            if point.variation is variation
        ]
        if marked:
            data.append(
                {
                    "type": "scatter",
                    "x": [m.isoformat() for m, _ in marked],
                    "y": [v for _, v in marked],
                    "name": variation.label,
                    "mode": "markers",
                    "marker": {
                        "color": style["colour"],
                        "size": style["size"],
                        "symbol": style["symbol"],
                        "line": {"color": "#ffffff", "width": 1},
                    },
                    "customdata": [format_month(m) for m, _ in marked],
                    "hovertemplate": (
                        f"%{{customdata}}: %{{y:.1f}}{unit}<br>{variation.label}<extra></extra>"
                    ),
                }
            )
    lower, upper = chart.lower_limit, chart.upper_limit
    if min(chart.values) >= 0:
        lower = max(lower, 0.0)  # a count or a share cannot fall below 0
    if percent:
        upper = min(upper, 100.0)
    data.append(_level(span, chart.mean, f"Mean {chart.mean:.1f}{unit}", MEAN_COLOUR, "solid"))
    data.append(_level(span, upper, f"Upper process limit {upper:.1f}{unit}", LIMIT_COLOUR, "dash"))
    data.append(_level(span, lower, f"Lower process limit {lower:.1f}{unit}", LIMIT_COLOUR, "dash"))
    if target is not None:
        data.append(_level(span, target, f"Target {target:g}{unit}", TARGET_COLOUR, "dashdot"))
    layout = base_layout(height=320, margin={"l": 56, "r": 16, "t": 16, "b": 48})
    layout.update(
        xaxis={
            "type": "date",
            "tickformat": "%b<br>%Y",
            "showgrid": False,
            "showline": True,
            "linecolor": SECONDARY_TEXT_COLOUR,
            "fixedrange": True,
        },
        yaxis={
            "ticksuffix": unit,
            "rangemode": "tozero",
            "zeroline": False,
            "gridcolor": "#e8edee",
            "fixedrange": True,
        },
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"},
        meta={
            "title": title,
            "points": len(chart.points),
            "special_causes": sum(1 for p in chart.points if p.special_cause != "common"),
        },
    )
    return {"data": data, "layout": layout}


def _with_gaps(
    months: Sequence[date], values: Sequence[float]
) -> tuple[list[str], list[float | None], list[str]]:
    """The line's x, y and hover labels, with a None after any month not followed by the
    next calendar month, so plotly breaks the line there."""
    xs: list[str] = []
    ys: list[float | None] = []
    labels: list[str] = []
    for i, (month, value) in enumerate(zip(months, values, strict=True)):
        if i and _month_index(month) - _month_index(months[i - 1]) > 1:
            xs.append(months[i - 1].replace(day=15).isoformat())
            ys.append(None)
            labels.append("")
        xs.append(month.isoformat())
        ys.append(value)
        labels.append(format_month(month))
    return xs, ys, labels


def _month_index(month: date) -> int:
    return month.year * 12 + month.month


def _level(span: list[str], y: float, name: str, colour: str, dash: str) -> dict[str, Any]:
    """A horizontal line across the period, named in the legend and on hover."""
    return {
        "type": "scatter",
        "x": list(span),
        "y": [y, y],
        "name": name,
        "mode": "lines",
        "line": {"color": colour, "width": 2 if dash == "solid" else 1.5, "dash": dash},
        "hovertemplate": f"{name}<extra></extra>",
    }
