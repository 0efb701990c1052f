"""The findings view's figures: the study's concerns asked of this service's own records
(docs/findings.md; docs/design.md sections 1, 3, 6 and 10).

Every query starts from :mod:`caseload.reporting.base`: client figures from
``reportable_episodes()`` (consenting clients only), reflective notes from
``reportable_notes()`` (unlinked, or linked to a consenting client) and worker load
from ``worker_load_episodes()``, the one exception section 10 allows: how many cases a
worker holds counts every case. Figures come back raw (whole counts and sums, grouped
in SQL); :mod:`caseload.domain.findings` applies disclosure control before anyone sees
them, and the page shows nothing else.

The weekly load of each worker is derived once per request
(``caseload.services.workload.weekly_active_caseload``, rebuilt from the contact,
discharge and reassignment history) and joined into SQL as a small table of values, so
the sections that band by load (outcomes, endings) stay SQL aggregates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    column,
    distinct,
    exists,
    false,
    func,
    literal_column,
    or_,
    true,
    values,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from caseload.domain.codes import (
    AttendanceCode,
    ComplexityFactor,
    DischargeReason,
    EntryStatus,
    NotCollectedReason,
    ReferralSource,
    ReflectiveTheme,
)
from caseload.domain.dates import local_date, london_to_utc
from caseload.domain.findings import (
    SIGNAL_RATINGS,
    Band,
    RiskObservation,
    load_bands,
    risk_bands,
    risk_cases_at,
    sorted_observations,
    treatments_a_year,
)
from caseload.domain.measures import all_measures, every_contact_measures, get_measure
from caseload.domain.workload import EpisodeSpan, Handover, week_start
from caseload.extensions import db
from caseload.models import (
    Contact,
    ContactScore,
    Episode,
    EpisodeComplexityFactor,
    EpisodeReassignment,
    EpisodeSummary,
    NoteTheme,
    ReflectiveNote,
    SupervisionReview,
    SupervisionSession,
    SupervisionSessionCase,
)
from caseload.reporting.base import reportable_episodes, reportable_notes, worker_load_episodes
from caseload.services.workload import weekly_active_caseload

#: Attendance codes of a contact that took place, and of a client's non-attendance.
ATTENDED = tuple(code for code in AttendanceCode if code.attended)
DID_NOT_ATTEND = tuple(code for code in AttendanceCode if code.is_dna)
#: Endings that were not planned: the client dropped out or declined treatment.
UNPLANNED_ENDINGS = (DischargeReason.DROPPED_OUT, DischargeReason.DECLINED)
#: The referrer's expectation that is the study's role confusion (stored as the form's text).
COUNSELLING = "counselling"
#: A risk signal counts as reviewed when a supervision review of its case follows within
#: this many days (the red-flag review interval, docs/design.md section 3).
REVIEW_WITHIN_DAYS = 7


# The period and who is in it -------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a findings request covers: whole calendar months (UK dates), ending today at
    the latest, and either the whole service or one team's workers."""

    #: The first day of each month, oldest first.
    months: tuple[date, ...]
    today: date
    #: The workers whose load counts (the team's, or every worker's).
    worker_ids: tuple[int, ...]
    #: True when a team was chosen: records are then those its workers hold.
    team_only: bool = False
    #: The caseload cap, for the load bands (flag settings).
    cap: int = 45

    def __post_init__(self) -> None:
        if not self.months:
            raise ValueError("a period needs at least one month")
        if any(m.day != 1 for m in self.months):
            raise ValueError("months are given by their first day")
        if self.months[0] > self.today:
            raise ValueError("the period starts after today")

    @property
    def start(self) -> date:
        """The period's first day."""
        return self.months[0]

    @property
    def end(self) -> date:
        """The period's last day: the end of its last month, or today."""
        return min(next_month(self.months[-1]) - timedelta(days=1), self.today)

    @property
    def start_at(self) -> datetime:
        """The period's first moment (UK midnight), in UTC."""
        return london_to_utc(self.start, time(0, 0))

    @property
    def end_at(self) -> datetime:
        """The moment after the period's last day (UK midnight), in UTC."""
        return london_to_utc(self.end + timedelta(days=1), time(0, 0))

    @property
    def weeks(self) -> tuple[date, ...]:
        """The Mondays of the weeks that overlap the period."""
        return weeks_between(self.start, self.end)

    def held_by_team(self, worker: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """A condition on a worker column: the team's workers, or anyone."""
        if not self.team_only:
            return true()
        return worker.in_(self.worker_ids) if self.worker_ids else false()


def next_month(first: date) -> date:
    """The first day of the following month."""
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def weeks_between(start: date, end: date) -> tuple[date, ...]:
    """The Mondays of the weeks from start's to end's, oldest first."""
    monday, last = week_start(start), week_start(end)
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return tuple(weeks)


def _month_of_date(scope: Scope, day: Any) -> ColumnElement[int]:
    """The index of the period's month a date column falls in (rows already in the period)."""
    return _bucket(day, scope.months[1:])


def _month_of_moment(scope: Scope, moment: Any) -> ColumnElement[int]:
    """The index of the period's month (UK calendar) a UTC timestamp falls in."""
    return _bucket(moment, [london_to_utc(m, time(0, 0)) for m in scope.months[1:]])


def _bucket(value: Any, boundaries: Sequence[object]) -> ColumnElement[int]:
    """0 below the first boundary, 1 below the second ... len(boundaries) above them all:
    one CASE the same on SQLite and PostgreSQL, so months follow UK midnights.

    The boundaries are rendered into the statement (``literal_execute``), so the same
    expression in SELECT and GROUP BY reads the same to PostgreSQL.
    """
    if not boundaries:
        return literal_column("0", Integer)
    return case(
        *[
            (value < bindparam(None, bound, type_=value.type, literal_execute=True), _number(i))
            for i, bound in enumerate(boundaries)
        ],
        else_=_number(len(boundaries)),
    )


def _number(n: int) -> ColumnElement[int]:
    """A whole number written into the SQL (never a bound parameter: see ``_bucket``)."""
    return literal_column(str(int(n)), Integer)


def _band_of(value: Any, bands: Sequence[Band]) -> ColumnElement[int]:
    """The index of the band (``caseload.domain.findings``) a numeric column falls in."""
    whens = [
        (
            (value <= _number(band.upper)) if band.inclusive else (value < _number(band.upper)),
            _number(band.index),
        )
        for band in bands
        if band.upper is not None
    ]
    return case(*whens, else_=_number(bands[-1].index))


class _epoch_days(FunctionElement[float]):
    """Days since an epoch of a timestamp, to measure the time between two (SQLite's
    ``julianday``; PostgreSQL's seconds since 1970 over 86,400)."""

    type = Float()
    inherit_cache = True
    name = "epoch_days"


@compiles(_epoch_days, "sqlite")
def _epoch_days_sqlite(element: _epoch_days, compiler: SQLCompiler, **kw: Any) -> str:
    return f"julianday({compiler.process(element.clauses, **kw)})"


@compiles(_epoch_days, "postgresql")
def _epoch_days_postgresql(element: _epoch_days, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) / 86400.0)"


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet a condition (0 for none), as one SQL aggregate."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _risk_answer_signal() -> ColumnElement[bool]:
    """A contact score whose risk-item answer is a signal (PHQ-9 item 9 at 1 or more), by
    each measure definition's own threshold (``Measure.is_risk_answer``)."""
    rules = [
        and_(ContactScore.measure_id == m.id, ContactScore.risk_answer >= m.risk_item_signal_from)
        for m in all_measures()
        if m.risk_item is not None
    ]
    return or_(*rules) if rules else false()


