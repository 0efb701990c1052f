"""The signed-in home page: each role lands on its own starting point."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.domain.codes import Role
from caseload.policy import SIGNED_IN, policy

bp = Blueprint("main", __name__)


@bp.get("/")
@policy(SIGNED_IN)
def home() -> ResponseReturnValue:
    """The home page for the signed-in user's role."""
    if current_user.role is Role.WORKER:
        return redirect(url_for("cases.caseload"))
    if current_user.role is Role.SUPERVISOR:
        return redirect(url_for("supervision.queue"))
    if current_user.role is Role.LEAD:
        return redirect(url_for("lead.dashboard"))
    return render_template("main/home.html", user=current_user)
