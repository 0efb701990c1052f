"""Turning a submitted contact form into service input, and a saved contact back into a form."""

from __future__ import annotations

from wtforms import Form

from caseload.cases.forms import ContactFormBase
from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    NotCollectedReason,
    RiskLevel,
)
from caseload.domain.dates import LONDON, london_to_utc
from caseload.domain.measures import get_measure
from caseload.domain.scoring import NOT_APPLICABLE, AnswerValue
from caseload.services.contacts import ContactInput


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


def _incomplete_reason(form: Form, measure_id: str) -> NotCollectedReason | None:
    name = f"{measure_id}_incomplete_reason"
    raw = form[name].data if name in form else None
    return NotCollectedReason(raw) if raw else None


def _text(form: Form, name: str) -> str:
    return (form[name].data or "") if name in form else ""


def _difficulty(form: Form, measure_id: str) -> int | None:
    name = f"{measure_id}_difficulty"
    raw = form[name].data if name in form else None
    return int(raw) if raw not in (None, "", "None") else None


def contact_input(form: ContactFormBase) -> ContactInput:
    """The service input for a validated contact form."""
    measures = form.measures
    answers = {m.id: _answers(form, m.id) for m in measures}
    difficulty = {m.id: _difficulty(form, m.id) for m in measures}
    return ContactInput(
        occurred_at=london_to_utc(form.occurred_on.data, form.occurred_time.data),
        contact_type=ContactType(form.contact_type.data),
        mode=ContactMode(form.mode.data),
        attendance=AttendanceCode(int(form.attendance.data)),
        duration_minutes=form.duration_minutes.data,
        intervention=form.intervention.data or None,
        note=form.note.data or "",
        answers={m: a for m, a in answers.items() if a is not None},
        difficulty={m: d for m, d in difficulty.items() if d is not None},
        not_collected_reason=(
            NotCollectedReason(form.not_collected_reason.data)
            if form.measures_not_collected.data and form.not_collected_reason.data
            else None
        ),
        risk_level=RiskLevel(form.risk_level.data) if form.risk_level.data else None,
        risk_factors=form.risk_factors.data or "",
        risk_action=form.risk_action.data or "",
        not_collected_note=(
            (form.not_collected_note.data or "") if form.measures_not_collected.data else ""
        ),
        incomplete_reasons={
            m.id: reason for m in measures if (reason := _incomplete_reason(form, m.id))
        },
        incomplete_notes={
            m.id: note for m in measures if (note := _text(form, f"{m.id}_incomplete_note"))
        },
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
    form.intervention.data = data.intervention or ""
    form.note.data = data.note
    for measure in form.measures:
        values = data.answers.get(measure.id) or []
        for number, value in enumerate(values, start=1):
            form[f"{measure.id}_{number}"].data = (
                None if value is None else "na" if value is NOT_APPLICABLE else str(value)
            )
        if measure.id in data.difficulty and f"{measure.id}_difficulty" in form:
            form[f"{measure.id}_difficulty"].data = str(data.difficulty[measure.id])
        if f"{measure.id}_incomplete_reason" in form:
            reason = data.incomplete_reasons.get(measure.id)
            form[f"{measure.id}_incomplete_reason"].data = reason.value if reason else ""
            form[f"{measure.id}_incomplete_note"].data = data.incomplete_notes.get(measure.id, "")
    form.measures_not_collected.data = data.not_collected_reason is not None
    form.not_collected_reason.data = (
        data.not_collected_reason.value if data.not_collected_reason else ""
    )
    form.not_collected_note.data = data.not_collected_note
    form.risk_level.data = data.risk_level.value if data.risk_level else None
    form.risk_factors.data = data.risk_factors
    form.risk_action.data = data.risk_action
