"""My diary (this week's bookings, overdue ones first, outcomes in one click) and booking
an appointment ahead on one of the worker's cases."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.diary.forms import (
    BookingForm,
    DiaryOutcomeForm,
    ask_for_confirmation,
    booking_input,
    confirmed_for,
    fill_booking_form,
)
from caseload.domain.codes import AttendanceCode
from caseload.domain.dates import format_datetime
from caseload.policy import WORKER, policy
from caseload.services import bookings
from caseload.services import contacts as contact_service
from caseload.services import episodes as episode_service
from caseload.services.settings import service_settings
from caseload.web import expected_version, submit, today_in_london

bp = Blueprint("diary", __name__)

#: Shown instead of the contact form's conflict message: the diary keeps no input.
DIARY_CONFLICT = (
    "That booking was changed after you opened your diary. Check it below and try again."
)


def _diary(problems: Sequence[str] = (), status: int = 200) -> ResponseReturnValue:
    """The diary page, with any problems from a refused one-click outcome."""
    diary = bookings.worker_diary(current_user, today=today_in_london())
    return render_template(
        "diary/index.html",
        diary=diary,
        problems=problems,
    ), status


@bp.get("/diary")
@policy(WORKER)
def index() -> ResponseReturnValue:
    """My diary: overdue bookings, today's and the rest of this week's."""
    return _diary()


@bp.post("/diary/bookings/<int:contact_id>/outcome")
@policy(WORKER)
def record_outcome(contact_id: int) -> ResponseReturnValue:
    """Record in one click that the client did not attend, or cancelled, or we did."""
    contact, _episode = contact_service.get_contact_for_change(current_user, contact_id)
    form = DiaryOutcomeForm()
    outcome = submit(
        form,
        lambda: bookings.record_booking_outcome(
            current_user,
            contact,
            attendance=AttendanceCode(int(form.attendance.data)),
            expected_version=expected_version(form.version.data),
        ),
    )
    if outcome.saved:
        said = bookings.ONE_CLICK_OUTCOMES[outcome.result.attendance].lower()
        when = format_datetime(outcome.result.occurred_at)
        ref = outcome.result.episode.client.service_ref
        flash(f"Recorded for {ref} ({when}): {said}.", "success")
        return redirect(url_for("diary.index"))
    if outcome.status == 409:
        return _diary([DIARY_CONFLICT], 409)
    return _diary([*outcome.problems, *(e for field in form for e in field.errors)])


@bp.route("/episodes/<int:episode_id>/book", methods=["GET", "POST"])
@policy(WORKER)
def book(episode_id: int) -> ResponseReturnValue:
    """Book an appointment on one of the worker's open cases."""
    record = episode_service.get_episode(current_user, episode_id, for_change=True)
    if not record.is_open:
        flash("This episode is discharged; appointments can no longer be booked.", "info")
        return redirect(url_for("cases.episode", episode_id=episode_id))
    settings = service_settings()
    form = BookingForm()
    if request.method == "GET":
        fill_booking_form(form, bookings.booking_defaults(record, today=today_in_london()))
    outcome = submit(
        form,
        lambda: bookings.book_contact(
            current_user, record, booking_input(form), confirmed_for=confirmed_for(form)
        ),
    )
    if outcome.saved:
        when = format_datetime(outcome.result.occurred_at)
        flash(f"Appointment booked for {when}.", "success")
        return redirect(url_for("cases.episode", episode_id=episode_id))
    return render_template(
        "diary/book.html",
        form=form,
        episode=record,
        problems=outcome.problems,
        confirming=ask_for_confirmation(form),
        settings=settings,
    ), outcome.status