def _risk_signal_at(contact: type[Contact] = Contact) -> ColumnElement[bool]:
    """A contact that signalled risk: its risk item answered as a signal, or its risk rated
    moderate or high (the risk flag's rule, ``caseload.domain.flags.has_open_risk``)."""
    return or_(
        contact.risk_level.in_(SIGNAL_RATINGS),
        exists().where(ContactScore.contact_id == contact.id, _risk_answer_signal()),
    )


def _in_force_attended() -> ColumnElement[bool]:
    """An attended contact that counts (not superseded or entered in error)."""
    return and_(Contact.status == EntryStatus.CURRENT, Contact.attendance.in_(ATTENDED))


# Raw figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """A proportion's raw counts, with how many workers stand behind it (figures about
    workers are withheld with fewer than 3)."""

    numerator: int = 0
    denominator: int = 0
    workers: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.numerator + other.numerator, self.denominator + other.denominator)


@dataclass(frozen=True)
class Sums:
    """The sufficient statistics of a mean: how many values, their sum and sum of squares,
    and how many different workers they came from."""

    n: int = 0
    total: float = 0.0
    sum_of_squares: float = 0.0
    workers: int = 0


def _tallies(size: int) -> list[Tally]:
    return [Tally() for _ in range(size)]


@dataclass(frozen=True)
class RiskAtAssessment:
    """Section 1: new episodes assessed, and those with a risk signal at assessment."""

    by_source: dict[ReferralSource, Tally]
    by_month: list[Tally]
    total: Tally


def risk_at_assessment(scope: Scope) -> RiskAtAssessment:
    """Episodes referred in the period and assessed (an attended contact), and how many had
    a risk signal at their first attended contact (usually the assessment): PHQ-9 item 9
    at 1 or more, or risk rated moderate or high."""
    month = _month_of_date(scope, Episode.referral_date)
    at_assessment = exists().where(
        Contact.episode_id == Episode.id,
        Contact.occurred_at == EpisodeSummary.first_contact_at,
        _in_force_attended(),
        _risk_signal_at(),
    )
    rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(Episode.referral_source, month, func.count(), _count(at_assessment))
        .where(
            Episode.referral_date.between(scope.start, scope.end),
            EpisodeSummary.first_contact_at.is_not(None),
            scope.held_by_team(Episode.worker_id),
        )
        .group_by(Episode.referral_source, month)
    ).all()
    by_source = {source: Tally() for source in ReferralSource}
    by_month = _tallies(len(scope.months))
    for source, index, assessed, risky in rows:
        tally = Tally(int(risky), int(assessed))
        by_source[source] += tally
        by_month[index] += tally
    return RiskAtAssessment(by_source, by_month, sum(by_month, Tally()))


@dataclass(frozen=True)
class Referrals:
    """Sections 2 and 7: new episodes by source, with complexity and with the referrer's
    expectation of counselling."""

    complex_by_source: dict[ReferralSource, Tally]
    counselling_by_source: dict[ReferralSource, Tally]
    counselling_by_month: list[Tally]
    by_factor: dict[ComplexityFactor, Tally]
    complex_total: Tally
    counselling_total: Tally


def referrals(scope: Scope) -> Referrals:
    """Episodes referred in the period by source and month: how many had any complexity
    factor, and how many referrers led the client to expect counselling; and how many
    had each complexity factor."""
    month = _month_of_date(scope, Episode.referral_date)
    complex_ = exists().where(EpisodeComplexityFactor.episode_id == Episode.id)
    counselling = func.lower(func.trim(Episode.referrer_expectation)) == COUNSELLING
    in_period = and_(
        Episode.referral_date.between(scope.start, scope.end),
        scope.held_by_team(Episode.worker_id),
    )
    rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(
            Episode.referral_source, month, func.count(), _count(complex_), _count(counselling)
        )
        .where(in_period)
        .group_by(Episode.referral_source, month)
    ).all()
    complex_by_source = {source: Tally() for source in ReferralSource}
    counselling_by_source = {source: Tally() for source in ReferralSource}
    counselling_by_month = _tallies(len(scope.months))
    referred = 0
    for source, index, count, with_factor, expected in rows:
        referred += int(count)
        complex_by_source[source] += Tally(int(with_factor), int(count))
        counselling_by_source[source] += Tally(int(expected), int(count))
        counselling_by_month[index] += Tally(int(expected), int(count))
    factor_rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(EpisodeComplexityFactor.factor, func.count())
        .join(EpisodeComplexityFactor, EpisodeComplexityFactor.episode_id == Episode.id)
        .where(in_period)
        .group_by(EpisodeComplexityFactor.factor)
    ).all()
    found = {factor: int(count) for factor, count in factor_rows}
    return Referrals(
        complex_by_source=complex_by_source,
        counselling_by_source=counselling_by_source,
        counselling_by_month=counselling_by_month,
        by_factor={f: Tally(found.get(f, 0), referred) for f in ComplexityFactor},
        complex_total=sum(complex_by_source.values(), Tally()),
        counselling_total=sum(counselling_by_month, Tally()),
    )


def _finished_in(scope: Scope) -> ColumnElement[bool]:
    """Episodes that finished a course of treatment, discharged in the period."""
    return and_(
        EpisodeSummary.finished_treatment.is_(True),
        Episode.discharged_on.between(scope.start, scope.end),
        scope.held_by_team(Episode.worker_id),
    )


@dataclass(frozen=True)
class ComplexOutcomes:
    """Section 2: reliable recovery of finished episodes with and without complexity (of
    those at caseness at start, the national denominator)."""

    complex: Tally
    other: Tally


def complex_outcomes(scope: Scope) -> ComplexOutcomes:
    """Reliable recovery of the finished episodes discharged in the period, complex or not."""
    complex_ = exists().where(EpisodeComplexityFactor.episode_id == Episode.id)
    caseness = EpisodeSummary.caseness_at_start.is_(True)
    recovered = and_(caseness, EpisodeSummary.reliably_recovered.is_(True))
    row = db.session.execute(
        reportable_episodes()
        .with_only_columns(
            _count(and_(complex_, recovered)),
            _count(and_(complex_, caseness)),
            _count(and_(~complex_, recovered)),
            _count(and_(~complex_, caseness)),
        )
        .where(_finished_in(scope))
    ).one()
    numbers = [int(n) for n in row]
    return ComplexOutcomes(complex=Tally(*numbers[:2]), other=Tally(*numbers[2:]))


# Worker load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyLoad:
    """Each worker's active caseload at the end of each week (every case counts), derived
    once per request and shared by every section that needs load."""

    #: Mondays, oldest first; the last ones are the period's.
    weeks: tuple[date, ...]
    #: Worker id -> active cases at the end of each week in ``weeks``.
    by_worker: dict[int, list[int]]
    today: date

    def in_period(self, scope: Scope) -> dict[int, list[int]]:
        """Each worker's counts for the weeks overlapping the period."""
        first = self.weeks.index(scope.weeks[0])
        return {worker: counts[first:] for worker, counts in self.by_worker.items()}

    def load_table(self) -> Any:
        """(worker_id, week_no, active) as a SQL table of values, and (week_no, starts,
        ends) with each week's calendar Monday and Sunday: a CTE pair for joins."""
        load = (
            values(
                column("worker_id", Integer),
                column("week_no", Integer),
                column("active", Integer),
                name="worker_weeks",
                literal_binds=True,  # whole numbers only, inlined: no limit on parameters
            )
            .data(
                [
                    (worker, index, count)
                    for worker, counts in sorted(self.by_worker.items())
                    for index, count in enumerate(counts)
                ]
            )
            .cte("worker_weeks")
        )
        weeks = (
            values(
                column("week_no", Integer),
                column("starts", Date),
                column("ends", Date),
                name="load_weeks",
            )
            .data([(i, m, m + timedelta(days=6)) for i, m in enumerate(self.weeks)])
            .cte("load_weeks")
        )
        return load, weeks


