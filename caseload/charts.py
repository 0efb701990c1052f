"""Plotly figure builders from plain data: no Flask, no database.

Each builder returns a figure as a JSON-safe ``{"data": [...], "layout": {...}}``
dict. Pages carry it in a ``data-figure`` attribute (see ``figure_json``) and
``static/js/chart.mjs`` draws it, so no inline script is needed under the CSP.

Severity bands and caseness cut-offs come from the measure definitions in
``caseload.domain.measures`` so the chart and the outcome rules never disagree.

Plotly's figure objects are slow to build (tens of milliseconds for the outcome chart),
so the outcome chart's fixed layout is built with them once per process and each page
view adds only its episode's points to a copy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caseload.domain.dates import format_date
from caseload.domain.measures import GAD7, PHQ9, Measure, get_measure
from caseload.domain.wording import plural, was_were

FONT_FAMILY = "Frutiger W01, Arial, sans-serif"
TEXT_COLOUR = "#212b32"  # NHS black
SECONDARY_TEXT_COLOUR = "#4c6272"  # NHS dark grey
CASENESS_COLOUR = "#425563"
DNA_COLOUR = "#d5281b"  # NHS red
CANCELLED_COLOUR = "#425563"  # NHS dark grey: 3:1 or more against white, as graphics need
NO_SCORES_MESSAGE = "No scores recorded yet"

#: Line colour and marker symbol per measure: colour is never the only cue.
SERIES_STYLE = {
    PHQ9: {"colour": "#005eb8", "symbol": "circle"},  # NHS blue
    GAD7: {"colour": "#330072", "symbol": "square"},  # NHS purple
}

#: Band tints from least to most severe (NHS green, yellow, warm yellow, orange, red);
#: measures with fewer bands take the first and the last ones (least and most severe).
BAND_TINTS = ("#007f3b", "#ffeb3b", "#ffb81c", "#ed8b00", "#d5281b")
BAND_OPACITY = 0.12


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One contact of an episode as the outcome chart needs it."""

    contact_number: int  #: 1-based position among the episode's contacts shown
    occurred_on: date
    phq9: int | None  #: PHQ-9 total, None when not recorded
    gad7: int | None  #: GAD-7 total, None when not recorded
    attended: bool
    dna: bool  #: did not attend (attendance codes 3 or 7)
    cancelled: bool = False  #: cancelled by the patient (2) or the provider (4)
    #: What happened, in words ("Cancelled by patient"), for the hover and the table.
    what_happened: str = ""


#: Missed appointments sit on a strip of their own below the scores, at a height outside
#: every score range, so a DNA or a cancellation can never be read as a score of 0.
MISSED_ROW = 3
MISSED_Y = -1
MISSED_RANGE = (-1.5, -0.5)
#: How each kind of missed appointment is drawn: a distinct symbol each, so colour is
#: never the only cue, with its meaning as the legend entry.
MISSED_STYLE = {
    "dna": {"name": "Did not attend", "symbol": "x", "colour": DNA_COLOUR, "rank": 3},
    "cancelled": {
        "name": "Cancelled",
        "symbol": "triangle-down-open",
        "colour": CANCELLED_COLOUR,
        "rank": 4,
    },
}


OUTCOME_CHART_TITLE = "PHQ-9 and GAD-7 over time"


def outcome_chart(
    points: Sequence[ChartPoint], *, title: str = OUTCOME_CHART_TITLE
) -> dict[str, Any]:
    """PHQ-9 (top) and GAD-7 (middle) against the contact dates, over severity bands, with
    missed appointments (did not attend, cancelled) marked on a strip of their own below.

    The x axis is time, so the gaps between sessions show.

    The fixed parts (axes, bands, caseness lines, legend, trace styles) come from a
    figure plotly builds once per process (``_outcome_parts``); each call copies them and
    adds only this episode's points, date range and count. The result is the same dict
    ``_plotly_outcome_chart`` builds (tests compare the two).
    """
    parts = _outcome_parts()
    figure: dict[str, Any] = json.loads(parts.fixed_json)
    data: list[dict[str, Any]] = []
    has_scores = False
    for index, measure_id in enumerate((PHQ9, GAD7)):
        measure = get_measure(measure_id)
        scored = [p for p in points if p.attended and _score(p, measure_id) is not None]
        has_scores = has_scores or bool(scored)
        trace = figure["data"][index]
        trace["customdata"] = [
            [
                p.contact_number,
                format_date(p.occurred_on),
                _band_label(measure, _score(p, measure_id) or 0),
            ]
            for p in scored
        ]
        trace["x"] = [_day(p) for p in scored]
        trace["y"] = [_score(p, measure_id) for p in scored]
        data.append(trace)
    for kind, missed in (
        ("dna", [p for p in points if p.dna]),
        ("cancelled", [p for p in points if p.cancelled and not p.dna]),
    ):
        if missed:
            trace = figure["data"][2 if kind == "dna" else 3]
            trace["customdata"] = [
                [
                    p.contact_number,
                    format_date(p.occurred_on),
                    p.what_happened or MISSED_STYLE[kind]["name"],
                ]
                for p in missed
            ]
            trace["x"] = [_day(p) for p in missed]
            trace["y"] = [MISSED_Y] * len(missed)
            data.append(trace)
    figure["data"] = data
    layout = figure["layout"]
    x_range = _x_range(points)
    for axis in ("xaxis", "xaxis2", "xaxis3"):
        if x_range is None:
            del layout[axis]["range"]
        else:
            layout[axis]["range"] = x_range
    layout["title"]["text"] = title
    layout["meta"] = {"points": len(points)}
    if has_scores:
        layout["annotations"].pop()
    return figure


