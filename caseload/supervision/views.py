"""The supervisor's pages: the exception queue, reviews, sessions, team load, reassignment
and shared notes.

Every route is for supervisors only; which cases, sessions and notes a supervisor may
reach is the services' question (the workers in their teams), and anything else is a
404 with an audited denial. Each view loads what it may see, hands a submitted form to
one service call through ``submit`` and redirects on success.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from caseload.domain.codes import ReflectiveTheme, SupervisionDecision
from caseload.policy import SUPERVISOR, policy
from caseload.services import episodes as episode_service
from caseload.services import supervision as supervision_service
from caseload.services import workload as workload_service
from caseload.supervision import pages
from caseload.supervision.forms import (
    EndSessionForm,
    MoveForm,
    ReassignForm,
    ReviewForm,
    StartSessionForm,
    row_id,
)
from caseload.web import Submission, expected_version, options, submit, today_in_london

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


def _press(form: FlaskForm, save: Callable[[], Any], back: str) -> Submission:
    """A button's post (its values are hidden fields): one the page's buttons could not
    have made is a bad request (400); a refusal by the service is flashed and the browser
    goes back where it came from (``Submission.result`` is then that redirect)."""
    if not form.validate_on_submit():
        abort(400)
    outcome = submit(form, save)
    if outcome.saved:
        return outcome
    problems = outcome.problems or tuple(error for field in form for error in field.errors)
    flash(" ".join(problems), "error")
    return Submission(saved=False, status=outcome.status, result=redirect(back))


def _page_number(text: str) -> int:
    """The page asked for: a whole number, else the first page (the service shows the
    last page for a number past the end)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 1


@bp.get("/")
@policy(SUPERVISOR)
def queue() -> ResponseReturnValue:
    """The exception queue: the team's open cases with a flag still to discuss."""
    filters = pages.queue_filters(request.args)
    data = supervision_service.exception_queue(
        current_user,
        today=today_in_london(),
        worker_id=filters.worker_id,
        kind=filters.kind,
        page=_page_number(request.args.get("page", "")),
    )
    return render_template(
        "supervision/queue.html",
        queue=data,
        notices=filters.notices,
        **pages.score_context(),
    )


@bp.route("/episodes/<int:episode_id>/review", methods=["GET", "POST"])
@policy(SUPERVISOR)
def review(episode_id: int) -> ResponseReturnValue:
    """Review one case: the reason, the decision, a note and the next review date."""
    record = episode_service.get_episode(current_user, episode_id)
    if not record.is_open:
        flash("This episode is discharged, so it is no longer reviewed in supervision.", "info")
        return redirect(url_for("cases.episode", episode_id=episode_id))
    today = today_in_london()
    to_discuss, seen = supervision_service.case_flags(current_user, record, today=today)
    form = ReviewForm()
    outcome = submit(
        form,
        lambda: supervision_service.record_review(
            current_user,
            record.id,
            reason=form.reason.data,
            decision=SupervisionDecision(form.decision.data),
            note=form.note.data or "",
            next_review_on=form.next_review_on.data,
            flags_seen=form.flags_seen.data or [],
            today=today,
            session_id=form.session,
        ),
    )
    if outcome.saved:
        flash("Review saved.", "success")
        return redirect(pages.after_review(form.session, record.id))
    pages.show_flags(form, [*to_discuss, *seen])
    return render_template(
        "supervision/review.html",
        form=form,
        problems=outcome.problems,
        **pages.review_context(record, to_discuss=to_discuss, seen=seen),
    ), outcome.status


@bp.route("/episodes/<int:episode_id>/reassign", methods=["GET", "POST"])
@policy(SUPERVISOR)
def reassign(episode_id: int) -> ResponseReturnValue:
    """Move a case to another practitioner in the same team, with a reason."""
    record = episode_service.get_episode(current_user, episode_id)
    if not record.is_open:
        flash("This episode is discharged, so it cannot be moved.", "info")
        return redirect(url_for("cases.episode", episode_id=episode_id))
    targets = supervision_service.reassign_targets(current_user, record)
    form = ReassignForm()
    form.to_worker_id.choices = options(
        [("", "Choose a practitioner"), *((w.id, w.display_name) for w in targets)]
    )
    if request.method == "GET":
        form.version.data = str(record.version)
    outcome = submit(
        form,
        lambda: supervision_service.reassign(
            current_user,
            record.id,
            to_worker_id=int(form.to_worker_id.data),
            reason=form.reason.data,
            version=expected_version(form.version.data),
        ),
    )
    if outcome.saved:
        moved = outcome.result
        flash(f"{record.client.service_ref} moved to {moved.to_worker.display_name}.", "success")
        return redirect(url_for("cases.episode", episode_id=episode_id))
    return render_template(
        "supervision/reassign.html",
        form=form,
        problems=outcome.problems,
        episode=record,
        client=record.client,
        targets=targets,
    ), outcome.status


