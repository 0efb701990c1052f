"""Form helpers every blueprint shares: choices, and submitting a form to a service."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import Form, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from caseload.extensions import db
from caseload.services import Conflict, ServiceError

#: Service field names that differ from the form's.
FIELD_ALIASES = {"occurred_at": "occurred_on"}

CONFLICT_MESSAGE = (
    "Someone else saved this record after you opened it. Your input is kept below: "
    "check the record in another tab, then save again if it is still right."
)


def options(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """Choices for a select, radio or checkbox field from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def enum_choices(enum_cls: Any) -> list[SelectChoice]:
    """Choices for a labelled enum."""
    return options((m.value, m.label) for m in enum_cls)


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes sharing one name."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


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


@dataclass(frozen=True)
class Submission:
    """What happened to a submitted form: saved (with the service's result), or the
    problems to show and the status to show them with."""

    saved: bool
    status: int = 200
    problems: tuple[str, ...] = ()
    result: Any = None


def submit(form: FlaskForm, save: Callable[[], Any]) -> Submission:
    """Validate a form and, when valid, run one service call in a savepoint.

    A refused rule puts its messages on the form (400); someone else's newer save,
    or a clash with a row saved at the same moment, is a conflict (409). Either way
    nothing of the save is kept, but the request's earlier audit events are: the
    savepoint undoes only the save, and the request commits once at its end.
    """
    if not form.validate_on_submit():
        return Submission(saved=False, status=400 if request.method == "POST" else 200)
    try:
        with db.session.begin_nested():
            result = save()
    except (Conflict, StaleDataError, IntegrityError):
        return Submission(saved=False, status=409, problems=(CONFLICT_MESSAGE,))
    except ServiceError as error:
        return Submission(
            saved=False, status=400, problems=tuple(apply_service_errors(form, error))
        )
    return Submission(saved=True, result=result)
