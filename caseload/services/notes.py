"""Reflective notes: written by a worker, private unless shared with their supervisor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from caseload.domain.codes import ReflectiveTheme
from caseload.extensions import db
from caseload.models import Client, Episode, ReflectiveNote, User
from caseload.policy import changeable_episodes, visible_notes
from caseload.reporting.findings import risk_cases_when_written
from caseload.services import ServiceError
from caseload.services.audit import record_event
from caseload.services.episodes import active_caseload_count, active_risk_case_count

MAX_NOTE_LENGTH = 10_000
RECENT_DISCHARGE = timedelta(days=90)


def write_note(
    author: User,
    *,
    text: str,
    themes: Iterable[ReflectiveTheme],
    episode_id: int | None = None,
    manageability: int | None = None,
    shared_with_supervisor: bool = False,
) -> ReflectiveNote:
    """Save a reflective note, recording the author's caseload at the time."""
    errors: dict[str, str] = {}
    chosen = tuple(sorted(set(themes)))
    text = text.strip()
    if not text:
        errors["text"] = "Write your reflection."
    elif len(text) > MAX_NOTE_LENGTH:
        errors["text"] = f"Keep a note under {MAX_NOTE_LENGTH:,} characters."
    if not chosen:
        errors["themes"] = "Choose at least one theme."
    if manageability is not None and not 1 <= manageability <= 5:
        errors["manageability"] = "Choose a rating from 1 to 5."
    episode = None
    if episode_id is not None:
        episode = db.session.scalar(
            select(Episode).where(Episode.id == episode_id, changeable_episodes(author))
        )
        if episode is None:
            errors["episode_id"] = "Choose one of your own cases, or none."
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    note = ReflectiveNote(
        author=author,
        text=text.strip(),
        themes=chosen,
        episode=episode,
        manageability=manageability,
        shared_with_supervisor=shared_with_supervisor,
        caseload_at_writing=active_caseload_count(author),
        risk_cases_at_writing=active_risk_case_count(author),
    )
    db.session.add(note)
    db.session.flush()
    record_event(
        "note.create",
        actor=author,
        object_type="note",
        object_id=note.id,
        client_id=episode.client_id if episode else None,
    )
    return note


def rebuild_risk_cases_at_writing(notes: Sequence[ReflectiveNote]) -> None:
    """Count again, from the history, the open risk cases each note's author held when it
    was written: for notes given a past ``written_at`` after ``write_note`` counted the
    present (the demo's history). Three queries whatever the number of notes."""
    held = risk_cases_when_written([(note.author_id, note.written_at) for note in notes])
    for note, count in zip(notes, held, strict=True):
        note.risk_cases_at_writing = count


def notes_by(asker: User, *, author: User) -> list[ReflectiveNote]:
    """The author's notes that the asker may read, newest first, with their linked cases
    (a worker reads all their own; a supervisor only those shared with them)."""
    notes = list(
        db.session.scalars(
            select(ReflectiveNote)
            .options(
                joinedload(ReflectiveNote.episode).joinedload(Episode.client),
                selectinload(ReflectiveNote.theme_rows),
            )
            .where(ReflectiveNote.author_id == author.id, visible_notes(asker))
            .order_by(ReflectiveNote.written_at.desc(), ReflectiveNote.id.desc())
        )
    )
    record_event(
        "notes.view",
        actor=asker,
        object_type="user",
        object_id=author.id,
        client_ids=[n.episode.client_id for n in notes if n.episode is not None],
    )
    return notes


def linkable_episodes(author: User, *, today: date) -> list[tuple[int, str]]:
    """(episode id, label) for the form's case list: the author's open cases, then those
    discharged in the last 90 days (endings are worth reflecting on too)."""
    since = today - RECENT_DISCHARGE
    rows = db.session.execute(
        select(
            Episode.id, Client.name, Client.service_ref, Episode.discharged_on, Episode.client_id
        )
        .join(Client, Client.id == Episode.client_id)
        .where(
            changeable_episodes(author),
            or_(Episode.discharged_on.is_(None), Episode.discharged_on >= since),
        )
        .order_by(Episode.discharged_on.is_not(None), Client.name)
    ).all()
    record_event(
        "episodes.list",
        actor=author,
        object_type="user",
        object_id=author.id,
        client_ids=[row.client_id for row in rows],
        detail={"for": "note"},
    )
    return [
        (episode_id, f"{name} ({ref}){', discharged' if discharged else ''}")
        for episode_id, name, ref, discharged, _client in rows
    ]
