"""Hostile input: every form, driven by Hypothesis, never answers 500 and never half-saves.

Each form is described once in the registry ``FORMS`` below. For each description a
Hypothesis test signs in as the form's role, builds the records its URL needs, and
posts generated values with a valid CSRF token (and the record's current version
where the form carries one): huge, empty and whitespace strings, NUL, right-to-left
marks, non-ASCII digits, HTML and template payloads, out-of-range and wrong-typed
numbers, impossible dates and times, values outside a choice's options, and each
field possibly missing, sent twice, or sent as a multipart file part. It asserts:

- no response has a status of 500 or above;
- a value holding NUL is refused with 400 (caseload/web/requests.py);
- when the response is not a success redirect, no row was added to or changed in
  the form's listed tables (row count and highest ``version`` of each, compared
  before and after).

Adding your form (one entry in ``FORMS``)::

    FormSpec(
        name="book appointment",                 # the test id
        endpoint="diary.book",                   # the view's endpoint
        role=Role.WORKER,                        # who signs in; None: nobody
        url=lambda t: f"/episodes/{t.episode.id}/book",
        fields=fields_of(BookingForm),           # or a tuple of Field(...) by hand
        tables=("contacts", "contact_scores"),   # must not change when refused
        version=lambda t: t.episode.version,     # only if the form carries `version`
    )

- ``url`` receives a ``Targets``: the signed-in ``t.user`` and records made on
  first use through the services: ``t.episode`` (an open episode of the user's),
  ``t.contact`` (an attended contact on it), ``t.booked`` (a past booking still
  awaiting its outcome), ``t.discharged`` (a discharged episode). Need another?
  Add a ``cached_property`` to ``Targets`` (targeted edit). Records are made
  afresh after any response that may have saved (a status below 400, except a
  form shown again with its problems: 200 with its tables unchanged), so a
  successful example never spoils the next one.
- ``fields_of(FormClass, **overrides)`` reads the fields and their kinds from a
  WTForms class (string and text area: text; select and radio: choice with the
  class's choices; integer; date; time; boolean: checkbox; select-multiple:
  multi; a hidden ``version``: version). Pass ``name=Field(...)`` to override one,
  ``name=None`` to leave one out. Choices set in the view at run time (a list of
  the user's cases) are unknown to the class: give them with an override, e.g.
  ``episode_id=Field("episode_id", CHOICE, (Live(lambda t: str(t.episode.id)),))``.
- ``Field(name, kind, valid)``: ``valid`` holds realistic values (the choices of a
  choice field, an example for text); a ``Live(fn)`` is worked out at posting time
  from the targets (a username, a TOTP code). Kinds: TEXT, CHOICE, INTEGER, DATE,
  TIME, CHECKBOX, MULTI, VERSION. A date typed in the NHS.UK day, month and year
  boxes takes ``boxes=True`` (``fields_of`` sets it for an ``NhsDateField``): the
  harness then posts either the three boxes or one ISO value.
- ``before(client, targets)`` runs just before each post (the code form first
  posts the passphrase; the CSRF token is then read again from the form's page);
  ``fresh_sign_in=True`` signs in again for every example (sign-out ends the
  session).
- Every example must pass the CSRF check: a refused token fails the test, since
  the form would never have been read.
- ``tables`` are table names (``db.metadata.tables``); list every table the
  form's service writes, except the audit trail (reads and refusals are audited).

The number of examples per form is 60; CASELOAD_HOSTILE_EXAMPLES raises it (the
reliability run uses 500). A failure prints the smallest example Hypothesis found;
fix it at the mechanism (the form layer in caseload/web/forms.py, the request hooks
in caseload/web/requests.py), not in one view.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, cached_property
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField

from caseload.account.forms import ChangePassphraseForm
from caseload.admin.forms import (
    AddWorkerForm,
    NewAccountForm,
    RenameTeamForm,
    RoleTeamForm,
    SupervisorForm,
    TeamForm,
    settings_form_class,
)
from caseload.auth.forms import ConfirmIdentityForm, LoginForm, MfaForm, NewPassphraseForm
from caseload.cases.forms import (
    ConsentForm,
    CorrectionMixin,
    DischargeForm,
    ReasonForm,
    RecordInErrorForm,
    RegisterClientForm,
    contact_form_class,
)
from caseload.clients.forms import ReferralForm
from caseload.diary.forms import BookingForm, DiaryOutcomeForm
from caseload.domain.codes import AttendanceCode, RiskLevel, Role
from caseload.exports.forms import LetterForm
from caseload.extensions import db
from caseload.models import Episode, User
from caseload.notes.forms import NoteForm
from caseload.services import episodes as episode_service
from caseload.services import supervision as supervision_service
from caseload.services.bookings import next_working_day
from caseload.services.passwords import hash_password
from caseload.services.settings import SETTINGS, SettingKind
from caseload.supervision.forms import (
    EndSessionForm,
    MoveForm,
    ReassignForm,
    ReviewForm,
    StartSessionForm,
)
from caseload.web import today_in_london
from caseload.web.forms import NhsDateField
from tests.conftest import PASSWORD, csrf_token, make_user, next_code, sign_in
from tests.web.helpers import add_contact, book_past, make_case

EXAMPLES = int(os.environ.get("CASELOAD_HOSTILE_EXAMPLES", "60"))

# Field kinds.
TEXT = "text"
CHOICE = "choice"
INTEGER = "integer"
DATE = "date"
TIME = "time"
CHECKBOX = "checkbox"
MULTI = "multi"
VERSION = "version"
KINDS = (TEXT, CHOICE, INTEGER, DATE, TIME, CHECKBOX, MULTI, VERSION)


# The records a form's URL and values are built from ------------------------------------


class Targets:
    """The signed-in user and the records a form needs, each made on first use."""

    def __init__(self, user: User | None) -> None:
        self.user = user

    @property
    def worker(self) -> User:
        assert self.user is not None, "this form needs a signed-in user"
        return self.user

    @cached_property
    def episode(self) -> Episode:
        """An open episode held by the user, with one attended contact."""
        episode = make_case(self.worker, name="Hostile Input")
        add_contact(self.worker, episode)
        return episode

    @cached_property
    def risky_episode(self) -> Episode:
        """An open episode of the user's with risk open (PHQ-9 item 9 answered 2 at its
        latest contact), so its discharge form asks for a confirmation and a risk plan."""
        episode = make_case(self.worker, name="Hostile Risk")
        add_contact(
            self.worker,
            episode,
            phq9=(1, 1, 1, 1, 1, 1, 1, 1, 2),
            risk_level=RiskLevel.MODERATE,
            risk_action="Safety plan agreed.",
        )
        return episode

    @cached_property
    def ptsd_episode(self) -> Episode:
        """An open PTSD episode of the user's: its contact form asks the PCL-5, its ADSM."""
        episode = make_case(self.worker, name="Hostile Trauma", presenting_problem=PTSD)
        add_contact(self.worker, episode)
        return episode

    @cached_property
    def contact(self) -> Any:
        """An attended contact on the user's open episode."""
        return add_contact(self.worker, self.episode)

    @cached_property
    def booked(self) -> Any:
        """A booking whose time has passed, awaiting its outcome."""
        return book_past(self.worker, self.episode)

    @cached_property
    def discharged(self) -> Episode:
        """A discharged episode of the user's."""
        from caseload.domain.codes import DischargeReason

        episode = make_case(self.worker, name="Hostile Discharged")
        add_contact(self.worker, episode, attendance=AttendanceCode.ATTENDED_ON_TIME)
        episode_service.discharge(
            self.worker,
            episode,
            reason=DischargeReason(next(iter(DischargeReason)).value),
            discharged_on=today_in_london(),
            note="",
            today=today_in_london(),
            expected_version=episode.version,
            risk_confirmed=True,
            risk_plan="Reviewed before discharge.",
        )
        db.session.commit()
        return episode

    @cached_property
    def team_episode(self) -> Episode:
        """For a supervisor: an open episode of a worker in their team, flagged (never
        reviewed, referred 40 days ago: review overdue), with a colleague in the team to
        move it to."""
        worker = make_user(Role.WORKER, team="North team")
        make_user(Role.WORKER, team="North team")
        episode = make_case(worker, name="Hostile Team Case", referral_days_ago=40)
        add_contact(worker, episode)
        return episode

    @cached_property
    def team_session(self) -> Any:
        """For a supervisor: their open session with the team episode's worker."""
        session = supervision_service.start_session(
            self.worker, worker_id=self.team_episode.worker_id, today=today_in_london()
        )
        db.session.commit()
        return session

    def team_flag_key(self) -> str:
        """The key of a flag the team episode's review form shows."""
        to_discuss, _seen = supervision_service.case_flags(
            self.worker, self.team_episode, today=today_in_london()
        )
        return to_discuss[0].key

    @cached_property
    def account(self) -> User:
        """For an administrator: a practitioner in the North team, to change or move."""
        return make_user(Role.WORKER, team="North team")

    @cached_property
    def member(self) -> User:
        """For an administrator: a practitioner with no cases, in a team of their own."""
        return make_user(Role.WORKER, team=f"Hostile team {uuid.uuid4().hex[:8]}")

    @cached_property
    def supervisor_account(self) -> User:
        """For an administrator: a supervisor who leads no team yet."""
        return make_user(Role.SUPERVISOR, team=None)


