"""The worker's day: caseload, clients and episodes, contacts, discharge and consent.

Each view loads what it may see (scoped and audited by the services), hands a
submitted form to one service call through ``submit`` and redirects on success,
or shows the form again with the problems.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.cases import pages
from caseload.cases.formdata import contact_input, fill_contact_form
from caseload.cases.forms import (
    ConsentForm,
    DischargeForm,
    ReasonForm,
    RecordInErrorForm,
    RegisterClientForm,
    contact_form_class,
)
from caseload.domain.codes import ConsentState, DischargeReason
from caseload.policy import CLINICAL, WORKER, policy
from caseload.services import clients as client_service
from caseload.services import contacts as contact_service
from caseload.services import episodes as episode_service
from caseload.services import registration as registration_service
from caseload.services import retention as retention_service
from caseload.web import expected_version, submit, today_in_london

bp = Blueprint("cases", __name__)


def _to_episode(episode_id: int, message: str, *, category: str = "success") -> ResponseReturnValue:
    """Back to the episode page with a message (the request commits once, at its end)."""
    flash(message, category)
    return redirect(url_for("cases.episode", episode_id=episode_id))


@bp.get("/caseload")
@policy(WORKER)
def caseload() -> ResponseReturnValue:
    """My caseload: active cases against the cap, and the waiting list, searched, sorted
    and a page at a time."""
    data = episode_service.worker_caseload(
        current_user,
        worker=current_user,
        today=today_in_london(),
        view=episode_service.CaseloadView.from_query(request.args),
    )
    return render_template(
        "cases/caseload.html",
        caseload=data,
        sorts=episode_service.CASELOAD_SORTS,
        **pages.score_context(),
    )


@bp.route("/clients/new", methods=["GET", "POST"])
@policy(WORKER)
def register_client() -> ResponseReturnValue:
    """Register a client and their referral in one form, warning of a likely duplicate."""
    form = RegisterClientForm()
    outcome = submit(
        form,
        lambda: registration_service.register_new_client(
            current_user, **pages.registration_input(form), today=today_in_london()
        ),
    )
    if outcome.saved:
        # The service reference only: a flash travels in the signed, unencrypted cookie.
        client = outcome.result.client
        return _to_episode(outcome.result.id, f"Registered as {client.service_ref}.")
    duplicates = pages.duplicate_warning(form) if request.method == "POST" else []
    return render_template(
        "cases/register.html",
        form=form,
        problems=outcome.problems,
        duplicates=duplicates,
        needs_confirmation=registration_service.needs_confirmation(duplicates),
    ), outcome.status


@bp.get("/episodes/<int:episode_id>")
@policy(CLINICAL)
def episode(episode_id: int) -> ResponseReturnValue:
    """The client and episode page: details, consent, flags, timeline, chart, outcome."""
    record = episode_service.get_episode(current_user, episode_id)
    return render_template(
        "cases/episode.html", **pages.episode_context(record, today=today_in_london())
    )


@bp.route("/episodes/<int:episode_id>/contacts/new", methods=["GET", "POST"])
@policy(WORKER)
def log_contact(episode_id: int) -> ResponseReturnValue:
    """Log a contact (or book one ahead) with the questionnaires."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    if not record.is_open:
        return _to_episode(
            episode_id,
            "This episode is discharged; contacts can no longer be added.",
            category="info",
        )
    form = contact_form_class(record.presenting_problem)()
    if request.method == "GET":
        pages.default_contact_time(form)
    outcome = submit(
        form, lambda: contact_service.log_contact(current_user, record, contact_input(form))
    )
    if outcome.saved:
        return _to_episode(episode_id, pages.saved_message(outcome.result))
    return render_template(
        "cases/contact_form.html",
        form=form,
        episode=record,
        problems=outcome.problems,
        mode="new",
        **pages.measure_context(form),
    ), outcome.status


@bp.route("/contacts/<int:contact_id>/<any(outcome, correct):action>", methods=["GET", "POST"])
@policy(WORKER)
def change_contact(contact_id: int, action: str) -> ResponseReturnValue:
    """Record the outcome of a booked contact, or correct a saved one with a reason."""
    contact, episode = contact_service.get_contact_for_change(current_user, contact_id)
    if action == "outcome" and not contact.is_booked:
        return _to_episode(episode.id, "That contact already has its outcome recorded.")
    form = pages.change_contact_form(contact, episode, action=action)
    if request.method == "GET":
        fill_contact_form(form, contact_service.as_input(contact))
        form.version.data = str(contact.version)
        if action == "outcome":
            # "Booked" is not an outcome: start from "attended", as a new contact does (the
            # diary's Attended button opens this page).
            form.attendance.data = form.attendance.default
    outcome = submit(form, lambda: pages.change_contact(contact, form, action=action))
    if outcome.saved:
        return _to_episode(
            contact.episode_id, "Contact updated." if action == "outcome" else "Correction saved."
        )
    return render_template(
        "cases/contact_form.html",
        form=form,
        episode=episode,
        contact=contact,
        problems=outcome.problems,
        mode=action,
        **pages.measure_context(form),
    ), outcome.status


