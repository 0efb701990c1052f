"""The settings page: every setting an administrator may change, with its default and
where its value comes from; saving checks every value against its bounds and saves
all of them or none (``caseload.services.settings``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.admin.forms import settings_form_class
from caseload.admin.views import bp
from caseload.domain.wording import plural
from caseload.policy import ADMIN, policy
from caseload.services import settings as settings_service
from caseload.services.settings import SettingKind
from caseload.web import submit


@bp.route("/settings", methods=["GET", "POST"])
@policy(ADMIN)
def settings() -> ResponseReturnValue:
    """Show the settings in force, and save the ones changed."""
    states = settings_service.setting_states()
    form = settings_form_class()()
    if request.method == "GET":
        for state in states:
            field = form[state.definition.key]
            if state.definition.kind is SettingKind.YES_NO:
                field.data = "yes" if state.value else "no"
            else:
                field.data = str(state.value)
    outcome = submit(
        form,
        lambda: settings_service.change_settings(
            current_user,
            {state.definition.key: form[state.definition.key].data for state in states},
        ),
    )
    if outcome.saved:
        flash(*_saved_message(len(outcome.result)))
        return redirect(url_for("admin.settings"))
    return render_template(
        "admin/settings.html", form=form, states=states, problems=outcome.problems
    ), outcome.status


def _saved_message(changed: int) -> tuple[str, str]:
    """The flash message (and its category) after a save that changed this many."""
    if not changed:
        return "No setting changed: every value was already in force.", "info"
    return f"{plural(changed, 'setting')} saved.", "success"
