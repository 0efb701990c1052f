"""The printable client summary, letters to the GP and one client's FHIR bundle.

The worker who holds an episode and their supervisor open the summary and the
letters; only the worker writes a letter or downloads the FHIR bundle. Each view
loads what the asker may see through one service (scoped and audited there).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from caseload.db import utcnow
from caseload.exports import pages
from caseload.exports.forms import LetterForm
from caseload.policy import CLINICAL, WORKER, can_change_episode, policy
from caseload.services import client_summary as summary_service
from caseload.services import episodes as episode_service
from caseload.services import fhir as fhir_service
from caseload.services import letters as letter_service
from caseload.web import submit, today_in_london
from caseload.web.ratelimit import rate_limited

bp = Blueprint("exports", __name__)


@bp.get("/episodes/<int:episode_id>/summary")
@policy(CLINICAL)
def summary(episode_id: int) -> ResponseReturnValue:
    """The client summary, ready to print on A4 (audited as summary.print)."""
    record = summary_service.client_summary(current_user, episode_id, today=today_in_london())
    return render_template("exports/summary.html", **pages.summary_context(record))


@bp.get("/episodes/<int:episode_id>/letters")
@policy(CLINICAL)
def letters(episode_id: int) -> ResponseReturnValue:
    """The letters saved on an episode, and the letters the worker can write."""
    episode = episode_service.get_episode(current_user, episode_id)
    return render_template(
        "exports/letters.html",
        episode=episode,
        client=episode.client,
        letters=letter_service.episode_letters(current_user, episode),
        templates=letter_service.letter_templates(),
        can_change=can_change_episode(current_user, episode),
    )


@bp.route("/episodes/<int:episode_id>/letters/<template>/new", methods=["GET", "POST"])
@policy(WORKER)
@rate_limited("letter", methods=("POST",))
def new_letter(episode_id: int, template: str) -> ResponseReturnValue:
    """Draft a letter from its template, let the worker edit it, and save it."""
    episode = episode_service.get_episode(current_user, episode_id, for_change=True)
    try:
        chosen = letter_service.get_template(template)
    except KeyError:
        abort(404)
    if not chosen.available_for(episode):
        flash(f"The {chosen.lowercase_title} is written once the episode is discharged.", "info")
        return redirect(url_for("exports.letters", episode_id=episode_id))
    form = LetterForm()
    if request.method == "GET":
        draft = letter_service.draft_letter(
            current_user, episode, template, today=today_in_london()
        )
        form.body.data = draft.text
    outcome = submit(
        form,
        lambda: letter_service.save_letter(
            current_user, episode, key=template, body=form.body.data or ""
        ),
    )
    if outcome.saved:
        flash(
            f"{chosen.title} saved. It is now part of the record and cannot be changed.", "success"
        )
        return redirect(url_for("exports.letter", letter_id=outcome.result.id))
    return render_template(
        "exports/letter_form.html",
        form=form,
        episode=episode,
        client=episode.client,
        template=chosen,
        problems=outcome.problems,
    ), outcome.status


@bp.get("/letters/<int:letter_id>")
@policy(CLINICAL)
def letter(letter_id: int) -> ResponseReturnValue:
    """A saved letter, ready to print (audited as letter.print)."""
    saved = letter_service.get_letter(current_user, letter_id)
    return render_template(
        "exports/letter.html", letter=saved, episode=saved.episode, client=saved.episode.client
    )


@bp.get("/episodes/<int:episode_id>/fhir")
@policy(WORKER)
@rate_limited("export")
def episode_fhir(episode_id: int) -> ResponseReturnValue:
    """The client's PHQ-9 and GAD-7 results as a FHIR R4 Bundle, for care use."""
    result = fhir_service.client_bundle(current_user, episode_id, now=utcnow())
    name = fhir_service.download_name(
        f"{result.episode.client.service_ref}-scores", today_in_london(), "fhir.json"
    )
    return Response(
        json.dumps(result.bundle, indent=2, ensure_ascii=False),
        mimetype=fhir_service.FHIR_JSON,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
