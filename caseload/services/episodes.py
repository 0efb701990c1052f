"""Reading episodes within the asker's scope, keeping their summaries, and discharge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from caseload.db import utcnow
from caseload.domain.codes import AttendanceCode, DischargeReason, EpisodeStatus, Severity
from caseload.domain.curves import ExpectedCurves
from caseload.domain.dates import local_date
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    episode_outcome_from_summary,
    score_series,
    summarise_episode,
)
from caseload.domain.flags import (
    EpisodeFacts,
    Flag,
    FlagKind,
    FlagSettings,
    episode_flags,
    worker_flags,
)
from caseload.domain.outcomes import EpisodeOutcome
from caseload.extensions import db
from caseload.models import Contact, EntryStatus, Episode, EpisodeSummary, ExpectedCurveCache, User
from caseload.policy import can_change_episode, visible_episodes_clause
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services.audit import record_event, record_event_now

#: The summary fields that come straight from the pure summary.
SUMMARY_FIELDS = tuple(
    name for name in EpisodeSummaryFacts.__dataclass_fields__
    if name not in {"first_phq9_contact_id", "last_phq9_contact_id", "first_gad7_contact_id",
                    "last_gad7_contact_id"}
)


def get_episode(user: User, episode_id: int, *, for_change: bool = False) -> Episode:
    """An episode the user may see (and, with ``for_change``, change); audited either way."""
    query = (
        select(Episode)
        .options(joinedload(Episode.client), joinedload(Episode.summary))
        .where(Episode.id == episode_id, visible_episodes_clause(user))
    )
    if for_change:
        # Changes to one episode queue behind each other, so two saves at once (a
        # double click, two tabs) cannot each recompute the summary without the other.
        # SQLite gets the same from BEGIN IMMEDIATE.
        query = query.with_for_update(of=Episode)
    episode = db.session.scalar(query)
    if episode is None or (for_change and not can_change_episode(user, episode)):
        record_event_now("access.denied", actor=user, object_type="episode",
                         object_id=episode_id)
        raise NotVisible(episode_id)
    record_event("episode.view", actor=user, object_type="episode", object_id=episode.id,
                 client_id=episode.client_id)
    return episode


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
        phq9_total=contact.phq9_total,
        gad7_total=contact.gad7_total,
        wsas_total=contact.wsas_total,
        phq9_item9=contact.phq9_item9,
        risk_level=contact.risk_level,
        measures_not_collected=contact.not_collected_reason is not None,
    )


def refresh_summary(episode: Episode) -> EpisodeSummary:
    """Recompute the episode's summary row from its contacts in force (same transaction)."""
    db.session.flush()
    contacts = list(
        db.session.scalars(
            select(Contact).where(
                Contact.episode_id == episode.id, Contact.status == EntryStatus.CURRENT
            )
        )
    )
    in_force = [contact_facts(c) for c in contacts]
    facts = summarise_episode(in_force)
    summary = episode.summary or db.session.get(EpisodeSummary, episode.id)
    if summary is None:
        summary = EpisodeSummary(episode=episode)
        db.session.add(summary)
    for name in SUMMARY_FIELDS:
        setattr(summary, name, getattr(facts, name))
    phq9_series, gad7_series = score_series(in_force)
    summary.phq9_series = list(phq9_series)
    summary.gad7_series = list(gad7_series)
    booked = [c.occurred_at for c in contacts if c.attendance is AttendanceCode.BOOKED]
    summary.earliest_booked_at = min(booked) if booked else None
    summary.booked_contacts = len(booked)
    return summary


def summary_facts(summary: EpisodeSummary) -> EpisodeSummaryFacts:
    """The pure summary facts held in a summary row."""
    return EpisodeSummaryFacts(**{name: getattr(summary, name) for name in SUMMARY_FIELDS})


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
        phq9_series=tuple(summary.phq9_series or ()),
        gad7_series=tuple(summary.gad7_series or ()),
    )
    kwargs = {"settings": settings} if settings is not None else {}
    return episode_flags(facts, curves=curves or None, **kwargs)


def outcome_for(episode: Episode) -> EpisodeOutcome:
    """The national outcome of the episode so far (final once discharged)."""
    return episode_outcome_from_summary(summary_facts(episode.summary),
                                        ended=not episode.is_open)


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


def worker_caseload(worker: User, *, today: date, now: datetime | None = None,
                    settings: FlagSettings | None = None) -> Caseload:
    """The worker's open episodes with flags and bookings, in a fixed number of queries."""
    now = now or utcnow()
    settings = settings or FlagSettings()
    episodes = list(
        db.session.scalars(
            select(Episode)
            .options(joinedload(Episode.client), joinedload(Episode.summary))
            .where(Episode.worker_id == worker.id, Episode.discharged_on.is_(None))
        )
    )
    next_bookings = dict(
        db.session.execute(
            select(Contact.episode_id, func.min(Contact.occurred_at))
            .join(Episode, Episode.id == Contact.episode_id)
            .where(
                Episode.worker_id == worker.id,
                Episode.discharged_on.is_(None),
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
            flags=tuple(f for f in flags_for(e, today=today, settings=settings, curves=curves)
                        if f.kind not in SUPERVISOR_ONLY_FLAGS),
            next_booking=next_bookings.get(e.id),
            needs_outcome=e.summary.earliest_booked_at is not None
            and e.summary.earliest_booked_at < now,
        )
        for e in episodes
    ]
    rows.sort(key=lambda r: (r.urgency, -(r.episode.summary.consecutive_dnas or 0),
                             r.episode.referral_date))
    active = [r for r in rows if r.episode.status is EpisodeStatus.IN_TREATMENT]
    waiting = [r for r in rows if r.episode.status is EpisodeStatus.WAITING]
    risk_cases = sum(1 for r in active if any(f.kind is FlagKind.RISK for f in r.flags))
    record_event("caseload.view", actor=worker, object_type="user", object_id=worker.id,
                 detail={"episodes": len(rows)})
    return Caseload(
        active=active,
        waiting=waiting,
        cap=settings.caseload_cap,
        worker_flags=worker_flags(active_caseload=len(active), risk_cases=risk_cases,
                                  settings=settings),
    )


def active_caseload_count(worker: User) -> int:
    """How many of the worker's open episodes are in treatment."""
    return db.session.scalar(
        select(func.count(Episode.id))
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(Episode.worker_id == worker.id, Episode.discharged_on.is_(None),
               EpisodeSummary.treatment_contacts > 0)
    ) or 0


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
    db.session.flush()
    outcome = outcome_for(episode)
    record_event("episode.discharge", actor=actor, object_type="episode", object_id=episode.id,
                 client_id=episode.client_id, detail={"reason": reason.value})
    return outcome
