"""Logging, booking, completing and correcting contacts. Each keeps the summary current."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from caseload.db import utcnow
from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    EntryStatus,
    NotCollectedReason,
    RiskLevel,
)
from caseload.domain.dates import local_date
from caseload.domain.episodes import is_unfinished, risk_item_unanswered
from caseload.domain.interventions import is_intervention
from caseload.domain.measures import Measure, every_contact_measures, get_measure
from caseload.domain.scoring import NOT_APPLICABLE, AnswerValue, Score, risk_answer, score
from caseload.extensions import db
from caseload.models import Contact, ContactScore, Episode, User
from caseload.services import NotVisible, ServiceError
from caseload.services.audit import record_event, record_event_now
from caseload.services.episodes import check_version, get_episode, refresh_summary

MAX_DURATION_MINUTES = 480
#: Codes that say something happened, so they cannot be recorded ahead of time.
HAPPENED = {
    AttendanceCode.ATTENDED_ON_TIME,
    AttendanceCode.ARRIVED_LATE_SEEN,
    AttendanceCode.DID_NOT_ATTEND,
    AttendanceCode.ARRIVED_LATE_NOT_SEEN,
}


@dataclass(frozen=True)
class ContactInput:
    """Everything the contact form collects.

    ``answers`` maps a measure id to its answers item by item (None for an
    unanswered item); a measure that was not asked is absent. ``difficulty``
    holds the answer to a definition's unscored difficulty question.
    ``not_collected_reason`` says why nothing was asked at an attended contact;
    ``incomplete_reasons`` why a questionnaire that was started was left
    unfinished, by measure id. "Other" comes with the worker's words
    (``not_collected_note``, ``incomplete_notes``).
    """

    occurred_at: datetime
    contact_type: ContactType
    mode: ContactMode
    attendance: AttendanceCode
    duration_minutes: int | None = None
    #: An intervention code from seed_data/interventions.json, or None.
    intervention: str | None = None
    note: str = ""
    answers: Mapping[str, Sequence[AnswerValue]] = field(default_factory=dict)
    difficulty: Mapping[str, int] = field(default_factory=dict)
    not_collected_reason: NotCollectedReason | None = None
    risk_level: RiskLevel | None = None
    risk_factors: str = ""
    risk_action: str = ""
    not_collected_note: str = ""
    incomplete_reasons: Mapping[str, NotCollectedReason] = field(default_factory=dict)
    incomplete_notes: Mapping[str, str] = field(default_factory=dict)


#: The scored questionnaires of one contact, by measure id (absent where not asked).
Scores = dict[str, Score]


def _scores(data: ContactInput, errors: dict[str, str]) -> Scores:
    scores: Scores = {}
    for measure_id, answers in data.answers.items():
        if answers is None or all(a is None for a in answers):
            continue
        try:
            scores[measure_id] = score(get_measure(measure_id), answers)
        except (KeyError, ValueError) as error:
            errors[measure_id] = str(error).strip("'")
    return scores


def validate_contact(
    episode: Episode, data: ContactInput, *, now: datetime, correcting: bool = False
) -> Scores:
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
    if data.intervention is not None and not is_intervention(data.intervention):
        errors["intervention"] = "Choose the intervention from the list."
    scores = _scores(data, errors)
    required = every_contact_measures()
    names = " and ".join(get_measure(m).short_name for m in required)
    if data.attendance.attended:
        if (
            not any(m in scores for m in required)
            and data.not_collected_reason is None
            and not any(m in errors for m in required)
        ):
            errors["not_collected_reason"] = (
                f"Record the {names}, or say why they were not collected."
            )
    elif scores:
        _add(errors, "attendance", "Questionnaires can only be recorded for an attended contact.")
    if (
        data.attendance.attended
        and data.not_collected_reason is not None
        and all(m in scores for m in required)
    ):
        errors["not_collected_reason"] = (
            f"The {names} were all recorded: untick \u201cnot collected\u201d."
        )
    signal = next((s for s in scores.values() if s.risk_signal), None)
    if signal is not None and data.risk_level is None:
        measure = get_measure(signal.measure_id)
        errors["risk_level"] = (
            f"{measure.short_name} item {measure.risk_item} was answered "
            f"{measure.risk_item_signal_from} or more: record a risk assessment before saving."
        )
    if data.risk_level in (RiskLevel.MODERATE, RiskLevel.HIGH) and not data.risk_action.strip():
        errors["risk_action"] = "Say what action was taken for moderate or high risk."
    if data.risk_level is not None and not data.attendance.attended:
        _add(
            errors, "risk_level", "A risk assessment can only be recorded for an attended contact."
        )
    check_questionnaires(data, scores, errors)
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    return scores


#: The longest note kept with an "other" reason for not collecting or not finishing
#: questionnaires (the form says the same).
MAX_REASON_NOTE = 200


def check_questionnaires(data: ContactInput, scores: Scores, errors: dict[str, str]) -> None:
    """The safety rules for questionnaires at an attended contact, for any measure.

    - "Other" as the reason nothing was collected needs the worker's words.
    - A questionnaire started and left unfinished has no total, and saves only with the
      reason it was not finished (declined, no time, other with words).
    - When it left the definition's risk item (PHQ-9 item 9) unanswered, saving also
      needs that item asked, or the reason and a risk assessment. The message is put on
      the item itself, so the error summary at the top of the form links to it.
    """
    if not data.attendance.attended:
        return
    if data.not_collected_reason is not None:
        _check_note(
            data.not_collected_reason,
            data.not_collected_note,
            field="not_collected_note",
            what="the questionnaires were not collected",
            errors=errors,
        )
    for measure_id, result in sorted(scores.items()):
        if not is_unfinished(result.answers):
            continue
        _check_unfinished(get_measure(measure_id), result, data, errors)


def _check_unfinished(
    measure: Measure, result: Score, data: ContactInput, errors: dict[str, str]
) -> None:
    """A started, unfinished questionnaire: its reason, and its risk item."""
    name = measure.short_name
    reason = data.incomplete_reasons.get(measure.id)
    if reason is None:
        answered = sum(1 for a in result.answers if a is not None)
        errors[f"{measure.id}_incomplete_reason"] = (
            f"The {name} has {answered} of {len(result.answers)} items answered, so it "
            "has no total: answer the rest, or say why it was not finished."
        )
    else:
        _check_note(
            reason,
            data.incomplete_notes.get(measure.id, ""),
            field=f"{measure.id}_incomplete_note",
            what=f"the {name} was not finished",
            errors=errors,
        )
    if risk_item_unanswered(measure, result.answers) and (
        reason is None or data.risk_level is None
    ):
        item = measure.item(measure.risk_item or 0)
        instead = (
            f"say why the {name} was not finished and record a risk assessment"
            if reason is None
            else "record a risk assessment below"
        )
        errors[f"{measure.id}_{item.number}"] = (
            f"{name} item {item.number} (\u201c{item.text}\u201d) was not answered. "
            f"Ask it, or {instead}."
        )


def _check_note(
    reason: NotCollectedReason, note: str, *, field: str, what: str, errors: dict[str, str]
) -> None:
    """The worker's own words: required with "other", and short whatever the reason."""
    words = note.strip()
    if reason.needs_note and not words:
        errors[field] = f"Say in a few words why {what}."
    elif len(words) > MAX_REASON_NOTE:
        errors[field] = f"Keep the reason to {MAX_REASON_NOTE} characters or fewer."


