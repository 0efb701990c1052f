"""Form helpers every blueprint shares: choices, and submitting a form to a service."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import abort, g, redirect, request
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from markupsafe import Markup
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import DateField, Form, SelectFieldBase, SelectMultipleField, TimeField
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import StopValidation
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from caseload.extensions import db
from caseload.models import FormSubmission
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


#: English month names and their three-letter forms, which the NHS.UK date input accepts.
MONTH_NAMES = {
    name: number
    for number, full in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
    for name in (full, full[:3])
} | {"sept": 9}


@dataclass(frozen=True)
class DatePart:
    """One box of a date input, as the ``date_input`` macro renders it."""

    key: str
    name: str
    id: str
    label: str
    value: str
    width: int
    error: bool


@dataclass(frozen=True)
class DateReading:
    """What three typed boxes mean: a date, or the problem and the boxes to highlight."""

    value: date | None
    problem: str | None = None
    parts_in_error: frozenset[str] = frozenset()


DATE_PARTS = ("day", "month", "year")


#: Stands for a posted value that is not text at all (a file part): never a number.
NOT_TEXT = "\ufffd"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else NOT_TEXT


def _number(text: str, key: str) -> int | None:
    """A box's number: ASCII digits (a month may also be a name), else None."""
    if text.isascii() and text.isdigit():
        return int(text)
    if key == "month":
        return MONTH_NAMES.get(text.casefold())
    return None


def read_date_parts(typed: dict[str, str], *, subject: str, required: bool) -> DateReading:
    """Read day, month and year boxes with the NHS.UK date input's messages, in its order
    of precedence: nothing entered, then a part missing, then a part that cannot be right."""
    texts = {key: typed.get(key, "").strip() for key in DATE_PARTS}
    missing = [key for key in DATE_PARTS if not texts[key]]
    if len(missing) == len(DATE_PARTS):
        if required:
            return DateReading(None, f"Enter {subject}", frozenset(DATE_PARTS))
        return DateReading(None)
    subject_ = subject[:1].upper() + subject[1:]
    if missing:
        return DateReading(
            None, f"{subject_} must include a {' and '.join(missing)}", frozenset(missing)
        )
    real = f"{subject_} must be a real date"
    numbers = {key: _number(texts[key], key) for key in DATE_PARTS}
    wrong = frozenset(key for key, number in numbers.items() if number is None)
    if wrong:
        return DateReading(None, real, wrong)
    if len(texts["year"]) != 4:
        return DateReading(None, "Year must include 4 numbers", frozenset({"year"}))
    day, month, year = (numbers[key] or 0 for key in DATE_PARTS)
    if not 1 <= month <= 12:
        return DateReading(None, real, frozenset({"month"}))
    if not 1 <= day <= 31:
        return DateReading(None, real, frozenset({"day"}))
    try:
        return DateReading(date(year, month, day))
    except ValueError:  # 31 April, 29 February in a common year, year 0
        return DateReading(None, real, frozenset(DATE_PARTS))


class NhsDateField(DateField):
    """A date typed as day, month and year boxes: the NHS.UK date input.

    The boxes are posted as ``<name>-day``, ``<name>-month`` and ``<name>-year``;
    ``data`` is a ``date`` or None, as with ``DateField``, so a form switches by changing
    the field's class and rendering it with the ``date_input`` macro, and services keep
    the field's name for their messages. A single ISO value under the field's own name
    (``2026-03-02``) is read too, for scripts and tests that post one value.

    Messages follow the NHS.UK pattern, from ``subject`` (the label in lower case unless
    given): "Enter date of birth", "Date of birth must include a month", "Date of birth
    must be a real date", "Year must include 4 numbers". ``required=False`` lets all three
    boxes be left empty (``data`` None).
    """

    #: A ``date`` once the form has validated (None for an optional date left empty).
    data: Any

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        subject: str | None = None,
        required: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        text = self.label.text
        self.subject = subject or (text[:1].lower() + text[1:])
        self.required = required
        self.typed: dict[str, str] | None = None
        self.reading = DateReading(None)

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        """Take the default or the object's value, then the posted boxes, if any."""
        super().process(None, data, extra_filters)
        if formdata is None:
            return
        names = {key: f"{self.name}-{key}" for key in DATE_PARTS}
        if any(name in formdata for name in names.values()):
            self.typed = {key: _text(formdata.get(names[key], "")) for key in DATE_PARTS}
            self.raw_data = [self.typed[key] for key in DATE_PARTS]
            self.reading = read_date_parts(self.typed, subject=self.subject, required=self.required)
        else:
            self.raw_data = formdata.getlist(self.name) if self.name in formdata else []
            self.reading = self._read_iso(_text(self.raw_data[0]) if self.raw_data else "")
        self.data = self.reading.value

    def _read_iso(self, text: str) -> DateReading:
        """One value, ``YYYY-MM-DD``, as a script or a test posts it."""
        year, _, rest = text.strip().partition("-")
        month, _, day = rest.partition("-")
        if year and not rest:
            month = day = NOT_TEXT  # one value that is not a date at all
        return read_date_parts(
            {"day": day, "month": month, "year": year},
            subject=self.subject,
            required=self.required,
        )

    def pre_validate(self, form: Form) -> None:
        """Stop at the first problem with the typed date, with its message."""
        if self.reading.problem:
            raise StopValidation(self.reading.problem)
        if self.data is None:
            raise StopValidation()  # an optional date left empty

    @property
    def error_target(self) -> str:
        """The id the error summary links to: the first box in error, else the day."""
        wrong = self.reading.parts_in_error
        first = next((key for key in DATE_PARTS if key in wrong), "day")
        return f"{self.id}-{first}"

    def date_parts(self) -> list[DatePart]:
        """The three boxes: what was typed, or the field's date, and which are in error."""
        if self.typed is not None:
            values = dict(self.typed)
        elif isinstance(self.data, date):
            values = {"day": str(self.data.day), "month": str(self.data.month)}
            values["year"] = str(self.data.year)
        else:
            values = dict.fromkeys(DATE_PARTS, "")
        highlight = self.reading.parts_in_error if self.errors else frozenset()
        return [
            DatePart(
                key=key,
                name=f"{self.name}-{key}",
                id=f"{self.id}-{key}",
                label=key.capitalize(),
                value=values[key],
                width=4 if key == "year" else 2,
                error=key in highlight,
            )
            for key in DATE_PARTS
        ]


