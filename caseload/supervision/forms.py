"""Supervision forms. Fields and parsing only; the rules live in the supervision service."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, Form, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from caseload.domain.codes import SupervisionDecision
from caseload.models.supervision import FLAG_KEY_LENGTH
from caseload.web import NhsDateField, enum_choices, options

#: The largest database id (the ``<int:...>`` route converter's limit too).
MAX_ROW_ID = 2**31 - 1
#: More flag keys than any case can hold at once: a post with more was not made by the form.
MAX_FLAG_KEYS = 50


def row_id(text: object) -> int | None:
    """A database id written as ASCII digits, within range; None for anything else."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ROW_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ROW_ID else None


class RowId:
    """A field validator: the value is a database id (a blank value passes ``Optional``)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        """Refuse anything but an id."""
        if row_id(field.data) is None:
            raise ValidationError(self.message)


class KeyListField(Field):
    """Several hidden values under one name: the keys of the flags a form showed.

    Rendered by the template as one hidden input per key. ``data`` is a list of strings;
    a post with too many keys, or one too long to be a flag's key, is refused.
    """

    data: list[str]

    def _value(self) -> str:
        return ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Keep every posted key as given."""
        self.data = [value for value in valuelist if isinstance(value, str)]

    def pre_validate(self, form: Form) -> None:
        """Keys as the form wrote them: a few, each the length of a flag key at most."""
        keys = self.data or []
        if len(keys) > MAX_FLAG_KEYS or any(len(key) > FLAG_KEY_LENGTH for key in keys):
            raise ValidationError("The flags shown on the form were not recognised.")


class ReviewForm(FlaskForm):
    """A supervision review of one case: why, what was decided, a note, when next."""

    reason = TextAreaField(
        "Why was this case discussed?",
        validators=[DataRequired("Give the reason for discussing this case."), Length(max=2000)],
    )
    decision = RadioField(
        "What was decided?",
        choices=enum_choices(SupervisionDecision),
        validators=[InputRequired("Choose what was decided.")],
    )
    note = TextAreaField("Note for the practitioner", validators=[Optional(), Length(max=5000)])
    next_review_on = NhsDateField(
        "Next review date (optional)", subject="the next review date", required=False
    )
    flags_seen = KeyListField()
    #: The supervision session the review is made in, if any.
    session_id = HiddenField(validators=[Optional(), RowId("The session was not recognised.")])

    @property
    def session(self) -> int | None:
        """The session id posted with the review, if any."""
        return row_id(self.session_id.data)


class ReassignForm(FlaskForm):
    """Move a case to another practitioner in the same team, with a reason."""

    to_worker_id = SelectField(
        "Move the case to",
        choices=options([("", "Choose a practitioner")]),
        validators=[InputRequired("Choose the practitioner to move the case to.")],
    )
    reason = TextAreaField(
        "Reason for the move",
        validators=[DataRequired("Give the reason for moving the case."), Length(max=2000)],
    )
    version = HiddenField()


class StartSessionForm(FlaskForm):
    """Start a supervision session with one practitioner."""

    worker_id = HiddenField(
        validators=[InputRequired("Choose a practitioner."), RowId("Choose a practitioner.")]
    )


class MoveForm(FlaskForm):
    """Go to another case of a session (previous or next)."""

    position = HiddenField(
        validators=[InputRequired("Choose a case."), RowId("Choose a case of this session.")]
    )


class EndSessionForm(FlaskForm):
    """End a supervision session (the CSRF token is the whole form)."""
