"""The outcome chart as a static SVG, drawn on the server from the plotly figure itself.

The printed client summary must show the chart without JavaScript. plotly's own static
export needs kaleido, a bundled Chromium, which we do not ship; so this module draws
the figure ``caseload.charts.outcome_chart`` builds (the same dict the episode page
hands to plotly.js) as plain SVG: the same subplots and their domains, the same
severity bands, caseness lines and labels (the figure's shapes and annotations), the
same series, colours and marker symbols (its traces), the same axis ranges and ticks.
A change to the figure shows in both charts.

It draws what that figure uses, no more: scatter traces (lines and markers; circle,
square, x and triangle-down-open markers), rectangle and line shapes across an axis's
domain, annotations in axis or paper coordinates, date x axes and linear y axes with
``tickvals``. No inline style attribute is written (the page's CSP forbids them):
presentation attributes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from caseload.domain.dates import format_day_month

#: The drawing's width in SVG units; it scales to the page (``width="100%"``).
WIDTH = 720
FONT = "Arial, sans-serif"
TICK_FONT_SIZE = 12
#: At most this many date ticks on the x axis.
MAX_DATE_TICKS = 8


def _attrs(**values: object) -> str:
    """SVG attributes from keyword arguments (``stroke_width`` -> ``stroke-width``)."""
    return " ".join(
        f"{name.rstrip('_').replace('_', '-')}={quoteattr(_number(value))}"
        for name, value in values.items()
        if value is not None
    )


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _el(tag: str, **attrs: object) -> str:
    """An empty SVG element."""
    return f"<{tag} {_attrs(**attrs)}/>"


def _text(x: float, y: float, content: str, **attrs: object) -> str:
    attrs.setdefault("font_family", FONT)
    return f"<text {_attrs(x=x, y=y, **attrs)}>{escape(content)}</text>"


@dataclass(frozen=True)
class _Axis:
    """One subplot's y axis mapped to pixels, with its x axis."""

    name: str  # "y", "y2" ...
    low: float
    high: float
    top: float
    bottom: float

    def y(self, value: float) -> float:
        span = self.high - self.low or 1
        clamped = min(max(value, self.low), self.high)
        return self.bottom - (clamped - self.low) / span * (self.bottom - self.top)


@dataclass(frozen=True)
class _Frame:
    """The plot area and the date range across it."""

    left: float
    right: float
    start: date | None
    end: date | None

    def x(self, day: str) -> float:
        if self.start is None or self.end is None:
            return (self.left + self.right) / 2
        span = (self.end - self.start).days or 1
        offset = (date.fromisoformat(day[:10]) - self.start).days
        return self.left + offset / span * (self.right - self.left)


def _axis_key(ref: str) -> str:
    """``y2`` -> ``yaxis2``; ``x domain`` -> ``xaxis``."""
    name = ref.split()[0]
    return f"{name[0]}axis{name[1:]}"


def _date_range(layout: dict[str, Any]) -> tuple[date | None, date | None]:
    for key in sorted(k for k in layout if k.startswith("xaxis")):
        found = layout[key].get("range")
        if found:
            return date.fromisoformat(found[0][:10]), date.fromisoformat(found[1][:10])
    return None, None