@dataclass(frozen=True)
class Live:
    """A value worked out when the form is posted (it depends on the targets)."""

    make: Callable[[Targets], str]
    label: str = "live"

    def __repr__(self) -> str:
        return f"Live({self.label})"


Value = str | Live


@dataclass(frozen=True)
class Field:
    """One form field: its posted name, its kind and some realistic values."""

    name: str
    kind: str
    valid: tuple[Value, ...] = ()
    #: A DATE typed in day, month and year boxes (``<name>-day`` ...), as the NHS.UK
    #: date input posts it; the harness also sends one ISO value under ``name``.
    boxes: bool = False

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert not self.boxes or self.kind == DATE, "only a date has boxes"


@dataclass(frozen=True)
class FormSpec:
    """How to reach one form and what it must never do with hostile input."""

    name: str
    endpoint: str
    role: Role | None
    url: Callable[[Targets], str]
    fields: tuple[Field, ...]
    tables: tuple[str, ...]
    version: Callable[[Targets], int] | None = None
    before: Callable[[FlaskClient, Targets], None] | None = None
    fresh_sign_in: bool = False
    examples: int = field(default=EXAMPLES)


def fields_of(form_class: type, **overrides: Field | None) -> tuple[Field, ...]:
    """A form class's fields with their kinds (``csrf_token`` is added by the test)."""
    found: list[tuple[int, Field]] = []
    for attr in dir(form_class):
        unbound = getattr(form_class, attr, None)
        if not isinstance(unbound, UnboundField):
            continue
        if attr in overrides:
            override = overrides[attr]
            if override is not None:
                found.append((unbound.creation_counter, override))
            continue
        name = unbound.kwargs.get("name") or attr
        found.append((unbound.creation_counter, _field_for(name, unbound)))
    unknown = set(overrides) - {a for a in dir(form_class) if not a.startswith("_")}
    assert not unknown, f"no such fields on {form_class.__name__}: {unknown}"
    return tuple(f for _, f in sorted(found, key=lambda pair: pair[0]))


