"""Supervision services on a real database: the exception queue, reviews that clear the flags
they saw, supervision sessions, reassignment, shared notes, and who may do each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from caseload.domain.codes import (
    AttendanceCode,
    ComplexityFactor,
    DischargeReason,
    NotCollectedReason,
    ReflectiveTheme,
    RiskLevel,
    Role,
    Severity,
    SupervisionDecision,
)
from caseload.domain.flags import FlagKind
from caseload.extensions import db
from caseload.models import (
    AuditEvent,
    AuditEventClient,
    Episode,
    EpisodeReassignment,
    SupervisionReview,
    SupervisionReviewFlag,
    SupervisionSession,
    User,
)
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services.curves import CurveStatus
from caseload.services.episodes import discharge, get_episode
from caseload.services.notes import write_note
from caseload.services.supervision import (
    Queue,
    QueueRow,
    case_flags,
    end_session,
    exception_queue,
    get_session,
    move_in_session,
    reassign,
    reassign_targets,
    record_review,
    reviews_for,
    session_summary,
    shared_notes,
    start_session,
)
from tests.services.factories import (
    NOW,
    TODAY,
    audit_actions,
    client_details,
    gad7,
    log,
    log_scores,
    phq9,
    register,
)
from tests.services.test_episodes import counting_statements

# People --------------------------------------------------------------------------------------


@pytest.fixture
def supervisor(user_factory: Any, worker: User) -> User:
    """The North team's supervisor."""
    return user_factory(Role.SUPERVISOR, team="North team")


@pytest.fixture
def colleague(user_factory: Any) -> User:
    """A second worker in the North team."""
    return user_factory(Role.WORKER, team="North team")


@pytest.fixture
def outsider(user_factory: Any) -> User:
    """The South team's supervisor."""
    return user_factory(Role.SUPERVISOR, team="South team")


# Cases, each with one kind of flag, built through the services --------------------------------


def case(worker: User, name: str, **referral: Any) -> Episode:
    """A registered, waiting case (no flag unless the referral gives one)."""
    return register(worker, details=client_details(name=name), **referral)


def risk_case(worker: User, name: str = "Rae Risk") -> Episode:
    # Referred three days ago: a red case is overdue for review after seven.
    episode = case(worker, name, referral_date=TODAY - timedelta(days=3))
    log(worker, episode, phq9=phq9(12, item9=1), gad7=gad7(8), risk_level=RiskLevel.LOW)
    return episode


def complex_case(worker: User, name: str = "Cy Complex", **referral: Any) -> Episode:
    return case(worker, name, complexity_factors=frozenset({ComplexityFactor.DEBT}), **referral)


def dna_case(worker: User, name: str = "Di Disengaging") -> Episode:
    episode = case(worker, name)
    for days in (3, 2):
        log(worker, episode, NOW - timedelta(days=days), attendance=AttendanceCode.DID_NOT_ATTEND)
    return episode


def _scored(pairs: list[tuple[int, int]]) -> Callable[[User], Episode]:
    def build(worker: User) -> Episode:
        episode = case(worker, "Sam Scored", referral_date=TODAY - timedelta(days=14))
        log_scores(worker, episode, pairs)
        return episode

    return build


def _incomplete(worker: User) -> Episode:
    episode = case(worker, "Ivy Incomplete")
    log(
        worker,
        episode,
        phq9=[1, 1, 1, 1, None, 1, 1, 1, 0],
        gad7=gad7(6),
        incomplete_reasons={"phq9": NotCollectedReason.DECLINED},
    )
    return episode


def _missing(worker: User) -> Episode:
    episode = case(worker, "Mo Missing")
    log(worker, episode)  # attended, measures "not collected"
    return episode