@dataclass(frozen=True, slots=True)
class _OutcomeParts:
    """The outcome chart's fixed parts as JSON: a figure with every trace (PHQ-9, GAD-7,
    did not attend, cancelled) holding placeholder points, x axes with a range, and the
    no-scores message as the last annotation; ``outcome_chart`` fills or drops each."""

    fixed_json: str


_OUTCOME_PARTS: _OutcomeParts | None = None


def _outcome_parts() -> _OutcomeParts:
    """Build the fixed parts once per process (a race only builds the same thing twice)."""
    global _OUTCOME_PARTS
    if _OUTCOME_PARTS is None:
        day = date(2000, 1, 1)
        sample = [
            ChartPoint(1, day, 1, 1, attended=True, dna=False),
            ChartPoint(2, day, None, None, attended=False, dna=True),
            ChartPoint(3, day, None, None, attended=False, dna=False, cancelled=True),
        ]
        figure = _plotly_outcome_chart(sample, title=OUTCOME_CHART_TITLE)
        no_scores = _plotly_outcome_chart([], title=OUTCOME_CHART_TITLE)
        figure["layout"]["annotations"].append(no_scores["layout"]["annotations"][-1])
        if len(figure["data"]) != 4 or list(figure["layout"]) != list(no_scores["layout"]):
            raise RuntimeError("the outcome chart's fixed parts have an unexpected shape")
        _OUTCOME_PARTS = _OutcomeParts(fixed_json=json.dumps(figure))
    return _OUTCOME_PARTS


def _plotly_outcome_chart(points: Sequence[ChartPoint], *, title: str) -> dict[str, Any]:
    """The outcome chart built through plotly's figure objects: the reference for
    ``outcome_chart``, and the source of its fixed parts (built once per process)."""
    measures = ((get_measure(PHQ9), 1), (get_measure(GAD7), 2))
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[0.43, 0.43, 0.14],
    )
    has_scores = False
    for measure, row in measures:
        scored = [p for p in points if p.attended and _score(p, measure.id) is not None]
        has_scores = has_scores or bool(scored)
        fig.add_trace(_score_trace(measure, scored), row=row, col=1)
        _add_bands(fig, measure, row)
        _add_caseness(fig, measure, row)
    for kind, missed in (
        ("dna", [p for p in points if p.dna]),
        ("cancelled", [p for p in points if p.cancelled and not p.dna]),
    ):
        if missed:
            fig.add_trace(_missed_trace(kind, missed), row=MISSED_ROW, col=1)
    _style_axes(fig, points, measures)
    fig.update_layout(
        template="none",
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 18}},
        font={"family": FONT_FAMILY, "size": 14, "color": TEXT_COLOUR},
        height=540,
        margin={"l": 64, "r": 24, "t": 96, "b": 64},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        showlegend=True,
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 1.04,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
        hovermode="closest",
        hoverlabel={"font": {"family": FONT_FAMILY}},
        meta={"points": len(points)},
    )
    if not has_scores:
        fig.add_annotation(
            text=NO_SCORES_MESSAGE,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 16, "color": SECONDARY_TEXT_COLOUR},
            bgcolor="#ffffff",
        )
    figure: dict[str, Any] = json.loads(fig.to_json())
    return figure


