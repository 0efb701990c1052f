"""Reading episodes within the asker's scope, keeping their summaries, and discharge."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from caseload.charts import ChartPoint
from caseload.db import utcnow
from caseload.domain.codes import (
    AttendanceCode,
    DischargeReason,
    EntryStatus,
    EpisodeStatus,
    Severity,
)
from caseload.domain.curves import ExpectedCurves
from caseload.domain.dates import format_datetime, local_date
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    MeasureSeries,
    episode_outcome_from_summary,
    episode_status,
    is_unfinished,
    risk_item_unanswered,
    summarise_episode,
)
from caseload.domain.flags import (
    EpisodeFacts,
    Flag,
    FlagKind,
    FlagSettings,
    discharge_risk_flags,
    episode_flags,
    has_open_risk,
    worker_flags,
)
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.domain.outcomes import (
    WAIT_TARGETS,
    EpisodeOutcome,
    second_contact_gap_days,
    wait_days,
    within_wait_target,
)
from caseload.extensions import db
from caseload.models import (
    Client,
    Contact,
    Episode,
    EpisodeMeasureSummary,
    EpisodeSummary,
    User,
)
from caseload.policy import (
    can_view_worker,
    changeable_episodes,
    visible_episodes,
)
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services.audit import record_event, record_event_now
from caseload.services.curves import current_curves
from caseload.services.settings import flag_thresholds

#: The summary-row columns that come straight from the pure summary facts.
SUMMARY_FIELDS = tuple(
    name for name in EpisodeSummaryFacts.__dataclass_fields__ if name != "measures"
)


def get_episode(asker: User, episode_id: int, *, for_change: bool = False) -> Episode:
    """An episode the asker may see (and, with ``for_change``, change); audited either way."""
    query = (
        select(Episode)
        .options(
            joinedload(Episode.client),
            joinedload(Episode.summary),
            selectinload(Episode.complexity),
        )
        .where(
            Episode.id == episode_id,
            changeable_episodes(asker) if for_change else visible_episodes(asker),
        )
    )
    if for_change:
        # Changes to one episode queue behind each other, so two saves at once (a
        # double click, two tabs) cannot each recompute the summary without the other.
        # SQLite gets the same from BEGIN IMMEDIATE.
        query = query.with_for_update(of=Episode)
    episode = db.session.scalar(query)
    if episode is None:
        record_event_now("access.denied", actor=asker, object_type="episode", object_id=episode_id)
        raise NotVisible(episode_id)
    record_event(
        "episode.view",
        actor=asker,
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
    )
    return episode


def episode_contacts(episode: Episode) -> list[Contact]:
    """Every contact of an episode the caller has already loaded, oldest first, with their
    scores (two queries, whatever the number of contacts)."""
    return list(
        db.session.scalars(
            select(Contact)
            .options(selectinload(Contact.scores))
            .where(Contact.episode_id == episode.id)
            .order_by(Contact.occurred_at, Contact.id)
        )
    )


#: Cancelled by the patient (2) or by the provider (4): drawn apart from non-attendance.
CANCELLATIONS = (AttendanceCode.CANCELLED_BY_PATIENT, AttendanceCode.CANCELLED_BY_PROVIDER)


def chart_points(contacts: list[Contact]) -> list[ChartPoint]:
    """The outcome chart's points: every contact in force that has happened (or was
    cancelled), in order, on its UK calendar day; only attended contacts carry scores.
    The episode page and the printed client summary draw the same points."""
    shown = [c for c in contacts if c.in_force and not c.is_booked]
    return [
        ChartPoint(
            contact_number=number,
            occurred_on=local_date(c.occurred_at),
            phq9=c.total(PHQ9) if c.attendance.attended else None,
            gad7=c.total(GAD7) if c.attendance.attended else None,
            attended=c.attendance.attended,
            dna=c.attendance.is_dna,
            cancelled=c.attendance in CANCELLATIONS,
            what_happened=c.attendance.label,
        )
        for number, c in enumerate(shown, start=1)
    ]


def check_version(record: Episode | Contact, expected: int | None) -> None:
    """Refuse to save over someone else's newer save."""
    if expected is not None and record.version != expected:
        raise Conflict(record.id)