def _field_for(name: str, unbound: UnboundField) -> Field:
    cls = unbound.field_class
    choices = tuple(
        str(c.value if isinstance(c, SelectChoice) else c[0] if isinstance(c, tuple) else c)
        for c in unbound.kwargs.get("choices") or ()
    )
    if issubclass(cls, SelectMultipleField):
        return Field(name, MULTI, choices)
    if issubclass(cls, SelectFieldBase):
        return Field(name, CHOICE, choices)
    if issubclass(cls, BooleanField):
        return Field(name, CHECKBOX, ("y",))
    if issubclass(cls, IntegerField):
        return Field(name, INTEGER, ("30",))
    if issubclass(cls, DateField):
        today = Live(lambda t: today_in_london().isoformat(), "today")
        return Field(name, DATE, (today,), boxes=issubclass(cls, NhsDateField))
    if issubclass(cls, TimeField):
        return Field(name, TIME, ("10:30",))
    if issubclass(cls, HiddenField) and name == "version":
        return Field(name, VERSION)
    if issubclass(cls, StringField):  # text, text area, password, other hidden fields
        return Field(name, TEXT, ("Said yes on the phone.",))
    raise AssertionError(f"no kind for {name} ({cls.__name__}): give it an override")


# The registry -----------------------------------------------------------------------------


