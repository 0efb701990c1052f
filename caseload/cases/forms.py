"""Forms for the worker's day. Fields and parsing only; the rules live in the services."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from caseload.domain.codes import (
    INCOMPLETE_REASONS,
    AttendanceCode,
    ConsentState,
    ContactMode,
    ContactType,
    DischargeReason,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    NotCollectedReason,
    RiskLevel,
    SexualOrientation,
    YesNoNotStated,
)
from caseload.domain.interventions import all_interventions
from caseload.domain.measures import Measure, contact_form_measures
from caseload.services.contacts import MAX_REASON_NOTE
from caseload.services.episodes import MAX_RISK_PLAN
from caseload.services.registration import missing_answer
from caseload.web import ClockTimeField, MultiCheckboxField, NhsDateField, enum_choices, options
from caseload.web.referrals import ReferralFields

#: The three answers about central reporting, as both forms offer them.
CONSENT_CHOICES = options(
    [
        (ConsentState.YES.value, "Yes, the client agrees"),
        (ConsentState.DECLINED.value, "No, the client declined"),
        (ConsentState.NOT_ASKED.value, "Not asked yet"),
    ]
)
CONTACT_PREFERENCES = options(
    [
        ("message", "We may leave a message on this phone"),
        ("sms", "We may send text messages (SMS) to this phone"),
    ]
)


def _blank_first(enum_cls: Any) -> list[Any]:
    return options([("", "Choose one")]) + enum_choices(enum_cls)


def _needed_at_referral(field: str) -> list[Any]:
    """The registration service's rule, checked early so every problem shows at once."""
    return [InputRequired(missing_answer(field))]


class RegisterClientForm(ReferralFields):
    """A new client, what the national dataset asks about them, and their referral.

    The dataset's questions are required by the registration service; the form checks
    the same rule, with the service's messages, so they show with the other problems.
    """

    name = StringField(
        "Full name", validators=[DataRequired("Enter the client's name."), Length(max=120)]
    )
    date_of_birth = NhsDateField("Date of birth")
    nhs_number = StringField("NHS number (optional)", validators=[Optional(), Length(max=14)])
    postcode = StringField("Postcode (optional)", validators=[Optional(), Length(max=12)])
    phone = StringField("Phone number (optional)", validators=[Optional(), Length(max=30)])
    contact_preferences = MultiCheckboxField(
        "Can we use this phone for messages?", choices=CONTACT_PREFERENCES, validators=[Optional()]
    )
    gp_practice = StringField(
        "GP practice name (optional)", validators=[Optional(), Length(max=120)]
    )
    gp_practice_code = StringField(
        "GP practice code (optional)", validators=[Optional(), Length(max=12)]
    )
    emergency_contact_name = StringField(
        "Emergency contact's name", validators=[Optional(), Length(max=120)]
    )
    emergency_contact_relationship = StringField(
        "Their relationship to the client", validators=[Optional(), Length(max=60)]
    )
    emergency_contact_phone = StringField(
        "Emergency contact's phone number", validators=[Optional(), Length(max=30)]
    )
    gender_identity = RadioField(
        "What is the client's gender?",
        choices=enum_choices(GenderIdentity),
        validators=_needed_at_referral("gender_identity"),
    )
    ethnic_category = SelectField(
        "What is the client's ethnic group?",
        choices=_blank_first(EthnicCategory),
        validators=_needed_at_referral("ethnic_category"),
    )
    employment_status = RadioField(
        "What is the client's employment status?",
        choices=enum_choices(EmploymentStatus),
        validators=_needed_at_referral("employment_status"),
    )
    long_term_condition = RadioField(
        "Does the client have a long-term physical health condition?",
        choices=enum_choices(YesNoNotStated),
        validators=_needed_at_referral("long_term_condition"),
    )
    disability = RadioField(
        "Does the client consider themselves to have a disability?",
        choices=enum_choices(YesNoNotStated),
        validators=_needed_at_referral("disability"),
    )
    sexual_orientation = RadioField(
        "What is the client's sexual orientation? (optional)",
        choices=enum_choices(SexualOrientation),
        validators=[Optional()],
    )
    preferred_language = StringField(
        "Preferred language (optional)", validators=[Optional(), Length(max=60)]
    )
    interpreter_needed = BooleanField("The client needs an interpreter")
    consent = RadioField(
        "Has the client agreed to be counted in the service's central reporting?",
        choices=CONSENT_CHOICES,
        default=ConsentState.NOT_ASKED.value,
        validators=[InputRequired("Choose what the client said about central reporting.")],
    )
    consent_note = StringField(
        "What did the client say? (optional)", validators=[Optional(), Length(max=500)]
    )
    different_person = BooleanField("This is a different person: register anyway")