#: A time on the 24-hour clock as people type it: 14:30, 9:30, 09.30, or 1430 (a phone's
#: number pad has no colon).
_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})|(\d{2})(\d{2})", re.ASCII)

#: The example every time field shows and every message about a time repeats.
TIME_EXAMPLE = "14:30"


def read_clock_time(text: str) -> time | None:
    """A time typed on the 24-hour clock, or None when the text is not one."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        return None
    hour, minute = (int(part) for part in match.groups() if part is not None)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


class ClockTimeField(TimeField):
    """A time typed as text on the 24-hour clock (never the browser's own time picker,
    which shows "04:00 PM" in a browser set to a US locale).

    ``14:30``, ``9:30``, ``09.30`` and ``1430`` are read; ``data`` is a ``time`` or None,
    as with ``TimeField``, and the field shows its time as ``HH:MM``. Messages name
    ``subject`` (the label in lower case unless given): "Enter the appointment time, for
    example 14:30" when it is blank, and "The appointment time must be a real time on
    the 24-hour clock, for example 14:30" for anything else that is not a time.
    Render it with the ``time_input`` macro.
    """

    widget = TextInput()
    #: A ``time`` once the form has validated.
    data: Any

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        subject: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, format="%H:%M", **kwargs)
        text = self.label.text
        self.subject = subject or (text[:1].lower() + text[1:])
        self.problem: str | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the typed time; keep what is wrong with it for ``pre_validate``."""
        text = " ".join(_text(value) for value in valuelist).strip()
        self.data = read_clock_time(text) if text else None
        if not text:
            self.problem = f"Enter {self.subject}, for example {TIME_EXAMPLE}"
        elif self.data is None:
            subject = self.subject[:1].upper() + self.subject[1:]
            self.problem = (
                f"{subject} must be a real time on the 24-hour clock, for example {TIME_EXAMPLE}"
            )
        else:
            self.problem = None

    def _value(self) -> str:
        """What was typed, when the form is shown again; else the time as ``HH:MM``."""
        if self.raw_data:
            return " ".join(_text(value) for value in self.raw_data)
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else ""

    def pre_validate(self, form: Form) -> None:
        """Stop at a blank or nonsense time, with its message."""
        if self.problem:
            raise StopValidation(self.problem)


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
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= MAX_VERSION_DIGITS:
        return int(raw)
    raise Conflict(raw)


#: A record's version is a counter; no real one has more digits than this (and Python
#: refuses to read an integer of over 4,300 digits at all).
MAX_VERSION_DIGITS = 18


#: Shown when a posted value is not one of a field's options (no browser sends one).
INVALID_CHOICE_MESSAGE = "Choose one of the options."


def _blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()


def settle_choices(form: Form) -> bool:
    """Hold every choice field of a validated form to its options; False if one is not.

    WTForms' ``Optional`` clears a choice field's "not a valid choice" error when
    the posted value is blank, so whitespace would reach the services as a value.
    Here a blank choice is taken as no choice (``""`` where that is an option,
    otherwise None; blank entries of a multiple choice are dropped), and any other
    value outside the options is an error on its field.
    """
    settled = True
    for field in form:
        if not isinstance(field, SelectFieldBase) or not getattr(field, "validate_choice", True):
            continue
        offered = {field.coerce(choice.value) for choice in field.iter_choices()}
        if isinstance(field, SelectMultipleField):
            field.data = [value for value in field.data or [] if not _blank(value)]
            wrong = any(value not in offered for value in field.data)
        else:
            if _blank(field.data):
                field.data = "" if "" in offered else None
            wrong = field.data is not None and field.data not in offered
        if wrong:
            field.errors = [*field.errors, INVALID_CHOICE_MESSAGE]
            settled = False
    return settled


#: The hidden field carrying a rendered form's idempotency key.
FORM_KEY = "form_key"
_KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