def _password_step(client: FlaskClient, targets: Targets) -> None:
    """The code form is reached by giving the passphrase first."""
    response = client.post(
        "/login",
        data={
            "username": targets.worker.username,
            "password": PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302, response.status_code


def _temporary_password_step(client: FlaskClient, targets: Targets) -> None:
    """The new-passphrase form is reached by signing in with a temporary passphrase."""
    targets.worker.password_hash = hash_password(PASSWORD)
    targets.worker.must_change_password = True
    db.session.commit()
    _password_step(client, targets)


USERNAME = Live(lambda t: t.worker.username, "username")
PTSD = "Post-traumatic stress disorder"
CODE = Live(lambda t: next_code(t.worker), "code")

FORMS: tuple[FormSpec, ...] = (
    FormSpec(
        name="sign in",
        endpoint="auth.login",
        role=None,
        url=lambda t: "/login",
        fields=fields_of(
            LoginForm,
            username=Field("username", TEXT, (USERNAME, "nobody")),
            password=Field("password", TEXT, (PASSWORD, "wrong passphrase here")),
        ),
        tables=("user_sessions", "users"),
    ),
    FormSpec(
        name="security code",
        endpoint="auth.mfa",
        role=None,
        url=lambda t: "/login/mfa",
        fields=fields_of(MfaForm, code=Field("code", TEXT, (CODE, "123456", "123 456"))),
        tables=("user_sessions",),
        before=_password_step,
    ),
    FormSpec(
        name="sign out",
        endpoint="auth.logout",
        role=Role.WORKER,
        url=lambda t: "/logout",
        fields=(),
        tables=("user_sessions", "users"),
        fresh_sign_in=True,
    ),
    FormSpec(
        name="register client",
        endpoint="cases.register_client",
        role=Role.WORKER,
        url=lambda t: "/clients/new",
        fields=fields_of(
            RegisterClientForm,
            name=Field("name", TEXT, ("Robin Hostile",)),
            date_of_birth=Field("date_of_birth", DATE, ("1990-04-02",), boxes=True),
            nhs_number=Field("nhs_number", TEXT, ("9434765919", "943 476 5919")),
            referral_date=Field(
                "referral_date",
                DATE,
                (Live(lambda t: (today_in_london() - timedelta(days=3)).isoformat(), "recent"),),
                boxes=True,
            ),
        ),
        tables=(
            "clients",
            "episodes",
            "consent_records",
            "episode_complexity_factors",
            "episode_summaries",
        ),
    ),
    FormSpec(
        name="log contact",
        endpoint="cases.log_contact",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.episode.id}/contacts/new",
        fields=fields_of(
            contact_form_class(),
            occurred_on=Field(
                "occurred_on",
                DATE,
                (Live(lambda t: today_in_london().isoformat(), "today"),),
                boxes=True,
            ),
            occurred_time=Field("occurred_time", TIME, ("00:05", "09:00")),
        ),
        tables=("contacts", "contact_scores", "episode_measure_summaries", "episodes"),
    ),
    FormSpec(
        # The same form on a PTSD episode, with the 20 PCL-5 items (0-4) of its ADSM.
        name="log contact with the PCL-5",
        endpoint="cases.log_contact",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.ptsd_episode.id}/contacts/new",
        fields=fields_of(
            contact_form_class(PTSD),
            occurred_on=Field(
                "occurred_on",
                DATE,
                (Live(lambda t: today_in_london().isoformat(), "today"),),
                boxes=True,
            ),
            occurred_time=Field("occurred_time", TIME, ("00:05", "09:00")),
        ),
        tables=("contacts", "contact_scores", "episode_measure_summaries", "episodes"),
    ),
    FormSpec(
        name="record outcome",
        endpoint="cases.change_contact",
        role=Role.WORKER,
        url=lambda t: f"/contacts/{t.booked.id}/outcome",
        fields=fields_of(contact_form_class()),
        tables=("contacts", "contact_scores", "episode_measure_summaries", "episodes"),
        version=lambda t: t.booked.version,
    ),
    FormSpec(
        name="correct contact",
        endpoint="cases.change_contact",
        role=Role.WORKER,
        url=lambda t: f"/contacts/{t.contact.id}/correct",
        fields=fields_of(type("CorrectionForm", (contact_form_class(), CorrectionMixin), {})),
        tables=("contacts", "contact_scores", "episode_measure_summaries", "episodes"),
        version=lambda t: t.contact.version,
    ),
    FormSpec(
        name="entered in error",
        endpoint="cases.entered_in_error",
        role=Role.WORKER,
        url=lambda t: f"/contacts/{t.contact.id}/entered-in-error",
        fields=fields_of(ReasonForm),
        tables=("contacts", "contact_scores", "episode_measure_summaries", "episodes"),
        version=lambda t: t.contact.version,
    ),
    FormSpec(
        name="discharge",
        endpoint="cases.discharge",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.episode.id}/discharge",
        fields=fields_of(DischargeForm),
        tables=("episodes", "contacts", "episode_summaries"),
        version=lambda t: t.episode.version,
    ),
    FormSpec(
        # The same form with risk open: the confirmation and the risk plan are asked for.
        name="discharge with open risk",
        endpoint="cases.discharge",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.risky_episode.id}/discharge",
        fields=fields_of(
            DischargeForm,
            risk_plan=Field("risk_plan", TEXT, ("Safety plan reviewed; GP informed.",)),
        ),
        tables=("episodes", "contacts", "episode_summaries"),
        version=lambda t: t.risky_episode.version,
    ),
    FormSpec(
        name="consent",
        endpoint="cases.consent",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.episode.id}/consent",
        fields=fields_of(ConsentForm),
        tables=("clients", "consent_records"),
        version=lambda t: t.episode.client.version,
    ),
    FormSpec(
        name="book appointment",
        endpoint="diary.book",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.episode.id}/book",
        fields=fields_of(
            BookingForm,
            booked_on=Field(
                "booked_on",
                DATE,
                (Live(lambda t: next_working_day(today_in_london()).isoformat(), "next"),),
            ),
            warned_for=Field("warned_for", TEXT, ("2025-06-03T10:30/30", "")),
        ),
        tables=("contacts", "contact_scores", "episode_summaries", "episodes"),
    ),
    FormSpec(
        name="diary outcome",
        endpoint="diary.record_outcome",
        role=Role.WORKER,
        url=lambda t: f"/diary/bookings/{t.booked.id}/outcome",
        fields=fields_of(DiaryOutcomeForm),
        tables=("contacts", "contact_scores", "episode_summaries", "episodes"),
        version=lambda t: t.booked.version,
    ),
    FormSpec(
        name="re-referral",
        endpoint="clients.add_referral",
        role=Role.WORKER,
        url=lambda t: f"/clients/{t.discharged.client_id}/referrals/new",
        fields=fields_of(ReferralForm),
        tables=("episodes", "episode_summaries", "episode_complexity_factors"),
    ),
    FormSpec(
        name="reflective note",
        endpoint="notes.new",
        role=Role.WORKER,
        url=lambda t: "/notes/new",
        fields=fields_of(
            NoteForm,
            episode_id=Field("episode_id", CHOICE, ("", Live(lambda t: str(t.episode.id), "own"))),
        ),
        tables=("reflective_notes", "note_themes"),
    ),
    FormSpec(
        name="supervision review",
        endpoint="supervision.review",
        role=Role.SUPERVISOR,
        url=lambda t: f"/supervision/episodes/{t.team_episode.id}/review",
        fields=fields_of(
            ReviewForm,
            flags_seen=Field("flags_seen", MULTI, (Live(Targets.team_flag_key, "flag key"),)),
            next_review_on=Field(
                "next_review_on",
                DATE,
                (Live(lambda t: (today_in_london() + timedelta(days=14)).isoformat(), "soon"),),
                boxes=True,
            ),
            session_id=Field(
                "session_id", TEXT, ("", Live(lambda t: str(t.team_session.id), "session"))
            ),
        ),
        tables=(
            "supervision_reviews",
            "supervision_review_flags",
            "episode_summaries",
            "supervision_sessions",
        ),
    ),
    FormSpec(
        name="reassign",
        endpoint="supervision.reassign",
        role=Role.SUPERVISOR,
        url=lambda t: f"/supervision/episodes/{t.team_episode.id}/reassign",
        fields=fields_of(
            ReassignForm,
            to_worker_id=Field(
                "to_worker_id",
                CHOICE,
                ("", Live(lambda t: str(_colleague_of(t.team_episode).id), "colleague")),
            ),
        ),
        tables=("episode_reassignments", "episodes"),
        version=lambda t: t.team_episode.version,
    ),
    FormSpec(
        name="start supervision session",
        endpoint="supervision.start_session",
        role=Role.SUPERVISOR,
        url=lambda t: "/supervision/sessions",
        fields=fields_of(
            StartSessionForm,
            worker_id=Field(
                "worker_id", TEXT, (Live(lambda t: str(t.team_episode.worker_id), "worker"),)
            ),
        ),
        tables=("supervision_sessions", "supervision_session_cases"),
    ),
    FormSpec(
        name="move in supervision session",
        endpoint="supervision.move",
        role=Role.SUPERVISOR,
        url=lambda t: f"/supervision/sessions/{t.team_session.id}/move",
        fields=fields_of(MoveForm, position=Field("position", TEXT, ("1", "2"))),
        tables=("supervision_sessions", "supervision_session_cases"),
    ),
    FormSpec(
        name="end supervision session",
        endpoint="supervision.end_session",
        role=Role.SUPERVISOR,
        url=lambda t: f"/supervision/sessions/{t.team_session.id}/end",
        fields=fields_of(EndSessionForm),
        tables=("supervision_sessions", "supervision_session_cases"),
    ),
    FormSpec(
        name="new passphrase at first sign-in",
        endpoint="auth.new_passphrase",
        role=None,
        url=lambda t: "/login/new-passphrase",
        fields=fields_of(
            NewPassphraseForm,
            password=Field("password", TEXT, ("quiet harbour lantern orchard", PASSWORD)),
            confirmation=Field("confirmation", TEXT, ("quiet harbour lantern orchard",)),
        ),
        tables=("users",),
        before=_temporary_password_step,
    ),
    FormSpec(
        name="confirm identity",
        endpoint="auth.confirm",
        role=Role.ADMIN,
        url=lambda t: "/login/confirm",
        fields=fields_of(
            ConfirmIdentityForm,
            password=Field("password", TEXT, (PASSWORD, "wrong passphrase here")),
            code=Field("code", TEXT, (CODE, "123456")),
        ),
        tables=("user_sessions", "users"),
    ),
    FormSpec(
        name="change own passphrase",
        endpoint="account.passphrase",
        role=Role.WORKER,
        url=lambda t: "/account/passphrase",
        fields=fields_of(
            ChangePassphraseForm,
            current=Field("current", TEXT, (PASSWORD, "wrong passphrase here")),
            password=Field("password", TEXT, ("lantern orchard quietly sideways meadow",)),
            confirmation=Field("confirmation", TEXT, ("lantern orchard quietly sideways meadow",)),
        ),
        tables=("users", "user_sessions"),
    ),
    FormSpec(
        name="end other sessions",
        endpoint="account.end_others",
        role=Role.WORKER,
        url=lambda t: "/account/sessions/end-others",
        fields=(),
        tables=("users", "user_sessions"),
    ),
    FormSpec(
        name="end one session",
        endpoint="account.end_session",
        role=Role.WORKER,
        url=lambda t: "/account/sessions/end",
        fields=(Field("session_id", TEXT, ("not-a-session",)),),
        tables=("users", "user_sessions"),
    ),
    FormSpec(
        name="episode entered in error",
        endpoint="cases.episode_entered_in_error",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.episode.id}/entered-in-error",
        fields=fields_of(RecordInErrorForm),
        tables=("episodes", "clients"),
        version=lambda t: t.episode.version,
    ),
    FormSpec(
        name="new account",
        endpoint="admin.new_account",
        role=Role.ADMIN,
        url=lambda t: "/admin/accounts/new",
        fields=fields_of(
            NewAccountForm,
            username=Field("username", TEXT, ("new.person", "a")),
            display_name=Field("display_name", TEXT, ("New Person",)),
            team_id=Field("team_id", CHOICE, ("", Live(lambda t: str(t.account.team_id), "team"))),
        ),
        tables=("users", "teams"),
    ),
    FormSpec(
        name="change role and team",
        endpoint="admin.change_role",
        role=Role.ADMIN,
        url=lambda t: f"/admin/accounts/{t.account.id}/role",
        fields=fields_of(
            RoleTeamForm,
            team_id=Field(
                "team_id", CHOICE, ("", Live(lambda t: str(t.member.team_id), "other team"))
            ),
        ),
        tables=("users", "teams"),
    ),
    *(
        FormSpec(
            name=f"account button {action}",
            endpoint=f"admin.{endpoint}",
            role=Role.ADMIN,
            url=lambda t, action=action: f"/admin/accounts/{t.account.id}/{action}",
            fields=(),
            tables=("users", "user_sessions"),
        )
        for action, endpoint in (
            ("disable", "disable_account"),
            ("enable", "enable_account"),
            ("reset-passphrase", "reset_passphrase"),
            ("reset-mfa", "reset_mfa"),
        )
    ),
    FormSpec(
        name="new team",
        endpoint="admin.new_team",
        role=Role.ADMIN,
        url=lambda t: "/admin/teams/new",
        fields=fields_of(
            TeamForm,
            name=Field("name", TEXT, ("East team",)),
            supervisor_id=Field(
                "supervisor_id",
                CHOICE,
                ("", Live(lambda t: str(t.supervisor_account.id), "supervisor")),
            ),
        ),
        tables=("teams",),
    ),
    FormSpec(
        name="rename team",
        endpoint="admin.rename_team",
        role=Role.ADMIN,
        url=lambda t: f"/admin/teams/{t.member.team_id}/rename",
        fields=fields_of(RenameTeamForm, name=Field("name", TEXT, ("West team", "North team"))),
        tables=("teams",),
    ),
    FormSpec(
        name="team supervisor",
        endpoint="admin.team_supervisor",
        role=Role.ADMIN,
        url=lambda t: f"/admin/teams/{t.member.team_id}/supervisor",
        fields=fields_of(
            SupervisorForm,
            supervisor_id=Field(
                "supervisor_id",
                CHOICE,
                ("", Live(lambda t: str(t.supervisor_account.id), "supervisor")),
            ),
        ),
        tables=("teams",),
    ),
    FormSpec(
        name="add practitioner to team",
        endpoint="admin.add_team_worker",
        role=Role.ADMIN,
        url=lambda t: f"/admin/teams/{t.member.team_id}/workers",
        fields=fields_of(
            AddWorkerForm,
            worker_id=Field("worker_id", CHOICE, (Live(lambda t: str(t.account.id), "worker"),)),
        ),
        tables=("users",),
    ),
    FormSpec(
        name="remove practitioner from team",
        endpoint="admin.remove_team_worker",
        role=Role.ADMIN,
        url=lambda t: f"/admin/teams/{t.member.team_id}/workers/{t.member.id}/remove",
        fields=(),
        tables=("users",),
    ),
    FormSpec(
        name="settings",
        endpoint="admin.settings",
        role=Role.ADMIN,
        url=lambda t: "/admin/settings",
        fields=fields_of(
            settings_form_class(),
            **{
                d.key: Field(d.key, TEXT, (str(d.default()), str(d.minimum), str(d.maximum)))
                for d in SETTINGS
                if d.kind is not SettingKind.YES_NO
            },
        ),
        tables=("setting_values", "settings_revision"),
    ),
    FormSpec(
        name="assessment letter",
        endpoint="exports.new_letter",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.episode.id}/letters/assessment/new",
        fields=fields_of(LetterForm),
        tables=("letters",),
    ),
    FormSpec(
        name="discharge letter",
        endpoint="exports.new_letter",
        role=Role.WORKER,
        url=lambda t: f"/episodes/{t.discharged.id}/letters/discharge/new",
        fields=fields_of(LetterForm),
        tables=("letters",),
    ),
    # The lead's downloads take no field: the post only carries its CSRF token.
    FormSpec(
        name="lead CSV export",
        endpoint="lead.export_csv",
        role=Role.LEAD,
        url=lambda t: "/lead/exports/csv",
        fields=(),
        tables=("letters", "episodes"),
    ),
    FormSpec(
        name="lead FHIR export",
        endpoint="lead.export_fhir",
        role=Role.LEAD,
        url=lambda t: "/lead/exports/fhir",
        fields=(),
        tables=("letters", "episodes"),
    ),
)