FLAGGED: dict[FlagKind, Callable[[User], Episode]] = {
    FlagKind.RISK: risk_case,
    FlagKind.SEVERE_AT_ENTRY: _scored([(21, 8)]),
    FlagKind.DETERIORATION: _scored([(8, 6), (16, 6)]),
    FlagKind.NOT_ON_TRACK: _scored([(15, 6)] * 4),
    FlagKind.COMPLEXITY: complex_case,
    FlagKind.DISENGAGING: dna_case,
    FlagKind.LONG_TREATMENT: _scored([(8, 6)] * 9),
    FlagKind.INCOMPLETE_QUESTIONNAIRES: _incomplete,
    FlagKind.MISSING_MEASURES: _missing,
    FlagKind.REVIEW_OVERDUE: lambda worker: case(
        worker, "Otto Overdue", referral_date=TODAY - timedelta(days=28)
    ),
}


def row_for(queue: Queue, episode: Episode) -> QueueRow | None:
    return next((r for r in queue.rows if r.episode.id == episode.id), None)


def kinds(flags: Any) -> set[FlagKind]:
    return {f.kind for f in flags}


def review(
    supervisor: User,
    episode: Episode,
    *,
    keys: Any = None,
    today: date = TODAY,
    **values: Any,
) -> SupervisionReview:
    """Review the case as the form would, with the keys of the flags shown (by default,
    every flag still to discuss today)."""
    if keys is None:
        keys = [f.key for f in case_flags(supervisor, episode, today=today)[0]]
    arguments: dict[str, Any] = {
        "reason": "Discussed in supervision.",
        "decision": SupervisionDecision.CONTINUE,
        "note": "",
        "next_review_on": None,
        "flags_seen": keys,
        "today": today,
    }
    return record_review(supervisor, episode.id, **(arguments | values))


def denials() -> int:
    """Denials on record (each is written once the transaction that refused ends)."""
    db.session.commit()
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access.denied")
    )


def listed_clients(action: str) -> set[int]:
    """The clients named by the latest event of this action."""
    event_id = db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.action == action))
    return set(
        db.session.scalars(
            select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event_id)
        )
    )


# The queue -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FLAGGED), ids=lambda k: k.value)
def test_each_flag_kind_reaches_the_queue(supervisor: User, worker: User, kind: FlagKind) -> None:
    episode = FLAGGED[kind](worker)
    calm = case(worker, "Cal Calm")
    db.session.commit()
    queue = exception_queue(supervisor, today=TODAY)
    row = row_for(queue, episode)
    assert row is not None
    assert kind in kinds(row.flags)
    assert row_for(queue, calm) is None  # no flag, no row
    assert queue.kind_counts[kind] == 1


def test_queue_order_filters_and_counts(
    supervisor: User, worker: User, colleague: User, user_factory: Any
) -> None:
    missing = _missing(worker)
    older = complex_case(colleague, "Older Complex", referral_date=TODAY - timedelta(days=12))
    newer = complex_case(worker, "Newer Complex", referral_date=TODAY - timedelta(days=10))
    risky = risk_case(worker)
    case(colleague, "Cal Calm")
    user_factory(Role.WORKER, team="North team").active = False  # left, holding no case
    south = user_factory(Role.WORKER, team="South team")
    complex_case(south, "Not Ours")
    db.session.commit()

    queue = exception_queue(supervisor, today=TODAY)
    # Red, then amber by the longest since review, then information.
    assert [r.episode.id for r in queue.rows] == [risky.id, older.id, newer.id, missing.id]
    assert [r.severity for r in queue.rows] == [
        Severity.RED,
        Severity.AMBER,
        Severity.AMBER,
        Severity.INFO,
    ]
    assert queue.rows[1].days_since_review == 12
    assert queue.rows[0].last_contact_on == date(2025, 6, 1)
    assert queue.rows[1].last_contact_on is None
    assert queue.total == 4
    assert [w.id for w in queue.workers] == sorted([worker.id, colleague.id])
    assert queue.worker_counts == {worker.id: 3, colleague.id: 1}
    assert queue.kind_counts[FlagKind.COMPLEXITY] == 2
    assert queue.kind_counts[FlagKind.RISK] == 1
    assert queue.kind_counts[FlagKind.DISENGAGING] == 0
    assert queue.curves == CurveStatus(built_at=None, episodes_used=0)
    db.session.commit()
    assert listed_clients("supervision.queue") == {
        e.client_id for e in (missing, older, newer, risky)
    }

    by_kind = exception_queue(supervisor, today=TODAY, kind=FlagKind.COMPLEXITY)
    assert [r.episode.id for r in by_kind.rows] == [older.id, newer.id]
    assert by_kind.total == 4
    assert by_kind.worker_counts == {worker.id: 1, colleague.id: 1}
    assert by_kind.kind_counts[FlagKind.RISK] == 1  # the worker filter only

    by_worker = exception_queue(supervisor, today=TODAY, worker_id=worker.id)
    assert [r.episode.id for r in by_worker.rows] == [risky.id, newer.id, missing.id]
    assert by_worker.worker_counts == {worker.id: 3, colleague.id: 1}  # the kind filter only
    assert by_worker.kind_counts[FlagKind.COMPLEXITY] == 1

    both = exception_queue(supervisor, today=TODAY, worker_id=worker.id, kind=FlagKind.COMPLEXITY)
    assert [r.episode.id for r in both.rows] == [newer.id]
    db.session.commit()
    assert listed_clients("supervision.queue") == {newer.client_id}


