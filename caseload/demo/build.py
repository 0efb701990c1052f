"""Writing the demo plan through the same services a worker and a supervisor use, then
summarising it.

Every rule, summary and audit event applies, as it would to real work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select

from caseload.demo.history import HistoryWriter
from caseload.demo.plan import plan_demo_service
from caseload.demo.records import DemoSummary
from caseload.demo.staff import demo_supervisors, demo_workers
from caseload.demo.supervision import plan_supervision, supervision_rng
from caseload.demo.tables import DEFAULT_CLIENTS, DEFAULT_SEED
from caseload.demo.timeline import demo_timeline
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import (
    Client,
    Contact,
    Episode,
    EpisodeReassignment,
    EpisodeSummary,
    ReflectiveNote,
    SupervisionReview,
    SupervisionSession,
    User,
)
from caseload.services.clients import Referral, add_referral
from caseload.services.curves import rebuild_expected_curves
from caseload.services.notes import rebuild_risk_cases_at_writing, write_note


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
    """Fill the demo staff's caseloads with synthetic clients, contacts, supervision and notes.

    Everything is written through the services (rules, summaries, audit) in time order,
    with the supervisors' sessions, reviews and reassignments between the contacts
    (``caseload.demo.history``); then the notes, and the expected curves are rebuilt.
    ``progress`` is called with 1 per client; ``checkpoint`` (e.g. a commit) every
    ``checkpoint_every`` clients. Flushes; the caller commits.
    """
    workers = demo_workers()
    supervisors = demo_supervisors()
    episodes, notes = plan_demo_service(seed=seed, today=today, now=now, clients=clients)
    rng = supervision_rng(seed)
    supervision = plan_supervision(rng, episodes, notes, today=today)
    writer = HistoryWriter(
        episodes, supervision, workers=workers, supervisors=supervisors, now=now, rng=rng
    )
    episode_ids = writer.write(
        demo_timeline(episodes, supervision, now=now),
        progress=progress,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
    )
    written = []
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
        # gets the time it was written and the author's active caseload on that day, with
        # the cases moved to or from them by then.
        note.written_at = planned.at
        note.caseload_at_writing = supervision.caseload_on(
            episodes, planned.worker, local_date(planned.at)
        )
        written.append(note)
    # ... and the open risk cases held that day, rebuilt from the history.
    rebuild_risk_cases_at_writing(written)
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
        sessions=db.session.scalar(select(func.count(SupervisionSession.id))) or 0,
        reviews=db.session.scalar(select(func.count(SupervisionReview.id))) or 0,
        reassignments=db.session.scalar(select(func.count(EpisodeReassignment.id))) or 0,
    )
