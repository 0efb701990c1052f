"""The service dashboard: national figures by month as SPC charts, and their CSV.

The figures are ``caseload.reporting.dashboard``'s (consenting clients only, after
disclosure control); this module reads the filters from the query string, draws one
XmR chart per figure (``caseload.domain.spc``, ``caseload.lead.charts``) and serves
the page and the CSV. Filters that cannot be met are ignored with a notice, like a
search: a GET never fails on its input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.charts import figure_json
from caseload.domain.codes import PRESENTING_PROBLEMS, ReferralSource
from caseload.domain.dates import format_month
from caseload.domain.spc import describe_assurance, describe_variation, xmr
from caseload.lead.charts import spc_figure
from caseload.lead.views import bp
from caseload.policy import LEAD, policy
from caseload.reporting import dashboard as reporting
from caseload.reporting.dashboard import Dashboard, DashboardFilters, Period
from caseload.reporting.tabular import DisclosedRate
from caseload.services.settings import ServiceSettings, service_settings
from caseload.web import today_in_london

#: How far back the period's first month may be chosen.
CHOOSABLE_MONTHS = reporting.MAX_MONTHS


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One SPC chart on the dashboard: which figure, which way is better, its target."""

    key: str
    title: str
    #: "increase", "decrease" or "neutral" (caseload.domain.spc).
    improvement: str
    #: What the figure counts, in words, with its denominator.
    definition: str
    #: The ServiceSettings attribute holding the target (a whole percentage), if any.
    target_setting: str | None = None
    percent: bool = True


@dataclass(frozen=True, slots=True)
class ChartGroup:
    """A heading and its charts."""

    heading: str
    charts: tuple[ChartSpec, ...]


CHART_GROUPS: tuple[ChartGroup, ...] = (
    ChartGroup(
        "Access and waiting",
        (
            ChartSpec(
                "referrals",
                "Referrals received",
                "neutral",
                "Referrals received in the month (rounded to the nearest 5).",
                percent=False,
            ),
            ChartSpec(
                "entered_treatment",
                "Entered treatment",
                "neutral",
                "Episodes whose first attended treatment contact fell in the month.",
                percent=False,
            ),
            ChartSpec(
                "waited_6_weeks_rate",
                "Entered treatment within 6 weeks",
                "increase",
                "Of those entering treatment in the month, the share who waited 42 days or "
                "fewer from referral.",
                "wait_6_weeks_target",
            ),
            ChartSpec(
                "waited_18_weeks_rate",
                "Entered treatment within 18 weeks",
                "increase",
                "Of those entering treatment in the month, the share who waited 126 days or "
                "fewer from referral.",
                "wait_18_weeks_target",
            ),
            ChartSpec(
                "hidden_wait_28_rate",
                "Hidden waits over 28 days",
                "decrease",
                "Of those finishing treatment in the month, the share who waited more than 28 "
                "days between their first and second treatment contacts.",
            ),
            ChartSpec(
                "hidden_wait_90_rate",
                "Hidden waits over 90 days",
                "decrease",
                "Of those finishing treatment in the month, the share who waited more than 90 "
                "days between their first and second treatment contacts.",
            ),
        ),
    ),
    ChartGroup(
        "Outcomes",
        (
            ChartSpec(
                "finished",
                "Finished treatment",
                "neutral",
                "Episodes that ended in the month with 2 or more attended treatment contacts.",
                percent=False,
            ),
            ChartSpec(
                "recovery_rate",
                "Recovery rate",
                "increase",
                "Recovered, of those finishing treatment in the month who were at caseness at "
                "the start.",
                "recovery_target",
            ),
            ChartSpec(
                "reliable_recovery_rate",
                "Reliable recovery rate",
                "increase",
                "Recovered with a reliable improvement, of those finishing treatment in the "
                "month who were at caseness at the start.",
                "reliable_recovery_target",
            ),
            ChartSpec(
                "reliable_improvement_rate",
                "Reliable improvement rate",
                "increase",
                "Reliably improved, of all those finishing treatment in the month.",
                "reliable_improvement_target",
            ),
            ChartSpec(
                "reliable_deterioration_rate",
                "Reliable deterioration rate",
                "decrease",
                "Reliably deteriorated, of all those finishing treatment in the month.",
            ),
        ),
    ),
    ChartGroup(
        "Engagement and data quality",
        (
            ChartSpec(
                "dna_rate",
                "Did not attend (DNA) rate",
                "decrease",
                "Of the contacts with a recorded outcome in the episodes that ended in the "
                "month, the share the client did not attend.",
            ),
            ChartSpec(
                "paired_rate",
                "Paired scores",
                "increase",
                "Of those finishing treatment in the month, the share with a first and a last "
                "score of both measures.",
                "paired_scores_target",
            ),
            ChartSpec(
                "mean_treatment_contacts",
                "Treatment contacts per finished episode",
                "neutral",
                "The mean number of attended treatment contacts of those finishing treatment "
                "in the month.",
                percent=False,
            ),
        ),
    ),
)


# The query string --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    """What the query string asked for, as far as it can be met, and why not otherwise."""

    period: Period
    filters: DashboardFilters
    notices: tuple[str, ...] = ()

    def args(self) -> dict[str, str]:
        """The query string that asks for the same figures (for the CSV link)."""
        found = {"from": f"{self.period.first:%Y-%m}", "to": f"{self.period.last:%Y-%m}"}
        if self.filters.team_id is not None:
            found["team"] = str(self.filters.team_id)
        if self.filters.presenting_problem is not None:
            found["problem"] = self.filters.presenting_problem
        if self.filters.referral_source is not None:
            found["source"] = self.filters.referral_source.value
        return found