def test_discharged_cases_leave_the_queue(supervisor: User, worker: User) -> None:
    episode = FLAGGED[FlagKind.DETERIORATION](worker)
    db.session.commit()
    assert row_for(exception_queue(supervisor, today=TODAY), episode) is not None
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=TODAY,
        note="",
        today=TODAY,
        risk_confirmed=True,
        risk_plan="Discussed with the GP.",
    )
    assert exception_queue(supervisor, today=TODAY).rows == []


def queue_statements(supervisor: User, worker: User, cases: int) -> int:
    """Give the worker ``cases`` more flagged cases, then count the queue's queries."""
    for number in range(cases):
        episode = risk_case(worker, f"Client {number}") if number % 2 else None
        if episode is None:
            complex_case(worker, f"Client {number}")
    db.session.commit()
    db.session.expire_all()
    with counting_statements() as statements:
        queue = exception_queue(supervisor, today=TODAY)
    assert len(queue.rows) >= cases
    db.session.commit()
    return len(statements)


def test_queue_queries_do_not_grow_with_the_cases(supervisor: User, worker: User) -> None:
    exception_queue(supervisor, today=TODAY)
    db.session.commit()  # the missing curves are built after the first queue
    small = queue_statements(supervisor, worker, 3)
    large = queue_statements(supervisor, worker, 12)
    assert small == large
    # BEGIN, the supervisor (expired by the test), the settings revision (once per
    # request in the app), then the queue's own six: the workers, the cached curves, the
    # episodes with their measure summaries and complexity factors, the keys seen
    assert small <= 9


# Reviews ---------------------------------------------------------------------------------------


def test_a_review_clears_exactly_the_flags_it_saw(supervisor: User, worker: User) -> None:
    episode = complex_case(worker, referral_date=TODAY - timedelta(days=3))
    log(worker, episode, phq9=phq9(12, item9=1), gad7=gad7(8), risk_level=RiskLevel.LOW)
    db.session.commit()
    [risk, complexity] = exception_queue(supervisor, today=TODAY).rows[0].flags
    assert (risk.kind, complexity.kind) == (FlagKind.RISK, FlagKind.COMPLEXITY)

    saved = review(supervisor, episode, keys=[risk.key])
    db.session.commit()
    assert [f.flag_key for f in saved.flags_seen] == [risk.key]
    assert (saved.flags_seen[0].kind, saved.flags_seen[0].severity) == (FlagKind.RISK, Severity.RED)
    assert episode.summary.last_review_on == TODAY
    row = row_for(exception_queue(supervisor, today=TODAY), episode)
    assert row is not None
    assert (row.flags, row.seen) == ((complexity,), (risk,))
    assert row.severity is Severity.AMBER
    assert case_flags(supervisor, episode, today=TODAY) == ((complexity,), (risk,))

    review(supervisor, episode, keys=[complexity.key])  # a second review the same day
    assert row_for(exception_queue(supervisor, today=TODAY), episode) is None
    db.session.commit()
    assert audit_actions(action="supervision.review") == ["supervision.review"] * 2
    assert len(reviews_for(supervisor, episode)) == 2


