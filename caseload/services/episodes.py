"""Reading episodes within the asker's scope, keeping their summaries, and discharge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from caseload.db import utcnow
from caseload.domain.codes import (
    AttendanceCode,
    DischargeReason,
    EntryStatus,
    EpisodeStatus,
    Severity,
)
from caseload.domain.curves import ExpectedCurves
from caseload.domain.dates import local_date
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    MeasureSeries,
    episode_outcome_from_summary,
    episode_status,
    summarise_episode,
)
from caseload.domain.flags import (
    DEFAULT_SETTINGS as DEFAULT_FLAG_SETTINGS,
)
from caseload.domain.flags import (
    EpisodeFacts,
    Flag,
    FlagKind,
    FlagSettings,
    episode_flags,
    has_open_risk,
    worker_flags,
)
from caseload.domain.outcomes import EpisodeOutcome, wait_days
from caseload.extensions import db
from caseload.models import (
    Contact,
    Episode,
    EpisodeMeasureSummary,
    EpisodeSummary,
    ExpectedCurveCache,
    User,
)
from caseload.policy import (
    can_view_worker,
    changeable_episodes,
    visible_episodes,
)
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services.audit import record_event, record_event_now

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
    )


def refresh_summary(episode: Episode) -> EpisodeSummary:
    """Recompute the episode's summary rows from its contacts in force (same transaction).

    Called by every change to a contact, and by discharge and re-opening, so the
    columns reports group by are never stale.
    """
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
    outcome = episode_outcome_from_summary(facts, ended=not episode.is_open)
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


def summary_facts(summary: EpisodeSummary) -> EpisodeSummaryFacts:
    """The pure summary facts held in a summary row and its measure rows."""
    return EpisodeSummaryFacts(
        measures=tuple(
            MeasureSeries(
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
            for m in summary.measures
        ),
        **{name: getattr(summary, name) for name in SUMMARY_FIELDS},
    )


def flag_settings() -> FlagSettings:
    """The flag thresholds in force: the one accessor every caller reads them through.

    The admin settings page will feed this; until then the defaults stand.
    """
    return DEFAULT_FLAG_SETTINGS


def cached_curves() -> tuple[ExpectedCurves, ...]:
    """The service's expected-recovery curves from the database cache (may be empty)."""
    return tuple(
        ExpectedCurves.from_dict(row.data) for row in db.session.scalars(select(ExpectedCurveCache))
    )


def flags_for(
    episode: Episode,
    *,
    today: date,
    settings: FlagSettings | None = None,
    curves: tuple[ExpectedCurves, ...] = (),
) -> tuple[Flag, ...]:
    """Why this episode needs attention today, most severe first (from its summary)."""
    summary = episode.summary
    facts = EpisodeFacts(
        summary=summary_facts(summary),
        step=episode.step,
        complexity_factors=episode.complexity_factors,
        is_open=episode.is_open,
        today=today,
        last_review_on=summary.last_review_on,
        referral_date=episode.referral_date,
    )
    return episode_flags(facts, settings=settings or flag_settings(), curves=curves or None)


def outcome_for(episode: Episode) -> EpisodeOutcome:
    """The national outcome of the episode so far (final once discharged)."""
    return episode_outcome_from_summary(summary_facts(episode.summary), ended=not episode.is_open)


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

    @property
    def urgency(self) -> int:
        """Sort key: red flags first, then amber, info, none."""
        return min((f.severity.rank for f in self.flags), default=len(Severity))


#: The caseload's tabs over the active cases: (key, label, which rows it keeps).
CASELOAD_TABS: tuple[tuple[str, str, Callable[[CaseloadRow], bool]], ...] = (
    ("all", "All cases", lambda row: True),
    ("red", "Red flags", lambda row: any(f.severity is Severity.RED for f in row.flags)),
    ("amber", "Any flag", lambda row: bool(row.flags)),
    ("outcome", "Outcome needed", lambda row: row.needs_outcome),
)


@dataclass(frozen=True)
class Caseload:
    """A worker's open episodes, split into the active caseload and the waiting list."""

    active: list[CaseloadRow]
    waiting: list[CaseloadRow]
    cap: int
    worker_flags: tuple[Flag, ...]

    @property
    def active_count(self) -> int:
        """How many cases are in treatment."""
        return len(self.active)

    def tab(self, key: str) -> list[CaseloadRow]:
        """The active cases one tab keeps ("all" for an unknown key)."""
        keep = next(
            (rule for name, _label, rule in CASELOAD_TABS if name == key), CASELOAD_TABS[0][2]
        )
        return [row for row in self.active if keep(row)]


def worker_caseload(
    asker: User,
    *,
    worker: User,
    today: date,
    now: datetime | None = None,
    settings: FlagSettings | None = None,
) -> Caseload:
    """The worker's open episodes with flags and bookings, in a fixed number of queries.

    Only what the asker may see: the worker themselves, or their supervisor.
    """
    if not can_view_worker(asker, worker):
        record_event_now("access.denied", actor=asker, object_type="user", object_id=worker.id)
        raise NotVisible(worker.id)
    now = now or utcnow()
    settings = settings or flag_settings()
    open_cases = (
        Episode.worker_id == worker.id,
        Episode.discharged_on.is_(None),
        visible_episodes(asker),
    )
    episodes = list(
        db.session.scalars(
            select(Episode)
            .options(
                joinedload(Episode.client),
                joinedload(Episode.summary).selectinload(EpisodeSummary.measures),
                selectinload(Episode.complexity),
            )
            .where(*open_cases)
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
        )
        for e in episodes
    ]
    rows.sort(
        key=lambda r: (
            r.urgency,
            -(r.episode.summary.consecutive_dnas or 0),
            r.episode.referral_date,
        )
    )
    active = [r for r in rows if r.episode.status is EpisodeStatus.IN_TREATMENT]
    waiting = [r for r in rows if r.episode.status is EpisodeStatus.WAITING]
    risk_cases = sum(1 for r in active if any(f.kind is FlagKind.RISK for f in r.flags))
    record_event(
        "caseload.view",
        actor=asker,
        object_type="user",
        object_id=worker.id,
        client_ids=[r.episode.client_id for r in rows],
        detail={"episodes": len(rows)},
    )
    return Caseload(
        active=active,
        waiting=waiting,
        cap=settings.caseload_cap,
        worker_flags=worker_flags(
            active_caseload=len(active), risk_cases=risk_cases, settings=settings
        ),
    )


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


def discharge(
    actor: User,
    episode: Episode,
    *,
    reason: DischargeReason,
    discharged_on: date,
    note: str,
    today: date,
    expected_version: int | None = None,
) -> EpisodeOutcome:
    """Close an episode with a reason; returns its final outcome."""
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
    if episode.summary and episode.summary.booked_contacts:
        errors["reason"] = (
            "Record the outcome of, or cancel, the booked contacts before discharging."
        )
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    episode.discharged_on = discharged_on
    episode.discharge_reason = reason
    episode.discharge_note = note.strip()
    refresh_summary(episode)
    outcome = outcome_for(episode)
    record_event(
        "episode.discharge",
        actor=actor,
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
        detail={"reason": reason.value},
    )
    return outcome
