"""The service dashboard's monthly figures, from consenting clients only, with disclosure
control (docs/design.md sections 3, 6 and 9; docs/outcomes.md, "The service dashboard").

Every figure is one SQL aggregate over the episode summaries, grouped by UK calendar
month in the database: three queries whatever the number of episodes or months, each
starting from :mod:`caseload.reporting.base` (the consent-filtered base). A month is
the month of one date, and each date is a UK calendar day already:

- referrals received: the referral date;
- entered treatment, and the waits of those who did (within 42 and 126 days of
  referral): the first attended treatment contact (``first_treatment_on``);
- finished treatment (ended with 2 or more attended treatment contacts) and what the
  finished add up to (caseness at start, the national outcomes, paired scores, the
  hidden waits over 28 and 90 days between first and second treatment contacts, mean
  treatment contacts): the discharge date;
- the DNA rate: of the contacts with a recorded outcome in the episodes that ended in
  the month (finished or not), the share the client did not attend (codes 3 and 7).

Rates use the national denominators (recovery and reliable recovery: the finished at
caseness at start; the other outcomes, paired scores and hidden waits: the finished;
waits: those entering treatment). Raw counts never leave this module except through
:func:`disclose`, which suppresses and rounds each count on its own and computes
each rate from the unrounded counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, extract, func
from sqlalchemy.orm import InstrumentedAttribute

from caseload.domain.codes import ReferralSource
from caseload.domain.dates import format_month
from caseload.domain.disclosure import disclose_count, is_suppressed
from caseload.domain.outcomes import WAIT_TARGETS
from caseload.extensions import db
from caseload.models import Episode, EpisodeSummary, Team, User
from caseload.reporting.base import report_teams, reportable_episodes
from caseload.reporting.tabular import DisclosedRate, count_cell, csv_text, disclosed_rate
from caseload.services.audit import record_event

#: The default period: this many complete calendar months, ending last month.
DEFAULT_MONTHS = 24
#: The longest period one request may ask for.
MAX_MONTHS = 60


# Periods and filters -----------------------------------------------------------------


def month_start(day: date) -> date:
    """The first day of the day's calendar month."""
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after (or before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole calendar months, ``first`` to ``last`` inclusive (each the 1st of its month)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first.day != 1 or self.last.day != 1:
            raise ValueError("a period runs from the first of a month to the first of a month")
        if self.last < self.first:
            raise ValueError("a period cannot end before it starts")

    @classmethod
    def complete_months(cls, *, today: date, months: int = DEFAULT_MONTHS) -> Period:
        """The last ``months`` complete calendar months before today's."""
        last = add_months(month_start(today), -1)
        return cls(add_months(last, -(months - 1)), last)

    @property
    def months(self) -> tuple[date, ...]:
        """Each month of the period, oldest first."""
        count = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month
        return tuple(add_months(self.first, i) for i in range(count + 1))

    @property
    def end(self) -> date:
        """The period's last day."""
        return add_months(self.last, 1) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DashboardFilters:
    """Which episodes the figures cover: all, or one team, presenting problem or source."""

    #: The team of the worker who holds the episode.
    team_id: int | None = None
    presenting_problem: str | None = None
    referral_source: ReferralSource | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on an episode (the team's needs the worker joined as ``User``)."""
        found: list[ColumnElement[bool]] = []
        if self.team_id is not None:
            found.append(User.team_id == self.team_id)
        if self.presenting_problem is not None:
            found.append(Episode.presenting_problem == self.presenting_problem)
        if self.referral_source is not None:
            found.append(Episode.referral_source == self.referral_source)
        return found

    def detail(self) -> dict[str, Any]:
        """The filters as plain values (for the audit trail)."""
        return {
            "team_id": self.team_id,
            "presenting_problem": self.presenting_problem,
            "referral_source": None if self.referral_source is None else self.referral_source.value,
        }


def teams() -> list[Team]:
    """The service's teams, for the team filter."""
    return list(db.session.scalars(report_teams()))


# Raw monthly counts (never shown as they are) ------------------------------------------


@dataclass(slots=True)
class MonthCounts:
    """One month's raw counts over consenting clients' episodes, before disclosure control."""

    month: date
    referrals: int = 0
    entered_treatment: int = 0
    #: Of those entering treatment: referral to first treatment within 42 and 126 days.
    waited_6_weeks: int = 0
    waited_18_weeks: int = 0
    #: Episodes that ended in the month, finished or not (the DNA rate's episodes).
    ended: int = 0
    contacts_with_outcome: int = 0
    dna_contacts: int = 0
    finished: int = 0
    finished_at_caseness: int = 0
    recovered: int = 0
    reliably_recovered: int = 0
    reliably_improved: int = 0
    reliably_deteriorated: int = 0
    paired: int = 0
    #: Of the finished: first to second treatment contact over 28 and over 90 days.
    hidden_wait_28: int = 0
    hidden_wait_90: int = 0
    #: Attended treatment contacts of the finished, added up.
    finished_treatment_contacts: int = 0


def monthly_counts(*, period: Period, filters: DashboardFilters) -> list[MonthCounts]:
    """Each month's raw counts, oldest first: three grouped SQL aggregates."""
    counts = {month: MonthCounts(month) for month in period.months}
    for month, values in _grouped(
        Episode.referral_date, period, filters, {"referrals": func.count()}
    ):
        _add(counts, month, values)
    first_treatment = EpisodeSummary.first_treatment_on
    wait = EpisodeSummary.days_to_first_treatment
    for month, values in _grouped(
        first_treatment,
        period,
        filters,
        {
            "entered_treatment": func.count(),
            "waited_6_weeks": _count(wait <= WAIT_TARGETS.first_treatment_short),
            "waited_18_weeks": _count(wait <= WAIT_TARGETS.first_treatment_long),
        },
    ):
        _add(counts, month, values)
    finished = EpisodeSummary.finished_treatment.is_(True)
    gap = EpisodeSummary.second_treatment_gap_days
    for month, values in _grouped(
        Episode.discharged_on,
        period,
        filters,
        {
            "ended": func.count(),
            "contacts_with_outcome": _total(EpisodeSummary.contacts_with_outcome),
            "dna_contacts": _total(EpisodeSummary.dna_contacts),
            "finished": _count(finished),
            "finished_at_caseness": _count(finished, EpisodeSummary.caseness_at_start.is_(True)),
            "recovered": _count(finished, EpisodeSummary.recovered.is_(True)),
            "reliably_recovered": _count(finished, EpisodeSummary.reliably_recovered.is_(True)),
            "reliably_improved": _count(finished, EpisodeSummary.reliably_improved.is_(True)),
            "reliably_deteriorated": _count(
                finished, EpisodeSummary.reliably_deteriorated.is_(True)
            ),
            "paired": _count(finished, EpisodeSummary.paired.is_(True)),
            "hidden_wait_28": _count(finished, gap > WAIT_TARGETS.hidden_wait_short),
            "hidden_wait_90": _count(finished, gap > WAIT_TARGETS.hidden_wait_long),
            "finished_treatment_contacts": _total(
                case((finished, EpisodeSummary.treatment_contacts), else_=0)
            ),
        },
    ):
        _add(counts, month, values)
    return [counts[month] for month in period.months]


def _count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)


def _total(column: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


def _grouped(
    column: Any,
    period: Period,
    filters: DashboardFilters,
    measures: dict[str, ColumnElement[int]],
) -> Iterable[tuple[date, dict[str, int]]]:
    """The measures over consenting clients' episodes whose ``column`` (a UK date) falls in
    the period, grouped by its calendar month in the database."""
    # Year and month as two integer columns: portable across SQLite and PostgreSQL, and
    # without bound parameters, so GROUP BY repeats the select's expressions exactly.
    year = cast(extract("year", column), Integer)
    month = cast(extract("month", column), Integer)
    query = reportable_episodes().with_only_columns(
        year, month, *(value.label(name) for name, value in measures.items())
    )
    if filters.team_id is not None:
        query = query.join(User, User.id == Episode.worker_id)
    query = query.where(column.between(period.first, period.end), *filters.conditions())
    for row in db.session.execute(query.group_by(year, month)):
        values = dict(zip(measures, row[2:], strict=True))
        yield date(int(row[0]), int(row[1]), 1), {k: int(v or 0) for k, v in values.items()}


def _add(counts: dict[date, MonthCounts], month: date, values: dict[str, int]) -> None:
    target = counts[month]
    for name, value in values.items():
        setattr(target, name, value)


# What a lead sees ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One month's figures after disclosure control: counts rounded to 5 or None
    (suppressed, shown "*"), rates from the unrounded counts or suppressed."""

    month: date
    referrals: int | None
    entered_treatment: int | None
    finished: int | None
    finished_at_caseness: int | None
    recovered: int | None
    reliably_recovered: int | None
    reliably_improved: int | None
    reliably_deteriorated: int | None
    recovery_rate: DisclosedRate
    reliable_recovery_rate: DisclosedRate
    reliable_improvement_rate: DisclosedRate
    reliable_deterioration_rate: DisclosedRate
    waited_6_weeks_rate: DisclosedRate
    waited_18_weeks_rate: DisclosedRate
    hidden_wait_28_rate: DisclosedRate
    hidden_wait_90_rate: DisclosedRate
    dna_rate: DisclosedRate
    paired_rate: DisclosedRate
    #: Attended treatment contacts per finished episode, one decimal; None while the
    #: number finished is suppressed (or none finished).
    mean_treatment_contacts: Decimal | None

    @property
    def label(self) -> str:
        """The month as a person reads it: "Mar 2025"."""
        return format_month(self.month)

    @property
    def key(self) -> str:
        """The month as the CSV writes it: "2025-03"."""
        return f"{self.month:%Y-%m}"


def disclose(raw: MonthCounts) -> MonthFigures:
    """A month's figures safe to show a lead (docs/design.md section 6)."""
    mean = None
    if not is_suppressed(raw.finished):
        mean = (Decimal(raw.finished_treatment_contacts) / Decimal(raw.finished)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    return MonthFigures(
        month=raw.month,
        referrals=disclose_count(raw.referrals),
        entered_treatment=disclose_count(raw.entered_treatment),
        finished=disclose_count(raw.finished),
        finished_at_caseness=disclose_count(raw.finished_at_caseness),
        recovered=disclose_count(raw.recovered),
        reliably_recovered=disclose_count(raw.reliably_recovered),
        reliably_improved=disclose_count(raw.reliably_improved),
        reliably_deteriorated=disclose_count(raw.reliably_deteriorated),
        recovery_rate=disclosed_rate(raw.recovered, raw.finished_at_caseness),
        reliable_recovery_rate=disclosed_rate(raw.reliably_recovered, raw.finished_at_caseness),
        reliable_improvement_rate=disclosed_rate(raw.reliably_improved, raw.finished),
        reliable_deterioration_rate=disclosed_rate(raw.reliably_deteriorated, raw.finished),
        waited_6_weeks_rate=disclosed_rate(raw.waited_6_weeks, raw.entered_treatment),
        waited_18_weeks_rate=disclosed_rate(raw.waited_18_weeks, raw.entered_treatment),
        hidden_wait_28_rate=disclosed_rate(raw.hidden_wait_28, raw.finished),
        hidden_wait_90_rate=disclosed_rate(raw.hidden_wait_90, raw.finished),
        dna_rate=disclosed_rate(raw.dna_contacts, raw.contacts_with_outcome),
        paired_rate=disclosed_rate(raw.paired, raw.finished),
        mean_treatment_contacts=mean,
    )


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The service dashboard's table: one row of disclosed figures per month."""

    period: Period
    filters: DashboardFilters
    months: tuple[MonthFigures, ...] = field(default=())

    def series(self, name: str) -> list[Any]:
        """One figure's value in each month, oldest first (a rate as DisclosedRate)."""
        return [getattr(month, name) for month in self.months]


def service_dashboard(*, period: Period, filters: DashboardFilters) -> Dashboard:
    """The dashboard's monthly figures over consenting clients, after disclosure control."""
    raw = monthly_counts(period=period, filters=filters)
    return Dashboard(period, filters, tuple(disclose(month) for month in raw))


# The table behind the dashboard, as CSV --------------------------------------------------

#: The CSV's columns, in order: counts, then rates as percentages.
CSV_COLUMNS: tuple[str, ...] = (
    "month",
    "referrals",
    "entered_treatment",
    "finished",
    "finished_at_caseness",
    "recovered",
    "recovery_rate",
    "reliably_recovered",
    "reliable_recovery_rate",
    "reliably_improved",
    "reliable_improvement_rate",
    "reliably_deteriorated",
    "reliable_deterioration_rate",
    "waited_6_weeks_rate",
    "waited_18_weeks_rate",
    "paired_rate",
)


def csv_rows(dashboard: Dashboard) -> list[list[str]]:
    """The dashboard's months as CSV cells, in CSV_COLUMNS order."""
    rows = []
    for month in dashboard.months:
        row = [month.key]
        for name in CSV_COLUMNS[1:]:
            value = getattr(month, name)
            row.append(value.text if isinstance(value, DisclosedRate) else count_cell(value))
        rows.append(row)
    return rows


def dashboard_csv(asker: User, *, period: Period, filters: DashboardFilters) -> str:
    """The table behind the dashboard as CSV text; the export is audited."""
    dashboard = service_dashboard(period=period, filters=filters)
    record_event(
        "dashboard.export",
        actor=asker,
        object_type="dashboard",
        detail={
            "first_month": f"{period.first:%Y-%m}",
            "last_month": f"{period.last:%Y-%m}",
            **filters.detail(),
        },
    )
    return csv_text(CSV_COLUMNS, csv_rows(dashboard))
