"""The reflective note form. Fields only; the rules live in the notes service."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from caseload.domain.codes import ReflectiveTheme
from caseload.web import MultiCheckboxField, enum_choices, options


class NoteForm(FlaskForm):
    """A reflective note."""

    text = TextAreaField(
        "Your reflection", validators=[DataRequired("Write your reflection."), Length(max=10_000)]
    )
    themes = MultiCheckboxField(
        "Themes",
        choices=enum_choices(ReflectiveTheme),
        validators=[DataRequired("Choose at least one theme.")],
    )
    episode_id = SelectField(
        "Linked case (optional)", choices=options([("", "No case")]), validators=[Optional()]
    )
    manageability = RadioField(
        "How manageable does your caseload feel? (optional)",
        choices=options(
            [
                ("1", "1 - not at all"),
                ("2", "2"),
                ("3", "3"),
                ("4", "4"),
                ("5", "5 - very manageable"),
            ]
        ),
        validators=[Optional()],
    )
    shared_with_supervisor = BooleanField("Share this note with my supervisor")
