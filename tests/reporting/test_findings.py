"""The findings view's figures against hand-built services with known answers.

Each test builds a few episodes through the services a worker uses (registration,
contacts, discharge, notes), with dates fixed around ``factories.TODAY`` (2 Jun 2025),
and checks every count the SQL returns against the figure worked out by hand in the
comments. Then the consent property: non-consented clients, their contacts, notes
linked to them and their supervision change no client figure, while worker load
counts every case (docs/design.md section 10), and that exception alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from caseload.domain.codes import (
    AttendanceCode,
    ComplexityFactor,
    ContactType,
    DischargeReason,
    NotCollectedReason,
    ReferralSource,
    ReflectiveTheme,
    RiskLevel,
    Role,
    SupervisionDecision,
)
from caseload.extensions import db
from caseload.models import (
    Episode,
    ReflectiveNote,
    SupervisionReview,
    SupervisionSession,
    SupervisionSessionCase,
    User,
)
from caseload.reporting.findings import (
    BandOutcomes,
    Scope,
    Sums,
    Tally,
    complex_outcomes,
    data_collection,
    endings,
    finished_by_worker,
    load_figures,
    outcomes_by_load,
    referrals,
    risk_at_assessment,
    risk_cases_when_written,
    service_findings,
    strain,
    supervision,
    weekly_load,
)
from caseload.services.clients import set_consent
from caseload.services.episodes import discharge
from caseload.services.notes import rebuild_risk_cases_at_writing, write_note
from tests.services.factories import NOW, TODAY, gad7, log, phq9, register

#: January to June 2025; "today" is 2 June, so the period ends then.
MONTHS = tuple(date(2025, m, 1) for m in range(1, 7))
JAN, FEB, MAR, APR, MAY, JUN = range(6)
GUIDED = "Guided self-help (low-intensity CBT)"


def noon(day: date, hour: int = 12) -> datetime:
    """A moment on a UK day in 2025's winter or summer (noon UTC is the same UK day)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def scope_of(workers: Iterable[User], *, cap: int = 45, months: tuple[date, ...] = MONTHS) -> Scope:
    return Scope(months=months, today=TODAY, worker_ids=tuple(w.id for w in workers), cap=cap)


def referred(
    worker: User,
    on: date,
    *,
    consented: bool = True,
    source: ReferralSource = ReferralSource.GP,
    expectation: str = GUIDED,
    factors: Iterable[ComplexityFactor] = (),
) -> Episode:
    """A client referred on a day, with one episode held by the worker."""
    return register(
        worker,
        referral_date=on,
        consented=consented,
        referral_source=source,
        referrer_expectation=expectation,
        complexity_factors=frozenset(factors),
    )


def seen(
    worker: User,
    episode: Episode,
    on: date,
    *,
    item9: int = 0,
    risk: RiskLevel | None = None,
    measures: str = "both",
    contact_type: ContactType = ContactType.TREATMENT,
    attendance: AttendanceCode = AttendanceCode.ATTENDED_ON_TIME,
    scores: tuple[int, int] = (14, 12),
    reason: NotCollectedReason | None = None,
) -> Any:
    """A contact on a day: attended, with PHQ-9 (item 9 as given) and GAD-7 by default."""
    answers: dict[str, Any] = {"phq9": None, "gad7": None}
    if attendance.attended and measures in ("both", "phq9"):
        answers["phq9"] = phq9(scores[0], item9=item9)
    if attendance.attended and measures == "both":
        answers["gad7"] = gad7(scores[1])
    extra: dict[str, Any] = {}
    if item9 and risk is None:
        risk = RiskLevel.LOW  # the form asks for a rating after an item-9 signal
    if reason is not None:
        extra["not_collected_reason"] = reason
    if risk is not None:
        extra["risk_level"] = risk
        extra["risk_action"] = (
            "Safety plan agreed." if risk in (RiskLevel.MODERATE, RiskLevel.HIGH) else ""
        )
    return log(
        worker,
        episode,
        noon(on),
        attendance=attendance,
        contact_type=contact_type,
        **answers,
        **extra,
    )