def _colleague_of(episode: Episode) -> User:
    """Another active worker in the team of the episode's worker (to move the case to)."""
    worker = db.session.get(User, episode.worker_id)
    assert worker is not None
    assert worker.team is not None
    return next(w for w in worker.team.members if w.id != worker.id)


# Generated values -------------------------------------------------------------------------

HOSTILE_STRINGS = (
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    "\u00a0",
    "\u3000",
    "\u200b",
    "\ufeff",
    "\u200f",
    "\u202e",
    "\u200fabc",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\x7f",
    "٣",
    "٠١٢٣٤٥",
    "١٢٣ ٤٥٦",
    "۱۲۳۴۵۶",
    "１２３４５６",
    "߁߂߃߄߅߆",
    "²",
    "½",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "{% for x in range(9) %}",
    "${7*7}",
    "' OR '1'='1' --",
    "../../etc/passwd",
    "None",
    "null",
    "undefined",
    "NaN",
    "inf",
    "-inf",
    "true",
    "[]",
    "{}",
    "😀",
    "Ã©",
    "x" * 100_000,
    " x ",
)
SAFE_CHARACTERS = st.characters(blacklist_categories=("Cs",))  # utf-8 cannot hold surrogates

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(SAFE_CHARACTERS, max_size=40),
    st.builds(
        lambda c, n: c * n, st.characters(blacklist_categories=("Cs",)), st.integers(0, 5_000)
    ),
)
hostile_number = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        [
            "0",
            "-1",
            "1.5",
            "1e3",
            "1e999",
            "٣٠",
            "３０",
            " 30 ",
            "+30",
            "0x1e",
            "30 minutes",
            "2147483648",
            "9223372036854775808",
            "-9223372036854775809",
        ]
    ),
)
hostile_date = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(
        [
            "2025-02-29",
            "2024-02-30",
            "0000-01-01",
            "0001-01-01",
            "9999-12-31",
            "10000-01-01",
            "2025-13-01",
            "2025-00-10",
            "٢٠٢٥-٠١-٠١",
            "２０２５-０１-０１",
            "01/02/2025",
            "2025-1-1",
            "2025-06-02T10:00",
            "-2025-01-01",
        ]
    ),
)
hostile_time = st.one_of(
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.sampled_from(
        [
            "24:00",
            "23:60",
            "99:99",
            "١٤:٣٠",
            "１４:３０",
            "14:30:00",
            "14:30:00.5",
            "2pm",
            "-1:00",
            "14.30",
            "1430",
        ]
    ),
)
CURRENT = Live(lambda t: "", "current version")  # replaced by the form's record version


