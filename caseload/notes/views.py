"""Reflective notes: write one, list your own."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.domain.codes import ReflectiveTheme
from caseload.notes.forms import NoteForm
from caseload.policy import WORKER, policy
from caseload.services.notes import linkable_episodes, notes_by, write_note
from caseload.web import options, submit, today_in_london

bp = Blueprint("notes", __name__, url_prefix="/notes")


@bp.get("/")
@policy(WORKER)
def index() -> ResponseReturnValue:
    """The worker's own reflective notes, newest first."""
    return render_template("notes/index.html", notes=notes_by(current_user, author=current_user))


@bp.route("/new", methods=["GET", "POST"])
@policy(WORKER)
def new() -> ResponseReturnValue:
    """Write a reflective note."""
    form = NoteForm()
    cases = linkable_episodes(current_user, today=today_in_london())
    form.episode_id.choices = options([("", "No case"), *cases])
    if request.method == "GET" and request.args.get("episode", "").isdigit():
        form.episode_id.data = request.args["episode"]
    outcome = submit(
        form,
        lambda: write_note(
            current_user,
            text=form.text.data,
            themes=[ReflectiveTheme(v) for v in form.themes.data],
            episode_id=int(form.episode_id.data) if form.episode_id.data else None,
            manageability=int(form.manageability.data) if form.manageability.data else None,
            shared_with_supervisor=form.shared_with_supervisor.data,
        ),
    )
    if outcome.saved:
        flash("Reflective note saved.", "success")
        return redirect(url_for("notes.index"))
    return render_template("notes/new.html", form=form, problems=outcome.problems), outcome.status
