"""log_contact, record_outcome, correct_contact and mark_entered_in_error on a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from caseload.domain.codes import (
    AttendanceCode,
    ContactType,
    DischargeReason,
    EntryStatus,
    NotCollectedReason,
    RiskLevel,
)
from caseload.extensions import db
from caseload.models import AuditEvent, Contact, Episode, EpisodeSummary, User
from caseload.services import Conflict, ServiceError
from caseload.services.contacts import (
    ContactInput,
    as_input,
    correct_contact,
    log_contact,
    mark_entered_in_error,
    record_outcome,
)
from caseload.services.episodes import discharge
from tests.services.factories import (
    NOW,
    REFERRAL_DATE,
    TODAY,
    contact_input,
    gad7,
    log,
    log_scores,
    phq9,
    register,
    row_counts,
)

ATTENDED = AttendanceCode.ATTENDED_ON_TIME
BOOKED = AttendanceCode.BOOKED
DNA = AttendanceCode.DID_NOT_ATTEND


@pytest.fixture
def episode(worker: User) -> Episode:
    """A committed, waiting episode referred a week before TODAY."""
    episode = register(worker)
    db.session.commit()
    return episode


def summary_of(episode: Episode) -> EpisodeSummary:
    """The summary row as the database holds it now."""
    db.session.expire_all()
    summary = db.session.get(EpisodeSummary, episode.id)
    assert summary is not None
    return summary


def summary_values(episode: Episode) -> dict[str, Any]:
    """Every column of the summary row, for before/after comparisons."""
    summary = summary_of(episode)
    return {c.key: getattr(summary, c.key) for c in EpisodeSummary.__table__.columns}


def refuse(worker: User, episode: Episode, data: Any, *, now: datetime = NOW) -> ServiceError:
    """Log a contact that must be refused; assert nothing at all was saved."""
    before_rows = row_counts()
    before_summary = summary_values(episode)
    with pytest.raises(ServiceError) as caught:
        log_contact(worker, episode, data, now=now)
    db.session.rollback()
    assert row_counts() == before_rows
    assert summary_values(episode) == before_summary
    return caught.value


# The summary ------------------------------------------------------------------------


def test_summary_follows_each_contact(worker: User, episode: Episode) -> None:
    log(
        worker,
        episode,
        NOW - timedelta(days=5),
        contact_type=ContactType.ASSESSMENT,
        phq9_total=14,
        gad7_total=12,
    )
    db.session.commit()
    summary = summary_of(episode)
    assert (summary.first("phq9"), summary.last("phq9"), summary.latest("phq9")) == (14, None, 14)
    assert (summary.first("gad7"), summary.last("gad7"), summary.latest("gad7")) == (12, None, 12)
    assert summary.treatment_contacts == 0
    assert summary.attended_contacts == 1
    assert episode.status.value == "waiting"  # an assessment is not treatment

    log(worker, episode, NOW - timedelta(days=2), phq9_total=9, gad7_total=7)
    db.session.commit()
    summary = summary_of(episode)
    assert (summary.first("phq9"), summary.last("phq9"), summary.latest("phq9")) == (14, 9, 9)
    assert (summary.first("gad7"), summary.last("gad7"), summary.latest("gad7")) == (12, 7, 7)
    assert summary.treatment_contacts == 1
    assert summary.attended_with_both_measures == 2
    assert summary.measure("phq9").totals == [14, 9]
    assert summary.last_attended_at == NOW - timedelta(days=2)
    assert episode.status.value == "in_treatment"


def test_first_and_last_follow_contact_dates_not_entry_order(
    worker: User, episode: Episode
) -> None:
    log(worker, episode, NOW - timedelta(days=1), phq9_total=8, gad7_total=6)
    log(worker, episode, NOW - timedelta(days=4), phq9_total=15, gad7_total=11)
    db.session.commit()
    summary = summary_of(episode)
    assert (summary.first("phq9"), summary.last("phq9")) == (15, 8)
    assert (summary.first("gad7"), summary.last("gad7")) == (11, 6)


def test_summary_is_written_in_the_contacts_transaction(worker: User, episode: Episode) -> None:
    log(worker, episode, phq9_total=14, gad7_total=12)
    # Visible to a query in the same transaction before any commit...
    assert (
        db.session.scalar(
            select(EpisodeSummary.treatment_contacts).where(EpisodeSummary.episode_id == episode.id)
        )
        == 1
    )
    # ...and gone with the contact when the transaction rolls back.
    db.session.rollback()
    summary = summary_of(episode)
    assert summary.treatment_contacts == 0
    assert summary.first("phq9") is None
    assert row_counts()["contacts"] == 0


def test_dna_does_not_start_treatment(worker: User, episode: Episode) -> None:
    log(worker, episode, attendance=DNA)
    db.session.commit()
    summary = summary_of(episode)
    assert summary.treatment_contacts == 0
    assert summary.consecutive_dnas == 1
    assert episode.status.value == "waiting"


def test_contact_is_audited(worker: User, episode: Episode) -> None:
    contact = log(worker, episode, phq9_total=10, gad7_total=8)
    db.session.commit()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contact.create")
    ).one()
    assert event.object_id == str(contact.id)
    assert event.client_id == episode.client_id
    assert event.actor_id == worker.id


def test_answers_are_stored_item_by_item(worker: User, episode: Episode) -> None:
    answers = [1, 2, 0, 3, 1, 0, 2, 1, 0]
    contact = log(worker, episode, phq9=answers, gad7=gad7(9), phq9_difficulty=2)
    db.session.commit()
    db.session.expire_all()
    assert contact.score("phq9").answers == answers
    assert contact.total("phq9") == sum(answers)
    assert contact.score("phq9").risk_answer == 0
    assert contact.score("phq9").difficulty == 2
    assert contact.total("gad7") == 9


def test_incomplete_questionnaire_is_stored_without_a_total(worker: User, episode: Episode) -> None:
    contact = log(
        worker,
        episode,
        phq9=[1, 1, 1, 1, 1, 1, 1, None, 0],
        gad7=gad7(5),
        incomplete_reasons={"phq9": NotCollectedReason.NO_TIME},
    )
    db.session.commit()
    assert contact.score("phq9").answers == [1, 1, 1, 1, 1, 1, 1, None, 0]
    assert contact.score("phq9").not_collected_reason is NotCollectedReason.NO_TIME
    assert contact.total("phq9") is None
    assert summary_of(episode).first("phq9") is None


# Dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attendance",
    [ATTENDED, AttendanceCode.ARRIVED_LATE_SEEN, DNA, AttendanceCode.ARRIVED_LATE_NOT_SEEN],
)
def test_contact_that_happened_cannot_be_in_the_future(
    worker: User, episode: Episode, attendance: AttendanceCode
) -> None:
    error = refuse(
        worker, episode, contact_input(NOW + timedelta(minutes=1), attendance=attendance)
    )
    assert "future" in error.field_errors["occurred_at"]


def test_contact_at_now_is_accepted(worker: User, episode: Episode) -> None:
    log(worker, episode, NOW, phq9_total=10, gad7_total=8)
    db.session.commit()
    assert summary_of(episode).last_attended_at == NOW


def test_contact_before_referral_date_is_refused(worker: User, episode: Episode) -> None:
    day_before = datetime.combine(
        REFERRAL_DATE - timedelta(days=1), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=12)
    error = refuse(worker, episode, contact_input(day_before))
    assert "referral date" in error.field_errors["occurred_at"]


def test_referral_date_is_a_london_calendar_day(worker: User, episode: Episode) -> None:
    midnight_utc = datetime.combine(REFERRAL_DATE, datetime.min.time(), tzinfo=UTC)
    # 22:30 UTC the evening before is 23:30 in London (BST): still the day before.
    refuse(worker, episode, contact_input(midnight_utc - timedelta(minutes=90)))
    # 23:30 UTC the evening before is 00:30 on the referral day in London.
    log(worker, episode, midnight_utc - timedelta(minutes=30))
    db.session.commit()
    assert row_counts()["contacts"] == 1


def test_naive_time_is_refused(worker: User, episode: Episode) -> None:
    naive = NOW.replace(tzinfo=None) - timedelta(days=1)
    error = refuse(worker, episode, contact_input(naive))
    assert "occurred_at" in error.field_errors


def test_booking_must_be_in_the_future(worker: User, episode: Episode) -> None:
    error = refuse(worker, episode, contact_input(NOW - timedelta(hours=1), attendance=BOOKED))
    assert "future" in error.field_errors["attendance"]
    error = refuse(worker, episode, contact_input(NOW, attendance=BOOKED))
    assert "attendance" in error.field_errors


def test_booking_is_counted_in_the_summary(worker: User, episode: Episode) -> None:
    later = NOW + timedelta(days=7)
    soon = NOW + timedelta(days=2)
    log(worker, episode, later, attendance=BOOKED)
    log(worker, episode, soon, attendance=BOOKED)
    db.session.commit()
    summary = summary_of(episode)
    assert summary.booked_contacts == 2
    assert summary.earliest_booked_at == soon
    assert summary.attended_contacts == 0
    assert episode.status.value == "waiting"
    assert db.session.scalars(select(AuditEvent.action)).all().count("contact.book") == 2


# Questionnaires and risk ------------------------------------------------------------


@pytest.mark.parametrize("attendance", [DNA, AttendanceCode.CANCELLED_BY_PATIENT, BOOKED])
def test_scores_only_at_an_attended_contact(
    worker: User, episode: Episode, attendance: AttendanceCode
) -> None:
    when = NOW + timedelta(days=1) if attendance is BOOKED else NOW - timedelta(days=1)
    error = refuse(
        worker, episode, contact_input(when, attendance=attendance, phq9_total=10, gad7_total=8)
    )
    assert "attended" in error.field_errors["attendance"]


def test_attended_contact_needs_measures_or_a_reason(worker: User, episode: Episode) -> None:
    error = refuse(worker, episode, contact_input(not_collected_reason=None))
    assert "not collected" in error.field_errors["not_collected_reason"]


def test_reason_for_not_collecting_is_accepted(worker: User, episode: Episode) -> None:
    contact = log(worker, episode, not_collected_reason=NotCollectedReason.DECLINED)
    db.session.commit()
    assert contact.not_collected_reason is NotCollectedReason.DECLINED
    summary = summary_of(episode)
    assert summary.attended_missing_measures == 1
    assert summary.missing_measures_with_reason == 1


def test_one_measure_is_enough_to_save(worker: User, episode: Episode) -> None:
    contact = log(worker, episode, phq9_total=12)
    db.session.commit()
    assert contact.total("gad7") is None
    assert summary_of(episode).attended_missing_measures == 1


def test_not_collected_with_both_measures_is_refused(worker: User, episode: Episode) -> None:
    error = refuse(
        worker,
        episode,
        contact_input(phq9_total=10, gad7_total=8, not_collected_reason=NotCollectedReason.NO_TIME),
    )
    assert "not_collected_reason" in error.field_errors


def test_item9_needs_a_risk_assessment(worker: User, episode: Episode) -> None:
    error = refuse(worker, episode, contact_input(phq9=phq9(12, item9=1), gad7=gad7(8)))
    assert "risk assessment" in error.field_errors["risk_level"]
    assert "risk assessment" in error.message


def test_item9_with_risk_assessment_is_saved(worker: User, episode: Episode) -> None:
    contact = log(
        worker,
        episode,
        phq9=phq9(12, item9=2),
        gad7=gad7(8),
        risk_level=RiskLevel.LOW,
        risk_factors="Passive thoughts, no plan.",
    )
    db.session.commit()
    assert contact.score("phq9").risk_answer == 2
    assert contact.risk_level is RiskLevel.LOW
    summary = summary_of(episode)
    assert summary.latest_risk_answer == 2
    assert summary.latest_risk_level is RiskLevel.LOW


@pytest.mark.parametrize("level", [RiskLevel.MODERATE, RiskLevel.HIGH])
def test_moderate_or_high_risk_needs_an_action(
    worker: User, episode: Episode, level: RiskLevel
) -> None:
    error = refuse(
        worker,
        episode,
        contact_input(phq9=phq9(12, item9=1), gad7=gad7(8), risk_level=level, risk_action="  "),
    )
    assert "action" in error.field_errors["risk_action"]


def test_high_risk_with_action_is_saved(worker: User, episode: Episode) -> None:
    contact = log(
        worker,
        episode,
        phq9=phq9(12, item9=3),
        gad7=gad7(8),
        risk_level=RiskLevel.HIGH,
        risk_action=" Crisis team called. ",
    )
    db.session.commit()
    assert contact.risk_action == "Crisis team called."
    assert summary_of(episode).latest_risk_level is RiskLevel.HIGH


def test_risk_assessment_only_at_an_attended_contact(worker: User, episode: Episode) -> None:
    error = refuse(worker, episode, contact_input(attendance=DNA, risk_level=RiskLevel.LOW))
    assert "risk_level" in error.field_errors


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"phq9": [0, 0, 4, 0, 0, 0, 0, 0, 0], "gad7": [0] * 7}, "phq9", "item 3"),
        ({"phq9": [0] * 9, "gad7": [0, 0, 0, 0, 0, 0, -1]}, "gad7", "item 7"),
        ({"phq9": [0] * 9, "gad7": [0, "2", 0, 0, 0, 0, 0]}, "gad7", "item 2"),
        ({"phq9": [0] * 9, "gad7": [0, True, 0, 0, 0, 0, 0]}, "gad7", "item 2"),
        ({"phq9": [0] * 8, "gad7": [0] * 7}, "phq9", "9 answers"),
        ({"phq9": [0] * 9, "gad7": [0] * 8}, "gad7", "7 answers"),
        ({"phq9": [0] * 9, "gad7": [0] * 7, "wsas": [0, 0, 9, 0, 0]}, "wsas", "item 3"),
    ],
)
def test_bad_answers_are_refused_naming_the_item(
    worker: User, episode: Episode, overrides: dict[str, Any], field: str, words: str
) -> None:
    error = refuse(worker, episode, contact_input(**overrides))
    assert words in error.field_errors[field]


@pytest.mark.parametrize("minutes", [0, -5, 481])
def test_duration_out_of_bounds_is_refused(worker: User, episode: Episode, minutes: int) -> None:
    error = refuse(worker, episode, contact_input(duration_minutes=minutes))
    assert "duration_minutes" in error.field_errors


@pytest.mark.parametrize("minutes", [1, 480, None])
def test_duration_within_bounds_is_saved(
    worker: User, episode: Episode, minutes: int | None
) -> None:
    contact = log(worker, episode, duration_minutes=minutes)
    db.session.commit()
    assert contact.duration_minutes == minutes


def test_every_bad_field_is_reported_at_once(worker: User, episode: Episode) -> None:
    error = refuse(
        worker,
        episode,
        contact_input(
            NOW + timedelta(days=1),
            duration_minutes=999,
            phq9=[0] * 9 + [0],
            gad7=None,
            risk_level=RiskLevel.HIGH,
        ),
    )
    assert {"occurred_at", "duration_minutes", "phq9", "risk_action"} <= set(error.field_errors)


def test_discharged_episode_refuses_new_contacts(worker: User, episode: Episode) -> None:
    discharge(
        worker, episode, reason=DischargeReason.DECLINED, discharged_on=TODAY, note="", today=TODAY
    )
    db.session.commit()
    error = refuse(worker, episode, contact_input(phq9_total=10, gad7_total=8))
    assert "discharged" in error.message


# Booked contacts and their outcome --------------------------------------------------


def test_record_outcome_completes_a_booking_once(worker: User, episode: Episode) -> None:
    booked_at = NOW + timedelta(days=1)
    booking = log(worker, episode, booked_at, attendance=BOOKED)
    db.session.commit()
    later = NOW + timedelta(days=1, hours=2)

    done = record_outcome(
        worker,
        booking,
        contact_input(booked_at, phq9_total=11, gad7_total=9),
        expected_version=booking.version,
        now=later,
    )
    db.session.commit()
    assert done.id == booking.id
    assert done.attendance is ATTENDED
    summary = summary_of(episode)
    assert summary.booked_contacts == 0
    assert summary.earliest_booked_at is None
    assert summary.treatment_contacts == 1
    assert summary.first("phq9") == 11
    assert row_counts()["contacts"] == 1
    assert "contact.complete" in db.session.scalars(select(AuditEvent.action)).all()

    with pytest.raises(ServiceError, match="already"):
        record_outcome(worker, booking, contact_input(booked_at, attendance=DNA), now=later)


def test_record_outcome_must_say_what_happened(worker: User, episode: Episode) -> None:
    booking = log(worker, episode, NOW + timedelta(days=1), attendance=BOOKED)
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        record_outcome(
            worker,
            booking,
            contact_input(NOW + timedelta(days=1), attendance=BOOKED),
            now=NOW + timedelta(days=2),
        )
    assert "attendance" in caught.value.field_errors


def test_record_outcome_cannot_be_in_the_future(worker: User, episode: Episode) -> None:
    booked_at = NOW + timedelta(days=1)
    booking = log(worker, episode, booked_at, attendance=BOOKED)
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        record_outcome(
            worker, booking, contact_input(booked_at, phq9_total=5, gad7_total=5), now=NOW
        )
    assert "occurred_at" in caught.value.field_errors
    db.session.rollback()
    assert summary_of(episode).booked_contacts == 1


def test_record_outcome_on_a_completed_contact_is_refused(worker: User, episode: Episode) -> None:
    held = log(worker, episode, phq9_total=10, gad7_total=8)
    db.session.commit()
    with pytest.raises(ServiceError, match="already"):
        record_outcome(worker, held, contact_input(phq9_total=3, gad7_total=3))


def test_record_outcome_with_a_stale_version_is_a_conflict(worker: User, episode: Episode) -> None:
    booking = log(worker, episode, NOW + timedelta(days=1), attendance=BOOKED)
    db.session.commit()
    with pytest.raises(Conflict):
        record_outcome(
            worker,
            booking,
            contact_input(NOW + timedelta(days=1), attendance=DNA),
            expected_version=booking.version + 1,
            now=NOW + timedelta(days=2),
        )
    db.session.rollback()
    assert db.session.get(Contact, booking.id).attendance is BOOKED  # type: ignore[union-attr]


# Corrections ------------------------------------------------------------------------


def test_correction_supersedes_and_the_summary_uses_it(worker: User, episode: Episode) -> None:
    original, _ = log_scores(worker, episode, [(14, 12), (9, 7)])
    db.session.commit()
    fixed = with_answers(as_input(original), phq9=phq9(17), gad7=gad7(13))

    correction = correct_contact(
        worker,
        original,
        fixed,
        reason=" Typed the wrong item. ",
        expected_version=original.version,
        now=NOW,
    )
    db.session.commit()
    db.session.expire_all()

    assert correction.id != original.id
    assert correction.supersedes_id == original.id
    assert correction.status is EntryStatus.CURRENT
    assert original.status is EntryStatus.SUPERSEDED
    assert original.status_reason == "Typed the wrong item."
    assert original.status_changed_at is not None
    assert original.total("phq9") == 14  # never edited in place
    summary = summary_of(episode)
    assert (summary.first("phq9"), summary.last("phq9")) == (17, 9)
    assert (summary.first("gad7"), summary.last("gad7")) == (13, 7)
    assert summary.treatment_contacts == 2
    assert row_counts()["contacts"] == 3
    assert "contact.correct" in db.session.scalars(select(AuditEvent.action)).all()


def test_a_discharged_episode_can_still_be_corrected(worker: User, episode: Episode) -> None:
    original, _ = log_scores(worker, episode, [(14, 12), (9, 7)])
    discharge(
        worker, episode, reason=DischargeReason.COMPLETED, discharged_on=TODAY, note="", today=TODAY
    )
    db.session.commit()
    fixed = with_answers(as_input(original), phq9=phq9(16))
    correct_contact(worker, original, fixed, reason="Wrong total copied", now=NOW)
    db.session.commit()
    db.session.expire_all()
    summary = summary_of(episode)
    assert (summary.first("phq9"), summary.last("phq9")) == (16, 9)


def test_a_correction_cannot_move_a_contact_after_discharge(worker: User, episode: Episode) -> None:
    original, _ = log_scores(worker, episode, [(14, 12), (9, 7)])
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=TODAY - timedelta(days=1),
        note="",
        today=TODAY,
    )
    db.session.commit()
    moved = replace(as_input(original), occurred_at=NOW)
    with pytest.raises(ServiceError) as caught:
        correct_contact(worker, original, moved, reason="Wrong date", now=NOW + timedelta(hours=1))
    assert caught.value.field_errors["occurred_at"] == (
        "A contact cannot be after the discharge date."
    )


@pytest.mark.parametrize("reason", ["", "  "])
def test_correction_needs_a_reason(worker: User, episode: Episode, reason: str) -> None:
    original = log(worker, episode, phq9_total=14, gad7_total=12)
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        correct_contact(worker, original, as_input(original), reason=reason, now=NOW)
    assert "reason" in caught.value.field_errors
    db.session.rollback()
    assert row_counts() == before
    assert original.status is EntryStatus.CURRENT


def test_superseded_contact_cannot_be_corrected_again(worker: User, episode: Episode) -> None:
    original = log(worker, episode, phq9_total=14, gad7_total=12)
    correct_contact(worker, original, as_input(original), reason="Wrong date.", now=NOW)
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError, match="current version"):
        correct_contact(worker, original, as_input(original), reason="Again.", now=NOW)
    db.session.rollback()
    assert row_counts() == before


def test_correction_is_validated_like_a_new_contact(worker: User, episode: Episode) -> None:
    original = log(worker, episode, phq9_total=14, gad7_total=12)
    db.session.commit()
    bad = with_answers(as_input(original), phq9=phq9(14, item9=1))
    with pytest.raises(ServiceError) as caught:
        correct_contact(worker, original, bad, reason="Item 9 was 1.", now=NOW)
    assert "risk_level" in caught.value.field_errors
    db.session.rollback()
    assert original.status is EntryStatus.CURRENT
    assert row_counts()["contacts"] == 1


def test_correction_with_a_stale_version_is_a_conflict(worker: User, episode: Episode) -> None:
    original = log(worker, episode, phq9_total=14, gad7_total=12)
    db.session.commit()
    seen = original.version
    correct_contact(worker, original, as_input(original), reason="First fix.", now=NOW)
    db.session.commit()
    with pytest.raises(Conflict):
        correct_contact(
            worker,
            original,
            as_input(original),
            reason="Second fix.",
            expected_version=seen,
            now=NOW,
        )


def test_entered_in_error_leaves_scoring_but_stays_in_history(
    worker: User, episode: Episode
) -> None:
    first, second = log_scores(worker, episode, [(14, 12), (6, 5)])
    db.session.commit()
    assert summary_of(episode).last("phq9") == 6

    mark_entered_in_error(worker, second, reason="Wrong client.", expected_version=second.version)
    db.session.commit()

    summary = summary_of(episode)
    assert (summary.first("phq9"), summary.last("phq9"), summary.latest("phq9")) == (14, None, 14)
    assert summary.treatment_contacts == 1
    assert summary.measure("phq9").totals == [14]
    refreshed = db.session.get(Episode, episode.id)
    assert refreshed is not None
    assert [c.id for c in refreshed.contacts] == [first.id, second.id]
    assert second.status is EntryStatus.ENTERED_IN_ERROR
    assert second.status_reason == "Wrong client."
    assert second.total("phq9") == 6
    assert "contact.entered_in_error" in db.session.scalars(select(AuditEvent.action)).all()


def test_entered_in_error_booking_no_longer_counts(worker: User, episode: Episode) -> None:
    booking = log(worker, episode, NOW + timedelta(days=3), attendance=BOOKED)
    mark_entered_in_error(worker, booking, reason="Booked for the wrong client.")
    db.session.commit()
    assert summary_of(episode).booked_contacts == 0


@pytest.mark.parametrize("reason", ["", "\t "])
def test_entered_in_error_needs_a_reason(worker: User, episode: Episode, reason: str) -> None:
    contact = log(worker, episode, phq9_total=14, gad7_total=12)
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        mark_entered_in_error(worker, contact, reason=reason)
    assert "reason" in caught.value.field_errors
    db.session.rollback()
    assert contact.status is EntryStatus.CURRENT
    assert summary_of(episode).first("phq9") == 14


def test_entered_in_error_only_once(worker: User, episode: Episode) -> None:
    contact = log(worker, episode, phq9_total=14, gad7_total=12)
    mark_entered_in_error(worker, contact, reason="Duplicate.")
    db.session.commit()
    with pytest.raises(ServiceError, match="no longer current"):
        mark_entered_in_error(worker, contact, reason="Duplicate again.")


def test_entered_in_error_with_a_stale_version_is_a_conflict(
    worker: User, episode: Episode
) -> None:
    contact = log(worker, episode, phq9_total=14, gad7_total=12)
    db.session.commit()
    with pytest.raises(Conflict):
        mark_entered_in_error(
            worker, contact, reason="Duplicate.", expected_version=contact.version - 1
        )
    db.session.rollback()
    assert contact.status is EntryStatus.CURRENT


def test_a_missed_contact_keeps_no_not_collected_reason(worker: User, episode: Episode) -> None:
    missed = log(
        worker,
        episode,
        attendance=AttendanceCode.DID_NOT_ATTEND,
        not_collected_reason=NotCollectedReason.NO_TIME,
    )
    assert missed.not_collected_reason is None


def test_a_booking_is_not_corrected(worker: User, episode: Episode) -> None:
    booking = log(worker, episode, NOW + timedelta(days=1), attendance=BOOKED)
    held = log(worker, episode, phq9_total=10, gad7_total=8)
    with pytest.raises(ServiceError, match="A booking is not corrected"):
        correct_contact(worker, booking, as_input(booking), reason="Wrong day", now=NOW)
    turned_into_booking = replace(
        as_input(held), attendance=BOOKED, answers={}, occurred_at=NOW + timedelta(days=2)
    )
    with pytest.raises(ServiceError, match="A booking is not corrected"):
        correct_contact(worker, held, turned_into_booking, reason="Not held", now=NOW)


def with_answers(data: ContactInput, **answers: list[int]) -> ContactInput:
    """The same contact input with some questionnaires answered differently."""
    return replace(data, answers={**data.answers, **answers})
