"""What the case pages show, gathered in one place so views stay thin."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import render_template
from flask_login import current_user
from flask_wtf import FlaskForm

from caseload.cases.formdata import contact_input, expected_version, london_now
from caseload.cases.forms import (
    CONTACT_MEASURES,
    ContactFormBase,
    CorrectionMixin,
    RegisterClientForm,
    contact_form_class,
)
from caseload.charts import ChartPoint, chart_summary, figure_json, outcome_chart
from caseload.domain.codes import AttendanceCode, ComplexityFactor, ReferralSource
from caseload.domain.dates import local_date
from caseload.domain.measures import get_measure
from caseload.extensions import db
from caseload.models import Contact, Episode
from caseload.policy import can_change_episode
from caseload.services import contacts as contact_service
from caseload.services import episodes as episode_service
from caseload.services.clients import ClientDetails, Referral


def chart_points(contacts: list[Contact]) -> list[ChartPoint]:
    """The chart's points: every contact in force that has happened, in order."""
    shown = [c for c in contacts if c.in_force and not c.is_booked]
    return [
        ChartPoint(
            contact_number=number,
            occurred_on=local_date(c.occurred_at),
            phq9=c.phq9_total if c.attendance.attended else None,
            gad7=c.gad7_total if c.attendance.attended else None,
            attended=c.attendance.attended,
            dna=c.attendance.is_dna,
        )
        for number, c in enumerate(shown, start=1)
    ]


def episode_context(episode: Episode, *, today: date) -> dict[str, Any]:
    """Everything the episode page needs."""
    contacts = list(episode.contacts)
    points = chart_points(contacts)
    figure = outcome_chart(points)
    return {
        "episode": episode,
        "can_change": can_change_episode(current_user, episode),
        "client": episode.client,
        "summary": episode.summary,
        "flags": episode_service.flags_for(episode, today=today,
                                           curves=episode_service.cached_curves()),
        "contacts": list(reversed(contacts)),
        "chart_json": figure_json(figure),
        "chart_summary": chart_summary(points),
        "chart_points": points,
        "outcome": episode_service.outcome_for(episode),
        "phq9": get_measure("phq9"),
        "gad7": get_measure("gad7"),
        "now": london_now(),
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
    if contact.phq9_total is not None:
        parts.append(f"PHQ-9 {contact.phq9_total}.")
    if contact.gad7_total is not None:
        parts.append(f"GAD-7 {contact.gad7_total}.")
    return " ".join(parts)


def measure_context() -> dict[str, Any]:
    """The questionnaire definitions the contact form renders from."""
    measures = [get_measure(m) for m in CONTACT_MEASURES]
    return {
        "measures": measures,
        "bands_json": {
            m.id: json.dumps([[b.lower, b.upper, b.label] for b in m.bands]) for m in measures
        },
        "phq9": get_measure("phq9"),
        "gad7": get_measure("gad7"),
    }


def correction_form() -> FlaskForm:
    """The contact form plus a reason, for corrections."""
    return type("CorrectionForm", (contact_form_class(), CorrectionMixin), {})()



def render_and_commit(template: str, **context: Any) -> str:
    """Render a page, then commit the request's audit events.

    Rendering first matters: a commit expires every loaded object, and a
    template that then touched them would reload each one with its own query.
    """
    html = render_template(template, **context)
    db.session.commit()
    return html


def registration_input(form: RegisterClientForm) -> dict[str, Any]:
    """The registration form as keyword arguments for ``register_client``."""
    return {
        "details": ClientDetails(
            name=form.name.data, date_of_birth=form.date_of_birth.data,
            nhs_number=form.nhs_number.data or "", phone=form.phone.data or "",
            gp_practice=form.gp_practice.data or ""),
        "referral": Referral(
            referral_date=form.referral_date.data,
            referral_source=ReferralSource(form.referral_source.data),
            referrer_expectation=form.referrer_expectation.data,
            presenting_problem=form.presenting_problem.data, step=int(form.step.data),
            complexity_factors=frozenset(
                ComplexityFactor(v) for v in form.complexity_factors.data or []),
            complexity_note=form.complexity_note.data or ""),
        "consented": form.consent.data == "yes",
        "consent_note": form.consent_note.data or "",
    }


def change_contact(contact: Contact, form: ContactFormBase, *, action: str) -> Contact:
    """Record a booked contact's outcome, or correct a saved contact, from the form."""
    version = expected_version(form.version.data)
    if action == "outcome":
        return contact_service.record_outcome(current_user, contact, contact_input(form),
                                              expected_version=version)
    return contact_service.correct_contact(current_user, contact, contact_input(form),
                                           reason=form.reason.data, expected_version=version)