@cache
def _strategy(spec_field: Field) -> st.SearchStrategy[Value]:
    """Values for one field: realistic ones often, hostile ones the rest of the time
    (made once per field: Hypothesis draws much faster from a strategy it has seen)."""
    valid = st.sampled_from(spec_field.valid) if spec_field.valid else st.just("")
    kind = spec_field.kind
    if kind == VERSION:
        return st.one_of(st.just(CURRENT), st.just(CURRENT), hostile_number, hostile_text)
    hostile = {
        TEXT: hostile_text,
        CHOICE: hostile_text,
        MULTI: hostile_text,
        CHECKBOX: st.one_of(st.sampled_from(["y", "on", "1", "", "false", "0"]), hostile_text),
        INTEGER: st.one_of(hostile_number, hostile_text),
        DATE: st.one_of(hostile_date, hostile_text),
        TIME: st.one_of(hostile_time, hostile_text),
    }[kind]
    return st.one_of(valid, valid, hostile)


#: How a field travels: as a value, left out, sent twice, or as a multipart file part.
PRESENCE = ("value",) * 5 + ("missing", "twice", "file")


@dataclass(frozen=True)
class Part:
    """One field of one generated submission."""

    name: str
    presence: str
    values: tuple[Value, ...]


DATE_BOXES = ("day", "month", "year")


def _box(value: Value, index: int) -> Live:
    """One box (day, month or year) of a realistic ISO date, as a person types it."""

    def make(targets: Targets) -> str:
        iso = value.make(targets) if isinstance(value, Live) else value
        year, month, day = (iso.split("-") + ["", ""])[:3]
        return (day.lstrip("0"), month.lstrip("0"), year)[index]

    return Live(make, f"{DATE_BOXES[index]} of {value!r}")