def contact_facts(contact: Contact) -> ContactFacts:
    """The pure view of a saved contact."""
    return ContactFacts(
        contact_id=contact.id,
        occurred_at=contact.occurred_at,
        contact_type=contact.contact_type,
        attendance=contact.attendance,
        totals={s.measure_id: s.total for s in contact.scores if s.total is not None},
        risk_answers={
            s.measure_id: s.risk_answer for s in contact.scores if s.risk_answer is not None
        },
        risk_level=contact.risk_level,
        measures_not_collected=contact.not_collected_reason is not None,
        incomplete=frozenset(s.measure_id for s in contact.scores if is_unfinished(s.answers)),
        risk_item_unanswered=frozenset(
            s.measure_id
            for s in contact.scores
            if risk_item_unanswered(get_measure(s.measure_id), s.answers)
        ),
    )


def refresh_summary(episode: Episode) -> EpisodeSummary:
    """Recompute the episode's summary rows from its contacts in force (same transaction).

    Called by every change to a contact, and by discharge and re-opening, so the
    columns reports group by are never stale. The episode's version moves on
    too: a form opened on the episode before the change (a discharge) is a
    conflict, and two changes at the same moment cannot both recompute the summary.
    """
    flag_modified(episode, "step")  # any column: the UPDATE moves ``version`` on
    db.session.flush()
    contacts = list(
        db.session.scalars(
            select(Contact)
            .options(selectinload(Contact.scores))
            .where(Contact.episode_id == episode.id, Contact.status == EntryStatus.CURRENT)
        )
    )
    facts = summarise_episode(contact_facts(c) for c in contacts)
    summary = episode.summary or db.session.get(EpisodeSummary, episode.id)
    if summary is None:
        summary = EpisodeSummary(episode=episode, measures=[])
        db.session.add(summary)
    for name in SUMMARY_FIELDS:
        setattr(summary, name, getattr(facts, name))
    _store_measures(summary, facts)
    booked = [c.occurred_at for c in contacts if c.attendance is AttendanceCode.BOOKED]
    summary.earliest_booked_at = min(booked) if booked else None
    summary.booked_contacts = len(booked)
    summary.contacts_with_outcome = len(contacts) - len(booked)
    summary.dna_contacts = sum(1 for c in contacts if c.attendance.is_dna)
    _store_reporting_columns(summary, episode, facts)
    return summary


def _store_measures(summary: EpisodeSummary, facts: EpisodeSummaryFacts) -> None:
    """One child row per measure scored, replacing what the rows said before."""
    existing = {m.measure_id: m for m in summary.measures}
    rows = []
    for series in facts.measures:
        row = existing.get(series.measure_id) or EpisodeMeasureSummary(measure_id=series.measure_id)
        row.first_score, row.first_contact_id, row.first_at = (
            series.first,
            series.first_contact_id,
            series.first_at,
        )
        row.last_score, row.last_contact_id = series.last, series.last_contact_id
        row.latest_score, row.latest_at = series.latest, series.latest_at
        row.totals = list(series.totals)
        rows.append(row)
    summary.measures = rows


def _store_reporting_columns(
    summary: EpisodeSummary, episode: Episode, facts: EpisodeSummaryFacts
) -> None:
    """The columns central reports group and count by, from the pure domain rules."""
    outcome = episode_outcome_from_summary(
        facts, ended=not episode.is_open, presenting_problem=episode.presenting_problem
    )
    summary.is_active = (
        episode_status(discharged=not episode.is_open, treatment_contacts=facts.treatment_contacts)
        is EpisodeStatus.IN_TREATMENT
    )
    summary.finished_treatment = outcome.finished_treatment
    summary.caseness_at_start = outcome.caseness_at_start
    summary.paired = outcome.paired
    summary.recovered = outcome.recovered
    summary.reliably_improved = outcome.reliable_improvement
    summary.reliably_deteriorated = outcome.reliable_deterioration
    summary.reliably_recovered = outcome.reliable_recovery
    summary.risk_open = has_open_risk(facts)
    first_on = None if facts.first_treatment_at is None else local_date(facts.first_treatment_at)
    summary.first_treatment_on = first_on
    summary.second_treatment_on = (
        None if facts.second_treatment_at is None else local_date(facts.second_treatment_at)
    )
    summary.days_to_first_treatment = wait_days(episode.referral_date, first_on)
    summary.second_treatment_gap_days = second_contact_gap_days(
        first_on, summary.second_treatment_on
    )