def choosable_months(today: date) -> list[date]:
    """The months a period may start or end in, newest first: complete months only."""
    return list(reversed(Period.complete_months(today=today, months=CHOOSABLE_MONTHS).months))


def read_query(args: Mapping[str, str], *, today: date, team_ids: set[int]) -> DashboardQuery:
    """The period and filters from the query string; anything unknown is ignored with a
    notice, and the period falls back to the last 24 complete months."""
    notices: list[str] = []
    team_id = _choice(args, "team", {str(i): i for i in team_ids}, "team", notices)
    problem = _choice(args, "problem", {p: p for p in PRESENTING_PROBLEMS}, "problem", notices)
    source = _choice(args, "source", {s.value: s for s in ReferralSource}, "source", notices)
    period = Period.complete_months(today=today)
    months = {f"{m:%Y-%m}": m for m in choosable_months(today)}
    first, last = args.get("from", ""), args.get("to", "")
    if first or last:
        if first in months and last in months and months[first] <= months[last]:
            period = Period(months[first], months[last])
        else:
            notices.append(
                "The period must run from one complete month to the same or a later one "
                f"within the last {CHOOSABLE_MONTHS} months, so the last "
                f"{reporting.DEFAULT_MONTHS} complete months are shown."
            )
    return DashboardQuery(period, DashboardFilters(team_id, problem, source), tuple(notices))


def _choice(
    args: Mapping[str, str], key: str, known: Mapping[str, Any], noun: str, notices: list[str]
) -> Any:
    value = args.get(key, "")
    if not value:
        return None
    if value not in known:
        notices.append(f"That {noun} is not one of the choices, so every {noun} is counted.")
        return None
    return known[value]


# The charts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DashboardChart:
    """One chart as the page shows it: its figure (None when no month has a value)."""

    spec: ChartSpec
    target: float | None
    figure: str | None
    variation: str
    assurance: str
    months_shown: int

    @property
    def summary(self) -> str:
        """The chart in words, for its accessible name."""
        return f"{self.spec.title}: {self.variation} {self.assurance}"


def chart_values(dashboard: Dashboard, key: str) -> tuple[list[date], list[float]]:
    """The months with a value of one figure and those values (suppressed months left out)."""
    months: list[date] = []
    values: list[float] = []
    for figures, value in zip(dashboard.months, dashboard.series(key), strict=True):
        number = value.value if isinstance(value, DisclosedRate) else value
        if number is not None:
            months.append(figures.month)
            values.append(float(number))
    return months, values


def build_chart(dashboard: Dashboard, spec: ChartSpec, settings: ServiceSettings) -> DashboardChart:
    """One figure's XmR chart over the dashboard's months, with its words."""
    target = None if spec.target_setting is None else float(getattr(settings, spec.target_setting))
    months, values = chart_values(dashboard, spec.key)
    if not values:
        return DashboardChart(
            spec,
            target,
            None,
            "No month in this period has figures large enough to show.",
            "",
            0,
        )
    chart = xmr(values, improvement=spec.improvement, target=target)
    figure = spc_figure(
        chart,
        months,
        title=spec.title,
        target=target,
        percent=spec.percent,
        period=(dashboard.period.first, dashboard.period.last),
    )
    return DashboardChart(
        spec,
        target,
        figure_json(figure),
        describe_variation(chart, labels=[format_month(m) for m in months]),
        describe_assurance(chart),
        len(values),
    )


def build_charts(
    dashboard: Dashboard, settings: ServiceSettings
) -> list[tuple[str, list[DashboardChart]]]:
    """Every chart of the dashboard under its heading."""
    return [
        (group.heading, [build_chart(dashboard, spec, settings) for spec in group.charts])
        for group in CHART_GROUPS
    ]


def filter_labels(query: DashboardQuery, team_names: Mapping[int, str]) -> Sequence[str]:
    """The filters in force, in words."""
    filters = query.filters
    found = []
    if filters.team_id is not None:
        found.append(team_names[filters.team_id])
    if filters.presenting_problem is not None:
        found.append(filters.presenting_problem)
    if filters.referral_source is not None:
        found.append(f"referred by {filters.referral_source.label.lower()}")
    return found


# Routes ------------------------------------------------------------------------------


@bp.get("/")
@policy(LEAD)
def dashboard() -> ResponseReturnValue:
    """The service dashboard: monthly figures as SPC charts and a table, with filters."""
    today = today_in_london()
    teams = reporting.teams()
    query = read_query(request.args, today=today, team_ids={t.id for t in teams})
    figures = reporting.service_dashboard(period=query.period, filters=query.filters)
    return render_template(
        "lead/dashboard.html",
        query=query,
        dashboard=figures,
        groups=build_charts(figures, service_settings()),
        teams=teams,
        problems=PRESENTING_PROBLEMS,
        sources=list(ReferralSource),
        months=choosable_months(today),
        filter_labels=filter_labels(query, {t.id: t.name for t in teams}),
    )


@bp.get("/dashboard.csv")
@policy(LEAD)
def dashboard_csv() -> ResponseReturnValue:
    """The table behind the dashboard as CSV, after the same filters and disclosure control."""
    today = today_in_london()
    teams = reporting.teams()
    query = read_query(request.args, today=today, team_ids={t.id for t in teams})
    text = reporting.dashboard_csv(current_user, period=query.period, filters=query.filters)
    response = Response(text, mimetype="text/csv")
    name = f"service-dashboard-{query.period.first:%Y-%m}-to-{query.period.last:%Y-%m}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
