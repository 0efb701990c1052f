"""The worker's day: caseload, clients and episodes, contacts, discharge and consent."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from caseload.cases import pages
from caseload.cases.formdata import (
    apply_service_errors,
    contact_input,
    expected_version,
    fill_contact_form,
    today_in_london,
)
from caseload.cases.forms import (
    ConsentForm,
    DischargeForm,
    ReasonForm,
    RegisterClientForm,
    contact_form_class,
)
from caseload.cases.pages import render_and_commit
from caseload.domain.codes import ComplexityFactor, DischargeReason, ReferralSource
from caseload.extensions import db
from caseload.models import Contact
from caseload.policy import CLINICAL, WORKER, policy
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services import clients as client_service
from caseload.services import contacts as contact_service
from caseload.services import episodes as episode_service

bp = Blueprint("cases", __name__)


@bp.get("/caseload")
@policy(WORKER)
def caseload() -> ResponseReturnValue:
    """My caseload: active cases against the cap, then the waiting list."""
    data = episode_service.worker_caseload(current_user, today=today_in_london())
    view = request.args.get("show", "all")
    return render_and_commit("cases/caseload.html", caseload=data, show=view,
                           **pages.measure_context())


@bp.route("/clients/new", methods=["GET", "POST"])
@policy(WORKER)
def register_client() -> ResponseReturnValue:
    """Register a client and their referral in one form."""
    form = RegisterClientForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            episode = client_service.register_client(
                current_user,
                details=client_service.ClientDetails(
                    name=form.name.data, date_of_birth=form.date_of_birth.data,
                    nhs_number=form.nhs_number.data or "", phone=form.phone.data or "",
                    gp_practice=form.gp_practice.data or ""),
                referral=client_service.Referral(
                    referral_date=form.referral_date.data,
                    referral_source=ReferralSource(form.referral_source.data),
                    referrer_expectation=form.referrer_expectation.data,
                    presenting_problem=form.presenting_problem.data, step=int(form.step.data),
                    complexity_factors=frozenset(
                        ComplexityFactor(v) for v in form.complexity_factors.data or []),
                    complexity_note=form.complexity_note.data or ""),
                consented=form.consent.data == "yes",
                consent_note=form.consent_note.data or "",
                today=today_in_london(),
            )
        except ServiceError as error:
            db.session.rollback()
            problems = apply_service_errors(form, error)
        else:
            db.session.commit()
            flash(f"Registered {episode.client.name} ({episode.client.service_ref}).", "success")
            return redirect(url_for("cases.episode", episode_id=episode.id))
    return render_template("cases/register.html", form=form, problems=problems), (
        400 if request.method == "POST" else 200)


@bp.get("/episodes/<int:episode_id>")
@policy(CLINICAL)
def episode(episode_id: int) -> ResponseReturnValue:
    """The client and episode page: details, consent, flags, timeline, chart, outcome."""
    record = episode_service.get_episode(current_user, episode_id)
    context = pages.episode_context(record, today=today_in_london())
    return render_and_commit("cases/episode.html", **context)


@bp.route("/episodes/<int:episode_id>/contacts/new", methods=["GET", "POST"])
@policy(WORKER)
def log_contact(episode_id: int) -> ResponseReturnValue:
    """Log a contact (or book one ahead) with the questionnaires."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    if not record.is_open:
        db.session.commit()
        flash("This episode is discharged; contacts can no longer be added.", "info")
        return redirect(url_for("cases.episode", episode_id=episode_id))
    form = contact_form_class()()
    if request.method == "GET":
        pages.default_contact_time(form)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            contact = contact_service.log_contact(current_user, record, contact_input(form))
        except ServiceError as error:
            db.session.rollback()
            problems = apply_service_errors(form, error)
        else:
            db.session.commit()
            flash(pages.saved_message(contact), "success")
            return redirect(url_for("cases.episode", episode_id=episode_id))
    return render_and_commit("cases/contact_form.html", form=form, episode=record,
                           problems=problems, mode="new", **pages.measure_context()), (
        400 if request.method == "POST" else 200)


def _contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotVisible(contact_id)
    episode_service.get_episode(current_user, contact.episode_id, for_change=True)
    return contact