def first_treatment_of_finished(scope: Scope) -> date | None:
    """The earliest first treatment date of the episodes finished in the period: how far
    back the weekly load must go to cover their whole course."""
    return db.session.execute(
        reportable_episodes()
        .with_only_columns(func.min(EpisodeSummary.first_treatment_on))
        .where(_finished_in(scope))
    ).scalar()


def weekly_load(scope: Scope, *, since: date | None = None) -> WeeklyLoad:
    """The weekly active caseload of the scope's workers from the week of ``since`` (or the
    period's start) to the end of the period."""
    start = min(scope.start, since) if since else scope.start
    weeks = weeks_between(start, scope.end)
    counts = weekly_active_caseload(scope.worker_ids, weeks=weeks, today=scope.today)
    return WeeklyLoad(weeks=weeks, by_worker=counts, today=scope.today)


@dataclass(frozen=True)
class LoadFigures:
    """Section 3: the distribution of worker-weeks, and treatments finished per worker."""

    #: Active caseloads of the worker-weeks with at least one active case.
    worker_weeks: list[int]
    #: Per week (the period's), the active caseloads of the workers holding any.
    by_week: list[list[int]]
    weeks: tuple[date, ...]
    #: Workers with at least one active case in the period.
    workers: int
    #: Treatments finished a year, per worker with enough active weeks.
    finished_a_year: list[float]
    cap: int


