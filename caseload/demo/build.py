"""Writing the demo plan through the same services a worker uses, then summarising it.

Every rule, summary and audit event applies, as it would to real work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from caseload.demo.plan import plan_demo_service
from caseload.demo.records import DemoSummary, PlannedEpisode
from caseload.demo.staff import demo_workers
from caseload.demo.tables import DEFAULT_CLIENTS, DEFAULT_SEED
from caseload.demo.text import demo_text
from caseload.domain.dates import LONDON
from caseload.extensions import db
from caseload.models import Client, Contact, Episode, EpisodeSummary, ReflectiveNote, User
from caseload.services.clients import Referral, add_referral, register_client, set_consent
from caseload.services.contacts import log_contact
from caseload.services.curves import rebuild_expected_curves
from caseload.services.episodes import discharge
from caseload.services.notes import write_note


def write_episode(plan: PlannedEpisode, worker: User, *, today: date, now: datetime) -> int:
    """Register one planned client, log their contacts, consent change and discharge."""
    episode = register_client(
        worker,
        details=plan.details,
        referral=plan.referral,
        consent=plan.consent_first,
        consent_note=plan.consent_note,
        demographics=plan.demographics,
        today=today,
        worker=worker,
    )
    first_seen = (
        plan.contacts[0].at
        if plan.contacts
        else datetime.combine(plan.referral.referral_date, time(9), tzinfo=LONDON).astimezone(UTC)
    )
    # Demo history: the consent was recorded at the first contact, not at seeding time.
    episode.client.consent_records[0].recorded_at = min(first_seen, now)
    held = [c for c in plan.contacts if c.attendance.attended]
    for contact in plan.contacts:
        log_contact(worker, episode, contact.as_input(), now=contact.booked_at or now)
    if plan.consent_change is not None:
        state, note = plan.consent_change
        record = set_consent(worker, episode.client, consent=state, note=note)
        record.recorded_at = held[min(2, len(held) - 1)].at if held else min(first_seen, now)
    if plan.discharge is not None:
        discharged_on, reason = plan.discharge
        discharge(
            worker,
            episode,
            reason=reason,
            discharged_on=discharged_on,
            note=demo_text().discharge_notes[reason],
            today=today,
            # Kept only when risk or a red flag is open at discharge (the service decides).
            risk_confirmed=True,
            risk_plan=demo_text().risk_discharge_plan,
        )
    return episode.id


def build_demo_service(
    *,
    today: date,
    now: datetime,
    seed: int = DEFAULT_SEED,
    clients: int = DEFAULT_CLIENTS,
    progress: Callable[[int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    checkpoint_every: int = 100,
) -> DemoSummary:
    """Fill the demo staff's caseloads with synthetic clients, contacts and notes.

    Everything is written through the services (rules, summaries, audit), then
    the expected curves are rebuilt. ``progress`` is called with 1 per client;
    ``checkpoint`` (e.g. a commit) every ``checkpoint_every`` clients. Flushes;
    the caller commits.
    """
    workers = demo_workers()
    episodes, notes = plan_demo_service(seed=seed, today=today, now=now, clients=clients)
    episode_ids: list[int] = []
    for number, plan in enumerate(episodes, start=1):
        episode_ids.append(write_episode(plan, workers[plan.worker], today=today, now=now))
        if progress is not None:
            progress(1)
        if checkpoint is not None and number % checkpoint_every == 0:
            checkpoint()
    for planned in notes:
        note = write_note(
            workers[planned.worker],
            text=planned.text,
            themes=planned.themes,
            episode_id=None if planned.episode is None else episode_ids[planned.episode],
            manageability=planned.manageability,
            shared_with_supervisor=planned.shared,
        )
        # write_note records today's caseload and time; a demo note written in the past
        # gets the time it was written and the author's active caseload on that day.
        note.written_at = planned.at
        note.caseload_at_writing = planned.caseload
    re_refer_a_discharged_client(workers[0], today=today)
    curve_episodes = rebuild_expected_curves()
    return summarise_demo(workers, curve_episodes=curve_episodes)


def re_refer_a_discharged_client(worker: User, *, today: date) -> Episode | None:
    """A client of the first demo worker discharged over a month ago comes back: a new
    episode, waiting, with the earlier one kept (so the client page shows both)."""
    earlier = db.session.scalar(
        select(Episode)
        .where(
            Episode.worker_id == worker.id,
            Episode.discharged_on.is_not(None),
            Episode.discharged_on <= today - timedelta(days=30),
        )
        .order_by(Episode.discharged_on.desc(), Episode.id)
        .limit(1)
    )
    if earlier is None:
        return None
    return add_referral(
        worker,
        earlier.client,
        Referral(
            referral_date=today - timedelta(days=3),
            referral_source=earlier.referral_source,
            referrer_expectation=earlier.referrer_expectation,
            presenting_problem=earlier.presenting_problem,
            complexity_note="Re-referred by the GP: low mood has returned since the last episode.",
        ),
        today=today,
    )


def summarise_demo(workers: Sequence[User], *, curve_episodes: int) -> DemoSummary:
    """Count what the demo holds, with national outcomes of its discharged episodes."""
    db.session.flush()
    discharged = list(
        db.session.scalars(
            select(EpisodeSummary)
            .join(Episode, Episode.id == EpisodeSummary.episode_id)
            .where(Episode.discharged_on.is_not(None))
        )
    )
    finished = [s for s in discharged if s.finished_treatment and s.caseness_at_start]
    treating = case((EpisodeSummary.is_active.is_(True), 1), else_=0)
    open_rows = db.session.execute(
        select(Episode.worker_id, func.sum(treating), func.count(Episode.id))
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(Episode.discharged_on.is_(None))
        .group_by(Episode.worker_id)
    ).all()
    by_id = {w.id: w.username for w in workers}
    active = dict.fromkeys(by_id.values(), 0)
    waiting = dict.fromkeys(by_id.values(), 0)
    for worker_id, in_treatment, count in open_rows:
        active[by_id[worker_id]] = int(in_treatment or 0)
        waiting[by_id[worker_id]] = count - int(in_treatment or 0)
    return DemoSummary(
        clients=db.session.scalar(select(func.count(Client.id))) or 0,
        contacts=db.session.scalar(select(func.count(Contact.id))) or 0,
        discharged=len(discharged),
        finished_at_caseness=len(finished),
        recovered=sum(s.recovered for s in finished),
        reliably_deteriorated=sum(
            s.reliably_deteriorated for s in discharged if s.finished_treatment
        ),
        notes=db.session.scalar(select(func.count(ReflectiveNote.id))) or 0,
        curve_episodes=curve_episodes,
        active_by_worker=active,
        waiting_by_worker=waiting,
    )