@bp.post("/sessions")
@policy(SUPERVISOR)
def start_session() -> ResponseReturnValue:
    """Start a session with one practitioner (or carry on the open one) at its first case."""
    form = StartSessionForm()
    outcome = _press(
        form,
        lambda: supervision_service.start_session(
            current_user, worker_id=row_id(form.worker_id.data) or 0, today=today_in_london()
        ),
        url_for("supervision.queue"),
    )
    if not outcome.saved:
        return outcome.result
    session = outcome.result
    return redirect(
        url_for(
            "supervision.session_case",
            session_id=session.id,
            position=session.current_position or 1,
        )
    )


@bp.get("/sessions/<int:session_id>")
@policy(SUPERVISOR)
def session(session_id: int) -> ResponseReturnValue:
    """A session's summary: its cases, which were discussed, the reviews and the minutes."""
    summary = supervision_service.session_summary(current_user, session_id)
    return render_template(
        "supervision/session.html",
        summary=summary,
        session=summary.session,
        decisions=pages.decisions_by_episode(summary.reviews),
    )


@bp.get("/sessions/<int:session_id>/cases/<int:position>")
@policy(SUPERVISOR)
def session_case(session_id: int, position: int) -> ResponseReturnValue:
    """One case of a session, with its review form and the way to the previous and next."""
    current = supervision_service.get_session(current_user, session_id)
    case = pages.case_at(current, position)
    # Read through the asker's scope again: the session's list was fixed when it started.
    record = episode_service.get_episode(current_user, case.episode_id)
    to_discuss, seen = supervision_service.case_flags(current_user, record, today=today_in_london())
    form = ReviewForm(formdata=None)
    form.session_id.data = str(current.id)
    pages.show_flags(form, [*to_discuss, *seen])
    return render_template(
        "supervision/session_case.html",
        session=current,
        case=case,
        form=form,
        **pages.review_context(record, to_discuss=to_discuss, seen=seen),
    )


@bp.post("/sessions/<int:session_id>/move")
@policy(SUPERVISOR)
def move(session_id: int) -> ResponseReturnValue:
    """Go to another case of the session; the time on the case left is counted here."""
    supervision_service.get_session(current_user, session_id)
    form = MoveForm()
    outcome = _press(
        form,
        lambda: supervision_service.move_in_session(
            current_user, session_id, position=row_id(form.position.data) or 0
        ),
        url_for("supervision.session", session_id=session_id),
    )
    if not outcome.saved:
        return outcome.result
    return redirect(
        url_for("supervision.session_case", session_id=session_id, position=outcome.result.position)
    )


@bp.post("/sessions/<int:session_id>/end")
@policy(SUPERVISOR)
def end_session(session_id: int) -> ResponseReturnValue:
    """End the session and show its summary."""
    supervision_service.get_session(current_user, session_id)
    outcome = _press(
        EndSessionForm(),
        lambda: supervision_service.end_session(current_user, session_id),
        url_for("supervision.session", session_id=session_id),
    )
    if not outcome.saved:
        return outcome.result
    flash("Session ended.", "success")
    return redirect(url_for("supervision.session", session_id=session_id))


@bp.get("/team")
@policy(SUPERVISOR)
def team_load() -> ResponseReturnValue:
    """Each practitioner's load, with their active caseload by week against the cap."""
    team = workload_service.team_load(current_user, today=today_in_london())
    return render_template("supervision/team_load.html", team=team, charts=pages.team_charts(team))


@bp.get("/notes")
@policy(SUPERVISOR)
def shared_notes() -> ResponseReturnValue:
    """The reflective notes the team's practitioners chose to share, newest first."""
    filters = pages.notes_filters(request.args)
    data = supervision_service.shared_notes(
        current_user, worker_id=filters.worker_id, theme=filters.theme
    )
    return render_template(
        "supervision/shared_notes.html",
        shared=data,
        notices=filters.notices,
        themes=list(ReflectiveTheme),
    )