def finished_by_worker(scope: Scope) -> dict[int, int]:
    """Per worker, episodes discharged in the period with a finished course of treatment,
    every case counted (worker load): held at discharge, since a closed case cannot move."""
    rows = db.session.execute(
        worker_load_episodes()
        .with_only_columns(Episode.worker_id, func.count())
        .where(
            EpisodeSummary.finished_treatment.is_(True),
            Episode.discharged_on.between(scope.start, scope.end),
            Episode.worker_id.in_(scope.worker_ids) if scope.worker_ids else false(),
        )
        .group_by(Episode.worker_id)
    ).all()
    return {int(worker): int(count) for worker, count in rows}


def load_figures(scope: Scope, load: WeeklyLoad) -> LoadFigures:
    """The period's worker-weeks and treatments finished per worker-year."""
    weekly = load.in_period(scope)
    finished = finished_by_worker(scope)
    worker_weeks = [count for counts in weekly.values() for count in counts if count > 0]
    by_week = [
        [counts[i] for counts in weekly.values() if counts[i] > 0] for i in range(len(scope.weeks))
    ]
    return LoadFigures(
        worker_weeks=worker_weeks,
        by_week=by_week,
        weeks=scope.weeks,
        workers=sum(1 for counts in weekly.values() if any(counts)),
        finished_a_year=treatments_a_year(weekly, finished),
        cap=scope.cap,
    )


@dataclass(frozen=True)
class BandOutcomes:
    """Section 4, one load band: finished episodes, their national outcome counts, their
    contacts with an outcome recorded and the non-attendances among them."""

    finished: int = 0
    at_caseness: int = 0
    reliably_recovered: int = 0
    reliably_improved: int = 0
    recorded_contacts: int = 0
    did_not_attend: int = 0
    workers: int = 0

    @property
    def reliable_recovery(self) -> Tally:
        """Reliably recovered of those at caseness at start."""
        return Tally(self.reliably_recovered, self.at_caseness, self.workers)

    @property
    def reliable_improvement(self) -> Tally:
        """Reliably improved of those finished."""
        return Tally(self.reliably_improved, self.finished, self.workers)

    @property
    def dna_rate(self) -> Tally:
        """Did not attend of the contacts whose outcome was recorded."""
        return Tally(self.did_not_attend, self.recorded_contacts, self.workers)