def end(
    worker: User, episode: Episode, on: date, reason: DischargeReason = DischargeReason.COMPLETED
) -> None:
    discharge(
        worker,
        episode,
        reason=reason,
        discharged_on=on,
        note="",
        today=TODAY,
        risk_confirmed=True,
        risk_plan="Safety plan reviewed; GP informed.",
    )


def course(
    worker: User,
    episode: Episode,
    start: date,
    *,
    first: tuple[int, int],
    last: tuple[int, int],
    ended: date | None = None,
    reason: DischargeReason = DischargeReason.COMPLETED,
) -> None:
    """Two attended treatment contacts a week apart with the scores given, then discharge."""
    seen(worker, episode, start, scores=first)
    seen(worker, episode, start + timedelta(days=7), scores=last)
    if ended is not None:
        end(worker, episode, ended, reason)


@pytest.fixture
def workers(user_factory: Any) -> list[User]:
    """Three workers in the North team."""
    return [user_factory(Role.WORKER, team="North team") for _ in range(3)]


# 1. Risk at assessment ------------------------------------------------------------------


def test_risk_at_assessment_by_source_and_month(workers: list[User]) -> None:
    w = workers[0]
    a = referred(w, date(2025, 2, 10))
    seen(w, a, date(2025, 2, 17), item9=1, contact_type=ContactType.ASSESSMENT)  # risky
    b = referred(w, date(2025, 2, 12))
    seen(w, b, date(2025, 2, 18), risk=RiskLevel.MODERATE)  # risky: rated moderate
    c = referred(w, date(2025, 3, 3))
    seen(w, c, date(2025, 3, 4))  # no risk at assessment ...
    seen(w, c, date(2025, 3, 11), item9=2)  # ... a later signal does not count
    d = referred(w, date(2025, 3, 5), source=ReferralSource.SELF)
    seen(w, d, date(2025, 3, 6), risk=RiskLevel.LOW)  # low is not a signal
    referred(w, date(2025, 3, 10), source=ReferralSource.SELF)  # not assessed: left out
    f = referred(w, date(2025, 3, 11), source=ReferralSource.SELF)
    seen(w, f, date(2025, 3, 12), attendance=AttendanceCode.DID_NOT_ATTEND)
    seen(w, f, date(2025, 3, 19), item9=1)  # the first attended contact: risky
    g = referred(w, date(2024, 12, 20))  # referred before the period
    seen(w, g, date(2025, 1, 2), item9=3)
    h = referred(w, date(2025, 2, 20), consented=False)  # no consent
    seen(w, h, date(2025, 2, 21), item9=3)
    db.session.commit()

    found = risk_at_assessment(scope_of(workers))
    assert found.by_source[ReferralSource.GP] == Tally(2, 3)  # a, b of a, b, c
    assert found.by_source[ReferralSource.SELF] == Tally(1, 2)  # f of d, f
    assert found.by_source[ReferralSource.OTHER] == Tally(0, 0)
    assert found.by_month[FEB] == Tally(2, 2)
    assert found.by_month[MAR] == Tally(1, 3)
    assert found.by_month[JAN] == Tally(0, 0)
    assert found.total == Tally(3, 5)


# 2 and 7. Complexity and role confusion ----------------------------------------------------


def test_referrals_count_complexity_and_expected_counselling(workers: list[User]) -> None:
    w = workers[0]
    referred(
        w,
        date(2025, 1, 6),
        expectation="Counselling",
        factors=[ComplexityFactor.HOUSING, ComplexityFactor.DEBT],
    )
    referred(w, date(2025, 1, 7), expectation="counselling ", factors=[ComplexityFactor.HOUSING])
    referred(w, date(2025, 4, 1), source=ReferralSource.SELF)
    referred(
        w,
        date(2025, 4, 2),
        source=ReferralSource.SELF,
        expectation="Counselling",
        factors=[ComplexityFactor.TRAUMA],
    )
    referred(w, date(2025, 5, 30), expectation="Not discussed or not known")
    referred(
        w,
        date(2025, 5, 30),
        consented=False,
        expectation="Counselling",
        factors=[ComplexityFactor.HOUSING],
    )
    db.session.commit()

    found = referrals(scope_of(workers))
    assert found.complex_by_source[ReferralSource.GP] == Tally(2, 3)
    assert found.complex_by_source[ReferralSource.SELF] == Tally(1, 2)
    assert found.by_factor[ComplexityFactor.HOUSING] == Tally(2, 5)
    assert found.by_factor[ComplexityFactor.DEBT] == Tally(1, 5)
    assert found.by_factor[ComplexityFactor.TRAUMA] == Tally(1, 5)
    assert found.by_factor[ComplexityFactor.BEREAVEMENT] == Tally(0, 5)
    assert found.complex_total == Tally(3, 5)
    # The form stores "Counselling"; any case or stray space is the same expectation.
    assert found.counselling_by_source[ReferralSource.GP] == Tally(2, 3)
    assert found.counselling_by_source[ReferralSource.SELF] == Tally(1, 2)
    assert found.counselling_by_month[JAN] == Tally(2, 2)
    assert found.counselling_by_month[APR] == Tally(1, 2)
    assert found.counselling_by_month[MAY] == Tally(0, 1)
    assert found.counselling_total == Tally(3, 5)


