"""The booking form and the diary's one-click outcome form. Fields and parsing only; the
rules (bounds, clashes, working hours) live in ``caseload.services.bookings``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField
from wtforms.validators import InputRequired

from caseload.domain.codes import ContactMode, ContactType
from caseload.domain.dates import london_to_utc
from caseload.services.bookings import (
    ONE_CLICK_OUTCOMES,
    BookingDefaults,
    BookingInput,
    confirmation_key,
)
from caseload.web import ClockTimeField, NhsDateField, enum_choices, options


class BookingForm(FlaskForm):
    """Book an appointment: when, what kind, how, how long. No questionnaires."""

    #: Day, month and year boxes (the NHS.UK date input).
    booked_on = NhsDateField("Appointment date")
    #: A time typed on the 24-hour clock.
    booked_time = ClockTimeField("Time", subject="the appointment time")
    contact_type = SelectField("Type of contact", choices=enum_choices(ContactType))
    mode = SelectField("How", choices=enum_choices(ContactMode))
    duration_minutes = IntegerField(
        "Duration in minutes",
        validators=[InputRequired("Enter the duration in minutes, like 30.")],
        invalid_value_message="Enter the duration as a whole number of minutes, like 30.",
    )
    book_anyway = BooleanField("Book anyway")
    #: The booking the worker was warned about (see ``bookings.confirmation_key``).
    warned_for = HiddenField()


class DiaryOutcomeForm(FlaskForm):
    """One click on a diary row: did not attend, or cancelled by the client or the service."""

    attendance = SelectField(
        "Outcome",
        choices=options((int(code), label) for code, label in ONE_CLICK_OUTCOMES.items()),
        validators=[InputRequired("Choose what happened.")],
    )
    version = HiddenField()


def fill_booking_form(form: BookingForm, defaults: BookingDefaults) -> None:
    """Start a new booking form from the defaults."""
    form.booked_on.data = defaults.day
    form.booked_time.data = defaults.at
    form.contact_type.data = defaults.contact_type.value
    form.mode.data = defaults.mode.value
    form.duration_minutes.data = defaults.duration_minutes


def booking_input(form: BookingForm) -> BookingInput:
    """The service input for a validated booking form (the time is UK time)."""
    return BookingInput(
        starts_at=london_to_utc(form.booked_on.data, form.booked_time.data),
        contact_type=ContactType(form.contact_type.data),
        mode=ContactMode(form.mode.data),
        duration_minutes=form.duration_minutes.data,
    )


def confirmed_for(form: BookingForm) -> str:
    """What the worker confirmed by ticking "Book anyway" (nothing when it is not ticked)."""
    return (form.warned_for.data or "") if form.book_anyway.data else ""


def ask_for_confirmation(form: BookingForm) -> bool:
    """After a save refused with warnings, ask again: the box unticked, and the booking
    the warnings were about remembered, so a changed time is checked afresh."""
    if not form.book_anyway.errors:
        return False
    form.book_anyway.data = False
    form.warned_for.data = confirmation_key(booking_input(form))
    return True