def outcomes_by_load(scope: Scope, load: WeeklyLoad) -> list[BandOutcomes]:
    """Finished episodes discharged in the period by the band of their worker's average
    active caseload over the weeks the course ran (first treatment to discharge)."""
    bands = load_bands(scope.cap)
    found = [BandOutcomes() for _ in bands]
    if not load.by_worker:
        return found
    table, weeks = load.load_table()
    recorded = and_(
        Contact.status == EntryStatus.CURRENT, Contact.attendance != AttendanceCode.BOOKED
    )
    # One row per episode: the joined contacts repeat every week's row equally, so the
    # average load is unchanged, and contacts are counted once each (distinct ids).
    per_episode = (
        reportable_episodes()
        .with_only_columns(
            Episode.id.label("episode_id"),
            Episode.worker_id.label("worker_id"),
            EpisodeSummary.caseness_at_start.label("at_caseness"),
            EpisodeSummary.reliably_recovered.label("recovered"),
            EpisodeSummary.reliably_improved.label("improved"),
            func.avg(table.c.active).label("load"),
            func.count(distinct(Contact.id)).label("recorded"),
            func.count(distinct(case((Contact.attendance.in_(DID_NOT_ATTEND), Contact.id)))).label(
                "dna"
            ),
        )
        .join(table, table.c.worker_id == Episode.worker_id)
        .join(weeks, weeks.c.week_no == table.c.week_no)
        .outerjoin(Contact, and_(Contact.episode_id == Episode.id, recorded))
        .where(
            _finished_in(scope),
            weeks.c.starts <= Episode.discharged_on,
            weeks.c.ends >= EpisodeSummary.first_treatment_on,
        )
        .group_by(
            Episode.id,
            Episode.worker_id,
            EpisodeSummary.caseness_at_start,
            EpisodeSummary.reliably_recovered,
            EpisodeSummary.reliably_improved,
        )
        .subquery()
    )
    band = _band_of(per_episode.c.load, bands)
    rows = db.session.execute(
        per_episode.select()
        .with_only_columns(
            band,
            func.count(),
            _count(per_episode.c.at_caseness.is_(True)),
            _count(and_(per_episode.c.at_caseness.is_(True), per_episode.c.recovered.is_(True))),
            _count(per_episode.c.improved.is_(True)),
            func.coalesce(func.sum(per_episode.c.recorded), 0),
            func.coalesce(func.sum(per_episode.c.dna), 0),
            func.count(distinct(per_episode.c.worker_id)),
        )
        .group_by(band)
    ).all()
    for index, *numbers in rows:
        found[int(index)] = BandOutcomes(*(int(n) for n in numbers))
    return found


# Reflective notes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Strain:
    """Section 5: manageability ratings and themes of notes by the author's load."""

    #: Per caseload band: the ratings' sums, and every note (rated or not).
    rating_by_load: list[Sums]
    notes_by_load: list[Sums]
    #: (band index, theme) -> notes with that theme.
    themes_by_load: dict[tuple[int, ReflectiveTheme], int]
    #: Per band of risk cases held when writing: the ratings' sums.
    rating_by_risk: list[Sums]


def _notes_in(scope: Scope) -> ColumnElement[bool]:
    """Notes written in the period by the scope's workers."""
    return and_(
        ReflectiveNote.written_at >= scope.start_at,
        ReflectiveNote.written_at < scope.end_at,
        scope.held_by_team(ReflectiveNote.author_id),
    )


def strain(scope: Scope) -> Strain:
    """Manageability (1-5) and themes of the period's countable notes, by the author's
    active caseload when each was written (stored with the note), and ratings by the risk
    cases the author held then (rebuilt from the history: ``risk_cases_when_written``)."""
    bands = load_bands(scope.cap)
    band = _band_of(ReflectiveNote.caseload_at_writing, bands)
    rating = ReflectiveNote.manageability
    rated = rating.is_not(None)
    rows = db.session.execute(
        reportable_notes()
        .with_only_columns(
            band,
            func.count(),
            func.count(distinct(ReflectiveNote.author_id)),
            func.count(rating),
            func.coalesce(func.sum(rating), 0),
            func.coalesce(func.sum(rating * rating), 0),
            func.count(distinct(case((rated, ReflectiveNote.author_id)))),
        )
        .where(_notes_in(scope))
        .group_by(band)
    ).all()
    rating_by_load = [Sums() for _ in bands]
    notes_by_load = [Sums() for _ in bands]
    for index, notes, authors, n, total, squares, raters in rows:
        notes_by_load[int(index)] = Sums(int(notes), 0.0, 0.0, int(authors))
        rating_by_load[int(index)] = Sums(
            int(n), float(total or 0), float(squares or 0), int(raters)
        )
    theme_rows = db.session.execute(
        reportable_notes()
        .with_only_columns(band, NoteTheme.theme, func.count())
        .join(NoteTheme, NoteTheme.note_id == ReflectiveNote.id)
        .where(_notes_in(scope))
        .group_by(band, NoteTheme.theme)
    ).all()
    themes = {(int(index), theme): int(count) for index, theme, count in theme_rows}
    return Strain(rating_by_load, notes_by_load, themes, rating_by_risk(scope))


