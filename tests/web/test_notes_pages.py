"""Reflective notes through the test client: writing one, listing your own, and privacy."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from caseload.domain.codes import ReflectiveTheme, Role
from caseload.extensions import db
from caseload.models import ReflectiveNote
from caseload.services.notes import write_note
from tests.conftest import sign_in
from tests.web.helpers import (
    add_contact,
    audit_events,
    checked_value,
    error_messages,
    field_error,
    flash_after,
    make_case,
    page,
    row_counts,
    textarea_value,
    token,
)


def note_data(csrf: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "text": "A hard call today; I held the silence better than last month.",
        "themes": ["emotional_impact", "clinical_confidence"],
        "manageability": "3",
        "episode_id": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_notes_pages_render_for_a_worker(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    listing = client.get("/notes/")
    assert listing.status_code == 200
    assert "You have not written any notes yet." in page(listing)
    form = client.get("/notes/new")
    assert form.status_code == 200
    assert "Write a reflective note" in page(form)


def test_new_note_offers_own_open_cases_only(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    me = signed_in(Role.WORKER)
    mine = make_case(me, name="Mine Case")
    other = user_factory(Role.WORKER)
    theirs = make_case(other, name="Theirs Case")
    response = client.get(f"/notes/new?episode={mine.id}")
    html = page(response)
    assert "Mine Case" in html
    assert "Theirs Case" not in html
    assert f'selected value="{mine.id}"' in html or f'value="{mine.id}" selected' in html
    select_html = html[html.index('name="episode_id"') :]
    select_html = select_html[: select_html.index("</select>")]
    assert f'value="{theirs.id}"' not in select_html


def test_note_with_themes_manageability_and_own_case_saves(
    client: FlaskClient, signed_in: Any
) -> None:
    me = signed_in(Role.WORKER)
    mine = make_case(me, name="Linked Person")
    add_contact(me, mine)
    before = row_counts()
    response = client.post(
        "/notes/new",
        data=note_data(token(client), episode_id=str(mine.id), shared_with_supervisor="y"),
    )
    assert response.headers.get("Location") == "/notes/"
    html = flash_after(client, response)
    assert "Reflective note saved." in html
    assert "I held the silence better than last month." in html
    assert ReflectiveTheme.EMOTIONAL_IMPACT.label in html
    assert ReflectiveTheme.CLINICAL_CONFIDENCE.label in html
    assert "Caseload felt 3 out of 5 manageable." in html
    assert "Linked to" in html
    assert "Linked Person" in html
    assert "Shared with your supervisor." in html
    assert "Active cases then: 1." in html
    after = row_counts()
    assert after["reflective_notes"] == before["reflective_notes"] + 1
    note = db.session.scalars(select(ReflectiveNote)).one()
    assert note.author_id == me.id
    assert note.episode_id == mine.id
    assert note.manageability == 3
    assert note.shared_with_supervisor is True
    assert audit_events("note.create", object_id=note.id, actor=me)


def test_private_note_without_case_or_rating_saves(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    response = client.post(
        "/notes/new", data=note_data(token(client), manageability=None, themes=["data_collection"])
    )
    html = flash_after(client, response)
    assert "Private." in html
    assert "out of 5" not in html
    assert "Linked to" not in html


BAD_NOTES = [
    pytest.param({"text": ""}, "text", "Write your reflection.", id="text-missing"),
    pytest.param({"text": "   \n  "}, "text", "Write your reflection.", id="text-blank"),
    pytest.param({"text": "t" * 10_001}, "text", "", id="text-huge"),
    pytest.param({"themes": None}, "themes", "Choose at least one theme.", id="themes-missing"),
    pytest.param({"themes": ["bogus"]}, "themes", "", id="theme-bogus"),
    pytest.param({"themes": ["emotional_impact", "bogus"]}, "themes", "", id="theme-mixed-bogus"),
    pytest.param({"manageability": "9"}, "manageability", "", id="manageability-9"),
    pytest.param({"manageability": "0"}, "manageability", "", id="manageability-0"),
    pytest.param({"manageability": "three"}, "manageability", "", id="manageability-text"),
    pytest.param({"episode_id": "987654"}, "episode_id", "", id="case-missing"),
    pytest.param({"episode_id": "abc"}, "episode_id", "", id="case-garbage"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_NOTES)
def test_bad_note_is_refused_and_nothing_saved(
    client: FlaskClient, signed_in: Any, overrides: dict[str, Any], field: str, message: str
) -> None:
    signed_in(Role.WORKER)
    before = row_counts()
    response = client.post("/notes/new", data=note_data(token(client), **overrides))
    assert response.status_code == 200
    assert "There is a problem" in page(response)
    shown = field_error(response, field)
    assert shown, error_messages(response)
    assert message in shown
    assert row_counts() == before
    if "text" not in overrides:
        assert textarea_value(response, "text") == note_data("")["text"]
    if "manageability" not in overrides:
        assert checked_value(response, "manageability") == "3"
    if "themes" not in overrides:
        assert checked_value(response, "themes") in {"emotional_impact", "clinical_confidence"}


def test_linking_another_workers_case_is_refused(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    me = signed_in(Role.WORKER)
    other = user_factory(Role.WORKER)
    theirs = make_case(other, name="Not Your Client")
    before = row_counts()
    response = client.post("/notes/new", data=note_data(token(client), episode_id=str(theirs.id)))
    assert response.status_code == 200
    assert field_error(response, "episode_id")
    assert "Not Your Client" not in page(response)
    assert row_counts() == before
    assert not db.session.scalars(
        select(ReflectiveNote).where(ReflectiveNote.author_id == me.id)
    ).all()


def test_list_shows_only_own_notes_and_never_anothers_text(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    me = signed_in(Role.WORKER)
    other = user_factory(Role.WORKER)
    write_note(
        other,
        text="OTHER-WORKER-PRIVATE-TEXT about a client",
        themes=[ReflectiveTheme.ROLE_CONFUSION],
        shared_with_supervisor=True,
    )
    write_note(me, text="My own reflection", themes=[ReflectiveTheme.NEW_ROLE])
    db.session.commit()
    listing = page(client.get("/notes/"))
    assert "My own reflection" in listing
    assert "OTHER-WORKER-PRIVATE-TEXT" not in listing
    for path in ("/notes/new", "/caseload", "/"):
        assert "OTHER-WORKER-PRIVATE-TEXT" not in page(client.get(path, follow_redirects=True))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.LEAD, Role.ADMIN])
def test_other_roles_cannot_use_notes_pages(
    app: Any, client: FlaskClient, signed_in: Any, user_factory: Any, role: Role
) -> None:
    author = user_factory(Role.WORKER, team="North team")
    write_note(
        author,
        text="SHARED-NOTE-TEXT",
        themes=[ReflectiveTheme.RECOGNITION],
        shared_with_supervisor=True,
    )
    db.session.commit()
    signed_in(role, team="North team")
    before = row_counts()
    for path in ("/notes/", "/notes/new"):
        response = client.get(path)
        assert response.status_code == 403
        assert "SHARED-NOTE-TEXT" not in page(response)
    posted = client.post("/notes/new", data=note_data(token(client)))
    assert posted.status_code == 403
    assert row_counts() == before


def test_two_workers_in_two_sessions_see_only_their_own(
    app: Any, client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    signed_in(Role.WORKER)
    assert (
        client.post(
            "/notes/new", data=note_data(token(client), text="FIRST-WORKER-NOTE")
        ).status_code
        == 302
    )
    second = user_factory(Role.WORKER)
    other_client = app.test_client()
    sign_in(other_client, second)
    assert (
        other_client.post(
            "/notes/new", data=note_data(token(other_client), text="SECOND-WORKER-NOTE")
        ).status_code
        == 302
    )
    first_list = page(client.get("/notes/"))
    second_list = page(other_client.get("/notes/"))
    assert "FIRST-WORKER-NOTE" in first_list
    assert "SECOND-WORKER-NOTE" not in first_list
    assert "SECOND-WORKER-NOTE" in second_list
    assert "FIRST-WORKER-NOTE" not in second_list