def test_reliable_recovery_of_complex_and_other_episodes(workers: list[User]) -> None:
    w = workers[0]
    start = date(2025, 3, 3)
    recovers = ((18, 15), (6, 5))
    no_change = ((12, 10), (13, 11))
    not_caseness = ((8, 6), (7, 5))
    for first_last, factors in (
        (recovers, [ComplexityFactor.BEREAVEMENT]),
        (no_change, [ComplexityFactor.HOUSING]),
        (recovers, []),
        (not_caseness, []),
    ):
        e = referred(w, date(2025, 3, 1), factors=factors)
        course(w, e, start, first=first_last[0], last=first_last[1], ended=date(2025, 3, 20))
    open_episode = referred(w, date(2025, 3, 1), factors=[ComplexityFactor.DEBT])
    course(w, open_episode, start, first=recovers[0], last=recovers[1])  # not finished
    db.session.commit()

    found = complex_outcomes(scope_of(workers))
    assert found.complex == Tally(1, 2)
    assert found.other == Tally(1, 1)  # not at caseness at start: out of the denominator


# 3. Worker load ---------------------------------------------------------------------------


def test_weekly_load_counts_every_case_and_finished_treatments(workers: list[User]) -> None:
    w1, w2, _ = workers
    a = referred(w1, date(2025, 4, 1))
    seen(w1, a, date(2025, 4, 20))  # active from 20 Apr
    b = referred(w1, date(2025, 4, 1), consented=False)  # counts: worker load
    seen(w1, b, date(2025, 5, 6))  # active from 6 May
    c = referred(w1, date(2025, 4, 1))
    course(w1, c, date(2025, 5, 13), first=(14, 12), last=(8, 6), ended=date(2025, 5, 24))
    d = referred(w2, date(2025, 4, 1))
    seen(w2, d, date(2025, 5, 14))
    e = referred(w2, date(2025, 4, 1), consented=False)
    course(w2, e, date(2025, 4, 7), first=(14, 12), last=(8, 6), ended=date(2025, 5, 2))
    db.session.commit()

    scope = scope_of(workers, months=(date(2025, 5, 1),))
    # Weeks overlapping May: Mondays 28 Apr to 26 May, counted on Sundays 4 May to 1 Jun.
    assert scope.weeks == tuple(date(2025, 4, 28) + timedelta(weeks=n) for n in range(5))
    load = weekly_load(scope)
    assert load.by_worker[w1.id] == [1, 2, 3, 2, 2]  # c active on 18 May only
    assert load.by_worker[w2.id] == [0, 0, 1, 1, 1]  # e ended 2 May: never counted on a Sunday
    assert load.by_worker[workers[2].id] == [0, 0, 0, 0, 0]
    assert finished_by_worker(scope) == {w1.id: 1, w2.id: 1}  # e has no consent: counted
    figures = load_figures(scope, load)
    assert sorted(figures.worker_weeks) == [1, 1, 1, 1, 2, 2, 2, 3]
    assert figures.by_week == [[1], [2], [3, 1], [2, 1], [2, 1]]
    assert figures.workers == 2
    assert figures.finished_a_year == []  # 5 weeks: nobody has the 13 to annualise


# 4. Outcomes against load ----------------------------------------------------------------


