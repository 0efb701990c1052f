"""Turning submitted forms into service input, and service errors back onto forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import Form

from caseload.cases.forms import CONTACT_MEASURES, ContactFormBase
from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    Intervention,
    NotCollectedReason,
    RiskLevel,
)
from caseload.domain.dates import LONDON, london_to_utc
from caseload.domain.measures import get_measure
from caseload.domain.scoring import NOT_APPLICABLE, AnswerValue
from caseload.extensions import db
from caseload.services import Conflict, ServiceError
from caseload.services.contacts import ContactInput

#: Service field names that differ from the form's.
FIELD_ALIASES = {"occurred_at": "occurred_on"}


def london_now() -> datetime:
    """The current time in the UK."""
    return datetime.now(LONDON)


def today_in_london() -> date:
    """Today's date in the UK (the date a clinician means by "today")."""
    return london_now().date()


def _answers(form: Form, measure_id: str) -> list[AnswerValue] | None:
    measure = get_measure(measure_id)
    values: list[AnswerValue] = []
    for item in measure.items:
        raw = form[f"{measure_id}_{item.number}"].data
        if raw in (None, "", "None"):
            values.append(None)
        elif raw == "na":
            values.append(NOT_APPLICABLE)
        else:
            values.append(int(raw))
    return None if all(v is None for v in values) else values


def contact_input(form: ContactFormBase) -> ContactInput:
    """The service input for a validated contact form."""
    answers = {m: _answers(form, m) for m in CONTACT_MEASURES}
    difficulty = form["phq9_difficulty"].data if "phq9_difficulty" in form else None
    return ContactInput(
        occurred_at=london_to_utc(form.occurred_on.data, form.occurred_time.data),
        contact_type=ContactType(form.contact_type.data),
        mode=ContactMode(form.mode.data),
        attendance=AttendanceCode(int(form.attendance.data)),
        duration_minutes=form.duration_minutes.data,
        intervention=Intervention(form.intervention.data) if form.intervention.data else None,
        note=form.note.data or "",
        phq9=answers["phq9"],
        phq9_difficulty=int(difficulty) if difficulty not in (None, "", "None") else None,
        gad7=answers["gad7"],
        wsas=answers["wsas"],
        not_collected_reason=(
            NotCollectedReason(form.not_collected_reason.data)
            if form.measures_not_collected.data and form.not_collected_reason.data else None
        ),
        risk_level=RiskLevel(form.risk_level.data) if form.risk_level.data else None,
        risk_factors=form.risk_factors.data or "",
        risk_action=form.risk_action.data or "",
    )


def fill_contact_form(form: ContactFormBase, data: ContactInput) -> None:
    """Put a saved contact's content into a form (to correct or complete it)."""
    local = data.occurred_at.astimezone(LONDON)
    form.occurred_on.data = local.date()
    form.occurred_time.data = local.time().replace(second=0, microsecond=0)
    form.contact_type.data = data.contact_type.value
    form.mode.data = data.mode.value
    form.attendance.data = str(int(data.attendance))
    form.duration_minutes.data = data.duration_minutes
    form.intervention.data = data.intervention.value if data.intervention else ""
    form.note.data = data.note
    for measure_id in CONTACT_MEASURES:
        values = getattr(data, measure_id) or []
        for number, value in enumerate(values, start=1):
            form[f"{measure_id}_{number}"].data = (
                None if value is None else "na" if value is NOT_APPLICABLE else str(value)
            )
    if data.phq9_difficulty is not None:
        form["phq9_difficulty"].data = str(data.phq9_difficulty)
    form.measures_not_collected.data = data.not_collected_reason is not None
    form.not_collected_reason.data = (
        data.not_collected_reason.value if data.not_collected_reason else ""
    )
    form.risk_level.data = data.risk_level.value if data.risk_level else None
    form.risk_factors.data = data.risk_factors
    form.risk_action.data = data.risk_action


def apply_service_errors(form: Form, error: ServiceError) -> list[str]:
    """Attach a service's field errors to the form; return the messages with no field."""
    unplaced: list[str] = []
    for key, message in error.field_errors.items():
        name = FIELD_ALIASES.get(key, key)
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            unplaced.append(message)
    if not error.field_errors:
        unplaced.append(error.message)
    return unplaced



def expected_version(raw: str | None) -> int:
    """The record version a form was opened at. A missing value or one that is not a
    version cannot be trusted to be current, so it is treated as a conflict."""
    if raw and raw.isascii() and raw.isdigit():
        return int(raw)
    raise Conflict(raw)


CONFLICT_MESSAGE = (
    "Someone else saved this record after you opened it. Your input is kept below: "
    "check the record in another tab, then save again if it is still right."
)


@dataclass(frozen=True)
class Submission:
    """What happened to a submitted form: saved (with the service's result), or the
    problems to show and the status to show them with."""

    saved: bool
    status: int = 200
    problems: tuple[str, ...] = ()
    result: Any = None


def submit(form: FlaskForm, save: Callable[[], Any]) -> Submission:
    """Validate a form and, when valid, run one service call and commit.

    A refused rule puts its messages on the form (400); someone else's newer save,
    or a clash with a row saved at the same moment, is a conflict (409). Either way
    nothing of the save is kept.
    """
    if not form.validate_on_submit():
        return Submission(saved=False, status=400 if request.method == "POST" else 200)
    try:
        # A savepoint, so a refusal undoes the save but keeps what the request already
        # recorded (the audit event for reading the record the form is shown on).
        with db.session.begin_nested():
            result = save()
    except (Conflict, StaleDataError, IntegrityError):
        return Submission(saved=False, status=409, problems=(CONFLICT_MESSAGE,))
    except ServiceError as error:
        return Submission(saved=False, status=400,
                          problems=tuple(apply_service_errors(form, error)))
    db.session.commit()
    return Submission(saved=True, result=result)