def rating_by_risk(scope: Scope) -> list[Sums]:
    """Manageability ratings of the period's countable notes by the band of open risk
    cases their author held when writing: counted when the note was written
    (``risk_cases_at_writing``), or, for a note written before that was recorded,
    rebuilt from the history (``risk_cases_when_written``)."""
    bands = risk_bands()
    notes = db.session.execute(
        reportable_notes()
        .with_only_columns(
            ReflectiveNote.id,
            ReflectiveNote.author_id,
            ReflectiveNote.written_at,
            ReflectiveNote.manageability,
            ReflectiveNote.risk_cases_at_writing,
        )
        .where(_notes_in(scope), ReflectiveNote.manageability.is_not(None))
    ).all()
    unrecorded = [n for n in notes if n.risk_cases_at_writing is None]
    rebuilt = dict(
        zip(
            (n.id for n in unrecorded),
            risk_cases_when_written([(n.author_id, n.written_at) for n in unrecorded]),
            strict=True,
        )
    )
    held = [
        rebuilt[n.id] if n.risk_cases_at_writing is None else n.risk_cases_at_writing for n in notes
    ]
    grouped: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for note, risk_cases in zip(notes, held, strict=True):
        index = next(b.index for b in bands if b.holds(risk_cases))
        grouped[index].append((note.author_id, int(note.manageability or 0)))
    found = []
    for band in bands:
        ratings = grouped.get(band.index, [])
        found.append(
            Sums(
                len(ratings),
                float(sum(r for _, r in ratings)),
                float(sum(r * r for _, r in ratings)),
                len({author for author, _ in ratings}),
            )
        )
    return found


def risk_cases_when_written(notes: Sequence[tuple[int, datetime]]) -> list[int]:
    """For each (author, moment), how many active cases the author held with risk open at
    that moment, every case counted (worker load, docs/design.md section 10).

    Rebuilt from the history in three queries whatever the number of notes: who held
    which episode when (its reassignments), when each was active, and what each attended
    contact said about risk (the risk flag's rule asked of the past:
    ``caseload.domain.findings.risk_open_at``).
    """
    if not notes:
        return []
    authors = sorted({author for author, _ in notes})
    latest = max(moment for _, moment in notes)
    moved = (
        worker_load_episodes()
        .with_only_columns(EpisodeReassignment.episode_id)
        .join(EpisodeReassignment, EpisodeReassignment.episode_id == Episode.id)
        .where(
            or_(
                EpisodeReassignment.from_worker_id.in_(authors),
                EpisodeReassignment.to_worker_id.in_(authors),
            )
        )
    )
    relevant = and_(
        or_(Episode.worker_id.in_(authors), Episode.id.in_(moved)),
        EpisodeSummary.first_treatment_at.is_not(None),
        EpisodeSummary.first_treatment_at <= latest,
    )
    spans = [
        EpisodeSpan(episode_id=e, worker_id=w, first_treatment_on=first, discharged_on=ended)
        for e, w, first, ended in db.session.execute(
            worker_load_episodes()
            .with_only_columns(
                Episode.id,
                Episode.worker_id,
                EpisodeSummary.first_treatment_on,
                Episode.discharged_on,
            )
            .where(relevant)
        )
    ]
    handovers: dict[int, list[Handover]] = defaultdict(list)
    for episode_id, at, from_id, to_id in db.session.execute(
        worker_load_episodes()
        .with_only_columns(
            EpisodeReassignment.episode_id,
            EpisodeReassignment.reassigned_at,
            EpisodeReassignment.from_worker_id,
            EpisodeReassignment.to_worker_id,
        )
        .join(EpisodeReassignment, EpisodeReassignment.episode_id == Episode.id)
        .where(relevant)
        .order_by(EpisodeReassignment.reassigned_at, EpisodeReassignment.id)
    ):
        handovers[episode_id].append(Handover(episode_id, local_date(at), from_id, to_id))
    observations = _risk_observations(relevant, latest)
    return [
        risk_cases_at(
            moment, worker_id=author, spans=spans, handovers=handovers, observations=observations
        )
        for author, moment in notes
    ]


def _risk_observations(
    relevant: ColumnElement[bool], latest: datetime
) -> dict[int, list[RiskObservation]]:
    """What each attended contact of the relevant episodes said about risk, by episode."""
    rows = db.session.execute(
        worker_load_episodes()
        .with_only_columns(
            Contact.episode_id,
            Contact.id,
            Contact.occurred_at,
            Contact.risk_level,
            ContactScore.measure_id,
            ContactScore.risk_answer,
        )
        .join(Contact, Contact.episode_id == Episode.id)
        .outerjoin(
            ContactScore,
            and_(ContactScore.contact_id == Contact.id, ContactScore.risk_answer.is_not(None)),
        )
        .where(
            relevant,
            _in_force_attended(),
            Contact.occurred_at <= latest,
            or_(Contact.risk_level.is_not(None), ContactScore.id.is_not(None)),
        )
    ).all()
    by_contact: dict[int, dict[str, Any]] = {}
    for episode_id, contact_id, at, level, measure_id, answer in rows:
        seen = by_contact.setdefault(
            contact_id,
            {
                "episode_id": episode_id,
                "at": at,
                "contact_id": contact_id,
                "answer_signal": None,
                "rating_signal": None if level is None else level in SIGNAL_RATINGS,
            },
        )
        if measure_id is not None:
            signal = get_measure(measure_id).is_risk_answer(answer)
            seen["answer_signal"] = bool(seen["answer_signal"]) or signal
    return sorted_observations(RiskObservation(**seen) for seen in by_contact.values())


