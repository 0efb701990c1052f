"""Accounts and teams: the administrator creates, changes and disables accounts, and
builds the teams that join supervisors to practitioners. No clinical content: a
disabled practitioner's open cases appear as a count and service references only.

Each view calls one service in ``caseload.services.users`` (which audits the change
with its old and new values) and redirects, or shows the form again with the problems.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.admin.forms import (
    ActionForm,
    AddWorkerForm,
    NewAccountForm,
    RenameTeamForm,
    RoleTeamForm,
    SupervisorForm,
    TeamForm,
    chosen_id,
    people_choices,
    team_choices,
)
from caseload.admin.views import bp
from caseload.domain.codes import Role
from caseload.policy import ADMIN, policy
from caseload.services import auth
from caseload.services import users as user_service
from caseload.web import submit

#: ``session`` key: the temporary passphrase of the account just created, shown once on
#: its page and removed from the session by that page.
NEW_ACCOUNT_KEY = "admin_new_account"

STATUS_CHOICES = {"active": True, "disabled": False}


@bp.get("/accounts")
@policy(ADMIN)
def accounts() -> ResponseReturnValue:
    """Every account, filtered by role, team and status (values that are not among the
    options are ignored, with a message)."""
    args = request.args
    role = next((r for r in Role if r.value == args.get("role")), None)
    teams = {str(t.id): t.id for t in user_service.all_teams()}
    team_id = teams.get(args.get("team", ""))
    active = STATUS_CHOICES.get(args.get("status", ""))
    ignored = [
        name
        for name, given, read in (
            ("role", args.get("role"), role),
            ("team", args.get("team"), team_id),
            ("status", args.get("status"), active),
        )
        if given and read is None
    ]
    listing = user_service.list_accounts(current_user, role=role, team_id=team_id, active=active)
    return render_template("admin/accounts.html", listing=listing, ignored=ignored, roles=Role)


@bp.route("/accounts/new", methods=["GET", "POST"])
@policy(ADMIN)
def new_account() -> ResponseReturnValue:
    """Create an account; its temporary passphrase is shown once on the next page."""
    form = NewAccountForm()
    form.team_id.choices = team_choices(user_service.all_teams())
    outcome = submit(
        form,
        lambda: user_service.create_account(
            current_user,
            username=form.username.data or "",
            display_name=form.display_name.data or "",
            role=Role(form.role.data),
            team_id=chosen_id(form.team_id.data),
        ),
    )
    if outcome.saved:
        created = outcome.result
        _show_once(created)
        flash(f"Account created for {created.user.display_name}.", "success")
        return redirect(url_for("admin.account", user_id=created.user.id))
    return render_template(
        "admin/accounts_new.html", form=form, problems=outcome.problems
    ), outcome.status


def _show_once(account: user_service.NewAccount) -> None:
    """Keep a temporary passphrase for the account page to show once (the page removes it
    from the session): the redirect after the POST must not lose it, and it is never
    stored on the server."""
    session[NEW_ACCOUNT_KEY] = {
        "user_id": account.user.id,
        "passphrase": account.temporary_passphrase,
    }


@bp.get("/accounts/<int:user_id>")
@policy(ADMIN)
def account(user_id: int) -> ResponseReturnValue:
    """One account: role, team, status, and the actions on it. Right after creation it
    shows the temporary passphrase, once."""
    detail = user_service.account_detail(current_user, user_id)
    new = session.pop(NEW_ACCOUNT_KEY, None)
    passphrase = (
        new["passphrase"] if isinstance(new, dict) and new.get("user_id") == user_id else None
    )
    return render_template(
        "admin/accounts_show.html",
        detail=detail,
        passphrase=passphrase,
        action_form=ActionForm(),
        is_self=detail.user.id == current_user.id,
    )


@bp.route("/accounts/<int:user_id>/role", methods=["GET", "POST"])
@policy(ADMIN)
def change_role(user_id: int) -> ResponseReturnValue:
    """Change role and team, after a sign-in within the last 5 minutes."""
    user = user_service.get_account(current_user, user_id)
    if user.id == current_user.id:
        flash("You cannot change your own role. Ask another administrator.", "error")
        return redirect(url_for("admin.account", user_id=user_id))
    if not auth.signed_in_recently(current_user):
        here = url_for("admin.change_role", user_id=user_id)
        return redirect(url_for("auth.confirm", next=here))
    form = RoleTeamForm()
    form.team_id.choices = team_choices(user_service.all_teams())
    if request.method == "GET":
        form.role.data = user.role.value
        form.team_id.data = str(user.team_id) if user.team_id else ""
    outcome = submit(
        form,
        lambda: user_service.change_role_and_team(
            current_user, user_id, role=Role(form.role.data), team_id=chosen_id(form.team_id.data)
        ),
    )
    if outcome.saved:
        flash("Role and team saved." if outcome.result else "Nothing changed.", "success")
        return redirect(url_for("admin.account", user_id=user_id))
    return render_template(
        "admin/accounts_role.html", form=form, user=user, problems=outcome.problems
    ), outcome.status


def _account_action(user_id: int, action: Any, message: str) -> ResponseReturnValue:
    """Run one button's service call; flash its message (or the refusal) and go back."""
    outcome = submit(ActionForm(), lambda: action(current_user, user_id))
    if outcome.saved:
        flash(message, "success")
    for problem in outcome.problems:
        flash(problem, "error")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.post("/accounts/<int:user_id>/disable")