def chart_summary(points: Sequence[ChartPoint]) -> str:
    """One plain-English sentence describing the outcome chart, for screen readers."""
    if not points:
        return "No contacts recorded yet."
    phrases = []
    for measure_id in (PHQ9, GAD7):
        name = get_measure(measure_id).short_name
        scores = [
            score for p in points if p.attended and (score := _score(p, measure_id)) is not None
        ]
        if len(scores) >= 2:
            phrases.append((name, f"from {scores[0]} to {scores[-1]}"))
        elif scores:
            phrases.append((name, f"was {scores[0]}"))
    contacts = plural(len(points), "contact")
    if not phrases:
        sentence = f"No PHQ-9 or GAD-7 scores recorded over {contacts}"
    elif len(phrases) == 1:
        sentence = f"{_clause(*phrases[0])} over {contacts}"
    else:
        (first_name, first), (second_name, second) = phrases
        if first.startswith("from") and second.startswith("from"):
            # "PHQ-9 went from 18 to 9 and GAD-7 from 15 to 7": the verb is shared.
            joined = f"{_clause(first_name, first)} and {second_name} {second}"
        else:
            joined = f"{_clause(first_name, first)} and {_clause(second_name, second)}"
        sentence = f"{joined} over {contacts}"
    missed = []
    dnas = sum(1 for p in points if p.dna)
    if dnas:
        missed.append(f"{dnas} did not attend")
    cancelled = sum(1 for p in points if p.cancelled and not p.dna)
    if cancelled:
        missed.append(f"{cancelled} {was_were(cancelled)} cancelled")
    if missed:
        sentence += "; " + " and ".join(missed)
    return sentence + "."


def figure_json(fig: dict[str, Any]) -> str:
    """Compact JSON for a ``data-figure`` attribute; let Jinja escape it, never mark it safe."""
    return json.dumps(fig, separators=(",", ":"), allow_nan=False)


def _score(point: ChartPoint, measure_id: str) -> int | None:
    return point.phq9 if measure_id == PHQ9 else point.gad7


def _clause(name: str, change: str) -> str:
    return f"{name} went {change}" if change.startswith("from") else f"{name} {change}"


def _band_label(measure: Measure, score: int) -> str:
    try:
        return measure.band_for(score).label
    except ValueError:
        return "out of range"


def _day(point: ChartPoint) -> str:
    """A point's place on the time axis: its UK calendar day."""
    return point.occurred_on.isoformat()


def _score_trace(measure: Measure, scored: Sequence[ChartPoint]) -> go.Scatter:
    style = SERIES_STYLE[measure.id]
    return go.Scatter(
        x=[_day(p) for p in scored],
        y=[_score(p, measure.id) for p in scored],
        # The hover reads the contact number and date from customdata, not the axis.
        customdata=[
            [
                p.contact_number,
                format_date(p.occurred_on),
                _band_label(measure, _score(p, measure.id) or 0),
            ]
            for p in scored
        ],
        name=measure.short_name,
        legendrank=1 if measure.id == PHQ9 else 2,
        mode="lines+markers",
        line={"color": style["colour"], "width": 3},
        marker={
            "color": style["colour"],
            "symbol": style["symbol"],
            "size": 10,
            "line": {"color": "#ffffff", "width": 1},
        },
        cliponaxis=False,
        hovertemplate=(
            "Contact %{customdata[0]}, %{customdata[1]}<br>"
            f"{measure.short_name} %{{y}}: %{{customdata[2]}}<extra></extra>"
        ),
    )


def _missed_trace(kind: str, missed: Sequence[ChartPoint]) -> go.Scatter:
    """Missed appointments of one kind on the strip below the scores, never on a score axis."""
    style = MISSED_STYLE[kind]
    return go.Scatter(
        x=[_day(p) for p in missed],
        y=[MISSED_Y] * len(missed),
        customdata=[
            [p.contact_number, format_date(p.occurred_on), p.what_happened or style["name"]]
            for p in missed
        ],
        name=style["name"],
        legendrank=style["rank"],
        mode="markers",
        marker={
            "color": style["colour"],
            "symbol": style["symbol"],
            "size": 12,
            "line": {"color": style["colour"], "width": 2},
        },
        cliponaxis=False,
        hovertemplate=(
            "Contact %{customdata[0]}, %{customdata[1]}<br>%{customdata[2]}<extra></extra>"
        ),
    )


def _band_edges(measure: Measure) -> list[tuple[float, float]]:
    """Vertical extent of each band: integer totals sit in the middle of their band."""
    low, high = _y_range(measure)
    edges = []
    for index, band in enumerate(measure.bands):
        bottom = low if index == 0 else band.lower - 0.5
        top = high if index == len(measure.bands) - 1 else band.upper + 0.5
        edges.append((bottom, top))
    return edges


def _band_tint(index: int, count: int) -> str:
    if count >= len(BAND_TINTS):
        return BAND_TINTS[min(index, len(BAND_TINTS) - 1)]
    if index == count - 1:
        return BAND_TINTS[-1]
    return BAND_TINTS[index]


