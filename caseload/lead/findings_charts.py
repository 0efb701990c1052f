"""Plotly figures for the findings view, built only from disclosed figures.

Plain data in (shown shares and means, never counts of people), a JSON-safe figure out;
pages carry each in a ``data-figure`` attribute and ``static/js/chart.mjs`` draws it. A
withheld figure is a gap, never a zero: its bar or point is left out and the hover and
the table beside the chart say why. Figures are plain dicts, exactly the JSON plotly's
own figure builder would write (see ``caseload.lead.charts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from caseload.charts import SECONDARY_TEXT_COLOUR, TEXT_COLOUR, base_layout, cap_line
from caseload.domain.findings import ShownMean, ShownShare

BAR_COLOUR = "#005eb8"  # NHS blue
SECOND_COLOUR = "#330072"  # NHS purple
GRID_COLOUR = "#e8edee"
#: Line styles for up to three series on one chart: colour, dash and marker differ.
SERIES = (
    {"color": BAR_COLOUR, "dash": "solid", "symbol": "circle"},
    {"color": SECOND_COLOUR, "dash": "dash", "symbol": "square"},
    {"color": "#007f3b", "dash": "dot", "symbol": "diamond"},
)
#: The x axis of the monthly charts.
MONTH_AXIS = {"type": "date", "tickformat": "%b %Y", "dtick": "M2"}


def _figure(
    data: list[dict[str, Any]],
    *,
    y_title: str,
    percent: bool,
    x_axis: dict[str, Any] | None = None,
    showlegend: bool | None = None,
    height: int = 300,
) -> dict[str, Any]:
    """The figure with the findings view's shared layout and axes."""
    yaxis: dict[str, Any] = {"title": {"text": y_title}}
    if percent:
        yaxis["range"] = [0, 100]
    yaxis.update(
        rangemode="tozero",
        ticksuffix="%" if percent else "",
        gridcolor=GRID_COLOUR,
        zeroline=False,
        fixedrange=True,
    )
    xaxis: dict[str, Any] = dict(x_axis or {})
    xaxis.update(showgrid=False, showline=True, linecolor=SECONDARY_TEXT_COLOUR, fixedrange=True)
    layout = base_layout(height=height, margin={"l": 60, "r": 16, "t": 16, "b": 60})
    layout.update(legend={"orientation": "h", "y": -0.25}, xaxis=xaxis, yaxis=yaxis)
    if showlegend is not None:
        layout["showlegend"] = showlegend
    return {"data": data, "layout": layout}


def _error_bars(array: list[float | None], arrayminus: list[float | None]) -> dict[str, Any]:
    return {
        "type": "data",
        "symmetric": False,
        "array": array,
        "arrayminus": arrayminus,
        "color": TEXT_COLOUR,
        "thickness": 1.5,
    }


def _share_hover(share: ShownShare) -> str:
    if share.shown:
        return f"{share.text} (95% interval {share.interval_text}); {share.denominator} in all"
    if share.withheld == "*":
        return "Suppressed: fewer than 5"
    return "No data"


def share_bars(
    categories: Sequence[str], shares: Sequence[ShownShare], *, y_title: str
) -> dict[str, Any]:
    """One bar per category at its shown percentage, with its 95% Wilson interval as an
    error bar; withheld categories have no bar."""
    if len(categories) != len(shares):
        raise ValueError("one share per category")
    bar = {
        "type": "bar",
        "x": list(categories),
        "y": [s.percent for s in shares],
        "marker": {"color": BAR_COLOUR},
        "error_y": _error_bars(
            [(s.high - s.percent) if s.shown else None for s in shares],  # type: ignore[operator]
            [(s.percent - s.low) if s.shown else None for s in shares],  # type: ignore[operator]
        ),
        "customdata": [_share_hover(s) for s in shares],
        "hovertemplate": "%{x}: %{customdata}<extra></extra>",
        "name": y_title,
    }
    return _figure([bar], y_title=y_title, percent=True, showlegend=False)