def test_outcomes_band_by_the_workers_average_load_over_the_course(workers: list[User]) -> None:
    busy, quiet, _ = workers
    start = date(2025, 4, 14)
    for n in range(4):  # 4 other cases active from 14 Apr; one without consent still counts
        other = referred(busy, date(2025, 4, 1), consented=n > 0)
        seen(busy, other, start)
    f1 = referred(busy, date(2025, 4, 1))
    seen(busy, f1, start, scores=(18, 15))
    seen(busy, f1, start + timedelta(days=7), attendance=AttendanceCode.DID_NOT_ATTEND)
    seen(busy, f1, start + timedelta(days=14), scores=(6, 5))
    end(busy, f1, date(2025, 5, 21))
    f2 = referred(quiet, date(2025, 4, 1))
    course(
        quiet,
        f2,
        start,
        first=(12, 10),
        last=(13, 11),
        ended=date(2025, 5, 21),
        reason=DischargeReason.DROPPED_OUT,
    )
    db.session.commit()

    # Cap 4: bands "up to 4" and "over 4". The busy worker held 5 active cases at the end
    # of the weeks of 14 Apr to 12 May and 4 in the week of 19 May: (5 x 5 + 4) / 6 = 4.8,
    # over 4 (without the non-consented case it would be 3.8). The quiet worker: 5/6.
    scope = scope_of(workers, cap=4)
    load = weekly_load(scope, since=start)
    found = outcomes_by_load(scope, load)
    assert found == [
        BandOutcomes(
            finished=1,
            at_caseness=1,
            reliably_recovered=0,
            reliably_improved=0,
            recorded_contacts=2,
            did_not_attend=0,
            workers=1,
        ),
        BandOutcomes(
            finished=1,
            at_caseness=1,
            reliably_recovered=1,
            reliably_improved=1,
            recorded_contacts=3,
            did_not_attend=1,
            workers=1,
        ),
    ]
    assert found[1].dna_rate == Tally(1, 3, 1)

    # Endings band by the load in the week of discharge: both workers were at 4 or below
    # at the end of the week of 19 May (busy: 4 once f1 had ended; quiet: 0).
    ends = endings(scope, load)
    assert ends.unplanned_by_load == [Tally(1, 2, 2), Tally(0, 0, 0)]
    assert ends.by_reason[DischargeReason.DROPPED_OUT] == Tally(1, 2)
    assert ends.unplanned_by_month[MAY] == Tally(1, 2)


def test_endings_by_reason_and_month(workers: list[User]) -> None:
    w = workers[0]
    for on, reason in (
        (date(2025, 2, 3), DischargeReason.COMPLETED),
        (date(2025, 2, 4), DischargeReason.DECLINED),
        (date(2025, 3, 5), DischargeReason.DROPPED_OUT),
        (date(2025, 3, 6), DischargeReason.STEPPED_UP),
        (date(2024, 12, 30), DischargeReason.DROPPED_OUT),  # before the period
    ):
        e = referred(w, on - timedelta(days=20))
        end(w, e, on, reason)
    db.session.commit()
    scope = scope_of(workers)
    found = endings(scope, weekly_load(scope))
    assert found.by_reason[DischargeReason.COMPLETED] == Tally(1, 4)
    assert found.by_reason[DischargeReason.DROPPED_OUT] == Tally(1, 4)
    assert found.by_reason[DischargeReason.SIGNPOSTED] == Tally(0, 4)
    assert found.unplanned_by_month[FEB] == Tally(1, 2)  # declined
    assert found.unplanned_by_month[MAR] == Tally(1, 2)  # dropped out
    assert found.unplanned_by_month[JAN] == Tally(0, 0)


# 5. Worker strain ------------------------------------------------------------------------------


def note(
    author: User,
    *,
    rating: int | None,
    caseload: int,
    day: date,
    episode: Episode | None = None,
    themes: tuple[ReflectiveTheme, ...] = (ReflectiveTheme.EMOTIONAL_IMPACT,),
) -> ReflectiveNote:
    """A note written on a day with the author's caseload then (stored with the note)."""
    written = write_note(
        author,
        text="A private reflection that no lead may read.",
        themes=themes,
        episode_id=None if episode is None else episode.id,
        manageability=rating,
    )
    written.written_at = noon(day)
    written.caseload_at_writing = caseload
    rebuild_risk_cases_at_writing([written])
    return written