@policy(ADMIN)
def disable_account(user_id: int) -> ResponseReturnValue:
    """Disable an account: its sessions end at once. Its page then lists its open cases."""
    return _account_action(
        user_id, user_service.disable_account, "Account disabled. Its sessions have ended."
    )


@bp.post("/accounts/<int:user_id>/enable")
@policy(ADMIN)
def enable_account(user_id: int) -> ResponseReturnValue:
    """Let a disabled account sign in again."""
    return _account_action(user_id, user_service.enable_account, "Account enabled.")


@bp.post("/accounts/<int:user_id>/reset-passphrase")
@policy(ADMIN)
def reset_passphrase(user_id: int) -> ResponseReturnValue:
    """Issue a new temporary passphrase, shown once on the account's page."""
    outcome = submit(ActionForm(), lambda: user_service.reset_passphrase(current_user, user_id))
    if outcome.saved:
        _show_once(outcome.result)
        flash("New temporary passphrase issued. The account's sessions have ended.", "success")
    for problem in outcome.problems:
        flash(problem, "error")
    return redirect(url_for("admin.account", user_id=user_id))


@bp.post("/accounts/<int:user_id>/reset-mfa")
@policy(ADMIN)
def reset_mfa(user_id: int) -> ResponseReturnValue:
    """Forget the account's authenticator; it enrols again at its next sign-in."""
    return _account_action(
        user_id,
        user_service.reset_mfa,
        "Authenticator reset. The person sets up a new one at their next sign-in.",
    )


# Teams ---------------------------------------------------------------------------------


@bp.get("/teams")
@policy(ADMIN)
def teams() -> ResponseReturnValue:
    """Every team with its supervisor and practitioners."""
    return render_template("admin/teams.html", rows=user_service.list_teams(current_user))


@bp.route("/teams/new", methods=["GET", "POST"])
@policy(ADMIN)
def new_team() -> ResponseReturnValue:
    """Create a team, optionally with its supervisor."""
    form = TeamForm()
    form.supervisor_id.choices = people_choices(
        user_service.active_supervisors(), empty="No supervisor yet"
    )
    outcome = submit(
        form,
        lambda: user_service.create_team(
            current_user,
            name=form.name.data or "",
            supervisor_id=chosen_id(form.supervisor_id.data),
        ),
    )
    if outcome.saved:
        flash(f"Team {outcome.result.name} created.", "success")
        return redirect(url_for("admin.team", team_id=outcome.result.id))
    return render_template(
        "admin/teams_new.html", form=form, problems=outcome.problems
    ), outcome.status