# Data collection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DataCollection:
    """Section 6: attended contacts with both measures, paired scores of finished
    episodes, and the reasons given for not collecting."""

    both_by_month: list[Tally]
    paired_by_month: list[Tally]
    #: Attended contacts at which each reason was given, of all attended contacts.
    reasons: dict[NotCollectedReason, Tally]


def data_collection(scope: Scope) -> DataCollection:
    """Attended contacts in the period with a total for every measure asked at every
    contact (PHQ-9 and GAD-7), by month; finished episodes with paired scores, by month of
    discharge; and the reasons recorded for measures not collected."""
    month = _month_of_moment(scope, Contact.occurred_at)
    both = and_(
        *[
            exists().where(
                ContactScore.contact_id == Contact.id,
                ContactScore.measure_id == measure_id,
                ContactScore.total.is_not(None),
            )
            for measure_id in every_contact_measures()
        ]
    )
    in_period = and_(
        _in_force_attended(),
        Contact.occurred_at >= scope.start_at,
        Contact.occurred_at < scope.end_at,
        scope.held_by_team(Episode.worker_id),
    )
    reason_given = {
        reason: exists().where(
            ContactScore.contact_id == Contact.id, ContactScore.not_collected_reason == reason
        )
        for reason in NotCollectedReason
    }
    rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(
            month, func.count(), _count(both), *[_count(c) for c in reason_given.values()]
        )
        .join(Contact, Contact.episode_id == Episode.id)
        .where(in_period)
        .group_by(month)
    ).all()
    both_by_month = _tallies(len(scope.months))
    with_reason = dict.fromkeys(NotCollectedReason, 0)
    attended = 0
    for index, count, complete, *given in rows:
        attended += int(count)
        both_by_month[int(index)] = Tally(int(complete), int(count))
        for reason, n in zip(reason_given, given, strict=True):
            with_reason[reason] += int(n)
    discharged = _month_of_date(scope, Episode.discharged_on)
    paired_rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(discharged, func.count(), _count(EpisodeSummary.paired.is_(True)))
        .where(_finished_in(scope))
        .group_by(discharged)
    ).all()
    paired_by_month = _tallies(len(scope.months))
    for index, finished, paired in paired_rows:
        paired_by_month[int(index)] = Tally(int(paired), int(finished))
    return DataCollection(
        both_by_month=both_by_month,
        paired_by_month=paired_by_month,
        reasons={reason: Tally(n, attended) for reason, n in with_reason.items()},
    )


# Endings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endings:
    """Section 8: episodes discharged in the period by reason, unplanned endings by month
    and by the band of the worker's active caseload in the week of discharge."""

    by_reason: dict[DischargeReason, Tally]
    unplanned_by_month: list[Tally]
    unplanned_by_load: list[Tally]


def endings(scope: Scope, load: WeeklyLoad) -> Endings:
    """Discharges in the period: reasons, and the share that were unplanned (dropped out or
    declined treatment)."""
    month = _month_of_date(scope, Episode.discharged_on)
    unplanned = Episode.discharge_reason.in_(UNPLANNED_ENDINGS)
    discharged = and_(
        Episode.discharged_on.between(scope.start, scope.end),
        scope.held_by_team(Episode.worker_id),
    )
    rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(month, Episode.discharge_reason, func.count())
        .where(discharged)
        .group_by(month, Episode.discharge_reason)
    ).all()
    counts: dict[DischargeReason, int] = dict.fromkeys(DischargeReason, 0)
    by_month = _tallies(len(scope.months))
    for index, reason, count in rows:
        if reason is None:  # pragma: no cover - a discharge always records its reason
            continue
        counts[reason] += int(count)
        by_month[int(index)] += Tally(int(count) if reason in UNPLANNED_ENDINGS else 0, int(count))
    total = sum(counts.values())
    bands = load_bands(scope.cap)
    by_load = _tallies(len(bands))
    if load.by_worker:
        table, weeks = load.load_table()
        band = _band_of(table.c.active, bands)
        band_rows = db.session.execute(
            reportable_episodes()
            .with_only_columns(
                band, _count(unplanned), func.count(), func.count(distinct(Episode.worker_id))
            )
            .join(table, table.c.worker_id == Episode.worker_id)
            .join(weeks, weeks.c.week_no == table.c.week_no)
            .where(
                discharged,
                weeks.c.starts <= Episode.discharged_on,
                weeks.c.ends >= Episode.discharged_on,
            )
            .group_by(band)
        ).all()
        for index, n, d, workers in band_rows:
            by_load[int(index)] = Tally(int(n), int(d), int(workers))
    return Endings(
        by_reason={reason: Tally(n, total) for reason, n in counts.items()},
        unplanned_by_month=by_month,
        unplanned_by_load=by_load,
    )


# Supervision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupervisionMonth:
    """Section 9, one month: ended sessions with at least one countable case, the cases on
    their lists, those discussed (opened) and the time on them."""

    sessions: int = 0
    cases: int = 0
    discussed: int = 0
    seconds: int = 0
    seconds_squared: int = 0
    workers: int = 0

    @property
    def minutes_per_case(self) -> Sums:
        """Minutes on screen per case discussed, as a mean's sums."""
        return Sums(self.discussed, self.seconds / 60, self.seconds_squared / 3600, self.workers)


