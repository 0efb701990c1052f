"""The demo service: a small build pinned to one day, its rules, its determinism, its curves."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from caseload import create_app
from caseload.demo import (
    DEFAULT_CLIENTS,
    TEAMS,
    WORKERS,
    DemoSummary,
    build_demo_service,
    build_demo_staff,
    demo_nhs_number,
    plan_demo_service,
    plan_supervision,
    spread_items,
    supervision_rng,
)
from caseload.demo import (
    PRESENTING_PROBLEMS as DEMO_PROBLEMS,
)
from caseload.demo import (
    REFERRER_EXPECTATIONS as DEMO_EXPECTATIONS,
)
from caseload.demo.notes import NOTES_AT_LEAST, joined_days_ago
from caseload.demo.timeline import Step, demo_timeline
from caseload.domain.codes import (
    PRESENTING_PROBLEMS,
    REFERRER_EXPECTATIONS,
    AttendanceCode,
    RiskLevel,
    Severity,
    SupervisionDecision,
)
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import (
    Client,
    ConsentRecord,
    Contact,
    Episode,
    EpisodeReassignment,
    ExpectedCurveCache,
    ReflectiveNote,
    SupervisionReview,
    SupervisionSession,
    User,
)
from caseload.services.clients import nhs_number_is_valid
from caseload.services.curves import rebuild_expected_curves
from caseload.services.episodes import outcome_for, worker_caseload
from caseload.services.supervision import exception_queue, record_review
from tests.conftest import PG_URL, Database, base_config, pg_schema_url

#: A pinned Monday, so the build does not depend on when the tests run.
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SMALL = 40
#: An ISO date inside a flag's key (the evidence it was raised on).
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def phq9_item9(contact: Contact) -> int | None:
    """The contact's PHQ-9 item 9 answer, or None when PHQ-9 was not asked or left it blank."""
    found = contact.score("phq9")
    return None if found is None else found.risk_answer


def build(seed: int = 2009, clients: int = SMALL) -> DemoSummary:
    """Build the demo staff and a small demo caseload, committed."""
    build_demo_staff()
    summary = build_demo_service(today=TODAY, now=NOW, seed=seed, clients=clients)
    db.session.commit()
    return summary


def digest() -> list[Any]:
    """Every fact of the demo that does not depend on generated references or ids."""
    db.session.expire_all()  # read what the database holds, in its order
    episodes = db.session.scalars(
        select(Episode).options(joinedload(Episode.client), joinedload(Episode.worker))
    ).all()
    facts: list[Any] = []
    for e in episodes:
        contacts = tuple(
            (
                c.occurred_at.isoformat(),
                c.contact_type.value,
                int(c.attendance),
                tuple(
                    (s.measure_id, s.answers, s.total, s.risk_answer, str(s.not_collected_reason))
                    for s in c.scores
                ),
                c.risk_level,
                c.note,
            )
            for c in e.contacts
        )
        facts.append(
            (
                e.worker.username,
                e.client.name,
                e.client.date_of_birth.isoformat(),
                e.client.nhs_number,
                e.client.consent_central_reporting,
                e.referral_date.isoformat(),
                e.referral_source.value,
                e.referrer_expectation,
                e.presenting_problem,
                tuple(sorted(e.complexity_factors)),
                str(e.discharged_on),
                str(e.discharge_reason),
                contacts,
            )
        )
    notes = db.session.scalars(select(ReflectiveNote).options(joinedload(ReflectiveNote.author)))
    for n in notes:
        facts.append(
            (
                n.author.username,
                n.written_at.isoformat(),
                n.themes,
                n.manageability,
                n.caseload_at_writing,
                n.shared_with_supervisor,
                n.text,
            )
        )
    facts.extend(supervision_digest())
    return sorted(facts, key=repr)


