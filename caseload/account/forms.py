"""Forms of the own-account pages."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, Length


class ChangePassphraseForm(FlaskForm):
    """The current passphrase and a new one, twice."""

    current = PasswordField(
        "Current passphrase",
        validators=[DataRequired("Enter your current passphrase."), Length(max=200)],
    )
    password = PasswordField(
        "New passphrase",
        validators=[DataRequired("Enter a new passphrase."), Length(max=200)],
    )
    confirmation = PasswordField(
        "New passphrase again",
        validators=[DataRequired("Enter the new passphrase again."), Length(max=200)],
    )


class EndOthersForm(FlaskForm):
    """End every other session: a POST with its CSRF token and nothing else."""


class EndSessionForm(FlaskForm):
    """End one other session, by its id."""

    session_id = HiddenField(validators=[DataRequired(), Length(max=64)])
