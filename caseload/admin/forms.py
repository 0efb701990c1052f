"""Forms of the administration pages. Fields and parsing only; the rules live in the
services (caseload/services/audit_trail.py, users.py and settings.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from caseload.domain.codes import Role
from caseload.models import Team, User
from caseload.services.audit_trail import TrailFilters
from caseload.services.settings import SETTINGS, SettingKind
from caseload.web import NhsDateField, enum_choices, options

# The audit trail ---------------------------------------------------------------------

#: The query string keys the audit trail's filters are read from, kept on its links.
AUDIT_FILTER_KEYS = (
    "user",
    "client",
    "action",
    *(f"{name}-{part}" for name in ("date_from", "date_to") for part in ("day", "month", "year")),
)


class AuditFilterForm(FlaskForm):
    """The audit trail's filters. A GET form: bookmarkable, and nothing changes, so no
    CSRF token. Every field may be left empty."""

    class Meta:
        csrf = False

    user = StringField("Username", validators=[Optional()])
    client = StringField("Client service reference", validators=[Optional()])
    action = StringField("Action", validators=[Optional()])
    date_from = NhsDateField("From", subject="the start date", required=False)
    date_to = NhsDateField("To", subject="the end date", required=False)

    def filters(self) -> TrailFilters:
        """The filters as the service takes them."""
        return TrailFilters(
            username=self.user.data or "",
            service_ref=self.client.data or "",
            action=self.action.data or "",
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )


# Accounts and teams ----------------------------------------------------------------

#: The team select's empty choice.
NO_TEAM = ("", "None")


def team_choices(teams: Iterable[Team]) -> list[Any]:
    """Choices of a team select: none, then every team by name."""
    return options([NO_TEAM, *((str(t.id), t.name) for t in teams)])


def people_choices(people: Iterable[User], *, empty: str) -> list[Any]:
    """Choices of a select of accounts: an empty choice, then each by display name."""
    return options(
        [("", empty), *((str(u.id), f"{u.display_name} ({u.username})") for u in people)]
    )


def chosen_id(value: str | None) -> int | None:
    """The id a select posted, or None for its empty choice (the form checked the value
    is one of its options)."""
    return int(value) if value else None


class ActionForm(FlaskForm):
    """A button that changes something: a POST with its CSRF token and nothing else."""


class NewAccountForm(FlaskForm):
    """A new member of staff: username, name, role and team."""

    username = StringField(
        "Username",
        validators=[DataRequired("Enter a username."), Length(max=64)],
    )
    display_name = StringField(
        "Full name",
        validators=[DataRequired("Enter the person's name."), Length(max=120)],
    )
    role = RadioField(
        "Role",
        choices=enum_choices(Role),
        validators=[InputRequired("Choose a role.")],
    )
    team_id = SelectField("Team", choices=options([NO_TEAM]), validators=[Optional()])


class RoleTeamForm(FlaskForm):
    """A new role and team for an account."""

    role = RadioField(
        "Role",
        choices=enum_choices(Role),
        validators=[InputRequired("Choose a role.")],
    )
    team_id = SelectField("Team", choices=options([NO_TEAM]), validators=[Optional()])


class TeamForm(FlaskForm):
    """A new team and, optionally, its supervisor."""

    name = StringField("Team name", validators=[DataRequired("Enter a team name."), Length(max=80)])
    supervisor_id = SelectField(
        "Supervisor", choices=options([("", "No supervisor yet")]), validators=[Optional()]
    )


class RenameTeamForm(FlaskForm):
    """A team's new name."""

    name = StringField("Team name", validators=[DataRequired("Enter a team name."), Length(max=80)])


class SupervisorForm(FlaskForm):
    """A team's supervisor (or none)."""

    supervisor_id = SelectField(
        "Supervisor", choices=options([("", "No supervisor")]), validators=[Optional()]
    )


class AddWorkerForm(FlaskForm):
    """A practitioner to put in the team."""

    worker_id = SelectField(
        "Practitioner",
        choices=options([("", "Choose a practitioner")]),
        validators=[DataRequired("Choose a practitioner.")],
    )


# Settings ----------------------------------------------------------------------------

YES_NO = options([("yes", "Yes"), ("no", "No")])


def settings_form_class() -> type[FlaskForm]:
    """A form with one field per setting (``caseload.services.settings.SETTINGS``):
    numbers as text (the service checks them against their bounds), yes-or-no as radios."""
    fields: dict[str, Any] = {}
    for definition in SETTINGS:
        if definition.kind is SettingKind.YES_NO:
            fields[definition.key] = RadioField(
                definition.label,
                choices=YES_NO,
                validators=[InputRequired(f"Choose yes or no for {definition.label.lower()}.")],
            )
        else:
            fields[definition.key] = StringField(
                definition.label,
                validators=[
                    InputRequired(f"Enter {definition.label.lower()}."),
                    Length(max=20, message=f"Enter {definition.label.lower()} as a number."),
                ],
            )
    return type("SettingsForm", (FlaskForm,), fields)