def supervision_digest() -> list[Any]:
    """Every fact of the demo's supervision history, without ids."""
    facts: list[Any] = []
    sessions = db.session.scalars(
        select(SupervisionSession).options(
            joinedload(SupervisionSession.supervisor), joinedload(SupervisionSession.worker)
        )
    ).unique()
    for session in sessions:
        facts.append(
            (
                session.supervisor.username,
                session.worker.username,
                session.started_at.isoformat(),
                str(session.ended_at),
                tuple(
                    (c.position, c.episode.client.name, str(c.first_opened_at), c.seconds)
                    for c in session.cases
                ),
            )
        )
    for review in db.session.scalars(select(SupervisionReview)):
        facts.append(
            (
                review.supervisor.username,
                review.episode.client.name,
                review.reviewed_on.isoformat(),
                review.created_at.isoformat(),
                review.decision.value,
                review.reason,
                review.note,
                str(review.next_review_on),
                review.session_id is not None,
                tuple(f.flag_key for f in review.flags_seen),
            )
        )
    for move in db.session.scalars(select(EpisodeReassignment)):
        facts.append(
            (
                move.episode.client.name,
                move.from_worker.username,
                move.to_worker.username,
                move.by.username,
                move.reassigned_at.isoformat(),
                move.reason,
            )
        )
    return facts


@pytest.fixture
def second_app(database: Database, tmp_path: Path) -> Iterator[Flask]:
    """Another app on its own empty, migrated database (a second schema on PostgreSQL)."""
    schema = f"demo_{uuid.uuid4().hex[:10]}"
    if PG_URL:
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = pg_schema_url(schema)
    else:
        (tmp_path / "second").mkdir()
        url = database.fresh_url(tmp_path / "second")
    app = create_app(base_config(url, tmp_path / "second-instance"))
    with app.app_context():
        if PG_URL:
            upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()
    if PG_URL:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_plan_is_deterministic_for_a_seed() -> None:
    first = plan_demo_service(seed=7, today=TODAY, now=NOW, clients=SMALL)
    again = plan_demo_service(seed=7, today=TODAY, now=NOW, clients=SMALL)
    other = plan_demo_service(seed=8, today=TODAY, now=NOW, clients=SMALL)
    assert first == again
    assert first != other
    episodes, notes = first
    assert len(episodes) == SMALL
    assert {n.worker for n in notes} == set(range(len(WORKERS)))


