"""What the case pages show, gathered in one place so views stay thin."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from flask_login import current_user
from flask_wtf import FlaskForm

from caseload.cases.formdata import contact_input
from caseload.cases.forms import (
    ContactFormBase,
    CorrectionMixin,
    RegisterClientForm,
    contact_form_class,
)
from caseload.charts import chart_summary, figure_json, outcome_chart
from caseload.domain.codes import (
    AttendanceCode,
    ConsentState,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    SexualOrientation,
    YesNoNotStated,
)
from caseload.domain.episodes import is_unfinished, risk_item_unanswered
from caseload.domain.measures import GAD7, PHQ9, Measure, contact_form_measures, get_measure
from caseload.domain.registration import ADULT_AGE
from caseload.models import Contact, Episode
from caseload.policy import SUPERVISOR, can_change_episode
from caseload.services import contacts as contact_service
from caseload.services import episodes as episode_service
from caseload.services import registration as registration_service
from caseload.services import supervision as supervision_service
from caseload.services.clients import MAX_LENGTHS, ClientDetails, Demographics
from caseload.services.episodes import chart_points
from caseload.services.search import DuplicateCandidate
from caseload.web import expected_version, london_now


def episode_context(episode: Episode, *, today: date) -> dict[str, Any]:
    """Everything the episode page needs."""
    contacts = episode_service.episode_contacts(episode)
    points = chart_points(contacts)
    figure = outcome_chart(points)
    return {
        "episode": episode,
        "can_change": can_change_episode(current_user, episode),
        # Supervisors act through supervision: a review and a move, never the worker's forms.
        "can_supervise": episode.is_open and SUPERVISOR.allows(current_user),
        "reviews": supervision_service.reviews_for(current_user, episode),
        "client": episode.client,
        "young_person": episode.client.age_on(episode.referral_date) < ADULT_AGE,
        "summary": episode.summary,
        "flags": episode_service.flags_for(
            episode, today=today, curves=episode_service.cached_curves()
        ),
        "contacts": list(reversed(contacts)),
        "chart_json": figure_json(figure),
        "chart_summary": chart_summary(points),
        "chart_points": points,
        **outcome_context(episode),
        "now": london_now(),
        **score_context(),
    }


def discharge_context(episode: Episode, *, today: date) -> dict[str, Any]:
    """The episode page's context, with what stands in the way of discharge: the bookings
    still waiting for an outcome, and the open risk or red flags to acknowledge."""
    return {
        **episode_context(episode, today=today),
        "booked_contacts": episode_service.booked_contacts(episode),
        "discharge_risk": episode_service.discharge_risk(episode, today=today),
    }


def outcome_context(episode: Episode) -> dict[str, Any]:
    """The episode's national outcome and the anxiety measure it used (GAD-7 or an ADSM)."""
    outcome = episode_service.outcome_for(episode)
    return {"outcome": outcome, "anxiety_measure": get_measure(outcome.anxiety_measure)}


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
    held = {s.measure_id for s in contact.scores}
    for measure in contact_form_measures(
        presenting_problem=contact.episode.presenting_problem, also=held
    ):
        total = contact.total(measure.id)
        if total is not None:
            parts.append(f"{measure.short_name} {total}.")
    return " ".join(parts)


