"""The summary columns reports group by agree with the pure domain rules (issue 7, section 4).

``refresh_summary`` stores, in the same transaction as each contact and discharge,
the outcome booleans, "active", the UK dates of the first treatment contacts and
the wait in days; ``discharged_outcomes`` counts over them with one SQL aggregate.
These tests build episodes through the services and check the stored columns,
and the SQL counts, against the pure rules applied to an independent record of
what was logged (never the summary read back), so a wrong column fails here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from caseload.domain.codes import (
    AttendanceCode,
    ContactType,
    DischargeReason,
    NotCollectedReason,
    RiskLevel,
    Role,
)
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    episode_outcome_from_summary,
    summarise_episode,
)
from caseload.domain.flags import has_open_risk
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.domain.outcomes import EpisodeOutcome, ServiceRates, service_rates
from caseload.extensions import db
from caseload.models import Episode, EpisodeSummary, User
from caseload.reporting.outcomes import discharged_outcomes
from caseload.services.clients import set_consent
from caseload.services.episodes import discharge
from tests.services.factories import NOW, TODAY, log, log_scores, phq9, register

#: The widest referral-to-today span the property draws (crosses both clock changes).
MAX_DAYS_BACK = 300
#: A period covering every discharge the tests make.
START, END = TODAY - timedelta(days=MAX_DAYS_BACK + 1), TODAY

#: Attended codes drawn more often than the rest, so that episodes are often paired
#: and finished (small examples rarely are with every code equally likely).
ATTENDANCE = [
    AttendanceCode.ATTENDED_ON_TIME,
    AttendanceCode.ATTENDED_ON_TIME,
    AttendanceCode.ATTENDED_ON_TIME,
    AttendanceCode.ARRIVED_LATE_SEEN,
    AttendanceCode.ARRIVED_LATE_SEEN,
    AttendanceCode.DID_NOT_ATTEND,
    AttendanceCode.CANCELLED_BY_PATIENT,
    AttendanceCode.CANCELLED_BY_PROVIDER,
]
CONTACT_TYPES = [
    ContactType.ASSESSMENT,
    ContactType.TREATMENT,
    ContactType.TREATMENT,
    ContactType.ASSESSMENT_AND_TREATMENT,
]
#: Minutes past UTC midnight where the UK date differs from the UTC date in summer time.
NEAR_MIDNIGHT = [0, 59, 23 * 60, 23 * 60 + 30, 23 * 60 + 59]
#: The UK calendar, stated here rather than taken from the code under test.
UK = ZoneInfo("Europe/London")
#: PHQ-9 items 1-8 add up to at most 24: a higher total needs item 9 (the risk item).
PHQ9_WITHOUT_ITEM9 = 24


def uk_date(moment: datetime) -> date:
    """The UK calendar day of an aware moment."""
    return moment.astimezone(UK).date()


@pytest.fixture
def worker(user_factory: Any) -> User:
    """A worker in the North team (committed, so it outlives each example's savepoint)."""
    return user_factory(Role.WORKER, team="North team")


# -- What the test logs, kept independently of the database ---------------------------


#: A discharge with risk or a red flag open needs a risk plan (services.episodes.discharge).
RISK_PLAN = "Safety plan reviewed; GP informed; crisis numbers given."


@dataclass(frozen=True)
class PlannedContact:
    """One contact to log, as the test knows it."""

    occurred_at: datetime
    attendance: AttendanceCode
    contact_type: ContactType
    phq9: int | None = None
    item9: int = 0
    gad7: int | None = None
    not_collected: NotCollectedReason | None = None
    risk_level: RiskLevel | None = None

    def facts(self, contact_id: int) -> ContactFacts:
        """The pure view of this contact, from the plan alone."""
        totals = {m: t for m, t in ((PHQ9, self.phq9), (GAD7, self.gad7)) if t is not None}
        return ContactFacts(
            contact_id=contact_id,
            occurred_at=self.occurred_at,
            contact_type=self.contact_type,
            attendance=self.attendance,
            totals=totals,
            risk_answers={} if self.phq9 is None else {PHQ9: self.item9},
            risk_level=self.risk_level,
            measures_not_collected=self.not_collected is not None,
        )

    def log(self, worker: User, episode: Episode) -> None:
        """Log it through the contact service."""
        kwargs: dict[str, Any] = {}
        if self.phq9 is not None:
            kwargs["phq9"] = phq9(self.phq9, item9=self.item9)
        if self.gad7 is not None:
            kwargs["gad7_total"] = self.gad7
        if self.not_collected is not None:
            kwargs["not_collected_reason"] = self.not_collected
            if self.not_collected.needs_note:
                kwargs["not_collected_note"] = "Client had to leave early."
        if self.risk_level is not None:
            kwargs["risk_level"] = self.risk_level
            if self.risk_level in (RiskLevel.MODERATE, RiskLevel.HIGH):
                kwargs["risk_action"] = "Safety plan agreed; GP informed."
        log(
            worker,
            episode,
            self.occurred_at,
            attendance=self.attendance,
            contact_type=self.contact_type,
            **kwargs,
        )


@dataclass(frozen=True)
class PlannedEpisode:
    """One episode to build: referral, contacts in logging order, and an optional discharge."""

    referral_date: date
    contacts: tuple[PlannedContact, ...]
    discharged_on: date | None = None
    reason: DischargeReason = DischargeReason.COMPLETED

    def summary_facts(self) -> EpisodeSummaryFacts:
        """The pure summary of the planned contacts (logging order breaks time ties, as
        contact ids do)."""
        return summarise_episode(c.facts(i) for i, c in enumerate(self.contacts))

    def outcome(self) -> EpisodeOutcome:
        """The pure national outcome of the plan."""
        return episode_outcome_from_summary(
            self.summary_facts(), ended=self.discharged_on is not None
        )

    def first_treatment_at(self, nth: int = 0) -> datetime | None:
        """The nth attended treatment contact's time, from the plan alone."""
        treatment = sorted(
            (
                (c.occurred_at, i)
                for i, c in enumerate(self.contacts)
                if c.attendance.attended and c.contact_type.is_treatment
            )
        )
        return treatment[nth][0] if len(treatment) > nth else None

    def build(self, worker: User, *, consented: bool = True) -> Episode:
        """Register, log and discharge through the services."""
        episode = register(worker, referral_date=self.referral_date, consented=consented)
        for contact in self.contacts:
            contact.log(worker, episode)
        if self.discharged_on is not None:
            discharge(
                worker,
                episode,
                reason=self.reason,
                discharged_on=self.discharged_on,
                note="Closed.",
                today=TODAY,
                risk_confirmed=True,  # kept only when risk or a red flag is open
                risk_plan=RISK_PLAN,
            )
        return episode


# -- Strategies -----------------------------------------------------------------------

RISK_SIGNAL_FROM = get_measure(PHQ9).risk_item_signal_from


def scored(measure_id: str, maximum: int, trend: str) -> st.SearchStrategy[int | None]:
    """A total, missing one time in four. ``any``: from 0 to ``maximum``, often just either
    side of caseness (where recovery is decided); ``high`` / ``low``: at caseness or above /
    below it, so that an improving episode often recovers."""
    cutoff = get_measure(measure_id).caseness_cutoff
    assert cutoff is not None
    total = {
        "any": st.integers(0, maximum) | st.sampled_from([cutoff - 2, cutoff - 1, cutoff]),
        "high": st.integers(cutoff, maximum),
        "low": st.integers(0, cutoff - 1),
    }[trend]
    return st.sampled_from([True, True, True, False]).flatmap(
        lambda asked: total if asked else st.none()
    )


@st.composite
def planned_contacts(draw: st.DrawFn, referral_date: date, improving: bool) -> PlannedContact:
    days_back = (TODAY - referral_date).days
    offset = draw(st.integers(0, days_back))
    day = referral_date + timedelta(days=offset)
    minute = draw(st.integers(0, 24 * 60 - 1) | st.sampled_from(NEAR_MIDNIGHT))
    # From UTC midnight of a day on or after the referral, the UK date is never earlier.
    occurred_at = min(datetime.combine(day, time(0), tzinfo=UTC) + timedelta(minutes=minute), NOW)
    attendance = draw(st.sampled_from(ATTENDANCE))
    contact_type = draw(st.sampled_from(CONTACT_TYPES))
    if not attendance.attended:
        return PlannedContact(occurred_at, attendance, contact_type)
    # An improving episode scores high in the first half of its time and low after.
    trend = ("low" if 2 * offset > days_back else "high") if improving else "any"
    phq = draw(scored(PHQ9, 27, trend))
    gad = draw(scored(GAD7, 21, trend))
    item9 = 0 if phq is None else draw(st.integers(max(0, phq - PHQ9_WITHOUT_ITEM9), min(3, phq)))
    reasons = st.sampled_from(list(NotCollectedReason))
    if phq is None and gad is None:
        not_collected = draw(reasons)
    elif phq is None or gad is None:
        not_collected = draw(st.none() | reasons)
    else:
        not_collected = None
    levels = st.sampled_from(list(RiskLevel))
    risk_level = draw(levels if item9 >= RISK_SIGNAL_FROM else st.none() | levels)
    return PlannedContact(
        occurred_at,
        attendance,
        contact_type,
        phq9=phq,
        item9=item9,
        gad7=gad,
        not_collected=not_collected,
        risk_level=risk_level,
    )


@st.composite
def planned_episodes(draw: st.DrawFn) -> PlannedEpisode:
    referral_date = TODAY - timedelta(days=draw(st.integers(0, MAX_DAYS_BACK)))
    improving = draw(st.booleans())
    contacts = tuple(draw(st.lists(planned_contacts(referral_date, improving), max_size=6)))
    if not draw(st.booleans()):
        return PlannedEpisode(referral_date, contacts)
    # On or after the referral and the last attended contact (UK date), never after today.
    earliest = max(
        [referral_date, *(uk_date(c.occurred_at) for c in contacts if c.attendance.attended)]
    )
    discharged_on = earliest + timedelta(days=draw(st.integers(0, (TODAY - earliest).days)))
    return PlannedEpisode(
        referral_date, contacts, discharged_on, draw(st.sampled_from(list(DischargeReason)))
    )


# -- Checks ---------------------------------------------------------------------------


def stored_summary(episode_id: int) -> EpisodeSummary:
    """The summary row as the database holds it (flushed, then read again)."""
    db.session.flush()
    db.session.expire_all()
    summary = db.session.scalar(
        select(EpisodeSummary).where(EpisodeSummary.episode_id == episode_id)
    )
    assert summary is not None
    return summary


def assert_columns_follow_the_rules(plan: PlannedEpisode, summary: EpisodeSummary) -> None:
    """Every reporting column equals the pure rules applied to the plan."""
    facts = plan.summary_facts()
    outcome = plan.outcome()
    stored = {
        "finished_treatment": summary.finished_treatment,
        "caseness_at_start": summary.caseness_at_start,
        "paired": summary.paired,
        "recovered": summary.recovered,
        "reliable_improvement": summary.reliably_improved,
        "reliable_deterioration": summary.reliably_deteriorated,
        "reliable_recovery": summary.reliably_recovered,
    }
    assert stored == {name: getattr(outcome, name) for name in stored}
    is_open = plan.discharged_on is None
    assert summary.is_active == (is_open and facts.treatment_contacts > 0)
    assert summary.risk_open == has_open_risk(facts)

    first_at, second_at = plan.first_treatment_at(0), plan.first_treatment_at(1)
    first_on = None if first_at is None else uk_date(first_at)
    second_on = None if second_at is None else uk_date(second_at)
    assert summary.first_treatment_on == first_on
    assert summary.second_treatment_on == second_on
    assert summary.days_to_first_treatment == (
        None if first_on is None else (first_on - plan.referral_date).days
    )

    for measure_id in (PHQ9, GAD7):
        row = summary.measure(measure_id)
        stored_scores = (
            (None, None, None)
            if row is None
            else (row.first_score, row.last_score, row.latest_score)
        )
        assert stored_scores == (
            facts.first(measure_id),
            facts.last(measure_id),
            facts.latest(measure_id),
        ), measure_id


def episode_count() -> int:
    """Episodes in the whole database."""
    return db.session.scalar(select(func.count(Episode.id))) or 0


# -- 1. The property ------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plans=st.lists(planned_episodes(), min_size=1, max_size=6))
def test_sql_counts_equal_service_rates_over_the_same_episodes(
    worker: User, plans: list[PlannedEpisode]
) -> None:
    # The app fixture is shared by every example: each example runs in a savepoint that
    # is rolled back at the end, so it starts from an empty clinical record.
    assert episode_count() == 0
    savepoint = db.session.begin_nested()
    try:
        built = [(plan, plan.build(worker)) for plan in plans]
        ids = [(plan, episode.id) for plan, episode in built]

        expected = service_rates(plan.outcome() for plan in plans if plan.discharged_on is not None)
        assert discharged_outcomes(start=START, end=END) == expected

        for plan, episode_id in ids:
            assert_columns_follow_the_rules(plan, stored_summary(episode_id))
    finally:
        savepoint.rollback()
        db.session.expire_all()
    assert episode_count() == 0


# -- 2. A hand-built service with known outcomes --------------------------------------


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def contact(
    when: datetime,
    phq: int | None,
    gad: int | None,
    *,
    kind: ContactType = ContactType.TREATMENT,
    item9: int = 0,
    attendance: AttendanceCode = AttendanceCode.ATTENDED_ON_TIME,
    risk_level: RiskLevel | None = None,
) -> PlannedContact:
    """A planned contact, with the reason "not collected" when no score is given."""
    not_collected = (
        NotCollectedReason.NO_TIME if attendance.attended and phq is None and gad is None else None
    )
    return PlannedContact(
        when,
        attendance,
        kind,
        phq9=phq,
        item9=item9,
        gad7=gad,
        not_collected=not_collected,
        risk_level=risk_level,
    )


#: Recovered (11/9 -> 8/6: both under caseness), but neither change is reliable.
#: Its first treatment contact is 23:30 UTC on 14 April, 00:30 on 15 April in the UK.
RECOVERED = PlannedEpisode(
    date(2025, 4, 1),
    (
        contact(at(date(2025, 4, 8)), 11, 9, kind=ContactType.ASSESSMENT),
        contact(at(date(2025, 4, 14), 23, 30), 10, 8),
        contact(at(date(2025, 5, 6), 9), 8, 6),
    ),
    discharged_on=date(2025, 5, 20),
)
#: Reliable deterioration on GAD-7 (6 -> 12) with no reliable change on PHQ-9 (12 -> 9):
#: the last PHQ-9 is under caseness, but the GAD-7 is not, so it has not recovered.
DETERIORATED = PlannedEpisode(
    date(2025, 4, 7),
    (
        contact(at(date(2025, 4, 10)), 12, 6),
        contact(at(date(2025, 4, 24)), 11, 9),
        contact(at(date(2025, 5, 8)), 9, 12),
    ),
    discharged_on=date(2025, 5, 15),
    reason=DischargeReason.STEPPED_UP,
)
#: Below caseness at the start (6/5), finished and paired; a DNA after the last session.
NOT_AT_CASENESS = PlannedEpisode(
    date(2025, 4, 14),
    (
        contact(at(date(2025, 4, 14), 15), 6, 5, kind=ContactType.ASSESSMENT_AND_TREATMENT),
        contact(at(date(2025, 4, 28)), 4, 3),
        contact(at(date(2025, 5, 12)), None, None, attendance=AttendanceCode.DID_NOT_ATTEND),
    ),
    discharged_on=date(2025, 5, 19),
    reason=DischargeReason.DROPPED_OUT,
)
#: Open and in treatment, improving (15/12 -> 9/7), with PHQ-9 item 9 answered 1 last time.
OPEN = PlannedEpisode(
    date(2025, 5, 1),
    (
        contact(at(date(2025, 5, 9)), 15, 12),
        contact(at(date(2025, 5, 23)), 9, 7, item9=1, risk_level=RiskLevel.LOW),
    ),
)


def build_service(worker: User, *, consented: bool = True) -> dict[str, int]:
    """The four hand-built episodes, by name, as episode ids."""
    plans = {
        "recovered": RECOVERED,
        "deteriorated": DETERIORATED,
        "not_at_caseness": NOT_AT_CASENESS,
        "open": OPEN,
    }
    ids = {name: plan.build(worker, consented=consented).id for name, plan in plans.items()}
    db.session.commit()
    return ids


COLUMNS = (
    "is_active",
    "finished_treatment",
    "caseness_at_start",
    "paired",
    "recovered",
    "reliably_improved",
    "reliably_deteriorated",
    "reliably_recovered",
    "risk_open",
    "first_treatment_on",
    "second_treatment_on",
    "days_to_first_treatment",
)


def columns(episode_id: int) -> dict[str, Any]:
    """The reporting columns of one episode's stored summary."""
    summary = stored_summary(episode_id)
    return {name: getattr(summary, name) for name in COLUMNS}


def test_hand_built_episodes_store_known_columns_and_counts(worker: User) -> None:
    ids = build_service(worker)

    assert columns(ids["recovered"]) == {
        "is_active": False,
        "finished_treatment": True,
        "caseness_at_start": True,
        "paired": True,
        "recovered": True,
        "reliably_improved": False,
        "reliably_deteriorated": False,
        "reliably_recovered": False,
        "risk_open": False,
        "first_treatment_on": date(2025, 4, 15),
        "second_treatment_on": date(2025, 5, 6),
        "days_to_first_treatment": 14,
    }
    assert columns(ids["deteriorated"]) == {
        "is_active": False,
        "finished_treatment": True,
        "caseness_at_start": True,
        "paired": True,
        "recovered": False,
        "reliably_improved": False,
        "reliably_deteriorated": True,
        "reliably_recovered": False,
        "risk_open": False,
        "first_treatment_on": date(2025, 4, 10),
        "second_treatment_on": date(2025, 4, 24),
        "days_to_first_treatment": 3,
    }
    assert columns(ids["not_at_caseness"]) == {
        "is_active": False,
        "finished_treatment": True,
        "caseness_at_start": False,
        "paired": True,
        "recovered": False,
        "reliably_improved": False,
        "reliably_deteriorated": False,
        "reliably_recovered": False,
        "risk_open": False,
        "first_treatment_on": date(2025, 4, 14),
        "second_treatment_on": date(2025, 4, 28),
        "days_to_first_treatment": 0,
    }
    # The outcome so far of an open episode is kept too; it is not counted until it ends.
    assert columns(ids["open"]) == {
        "is_active": True,
        "finished_treatment": False,
        "caseness_at_start": True,
        "paired": True,
        "recovered": True,
        "reliably_improved": True,
        "reliably_deteriorated": False,
        "reliably_recovered": True,
        "risk_open": True,
        "first_treatment_on": date(2025, 5, 9),
        "second_treatment_on": date(2025, 5, 23),
        "days_to_first_treatment": 8,
    }

    assert discharged_outcomes(start=START, end=END) == ServiceRates(
        finished=3,
        at_caseness_denominator=2,
        recovered=1,
        reliably_recovered=0,
        reliably_improved=0,
        reliably_deteriorated=1,
        paired=3,
    )
    # By discharge date: 16-31 May keeps the recovered (20 May) and the not-at-caseness
    # (19 May) episodes and leaves out the deteriorated one (15 May).
    assert discharged_outcomes(start=date(2025, 5, 16), end=date(2025, 5, 31)) == ServiceRates(
        finished=2,
        at_caseness_denominator=1,
        recovered=1,
        reliably_recovered=0,
        reliably_improved=0,
        reliably_deteriorated=0,
        paired=2,
    )
    for plan, name in (
        (RECOVERED, "recovered"),
        (DETERIORATED, "deteriorated"),
        (NOT_AT_CASENESS, "not_at_caseness"),
        (OPEN, "open"),
    ):
        assert_columns_follow_the_rules(plan, stored_summary(ids[name]))


# -- 3. Consent -----------------------------------------------------------------------


def test_a_non_consenting_clients_finished_episode_changes_no_count(worker: User) -> None:
    build_service(worker)
    before = discharged_outcomes(start=START, end=END)
    assert before.finished == 3

    episode = register(worker, consented=False, referral_date=date(2025, 4, 1))
    log_scores(worker, episode, [(18, 15), (12, 10), (6, 5)], start=at(date(2025, 4, 20)))
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=date(2025, 5, 1),
        note="",
        today=TODAY,
        risk_confirmed=True,
        risk_plan=RISK_PLAN,
    )
    db.session.commit()

    # Its summary holds a reliable recovery, so only consent keeps it out of the counts.
    summary = stored_summary(episode.id)
    assert (summary.finished_treatment, summary.recovered, summary.reliably_recovered) == (
        True,
        True,
        True,
    )
    assert discharged_outcomes(start=START, end=END) == before

    # The check can fail: with consent given, the same episode is counted.
    set_consent(worker, episode.client, consented=True, note="Agreed on the phone.")
    db.session.commit()
    after = discharged_outcomes(start=START, end=END)
    assert (after.finished, after.recovered, after.reliably_recovered) == (
        before.finished + 1,
        before.recovered + 1,
        before.reliably_recovered + 1,
    )