def measure_series(m: Any) -> MeasureSeries:
    """A measure's first, last and latest scores from its summary row (the ORM row, or a
    row selected with its columns)."""
    return MeasureSeries(
        measure_id=m.measure_id,
        first=m.first_score,
        last=m.last_score,
        latest=m.latest_score,
        first_contact_id=m.first_contact_id,
        last_contact_id=m.last_contact_id,
        first_at=m.first_at,
        latest_at=m.latest_at,
        totals=tuple(m.totals or ()),
    )


def summary_facts(summary: EpisodeSummary) -> EpisodeSummaryFacts:
    """The pure summary facts held in a summary row and its measure rows."""
    return EpisodeSummaryFacts(
        measures=tuple(measure_series(m) for m in summary.measures),
        **{name: getattr(summary, name) for name in SUMMARY_FIELDS},
    )


def flag_settings() -> FlagSettings:
    """The flag thresholds in force: the one accessor every caller reads them through.

    The defaults, the configuration, or what an administrator set on the settings page
    (``caseload.services.settings``, cached per app server, reloaded after a change).
    """
    return flag_thresholds()


def cached_curves() -> tuple[ExpectedCurves, ...]:
    """The service's expected-recovery curves from the database cache (may be empty),
    rebuilt after this transaction when stale (``caseload.services.curves.current_curves``)."""
    return current_curves()


def flags_for(
    episode: Episode,
    *,
    today: date,
    settings: FlagSettings | None = None,
    curves: tuple[ExpectedCurves, ...] = (),
) -> tuple[Flag, ...]:
    """Why this episode needs attention today, most severe first (from its summary)."""
    facts = _episode_facts(episode, today=today)
    return episode_flags(facts, settings=settings or flag_settings(), curves=curves or None)


def _episode_facts(episode: Episode, *, today: date) -> EpisodeFacts:
    """What the flags look at, from the episode and its summary row."""
    summary = episode.summary
    return EpisodeFacts(
        summary=summary_facts(summary),
        step=episode.step,
        complexity_factors=episode.complexity_factors,
        is_open=episode.is_open,
        today=today,
        last_review_on=summary.last_review_on,
        referral_date=episode.referral_date,
    )


def outcome_for(episode: Episode) -> EpisodeOutcome:
    """The national outcome of the episode so far (final once discharged); the anxiety
    measure is the ADSM matching the presenting problem when it is paired, else GAD-7."""
    return episode_outcome_from_summary(
        summary_facts(episode.summary),
        ended=not episode.is_open,
        presenting_problem=episode.presenting_problem,
    )


#: Flags about the supervision process rather than the client: the worker's caseload leaves
#: them to the supervisor's queue (the episode page still shows them).
SUPERVISOR_ONLY_FLAGS = frozenset({FlagKind.REVIEW_OVERDUE})


@dataclass(frozen=True)
class CaseloadRow:
    """One line of a worker's caseload."""

    episode: Episode
    flags: tuple[Flag, ...]
    next_booking: datetime | None
    needs_outcome: bool
    #: Days since the referral, as of the day the caseload was shown (UK dates).
    days_waited: int = 0

    @property
    def urgency(self) -> int:
        """Sort key: red flags first, then amber, info, none."""
        return min((f.severity.rank for f in self.flags), default=len(Severity))

    @property
    def weeks_waited(self) -> int:
        """Whole weeks since the referral."""
        return self.days_waited // 7

    @property
    def wait_breached(self) -> int | None:
        """The longest national wait (in weeks: 6 or 18) that first treatment today would
        miss, or None while both are still within reach."""
        breached = None
        for days in (WAIT_TARGETS.first_treatment_short, WAIT_TARGETS.first_treatment_long):
            referred = self.episode.referral_date
            if not within_wait_target(referred, referred + timedelta(self.days_waited), days=days):
                breached = days // 7
        return breached


