"""The service lead's exports: the pseudonymised episode CSV and the pseudonymous FHIR
bundle, of consenting clients only (``caseload.reporting.exports``; docs/exports.md).

Each export needs a fresh sign-in: the lead gave their passphrase and code within the
last 5 minutes (the same check and confirmation page as an administrator's change of
role), on the page and again on the download. A download is a POST (with its CSRF
token), is audited with its counts and the clients it holds before its first byte,
and streams: the file is never built in memory.
"""

from __future__ import annotations

from flask import Response, redirect, render_template, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.lead.views import bp
from caseload.policy import LEAD, policy
from caseload.reporting import exports as reporting
from caseload.services import auth
from caseload.web import today_in_london
from caseload.web.ratelimit import rate_limited

#: From this many episodes the page says the download takes a while.
LARGE_EXPORT = 2000


def _confirm_first() -> ResponseReturnValue | None:
    """Send the lead to confirm their passphrase and code unless they did so recently."""
    if auth.signed_in_recently(current_user):
        return None
    return redirect(url_for("auth.confirm", next=url_for("lead.exports")))


@bp.get("/exports")
@policy(LEAD)
def exports() -> ResponseReturnValue:
    """What the exports hold now, and the buttons to download them."""
    confirm = _confirm_first()
    if confirm is not None:
        return confirm
    scope = reporting.export_scope()
    return render_template(
        "lead/exports.html",
        scope=scope,
        large=scope.episodes >= LARGE_EXPORT,
        columns=reporting.CSV_COLUMNS,
    )


def _download(kind: str) -> ResponseReturnValue:
    """Audit an export and stream it as a download."""
    confirm = _confirm_first()
    if confirm is not None:
        return confirm
    scope = reporting.export_scope()
    reporting.record_export(kind, scope, actor=current_user)
    chunks = reporting.export_chunks(kind, key=reporting.new_export_key())
    name = reporting.download_name(kind, today_in_london())
    # The body is sent after the request has committed (with the audit event above).
    return Response(
        stream_with_context(reporting.in_read_transaction(chunks)),
        mimetype=reporting.FORMATS[kind]["media_type"],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/exports/csv")
@policy(LEAD)
@rate_limited("export")
def export_csv() -> ResponseReturnValue:
    """Download the pseudonymised episode CSV."""
    return _download("csv")


@bp.post("/exports/fhir")
@policy(LEAD)
@rate_limited("export")
def export_fhir() -> ResponseReturnValue:
    """Download the pseudonymous FHIR bundle of PHQ-9 and GAD-7 results."""
    return _download("fhir")