def date_ticks(start: date, end: date) -> list[date]:
    """Tick days for a date axis: weeks, fortnights or month starts, whichever fits
    MAX_DATE_TICKS."""
    span = (end - start).days
    for step in (7, 14, 28):
        if span / step <= MAX_DATE_TICKS:
            first = start + timedelta(days=(7 - start.weekday()) % 7)  # Mondays
            return [
                first + timedelta(days=n * step)
                for n in range(span // step + 1)
                if first + timedelta(days=n * step) <= end
            ]
    months = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = date(year, month, 1)
        if day > end:
            break
        months.append(day)
    every = max(1, -(-len(months) // MAX_DATE_TICKS))
    return months[::every]


def _marker(symbol: str, x: float, y: float, size: float, colour: str, outline: str) -> str:
    r = size / 2
    if symbol == "square":
        return _el("rect", x=x - r, y=y - r, width=size, height=size, fill=colour, stroke=outline)
    if symbol == "x":
        cross = (
            f"M{x - r:.1f} {y - r:.1f}L{x + r:.1f} {y + r:.1f}"
            f"M{x - r:.1f} {y + r:.1f}L{x + r:.1f} {y - r:.1f}"
        )
        return _el("path", d=cross, stroke=colour, stroke_width=3, fill="none")
    if symbol.startswith("triangle-down"):
        points = f"{x - r:.1f},{y - r:.1f} {x + r:.1f},{y - r:.1f} {x:.1f},{y + r:.1f}"
        filled = "none" if symbol.endswith("-open") else colour
        return _el("polygon", points=points, fill=filled, stroke=colour, stroke_width=2)
    return _el("circle", cx=x, cy=y, r=r, fill=colour, stroke=outline)


def figure_svg(
    figure: dict[str, Any], *, title: str, description: str, width: int = WIDTH
) -> Markup:
    """The figure drawn as an accessible static SVG (``role="img"`` with a title and a
    description). Every text is escaped; the result is safe to put in a page."""
    layout = figure.get("layout", {})
    height = float(layout.get("height", 540))
    margin = {"l": 64, "r": 24, "t": 96, "b": 64} | layout.get("margin", {})
    top, bottom = float(margin["t"]), height - float(margin["b"])
    start, end = _date_range(layout)
    frame = _Frame(float(margin["l"]), width - float(margin["r"]), start, end)
    axes: dict[str, _Axis] = {}
    for key in sorted(k for k in layout if k.startswith("yaxis")):
        spec = layout[key]
        low, high = spec.get("range", [0, 1])
        d0, d1 = spec.get("domain", [0, 1])
        name = "y" + key[len("yaxis") :]
        axes[name] = _Axis(
            name,
            float(low),
            float(high),
            top=top + (1 - float(d1)) * (bottom - top),
            bottom=top + (1 - float(d0)) * (bottom - top),
        )
    parts: list[str] = [
        f'<title id="chart-svg-title">{escape(title)}</title>',
        f'<desc id="chart-svg-desc">{escape(description)}</desc>',
        _el("rect", x=0, y=0, width=width, height=height, fill=layout.get("paper_bgcolor", "#fff")),
    ]
    parts += _shapes(layout.get("shapes", []), axes, frame)
    parts += _axes(layout, axes, frame, height)
    parts += _traces(figure.get("data", []), axes, frame)
    parts += _annotations(layout.get("annotations", []), axes, frame, top, bottom)
    parts += _legend(figure.get("data", []), frame.left, top)
    chart_title = (layout.get("title") or {}).get("text")
    if chart_title:
        parts.append(
            _text(frame.left, 28, chart_title, font_size=18, font_weight="bold", fill="#212b32")
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
        f'width="100%" role="img" aria-labelledby="chart-svg-title chart-svg-desc" '
        f'class="app-print-chart" focusable="false">' + "".join(parts) + "</svg>"
    )
    # Raw HTML, justified: the SVG is built here from numbers and from texts that each went
    # through ``escape`` or ``quoteattr`` (tests/web/test_stored_output.py puts script
    # payloads in every text a chart can show), so it is marked safe for the template.
    return Markup(svg)  # noqa: S704


def _shapes(shapes: Sequence[dict[str, Any]], axes: dict[str, _Axis], frame: _Frame) -> list[str]:
    out = []
    for shape in shapes:
        axis = axes.get(str(shape.get("yref", "y")).split()[0])
        if axis is None:
            continue
        line = shape.get("line") or {}
        if shape.get("type") == "rect":
            y_top, y_bottom = axis.y(float(shape["y1"])), axis.y(float(shape["y0"]))
            out.append(
                _el(
                    "rect",
                    x=frame.left,
                    y=y_top,
                    width=frame.right - frame.left,
                    height=max(y_bottom - y_top, 0),
                    fill=shape.get("fillcolor", "#000000"),
                    fill_opacity=shape.get("opacity", 1),
                )
            )
        elif shape.get("type") == "line":
            y = axis.y(float(shape["y0"]))
            out.append(
                _el(
                    "line",
                    x1=frame.left,
                    x2=frame.right,
                    y1=y,
                    y2=y,
                    stroke=line.get("color", "#000000"),
                    stroke_width=line.get("width", 1),
                    stroke_dasharray="6 4" if line.get("dash") else None,
                )
            )
    return out


def _axes(
    layout: dict[str, Any], axes: dict[str, _Axis], frame: _Frame, height: float
) -> list[str]:
    out = []
    for name, axis in axes.items():
        spec = layout[_axis_key(name)]
        labels = spec.get("ticktext") or [str(v) for v in spec.get("tickvals", [])]
        for value, label in zip(spec.get("tickvals", []), labels, strict=False):
            out.append(
                _text(
                    frame.left - 8,
                    axis.y(float(value)) + 4,
                    str(label),
                    font_size=TICK_FONT_SIZE,
                    text_anchor="end",
                    fill="#212b32",
                )
            )
        axis_title = (spec.get("title") or {}).get("text")
        if axis_title:
            middle = (axis.top + axis.bottom) / 2
            out.append(
                _text(
                    16,
                    middle,
                    axis_title,
                    font_size=13,
                    text_anchor="middle",
                    fill="#212b32",
                    transform=f"rotate(-90 16 {middle:.1f})",
                )
            )
        x_spec = layout.get(_axis_key("x" + name[1:]), {})
        if x_spec.get("showline"):
            out.append(
                _el(
                    "line",
                    x1=frame.left,
                    x2=frame.right,
                    y1=axis.bottom,
                    y2=axis.bottom,
                    stroke=x_spec.get("linecolor", "#4c6272"),
                )
            )
    lowest = max(axes.values(), key=lambda a: a.bottom, default=None)
    if lowest is not None and frame.start is not None and frame.end is not None:
        shown_year = None
        for day in date_ticks(frame.start, frame.end):
            x = frame.x(day.isoformat())
            label = format_day_month(day)
            lines = [label] if day.year == shown_year else [label, str(day.year)]
            shown_year = day.year
            tspans = "".join(
                f"<tspan {_attrs(x=x, dy=0 if n == 0 else 14)}>{escape(line)}</tspan>"
                for n, line in enumerate(lines)
            )
            label_at = _attrs(
                x=x,
                y=lowest.bottom + 18,
                font_family=FONT,
                font_size=TICK_FONT_SIZE,
                text_anchor="middle",
                fill="#212b32",
            )
            out.append(
                _el("line", x1=x, x2=x, y1=lowest.bottom, y2=lowest.bottom + 5, stroke="#4c6272")
                + f"<text {label_at}>{tspans}</text>"
            )
    x_title = next(
        (
            (layout[k].get("title") or {}).get("text")
            for k in sorted(layout)
            if k.startswith("xaxis") and (layout[k].get("title") or {}).get("text")
        ),
        None,
    )
    if x_title:
        out.append(
            _text(
                (frame.left + frame.right) / 2,
                height - 12,
                x_title,
                font_size=13,
                text_anchor="middle",
                fill="#212b32",
            )
        )
    return out


def _traces(traces: Sequence[dict[str, Any]], axes: dict[str, _Axis], frame: _Frame) -> list[str]:
    out = []
    for trace in traces:
        axis = axes.get(trace.get("yaxis", "y"))
        if axis is None or not trace.get("x"):
            continue
        points = [
            (frame.x(str(x)), axis.y(float(y)))
            for x, y in zip(trace["x"], trace["y"], strict=True)
            if y is not None
        ]
        mode = trace.get("mode", "markers")
        line = trace.get("line") or {}
        if "lines" in mode and len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(
                _el(
                    "polyline",
                    points=path,
                    fill="none",
                    stroke=line.get("color", "#000000"),
                    stroke_width=line.get("width", 2),
                )
            )
        if "markers" in mode:
            marker = trace.get("marker") or {}
            outline = (marker.get("line") or {}).get("color", "#ffffff")
            for x, y in points:
                out.append(
                    _marker(
                        marker.get("symbol", "circle"),
                        x,
                        y,
                        float(marker.get("size", 8)),
                        marker.get("color", "#000000"),
                        outline,
                    )
                )
    return out


def _annotations(
    annotations: Sequence[dict[str, Any]],
    axes: dict[str, _Axis],
    frame: _Frame,
    top: float,
    bottom: float,
) -> list[str]:
    out = []
    for note in annotations:
        font = note.get("font") or {}
        size = font.get("size", 12)
        colour = font.get("color", "#212b32")
        anchor = {"left": "start", "right": "end"}.get(note.get("xanchor", ""), "middle")
        if note.get("xref") == "paper":
            x = frame.left + float(note.get("x", 0.5)) * (frame.right - frame.left)
            y = bottom - float(note.get("y", 0.5)) * (bottom - top)
        else:
            axis = axes.get(str(note.get("yref", "y")).split()[0])
            if axis is None:
                continue
            x = frame.left + float(note.get("x", 0)) * (frame.right - frame.left)
            x += 4 if anchor == "start" else -4 if anchor == "end" else 0
            y = axis.y(float(note.get("y", 0)))
            y += -4 if note.get("yanchor") == "bottom" else size / 3
        text = str(note.get("text", ""))
        if note.get("bgcolor"):
            wide = len(text) * size * 0.55 + 8
            left = x - wide / 2 if anchor == "middle" else x - 4 if anchor == "start" else x - wide
            out.append(
                _el("rect", x=left, y=y - size, width=wide, height=size * 1.5, fill=note["bgcolor"])
            )
        out.append(_text(x, y, text, font_size=size, text_anchor=anchor, fill=colour))
    return out


def _legend(traces: Sequence[dict[str, Any]], left: float, top: float) -> list[str]:
    """One row of keys above the plot, in the figure's legend order."""
    out = []
    x, y = left, top - 26
    for trace in sorted(traces, key=lambda t: t.get("legendrank", 1000)):
        marker = trace.get("marker") or {}
        colour = marker.get("color", "#000000")
        if "lines" in trace.get("mode", ""):
            out.append(
                f"<line {_attrs(x1=x, x2=x + 24, y1=y, y2=y, stroke=colour, stroke_width=3)}/>"
            )
        out.append(_marker(marker.get("symbol", "circle"), x + 12, y, 10, colour, "#ffffff"))
        name = str(trace.get("name", ""))
        out.append(_text(x + 30, y + 4, name, font_size=13, fill="#212b32"))
        x += 30 + 7 * len(name) + 24
    return out