#: The caseload's tabs over the active cases: (key, label, which rows it keeps).
CASELOAD_TABS: tuple[tuple[str, str, Callable[[CaseloadRow], bool]], ...] = (
    ("all", "All cases", lambda row: True),
    ("red", "Red flags", lambda row: any(f.severity is Severity.RED for f in row.flags)),
    ("amber", "Any flag", lambda row: bool(row.flags)),
    ("outcome", "Outcome needed", lambda row: row.needs_outcome),
)


def _by_urgency(row: CaseloadRow) -> tuple[Any, ...]:
    """Red flags first, then amber, info, none; then more DNAs in a row; then the older
    referral."""
    return (row.urgency, -(row.episode.summary.consecutive_dnas or 0), row.episode.referral_date)


def _by_name(row: CaseloadRow) -> tuple[Any, ...]:
    return (row.episode.client.name.casefold(), row.episode.client.service_ref)


def _by_last_contact(row: CaseloadRow) -> tuple[Any, ...]:
    """Never seen first, then the longest since the last attended contact."""
    last = row.episode.summary.last_attended_at
    return (last is not None, last or datetime.min.replace(tzinfo=UTC), *_by_urgency(row))


def _by_latest_phq9(row: CaseloadRow) -> tuple[Any, ...]:
    """The highest latest PHQ-9 first; cases without one last."""
    latest = row.episode.summary.latest(PHQ9)
    return (latest is None, -(latest or 0), *_by_urgency(row))


#: How the caseload can be sorted: key -> (label, sort key). The first is the default.
CASELOAD_SORTS: dict[str, tuple[str, Callable[[CaseloadRow], tuple[Any, ...]]]] = {
    "urgency": ("Most urgent first", _by_urgency),
    "name": ("Name, A to Z", _by_name),
    "last_contact": ("Last contact, longest ago first", _by_last_contact),
    "phq9": ("Latest PHQ-9, highest first", _by_latest_phq9),
}
#: Rows per page: a page stays readable, and a caseload at the cap (45) fits on two.
CASELOAD_PAGE_SIZE = 25
#: Longer searches are cut to this many characters (no name or reference is longer).
MAX_SEARCH_LENGTH = 120