def test_manageability_and_themes_by_caseload_when_writing(workers: list[User]) -> None:
    a, b, c = workers
    refused = referred(a, date(2025, 3, 1), consented=False)
    agreed = referred(b, date(2025, 3, 1))
    note(a, rating=4, caseload=12, day=date(2025, 3, 3))
    note(b, rating=5, caseload=29, day=date(2025, 3, 4), episode=agreed)
    note(
        c,
        rating=3,
        caseload=0,
        day=date(2025, 3, 5),
        themes=(ReflectiveTheme.ROLE_CONFUSION, ReflectiveTheme.DATA_COLLECTION),
    )
    note(c, rating=None, caseload=20, day=date(2025, 3, 6))
    note(a, rating=1, caseload=46, day=date(2025, 4, 1))
    note(a, rating=2, caseload=40, day=date(2025, 4, 2))
    note(a, rating=1, caseload=50, day=date(2025, 4, 3), episode=refused)  # left out
    note(b, rating=1, caseload=50, day=date(2024, 12, 31))  # before the period
    db.session.commit()

    found = strain(scope_of(workers))
    # Under 30: ratings 4, 5, 3 from three authors; the unrated note counts for themes.
    assert found.rating_by_load[0] == Sums(3, 12.0, 50.0, 3)
    assert found.notes_by_load[0] == Sums(4, 0.0, 0.0, 3)
    assert found.rating_by_load[1] == Sums()
    assert found.rating_by_load[2] == Sums(1, 2.0, 4.0, 1)  # 40-45
    assert found.rating_by_load[3] == Sums(1, 1.0, 1.0, 1)  # over 45
    assert found.themes_by_load[(0, ReflectiveTheme.EMOTIONAL_IMPACT)] == 3
    assert found.themes_by_load[(0, ReflectiveTheme.ROLE_CONFUSION)] == 1
    assert found.themes_by_load[(3, ReflectiveTheme.EMOTIONAL_IMPACT)] == 1


def test_risk_cases_when_written_are_rebuilt_from_the_history(workers: list[User]) -> None:
    w = workers[0]
    r1 = referred(w, date(2025, 4, 1))
    seen(w, r1, date(2025, 5, 5), item9=2)  # open throughout
    r2 = referred(w, date(2025, 4, 1))
    seen(w, r2, date(2025, 5, 6), risk=RiskLevel.MODERATE)
    seen(w, r2, date(2025, 5, 20), risk=RiskLevel.LOW)  # closed on 20 May
    r3 = referred(w, date(2025, 4, 1))
    seen(w, r3, date(2025, 5, 7), item9=1)
    seen(w, r3, date(2025, 5, 12), item9=0)  # closed on 12 May
    r4 = referred(w, date(2025, 4, 1), consented=False)  # worker load: counts
    seen(w, r4, date(2025, 5, 8), item9=1)
    calm = referred(w, date(2025, 4, 1))
    seen(w, calm, date(2025, 5, 5))
    other = referred(workers[1], date(2025, 4, 1))
    seen(workers[1], other, date(2025, 5, 5), item9=3)  # someone else's case
    db.session.commit()

    moments = [noon(date(2025, 5, d)) for d in (4, 10, 15, 25)]
    assert risk_cases_when_written([(w.id, m) for m in moments]) == [0, 4, 3, 2]
    assert risk_cases_when_written([(workers[1].id, moments[1])]) == [1]

    for m, rating in zip(moments, (5, 4, 3, 2), strict=True):
        note(w, rating=rating, caseload=5, day=m.date())
    db.session.commit()
    by_risk = strain(scope_of(workers)).rating_by_risk
    assert by_risk[0] == Sums(4, 14.0, 54.0, 1)  # all under 5 risk cases