def monthly_lines(
    months: Sequence[date], series: Sequence[tuple[str, Sequence[ShownShare]]], *, y_title: str
) -> dict[str, Any]:
    """One line per series of monthly shares; a withheld month is a gap in the line."""
    x = [m.isoformat() for m in months]
    data: list[dict[str, Any]] = []
    for (name, shares), style in zip(series, SERIES, strict=False):
        if len(shares) != len(months):
            raise ValueError("one share per month")
        data.append(
            {
                "type": "scatter",
                "x": list(x),
                "y": [s.percent for s in shares],
                "name": name,
                "mode": "lines+markers",
                "connectgaps": False,
                "line": {"color": style["color"], "dash": style["dash"], "width": 2},
                "marker": {"color": style["color"], "symbol": style["symbol"], "size": 7},
                "customdata": [_share_hover(s) for s in shares],
                "hovertemplate": f"{name}, %{{x|%b %Y}}: %{{customdata}}<extra></extra>",
            }
        )
    return _figure(
        data, y_title=y_title, percent=True, x_axis=MONTH_AXIS, showlegend=len(series) > 1
    )


def mean_bars(
    categories: Sequence[str],
    means: Sequence[ShownMean],
    *,
    y_title: str,
    y_range: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """One bar per category at its shown mean, with its 95% interval; withheld categories
    have no bar."""
    if len(categories) != len(means):
        raise ValueError("one mean per category")
    bar = {
        "type": "bar",
        "x": list(categories),
        "y": [m.mean for m in means],
        "marker": {"color": BAR_COLOUR},
        "error_y": _error_bars(
            [
                (m.high - m.mean) if m.high is not None and m.mean is not None else None
                for m in means
            ],
            [(m.mean - m.low) if m.low is not None and m.mean is not None else None for m in means],
        ),
        "customdata": [
            f"{m.text} (95% interval {m.interval_text})"
            if m.shown and m.interval_text
            else m.text
            if m.shown
            else ("Suppressed: too few to show" if m.withheld == "*" else "No data")
            for m in means
        ],
        "hovertemplate": "%{x}: %{customdata}<extra></extra>",
        "name": y_title,
    }
    figure = _figure([bar], y_title=y_title, percent=False, showlegend=False)
    if y_range is not None:
        figure["layout"]["yaxis"]["range"] = list(y_range)
    return figure


def monthly_means(
    months: Sequence[date], means: Sequence[ShownMean], *, name: str, y_title: str
) -> dict[str, Any]:
    """A line of monthly means; a withheld month is a gap."""
    if len(means) != len(months):
        raise ValueError("one mean per month")
    line = {
        "type": "scatter",
        "x": [m.isoformat() for m in months],
        "y": [m.mean for m in means],
        "name": name,
        "mode": "lines+markers",
        "connectgaps": False,
        "line": {"color": BAR_COLOUR, "width": 2},
        "marker": {"color": BAR_COLOUR, "size": 7},
        "customdata": [m.text if m.shown else "Suppressed or no data" for m in means],
        "hovertemplate": f"{name}, %{{x|%b %Y}}: %{{customdata}}<extra></extra>",
    }
    return _figure([line], y_title=y_title, percent=False, x_axis=MONTH_AXIS, showlegend=False)


def weekly_distribution(
    weeks: Sequence[date],
    medians: Sequence[float | None],
    upper_quartiles: Sequence[float | None],
    *,
    cap: int,
) -> dict[str, Any]:
    """The median and upper quartile of practitioners' active caseloads each week, with
    the cap as a dashed, labelled line; a withheld week is a gap."""
    x = [w.isoformat() for w in weeks]
    data: list[dict[str, Any]] = []
    for (name, values), style in zip(
        (("Median", medians), ("Upper quartile", upper_quartiles)), SERIES, strict=False
    ):
        data.append(
            {
                "type": "scatter",
                "x": list(x),
                "y": list(values),
                "name": name,
                "mode": "lines+markers",
                "connectgaps": False,
                "line": {"color": style["color"], "dash": style["dash"], "width": 2},
                "marker": {"color": style["color"], "symbol": style["symbol"], "size": 5},
                "hovertemplate": (
                    f"{name}, week of %{{x|%-d %b %Y}}: %{{y}} active cases<extra></extra>"
                ),
            }
        )
    figure = _figure(
        data, y_title="Active cases", percent=False, x_axis={"type": "date", "tickformat": "%b %Y"}
    )
    shape, label = cap_line(cap, dash="longdash")
    figure["layout"]["shapes"] = [shape]
    figure["layout"]["annotations"] = [label]
    top = max([cap, *[v for v in upper_quartiles if v is not None]]) + 5
    figure["layout"]["yaxis"]["range"] = [0, top]
    return figure