def test_a_new_item9_answer_raises_the_risk_flag_again(supervisor: User, worker: User) -> None:
    episode = risk_case(worker)
    review(supervisor, episode)
    assert row_for(exception_queue(supervisor, today=TODAY), episode) is None
    # The same answer again the same day is the same evidence...
    log(worker, episode, NOW - timedelta(hours=20), phq9=phq9(12, item9=1), gad7=gad7(8),
        risk_level=RiskLevel.LOW)  # fmt: skip
    assert row_for(exception_queue(supervisor, today=TODAY), episode) is None
    # ...a new answer on a later day is new evidence.
    log(worker, episode, NOW - timedelta(hours=1), phq9=phq9(12, item9=1), gad7=gad7(8),
        risk_level=RiskLevel.LOW)  # fmt: skip
    row = row_for(exception_queue(supervisor, today=TODAY), episode)
    assert row is not None
    assert kinds(row.flags) == {FlagKind.RISK}


def test_a_new_dna_raises_the_disengaging_flag_again(supervisor: User, worker: User) -> None:
    episode = dna_case(worker)
    review(supervisor, episode)
    assert row_for(exception_queue(supervisor, today=TODAY), episode) is None
    log(worker, episode, NOW - timedelta(days=1), attendance=AttendanceCode.DID_NOT_ATTEND)
    row = row_for(exception_queue(supervisor, today=TODAY), episode)
    assert row is not None
    assert kinds(row.flags) == {FlagKind.DISENGAGING}
    assert "missed the last 3 appointments" in row.flags[0].sentence


def test_a_flag_raised_after_the_form_was_shown_stays(supervisor: User, worker: User) -> None:
    episode = dna_case(worker)
    shown = [f.key for f in case_flags(supervisor, episode, today=TODAY)[0]]
    # While the supervisor reads the form, the worker records a third DNA and a risk.
    log(worker, episode, NOW - timedelta(days=1), attendance=AttendanceCode.DID_NOT_ATTEND)
    log(worker, episode, NOW - timedelta(hours=2), phq9=phq9(12, item9=1), gad7=gad7(8),
        risk_level=RiskLevel.LOW)  # fmt: skip
    saved = review(supervisor, episode, keys=[*shown, "risk:made-up"])
    # The DNA count the form showed is no longer standing, and nothing else was shown.
    assert saved.flags_seen == []
    row = row_for(exception_queue(supervisor, today=TODAY), episode)
    assert row is not None
    assert kinds(row.flags) == {FlagKind.RISK}  # the new DNA run broke by attending


@pytest.mark.parametrize(
    ("red", "days", "overdue"),
    [(True, 6, False), (True, 7, True), (False, 27, False), (False, 28, True)],
    ids=["red-6", "red-7", "amber-27", "amber-28"],
)
def test_review_overdue_after_7_days_for_a_red_case_and_28_for_others(
    supervisor: User, worker: User, red: bool, days: int, overdue: bool
) -> None:
    episode = risk_case(worker) if red else complex_case(worker)
    review(supervisor, episode)
    later = TODAY + timedelta(days=days)
    row = row_for(exception_queue(supervisor, today=later), episode)
    if not overdue:
        assert row is None
        return
    assert row is not None
    assert kinds(row.flags) == {FlagKind.REVIEW_OVERDUE}
    assert row.severity is (Severity.RED if red else Severity.AMBER)
    assert row.days_since_review == days


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"decision": None}, "decision"),
        ({"decision": SupervisionDecision.OTHER, "note": ""}, "note"),
        ({"note": "x" * 5001}, "note"),
        ({"next_review_on": TODAY}, "next_review_on"),
        ({"next_review_on": TODAY + timedelta(days=366)}, "next_review_on"),
    ],
)
def test_review_rules(supervisor: User, worker: User, values: dict[str, Any], field: str) -> None:
    episode = risk_case(worker)
    with pytest.raises(ServiceError) as refused:
        review(supervisor, episode, **values)
    assert set(refused.value.field_errors) == {field}
    assert db.session.scalar(select(func.count()).select_from(SupervisionReview)) == 0