def test_a_note_keeps_the_risk_cases_held_when_written(workers: list[User]) -> None:
    w = workers[0]
    for _ in range(6):
        seen(w, referred(w, date(2025, 4, 1)), date(2025, 5, 5), item9=2)
    calm = referred(w, date(2025, 4, 1))
    seen(w, calm, date(2025, 5, 5))
    db.session.commit()
    # Written now: counted from the summaries, six active cases with risk open.
    now = write_note(w, text="Heavy week.", themes=(ReflectiveTheme.EMOTIONAL_IMPACT,))
    assert now.risk_cases_at_writing == 6
    # Back-dated to before any contact: rebuilt from the history, none then.
    early = note(w, rating=2, caseload=7, day=date(2025, 4, 20))
    assert early.risk_cases_at_writing == 0
    late = note(w, rating=1, caseload=7, day=date(2025, 5, 10))
    assert late.risk_cases_at_writing == 6
    # The findings read the stored count; a note without one (written before it was
    # recorded) is rebuilt from the history.
    late.risk_cases_at_writing = None
    db.session.commit()
    by_risk = strain(scope_of(workers)).rating_by_risk
    assert by_risk[0] == Sums(1, 2.0, 4.0, 1)  # the early note: under 5
    assert by_risk[1] == Sums(1, 1.0, 1.0, 1)  # the late one, rebuilt: 5-9


# 6. Data collection ---------------------------------------------------------------------------


def test_measures_at_contacts_paired_scores_and_reasons(workers: list[User]) -> None:
    w = workers[0]
    e = referred(w, date(2025, 1, 2))
    seen(w, e, date(2025, 1, 6))  # both
    seen(w, e, date(2025, 1, 13), measures="phq9")  # PHQ-9 only
    seen(w, e, date(2025, 1, 20), measures="none", reason=NotCollectedReason.NO_TIME)
    seen(w, e, date(2025, 1, 27), attendance=AttendanceCode.DID_NOT_ATTEND)  # not attended
    seen(w, e, date(2025, 2, 3), measures="none", reason=NotCollectedReason.DECLINED)
    paired = referred(w, date(2025, 2, 1))
    course(w, paired, date(2025, 2, 3), first=(14, 12), last=(9, 7), ended=date(2025, 2, 28))
    unpaired = referred(w, date(2025, 2, 1))
    seen(w, unpaired, date(2025, 2, 3))
    seen(w, unpaired, date(2025, 2, 10), measures="phq9")
    end(w, unpaired, date(2025, 2, 28))
    db.session.commit()

    found = data_collection(scope_of(workers))
    assert found.both_by_month[JAN] == Tally(1, 3)
    # February: e's declined contact, paired's two, unpaired's two (one PHQ-9 only).
    assert found.both_by_month[FEB] == Tally(3, 5)
    assert found.paired_by_month[FEB] == Tally(1, 2)
    assert found.reasons[NotCollectedReason.NO_TIME] == Tally(1, 8)
    assert found.reasons[NotCollectedReason.DECLINED] == Tally(1, 8)
    assert found.reasons[NotCollectedReason.OTHER] == Tally(0, 8)


# 9. Supervision ---------------------------------------------------------------------------------


def session(
    supervisor: User,
    worker: User,
    start: datetime,
    cases: list[tuple[Episode, int | None]],
    *,
    ended: bool = True,
) -> SupervisionSession:
    """A supervision session with (episode, seconds on screen or None if never opened)."""
    record = SupervisionSession(
        supervisor_id=supervisor.id,
        worker_id=worker.id,
        started_at=start,
        ended_at=start + timedelta(hours=1) if ended else None,
    )
    record.cases = [
        SupervisionSessionCase(
            episode_id=episode.id,
            position=i + 1,
            first_opened_at=None if seconds is None else start,
            seconds=seconds or 0,
        )
        for i, (episode, seconds) in enumerate(cases)
    ]
    db.session.add(record)
    return record


def review(supervisor: User, episode: Episode, at: datetime) -> None:
    db.session.add(
        SupervisionReview(
            episode_id=episode.id,
            supervisor_id=supervisor.id,
            reviewed_on=at.date(),
            decision=SupervisionDecision.CONTINUE,
            created_at=at,
        )
    )


