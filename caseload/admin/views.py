"""The administrator's pages. Each view asks one service, which checks the asker and
records the audit event."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.admin.forms import AUDIT_FILTER_KEYS, AuditFilterForm
from caseload.policy import ADMIN, policy
from caseload.services import ServiceError, audit_trail
from caseload.web import apply_service_errors, today_in_london

bp = Blueprint("admin", __name__, url_prefix="/admin")


# The audit trail ---------------------------------------------------------------------


@bp.get("/audit")
@policy(ADMIN)
def audit() -> ResponseReturnValue:
    """Find events in the audit trail: who saw a client's record, what a user saw.

    Filters that cannot be met are shown beside their fields with a 200: like a
    search, a filter that found nothing is a result, not a refused submission.
    """
    form = AuditFilterForm(formdata=request.args)
    page = None
    if form.validate():
        try:
            page = audit_trail.find_events(
                current_user,
                form.filters(),
                before=_event_id(request.args.get("before")),
                after=_event_id(request.args.get("after")),
            )
        except ServiceError as error:
            apply_service_errors(form, error)
    return render_template(
        "admin/audit.html",
        form=form,
        page=page,
        filter_args=_filter_args(),
        shown_client_refs=audit_trail.SHOWN_CLIENT_REFS,
    )


@bp.get("/audit.csv")
@policy(ADMIN)
def audit_csv() -> ResponseReturnValue:
    """The events matching the filters as a CSV file, streamed; filters that cannot be
    met go back to the page, which says why."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return redirect(url_for("admin.audit", **_filter_args()))
    try:
        events = audit_trail.export_events(current_user, form.filters())
    except ServiceError:
        return redirect(url_for("admin.audit", **_filter_args()))
    response = Response(stream_with_context(audit_trail.csv_lines(events)), mimetype="text/csv")
    name = f"audit-trail-{today_in_london().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _event_id(value: str | None) -> int | None:
    """A page boundary from the query string: an event id, or None when it is not one."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number < 2**31 else None


def _filter_args() -> dict[str, Any]:
    """The filters of the query string, to keep on the page's links (known keys only)."""
    return {key: request.args[key] for key in AUDIT_FILTER_KEYS if request.args.get(key)}