hostile_box = st.one_of(
    hostile_number,
    hostile_text,
    st.sampled_from(["0", "00", "31", "32", "13", "feb", "Sept", "February", "99999"]),
)


@cache
def _box_strategy(spec_field: Field, index: int) -> st.SearchStrategy[Value]:
    if not spec_field.valid:
        return hostile_box
    realistic = st.sampled_from(spec_field.valid).map(lambda v: _box(v, index))
    return st.one_of(realistic, realistic, hostile_box)


@st.composite
def date_boxes(draw: Any, spec_field: Field) -> list[Part]:
    """The day, month and year boxes of a date input, each realistic or hostile."""
    parts = []
    for index, key in enumerate(DATE_BOXES):
        value = draw(_box_strategy(spec_field, index))
        presence = draw(st.sampled_from(PRESENCE))
        second = draw(hostile_box) if presence == "twice" else None
        values = (value,) if second is None else (value, second)
        parts.append(Part(f"{spec_field.name}-{key}", presence, values))
    return parts


@st.composite
def submissions(draw: Any, spec: FormSpec) -> tuple[tuple[Part, ...], bool]:
    """A generated submission of a form: its parts, and whether to force multipart."""
    parts: list[Part] = []
    for spec_field in spec.fields:
        if spec_field.boxes and draw(st.booleans()):
            parts.extend(draw(date_boxes(spec_field)))
            continue
        presence = draw(st.sampled_from(PRESENCE))
        values: tuple[Value, ...]
        if spec_field.kind == MULTI:
            values = tuple(draw(st.lists(_strategy(spec_field), max_size=4)))
        else:
            count = 2 if presence == "twice" else 1
            values = tuple(draw(_strategy(spec_field)) for _ in range(count))
        parts.append(Part(spec_field.name, presence, values))
    return tuple(parts), draw(st.booleans())


# Posting and checking ---------------------------------------------------------------------


def table_state(tables: Sequence[str]) -> dict[str, tuple[int, int | None]]:
    """Each table's row count and highest version (None for tables without versions)."""
    db.session.commit()
    state = {}
    for name in tables:
        table = db.metadata.tables[name]
        columns: list[Any] = [sa.func.count()]
        if "version" in table.c:
            columns.append(sa.func.max(table.c.version))
        row = db.session.execute(sa.select(*columns).select_from(table)).one()
        state[name] = (row[0], row[1] if len(row) > 1 else None)
    return state


def form_data(
    parts: Sequence[Part], targets: Targets, version: str, csrf: str
) -> tuple[MultiDict[str, Any], bool]:
    """The body to post, and whether a text value holds NUL."""
    data: MultiDict[str, Any] = MultiDict([("csrf_token", csrf)])
    nul = False
    for part in parts:
        if part.presence == "missing":
            continue
        for value in part.values:
            text = (
                version
                if value is CURRENT
                else (value.make(targets) if isinstance(value, Live) else value)
            )
            if part.presence == "file":
                data.add(part.name, (io.BytesIO(text.encode()), "value.txt"))
            else:
                nul = nul or "\x00" in text
                data.add(part.name, text)
    return data, nul


def is_success_redirect(response: Any) -> bool:
    """A redirect after a save (back to the sign-in page is not a success)."""
    if response.status_code not in (302, 303):
        return False
    return urlsplit(response.headers.get("Location", "")).path != "/login"


class Harness:
    """Signs in, builds targets and posts one generated submission at a time."""

    def __init__(self, app: Flask, spec: FormSpec) -> None:
        self.app = app
        self.spec = spec
        self.user = make_user(Role.WORKER if spec.role is None else spec.role)
        self.targets = Targets(self.user)
        self.client: FlaskClient | None = None
        self.csrf = ""

    def signed_in_client(self) -> FlaskClient:
        """The signed-in browser (a new one each time for anonymous forms), with its
        CSRF token: one token serves the whole session."""
        if self.spec.role is None:
            self.client = self.app.test_client()
        elif self.client is None or self.spec.fresh_sign_in:
            self.client = self.app.test_client()
            sign_in(self.client, self.user)
        else:
            return self.client
        self.csrf = csrf_token(self.client, "/login" if self.spec.role is None else "/")
        return self.client

    def post(self, parts: Sequence[Part], multipart: bool) -> None:
        spec = self.spec
        client = self.signed_in_client()
        url = spec.url(self.targets)
        csrf = self.csrf
        if spec.before:
            spec.before(client, self.targets)
            csrf = csrf_token(client, url)  # the step may have started a new session
        version = str(spec.version(self.targets)) if spec.version else ""
        data, nul = form_data(parts, self.targets, version, csrf)
        before = table_state(spec.tables)
        kwargs = {"content_type": "multipart/form-data"} if multipart else {}
        response = client.post(url, data=data, **kwargs)
        status = response.status_code
        assert status < 500, f"{spec.name}: {status} for {parts!r}"
        if nul:
            assert status == 400, f"{spec.name}: NUL answered {status}"
        after = table_state(spec.tables)
        if not is_success_redirect(response):
            assert after == before, (
                f"{spec.name}: a refused submission ({status}) changed {spec.tables}"
            )
        # A form shown again with its problems is a 200 that saved nothing; anything
        # else below 400 may have saved: fresh records next time.
        if status < 400 and (status != 200 or after != before):
            self.targets = Targets(self.user)