class ConsentForm(FlaskForm):
    """A change of consent to central reporting, with what was said."""

    consent = RadioField(
        "Has the client agreed to be counted in the service's central reporting?",
        choices=CONSENT_CHOICES,
        validators=[InputRequired("Choose what the client said about central reporting.")],
    )
    answered_on = NhsDateField(
        "When did the client give this answer? (optional)",
        subject="the date the client answered",
        required=False,
    )
    consent_note = StringField(
        "What did the client say?",
        validators=[DataRequired("Say what the client said, in a few words."), Length(max=500)],
    )
    #: The client's version when the form was opened: a stale tab cannot undo a newer
    #: answer.
    version = HiddenField()


def _measure_fields(measure: Measure) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for item in measure.items:
        pairs = [
            (str(o.value), o.label or str(o.value))
            for o in measure.options
            if item.min <= o.value <= item.max
        ]
        if item.allows_not_applicable:
            pairs.append(("na", measure.not_applicable_label or "Not applicable"))
        choices = options(pairs)
        fields[f"{measure.id}_{item.number}"] = RadioField(
            f"{item.number}. {item.text}",
            choices=choices,
            validators=[Optional()],
            name=f"{measure.id}-{item.number}",
        )
    if measure.difficulty_question:
        fields[f"{measure.id}_difficulty"] = RadioField(
            measure.difficulty_question,
            choices=options((o.value, o.label) for o in measure.difficulty_options),
            validators=[Optional()],
        )
    if len(measure.items) == 1:
        return fields  # answered or not asked: it cannot be left unfinished
    # Asked for by the service only when the questionnaire was started and not finished.
    fields[f"{measure.id}_incomplete_reason"] = SelectField(
        f"If the {measure.short_name} was not finished, why not?",
        choices=options(
            [("", "Choose a reason"), *((r.value, r.label) for r in INCOMPLETE_REASONS)]
        ),
        validators=[Optional()],
    )
    fields[f"{measure.id}_incomplete_note"] = StringField(
        "If other, say why",
        validators=[Optional(), Length(max=MAX_REASON_NOTE)],
    )
    return fields