@bp.route("/contacts/<int:contact_id>/entered-in-error", methods=["GET", "POST"])
@policy(WORKER)
def entered_in_error(contact_id: int) -> ResponseReturnValue:
    """Take a contact out of scoring, keeping it in the history."""
    contact, _episode = contact_service.get_contact_for_change(current_user, contact_id)
    form = ReasonForm()
    if request.method == "GET":
        form.version.data = str(contact.version)
    outcome = submit(
        form,
        lambda: contact_service.mark_entered_in_error(
            current_user,
            contact,
            reason=form.reason.data,
            expected_version=expected_version(form.version.data),
        ),
    )
    if outcome.saved:
        return _to_episode(contact.episode_id, "Contact marked as entered in error.")
    return render_template(
        "cases/entered_in_error.html", form=form, contact=contact, problems=outcome.problems
    ), outcome.status


@bp.route("/episodes/<int:episode_id>/discharge", methods=["GET", "POST"])
@policy(WORKER)
def discharge(episode_id: int) -> ResponseReturnValue:
    """Discharge with a reason, after checking the final scores, the bookings and the risk."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    if not record.is_open:
        return _to_episode(episode_id, "This episode is already discharged.")
    form = DischargeForm()
    if request.method == "GET":
        form.version.data = str(record.version)
        form.discharged_on.data = today_in_london()
    outcome = submit(
        form,
        lambda: episode_service.discharge(
            current_user,
            record,
            reason=DischargeReason(form.reason.data),
            discharged_on=form.discharged_on.data,
            note=form.note.data or "",
            today=today_in_london(),
            expected_version=expected_version(form.version.data),
            risk_confirmed=bool(form.risk_confirmed.data),
            risk_plan=form.risk_plan.data or "",
        ),
    )
    if outcome.saved:
        # The session cookie is signed, not encrypted: a reference, never a name.
        return _to_episode(episode_id, f"{record.client.service_ref} has been discharged.")
    return render_template(
        "cases/discharge.html",
        form=form,
        problems=outcome.problems,
        **pages.discharge_context(record, today=today_in_london()),
    ), outcome.status


@bp.route("/episodes/<int:episode_id>/entered-in-error", methods=["GET", "POST"])
@policy(WORKER)
def episode_entered_in_error(episode_id: int) -> ResponseReturnValue:
    """Mark an episode, or its client registered twice, as entered in error: it leaves
    every list and report, and stays in the database and the audit trail."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    form = RecordInErrorForm()
    if request.method == "GET":
        form.version.data = str(record.version)
    outcome = submit(
        form,
        lambda: retention_service.mark_entered_in_error(
            current_user,
            record,
            reason=form.reason.data or "",
            whole_client=form.scope.data == "client",
            expected_version=expected_version(form.version.data),
        ),
    )
    if outcome.saved:
        what = "client" if form.scope.data == "client" else "episode"
        flash(
            f"The {what} {record.client.service_ref} is marked as entered in error. "
            "It no longer appears in any list or report.",
            "success",
        )
        return redirect(url_for("cases.caseload"))
    return render_template(
        "cases/episode_entered_in_error.html",
        form=form,
        episode=record,
        problems=outcome.problems,
        whole_client_refused=retention_service.client_may_be_marked(current_user, record.client),
    ), outcome.status


@bp.route("/episodes/<int:episode_id>/consent", methods=["GET", "POST"])
@policy(WORKER)
def consent(episode_id: int) -> ResponseReturnValue:
    """Record the client's consent to central reporting, or its withdrawal."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    form = ConsentForm()
    if request.method == "GET":
        form.consent.data = record.client.consent_state.value
        form.answered_on.data = today_in_london()
        form.version.data = str(record.client.version)
    outcome = submit(
        form,
        lambda: client_service.set_consent(
            current_user,
            record.client,
            consent=ConsentState(form.consent.data),
            note=form.consent_note.data,
            answered_on=form.answered_on.data,
            today=today_in_london(),
            expected_version=expected_version(form.version.data),
        ),
    )
    if outcome.saved:
        return _to_episode(episode_id, "Consent recorded.")
    return render_template(
        "cases/consent.html",
        form=form,
        episode=record,
        problems=outcome.problems,
        today=today_in_london(),
    ), outcome.status