def _add_bands(fig: go.Figure, measure: Measure, row: int) -> None:
    axis = "" if row == 1 else str(row)
    for index, (band, (bottom, top)) in enumerate(
        zip(measure.bands, _band_edges(measure), strict=True)
    ):
        fig.add_shape(
            type="rect",
            xref=f"x{axis} domain",
            yref=f"y{axis}",
            x0=0,
            x1=1,
            y0=bottom,
            y1=top,
            layer="below",
            line={"width": 0},
            fillcolor=_band_tint(index, len(measure.bands)),
            opacity=BAND_OPACITY,
            name=f"{measure.id}-band-{band.key}",
        )
        fig.add_annotation(
            text=band.label,
            xref=f"x{axis} domain",
            yref=f"y{axis}",
            x=1,
            y=(max(bottom, band.lower) + min(top, band.upper)) / 2,
            xanchor="right",
            showarrow=False,
            font={"size": 11, "color": SECONDARY_TEXT_COLOUR},
        )


def _add_caseness(fig: go.Figure, measure: Measure, row: int) -> None:
    if measure.caseness_cutoff is None:
        return
    axis = "" if row == 1 else str(row)
    fig.add_shape(
        type="line",
        xref=f"x{axis} domain",
        yref=f"y{axis}",
        x0=0,
        x1=1,
        y0=measure.caseness_cutoff,
        y1=measure.caseness_cutoff,
        layer="below",
        line={"color": CASENESS_COLOUR, "width": 1.5, "dash": "dash"},
        name=f"{measure.id}-caseness",
    )
    fig.add_annotation(
        text="Caseness",
        xref=f"x{axis} domain",
        yref=f"y{axis}",
        x=0,
        y=measure.caseness_cutoff,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font={"size": 11, "color": CASENESS_COLOUR},
    )


def _y_range(measure: Measure) -> tuple[float, float]:
    # One point of headroom each side so markers at the minimum and the maximum show whole.
    return (measure.total_min - 1, measure.total_max + 1)


def _x_range(points: Sequence[ChartPoint]) -> list[str] | None:
    """The dates shown, with a margin so the first and last markers show whole."""
    if not points:
        return None
    first = min(p.occurred_on for p in points)
    last = max(p.occurred_on for p in points)
    margin = max(timedelta(days=3), (last - first) / 25)
    return [(first - margin).isoformat(), (last + margin).isoformat()]


def _style_axes(
    fig: go.Figure, points: Sequence[ChartPoint], measures: Sequence[tuple[Measure, int]]
) -> None:
    fig.update_xaxes(
        type="date",
        # UK order; the year shows under the first tick and wherever it changes.
        tickformat="%-d %b\n%Y",
        range=_x_range(points),
        showgrid=False,
        zeroline=False,
        showline=True,
        linecolor=SECONDARY_TEXT_COLOUR,
        fixedrange=True,
    )
    fig.update_xaxes(title_text="Date of contact", row=MISSED_ROW, col=1)
    for measure, row in measures:
        fig.update_yaxes(
            title_text=f"{measure.short_name} score",
            range=list(_y_range(measure)),
            tickmode="array",
            tickvals=sorted({band.lower for band in measure.bands} | {measure.total_max}),
            # No gridlines: the band shading gives the horizontal structure, and a gridline
            # at the cut-off would be drawn over the dashed caseness line.
            showgrid=False,
            zeroline=False,
            fixedrange=True,
            row=row,
            col=1,
        )
    fig.update_yaxes(
        range=list(MISSED_RANGE),
        tickmode="array",
        tickvals=[MISSED_Y],
        ticktext=["Missed"],
        showgrid=False,
        zeroline=False,
        showline=False,
        fixedrange=True,
        row=MISSED_ROW,
        col=1,
    )


# Shared by the lead's and the supervisor's charts, built as plain figure dicts.


def none_template() -> dict[str, Any]:
    """Plotly's "none" template as plotly writes it into a figure: no styling of its own,
    so the figure's layout alone decides how it looks. A fresh copy per figure."""
    return {"data": {"scatter": [{"type": "scatter"}]}}


def base_layout(*, height: int, margin: dict[str, int]) -> dict[str, Any]:
    """The layout every lead and supervisor chart shares: the "none" template, NHS font
    and white background, hover on the nearest point."""
    return {
        "template": none_template(),
        "font": {"family": FONT_FAMILY, "size": 13, "color": TEXT_COLOUR},
        "height": height,
        "margin": margin,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
    }


#: The caseload cap's colour: NHS red; the cap is also dashed and labelled, never
#: colour alone.
CAP_COLOUR = "#d5281b"


def cap_line(cap: int, *, dash: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The caseload cap across the plot at ``cap``: the line shape (with any ``extra``
    keys) and its "Cap N" label, for a layout's ``shapes`` and ``annotations``."""
    shape = {
        "type": "line",
        "xref": "x domain",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": cap,
        "y1": cap,
        "line": {"color": CAP_COLOUR, "width": 2, "dash": dash},
        **extra,
    }
    label = {
        "text": f"Cap {cap}",
        "xref": "x domain",
        "yref": "y",
        "x": 0,
        "y": cap,
        "xanchor": "left",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 12, "color": CAP_COLOUR},
    }
    return shape, label