def test_the_full_demo_history_is_carried_at_real_step_2_loads() -> None:
    """Issue 12: over the last year the full demo's weeks are held by a growing team at a
    step-2 load (most worker-weeks 20-40 active cases, none far over the cap), and at least
    three workers have weeks under 30, at 30-39 and at 40-45: enough distinct workers for
    the findings view to show those load bands. A discharged course went to a worker in
    post when it was referred."""
    episodes, _ = plan_demo_service(today=TODAY, now=NOW)
    for episode in episodes:
        if episode.discharge is not None:
            joined = TODAY - timedelta(days=joined_days_ago(episode.worker))
            assert episode.referral.referral_date >= joined
    sundays = [TODAY - timedelta(days=TODAY.weekday() + 1 + 7 * k) for k in range(52)]
    weeks = {worker: [0] * len(sundays) for worker in range(len(WORKERS))}
    for episode in episodes:
        started, ended = episode.treatment_started, episode.discharge
        if started is None:
            continue
        for index, day in enumerate(sundays):
            if started <= day and (ended is None or ended[0] > day):
                weeks[episode.worker][index] += 1
    held = sorted(count for counts in weeks.values() for count in counts if count)
    assert 20 <= held[len(held) // 2] <= 40
    assert held[-1] <= 60
    for low, high in ((1, 29), (30, 39), (40, 45)):
        workers = [w for w, counts in weeks.items() if any(low <= c <= high for c in counts)]
        assert len(workers) >= 3, (low, high, workers)


def test_a_demo_seeded_on_a_friday_has_a_diary_for_today() -> None:
    friday = date(2026, 11, 27)
    episodes, _ = plan_demo_service(
        today=friday, now=datetime(2026, 11, 27, 8, 0, tzinfo=UTC), clients=DEFAULT_CLIENTS
    )
    today_by_worker = Counter(
        e.worker
        for e in episodes
        for c in e.contacts
        if c.attendance is AttendanceCode.BOOKED and local_date(c.at) == friday
    )
    # Most practitioners have appointments booked for the day the demo was seeded.
    assert len(today_by_worker) >= len(WORKERS) // 2


def test_the_demo_has_an_anxiety_specific_measure_and_a_re_referral(app: Flask) -> None:
    episodes, _ = plan_demo_service(today=TODAY, now=NOW)
    # PTSD courses carry the PCL-5 at their first and last treatment contacts.
    ptsd = [
        e for e in episodes if e.referral.presenting_problem == "Post-traumatic stress disorder"
    ]
    assert any(sum(c.pcl5 is not None for c in e.contacts) >= 2 for e in ptsd)
    build()
    # One discharged client came back: a second episode, waiting, the first kept.
    returned = db.session.execute(
        select(Episode.client_id).group_by(Episode.client_id).having(func.count() > 1)
    ).all()
    assert len(returned) == 1
    both = db.session.scalars(
        select(Episode).where(Episode.client_id == returned[0][0]).order_by(Episode.id)
    ).all()
    assert both[0].discharged_on is not None
    assert both[1].is_open


def test_supervision_plan_is_deterministic_and_stays_within_teams() -> None:
    episodes, notes = plan_demo_service(seed=7, today=TODAY, now=NOW, clients=SMALL)
    plan = plan_supervision(supervision_rng(7), episodes, notes, today=TODAY)
    assert plan == plan_supervision(supervision_rng(7), episodes, notes, today=TODAY)
    assert plan != plan_supervision(supervision_rng(8), episodes, notes, today=TODAY)
    assert {s.worker for s in plan.sessions} == set(range(len(WORKERS)))
    assert all(local_date(s.at) <= TODAY - timedelta(days=7) for s in plan.sessions)
    assert all(local_date(c.at) <= TODAY - timedelta(days=7) for c in plan.checks)
    linked = {n.episode for n in notes}
    assert plan.reassignments
    for move in plan.reassignments:
        moved = episodes[move.episode]
        assert moved.worker % len(TEAMS) == move.to_worker % len(TEAMS)
        assert moved.worker != move.to_worker
        assert moved.active_on(local_date(move.at))
        assert move.episode not in linked  # a note stays linked to its author's case
        day = local_date(move.at)
        assert plan.holder(episodes, move.episode, day - timedelta(days=1)) == moved.worker
        assert plan.holder(episodes, move.episode, day) == move.to_worker


def test_demo_timeline_keeps_each_episode_in_order() -> None:
    episodes, notes = plan_demo_service(seed=7, today=TODAY, now=NOW, clients=SMALL)
    plan = plan_supervision(supervision_rng(7), episodes, notes, today=TODAY)
    events = demo_timeline(episodes, plan, now=NOW)
    assert events == sorted(events)
    steps: dict[int, list[Step]] = {}
    for event in events:
        if event.step <= Step.DISCHARGE:
            steps.setdefault(event.index, []).append(event.step)
    for index, episode in enumerate(episodes):
        order = steps[index]
        assert order[0] is Step.REGISTER
        assert order.count(Step.CONTACT) == len(episode.contacts)
        assert (order[-1] is Step.DISCHARGE) == (episode.discharge is not None)
    kinds = {e.step for e in events}
    assert {Step.SESSION, Step.CHECK, Step.REASSIGN} <= kinds


def test_demo_nhs_numbers_are_valid_test_numbers() -> None:
    import random

    rng = random.Random(1)
    numbers = [demo_nhs_number(rng) for _ in range(200)]
    assert all(n.startswith("999") and nhs_number_is_valid(n) for n in numbers)


@pytest.mark.parametrize(
    ("total", "items", "top"), [(0, 9, 3), (14, 9, 3), (27, 9, 3), (21, 7, 3), (33, 5, 8)]
)
def test_spread_items_sums_to_the_total_within_range(total: int, items: int, top: int) -> None:
    import random

    answers = spread_items(random.Random(total), total, items, top)
    assert len(answers) == items
    assert sum(answers) == total
    assert all(0 <= a <= top for a in answers)


def test_demo_uses_the_forms_choices() -> None:
    assert set(DEMO_PROBLEMS) <= set(PRESENTING_PROBLEMS)
    assert set(DEMO_EXPECTATIONS) <= set(REFERRER_EXPECTATIONS)


def test_demo_builds_a_living_service(app: Flask) -> None:
    summary = build()
    assert summary.clients == SMALL
    assert db.session.scalar(select(func.count(Client.id))) == SMALL
    consented = db.session.scalar(
        select(func.count(Client.id)).where(Client.consent_central_reporting)
    )
    assert 0.7 <= consented / SMALL <= 0.97
    notes_about_consent = db.session.scalars(select(ConsentRecord.note)).all()
    assert any("Agreed at assessment call" in n for n in notes_about_consent)

    episodes = (
        db.session.scalars(
            select(Episode).options(joinedload(Episode.summary), joinedload(Episode.client))
        )
        .unique()
        .all()
    )
    contacts = db.session.scalars(select(Contact)).all()
    assert summary.contacts == len(contacts)
    assert any(e.complexity_factors for e in episodes)
    risky = {c.episode_id for c in contacts if (phq9_item9(c) or 0) >= 1}
    assert risky
    # The waiting list, treatment and discharge with national outcomes all appear.
    assert summary.discharged == sum(not e.is_open for e in episodes) > 0
    assert sum(summary.waiting_by_worker.values()) > 0
    assert sum(summary.active_by_worker.values()) > 0
    outcomes = [outcome_for(e) for e in episodes if not e.is_open]
    assert any(o.finished_treatment and o.paired for o in outcomes)
    assert summary.finished_at_caseness > 0
    assert any(c.attendance is AttendanceCode.DID_NOT_ATTEND for c in contacts)
    assert any("counselling" in e.referrer_expectation.lower() for e in episodes)

    # Bookings: some ahead of now, and one whose time has passed without an outcome.
    booked = [c for c in contacts if c.attendance is AttendanceCode.BOOKED]
    assert any(c.occurred_at > NOW for c in booked)
    assert any(c.occurred_at < NOW for c in booked)
    by_worker = {u.username: u for u in db.session.scalars(select(User))}
    rows = [
        row
        for name, _ in WORKERS
        for caseload in [
            worker_caseload(by_worker[name], worker=by_worker[name], today=TODAY, now=NOW)
        ]
        for row in caseload.active + caseload.waiting
    ]
    assert any(row.needs_outcome for row in rows)
    assert any(row.next_booking is not None for row in rows)

    # Reflective notes by every worker, with themes, in the past.
    notes = db.session.scalars(select(ReflectiveNote)).all()
    per_author = Counter(n.author_id for n in notes)
    assert len(per_author) == len(WORKERS)
    # About one a fortnight since each joined (the team grew): the first in post wrote the
    # most, the newest at least NOTES_AT_LEAST, and none before joining.
    counts = [per_author[by_worker[name].id] for name, _ in WORKERS]
    assert min(counts) >= NOTES_AT_LEAST
    assert counts[0] > 2 * counts[-1]
    index_of = {by_worker[name].id: index for index, (name, _) in enumerate(WORKERS)}
    for note in notes:
        joined = TODAY - timedelta(days=joined_days_ago(index_of[note.author_id]))
        assert local_date(note.written_at) >= joined
    assert all(n.themes and n.written_at < NOW and 1 <= n.manageability <= 5 for n in notes)
    assert any(n.shared_with_supervisor for n in notes)
    assert any(n.episode_id is not None for n in notes)


def test_no_demo_contact_breaks_the_rules(app: Flask) -> None:
    build(seed=11)
    episodes = db.session.scalars(select(Episode).options(joinedload(Episode.client))).all()
    for episode in episodes:
        age = (episode.referral_date - episode.client.date_of_birth).days / 365.25
        assert 18 <= age <= 81
        if episode.client.nhs_number:
            assert nhs_number_is_valid(episode.client.nhs_number)
        for contact in episode.contacts:
            assert local_date(contact.occurred_at) >= episode.referral_date
            if contact.attendance.attended:
                assert contact.occurred_at <= NOW
                assert (
                    contact.total("phq9") is not None and contact.total("gad7") is not None
                ) or (contact.not_collected_reason is not None)
            else:
                assert all(s.answers is None for s in contact.scores)
                assert contact.risk_level is None
                if contact.attendance is not AttendanceCode.BOOKED:
                    assert contact.occurred_at <= NOW
            if (phq9_item9(contact) or 0) >= 1:
                assert contact.risk_level is not None
            if contact.risk_level in (RiskLevel.MODERATE, RiskLevel.HIGH):
                assert contact.risk_action
        if episode.discharged_on is not None:
            assert episode.referral_date <= episode.discharged_on <= TODAY
            assert episode.summary.booked_contacts == 0


def test_demo_is_deterministic_across_databases(app: Flask, second_app: Flask) -> None:
    with second_app.app_context():
        second = build(seed=5)
        second_digest = digest()
    with app.app_context():
        first = build(seed=5)
        assert first == second
        assert digest() == second_digest


def test_demo_has_a_supervision_history(app: Flask) -> None:
    summary = build()
    users = {u.username: u for u in db.session.scalars(select(User))}
    supervises = {
        u.id: u.team.supervisor_id for u in users.values() if u.team is not None
    }  # worker id -> their supervisor's id

    # Weekly sessions with each worker, ended, stopping a week before today.
    sessions = db.session.scalars(select(SupervisionSession)).all()
    assert summary.sessions == len(sessions) > 0
    assert {s.worker.username for s in sessions} == {name for name, _ in WORKERS}
    for session in sessions:
        assert supervises[session.worker_id] == session.supervisor_id
        assert session.ended_at is not None
        assert session.started_at <= session.ended_at
        assert local_date(session.started_at) <= TODAY - timedelta(days=7)
        assert [c.position for c in session.cases] == list(range(1, len(session.cases) + 1))
        assert session.cases[0].discussed
    per_case = [
        sum(c.seconds for c in s.cases) / 60 / sum(c.discussed for c in s.cases) for s in sessions
    ]
    assert all(0 < minutes < 10 for minutes in per_case)

    # Reviews with varied decisions, in sessions and between them, each of a case open
    # that day, seeing only evidence that existed that day.
    reviews = db.session.scalars(select(SupervisionReview)).all()
    assert summary.reviews == len(reviews) > 0
    assert any(r.session_id is not None for r in reviews)
    assert any(r.session_id is None for r in reviews)
    assert len({r.decision for r in reviews}) >= 4
    assert all(r.note for r in reviews if r.decision is SupervisionDecision.OTHER)
    assert any(r.flags_seen for r in reviews)
    dated = [f.flag_key for r in reviews for f in r.flags_seen if DAY.search(f.flag_key)]
    assert dated  # so the check below has evidence dates to look at
    for review in reviews:
        episode = review.episode
        assert episode.referral_date <= review.reviewed_on < TODAY
        assert episode.discharged_on is None or review.reviewed_on <= episode.discharged_on
        assert supervises[episode.worker_id] == review.supervisor_id
        for seen in review.flags_seen:
            for day in DAY.findall(seen.flag_key):
                assert date.fromisoformat(day) <= review.reviewed_on, seen.flag_key
    last = {}
    for review in reviews:
        last[review.episode_id] = max(review.reviewed_on, last.get(review.episode_id, date.min))
    for episode_id, reviewed_on in last.items():
        assert db.session.get(Episode, episode_id).summary.last_review_on == reviewed_on

    # A few cases moved within a team by its supervisor; the new worker logged what followed.
    moves = db.session.scalars(select(EpisodeReassignment)).all()
    assert summary.reassignments == len(moves) > 0
    for move in moves:
        assert move.from_worker.team_id == move.to_worker.team_id
        assert move.from_worker_id != move.to_worker_id
        assert supervises[move.from_worker_id] == move.by_id
        assert move.episode.worker_id == move.to_worker_id
        assert move.reason
        later = [c for c in move.episode.contacts if c.occurred_at > move.reassigned_at]
        assert all(c.created_by_id == move.to_worker_id for c in later)


def test_demo_supervisors_find_a_lived_in_queue(app: Flask) -> None:
    build()
    for username in ("supervisor1", "supervisor2"):
        supervisor = db.session.scalar(select(User).where(User.username == username))
        queue = exception_queue(supervisor, today=TODAY)
        severities = {row.severity for row in queue.rows}
        assert {Severity.RED, Severity.AMBER} <= severities, username
        # Red cases not reviewed in the last week, and amber ones not reviewed recently.
        assert any(r.severity is Severity.RED and r.days_since_review >= 7 for r in queue.rows), (
            username
        )
        assert any(r.severity is Severity.AMBER and r.days_since_review >= 7 for r in queue.rows), (
            username
        )

        # Reviewing a red case takes it out of the queue.
        red = next(r for r in queue.rows if r.severity is Severity.RED)
        record_review(
            supervisor,
            red.episode.id,
            reason="Discussed in the newcomer's first session.",
            decision=SupervisionDecision.REVIEW_RISK,
            note="",
            next_review_on=TODAY + timedelta(days=7),
            flags_seen=[f.key for f in (*red.flags, *red.seen)],
            today=TODAY,
            now=NOW,
        )
        after = exception_queue(supervisor, today=TODAY)
        assert red.episode.id not in {r.episode.id for r in after.rows}
        assert len(after.rows) == len(queue.rows) - 1


def test_rebuild_expected_curves_upserts_one_row_per_measure(app: Flask) -> None:
    assert rebuild_expected_curves() == 0
    build()
    used = rebuild_expected_curves(min_episodes=2)
    db.session.commit()
    rows = {r.measure_id: r for r in db.session.scalars(select(ExpectedCurveCache))}
    assert set(rows) == {"phq9", "gad7"}
    finished = [
        e
        for e in db.session.scalars(select(Episode).where(Episode.discharged_on.is_not(None)))
        if e.summary.treatment_contacts >= 2
    ]
    # Only the finished episodes of clients who consent to central reporting shape the curves.
    consented = [e for e in finished if e.client.consent_central_reporting]
    assert used == len(consented) > 0
    assert len(finished) > len(consented)
    assert rows["phq9"].data["points"]
    assert rows["phq9"].data["min_episodes"] == 2
    assert 0 < rows["phq9"].episodes_used <= used


def test_seed_demo_command_builds_a_small_service(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo", "--clients", "30", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "30 clients" in result.output
    assert "worker1" in result.output
    assert db.session.scalar(select(func.count(Client.id))) == 30
    assert db.session.scalar(select(func.count(ExpectedCurveCache.measure_id))) == 2
    path = Path(app.instance_path) / "demo-credentials.json"
    assert len(json.loads(path.read_text())) == 12


def test_seed_demo_command_can_make_staff_only(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo", "--clients", "0"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Client.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 12


def test_rebuild_curves_command(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--clients", "30"])
    result = runner.invoke(args=["rebuild-curves", "--min-episodes", "2"])
    assert result.exit_code == 0, result.output
    assert "rebuilt from" in result.output
    data = db.session.get(ExpectedCurveCache, "gad7").data
    assert data["min_episodes"] == 2
