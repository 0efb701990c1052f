"""write_note and notes_by on a real database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from caseload.domain.codes import ReflectiveTheme, Role
from caseload.extensions import db
from caseload.models import AuditEvent, ReflectiveNote, User
from caseload.services import ServiceError
from caseload.services.notes import MAX_NOTE_LENGTH, notes_by, write_note
from tests.services.factories import client_details, log, register, row_counts

THEMES = [ReflectiveTheme.EMOTIONAL_IMPACT]


def refused(author: User, **kwargs: Any) -> ServiceError:
    """Write a note that must be refused; assert nothing was saved."""
    values: dict[str, Any] = {"text": "A hard week.", "themes": THEMES}
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        write_note(author, **(values | kwargs))
    db.session.rollback()
    assert row_counts() == before
    return caught.value


def test_note_is_saved_private_with_its_themes(worker: User) -> None:
    note = write_note(
        worker,
        text="  Felt out of my depth with a complex case.  ",
        themes=[
            ReflectiveTheme.TRAINING_VS_COMPLEXITY,
            ReflectiveTheme.CLINICAL_CONFIDENCE,
            ReflectiveTheme.CLINICAL_CONFIDENCE,
        ],
        manageability=2,
    )
    db.session.commit()
    db.session.expire_all()
    saved = db.session.get(ReflectiveNote, note.id)
    assert saved is not None
    assert saved.author_id == worker.id
    assert saved.text == "Felt out of my depth with a complex case."
    assert set(saved.themes) == {
        ReflectiveTheme.TRAINING_VS_COMPLEXITY,
        ReflectiveTheme.CLINICAL_CONFIDENCE,
    }
    assert len(saved.themes) == 2
    assert saved.manageability == 2
    assert saved.shared_with_supervisor is False
    assert saved.episode_id is None
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "note.create")).one()
    assert event.object_id == str(note.id)
    assert event.client_id is None


def test_themes_are_required(worker: User) -> None:
    error = refused(worker, themes=[])
    assert set(error.field_errors) == {"themes"}


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_manageability_is_one_to_five(worker: User, rating: int) -> None:
    error = refused(worker, manageability=rating)
    assert set(error.field_errors) == {"manageability"}


@pytest.mark.parametrize("rating", [1, 5, None])
def test_manageability_in_range_or_none_is_saved(worker: User, rating: int | None) -> None:
    note = write_note(worker, text="Fine.", themes=THEMES, manageability=rating)
    assert note.manageability == rating


@pytest.mark.parametrize("text", ["", "   \n"])
def test_text_is_required(worker: User, text: str) -> None:
    error = refused(worker, text=text)
    assert set(error.field_errors) == {"text"}


def test_text_has_a_length_cap(worker: User) -> None:
    error = refused(worker, text="x" * (MAX_NOTE_LENGTH + 1))
    assert set(error.field_errors) == {"text"}
    note = write_note(worker, text="x" * MAX_NOTE_LENGTH, themes=THEMES)
    db.session.commit()
    assert len(note.text) == MAX_NOTE_LENGTH


def test_every_bad_field_is_reported(worker: User) -> None:
    error = refused(worker, text="", themes=[], manageability=9, episode_id=424242)
    assert set(error.field_errors) == {"text", "themes", "manageability", "episode_id"}


def test_note_may_link_the_authors_own_episode(worker: User) -> None:
    episode = register(worker)
    note = write_note(
        worker,
        text="Thinking about this client.",
        themes=THEMES,
        episode_id=episode.id,
        shared_with_supervisor=True,
    )
    db.session.commit()
    assert note.episode_id == episode.id
    assert note.shared_with_supervisor is True
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "note.create")).one()
    assert event.client_id == episode.client_id


def test_note_cannot_link_someone_elses_episode(worker: User, user_factory: Any) -> None:
    colleague = user_factory(Role.WORKER, team="North team")
    theirs = register(colleague)
    error = refused(worker, episode_id=theirs.id)
    assert set(error.field_errors) == {"episode_id"}


def test_caseload_at_writing_counts_active_cases(worker: User) -> None:
    assert write_note(worker, text="Empty caseload.", themes=THEMES).caseload_at_writing == 0
    for number in range(3):
        episode = register(worker, details=client_details(name=f"Client {number}"))
        if number:
            log(worker, episode, phq9_total=10, gad7_total=8)  # two in treatment
    note = write_note(worker, text="Busier now.", themes=THEMES)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ReflectiveNote, note.id).caseload_at_writing == 2  # type: ignore[union-attr]


def test_notes_by_returns_only_the_authors_notes_newest_first(
    worker: User, user_factory: Any
) -> None:
    colleague = user_factory(Role.WORKER, team="North team")
    first = write_note(worker, text="First.", themes=THEMES)
    db.session.commit()
    write_note(colleague, text="Not yours.", themes=THEMES)
    db.session.commit()
    second = write_note(worker, text="Second.", themes=THEMES)
    db.session.commit()
    assert [n.id for n in notes_by(worker, author=worker)] == [second.id, first.id]
    assert [n.text for n in notes_by(colleague, author=colleague)] == ["Not yours."]


def test_notes_are_read_through_the_policy_of_the_asker(worker: User, user_factory: Any) -> None:
    """A colleague reads none of a worker's notes; their supervisor only the shared ones;
    a supervisor of another team and a lead none."""
    shared = write_note(worker, text="Shared.", themes=THEMES, shared_with_supervisor=True)
    write_note(worker, text="Private.", themes=THEMES)
    db.session.commit()
    colleague = user_factory(Role.WORKER, team="North team")
    supervisor = user_factory(Role.SUPERVISOR, team="North team")
    elsewhere = user_factory(Role.SUPERVISOR, team="South team")
    lead = user_factory(Role.LEAD)
    assert notes_by(colleague, author=worker) == []
    assert [n.id for n in notes_by(supervisor, author=worker)] == [shared.id]
    assert notes_by(elsewhere, author=worker) == []
    assert notes_by(lead, author=worker) == []
