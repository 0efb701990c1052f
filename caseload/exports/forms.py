"""The letter form: the draft in a text box, edited before it is saved."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from caseload.services.letters import MAX_LETTER_LENGTH


class LetterForm(FlaskForm):
    """A letter to the GP, drafted from its template; the worker edits it, then saves it."""

    body = TextAreaField(
        "The letter",
        validators=[
            DataRequired("Write the letter before saving it."),
            Length(
                max=MAX_LETTER_LENGTH,
                message=f"The letter must be {MAX_LETTER_LENGTH:,} characters or fewer.",
            ),
        ],
    )