def _whole_number(raw: str | None) -> int:
    """A page number from a request: a plain positive number, else the first page."""
    text = (raw or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return max(int(text), 1)
    return 1


@dataclass(frozen=True)
class CaseloadView:
    """Which part of the caseload to show: a tab of the active cases, a search, a sort
    order, the page of the active cases and the page of the waiting list."""

    tab: str = "all"
    search: str = ""
    sort: str = "urgency"
    page: int = 1
    waiting_page: int = 1

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> CaseloadView:
        """Read from a request's query string; anything unknown falls back to the default."""
        tab = args.get("show", "")
        sort = args.get("sort", "")
        return cls(
            tab=tab if tab in {key for key, _label, _rule in CASELOAD_TABS} else "all",
            search=" ".join(args.get("q", "").split())[:MAX_SEARCH_LENGTH],
            sort=sort if sort in CASELOAD_SORTS else "urgency",
            page=_whole_number(args.get("page")),
            waiting_page=_whole_number(args.get("wpage")),
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query-string arguments for a link to this view with some changes (``show``,
        ``q``, ``sort``, ``page``, ``wpage``), leaving out defaults so links stay short."""
        values: dict[str, Any] = {
            "show": self.tab,
            "q": self.search,
            "sort": self.sort,
            "page": self.page,
            "wpage": self.waiting_page,
        }
        values |= changes
        defaults = {"show": "all", "q": "", "sort": "urgency", "page": 1, "wpage": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}


@dataclass(frozen=True)
class CaseloadPage:
    """One page of a tab's rows."""

    rows: list[CaseloadRow]
    number: int
    pages: int
    total: int
    size: int = CASELOAD_PAGE_SIZE

    @property
    def first(self) -> int:
        """The position of the first row shown (0 when none)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """The position of the last row shown."""
        return self.first + len(self.rows) - 1 if self.rows else 0

    def numbers(self) -> list[int | None]:
        """The page links to offer: the first, the last, and the current page with its
        neighbours; None marks a gap."""
        wanted = {1, self.pages, self.number - 1, self.number, self.number + 1}
        shown = sorted(n for n in wanted if 1 <= n <= self.pages)
        numbers: list[int | None] = []
        for n in shown:
            if numbers and n - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(n)
        return numbers


def paginate(rows: list[CaseloadRow], page: int, size: int = CASELOAD_PAGE_SIZE) -> CaseloadPage:
    """The rows of one page; a page past the end shows the last page."""
    pages = max(1, -(-len(rows) // size))
    number = min(max(page, 1), pages)
    start = (number - 1) * size
    return CaseloadPage(rows[start : start + size], number, pages, len(rows), size)


@dataclass(frozen=True)
class Caseload:
    """A worker's open episodes, split into the active caseload and the waiting list.

    ``active`` and ``waiting`` hold the cases matching the search, in the chosen
    order; the counts and the worker's flags are about the whole caseload, whatever
    the search; ``shown`` is the page of the chosen tab of active cases, and
    ``shown_waiting`` the page of the waiting list, that the page lists.
    """

    active: list[CaseloadRow]
    waiting: list[CaseloadRow]
    cap: int
    worker_flags: tuple[Flag, ...]
    active_count: int
    waiting_count: int
    view: CaseloadView
    shown: CaseloadPage
    shown_waiting: CaseloadPage

    def tab(self, key: str) -> list[CaseloadRow]:
        """The active cases one tab keeps ("all" for an unknown key)."""
        keep = next(
            (rule for name, _label, rule in CASELOAD_TABS if name == key), CASELOAD_TABS[0][2]
        )
        return [row for row in self.active if keep(row)]

    def tab_counts(self) -> list[tuple[str, str, int]]:
        """Each tab's key, label and how many active cases (matching the search) it holds."""
        return [(key, label, len(self.tab(key))) for key, label, _rule in CASELOAD_TABS]


def _search_clause(search: str) -> ColumnElement[bool]:
    """Clients whose name or service reference contains the words searched for, in any
    case (each word must appear; ``%`` and ``_`` are matched literally)."""
    words = search.split()
    return and_(
        true(),
        *(
            or_(
                func.lower(Client.name).contains(word.lower(), autoescape=True),
                func.lower(Client.service_ref).contains(word.lower(), autoescape=True),
            )
            for word in words
        ),
    )


def worker_caseload(
    asker: User,
    *,
    worker: User,
    today: date,
    now: datetime | None = None,
    settings: FlagSettings | None = None,
    view: CaseloadView | None = None,
) -> Caseload:
    """The worker's open episodes with flags and bookings, in a fixed number of queries.

    Only what the asker may see: the worker themselves, or their supervisor. The
    search filters the episodes in the query; the order and the page are applied to
    the matching rows (urgency comes from the flags, worked out here). The audit
    event names the clients on the page shown.
    """
    if not can_view_worker(asker, worker):
        record_event_now("access.denied", actor=asker, object_type="user", object_id=worker.id)
        raise NotVisible(worker.id)
    now = now or utcnow()
    settings = settings or flag_settings()
    view = view or CaseloadView()
    open_cases = (
        Episode.worker_id == worker.id,
        Episode.discharged_on.is_(None),
        visible_episodes(asker),
    )
    episodes = list(
        db.session.scalars(
            select(Episode)
            .join(Client, Client.id == Episode.client_id)
            .options(
                contains_eager(Episode.client),
                joinedload(Episode.summary).selectinload(EpisodeSummary.measures),
                selectinload(Episode.complexity),
            )
            .where(*open_cases, _search_clause(view.search))
        )
    )
    next_bookings = dict(
        db.session.execute(
            select(Contact.episode_id, func.min(Contact.occurred_at))
            .join(Episode, Episode.id == Contact.episode_id)
            .where(
                *open_cases,
                Contact.attendance == AttendanceCode.BOOKED,
                Contact.status == EntryStatus.CURRENT,
                Contact.occurred_at >= now,
            )
            .group_by(Contact.episode_id)
        ).all()
    )
    # The whole caseload's counts, whatever the search: the summary's is_active and
    # risk_open columns are the in-treatment status and the risk flag's rule.
    active_count, waiting_count, risk_cases = db.session.execute(
        select(
            func.coalesce(func.sum(case((EpisodeSummary.is_active.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((EpisodeSummary.is_active.is_(True), 0), else_=1)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (and_(EpisodeSummary.is_active.is_(True), EpisodeSummary.risk_open), 1),
                        else_=0,
                    )
                ),
                0,
            ),
        )
        .select_from(Episode)
        .outerjoin(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(*open_cases)
    ).one()
    curves = cached_curves()
    rows = [
        CaseloadRow(
            episode=e,
            flags=tuple(
                f
                for f in flags_for(e, today=today, settings=settings, curves=curves)
                if f.kind not in SUPERVISOR_ONLY_FLAGS
            ),
            next_booking=next_bookings.get(e.id),
            needs_outcome=e.summary.earliest_booked_at is not None
            and e.summary.earliest_booked_at < now,
            days_waited=max((today - e.referral_date).days, 0),
        )
        for e in episodes
    ]
    rows.sort(key=lambda r: r.episode.id)  # a stable last tie-break
    rows.sort(key=CASELOAD_SORTS[view.sort][1])
    active = [r for r in rows if r.episode.status is EpisodeStatus.IN_TREATMENT]
    waiting = [r for r in rows if r.episode.status is EpisodeStatus.WAITING]
    caseload = Caseload(
        active=active,
        waiting=waiting,
        cap=settings.caseload_cap,
        worker_flags=worker_flags(
            active_caseload=active_count, risk_cases=risk_cases, settings=settings
        ),
        active_count=active_count,
        waiting_count=waiting_count,
        view=view,
        shown=CaseloadPage([], 1, 1, 0),
        shown_waiting=paginate(waiting, view.waiting_page),
    )
    caseload = replace(caseload, shown=paginate(caseload.tab(view.tab), view.page))
    listed = caseload.shown.rows + caseload.shown_waiting.rows
    record_event(
        "caseload.view",
        actor=asker,
        object_type="user",
        object_id=worker.id,
        client_ids=[r.episode.client_id for r in listed],
        detail={"episodes": len(listed), "tab": view.tab}
        | ({"search": view.search} if view.search else {}),
    )
    return caseload


def active_caseload_count(worker: User) -> int:
    """How many of the worker's open episodes are in treatment (the summary's ``is_active``).

    Worker load counts every case, consented or not: it is data about the
    worker's workload, not about the clients.
    """
    return (
        db.session.scalar(
            select(func.count(Episode.id))
            .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
            .where(Episode.worker_id == worker.id, EpisodeSummary.is_active.is_(True))
        )
        or 0
    )


def active_risk_case_count(worker: User) -> int:
    """How many of the worker's in-treatment episodes have risk open (the summary's
    ``risk_open``, the risk flag's rule); every case counted, like ``active_caseload_count``."""
    return (
        db.session.scalar(
            select(func.count(Episode.id))
            .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
            .where(
                Episode.worker_id == worker.id,
                EpisodeSummary.is_active.is_(True),
                EpisodeSummary.risk_open.is_(True),
            )
        )
        or 0
    )


def booked_contacts(episode: Episode) -> list[Contact]:
    """The episode's bookings still waiting for an outcome, oldest first (they block
    discharge until each has its outcome recorded or is marked entered in error)."""
    return list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.episode_id == episode.id,
                Contact.attendance == AttendanceCode.BOOKED,
                Contact.status == EntryStatus.CURRENT,
            )
            .order_by(Contact.occurred_at, Contact.id)
        )
    )


def discharge_risk(episode: Episode, *, today: date) -> tuple[Flag, ...]:
    """The open risk and red flags a discharge of this episode must acknowledge with a
    confirmation and a risk plan; empty when there are none (domain.flags.discharge_risk_flags)."""
    facts = _episode_facts(episode, today=today)
    flags = episode_flags(facts, settings=flag_settings(), curves=cached_curves() or None)
    return discharge_risk_flags(facts, flags)


def _booking_problem(bookings: list[Contact]) -> str:
    """The refusal naming each booking that blocks discharge."""
    named = "; ".join(
        f"{c.contact_type.label.lower()}, {c.mode.label.lower()}, {format_datetime(c.occurred_at)}"
        for c in bookings
    )
    if len(bookings) == 1:
        return (
            f"The booked contact ({named}) has no outcome yet: record what happened, or mark "
            "it as entered in error, before discharging."
        )
    return (
        f"{len(bookings)} booked contacts have no outcome yet ({named}): record what "
        "happened at each, or mark it as entered in error, before discharging."
    )


def discharge(
    actor: User,
    episode: Episode,
    *,
    reason: DischargeReason,
    discharged_on: date,
    note: str,
    today: date,
    expected_version: int | None = None,
    risk_confirmed: bool = False,
    risk_plan: str = "",
) -> EpisodeOutcome:
    """Close an episode with a reason; returns its final outcome.

    Refused while a booking has no outcome (each is named), and, when risk is open or a
    red flag is (``discharge_risk``), until the worker confirms it and writes a risk plan,
    which is kept on the episode.
    """
    check_version(episode, expected_version)
    if not episode.is_open:
        raise ServiceError("This episode is already discharged.")
    errors = {}
    if discharged_on > today:
        errors["discharged_on"] = "The discharge date cannot be in the future."
    elif discharged_on < episode.referral_date:
        errors["discharged_on"] = "The discharge date cannot be before the referral date."
    last = episode.summary.last_attended_at if episode.summary else None
    if last is not None and "discharged_on" not in errors and discharged_on < local_date(last):
        errors["discharged_on"] = "The discharge date cannot be before the last attended contact."
    bookings = booked_contacts(episode)
    if bookings:
        errors["booked_contacts"] = _booking_problem(bookings)
    open_risk = discharge_risk(episode, today=today)
    plan = risk_plan.strip() if open_risk else ""
    if open_risk:
        errors |= _risk_plan_problems(confirmed=risk_confirmed, plan=plan)
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    episode.discharged_on = discharged_on
    episode.discharge_reason = reason
    episode.discharge_note = note.strip()
    episode.discharge_risk_plan = plan
    refresh_summary(episode)
    outcome = outcome_for(episode)
    record_event(
        "episode.discharge",
        actor=actor,
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
        detail={"reason": reason.value, "open_risk": bool(open_risk)},
    )
    return outcome


#: The longest risk plan kept at discharge (the form says the same).
MAX_RISK_PLAN = 4000


def _risk_plan_problems(*, confirmed: bool, plan: str) -> dict[str, str]:
    """What a discharge with open risk still needs: the confirmation and the plan."""
    problems = {}
    if not confirmed:
        problems["risk_confirmed"] = (
            "Confirm that you have checked the open risk above before discharging."
        )
    if not plan:
        problems["risk_plan"] = (
            "Write the risk plan: who has been told about the risk, and what the client "
            "will do if it rises after discharge."
        )
    elif len(plan) > MAX_RISK_PLAN:
        problems["risk_plan"] = f"The risk plan must be {MAX_RISK_PLAN} characters or fewer."
    return problems
