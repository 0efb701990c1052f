"""The referral questions, shared by registration and re-referral (one definition, so the
two forms can never ask them differently)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from caseload.domain.codes import (
    PRESENTING_PROBLEMS,
    REFERRER_EXPECTATIONS,
    ComplexityFactor,
    ReferralSource,
)
from caseload.services.clients import Referral
from caseload.web.forms import MultiCheckboxField, NhsDateField, enum_choices, options


class ReferralFields(FlaskForm):
    """What the service asks about a referral, and the service input it makes."""

    referral_date = NhsDateField("Referral date")
    referral_source = RadioField(
        "Who referred the client?",
        choices=enum_choices(ReferralSource),
        validators=[InputRequired("Choose who referred the client.")],
    )
    referrer_expectation = SelectField(
        "What was the client told to expect from us?",
        choices=options([("", "Choose one")] + [(v, v) for v in REFERRER_EXPECTATIONS]),
        validators=[DataRequired("Say what the client was told to expect.")],
    )
    presenting_problem = SelectField(
        "What is the main problem the client was referred for?",
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

    def referral(self) -> Referral:
        """The validated form as the service's input."""
        return Referral(
            referral_date=self.referral_date.data,
            referral_source=ReferralSource(self.referral_source.data),
            referrer_expectation=self.referrer_expectation.data,
            presenting_problem=self.presenting_problem.data,
            step=int(self.step.data),
            complexity_factors=frozenset(
                ComplexityFactor(v) for v in self.complexity_factors.data or []
            ),
            complexity_note=self.complexity_note.data or "",
        )
