"""What the case pages show, gathered in one place so views stay thin."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask_login import current_user
from flask_wtf import FlaskForm

from caseload.cases.formdata import contact_input
from caseload.cases.forms import (
    ContactFormBase,
    CorrectionMixin,
    RegisterClientForm,
    contact_form_class,
)
from caseload.charts import ChartPoint, chart_summary, figure_json, outcome_chart
from caseload.domain.codes import AttendanceCode, ComplexityFactor, ReferralSource
from caseload.domain.dates import local_date
from caseload.domain.measures import GAD7, PHQ9, contact_form_measures, get_measure
from caseload.models import Contact, Episode
from caseload.policy import can_change_episode
from caseload.services import contacts as contact_service
from caseload.services import episodes as episode_service
from caseload.services.clients import ClientDetails, Referral
from caseload.web import expected_version, london_now


def chart_points(contacts: list[Contact]) -> list[ChartPoint]:
    """The chart's points: every contact in force that has happened, in order."""
    shown = [c for c in contacts if c.in_force and not c.is_booked]
    return [
        ChartPoint(
            contact_number=number,
            occurred_on=local_date(c.occurred_at),
            phq9=c.total(PHQ9) if c.attendance.attended else None,
            gad7=c.total(GAD7) if c.attendance.attended else None,
            attended=c.attendance.attended,
            dna=c.attendance.is_dna,
        )
        for number, c in enumerate(shown, start=1)
    ]


def episode_context(episode: Episode, *, today: date) -> dict[str, Any]:
    """Everything the episode page needs."""
    contacts = episode_service.episode_contacts(episode)
    points = chart_points(contacts)
    figure = outcome_chart(points)
    return {
        "episode": episode,
        "can_change": can_change_episode(current_user, episode),
        "client": episode.client,
        "summary": episode.summary,
        "flags": episode_service.flags_for(
            episode, today=today, curves=episode_service.cached_curves()
        ),
        "contacts": list(reversed(contacts)),
        "chart_json": figure_json(figure),
        "chart_summary": chart_summary(points),
        "chart_points": points,
        "outcome": episode_service.outcome_for(episode),
        "now": london_now(),
        **score_context(),
    }


def default_contact_time(form: ContactFormBase) -> None:
    """A new contact defaults to now, to the minute (the worker is usually on the call)."""
    now = london_now()
    form.occurred_on.data = now.date()
    form.occurred_time.data = now.time().replace(second=0, microsecond=0)


def saved_message(contact: Contact) -> str:
    """The confirmation after saving a contact."""
    if contact.attendance is AttendanceCode.BOOKED:
        return "Contact booked."
    parts = ["Contact saved."]
    for measure in contact_form_measures():
        total = contact.total(measure.id)
        if total is not None:
            parts.append(f"{measure.short_name} {total}.")
    return " ".join(parts)


def measure_context(form: FlaskForm | None = None) -> dict[str, Any]:
    """The questionnaire definitions the contact form renders from."""
    measures = contact_form_measures()
    answered = {
        m.id
        for m in measures
        if form is not None and any(form[f"{m.id}_{i.number}"].data for i in m.items)
    }
    return {
        "measures": measures,
        "answered_measures": answered,
        "bands_json": {
            m.id: json.dumps([[b.lower, b.upper, b.label] for b in m.bands]) for m in measures
        },
        "risk_prompts": {
            m.id: f"{m.short_name} item {m.risk_item} was answered: complete the risk "
            "assessment before saving."
            for m in measures
            if m.risk_item is not None
        },
        "risk_rules": [m.risk_rule for m in measures if m.risk_rule is not None],
        **score_context(),
    }


def score_context() -> dict[str, Any]:
    """The outcome measures' definitions, for showing scores with their bands."""
    return {"phq9": get_measure(PHQ9), "gad7": get_measure(GAD7)}


def correction_form() -> FlaskForm:
    """The contact form plus a reason, for corrections."""
    return type("CorrectionForm", (contact_form_class(), CorrectionMixin), {})()


def registration_input(form: RegisterClientForm) -> dict[str, Any]:
    """The registration form as keyword arguments for ``register_client``."""
    return {
        "details": ClientDetails(
            name=form.name.data,
            date_of_birth=form.date_of_birth.data,
            nhs_number=form.nhs_number.data or "",
            phone=form.phone.data or "",
            gp_practice=form.gp_practice.data or "",
        ),
        "referral": Referral(
            referral_date=form.referral_date.data,
            referral_source=ReferralSource(form.referral_source.data),
            referrer_expectation=form.referrer_expectation.data,
            presenting_problem=form.presenting_problem.data,
            step=int(form.step.data),
            complexity_factors=frozenset(
                ComplexityFactor(v) for v in form.complexity_factors.data or []
            ),
            complexity_note=form.complexity_note.data or "",
        ),
        "consented": form.consent.data == "yes",
        "consent_note": form.consent_note.data or "",
    }


def change_contact(contact: Contact, form: ContactFormBase, *, action: str) -> Contact:
    """Record a booked contact's outcome, or correct a saved contact, from the form."""
    version = expected_version(form.version.data)
    if action == "outcome":
        return contact_service.record_outcome(
            current_user, contact, contact_input(form), expected_version=version
        )
    return contact_service.correct_contact(
        current_user,
        contact,
        contact_input(form),
        reason=form.reason.data,
        expected_version=version,
    )