class KeyedCSRFTokenField(CSRFTokenField):
    """The CSRF token field, rendered with a fresh idempotency key beside it.

    Every form renders its CSRF token (``{{ form.csrf_token }}``), so every form, including
    ones added later, carries a key of its own without a change to its class or template.
    """

    def __call__(self, **kwargs: Any) -> Markup:
        """The token's hidden input and the key's."""
        token = super().__call__(**kwargs)
        # Raw HTML, justified: the template is a constant, and ``Markup.format`` escapes
        # both values it fills in (a constant name and a hex key). ``Markup.escape`` leaves
        # the token's own (already safe) markup as it is and escapes anything else.
        key = Markup('<input type="hidden" name="{}" value="{}">').format(
            FORM_KEY, uuid.uuid4().hex
        )
        return Markup.escape(token) + key


class KeyedCSRF(_FlaskFormCSRF):
    """Flask-WTF's CSRF protection with the keyed token field."""

    field_class = KeyedCSRFTokenField


FlaskForm.Meta.csrf_class = KeyedCSRF


class DuplicateSubmission(Exception):
    """The form's key was used by a submission that saved."""


def posted_form_key() -> str | None:
    """The submitted form's idempotency key, when it has a well-formed one."""
    key = request.form.get(FORM_KEY) if request.method == "POST" else None
    return key if isinstance(key, str) and _KEY_PATTERN.fullmatch(key) else None


def _claim_form_key(key: str) -> None:
    """Record the key as used; the primary key refuses a second use, even at once."""
    user_id = current_user.id if current_user.is_authenticated else None
    try:
        with db.session.begin_nested():
            db.session.add(
                FormSubmission(key=key, user_id=user_id, endpoint=(request.endpoint or "")[:100])
            )
    except IntegrityError as error:
        raise DuplicateSubmission(key) from error


def _repeat(key: str) -> Submission:
    """A repeat of a saved submission: the first one's redirect, when it was the same
    user's; otherwise a conflict (nothing saved)."""
    used = db.session.execute(
        select(FormSubmission).where(FormSubmission.key == key),
        execution_options={"populate_existing": True},
    ).scalar_one_or_none()
    user_id = current_user.id if current_user.is_authenticated else None
    if used is not None and used.user_id == user_id and used.location:
        abort(redirect(used.location, code=303))
    return Submission(saved=False, status=409, problems=(CONFLICT_MESSAGE,))


#: A form's key is kept this long after its save at least: past the longest a signed-in
#: session lasts (``SESSION_ABSOLUTE_HOURS``, at most 12), after which the form's CSRF
#: token, bound to the session, refuses it anyway.
FORM_KEY_MIN_DAYS = 1


def prune_form_keys(*, older_than_days: int, now: datetime) -> int:
    """Delete the keys of forms saved more than ``older_than_days`` days ago (no
    session that could submit them again is left); how many went."""
    if older_than_days < FORM_KEY_MIN_DAYS:
        raise ValueError(f"form keys are kept at least {FORM_KEY_MIN_DAYS} day")
    cutoff = now - timedelta(days=older_than_days)
    result = db.session.execute(delete(FormSubmission).where(FormSubmission.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def remember_form_location(response: Any) -> Any:
    """After a saved submission, keep where its response sent the user, for repeats
    (an after-request hook, run before the request commits)."""
    key = g.pop("saved_form_key", None)
    if key and 300 <= response.status_code < 400 and response.location:
        db.session.execute(
            update(FormSubmission)
            .where(FormSubmission.key == key)
            .values(location=str(response.location)[:500])
        )
    return response


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

    A choice outside its field's options is refused like any invalid field
    (``settle_choices``). A refused rule puts its messages on the form, which is shown
    again with 200: the page, not the status, tells the person what to fix (as Django
    and the GOV.UK prototype kit do), and a browser logs no failed request for it.
    Someone else's newer save, or a clash with a row saved at the same moment, is a
    conflict (409). Either way nothing of the save is kept, but the request's earlier
    audit events are: the savepoint undoes only the save, and the request commits once
    at its end. A malformed request (no CSRF token, a file for a text field) is not a
    form problem: it is refused with 400 before it gets here.

    A form posted with its idempotency key (``form_key``, rendered beside every CSRF
    token) saves once: the key is claimed in the same savepoint as the save, so a refused
    save does not use it up, and a repeat is sent where the first save's response went.
    """
    if not (form.validate_on_submit() and settle_choices(form)):
        return Submission(saved=False)
    key = posted_form_key()
    if key and db.session.get(FormSubmission, key) is not None:
        return _repeat(key)
    try:
        with db.session.begin_nested():
            if key:
                _claim_form_key(key)
            result = save()
    except DuplicateSubmission:
        return _repeat(key or "")
    except (Conflict, StaleDataError, IntegrityError):
        return Submission(saved=False, status=409, problems=(CONFLICT_MESSAGE,))
    except ServiceError as error:
        return Submission(saved=False, problems=tuple(apply_service_errors(form, error)))
    if key:
        g.saved_form_key = key
    return Submission(saved=True, result=result)