def test_supervision_minutes_cases_and_risk_reviews(workers: list[User], user_factory: Any) -> None:
    sup = user_factory(Role.SUPERVISOR, team="North team")
    w = workers[0]
    x = referred(w, date(2025, 4, 1))
    y = referred(w, date(2025, 4, 1))
    hidden = referred(w, date(2025, 4, 1), consented=False)
    session(sup, w, noon(date(2025, 5, 6)), [(x, 120), (y, None), (hidden, 300)])
    session(sup, w, noon(date(2025, 5, 13)), [(x, 60), (y, 180)])
    session(sup, w, noon(date(2025, 5, 20)), [(hidden, 600)])  # only non-consented: left out
    session(sup, w, noon(date(2025, 5, 27)), [(x, 900)], ended=False)  # still open
    seen(w, x, date(2025, 5, 5), item9=1)
    review(sup, x, noon(date(2025, 5, 10)))  # 5 days later: within 7
    seen(w, y, date(2025, 5, 12), risk=RiskLevel.HIGH)
    review(sup, y, noon(date(2025, 5, 19), 13))  # 7 days and an hour: too late
    review(sup, y, noon(date(2025, 5, 11)))  # before the signal: does not count
    seen(w, hidden, date(2025, 5, 12), item9=2)  # no consent
    db.session.commit()

    found = supervision(scope_of(workers))
    may = found.by_month[MAY]
    assert (may.sessions, may.cases, may.discussed, may.seconds) == (2, 4, 3, 360)
    assert may.seconds_squared == 120**2 + 60**2 + 180**2
    assert may.minutes_per_case == Sums(3, 6.0, (120**2 + 60**2 + 180**2) / 3600, 1)
    assert found.reviewed_by_month[MAY] == Tally(1, 2, 1)
    assert found.total.sessions == 2


# The consent property --------------------------------------------------------------------------


def client_figures(found: Any) -> tuple[Any, ...]:
    """Every figure built from clients' records (worker load aside: it counts every case)."""
    return (
        found.risk,
        found.referrals,
        found.complex_outcomes,
        found.strain.rating_by_load,
        found.strain.notes_by_load,
        found.strain.themes_by_load,
        found.data_collection,
        found.endings.by_reason,
        found.endings.unplanned_by_month,
        found.supervision,
    )


def consenting_service(workers: list[User], supervisor: User) -> list[Episode]:
    """A small service of consenting clients touching every section."""
    w1, w2, w3 = workers
    episodes = []
    for n, worker in enumerate((w1, w2, w3, w1, w2)):
        e = referred(
            worker,
            date(2025, 1 + n, 3),
            source=list(ReferralSource)[n % 4],
            expectation="Counselling" if n % 2 else GUIDED,
            factors=[ComplexityFactor.HOUSING] if n % 3 == 0 else [],
        )
        seen(worker, e, date(2025, 1 + n, 6), item9=n % 2, contact_type=ContactType.ASSESSMENT)
        course(
            worker,
            e,
            date(2025, 1 + n, 13),
            first=(18, 15),
            last=(6 + n, 5),
            ended=date(2025, 1 + n, 28) if n < 4 else None,
        )
        note(worker, rating=1 + n, caseload=10 * n, day=date(2025, 1 + n, 20), episode=e)
        episodes.append(e)
    note(w3, rating=3, caseload=33, day=date(2025, 3, 21))  # unlinked: counts
    session(supervisor, w1, noon(date(2025, 5, 6)), [(episodes[4], 200), (episodes[3], 100)])
    review(supervisor, episodes[4], noon(date(2025, 5, 10)))
    db.session.commit()
    return episodes


KINDS = ("referral", "risky", "finished", "note", "session", "review", "dna", "no_measures")