def measure_context(
    form: FlaskForm | None = None, *, presenting_problem: str | None = None
) -> dict[str, Any]:
    """The questionnaire definitions the contact form renders from: the form's own measures
    (those for everyone and the ADSM of the episode's presenting problem)."""
    measures = (
        form.measures
        if isinstance(form, ContactFormBase)
        else contact_form_measures(presenting_problem=presenting_problem)
    )
    answered = {
        m.id
        for m in measures
        if form is not None and any(form[f"{m.id}_{i.number}"].data for i in m.items)
    }
    given = {m.id: _given_answers(form, m) for m in measures}
    return {
        "measures": measures,
        "answered_measures": answered,
        "unfinished_measures": {m.id for m in measures if is_unfinished(given[m.id])},
        "risk_item_missing": [m.id for m in measures if risk_item_unanswered(m, given[m.id])],
        "risk_missing_prompts": {
            m.id: f"{m.short_name} item {m.risk_item} is not answered: ask it, or say why the "
            f"{m.short_name} was not finished and record a risk assessment."
            for m in measures
            if m.risk_item is not None
        },
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


def _given_answers(form: FlaskForm | None, measure: Measure) -> list[str | None]:
    """The items of a measure as the form holds them (None where unanswered)."""
    if form is None:
        return []
    values = [form[f"{measure.id}_{i.number}"].data for i in measure.items]
    return [None if v in (None, "", "None") else v for v in values]


def score_context() -> dict[str, Any]:
    """The outcome measures' definitions, for showing scores with their bands."""
    return {"phq9": get_measure(PHQ9), "gad7": get_measure(GAD7)}


def correction_form(
    presenting_problem: str | None = None, *, keep: Collection[str] = ()
) -> FlaskForm:
    """The contact form plus a reason, for corrections."""
    base = contact_form_class(presenting_problem, keep=keep)
    return type("CorrectionForm", (base, CorrectionMixin), {})()


def change_contact_form(contact: Contact, episode: Episode, *, action: str) -> FlaskForm:
    """The form to record a booked contact's outcome or correct a saved contact: the
    episode's measures, plus any the contact already holds."""
    held = {s.measure_id for s in contact.scores}
    if action == "outcome":
        return contact_form_class(episode.presenting_problem, keep=held)()
    return correction_form(episode.presenting_problem, keep=held)


E = TypeVar("E", bound=StrEnum)


def _coded(enum_cls: type[E], value: str | None) -> E | None:
    """A labelled enum from a form's choice, None for no answer."""
    return enum_cls(value) if value else None


def _client_details(form: RegisterClientForm) -> ClientDetails:
    preferences = set(form.contact_preferences.data or [])
    return ClientDetails(
        name=form.name.data or "",
        date_of_birth=form.date_of_birth.data,
        nhs_number=form.nhs_number.data or "",
        phone=form.phone.data or "",
        may_leave_message="message" in preferences,
        sms_allowed="sms" in preferences,
        gp_practice=form.gp_practice.data or "",
        gp_practice_code=form.gp_practice_code.data or "",
        postcode=form.postcode.data or "",
        emergency_contact_name=form.emergency_contact_name.data or "",
        emergency_contact_relationship=form.emergency_contact_relationship.data or "",
        emergency_contact_phone=form.emergency_contact_phone.data or "",
    )


def registration_input(form: RegisterClientForm) -> dict[str, Any]:
    """The registration form as keyword arguments for ``register_new_client``."""
    return {
        "details": _client_details(form),
        "demographics": Demographics(
            gender_identity=_coded(GenderIdentity, form.gender_identity.data),
            ethnic_category=_coded(EthnicCategory, form.ethnic_category.data),
            employment_status=_coded(EmploymentStatus, form.employment_status.data),
            long_term_condition=_coded(YesNoNotStated, form.long_term_condition.data),
            disability=_coded(YesNoNotStated, form.disability.data),
            sexual_orientation=_coded(SexualOrientation, form.sexual_orientation.data),
            preferred_language=form.preferred_language.data or "",
            interpreter_needed=bool(form.interpreter_needed.data),
        ),
        "referral": form.referral(),
        "consent": ConsentState(form.consent.data),
        "consent_note": form.consent_note.data or "",
        "different_person": bool(form.different_person.data),
    }


#: The longest NHS number the form takes as typed (spaces and dashes included).
NHS_NUMBER_TYPED = 14


def duplicate_warning(form: RegisterClientForm) -> list[DuplicateCandidate]:
    """Registered clients who may be the person on a submitted form: none until its name
    and date of birth are readable (the NHS number counts when it is)."""
    name, nhs_number = form.name.data or "", form.nhs_number.data or ""
    if not name.strip() or len(name) > MAX_LENGTHS["name"] or form.date_of_birth.data is None:
        return []
    details = ClientDetails(
        name=name,
        date_of_birth=form.date_of_birth.data,
        nhs_number=nhs_number if len(nhs_number) <= NHS_NUMBER_TYPED else "",
    )
    return registration_service.duplicate_candidates(current_user, details)


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