def test_a_review_may_book_the_next_within_a_year_with_any_decision(
    supervisor: User, worker: User
) -> None:
    episode = risk_case(worker)
    saved = review(
        supervisor,
        episode,
        decision=SupervisionDecision.OTHER,
        note="Joint session with the step-3 team.",
        next_review_on=TODAY + timedelta(days=365),
    )
    assert saved.next_review_on == TODAY + timedelta(days=365)
    assert saved.reviewed_on == TODAY
    assert saved.supervisor_id == supervisor.id


def test_a_discharged_case_is_not_reviewed(supervisor: User, worker: User) -> None:
    episode = complex_case(worker)
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=TODAY,
        note="",
        today=TODAY,
    )
    with pytest.raises(ServiceError, match="discharged"):
        review(supervisor, episode, keys=[])


@pytest.mark.parametrize("role", [Role.WORKER, Role.LEAD, Role.ADMIN])
def test_only_a_supervisor_reviews_and_anyone_else_is_refused_as_not_visible(
    user_factory: Any, worker: User, role: Role
) -> None:
    episode = risk_case(worker)
    db.session.commit()
    asker = worker if role is Role.WORKER else user_factory(role)
    before = denials()
    with pytest.raises(NotVisible):
        review(asker, episode, keys=[])
    assert denials() == before + 1
    assert db.session.scalar(select(func.count()).select_from(SupervisionReview)) == 0


def test_reviews_are_listed_newest_first_for_the_worker_and_the_supervisor(
    supervisor: User, worker: User, user_factory: Any
) -> None:
    episode = risk_case(worker)
    first = review(supervisor, episode, now=NOW - timedelta(days=7), today=TODAY - timedelta(7))
    second = review(supervisor, episode, reason="Risk reviewed again.", now=NOW)
    assert [r.id for r in reviews_for(supervisor, episode)] == [second.id, first.id]
    assert [r.id for r in reviews_for(worker, episode)] == [second.id, first.id]
    assert reviews_for(worker, episode)[0].supervisor.id == supervisor.id
    assert reviews_for(user_factory(Role.LEAD), episode) == []
    assert reviews_for(user_factory(Role.WORKER, team="North team"), episode) == []


# Sessions --------------------------------------------------------------------------------------


@pytest.fixture
def three_cases(worker: User) -> list[Episode]:
    """Three flagged cases of the worker, in queue order (red, amber, information)."""
    episodes = [risk_case(worker), complex_case(worker), _missing(worker)]
    db.session.commit()
    return episodes