def _reason_note(reason: NotCollectedReason | None, note: str) -> str | None:
    """The note kept with a reason: the worker's words for "other", nothing otherwise."""
    if reason is None or not reason.needs_note:
        return None
    return note.strip() or None


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
    contact.scores = _score_rows(data, scores)
    contact.risk_level = data.risk_level
    contact.risk_factors = data.risk_factors.strip()
    contact.risk_action = data.risk_action.strip()


def _score_rows(data: ContactInput, scores: Scores) -> list[ContactScore]:
    """One row per questionnaire asked; at an attended contact, a row with the reason for
    each every-contact measure that was not collected."""
    rows = [
        ContactScore(
            measure_id=measure_id,
            answers=[a if isinstance(a, int) or a is None else "n/a" for a in result.answers],
            total=result.total,
            complete=result.complete,
            risk_answer=risk_answer(get_measure(measure_id), result.answers),
            difficulty=data.difficulty.get(measure_id),
            not_collected_reason=_unfinished_reason(data, result),
            not_collected_note=_reason_note(
                _unfinished_reason(data, result), data.incomplete_notes.get(measure_id, "")
            ),
        )
        for measure_id, result in sorted(scores.items())
    ]
    # Only an attended contact had questionnaires to skip.
    if data.attendance.attended and data.not_collected_reason is not None:
        rows += [
            ContactScore(
                measure_id=m,
                answers=None,
                total=None,
                complete=False,
                not_collected_reason=data.not_collected_reason,
                not_collected_note=_reason_note(data.not_collected_reason, data.not_collected_note),
            )
            for m in every_contact_measures()
            if m not in scores
        ]
    return rows


def _unfinished_reason(data: ContactInput, result: Score) -> NotCollectedReason | None:
    """Why a questionnaire was left unfinished; a finished one keeps no reason."""
    if not is_unfinished(result.answers):
        return None
    return data.incomplete_reasons.get(result.measure_id)


def get_contact_for_change(asker: User, contact_id: int) -> tuple[Contact, Episode]:
    """A contact the asker may change, with its episode (locked and audited once).

    A contact that does not exist, or belongs to an episode the asker may not change,
    is refused the same way and the denial is audited.
    """
    episode_id = db.session.scalar(select(Contact.episode_id).where(Contact.id == contact_id))
    if episode_id is None:
        record_event_now("access.denied", actor=asker, object_type="contact", object_id=contact_id)
        raise NotVisible(contact_id)
    episode = get_episode(asker, episode_id, for_change=True)
    contact = db.session.scalars(
        select(Contact).options(selectinload(Contact.scores)).where(Contact.id == contact_id)
    ).one()  # its episode was just found and locked, so it is there
    return contact, episode


