"""Sign-in forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp


class LoginForm(FlaskForm):
    """Username and passphrase."""

    username = StringField(
        "Username", validators=[DataRequired("Enter your username."), Length(max=64)]
    )
    password = PasswordField(
        "Passphrase", validators=[DataRequired("Enter your passphrase."), Length(max=200)]
    )


class MfaForm(FlaskForm):
    """The 6-digit code from an authenticator app."""

    code = StringField(
        "Security code",
        validators=[
            DataRequired("Enter the 6-digit code from your authenticator app."),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="Enter the code as 6 digits."),
        ],
    )


class LogoutForm(FlaskForm):
    """Sign-out is a POST with a CSRF token and nothing else."""


class NewPassphraseForm(FlaskForm):
    """A passphrase of the user's own, in place of the temporary one (first sign-in)."""

    password = PasswordField(
        "New passphrase",
        validators=[DataRequired("Enter a new passphrase."), Length(max=200)],
    )
    confirmation = PasswordField(
        "New passphrase again",
        validators=[DataRequired("Enter the new passphrase again."), Length(max=200)],
    )


class ConfirmIdentityForm(FlaskForm):
    """The passphrase and a code again, before a sensitive change."""

    password = PasswordField(
        "Passphrase", validators=[DataRequired("Enter your passphrase."), Length(max=200)]
    )
    code = StringField(
        "Security code",
        validators=[
            DataRequired("Enter the 6-digit code from your authenticator app."),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="Enter the code as 6 digits."),
        ],
    )