def test_a_session_times_each_case(
    supervisor: User, worker: User, three_cases: list[Episode]
) -> None:
    session = start_session(supervisor, worker_id=worker.id, today=TODAY, now=NOW)
    assert [c.episode_id for c in session.cases] == [e.id for e in three_cases]
    assert [c.position for c in session.cases] == [1, 2, 3]
    assert (session.current_position, session.current_since) == (1, NOW)
    assert session.cases[0].first_opened_at == NOW
    assert session.cases[1].first_opened_at is None
    db.session.commit()
    assert listed_clients("supervision.session_start") == {e.client_id for e in three_cases}
    # Starting again returns the open session.
    assert start_session(supervisor, worker_id=worker.id, today=TODAY).id == session.id

    case_two = move_in_session(supervisor, session.id, position=2, now=NOW + timedelta(seconds=120))
    assert case_two.first_opened_at == NOW + timedelta(seconds=120)
    move_in_session(supervisor, session.id, position=1, now=NOW + timedelta(seconds=180))
    review(supervisor, three_cases[0], session_id=session.id)
    ended = end_session(supervisor, session.id, now=NOW + timedelta(seconds=300))
    assert ended.ended_at == NOW + timedelta(seconds=300)
    assert [c.seconds for c in ended.cases] == [240, 60, 0]
    assert session.cases[0].first_opened_at == NOW  # opening it again keeps the first time

    summary = session_summary(supervisor, session.id)
    assert summary.discussed == 2
    assert summary.minutes == 5.0
    assert summary.minutes_per_case == 2.5
    assert [r.episode_id for r in summary.reviews] == [three_cases[0].id]

    # Ended: moving and ending again change nothing.
    move_in_session(supervisor, session.id, position=3, now=NOW + timedelta(hours=1))
    end_session(supervisor, session.id, now=NOW + timedelta(hours=1))
    db.session.commit()
    again = get_session(supervisor, session.id)
    assert [c.seconds for c in again.cases] == [240, 60, 0]
    assert again.cases[2].first_opened_at is None
    assert again.ended_at == NOW + timedelta(seconds=300)
    assert audit_actions(action="supervision.session_end") == ["supervision.session_end"]


def test_an_open_session_summary_counts_the_case_on_screen(
    supervisor: User, worker: User, three_cases: list[Episode]
) -> None:
    session = start_session(supervisor, worker_id=worker.id, today=TODAY, now=NOW)
    move_in_session(supervisor, session.id, position=2, now=NOW + timedelta(seconds=60))
    summary = session_summary(supervisor, session.id, now=NOW + timedelta(seconds=180))
    assert summary.discussed == 2
    assert summary.minutes == 3.0
    assert summary.minutes_per_case == 1.5  # 60 s on case 1, 120 s so far on case 2


def test_a_session_refuses_a_position_off_its_list(
    supervisor: User, worker: User, three_cases: list[Episode]
) -> None:
    session = start_session(supervisor, worker_id=worker.id, today=TODAY, now=NOW)
    for position in (0, 4):
        with pytest.raises(ServiceError) as refused:
            move_in_session(supervisor, session.id, position=position, now=NOW)
        assert "position" in refused.value.field_errors


def test_a_worker_without_flagged_cases_has_no_session(supervisor: User, worker: User) -> None:
    case(worker, "Cal Calm")
    with pytest.raises(ServiceError, match="no flagged cases"):
        start_session(supervisor, worker_id=worker.id, today=TODAY, now=NOW)
    assert db.session.scalar(select(func.count()).select_from(SupervisionSession)) == 0


def test_a_review_in_a_session_must_be_for_a_case_on_its_open_list(
    supervisor: User, worker: User, colleague: User, three_cases: list[Episode]
) -> None:
    session = start_session(supervisor, worker_id=worker.id, today=TODAY, now=NOW)
    elsewhere = risk_case(colleague, "Other Case")
    with pytest.raises(ServiceError) as refused:
        review(supervisor, elsewhere, session_id=session.id)
    assert "session_id" in refused.value.field_errors
    end_session(supervisor, session.id, now=NOW)
    with pytest.raises(ServiceError):
        review(supervisor, three_cases[0], session_id=session.id)
    assert db.session.scalar(select(func.count()).select_from(SupervisionReview)) == 0


# Reassignment ----------------------------------------------------------------------------------


