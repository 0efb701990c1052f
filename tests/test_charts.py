"""Outcome chart figures, built from plain data with no app."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest

from caseload.charts import (
    MISSED_RANGE,
    NO_SCORES_MESSAGE,
    ChartPoint,
    _plotly_outcome_chart,
    chart_summary,
    figure_json,
    outcome_chart,
)
from caseload.domain.dates import format_date, format_day_month
from caseload.domain.measures import get_measure

START = date(2025, 11, 3)


def _point(
    number: int,
    phq9: int | None = None,
    gad7: int | None = None,
    *,
    dna: bool = False,
    cancelled: bool = False,
    attended: bool | None = None,
    on: date | None = None,
) -> ChartPoint:
    return ChartPoint(
        contact_number=number,
        occurred_on=on or START + timedelta(days=7 * (number - 1)),
        phq9=phq9,
        gad7=gad7,
        attended=not (dna or cancelled) if attended is None else attended,
        dna=dna,
        cancelled=cancelled,
        what_happened=(
            "Did not attend" if dna else "Cancelled by patient" if cancelled else "Attended on time"
        ),
    )


def _day(number: int) -> str:
    """The ISO date of weekly contact ``number`` in the episodes below."""
    return (START + timedelta(days=7 * (number - 1))).isoformat()


EPISODE = (
    _point(1, 18, 15),
    _point(2, 16, 13),
    _point(3, dna=True),
    _point(4, 13, 11),
    _point(5, 11, 8),
    _point(6, 9, 7),
)

#: A client seen weekly, then a month's gap after a cancellation, then a DNA.
WITH_GAP = (
    _point(1, 18, 15),
    _point(2, 16, 13),
    _point(3, cancelled=True),
    _point(4, 14, 12, on=START + timedelta(days=7 * 2 + 35)),
    _point(5, dna=True, on=START + timedelta(days=7 * 2 + 42)),
    _point(6, 12, 10, on=START + timedelta(days=7 * 2 + 49)),
)


def _trace(fig: dict[str, Any], name: str, yaxis: str = "y") -> dict[str, Any]:
    matches = [t for t in fig["data"] if t["name"] == name and t["yaxis"] == yaxis]
    assert len(matches) == 1, f"expected one {name} trace on {yaxis}"
    return matches[0]


def _texts(fig: dict[str, Any]) -> list[str]:
    return [a["text"] for a in fig["layout"].get("annotations", [])]


def test_figure_is_json_serialisable() -> None:
    fig = outcome_chart(EPISODE)
    assert set(fig) == {"data", "layout"}
    assert json.loads(json.dumps(fig, allow_nan=False)) == fig


def test_score_traces_carry_attended_scores_in_contact_order() -> None:
    fig = outcome_chart(EPISODE)
    phq9 = _trace(fig, "PHQ-9", "y")
    gad7 = _trace(fig, "GAD-7", "y2")
    days = [_day(n) for n in (1, 2, 4, 5, 6)]
    assert phq9["x"] == days
    assert phq9["y"] == [18, 16, 13, 11, 9]
    assert gad7["x"] == days
    assert gad7["y"] == [15, 13, 11, 8, 7]
    assert phq9["mode"] == gad7["mode"] == "lines+markers"
    # Colour is not the only cue: the two series differ in marker symbol too.
    assert phq9["marker"]["symbol"] != gad7["marker"]["symbol"]
    assert phq9["line"]["color"] == "#005eb8"
    assert gad7["line"]["color"] == "#330072"


def test_hover_names_the_band() -> None:
    fig = outcome_chart(EPISODE)
    phq9 = _trace(fig, "PHQ-9", "y")
    assert phq9["hovertemplate"].startswith("Contact %{customdata[0]}, %{customdata[1]}<br>")
    assert "%{customdata[2]}" in phq9["hovertemplate"]
    assert [row[0] for row in phq9["customdata"]] == [1, 2, 4, 5, 6]
    assert [row[2] for row in phq9["customdata"]] == [
        "Moderately severe",
        "Moderately severe",
        "Moderate",
        "Moderate",
        "Mild",
    ]


def test_scores_from_contacts_not_attended_are_not_plotted() -> None:
    fig = outcome_chart([_point(1, 12, 9), _point(2, 20, 18, attended=False)])
    assert _trace(fig, "PHQ-9", "y")["y"] == [12]
    assert _trace(fig, "GAD-7", "y2")["y"] == [9]


def test_missing_scores_are_skipped() -> None:
    fig = outcome_chart([_point(1, 12, None), _point(2, None, 9), _point(3, 10, 7)])
    assert _trace(fig, "PHQ-9", "y")["x"] == [_day(1), _day(3)]
    assert _trace(fig, "GAD-7", "y2")["x"] == [_day(2), _day(3)]


def test_the_x_axis_is_time_so_gaps_between_sessions_show() -> None:
    fig = outcome_chart(WITH_GAP)
    layout = fig["layout"]
    assert {layout[f"xaxis{n}"]["type"] for n in ("", "2", "3")} == {"date"}
    phq9 = _trace(fig, "PHQ-9", "y")
    days = [date.fromisoformat(x) for x in phq9["x"]]
    gaps = [(later - earlier).days for earlier, later in zip(days, days[1:], strict=False)]
    assert gaps == [7, 42, 14]  # the month without a session is as wide as it was
    # The whole episode is in view, with a margin so the end markers show whole.
    low, high = (date.fromisoformat(d) for d in layout["xaxis3"]["range"])
    assert low < START
    assert high > max(p.occurred_on for p in WITH_GAP)


def test_dates_are_shown_in_uk_order_with_the_year() -> None:
    axis = outcome_chart(EPISODE)["layout"]["xaxis3"]
    # Day before month; plotly shows the part after the line break under the first tick
    # and wherever the year changes.
    assert axis["tickformat"] == "%-d %b\n%Y"
    assert axis["title"]["text"] == "Date of contact"


def test_missed_appointments_are_never_drawn_as_scores() -> None:
    """DNAs and cancellations sit on a strip of their own, outside every score range."""
    fig = outcome_chart(WITH_GAP)
    score_axes = {"y": get_measure("phq9").total_max, "y2": get_measure("gad7").total_max}
    missed = [t for t in fig["data"] if t["name"] in ("Did not attend", "Cancelled")]
    assert {t["name"] for t in missed} == {"Did not attend", "Cancelled"}
    for trace in missed:
        assert trace["yaxis"] == "y3"
        assert trace["mode"] == "markers"
        for value in trace["y"]:
            # Never a value a score could take, on any score axis...
            assert all(not 0 <= value <= top for top in score_axes.values())
            # ...and inside the strip's own range.
            assert MISSED_RANGE[0] < value < MISSED_RANGE[1]
    low, high = fig["layout"]["yaxis3"]["range"]
    assert high < 0
    assert fig["layout"]["yaxis3"]["ticktext"] == ["Missed"]
    # Nothing but scores on the score axes.
    for trace in fig["data"]:
        if trace["yaxis"] in score_axes:
            assert trace["name"] in ("PHQ-9", "GAD-7")


def test_dna_and_cancellation_have_distinct_symbols_in_the_legend() -> None:
    fig = outcome_chart(WITH_GAP)
    dna = _trace(fig, "Did not attend", "y3")
    cancelled = _trace(fig, "Cancelled", "y3")
    assert dna["x"] == [WITH_GAP[4].occurred_on.isoformat()]
    assert cancelled["x"] == [_day(3)]
    assert dna["marker"]["symbol"] != cancelled["marker"]["symbol"]
    assert dna["marker"]["symbol"] not in ("circle", "square")  # the score series' symbols
    assert cancelled["marker"]["symbol"] not in ("circle", "square")
    assert dna.get("showlegend", True)
    assert cancelled.get("showlegend", True)
    assert fig["layout"]["showlegend"] is True
    # The hover says what happened, in the words of the attendance code.
    assert dna["customdata"][0][2] == "Did not attend"
    assert cancelled["customdata"][0][2] == "Cancelled by patient"
    assert "%{customdata[2]}" in dna["hovertemplate"]


def test_no_missed_traces_without_missed_appointments() -> None:
    fig = outcome_chart([p for p in EPISODE if not p.dna])
    assert all(t["name"] not in ("Did not attend", "Cancelled") for t in fig["data"])
    # The strip stays, empty, so the layout does not jump when the first DNA is recorded.
    assert fig["layout"]["yaxis3"]["ticktext"] == ["Missed"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2025, 11, 3), "3 Nov"), (date(2026, 1, 31), "31 Jan"), (date(2024, 12, 1), "1 Dec")],
)
def test_short_date_has_no_leading_zero(day: date, expected: str) -> None:
    assert format_day_month(day) == expected


def test_subplots_are_stacked_and_share_the_x_axis() -> None:
    layout = outcome_chart(EPISODE)["layout"]
    assert layout["xaxis"]["matches"] == layout["xaxis2"]["matches"] == "x3"
    assert layout["yaxis"]["domain"][0] > layout["yaxis2"]["domain"][1]
    assert layout["yaxis2"]["domain"][0] > layout["yaxis3"]["domain"][1]
    # The missed-appointment strip is small next to the score plots.
    strip = layout["yaxis3"]["domain"][1] - layout["yaxis3"]["domain"][0]
    assert strip < (layout["yaxis2"]["domain"][1] - layout["yaxis2"]["domain"][0]) / 2
    low, high = layout["yaxis"]["range"]
    assert low < 0
    assert high > 27
    low, high = layout["yaxis2"]["range"]
    assert low < 0
    assert high > 21


def test_one_band_shape_per_severity_band_from_the_definitions() -> None:
    phq9, gad7 = get_measure("phq9"), get_measure("gad7")
    shapes = outcome_chart(EPISODE)["layout"]["shapes"]
    bands = [s for s in shapes if s["type"] == "rect"]
    assert len(bands) == len(phq9.bands) + len(gad7.bands)
    assert all(s["layer"] == "below" and s["opacity"] < 0.5 for s in bands)
    top = [s for s in bands if s["yref"] == "y"]
    bottom = [s for s in bands if s["yref"] == "y2"]
    assert len(top) == len(phq9.bands)
    assert len(bottom) == len(gad7.bands)
    # Each band covers its own totals and no others.
    for band, shape in zip(phq9.bands, top, strict=True):
        assert shape["y0"] < band.lower <= band.upper < shape["y1"]
    for lower, upper in zip(top, top[1:], strict=False):
        assert lower["y1"] == upper["y0"]
    assert {a for a in _texts(outcome_chart(EPISODE))} >= {b.label for b in phq9.bands}


def test_caseness_lines_at_the_cut_offs() -> None:
    fig = outcome_chart(EPISODE)
    lines = [s for s in fig["layout"]["shapes"] if s["type"] == "line"]
    by_axis = {s["yref"]: s for s in lines}
    assert len(lines) == 2
    assert by_axis["y"]["y0"] == by_axis["y"]["y1"] == 10
    assert by_axis["y2"]["y0"] == by_axis["y2"]["y1"] == 8
    assert all(s["line"]["dash"] == "dash" for s in lines)
    assert _texts(fig).count("Caseness") == 2


def test_layout_basics() -> None:
    layout = outcome_chart(EPISODE, title="Scores")["layout"]
    assert layout["title"]["text"] == "Scores"
    assert layout["meta"] == {"points": 6}
    assert layout["legend"]["orientation"] == "h"
    assert layout["font"]["family"].startswith("Frutiger W01")
    assert 400 <= layout["height"] <= 560


def test_empty_input_gives_a_valid_figure_with_a_message() -> None:
    fig = outcome_chart([])
    assert json.loads(figure_json(fig)) == fig
    assert NO_SCORES_MESSAGE == "No scores recorded yet"
    assert NO_SCORES_MESSAGE in _texts(fig)
    assert fig["layout"]["meta"] == {"points": 0}
    assert all(t["y"] == [] for t in fig["data"])


def test_contacts_without_scores_also_say_no_scores_yet() -> None:
    fig = outcome_chart([_point(1, dna=True), _point(2, attended=True)])
    assert NO_SCORES_MESSAGE in _texts(fig)
    assert _trace(fig, "Did not attend", "y3")["x"] == [_day(1)]


def test_message_absent_when_there_are_scores() -> None:
    assert NO_SCORES_MESSAGE not in _texts(outcome_chart(EPISODE))


def test_no_data_beyond_what_was_passed() -> None:
    """Every number and date in the traces comes from the points given, nothing else."""
    fig = outcome_chart(WITH_GAP)
    given_days = {p.occurred_on.isoformat() for p in WITH_GAP}
    given_scores = {s for p in WITH_GAP for s in (p.phq9, p.gad7) if s is not None}
    given_dates = {p.contact_number: format_date(p.occurred_on) for p in WITH_GAP}
    for trace in fig["data"]:
        assert set(trace["x"]) <= given_days
        scores = given_scores if trace["yaxis"] != "y3" else {-1}
        assert set(trace["y"]) <= scores
        assert len(trace["customdata"]) == len(trace["x"])
        for row, day in zip(trace["customdata"], trace["x"], strict=True):
            assert given_dates[row[0]] == row[1]
            assert date.fromisoformat(day).isoformat() == day
        assert set(trace) <= {
            "cliponaxis", "customdata", "hovertemplate", "legendgroup", "legendrank", "line",
            "marker", "mode", "name", "showlegend", "type", "x", "xaxis", "y", "yaxis",
        }  # fmt: skip
    serialised = figure_json(fig)
    # Dates from occurred_on (Nov 2025 to Jan 2026), and nothing from any other year.
    iso_or_uk = r"\b(20\d\d)-\d\d-\d\d|\b\d+ \w{3} (20\d\d)"
    assert {iso or uk for iso, uk in re.findall(iso_or_uk, serialised)} == {"2025", "2026"}


def test_summary_for_a_normal_episode() -> None:
    assert chart_summary(EPISODE) == (
        "PHQ-9 went from 18 to 9 and GAD-7 from 15 to 7 over 6 contacts; 1 did not attend."
    )


def test_summary_counts_cancellations_apart_from_dnas() -> None:
    assert chart_summary(WITH_GAP) == (
        "PHQ-9 went from 18 to 12 and GAD-7 from 15 to 10 over 6 contacts; "
        "1 did not attend and 1 was cancelled."
    )


def test_summary_without_dnas() -> None:
    points = [_point(1, 12, 10), _point(2, 8, 6)]
    assert (
        chart_summary(points) == "PHQ-9 went from 12 to 8 and GAD-7 from 10 to 6 over 2 contacts."
    )


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([], "No contacts recorded yet."),
        ([_point(1)], "No PHQ-9 or GAD-7 scores recorded over 1 contact."),
        (
            [_point(1, dna=True), _point(2, dna=True)],
            "No PHQ-9 or GAD-7 scores recorded over 2 contacts; 2 did not attend.",
        ),
        ([_point(1, 14, None)], "PHQ-9 was 14 over 1 contact."),
        (
            [_point(1, 14, None), _point(2, 10, None)],
            "PHQ-9 went from 14 to 10 over 2 contacts.",
        ),
        (
            [_point(1, None, 12), _point(2, 11, 9)],
            "PHQ-9 was 11 and GAD-7 went from 12 to 9 over 2 contacts.",
        ),
        (
            [_point(1, 20, 15), _point(2, None, 10), _point(3, dna=True)],
            "PHQ-9 was 20 and GAD-7 went from 15 to 10 over 3 contacts; 1 did not attend.",
        ),
    ],
)
def test_summary_with_missing_scores(points: list[ChartPoint], expected: str) -> None:
    assert chart_summary(points) == expected


def test_figure_json_round_trips_compactly() -> None:
    fig = outcome_chart(EPISODE)
    text = figure_json(fig)
    assert json.loads(text) == fig
    assert '": ' not in text


def test_figure_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        figure_json({"data": [{"y": [float("nan")]}], "layout": {}})


_SAME_AS_PLOTLY_CASES = {
    "episode": EPISODE,
    "with a gap": WITH_GAP,
    "empty": (),
    "only missed": (_point(1, dna=True), _point(2, cancelled=True)),
    "only PHQ-9": (_point(1, 12, None), _point(2, 20, None)),
    "only GAD-7": (_point(1, None, 9),),
    "scores when not attended": (_point(1, 12, 9, attended=False),),
    "one day": (_point(1, 27, 21, on=START), _point(2, 0, 0, on=START)),
    "out of range": (_point(1, 40, -3),),
}


@pytest.mark.parametrize("points", _SAME_AS_PLOTLY_CASES.values(), ids=_SAME_AS_PLOTLY_CASES)
@pytest.mark.parametrize("title", ["PHQ-9 and GAD-7 over time", "Another title"])
def test_fixed_parts_built_once_give_the_figure_plotly_builds(
    points: tuple[ChartPoint, ...], title: str
) -> None:
    """The chart copies its fixed layout built once and adds the points (issue 15); the
    result is the very figure plotly builds from scratch, key order included."""
    fast = outcome_chart(points, title=title)
    reference = _plotly_outcome_chart(points, title=title)
    assert figure_json(fast) == figure_json(reference)


def test_calls_do_not_share_mutable_parts() -> None:
    """Changing one figure never leaks into the next: each call gets its own copy."""
    first = outcome_chart(EPISODE)
    first["layout"]["shapes"].clear()
    first["data"][0]["x"].append("2099-01-01")
    second = outcome_chart(EPISODE)
    assert second["layout"]["shapes"]
    assert "2099-01-01" not in second["data"][0]["x"]
    assert second == _plotly_outcome_chart(EPISODE, title="PHQ-9 and GAD-7 over time")
