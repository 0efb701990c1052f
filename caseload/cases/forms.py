"""Forms for the worker's day. Fields and parsing only; the rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from caseload.domain.codes import (
    AttendanceCode,
    ComplexityFactor,
    ContactMode,
    ContactType,
    DischargeReason,
    Intervention,
    NotCollectedReason,
    ReferralSource,
    RiskLevel,
)
from caseload.domain.measures import Measure, contact_form_measures
from caseload.web import MultiCheckboxField, enum_choices, options

PRESENTING_PROBLEMS = [
    "Depression",
    "Generalised anxiety disorder",
    "Mixed anxiety and depressive disorder",
    "Panic disorder",
    "Health anxiety",
    "Social anxiety disorder",
    "Specific phobia",
    "Obsessive-compulsive disorder",
    "Post-traumatic stress disorder",
    "Other",
]
REFERRER_EXPECTATIONS = [
    "Guided self-help (low-intensity CBT)",
    "Counselling",
    "Longer-term or high-intensity therapy",
    "Medication review",
    "Not discussed or not known",
]


class RegisterClientForm(FlaskForm):
    """A new client and their referral, on one page."""

    name = StringField(
        "Full name", validators=[DataRequired("Enter the client's name."), Length(max=120)]
    )
    date_of_birth = DateField(
        "Date of birth",
        validators=[InputRequired("Enter a real date of birth.")],
        invalid_value_message="Enter a real date of birth.",
    )
    nhs_number = StringField("NHS number (optional)", validators=[Optional(), Length(max=14)])
    phone = StringField("Contact phone (optional)", validators=[Optional(), Length(max=30)])
    gp_practice = StringField("GP practice (optional)", validators=[Optional(), Length(max=120)])
    referral_date = DateField(
        "Referral date",
        validators=[InputRequired("Enter a real referral date.")],
        invalid_value_message="Enter a real referral date.",
    )
    referral_source = RadioField(
        "Referred by",
        choices=enum_choices(ReferralSource),
        validators=[InputRequired("Choose who referred the client.")],
    )
    referrer_expectation = SelectField(
        "What was the client led to expect?",
        choices=options([("", "Choose one")] + [(v, v) for v in REFERRER_EXPECTATIONS]),
        validators=[DataRequired("Say what the client was led to expect.")],
    )
    presenting_problem = SelectField(
        "Presenting problem",
        choices=options([("", "Choose one")] + [(v, v) for v in PRESENTING_PROBLEMS]),
        validators=[DataRequired("Choose the presenting problem.")],
    )
    step = RadioField(
        "Step",
        choices=options([("2", "Step 2 (low intensity)"), ("3", "Step 3")]),
        default="2",
        validators=[InputRequired("Choose the step.")],
    )
    complexity_factors = MultiCheckboxField(
        "Complexity outside step-2 remit (tick any that apply)",
        choices=enum_choices(ComplexityFactor),
        validators=[Optional()],
    )
    complexity_note = TextAreaField(
        "Complexity notes (optional)", validators=[Optional(), Length(max=2000)]
    )
    consent = RadioField(
        "Has the client consented to central reporting?",
        choices=options([("no", "No, or not asked yet"), ("yes", "Yes")]),
        default="no",
        validators=[InputRequired("Say whether the client has consented.")],
    )
    consent_note = StringField(
        "What did the client say? (optional)", validators=[Optional(), Length(max=500)]
    )


class ConsentForm(FlaskForm):
    """A change of consent to central reporting, with what was said."""

    consent = RadioField(
        "Consent to central reporting",
        choices=options(
            [("yes", "Yes, the client consents"), ("no", "No, the client does not consent")]
        ),
        validators=[InputRequired("Choose yes or no.")],
    )
    consent_note = StringField(
        "What did the client say?",
        validators=[DataRequired("Say what the client said, in a few words."), Length(max=500)],
    )


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
    return fields


class ContactFormBase(FlaskForm):
    """Log a contact: when, how, what happened, measures and risk."""

    occurred_on = DateField(
        "Date",
        validators=[InputRequired("Enter a real date.")],
        invalid_value_message="Enter a real date.",
    )
    occurred_time = TimeField(
        "Time",
        validators=[InputRequired("Enter a real time, like 14:30.")],
        invalid_value_message="Enter a real time, like 14:30.",
    )
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
                AttendanceCode.BOOKED,
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
    intervention = SelectField(
        "Intervention (optional)",
        choices=options([("", "None recorded")]) + enum_choices(Intervention),
        validators=[Optional()],
    )
    note = TextAreaField("Clinical note (optional)", validators=[Optional(), Length(max=10_000)])
    measures_not_collected = BooleanField("Questionnaires were not collected at this contact")
    not_collected_reason = SelectField(
        "Why not?",
        choices=options([("", "Choose a reason")]) + enum_choices(NotCollectedReason),
        validators=[Optional()],
    )
    risk_level = RadioField(
        "Risk assessment", choices=enum_choices(RiskLevel), validators=[Optional()]
    )
    risk_factors = TextAreaField(
        "Risk factors (optional)", validators=[Optional(), Length(max=4000)]
    )
    risk_action = TextAreaField("Action taken", validators=[Optional(), Length(max=4000)])
    version = HiddenField()


def contact_form_class() -> type[ContactFormBase]:
    """The contact form with one radio group per questionnaire item, from the definitions."""
    fields: dict[str, Field] = {}
    for measure in contact_form_measures():
        fields |= _measure_fields(measure)
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


class DischargeForm(FlaskForm):
    """Close an episode."""

    reason = RadioField(
        "Reason for discharge",
        choices=enum_choices(DischargeReason),
        validators=[InputRequired("Choose the reason for discharge.")],
    )
    discharged_on = DateField(
        "Discharge date",
        validators=[InputRequired("Enter a real discharge date.")],
        invalid_value_message="Enter a real discharge date.",
    )
    note = TextAreaField("Discharge note (optional)", validators=[Optional(), Length(max=4000)])
    version = HiddenField()