def test_reassign_moves_the_case_at_once_and_is_audited(
    supervisor: User, worker: User, colleague: User, user_factory: Any
) -> None:
    episode = risk_case(worker)
    user_factory(Role.WORKER, team="North team").active = False
    user_factory(Role.WORKER, team="South team")
    db.session.commit()
    assert [u.id for u in reassign_targets(supervisor, episode)] == [colleague.id]
    assert reassign_targets(worker, episode) == []

    move = reassign(
        supervisor,
        episode.id,
        to_worker_id=colleague.id,
        reason="Rebalancing caseloads.",
        version=episode.version,
        now=NOW,
    )
    db.session.commit()
    assert (move.from_worker_id, move.to_worker_id, move.by_id) == (
        worker.id,
        colleague.id,
        supervisor.id,
    )
    assert move.reassigned_at == NOW
    assert get_episode(colleague, episode.id).id == episode.id
    with pytest.raises(NotVisible):
        get_episode(worker, episode.id)
    db.session.commit()  # the denial is written once the transaction ends
    assert audit_actions(action="episode.reassign") == ["episode.reassign"]
    assert audit_actions(action="access.denied") == ["access.denied"]


@pytest.mark.parametrize(
    ("change", "field"),
    [("same worker", "to_worker_id"), ("other team", "to_worker_id"), ("no reason", "reason")],
)
def test_reassign_rules(
    supervisor: User, worker: User, colleague: User, user_factory: Any, change: str, field: str
) -> None:
    episode = risk_case(worker)
    south = user_factory(Role.WORKER, team="South team")
    target = {"same worker": worker.id, "other team": south.id, "no reason": colleague.id}
    with pytest.raises(ServiceError) as refused:
        reassign(
            supervisor,
            episode.id,
            to_worker_id=target[change],
            reason="" if change == "no reason" else "Rebalancing.",
            version=None,
        )
    assert set(refused.value.field_errors) == {field}
    assert db.session.scalar(select(func.count()).select_from(EpisodeReassignment)) == 0


def test_reassign_checks_the_version_and_refuses_a_closed_case(
    supervisor: User, worker: User, colleague: User
) -> None:
    episode = complex_case(worker)
    db.session.commit()
    with pytest.raises(Conflict):
        reassign(
            supervisor,
            episode.id,
            to_worker_id=colleague.id,
            reason="x",
            version=episode.version - 1,
        )
    discharge(
        worker, episode, reason=DischargeReason.COMPLETED, discharged_on=TODAY, note="", today=TODAY
    )
    with pytest.raises(ServiceError, match="discharged"):
        reassign(supervisor, episode.id, to_worker_id=colleague.id, reason="x", version=None)


# Shared notes ----------------------------------------------------------------------------------


def test_shared_notes_show_only_what_the_teams_workers_shared(
    supervisor: User, worker: User, colleague: User, user_factory: Any
) -> None:
    episode = risk_case(worker)
    private = write_note(worker, text="Private thoughts.", themes=[ReflectiveTheme.NEW_ROLE])
    linked = write_note(
        worker,
        text="Shared about a case.",
        themes=[ReflectiveTheme.RISK_AND_COMPLEXITY],
        episode_id=episode.id,
        shared_with_supervisor=True,
    )
    general = write_note(
        colleague,
        text="Shared, about training.",
        themes=[ReflectiveTheme.TRAINING_INTENSITY],
        shared_with_supervisor=True,
    )
    south = user_factory(Role.WORKER, team="South team")
    write_note(south, text="Shared in the South team.", themes=[ReflectiveTheme.NEW_ROLE],
               shared_with_supervisor=True)  # fmt: skip
    general.written_at = linked.written_at + timedelta(minutes=5)
    db.session.commit()

    shown = shared_notes(supervisor)
    assert [n.id for n in shown.notes] == [general.id, linked.id]
    assert private.id not in {n.id for n in shown.notes}
    assert [w.id for w in shown.workers] == sorted([worker.id, colleague.id])
    db.session.commit()
    assert listed_clients("notes.shared_view") == {episode.client_id}

    by_theme = shared_notes(supervisor, theme=ReflectiveTheme.RISK_AND_COMPLEXITY)
    assert [n.id for n in by_theme.notes] == [linked.id]
    by_worker = shared_notes(supervisor, worker_id=colleague.id)
    assert [n.id for n in by_worker.notes] == [general.id]
    assert shared_notes(outsider_of(user_factory)).notes[0].author_id == south.id


