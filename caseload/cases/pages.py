"""What the case pages show, gathered in one place so views stay thin."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import render_template
from flask_wtf import FlaskForm

from caseload.cases.formdata import london_now
from caseload.cases.forms import (
    CONTACT_MEASURES,
    ContactFormBase,
    CorrectionMixin,
    contact_form_class,
)
from caseload.charts import ChartPoint, chart_summary, figure_json, outcome_chart
from caseload.domain.codes import AttendanceCode
from caseload.domain.measures import get_measure
from caseload.extensions import db
from caseload.models import Contact, Episode
from caseload.services import episodes as episode_service

CONFLICT_MESSAGE = (
    "Someone else saved this record after you opened it. Your input is kept below: "
    "check the record in another tab, then save again if it is still right."
)


def chart_points(contacts: list[Contact]) -> list[ChartPoint]:
    """The chart's points: every contact in force that has happened, in order."""
    shown = [c for c in contacts if c.in_force and not c.is_booked]
    return [
        ChartPoint(
            contact_number=number,
            occurred_on=c.occurred_at.date(),
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