@dataclass(frozen=True)
class SupervisionFigures:
    """Section 9: sessions by month, and risk signals reviewed within 7 days by month."""

    by_month: list[SupervisionMonth]
    reviewed_by_month: list[Tally]
    total: SupervisionMonth = field(default_factory=SupervisionMonth)


def supervision(scope: Scope) -> SupervisionFigures:
    """Case-management supervision in the period, from consenting clients' cases only:
    ended sessions by the month they started, and the risk signals recorded at attended
    contacts that a supervision review of the case followed within 7 days."""
    started = _month_of_moment(scope, SupervisionSession.started_at)
    discussed = SupervisionSessionCase.first_opened_at.is_not(None)
    seconds = case((discussed, SupervisionSessionCase.seconds), else_=0)
    session_filter = and_(
        SupervisionSession.ended_at.is_not(None),
        SupervisionSession.started_at >= scope.start_at,
        SupervisionSession.started_at < scope.end_at,
        scope.held_by_team(SupervisionSession.worker_id),
    )
    rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(
            started,
            func.count(distinct(SupervisionSession.id)),
            func.count(),
            _count(discussed),
            func.coalesce(func.sum(seconds), 0),
            func.coalesce(func.sum(seconds * seconds), 0),
            func.count(distinct(SupervisionSession.worker_id)),
        )
        .join(SupervisionSessionCase, SupervisionSessionCase.episode_id == Episode.id)
        .join(SupervisionSession, SupervisionSession.id == SupervisionSessionCase.session_id)
        .where(session_filter)
        .group_by(started)
    ).all()
    by_month = [SupervisionMonth() for _ in scope.months]
    for index, *numbers in rows:
        by_month[int(index)] = SupervisionMonth(*(int(n) for n in numbers))
    workers_rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(func.count(distinct(SupervisionSession.worker_id)))
        .join(SupervisionSessionCase, SupervisionSessionCase.episode_id == Episode.id)
        .join(SupervisionSession, SupervisionSession.id == SupervisionSessionCase.session_id)
        .where(session_filter)
    ).scalar()
    total = SupervisionMonth(
        sessions=sum(m.sessions for m in by_month),
        cases=sum(m.cases for m in by_month),
        discussed=sum(m.discussed for m in by_month),
        seconds=sum(m.seconds for m in by_month),
        seconds_squared=sum(m.seconds_squared for m in by_month),
        workers=int(workers_rows or 0),
    )
    return SupervisionFigures(by_month, _risk_reviews(scope), total)


def _risk_reviews(scope: Scope) -> list[Tally]:
    """Per month, attended contacts with a risk signal on open cases, and how many a
    supervision review of the case followed within 7 days (7 x 24 hours)."""
    month = _month_of_moment(scope, Contact.occurred_at)
    gap = _epoch_days(SupervisionReview.created_at) - _epoch_days(Contact.occurred_at)
    reviewed = exists().where(
        SupervisionReview.episode_id == Episode.id,
        SupervisionReview.created_at >= Contact.occurred_at,
        gap <= REVIEW_WITHIN_DAYS,
    )
    rows = db.session.execute(
        reportable_episodes()
        .with_only_columns(
            month,
            func.count(),
            _count(reviewed),
            func.count(distinct(Episode.worker_id)),
        )
        .join(Contact, Contact.episode_id == Episode.id)
        .where(
            _in_force_attended(),
            _risk_signal_at(),
            Contact.occurred_at >= scope.start_at,
            Contact.occurred_at < scope.end_at,
            scope.held_by_team(Episode.worker_id),
        )
        .group_by(month)
    ).all()
    found = _tallies(len(scope.months))
    for index, signals, seen, workers in rows:
        found[int(index)] = Tally(int(seen), int(signals), int(workers))
    return found


# Everything ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceFindings:
    """Every section's raw figures for one scope (disclosure control comes after)."""

    scope: Scope
    risk: RiskAtAssessment
    referrals: Referrals
    complex_outcomes: ComplexOutcomes
    load: LoadFigures
    outcomes_by_load: list[BandOutcomes]
    strain: Strain
    data_collection: DataCollection
    endings: Endings
    supervision: SupervisionFigures


def service_findings(scope: Scope) -> ServiceFindings:
    """Every section's figures: a fixed number of SQL aggregates, whatever the size of the
    service, with the weekly load derived once and shared."""
    since = first_treatment_of_finished(scope)
    load = weekly_load(scope, since=since)
    return ServiceFindings(
        scope=scope,
        risk=risk_at_assessment(scope),
        referrals=referrals(scope),
        complex_outcomes=complex_outcomes(scope),
        load=load_figures(scope, load),
        outcomes_by_load=outcomes_by_load(scope, load),
        strain=strain(scope),
        data_collection=data_collection(scope),
        endings=endings(scope, load),
        supervision=supervision(scope),
    )


def month_labels(months: Iterable[date]) -> list[str]:
    """ "Mar 2025" for each month."""
    return [f"{m:%b %Y}" for m in months]