def log_contact(
    actor: User, episode: Episode, data: ContactInput, *, now: datetime | None = None
) -> Contact:
    """Save a new contact (held or booked) and update the episode summary."""
    scores = validate_contact(episode, data, now=now or utcnow())
    contact = Contact(episode=episode, created_by=actor)
    _apply(contact, data, scores)
    db.session.add(contact)
    refresh_summary(episode)
    record_event(
        "contact.book" if contact.is_booked else "contact.create",
        actor=actor,
        object_type="contact",
        object_id=contact.id,
        client_id=episode.client_id,
    )
    return contact


def record_outcome(
    actor: User,
    contact: Contact,
    data: ContactInput,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Contact:
    """Complete a booked contact with what happened: the one in-place change allowed."""
    check_version(contact, expected_version)
    if not contact.is_booked or not contact.in_force:
        raise ServiceError("This contact already has its outcome recorded.")
    if data.attendance is AttendanceCode.BOOKED:
        raise ServiceError(
            "Choose what happened at this contact.",
            field_errors={"attendance": "Choose what happened at this contact."},
        )
    scores = validate_contact(contact.episode, data, now=now or utcnow())
    _apply(contact, data, scores)
    refresh_summary(contact.episode)
    record_event(
        "contact.complete",
        actor=actor,
        object_type="contact",
        object_id=contact.id,
        client_id=contact.episode.client_id,
    )
    return contact


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise ServiceError("Give a reason.", field_errors={"reason": "Give a reason."})
    return reason.strip()


def correct_contact(
    actor: User,
    contact: Contact,
    data: ContactInput,
    *,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Contact:
    """Supersede a saved contact with a corrected copy; the original stays in the history."""
    check_version(contact, expected_version)
    why = _require_reason(reason)
    if not contact.in_force:
        raise ServiceError("Only the current version of a contact can be corrected.")
    if contact.is_booked or data.attendance is AttendanceCode.BOOKED:
        message = (
            "A booking is not corrected: record what happened, or mark it as "
            "entered in error and book again."
        )
        raise ServiceError(message, field_errors={"attendance": message})
    episode = contact.episode
    scores = validate_contact(episode, data, now=now or utcnow(), correcting=True)
    correction = Contact(episode=episode, created_by=actor, supersedes=contact, status_reason=why)
    _apply(correction, data, scores)
    contact.status = EntryStatus.SUPERSEDED
    contact.status_reason = why
    contact.status_changed_at = utcnow()
    db.session.add(correction)
    refresh_summary(episode)
    record_event(
        "contact.correct",
        actor=actor,
        object_type="contact",
        object_id=contact.id,
        client_id=episode.client_id,
        detail={"reason": why},
    )
    return correction


def mark_entered_in_error(
    actor: User, contact: Contact, *, reason: str, expected_version: int | None = None
) -> None:
    """Take a contact out of scoring while keeping it in the history."""
    check_version(contact, expected_version)
    why = _require_reason(reason)
    if not contact.in_force:
        raise ServiceError("This contact is no longer current.")
    contact.status = EntryStatus.ENTERED_IN_ERROR
    contact.status_reason = why
    contact.status_changed_at = utcnow()
    refresh_summary(contact.episode)
    record_event(
        "contact.entered_in_error",
        actor=actor,
        object_type="contact",
        object_id=contact.id,
        client_id=contact.episode.client_id,
        detail={"reason": why},
    )


def as_input(contact: Contact) -> ContactInput:
    """A saved contact's content as form input (to start a correction from it)."""
    return ContactInput(
        occurred_at=contact.occurred_at,
        contact_type=contact.contact_type,
        mode=contact.mode,
        attendance=contact.attendance,
        duration_minutes=contact.duration_minutes,
        intervention=contact.intervention,
        note=contact.note,
        answers={
            s.measure_id: [NOT_APPLICABLE if a == "n/a" else a for a in s.answers]
            for s in contact.scores
            if s.answers is not None
        },
        difficulty={s.measure_id: s.difficulty for s in contact.scores if s.difficulty is not None},
        # A row without answers says why nothing was asked; one with answers, why it was
        # left unfinished.
        not_collected_reason=next(
            (s.not_collected_reason for s in contact.scores if s.answers is None), None
        ),
        not_collected_note=next(
            (s.not_collected_note or "" for s in contact.scores if s.answers is None), ""
        ),
        incomplete_reasons={
            s.measure_id: s.not_collected_reason
            for s in contact.scores
            if s.answers is not None and s.not_collected_reason is not None
        },
        incomplete_notes={
            s.measure_id: s.not_collected_note
            for s in contact.scores
            if s.answers is not None and s.not_collected_note
        },
        risk_level=contact.risk_level,
        risk_factors=contact.risk_factors,
        risk_action=contact.risk_action,
    )