class ContactFormBase(FlaskForm):
    """Log a contact: when, how, what happened, measures and risk."""

    #: The questionnaires this form asks, in form order (set by contact_form_class).
    measures: tuple[Measure, ...] = ()

    #: Day, month and year boxes (the NHS.UK date input) and a 24-hour time.
    occurred_on = NhsDateField("Date", subject="the date of the contact")
    occurred_time = ClockTimeField("Time", subject="the time of the contact")
    contact_type = SelectField(
        "Type of contact", choices=enum_choices(ContactType), default=ContactType.TREATMENT.value
    )
    mode = SelectField(
        "How", choices=enum_choices(ContactMode), default=ContactMode.TELEPHONE.value
    )
    attendance = RadioField(
        "What happened?",
        choices=options(
            (int(c), c.label)
            for c in (
                AttendanceCode.ATTENDED_ON_TIME,
                AttendanceCode.ARRIVED_LATE_SEEN,
                AttendanceCode.ARRIVED_LATE_NOT_SEEN,
                AttendanceCode.DID_NOT_ATTEND,
                AttendanceCode.CANCELLED_BY_PATIENT,
                AttendanceCode.CANCELLED_BY_PROVIDER,
            )
        ),
        default=str(int(AttendanceCode.ATTENDED_ON_TIME)),
        validators=[InputRequired("Choose what happened.")],
    )
    duration_minutes = IntegerField(
        "Duration in minutes (optional)",
        invalid_value_message="Enter the duration as a whole number of minutes, like 30.",
        validators=[Optional()],  # the range is the service's rule
    )
    #: The choices come from seed_data/interventions.json, read when the form class is
    #: built (see contact_form_class), not at import.
    intervention: SelectField
    note = TextAreaField("Clinical note (optional)", validators=[Optional(), Length(max=10_000)])
    measures_not_collected = BooleanField("Questionnaires were not collected at this contact")
    not_collected_reason = SelectField(
        "Why not?",
        choices=options([("", "Choose a reason")]) + enum_choices(NotCollectedReason),
        validators=[Optional()],
    )
    not_collected_note = StringField(
        "If other, say why", validators=[Optional(), Length(max=MAX_REASON_NOTE)]
    )
    risk_level = RadioField(
        "Risk assessment", choices=enum_choices(RiskLevel), validators=[Optional()]
    )
    risk_factors = TextAreaField(
        "Risk factors (optional)", validators=[Optional(), Length(max=4000)]
    )
    risk_action = TextAreaField("Action taken", validators=[Optional(), Length(max=4000)])
    version = HiddenField()


def contact_form_class(
    presenting_problem: str | None = None, *, keep: Collection[str] = ()
) -> type[ContactFormBase]:
    """The contact form with one radio group per questionnaire item, from the definitions.

    It asks the measures for everyone and the anxiety disorder specific measure of the
    episode's presenting problem; ``keep`` adds the measures a contact being corrected
    already holds, so a correction never drops a score. The intervention choices come
    from the interventions file.
    """
    measures = contact_form_measures(presenting_problem=presenting_problem, also=keep)
    fields: dict[str, Any] = {"measures": measures}
    for measure in measures:
        fields |= _measure_fields(measure)
    fields["intervention"] = SelectField(
        "Intervention (optional)",
        choices=options([("", "None recorded")] + [(i.code, i.label) for i in all_interventions()]),
        validators=[Optional()],
    )
    return type("ContactForm", (ContactFormBase,), fields)


class CorrectionMixin:
    """Corrections always carry a reason."""

    reason = TextAreaField(
        "Reason for the correction", validators=[DataRequired("Give a reason."), Length(max=2000)]
    )


class ReasonForm(FlaskForm):
    """Mark an entry as entered in error."""

    reason = TextAreaField(
        "Why was this entered in error?",
        validators=[DataRequired("Give a reason."), Length(max=2000)],
    )
    version = HiddenField()


class RecordInErrorForm(FlaskForm):
    """Mark an episode, or the whole client (registered twice), as entered in error."""

    scope = RadioField(
        "What was entered in error?",
        choices=options(
            [
                ("episode", "This episode (referral) only"),
                ("client", "The whole client record: the client was registered twice"),
            ]
        ),
        validators=[InputRequired("Choose what was entered in error.")],
    )
    reason = TextAreaField(
        "Why was it entered in error?",
        validators=[DataRequired("Give a reason."), Length(max=2000)],
    )
    version = HiddenField()


class DischargeForm(FlaskForm):
    """Close an episode."""

    reason = RadioField(
        "Reason for discharge",
        choices=enum_choices(DischargeReason),
        validators=[InputRequired("Choose the reason for discharge.")],
    )
    #: Day, month and year boxes (the NHS.UK date input).
    discharged_on = NhsDateField("Discharge date", subject="the discharge date")
    note = TextAreaField("Discharge note (optional)", validators=[Optional(), Length(max=4000)])
    # Shown, and required by the service, only when risk or a red flag is open.
    risk_plan = TextAreaField(
        "Risk plan at discharge", validators=[Optional(), Length(max=MAX_RISK_PLAN)]
    )
    risk_confirmed = BooleanField(
        "I have checked the open risk above, and the risk plan is in place"
    )
    version = HiddenField()