def add_unconsented(workers: list[User], supervisor: User, kind: str, month: int, who: int) -> None:
    """One non-consented client with records of a kind, in a month of the period."""
    worker = workers[who]
    on = date(2025, 1 + month, 2)
    e = referred(
        worker,
        on,
        consented=False,
        source=list(ReferralSource)[month % 4],
        expectation="Counselling",
        factors=[ComplexityFactor.TRAUMA],
    )
    if kind == "risky":
        seen(worker, e, on + timedelta(days=1), item9=3, risk=RiskLevel.HIGH)
    elif kind == "finished":
        course(
            worker,
            e,
            on + timedelta(days=1),
            first=(20, 18),
            last=(4, 3),
            ended=on + timedelta(days=20),
            reason=DischargeReason.DROPPED_OUT,
        )
    elif kind == "note":
        note(
            worker,
            rating=1,
            caseload=3,
            day=on + timedelta(days=2),
            episode=e,
            themes=(ReflectiveTheme.RISK_AND_COMPLEXITY,),
        )
    elif kind in ("session", "review"):
        seen(worker, e, on + timedelta(days=1), item9=2)
        if kind == "session":
            session(supervisor, worker, noon(on + timedelta(days=3)), [(e, 500)])
        else:
            review(supervisor, e, noon(on + timedelta(days=3)))
    elif kind == "dna":
        seen(worker, e, on + timedelta(days=1), attendance=AttendanceCode.DID_NOT_ATTEND)
    elif kind == "no_measures":
        seen(worker, e, on + timedelta(days=1), measures="none", reason=NotCollectedReason.DECLINED)


@pytest.fixture
def supervisor(user_factory: Any) -> User:
    return user_factory(Role.SUPERVISOR, team="North team")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    additions=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(0, 4), st.integers(0, 2)),
        min_size=1,
        max_size=6,
    )
)
def test_non_consented_records_change_no_client_figure(
    workers: list[User], supervisor: User, additions: list[tuple[str, int, int]]
) -> None:
    # Hypothesis runs every example on the same fixtures: the consenting service is built
    # (and committed) once, and each example's additions are rolled back.
    if not db.session.scalar(select(func.count(Episode.id))):
        consenting_service(workers, supervisor)
    scope = scope_of(workers)
    before = client_figures(service_findings(scope))
    try:
        for kind, month, who in additions:
            add_unconsented(workers, supervisor, kind, month, who)
        db.session.flush()
        db.session.expire_all()
        assert client_figures(service_findings(scope)) == before
    finally:
        db.session.rollback()


def test_worker_load_is_the_one_exception(workers: list[User], supervisor: User) -> None:
    consenting_service(workers, supervisor)
    scope = scope_of(workers)
    before = service_findings(scope)
    w = workers[0]
    for n in range(3):
        e = referred(w, date(2025, 2, 1), consented=False)
        seen(w, e, date(2025, 2, 3 + n))
    db.session.commit()
    after = service_findings(scope)
    assert client_figures(after) == client_figures(before)
    # Three more active cases every week since February for the first worker.
    assert sum(after.load.worker_weeks) > sum(before.load.worker_weeks)
    assert len(after.load.worker_weeks) >= len(before.load.worker_weeks)


def test_withdrawing_consent_takes_effect_on_the_next_query(
    workers: list[User], supervisor: User
) -> None:
    episodes = consenting_service(workers, supervisor)
    scope = scope_of(workers)
    before = service_findings(scope)
    set_consent(workers[0], episodes[0].client, consented=False, note="Withdrew on the phone")
    db.session.commit()
    after = service_findings(scope)
    assert after.referrals.complex_total == Tally(
        before.referrals.complex_total.numerator - 1, before.referrals.complex_total.denominator - 1
    )
    assert after.risk.total.denominator == before.risk.total.denominator - 1
    assert (
        sum(s.n for s in after.strain.rating_by_load)
        == sum(s.n for s in before.strain.rating_by_load) - 1
    )
    set_consent(workers[0], episodes[0].client, consented=True, note="Agreed again")
    db.session.commit()
    assert client_figures(service_findings(scope)) == client_figures(before)


def test_a_team_scope_counts_its_own_workers_only(workers: list[User], user_factory: Any) -> None:
    south = user_factory(Role.WORKER, team="South team")
    for worker in (workers[0], south):
        e = referred(worker, date(2025, 3, 3))
        seen(worker, e, date(2025, 3, 4), item9=1)
    db.session.commit()
    team = Scope(months=MONTHS, today=TODAY, worker_ids=(south.id,), team_only=True)
    assert risk_at_assessment(team).total == Tally(1, 1)
    nobody = Scope(months=MONTHS, today=TODAY, worker_ids=(), team_only=True)
    assert risk_at_assessment(nobody).total == Tally(0, 0)
    assert risk_at_assessment(scope_of([])).total == Tally(2, 2)
    assert NOW.date() == TODAY
