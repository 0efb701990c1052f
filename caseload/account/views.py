"""Your account: change your passphrase, see and end your sessions, see your sign-ins.

Every signed-in person, whatever their role, has these pages; they show no client.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.account.forms import ChangePassphraseForm, EndOthersForm, EndSessionForm
from caseload.domain.wording import plural
from caseload.policy import SIGNED_IN, policy
from caseload.services import account
from caseload.web import submit

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(**forms: object) -> str:
    return render_template(
        "account/index.html",
        sessions=account.active_sessions(current_user),
        sign_ins=account.recent_sign_ins(current_user),
        end_others=forms.get("end_others") or EndOthersForm(formdata=None),
        end_one=EndSessionForm(formdata=None),
        problems=forms.get("problems", ()),
    )


@bp.get("/")
@policy(SIGNED_IN)
def index() -> ResponseReturnValue:
    """Your sessions and recent sign-ins, and a link to change your passphrase."""
    return _page()


@bp.route("/passphrase", methods=["GET", "POST"])
@policy(SIGNED_IN)
def passphrase() -> ResponseReturnValue:
    """Change your passphrase (the current one required); ends your other sessions."""
    form = ChangePassphraseForm()
    change = None
    if request.method == "POST" and form.validate():
        change = account.prepare_passphrase_change(
            current_user,
            current=form.current.data or "",
            password=form.password.data or "",
            confirmation=form.confirmation.data or "",
        )
    outcome = submit(form, lambda: account.change_passphrase(current_user, change))
    if outcome.saved:
        ended = outcome.result
        message = "Your passphrase is changed."
        if ended:
            message += f" Your {plural(ended, 'other session')} ended."
        flash(message, "success")
        return redirect(url_for("account.index"))
    return render_template(
        "account/passphrase.html", form=form, problems=outcome.problems
    ), outcome.status


@bp.post("/sessions/end-others")
@policy(SIGNED_IN)
def end_others() -> ResponseReturnValue:
    """End every session but this one."""
    form = EndOthersForm()
    outcome = submit(form, lambda: account.end_other_sessions(current_user))
    if outcome.saved:
        ended = outcome.result
        flash(
            f"{plural(ended, 'other session')} ended." if ended else "You had no other sessions.",
            "success",
        )
        return redirect(url_for("account.index"))
    return _page(problems=outcome.problems), outcome.status


@bp.post("/sessions/end")
@policy(SIGNED_IN)
def end_session() -> ResponseReturnValue:
    """End one other session."""
    form = EndSessionForm()
    outcome = submit(
        form, lambda: account.end_own_session(current_user, form.session_id.data or "")
    )
    if outcome.saved:
        flash("That session has ended.", "success")
        return redirect(url_for("account.index"))
    return _page(problems=outcome.problems or (account.SESSION_GONE,)), outcome.status