@bp.route("/contacts/<int:contact_id>/<any(outcome, correct):action>", methods=["GET", "POST"])
@policy(WORKER)
def change_contact(contact_id: int, action: str) -> ResponseReturnValue:
    """Record the outcome of a booked contact, or correct a saved one with a reason."""
    contact = _contact(contact_id)
    form = contact_form_class()() if action == "outcome" else pages.correction_form()
    if request.method == "GET":
        fill_contact_form(form, contact_service.as_input(contact))
        form.version.data = str(contact.version)
    problems: list[str] = []
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            version = expected_version(form.version.data)
            if action == "outcome":
                contact_service.record_outcome(current_user, contact, contact_input(form),
                                               expected_version=version)
            else:
                contact_service.correct_contact(current_user, contact, contact_input(form),
                                                reason=form.reason.data,
                                                expected_version=version)
            db.session.commit()
        except (Conflict, StaleDataError):
            db.session.rollback()
            problems, status = [pages.CONFLICT_MESSAGE], 409
        except ServiceError as error:
            db.session.rollback()
            problems = apply_service_errors(form, error)
        else:
            flash("Contact updated." if action == "outcome" else "Correction saved.", "success")
            return redirect(url_for("cases.episode", episode_id=contact.episode_id))
    episode = episode_service.get_episode(current_user, contact.episode_id)
    return render_and_commit("cases/contact_form.html", form=form, episode=episode,
                           contact=contact, problems=problems, mode=action,
                           **pages.measure_context()), status


@bp.route("/contacts/<int:contact_id>/entered-in-error", methods=["GET", "POST"])
@policy(WORKER)
def entered_in_error(contact_id: int) -> ResponseReturnValue:
    """Take a contact out of scoring, keeping it in the history."""
    contact = _contact(contact_id)
    form = ReasonForm()
    if request.method == "GET":
        form.version.data = str(contact.version)
    problems, status = [], 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            contact_service.mark_entered_in_error(
                current_user, contact, reason=form.reason.data,
                expected_version=expected_version(form.version.data))
            db.session.commit()
        except (Conflict, StaleDataError):
            db.session.rollback()
            problems, status = [pages.CONFLICT_MESSAGE], 409
        except ServiceError as error:
            db.session.rollback()
            problems = apply_service_errors(form, error)
        else:
            flash("Contact marked as entered in error.", "success")
            return redirect(url_for("cases.episode", episode_id=contact.episode_id))
    return render_and_commit("cases/entered_in_error.html", form=form, contact=contact,
                           problems=problems), status


@bp.route("/episodes/<int:episode_id>/discharge", methods=["GET", "POST"])
@policy(WORKER)
def discharge(episode_id: int) -> ResponseReturnValue:
    """Discharge with a reason, after checking the final scores."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    form = DischargeForm()
    if request.method == "GET":
        form.version.data = str(record.version)
        form.discharged_on.data = today_in_london()
    problems, status = [], 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            episode_service.discharge(
                current_user, record, reason=DischargeReason(form.reason.data),
                discharged_on=form.discharged_on.data, note=form.note.data or "",
                today=today_in_london(), expected_version=expected_version(form.version.data))
            db.session.commit()
        except (Conflict, StaleDataError):
            db.session.rollback()
            problems, status = [pages.CONFLICT_MESSAGE], 409
        except ServiceError as error:
            db.session.rollback()
            problems = apply_service_errors(form, error)
        else:
            flash(f"{record.client.name} has been discharged.", "success")
            return redirect(url_for("cases.episode", episode_id=episode_id))
    context = pages.episode_context(record, today=today_in_london())
    return render_and_commit("cases/discharge.html", form=form, problems=problems,
                           **context), status


@bp.route("/episodes/<int:episode_id>/consent", methods=["GET", "POST"])
@policy(WORKER)
def consent(episode_id: int) -> ResponseReturnValue:
    """Record the client's consent to central reporting, or its withdrawal."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    form = ConsentForm()
    if request.method == "GET":
        form.consent.data = "yes" if record.client.consent_central_reporting else "no"
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            client_service.set_consent(current_user, record.client,
                                       consented=form.consent.data == "yes",
                                       note=form.consent_note.data)
        except ServiceError as error:
            db.session.rollback()
            problems = apply_service_errors(form, error)
        else:
            db.session.commit()
            flash("Consent recorded.", "success")
            return redirect(url_for("cases.episode", episode_id=episode_id))
    return render_and_commit("cases/consent.html", form=form, episode=record,
                           problems=problems), (400 if request.method == "POST" else 200)

