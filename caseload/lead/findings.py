"""The findings view: the study's concerns tested against the service's own data
(docs/findings.md). One GET page for the service lead, filtered by period and team, with
a printable version for a service meeting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.lead.findings_page import build_page, month_label
from caseload.lead.views import bp
from caseload.models import Team
from caseload.policy import LEAD, policy
from caseload.reporting.findings import next_month
from caseload.services import findings as findings_service
from caseload.web import today_in_london

#: Months offered in the period's lists, the current month included.
MONTHS_OFFERED = 36
#: The period shown when none is chosen: the last 12 months, the current one so far.
DEFAULT_MONTHS = 12


def months_back(month: date, count: int) -> date:
    """The first day of the month ``count`` months before ``month``'s."""
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _month(raw: str | None) -> date | None:
    """ "2025-03" as 1 Mar 2025, or None when it is not a month."""
    if not raw or len(raw) != 7 or raw[4] != "-":
        return None
    year, month = raw[:4], raw[5:]
    if not (year.isdigit() and month.isdigit()) or not 1 <= int(month) <= 12:
        return None
    return date(int(year), int(month), 1)


@dataclass(frozen=True)
class FindingsFilters:
    """The period (whole months, oldest first) and team the lead chose, and why any
    choice was not taken."""

    first: date
    last: date
    team: Team | None
    printable: bool
    offered: tuple[date, ...]
    notices: tuple[str, ...] = ()

    @property
    def months(self) -> tuple[date, ...]:
        """The first day of each month in the period."""
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = next_month(month)
        return tuple(months)

    def args(self, **changes: str) -> dict[str, str]:
        """The query string that shows this view again."""
        values = {"from": f"{self.first:%Y-%m}", "to": f"{self.last:%Y-%m}"}
        if self.team is not None:
            values["team"] = str(self.team.id)
        return values | changes

    @classmethod
    def from_query(
        cls, args: Mapping[str, str], *, today: date, teams: Sequence[Team]
    ) -> FindingsFilters:
        """The filters from the query string; anything unusable falls back to the default
        with a notice, never an error."""
        current = date(today.year, today.month, 1)
        offered = tuple(months_back(current, n) for n in range(MONTHS_OFFERED - 1, -1, -1))
        notices = []
        last = _month(args.get("to")) if args.get("to") else current
        first = (
            _month(args.get("from"))
            if args.get("from")
            else max(offered[0], months_back(last or current, DEFAULT_MONTHS - 1))
        )
        if first is None or last is None or first not in offered or last not in offered:
            notices.append(
                f"That period could not be used; showing the last {DEFAULT_MONTHS} months."
            )
            first, last = months_back(current, DEFAULT_MONTHS - 1), current
        elif first > last:
            notices.append("The period's start was after its end, so the two were swapped.")
            first, last = last, first
        team = None
        raw_team = args.get("team", "")
        if raw_team:
            team = next((t for t in teams if str(t.id) == raw_team), None)
            if team is None:
                notices.append("That team could not be found; showing the whole service.")
        return cls(
            first=first,
            last=last,
            team=team,
            printable=args.get("print") == "1",
            offered=offered,
            notices=tuple(notices),
        )


@bp.get("/findings")
@policy(LEAD)
def findings() -> ResponseReturnValue:
    """The findings view: nine sections, each a question from the study with its measure,
    value, chart and reading, for a period and optionally one team."""
    today = today_in_london()
    teams = findings_service.findings_teams(current_user)
    filters = FindingsFilters.from_query(request.args, today=today, teams=teams)
    found = findings_service.lead_findings(
        current_user, months=filters.months, team=filters.team, today=today
    )
    return render_template(
        "lead/findings.html",
        page=build_page(found, today=today),
        filters=filters,
        teams=teams,
        month_name=lambda month: month_label(month, today=today),
    )
