"""What the printable pages show, gathered here so the views stay thin."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from caseload.charts import chart_summary, outcome_chart
from caseload.exports.svg import figure_svg
from caseload.policy import can_change_episode
from caseload.services.client_summary import EpisodeRecord
from caseload.services.episodes import chart_points
from caseload.web import london_now

#: The chart's title, as on the episode page.
CHART_TITLE = "PHQ-9 and GAD-7 over time"


def summary_context(record: EpisodeRecord) -> dict[str, Any]:
    """Everything the printable client summary shows, with its chart drawn as a static
    SVG from the same plotly figure as the episode page's."""
    points = chart_points(record.contacts)
    described = chart_summary(points)
    return {
        "record": record,
        "episode": record.episode,
        "client": record.client,
        "summary": record.episode.summary,
        "chart_svg": figure_svg(outcome_chart(points), title=CHART_TITLE, description=described),
        "chart_summary": described,
        "can_change": can_change_episode(current_user, record.episode),
        "printed_at": london_now(),
    }
