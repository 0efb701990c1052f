"""Finding a client: search, the client page, re-referral and my discharged clients.

Each view asks one service, which scopes the read through caseload/policy.py and
records the audit event; the re-referral form hands one service call to ``submit``.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.clients.forms import ReferralForm, SearchForm
from caseload.policy import CLINICAL, WORKER, policy
from caseload.services import clients as client_service
from caseload.services import search as search_service
from caseload.web import submit, today_in_london
from caseload.web.ratelimit import rate_limited

bp = Blueprint("clients", __name__, url_prefix="/clients")


@bp.get("/search")
@policy(CLINICAL)
@rate_limited("search")
def search() -> ResponseReturnValue:
    """Find a client by name, NHS number, service reference or date of birth.

    An unclear query is shown beside the box with a 200: a search that could not run is
    a result of the search, not a refused submission.
    """
    form = SearchForm(formdata=request.args)
    found = search_service.search_clients(current_user, form.q.data or "")
    if found.problem:
        form.q.errors = [found.problem]
    return render_template(
        "clients/search.html",
        form=form,
        found=found,
        limit=search_service.RESULT_LIMIT,
        can_refer=WORKER.allows(current_user),
    )


@bp.get("/<int:client_id>")
@policy(CLINICAL)
def client(client_id: int) -> ResponseReturnValue:
    """The client's details and every episode of theirs, newest first."""
    record = search_service.get_client(current_user, client_id)
    return render_template(
        "clients/client.html",
        record=record,
        client=record.client,
        can_refer=WORKER.allows(current_user),
    )


@bp.route("/<int:client_id>/referrals/new", methods=["GET", "POST"])
@policy(WORKER)
def add_referral(client_id: int) -> ResponseReturnValue:
    """Re-refer a client with no open episode: a new, waiting episode held by the worker."""
    target = search_service.referral_target(current_user, client_id)
    form = ReferralForm()
    if request.method == "GET":
        form.referral_date.data = today_in_london()
    outcome = submit(
        form,
        lambda: client_service.add_referral(
            current_user, target.client, form.referral(), today=today_in_london()
        ),
    )
    if outcome.saved:
        client = target.client
        # The session cookie is signed, not encrypted: a reference, never a name.
        flash(f"Added a new referral for {client.service_ref}. It is waiting.")
        return redirect(url_for("cases.episode", episode_id=outcome.result.id))
    return render_template(
        "clients/referral.html", form=form, target=target, problems=outcome.problems
    ), outcome.status


@bp.get("/discharged")
@policy(WORKER)
def discharged() -> ResponseReturnValue:
    """My discharged clients: episodes discharged in the last 12 months, newest first."""
    today = today_in_london()
    rows = search_service.discharged_clients(current_user, worker=current_user, today=today)
    return render_template(
        "clients/discharged.html", rows=rows, since=search_service.a_year_before(today)
    )