def outsider_of(user_factory: Any) -> User:
    """The South team's supervisor (made on demand)."""
    return user_factory(Role.SUPERVISOR, team="South team")


def test_a_worker_cannot_read_shared_notes_through_supervision(worker: User) -> None:
    write_note(worker, text="Private.", themes=[ReflectiveTheme.NEW_ROLE])
    before = denials()
    with pytest.raises(NotVisible):
        shared_notes(worker)
    assert denials() == before + 1


# Another team's supervisor ---------------------------------------------------------------------


@dataclass
class Scene:
    worker: User
    colleague: User
    episode: Episode
    session: SupervisionSession


@pytest.fixture
def scene(supervisor: User, worker: User, colleague: User) -> Scene:
    episode = risk_case(worker)
    session = start_session(supervisor, worker_id=worker.id, today=TODAY, now=NOW)
    db.session.commit()
    return Scene(worker, colleague, episode, session)


OTHER_TEAM_CALLS: dict[str, Callable[[User, Scene], object]] = {
    "queue of a worker": lambda a, s: exception_queue(a, today=TODAY, worker_id=s.worker.id),
    "review": lambda a, s: review(a, s.episode, keys=[]),
    "start session": lambda a, s: start_session(a, worker_id=s.worker.id, today=TODAY),
    "get session": lambda a, s: get_session(a, s.session.id),
    "move in session": lambda a, s: move_in_session(a, s.session.id, position=1),
    "end session": lambda a, s: end_session(a, s.session.id),
    "session summary": lambda a, s: session_summary(a, s.session.id),
    "reassign": lambda a, s: reassign(
        a, s.episode.id, to_worker_id=s.colleague.id, reason="x", version=None
    ),
    "shared notes of a worker": lambda a, s: shared_notes(a, worker_id=s.worker.id),
}


@pytest.mark.parametrize("call", list(OTHER_TEAM_CALLS))
def test_another_teams_supervisor_is_refused_and_the_denial_kept(
    outsider: User, scene: Scene, call: str
) -> None:
    before = denials()
    with pytest.raises(NotVisible):
        OTHER_TEAM_CALLS[call](outsider, scene)
    db.session.rollback()
    assert denials() == before + 1
    assert db.session.get(Episode, scene.episode.id).worker_id == scene.worker.id
    assert db.session.get(SupervisionSession, scene.session.id).ended_at is None
    assert db.session.scalar(select(func.count()).select_from(SupervisionReviewFlag)) == 0


def test_another_teams_supervisor_sees_none_of_it_unasked(outsider: User, scene: Scene) -> None:
    assert exception_queue(outsider, today=TODAY).rows == []
    assert exception_queue(outsider, today=TODAY).workers == []
    assert reviews_for(outsider, scene.episode) == []
    assert reassign_targets(outsider, scene.episode) == []
    assert case_flags(outsider, scene.episode, today=TODAY)[1] == ()


@pytest.mark.parametrize("role", [Role.WORKER, Role.LEAD, Role.ADMIN])
def test_only_supervisors_have_a_queue_or_sessions(
    user_factory: Any, scene: Scene, role: Role
) -> None:
    asker = scene.worker if role is Role.WORKER else user_factory(role)
    for call in (
        lambda: exception_queue(asker, today=TODAY),
        lambda: start_session(asker, worker_id=scene.worker.id, today=TODAY),
        lambda: get_session(asker, scene.session.id),
    ):
        before = denials()
        with pytest.raises(NotVisible):
            call()
        assert denials() == before + 1


def test_a_review_recorded_after_the_fact_keeps_the_latest_review_date(
    supervisor: User, worker: User
) -> None:
    episode = risk_case(worker)
    review(supervisor, episode)
    review(supervisor, episode, keys=[], today=TODAY - timedelta(days=2))
    assert episode.summary.last_review_on == TODAY