@pytest.fixture
def hostile_app(app: Flask) -> Flask:
    """The app with sign-in throttling and rate limits out of the way (each is tested on
    its own) and exceptions turned into 500 responses, as in production."""
    app.config["LOGIN_MAX_FAILURES"] = 1_000_000
    # Per-user rate limits too (tests/web/test_rate_limits.py), or most examples of a
    # letter or an export would be answered 429 before reaching the form.
    app.config["RATE_LIMITS"] = dict.fromkeys(("search", "export", "letter"), (1_000_000, 60))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = False
    return app


@pytest.mark.parametrize("spec", FORMS, ids=lambda spec: spec.name)
def test_hostile_input_never_gives_a_500_nor_saves_when_refused(
    hostile_app: Flask, spec: FormSpec, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(hostile_app, spec)

    @settings(
        max_examples=spec.examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(submission=submissions(spec))
    def post_one(submission: tuple[tuple[Part, ...], bool]) -> None:
        harness.post(*submission)

    post_one()
    refused = [r for r in caplog.records if r.getMessage().startswith("CSRF failure")]
    assert not refused, f"{spec.name}: the harness's CSRF token was refused: fix the entry"


def test_every_post_route_has_a_registry_entry(app: Flask) -> None:
    """A new form needs its FORMS entry: every POST endpoint is named by one."""
    posted = {
        rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or set())
    }
    missing = posted - {spec.endpoint for spec in FORMS}
    assert not missing, f"POST routes without a FORMS entry in {__name__}: {sorted(missing)}"


def test_the_registry_uses_every_kind_of_field() -> None:
    assert {f.kind for spec in FORMS for f in spec.fields} == set(KINDS)


# The defects the harness found, each pinned by its own test ------------------------------


def test_a_text_field_sent_as_a_file_part_is_a_400(hostile_app: Flask) -> None:
    client = hostile_app.test_client()
    data = {
        "username": (io.BytesIO(b"someone"), "username.txt"),
        "password": "long enough passphrase",
        "csrf_token": csrf_token(client),
    }
    assert client.post("/login", data=data).status_code == 400


def test_a_blank_optional_choice_is_taken_as_no_choice(hostile_app: Flask) -> None:
    from caseload.models import ReflectiveNote

    user = make_user(Role.WORKER)
    client = hostile_app.test_client()
    sign_in(client, user)
    data = {
        "text": "A hard week.",
        "themes": "risk_and_complexity",
        "episode_id": " ",
        "manageability": "\u00a0",
        "csrf_token": csrf_token(client, "/notes/new"),
    }
    assert client.post("/notes/new", data=data).status_code == 302
    note = db.session.scalars(sa.select(ReflectiveNote)).one()
    assert note.manageability is None
    assert note.episode_id is None
    assert [theme.value for theme in note.themes] == ["risk_and_complexity"]


def test_a_choice_outside_its_options_is_refused(hostile_app: Flask) -> None:
    user = make_user(Role.WORKER)
    client = hostile_app.test_client()
    sign_in(client, user)
    before = table_state(("reflective_notes",))
    for manageability in ("9", "\u200b", "one", "1.0"):
        data = {
            "text": "A hard week.",
            "themes": "risk_and_complexity",
            "manageability": manageability,
            "csrf_token": csrf_token(client, "/notes/new"),
        }
        assert client.post("/notes/new", data=data).status_code == 200, manageability
    assert table_state(("reflective_notes",)) == before


@pytest.mark.parametrize("digits", ["٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９"])
def test_a_security_code_in_another_script_s_digits_signs_in(
    hostile_app: Flask, digits: str
) -> None:
    user = make_user(Role.WORKER)
    client = hostile_app.test_client()
    _password_step(client, Targets(user))
    code = next_code(user).translate(str.maketrans("0123456789", digits))
    response = client.post(
        "/login/mfa", data={"code": code, "csrf_token": csrf_token(client, "/login/mfa")}
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("٣٠", "30"),
        (" ١٢٣ ٤٥٦ ", " 123 456 "),
        ("３０", "30"),
        ("30", "30"),
        ("٣٠ minutes", "٣٠ minutes"),  # not only digits: left as typed
        ("Ali ٣", "Ali ٣"),
        ("", ""),
        ("   ", "   "),
        ("²", "²"),  # a superscript is a digit but not a decimal one
    ],
)
def test_values_written_only_in_digits_are_read_as_ascii(value: str, read: str) -> None:
    from caseload.web.requests import ascii_number

    assert ascii_number(value) == read


@pytest.mark.parametrize(
    "target",
    ["//%EF%BC%8F", "/%EF%BC%8Fevil.example", "//\uff0fevil.example", "/\uff0fevil.example"],
)
def test_next_with_a_lookalike_slash_is_not_followed(hostile_app: Flask, target: str) -> None:
    from caseload.web import safe_next

    client = hostile_app.test_client()
    assert client.get(f"/login?next={target}").status_code == 200
    assert safe_next(target.replace("%EF%BC%8F", "\uff0f")) is None


@settings(max_examples=EXAMPLES * 5, deadline=None, database=None)
@given(target=st.text(SAFE_CHARACTERS, max_size=60))
def test_safe_next_never_raises_and_gives_only_a_local_path(target: str) -> None:
    from caseload.web import safe_next

    result = safe_next(target)
    if result is not None:
        assert result.startswith("/")
        assert not result.startswith("//")
        assert not urlsplit(result).netloc
        assert not urlsplit(result).scheme
        assert "\\" not in result


def test_hostile_next_values_never_give_a_500(hostile_app: Flask) -> None:
    client = hostile_app.test_client()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(target=st.one_of(hostile_text, st.text(SAFE_CHARACTERS, max_size=60)))
    def get_login(target: str) -> None:
        status = client.get("/login", query_string={"next": target[:2000]}).status_code
        assert status < 500
        if "\x00" in target[:2000]:
            assert status == 400

    get_login()
