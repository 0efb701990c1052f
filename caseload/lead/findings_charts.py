"""Plotly figures for the findings view, built only from disclosed figures.

Plain data in (shown shares and means, never counts of people), a JSON-safe figure out;
pages carry each in a ``data-figure`` attribute and ``static/js/chart.mjs`` draws it. A
withheld figure is a gap, never a zero: its bar or point is left out and the hover and
the table beside the chart say why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import plotly.graph_objects as go

from caseload.charts import FONT_FAMILY, SECONDARY_TEXT_COLOUR, TEXT_COLOUR
from caseload.domain.findings import ShownMean, ShownShare

BAR_COLOUR = "#005eb8"  # NHS blue
SECOND_COLOUR = "#330072"  # NHS purple
CAP_COLOUR = "#d5281b"  # NHS red; dashed and labelled too, never colour alone
GRID_COLOUR = "#e8edee"
#: Line styles for up to three series on one chart: colour, dash and marker differ.
SERIES = (
    {"color": BAR_COLOUR, "dash": "solid", "symbol": "circle"},
    {"color": SECOND_COLOUR, "dash": "dash", "symbol": "square"},
    {"color": "#007f3b", "dash": "dot", "symbol": "diamond"},
)


def _layout(fig: go.Figure, *, y_title: str, percent: bool, height: int = 300) -> dict[str, Any]:
    fig.update_yaxes(
        title_text=y_title,
        range=[0, 100] if percent else None,
        rangemode="tozero",
        ticksuffix="%" if percent else "",
        gridcolor=GRID_COLOUR,
        zeroline=False,
        fixedrange=True,
    )
    fig.update_xaxes(
        showgrid=False, showline=True, linecolor=SECONDARY_TEXT_COLOUR, fixedrange=True
    )
    fig.update_layout(
        template="none",
        font={"family": FONT_FAMILY, "size": 13, "color": TEXT_COLOUR},
        height=height,
        margin={"l": 60, "r": 16, "t": 16, "b": 60},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        hovermode="closest",
        hoverlabel={"font": {"family": FONT_FAMILY}},
        legend={"orientation": "h", "y": -0.25},
    )
    figure: dict[str, Any] = json.loads(fig.to_json())
    return figure


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
    y = [s.percent for s in shares]
    fig = go.Figure(
        go.Bar(
            x=list(categories),
            y=y,
            marker={"color": BAR_COLOUR},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [(s.high - s.percent) if s.shown else None for s in shares],  # type: ignore[operator]
                "arrayminus": [(s.percent - s.low) if s.shown else None for s in shares],  # type: ignore[operator]
                "color": TEXT_COLOUR,
                "thickness": 1.5,
            },
            customdata=[_share_hover(s) for s in shares],
            hovertemplate="%{x}: %{customdata}<extra></extra>",
            name=y_title,
        )
    )
    fig.update_layout(showlegend=False)
    return _layout(fig, y_title=y_title, percent=True)


def monthly_lines(
    months: Sequence[date], series: Sequence[tuple[str, Sequence[ShownShare]]], *, y_title: str
) -> dict[str, Any]:
    """One line per series of monthly shares; a withheld month is a gap in the line."""
    x = [m.isoformat() for m in months]
    fig = go.Figure()
    for (name, shares), style in zip(series, SERIES, strict=False):
        if len(shares) != len(months):
            raise ValueError("one share per month")
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[s.percent for s in shares],
                name=name,
                mode="lines+markers",
                connectgaps=False,
                line={"color": style["color"], "dash": style["dash"], "width": 2},
                marker={"color": style["color"], "symbol": style["symbol"], "size": 7},
                customdata=[_share_hover(s) for s in shares],
                hovertemplate=f"{name}, %{{x|%b %Y}}: %{{customdata}}<extra></extra>",
            )
        )
    fig.update_xaxes(type="date", tickformat="%b %Y", dtick="M2")
    fig.update_layout(showlegend=len(series) > 1)
    return _layout(fig, y_title=y_title, percent=True)


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
    fig = go.Figure(
        go.Bar(
            x=list(categories),
            y=[m.mean for m in means],
            marker={"color": BAR_COLOUR},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [
                    (m.high - m.mean) if m.high is not None and m.mean is not None else None
                    for m in means
                ],
                "arrayminus": [
                    (m.mean - m.low) if m.low is not None and m.mean is not None else None
                    for m in means
                ],
                "color": TEXT_COLOUR,
                "thickness": 1.5,
            },
            customdata=[
                f"{m.text} (95% interval {m.interval_text})"
                if m.shown and m.interval_text
                else m.text
                if m.shown
                else ("Suppressed: too few to show" if m.withheld == "*" else "No data")
                for m in means
            ],
            hovertemplate="%{x}: %{customdata}<extra></extra>",
            name=y_title,
        )
    )
    fig.update_layout(showlegend=False)
    figure = _layout(fig, y_title=y_title, percent=False)
    if y_range is not None:
        figure["layout"]["yaxis"]["range"] = list(y_range)
    return figure


def monthly_means(
    months: Sequence[date], means: Sequence[ShownMean], *, name: str, y_title: str
) -> dict[str, Any]:
    """A line of monthly means; a withheld month is a gap."""
    if len(means) != len(months):
        raise ValueError("one mean per month")
    fig = go.Figure(
        go.Scatter(
            x=[m.isoformat() for m in months],
            y=[m.mean for m in means],
            name=name,
            mode="lines+markers",
            connectgaps=False,
            line={"color": BAR_COLOUR, "width": 2},
            marker={"color": BAR_COLOUR, "size": 7},
            customdata=[m.text if m.shown else "Suppressed or no data" for m in means],
            hovertemplate=f"{name}, %{{x|%b %Y}}: %{{customdata}}<extra></extra>",
        )
    )
    fig.update_xaxes(type="date", tickformat="%b %Y", dtick="M2")
    fig.update_layout(showlegend=False)
    return _layout(fig, y_title=y_title, percent=False)


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
    fig = go.Figure()
    for (name, values), style in zip(
        (("Median", medians), ("Upper quartile", upper_quartiles)), SERIES, strict=False
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(values),
                name=name,
                mode="lines+markers",
                connectgaps=False,
                line={"color": style["color"], "dash": style["dash"], "width": 2},
                marker={"color": style["color"], "symbol": style["symbol"], "size": 5},
                hovertemplate=(
                    f"{name}, week of %{{x|%-d %b %Y}}: %{{y}} active cases<extra></extra>"
                ),
            )
        )
    fig.add_shape(
        type="line",
        xref="x domain",
        yref="y",
        x0=0,
        x1=1,
        y0=cap,
        y1=cap,
        line={"color": CAP_COLOUR, "width": 2, "dash": "longdash"},
    )
    fig.add_annotation(
        text=f"Cap {cap}",
        xref="x domain",
        yref="y",
        x=0,
        y=cap,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font={"size": 12, "color": CAP_COLOUR},
    )
    fig.update_xaxes(type="date", tickformat="%b %Y")
    figure = _layout(fig, y_title="Active cases", percent=False)
    top = max([cap, *[v for v in upper_quartiles if v is not None]]) + 5
    figure["layout"]["yaxis"]["range"] = [0, top]
    return figure
