"""Logging, booking, completing and correcting contacts. Each keeps the summary current."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from caseload.db import utcnow
from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    Intervention,
    NotCollectedReason,
    RiskLevel,
)
from caseload.domain.dates import local_date
from caseload.domain.measures import get_measure
from caseload.domain.scoring import AnswerValue, Score, score
from caseload.extensions import db
from caseload.models import Contact, EntryStatus, Episode, User
from caseload.services import ServiceError
from caseload.services.audit import record_event
from caseload.services.episodes import check_version, refresh_summary

MAX_DURATION_MINUTES = 480
#: Codes that say something happened, so they cannot be recorded ahead of time.
HAPPENED = {AttendanceCode.ATTENDED_ON_TIME, AttendanceCode.ARRIVED_LATE_SEEN,
            AttendanceCode.DID_NOT_ATTEND, AttendanceCode.ARRIVED_LATE_NOT_SEEN}


@dataclass(frozen=True)
class ContactInput:
    """Everything the contact form collects. Answers are item by item, or None if not asked."""

    occurred_at: datetime
    contact_type: ContactType
    mode: ContactMode
    attendance: AttendanceCode
    duration_minutes: int | None = None
    intervention: Intervention | None = None
    note: str = ""
    phq9: Sequence[AnswerValue] | None = None
    phq9_difficulty: int | None = None
    gad7: Sequence[AnswerValue] | None = None
    wsas: Sequence[AnswerValue] | None = None
    not_collected_reason: NotCollectedReason | None = None
    risk_level: RiskLevel | None = None
    risk_factors: str = ""
    risk_action: str = ""


@dataclass(frozen=True)
class Scores:
    """The scored questionnaires of one contact (None where not asked)."""

    phq9: Score | None
    gad7: Score | None
    wsas: Score | None


def _score(measure_id: str, answers: Sequence[AnswerValue] | None,
           errors: dict[str, str]) -> Score | None:
    if answers is None or all(a is None for a in answers):
        return None
    try:
        return score(get_measure(measure_id), answers)
    except ValueError as error:
        errors[measure_id] = str(error)
        return None


def validate_contact(episode: Episode, data: ContactInput, *, now: datetime,
                     correcting: bool = False) -> Scores:
    """Check a contact against the rules; raise ServiceError naming every bad field.

    A discharged episode takes no new contacts, but its record can still be
    corrected (the national return must be right), within its dates.
    """
    errors: dict[str, str] = {}
    if not episode.is_open and not correcting:
        raise ServiceError("This episode is discharged; contacts can no longer be added.")
    if data.occurred_at.tzinfo is None:
        errors["occurred_at"] = "Enter the date and time of the contact."
    elif local_date(data.occurred_at) < episode.referral_date:
        errors["occurred_at"] = "A contact cannot be before the referral date."
    elif episode.discharged_on is not None and local_date(data.occurred_at) > episode.discharged_on:
        errors["occurred_at"] = "A contact cannot be after the discharge date."
    elif data.attendance in HAPPENED and data.occurred_at > now:
        errors["occurred_at"] = (
            "A contact that has happened cannot be dated in the future. "
            "To plan one ahead, book it instead."
        )
    elif data.attendance is AttendanceCode.BOOKED and data.occurred_at <= now:
        errors["attendance"] = "A booking must be in the future: record what happened instead."
    duration = data.duration_minutes
    if duration is not None and not 1 <= duration <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = (
            f"Duration must be between 1 and {MAX_DURATION_MINUTES} minutes."
        )
    scores = Scores(
        phq9=_score("phq9", data.phq9, errors),
        gad7=_score("gad7", data.gad7, errors),
        wsas=_score("wsas", data.wsas, errors),
    )
    any_scores = any(s is not None for s in (scores.phq9, scores.gad7, scores.wsas))
    if data.attendance.attended:
        if scores.phq9 is None and scores.gad7 is None and data.not_collected_reason is None \
                and "phq9" not in errors and "gad7" not in errors:
            errors["not_collected_reason"] = (
                "Record the PHQ-9 and GAD-7, or say why they were not collected."
            )
    elif any_scores:
        _add(errors, "attendance", "Questionnaires can only be recorded for an attended contact.")
    if data.attendance.attended and data.not_collected_reason is not None and any_scores \
            and scores.phq9 is not None and scores.gad7 is not None:
        errors["not_collected_reason"] = (
            "Both questionnaires were recorded: untick \u201cnot collected\u201d."
        )
    item9_risk = scores.phq9 is not None and scores.phq9.risk_signal
    if item9_risk and data.risk_level is None:
        errors["risk_level"] = (
            "PHQ-9 item 9 was answered 1 or more: record a risk assessment before saving."
        )
    if data.risk_level in (RiskLevel.MODERATE, RiskLevel.HIGH) and not data.risk_action.strip():
        errors["risk_action"] = "Say what action was taken for moderate or high risk."
    if data.risk_level is not None and not data.attendance.attended:
        _add(errors, "risk_level",
             "A risk assessment can only be recorded for an attended contact.")
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    return scores


def _add(errors: dict[str, str], field: str, message: str) -> None:
    """Add a message for a field, keeping any message it already has."""
    errors[field] = f"{errors[field]} {message}" if field in errors else message


def _apply(contact: Contact, data: ContactInput, scores: Scores) -> None:
    contact.occurred_at = data.occurred_at
    contact.contact_type = data.contact_type
    contact.mode = data.mode
    contact.attendance = data.attendance
    contact.duration_minutes = data.duration_minutes
    contact.intervention = data.intervention
    contact.note = data.note.strip()
    contact.phq9_answers = _stored(scores.phq9)
    contact.phq9_total = scores.phq9.total if scores.phq9 else None
    contact.phq9_item9 = _item(scores.phq9, 9)
    contact.phq9_difficulty = data.phq9_difficulty if scores.phq9 else None
    contact.gad7_answers = _stored(scores.gad7)
    contact.gad7_total = scores.gad7.total if scores.gad7 else None
    contact.wsas_answers = _stored(scores.wsas)
    contact.wsas_total = scores.wsas.total if scores.wsas else None
    # Only an attended contact had questionnaires to skip.
    contact.not_collected_reason = data.not_collected_reason if data.attendance.attended else None
    contact.risk_level = data.risk_level
    contact.risk_factors = data.risk_factors.strip()
    contact.risk_action = data.risk_action.strip()


def _stored(result: Score | None) -> list[int | str | None] | None:
    if result is None:
        return None
    return [a if isinstance(a, int) or a is None else "n/a" for a in result.answers]


def _item(result: Score | None, number: int) -> int | None:
    if result is None:
        return None
    value = result.answers[number - 1]
    return value if isinstance(value, int) else None


def log_contact(actor: User, episode: Episode, data: ContactInput, *,
                now: datetime | None = None) -> Contact:
    """Save a new contact (held or booked) and update the episode summary."""
    scores = validate_contact(episode, data, now=now or utcnow())
    contact = Contact(episode=episode, created_by=actor)
    _apply(contact, data, scores)
    db.session.add(contact)
    refresh_summary(episode)
    record_event(
        "contact.book" if contact.is_booked else "contact.create",
        actor=actor, object_type="contact", object_id=contact.id, client_id=episode.client_id,
    )
    return contact


def record_outcome(actor: User, contact: Contact, data: ContactInput, *,
                   expected_version: int | None = None, now: datetime | None = None) -> Contact:
    """Complete a booked contact with what happened: the one in-place change allowed."""
    check_version(contact, expected_version)
    if not contact.is_booked or not contact.in_force:
        raise ServiceError("This contact already has its outcome recorded.")
    if data.attendance is AttendanceCode.BOOKED:
        raise ServiceError("Choose what happened at this contact.",
                           field_errors={"attendance": "Choose what happened at this contact."})
    scores = validate_contact(contact.episode, data, now=now or utcnow())
    _apply(contact, data, scores)
    refresh_summary(contact.episode)
    record_event("contact.complete", actor=actor, object_type="contact", object_id=contact.id,
                 client_id=contact.episode.client_id)
    return contact


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise ServiceError("Give a reason.", field_errors={"reason": "Give a reason."})
    return reason.strip()


def correct_contact(actor: User, contact: Contact, data: ContactInput, *, reason: str,
                    expected_version: int | None = None,
                    now: datetime | None = None) -> Contact:
    """Supersede a saved contact with a corrected copy; the original stays in the history."""
    check_version(contact, expected_version)
    why = _require_reason(reason)
    if not contact.in_force:
        raise ServiceError("Only the current version of a contact can be corrected.")
    if contact.is_booked or data.attendance is AttendanceCode.BOOKED:
        message = ("A booking is not corrected: record what happened, or mark it as "
                   "entered in error and book again.")
        raise ServiceError(message, field_errors={"attendance": message})
    episode = contact.episode
    scores = validate_contact(episode, data, now=now or utcnow(), correcting=True)
    correction = Contact(episode=episode, created_by=actor, supersedes=contact,
                         status_reason=why)
    _apply(correction, data, scores)
    contact.status = EntryStatus.SUPERSEDED
    contact.status_reason = why
    contact.status_changed_at = utcnow()
    db.session.add(correction)
    refresh_summary(episode)
    record_event("contact.correct", actor=actor, object_type="contact", object_id=contact.id,
                 client_id=episode.client_id, detail={"reason": why})
    return correction


def mark_entered_in_error(actor: User, contact: Contact, *, reason: str,
                          expected_version: int | None = None) -> None:
    """Take a contact out of scoring while keeping it in the history."""
    check_version(contact, expected_version)
    why = _require_reason(reason)
    if not contact.in_force:
        raise ServiceError("This contact is no longer current.")
    contact.status = EntryStatus.ENTERED_IN_ERROR
    contact.status_reason = why
    contact.status_changed_at = utcnow()
    refresh_summary(contact.episode)
    record_event("contact.entered_in_error", actor=actor, object_type="contact",
                 object_id=contact.id, client_id=contact.episode.client_id,
                 detail={"reason": why})


def as_input(contact: Contact) -> ContactInput:
    """A saved contact's content as form input (to start a correction from it)."""
    def answers(raw: list[int | str | None] | None) -> list[AnswerValue] | None:
        if raw is None:
            return None
        from caseload.domain.scoring import NOT_APPLICABLE

        return [NOT_APPLICABLE if a == "n/a" else a for a in raw]  # type: ignore[misc]

    return ContactInput(
        occurred_at=contact.occurred_at, contact_type=contact.contact_type, mode=contact.mode,
        attendance=contact.attendance, duration_minutes=contact.duration_minutes,
        intervention=contact.intervention, note=contact.note,
        phq9=answers(contact.phq9_answers), phq9_difficulty=contact.phq9_difficulty,
        gad7=answers(contact.gad7_answers), wsas=answers(contact.wsas_answers),
        not_collected_reason=contact.not_collected_reason, risk_level=contact.risk_level,
        risk_factors=contact.risk_factors, risk_action=contact.risk_action,
    )

