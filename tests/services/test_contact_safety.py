"""Clinical safety in the services (issue 8): no questionnaire total without every item, an
unfinished questionnaire saved only with its reason, an unanswered PHQ-9 item 9 asked or
covered by a risk assessment, and a discharge that names what blocks it and asks for a risk
plan when risk or a red flag is open. On a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from caseload.domain.codes import (
    AttendanceCode,
    ContactType,
    DischargeReason,
    NotCollectedReason,
    RiskLevel,
)
from caseload.domain.flags import FlagKind
from caseload.domain.measures import contact_form_measures, get_measure
from caseload.extensions import db
from caseload.models import AuditEvent, Contact, Episode, EpisodeSummary, User
from caseload.services import ServiceError
from caseload.services.contacts import (
    MAX_REASON_NOTE,
    as_input,
    correct_contact,
    log_contact,
    mark_entered_in_error,
    record_outcome,
)
from caseload.services.episodes import (
    MAX_RISK_PLAN,
    booked_contacts,
    discharge,
    discharge_risk,
    flags_for,
)
from tests.services.factories import (
    NOW,
    TODAY,
    contact_input,
    gad7,
    log,
    log_scores,
    phq9,
    register,
    row_counts,
)

DECLINED = NotCollectedReason.DECLINED
NO_TIME = NotCollectedReason.NO_TIME
OTHER = NotCollectedReason.OTHER
#: PHQ-9 with items 1-8 answered (total 8 so far) and item 9 left blank.
NO_ITEM_9 = [1, 1, 1, 1, 1, 1, 1, 1, None]
#: PHQ-9 with item 9 answered 0 and item 8 left blank.
NO_ITEM_8 = [1, 1, 1, 1, 1, 1, 1, None, 0]


@pytest.fixture
def episode(worker: User) -> Episode:
    """A committed, waiting episode referred a week before TODAY."""
    episode = register(worker)
    db.session.commit()
    return episode


def summary_of(episode: Episode) -> EpisodeSummary:
    """The summary row as the database holds it after the work so far is committed."""
    db.session.commit()
    db.session.expire_all()
    summary = db.session.get(EpisodeSummary, episode.id)
    assert summary is not None
    return summary


def refuse(worker: User, episode: Episode, **kwargs: Any) -> dict[str, str]:
    """Log a contact that must be refused; check nothing at all was saved; its field errors."""
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        log(worker, episode, **kwargs)
    db.session.rollback()
    assert row_counts() == before
    return caught.value.field_errors


# An unfinished questionnaire -----------------------------------------------------------


def test_an_unfinished_phq9_is_refused_without_a_reason(worker: User, episode: Episode) -> None:
    errors = refuse(worker, episode, phq9=NO_ITEM_8, gad7=gad7(5))
    assert set(errors) == {"phq9_incomplete_reason"}
    assert errors["phq9_incomplete_reason"] == (
        "The PHQ-9 has 8 of 9 items answered, so it has no total: answer the rest, "
        "or say why it was not finished."
    )


@pytest.mark.parametrize("reason", [DECLINED, NO_TIME])
def test_an_unfinished_phq9_saves_with_its_reason_and_no_total(
    worker: User, episode: Episode, reason: NotCollectedReason
) -> None:
    contact = log(
        worker, episode, phq9=NO_ITEM_8, gad7=gad7(5), incomplete_reasons={"phq9": reason}
    )
    db.session.commit()
    row = contact.score("phq9")
    assert row is not None
    assert (row.total, row.complete, row.not_collected_reason) == (None, False, reason)
    assert row.not_collected_note is None
    assert row.answers == NO_ITEM_8  # stored as given
    gad = contact.score("gad7")
    assert gad is not None
    assert (gad.total, gad.not_collected_reason) == (5, None)
    summary = summary_of(episode)
    assert summary.first("phq9") is None  # no total, so no first score
    assert (summary.incomplete_questionnaires, summary.unanswered_risk_items) == (1, 0)


def test_other_needs_a_few_words_and_keeps_them(worker: User, episode: Episode) -> None:
    errors = refuse(
        worker, episode, phq9=NO_ITEM_8, gad7=gad7(5), incomplete_reasons={"phq9": OTHER}
    )
    assert errors == {"phq9_incomplete_note": "Say in a few words why the PHQ-9 was not finished."}
    errors = refuse(
        worker,
        episode,
        phq9=NO_ITEM_8,
        gad7=gad7(5),
        incomplete_reasons={"phq9": OTHER},
        incomplete_notes={"phq9": "   "},
    )
    assert "phq9_incomplete_note" in errors
    contact = log(
        worker,
        episode,
        phq9=NO_ITEM_8,
        gad7=gad7(5),
        incomplete_reasons={"phq9": OTHER},
        incomplete_notes={"phq9": "  Interpreter had to leave.  "},
    )
    row = contact.score("phq9")
    assert row is not None
    assert (row.not_collected_reason, row.not_collected_note) == (
        OTHER,
        "Interpreter had to leave.",
    )


def test_a_reason_note_must_be_short(worker: User, episode: Episode) -> None:
    errors = refuse(
        worker,
        episode,
        phq9=NO_ITEM_8,
        gad7=gad7(5),
        incomplete_reasons={"phq9": OTHER},
        incomplete_notes={"phq9": "x" * (MAX_REASON_NOTE + 1)},
    )
    assert str(MAX_REASON_NOTE) in errors["phq9_incomplete_note"]


def test_a_note_with_a_reason_other_than_other_is_not_kept(worker: User, episode: Episode) -> None:
    contact = log(
        worker,
        episode,
        phq9=NO_ITEM_8,
        gad7=gad7(5),
        incomplete_reasons={"phq9": DECLINED},
        incomplete_notes={"phq9": "Said it felt intrusive."},
    )
    row = contact.score("phq9")
    assert row is not None
    assert (row.not_collected_reason, row.not_collected_note) == (DECLINED, None)


def test_a_reason_for_a_finished_questionnaire_is_not_kept(worker: User, episode: Episode) -> None:
    contact = log(
        worker,
        episode,
        phq9_total=8,
        gad7_total=5,
        incomplete_reasons={"phq9": DECLINED, "gad7": NO_TIME},
    )
    assert all(s.not_collected_reason is None for s in contact.scores)
    assert summary_of(episode).incomplete_questionnaires == 0


#: Every measure the form offers that can be left unfinished (one item is answered or not).
MULTI_ITEM = [m for m in contact_form_measures() if len(m.items) > 1]


@pytest.mark.parametrize("measure", MULTI_ITEM, ids=lambda m: m.id)
def test_every_measure_follows_the_same_rule(worker: User, episode: Episode, measure: Any) -> None:
    """Generic over the definitions: any questionnaire left unfinished needs its reason."""
    answers: list[Any] = [item.min for item in measure.items]
    answers[0] = None
    if measure.risk_item == 1:
        answers[0], answers[-1] = answers[-1], None
    kwargs: dict[str, Any] = {"phq9_total": 8, "gad7_total": 5, measure.id: answers}
    errors = refuse(worker, episode, **kwargs)
    assert f"{measure.id}_incomplete_reason" in errors
    assert measure.short_name in errors[f"{measure.id}_incomplete_reason"]
    log(worker, episode, incomplete_reasons={measure.id: NO_TIME}, **kwargs)
    assert summary_of(episode).incomplete_questionnaires == 1


def test_nothing_asked_at_all_still_saves_with_the_contact_level_reason(
    worker: User, episode: Episode
) -> None:
    contact = log(worker, episode, not_collected_reason=DECLINED)
    assert {s.measure_id for s in contact.scores} == {"phq9", "gad7"}
    assert all(s.not_collected_reason is DECLINED for s in contact.scores)
    assert summary_of(episode).incomplete_questionnaires == 0


def test_nothing_asked_for_another_reason_needs_the_words(worker: User, episode: Episode) -> None:
    errors = refuse(worker, episode, not_collected_reason=OTHER)
    assert errors == {
        "not_collected_note": "Say in a few words why the questionnaires were not collected."
    }
    contact = log(
        worker, episode, not_collected_reason=OTHER, not_collected_note="Client in crisis."
    )
    assert {(s.not_collected_reason, s.not_collected_note) for s in contact.scores} == {
        (OTHER, "Client in crisis.")
    }


# PHQ-9 item 9 left unanswered ---------------------------------------------------------


def test_item_9_unanswered_is_named_on_the_item(worker: User, episode: Episode) -> None:
    errors = refuse(worker, episode, phq9=NO_ITEM_9, gad7=gad7(5))
    assert set(errors) == {"phq9_9", "phq9_incomplete_reason"}
    item = get_measure("phq9").item(9)
    assert errors["phq9_9"] == (
        f"PHQ-9 item 9 (\u201c{item.text}\u201d) was not answered. Ask it, or say why the "
        "PHQ-9 was not finished and record a risk assessment."
    )


def test_item_9_unanswered_with_a_reason_still_needs_a_risk_assessment(
    worker: User, episode: Episode
) -> None:
    errors = refuse(
        worker, episode, phq9=NO_ITEM_9, gad7=gad7(5), incomplete_reasons={"phq9": DECLINED}
    )
    assert set(errors) == {"phq9_9"}
    assert errors["phq9_9"].endswith("Ask it, or record a risk assessment below.")


def test_a_risk_assessment_without_the_reason_is_not_enough(worker: User, episode: Episode) -> None:
    errors = refuse(worker, episode, phq9=NO_ITEM_9, gad7=gad7(5), risk_level=RiskLevel.LOW)
    assert set(errors) == {"phq9_9", "phq9_incomplete_reason"}


def test_item_9_unanswered_saves_with_the_reason_and_a_risk_assessment(
    worker: User, episode: Episode
) -> None:
    contact = log(
        worker,
        episode,
        phq9=NO_ITEM_9,
        gad7=gad7(5),
        incomplete_reasons={"phq9": DECLINED},
        risk_level=RiskLevel.LOW,
        risk_factors="Denies thoughts of self-harm when asked directly.",
    )
    db.session.commit()
    row = contact.score("phq9")
    assert row is not None
    assert (row.total, row.risk_answer, row.not_collected_reason) == (None, None, DECLINED)
    summary = summary_of(episode)
    assert (summary.incomplete_questionnaires, summary.unanswered_risk_items) == (1, 1)
    flag = next(
        f for f in flags_for(episode, today=TODAY) if f.kind is FlagKind.INCOMPLETE_QUESTIONNAIRES
    )
    assert "risk question (PHQ-9 item 9) was not answered" in flag.sentence


def test_item_9_answered_on_an_unfinished_phq9_needs_only_the_reason(
    worker: User, episode: Episode
) -> None:
    errors = refuse(worker, episode, phq9=NO_ITEM_8, gad7=gad7(5))
    assert "phq9_9" not in errors
    # And an answer of 1 or more is a risk signal whatever else is missing.
    errors = refuse(
        worker,
        episode,
        phq9=[1, 1, 1, 1, 1, 1, 1, None, 2],
        gad7=gad7(5),
        incomplete_reasons={"phq9": NO_TIME},
    )
    assert set(errors) == {"risk_level"}


def test_a_booked_contact_completed_follows_the_same_rules(worker: User, episode: Episode) -> None:
    booking = log(worker, episode, NOW + timedelta(hours=1), attendance=AttendanceCode.BOOKED)
    db.session.commit()
    held = contact_input(NOW + timedelta(hours=1), phq9=NO_ITEM_9, gad7=gad7(5))
    with pytest.raises(ServiceError) as caught:
        record_outcome(worker, booking, held, now=NOW + timedelta(hours=2))
    assert "phq9_9" in caught.value.field_errors
    db.session.rollback()
    record_outcome(
        worker,
        booking,
        replace(held, incomplete_reasons={"phq9": NO_TIME}, risk_level=RiskLevel.NONE),
        now=NOW + timedelta(hours=2),
    )
    assert summary_of(episode).unanswered_risk_items == 1


def test_a_correction_keeps_the_reasons_apart(worker: User, episode: Episode) -> None:
    """A saved contact opened for correction gives back each reason where it was given."""
    contact = log_contact(
        worker,
        episode,
        contact_input(
            phq9=NO_ITEM_9,
            gad7=None,
            incomplete_reasons={"phq9": OTHER},
            incomplete_notes={"phq9": "Tearful; stopped."},
            not_collected_reason=NO_TIME,
            risk_level=RiskLevel.LOW,
        ),
        now=NOW,
    )
    db.session.commit()
    given = as_input(contact)
    assert given.not_collected_reason is NO_TIME  # the GAD-7, never started
    assert given.not_collected_note == ""
    assert given.incomplete_reasons == {"phq9": OTHER}
    assert given.incomplete_notes == {"phq9": "Tearful; stopped."}
    # Saved again as it was, the correction passes the same rules.
    correction = correct_contact(worker, contact, given, reason="Wrong date", now=NOW)
    db.session.commit()
    assert summary_of(episode).incomplete_questionnaires == 1
    mark_entered_in_error(worker, correction, reason="Wrong client")
    db.session.commit()
    assert summary_of(episode).incomplete_questionnaires == 0


# Discharge with open risk ------------------------------------------------------------------


def discharge_now(actor: User, episode: Episode, **kwargs: Any) -> Any:
    values: dict[str, Any] = {
        "reason": DischargeReason.COMPLETED,
        "discharged_on": TODAY,
        "note": "Goals met.",
        "today": TODAY,
    }
    return discharge(actor, episode, **(values | kwargs))


def refuse_discharge(worker: User, episode: Episode, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ServiceError) as caught:
        discharge_now(worker, episode, **kwargs)
    db.session.rollback()
    assert db.session.get(Episode, episode.id).discharged_on is None  # type: ignore[union-attr]
    return caught.value.field_errors


def at_risk(worker: User, episode: Episode) -> None:
    """Two treatment contacts; at the latest, PHQ-9 item 9 was answered 2 (moderate risk)."""
    log_scores(worker, episode, [(14, 11)], start=NOW - timedelta(days=3))
    log(
        worker,
        episode,
        NOW - timedelta(days=1),
        phq9=phq9(12, item9=2),
        gad7_total=9,
        risk_level=RiskLevel.MODERATE,
        risk_action="Safety plan agreed; GP informed.",
    )
    db.session.commit()


def test_open_risk_asks_for_a_confirmation_and_a_risk_plan(worker: User, episode: Episode) -> None:
    at_risk(worker, episode)
    shown = discharge_risk(episode, today=TODAY)
    assert FlagKind.RISK in {f.kind for f in shown}
    errors = refuse_discharge(worker, episode)
    assert set(errors) == {"risk_confirmed", "risk_plan"}
    assert set(refuse_discharge(worker, episode, risk_confirmed=True)) == {"risk_plan"}
    assert set(refuse_discharge(worker, episode, risk_plan="Plan in place.")) == {"risk_confirmed"}
    too_long = refuse_discharge(
        worker, episode, risk_confirmed=True, risk_plan="x" * (MAX_RISK_PLAN + 1)
    )
    assert set(too_long) == {"risk_plan"}


def test_with_both_the_discharge_keeps_the_plan(worker: User, episode: Episode) -> None:
    at_risk(worker, episode)
    discharge_now(
        worker, episode, risk_confirmed=True, risk_plan="  Safety plan reviewed; GP letter.  "
    )
    db.session.commit()
    saved = db.session.get(Episode, episode.id)
    assert saved is not None
    assert saved.discharged_on == TODAY
    assert saved.discharge_risk_plan == "Safety plan reviewed; GP letter."
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "episode.discharge")
    ).one()
    assert event.detail == {"reason": "completed", "open_risk": True}


def test_a_review_does_not_close_a_red_flag_still_open(worker: User, episode: Episode) -> None:
    """A review after the signal: the risk flag is red and still open (a supervision review
    that clears flags comes later), so discharge still asks."""
    at_risk(worker, episode)
    summary = summary_of(episode)
    summary.last_review_on = TODAY
    db.session.commit()
    assert set(refuse_discharge(worker, episode)) == {"risk_confirmed", "risk_plan"}


def test_risk_that_has_settled_asks_nothing(worker: User, episode: Episode) -> None:
    at_risk(worker, episode)
    log(
        worker,
        episode,
        NOW - timedelta(hours=2),
        phq9_total=8,
        gad7_total=6,
        risk_level=RiskLevel.LOW,
    )
    db.session.commit()
    assert discharge_risk(episode, today=TODAY) == ()
    discharge_now(worker, episode, risk_plan="Not asked for, so not kept.")
    db.session.commit()
    assert db.session.get(Episode, episode.id).discharge_risk_plan == ""  # type: ignore[union-attr]


def test_a_red_flag_without_risk_also_asks(worker: User, episode: Episode) -> None:
    log_scores(worker, episode, [(8, 6), (16, 13)])  # reliable deterioration on both
    db.session.commit()
    shown = discharge_risk(episode, today=TODAY)
    # Deterioration is red, and a red-flagged case never reviewed is overdue (red too).
    assert [f.kind for f in shown] == [FlagKind.DETERIORATION, FlagKind.REVIEW_OVERDUE]
    assert set(refuse_discharge(worker, episode)) == {"risk_confirmed", "risk_plan"}


def test_a_blocking_booking_is_named(worker: User, episode: Episode) -> None:
    log_scores(worker, episode, [(12, 9), (8, 6)])
    booking = log(
        worker,
        episode,
        NOW + timedelta(days=2),
        attendance=AttendanceCode.BOOKED,
        contact_type=ContactType.REVIEW,
    )
    db.session.commit()
    assert booked_contacts(episode) == [booking]
    errors = refuse_discharge(worker, episode)
    assert set(errors) == {"booked_contacts"}
    assert errors["booked_contacts"] == (
        "The booked contact (review, telephone, 4 Jun 2025, 13:00) has no outcome yet: "
        "record what happened, or mark it as entered in error, before discharging."
    )


def test_several_blocking_bookings_are_each_named(worker: User, episode: Episode) -> None:
    for days in (2, 9):
        log(worker, episode, NOW + timedelta(days=days), attendance=AttendanceCode.BOOKED)
    db.session.commit()
    message = refuse_discharge(worker, episode)["booked_contacts"]
    assert message.startswith("2 booked contacts have no outcome yet (")
    assert "4 Jun 2025, 13:00" in message
    assert "11 Jun 2025, 13:00" in message


def test_a_booking_settled_no_longer_blocks(worker: User, episode: Episode) -> None:
    booking = log(worker, episode, NOW + timedelta(days=2), attendance=AttendanceCode.BOOKED)
    db.session.commit()
    mark_entered_in_error(worker, booking, reason="Booked on the wrong case")
    db.session.commit()
    assert booked_contacts(episode) == []
    discharge_now(worker, episode)
    db.session.commit()
    assert db.session.get(Contact, booking.id).in_force is False  # type: ignore[union-attr]