def _team_page(team_id: int, *, status: int = 200, **forms: Any) -> ResponseReturnValue:
    """The team page with its three forms (any given one keeps its input and errors)."""
    team = user_service.get_team(current_user, team_id)
    rename = forms.get("rename") or RenameTeamForm(formdata=None, name=team.name)
    supervisor = forms.get("supervisor") or SupervisorForm(formdata=None)
    supervisor.supervisor_id.choices = people_choices(
        user_service.active_supervisors(), empty="No supervisor"
    )
    if "supervisor" not in forms:
        supervisor.supervisor_id.data = str(team.supervisor_id or "")
    add = forms.get("add") or AddWorkerForm(formdata=None)
    add.worker_id.choices = people_choices(
        user_service.workers_outside(team), empty="Choose a practitioner"
    )
    return render_template(
        "admin/teams_show.html",
        team=team,
        workers=[m for m in team.members if m.role is Role.WORKER],
        rename_form=rename,
        supervisor_form=supervisor,
        add_form=add,
        action_form=ActionForm(formdata=None),
        problems=forms.get("problems", ()),
    ), status


@bp.get("/teams/<int:team_id>")
@policy(ADMIN)
def team(team_id: int) -> ResponseReturnValue:
    """One team: rename it, set its supervisor, add and remove practitioners."""
    return _team_page(team_id)


def _team_change(
    team_id: int, form: Any, name: str, save: Any, message: str
) -> ResponseReturnValue:
    """Submit one of the team page's forms; back to the page, or the page with errors."""
    outcome = submit(form, save)
    if outcome.saved:
        flash(message, "success")
        return redirect(url_for("admin.team", team_id=team_id))
    return _team_page(team_id, status=outcome.status, problems=outcome.problems, **{name: form})


@bp.post("/teams/<int:team_id>/rename")
@policy(ADMIN)
def rename_team(team_id: int) -> ResponseReturnValue:
    """Rename a team."""
    user_service.get_team(current_user, team_id)
    form = RenameTeamForm()
    return _team_change(
        team_id,
        form,
        "rename",
        lambda: user_service.rename_team(current_user, team_id, name=form.name.data or ""),
        "Team renamed.",
    )


@bp.post("/teams/<int:team_id>/supervisor")
@policy(ADMIN)
def team_supervisor(team_id: int) -> ResponseReturnValue:
    """Set or clear a team's supervisor."""
    user_service.get_team(current_user, team_id)
    form = SupervisorForm()
    form.supervisor_id.choices = people_choices(
        user_service.active_supervisors(), empty="No supervisor"
    )
    return _team_change(
        team_id,
        form,
        "supervisor",
        lambda: user_service.assign_supervisor(
            current_user, team_id, supervisor_id=chosen_id(form.supervisor_id.data)
        ),
        "Supervisor saved.",
    )


@bp.post("/teams/<int:team_id>/workers")
@policy(ADMIN)
def add_team_worker(team_id: int) -> ResponseReturnValue:
    """Put a practitioner in the team (from another team, if they were in one)."""
    team = user_service.get_team(current_user, team_id)
    form = AddWorkerForm()
    form.worker_id.choices = people_choices(
        user_service.workers_outside(team), empty="Choose a practitioner"
    )
    return _team_change(
        team_id,
        form,
        "add",
        lambda: user_service.add_worker(
            current_user, team_id, worker_id=chosen_id(form.worker_id.data) or 0
        ),
        "Practitioner added to the team.",
    )


@bp.post("/teams/<int:team_id>/workers/<int:worker_id>/remove")
@policy(ADMIN)
def remove_team_worker(team_id: int, worker_id: int) -> ResponseReturnValue:
    """Take a practitioner out of the team (refused while they hold open cases)."""
    user_service.get_team(current_user, team_id)
    return _team_change(
        team_id,
        ActionForm(),
        "action",
        lambda: user_service.remove_worker(current_user, team_id, worker_id=worker_id),
        "Practitioner removed from the team.",
    )
