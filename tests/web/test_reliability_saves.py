"""Issue 14, defects 3-5: lost updates, double submission, nothing identifying in the cookie.

- Every form that changes a record carries the version it was opened at: a stale consent
  tab cannot undo a withdrawal; a discharge opened before a contact was added conflicts.
- Every rendered form carries a fresh idempotency key (``form_key``, added by the shared
  form layer next to the CSRF token); the same submission saves once, and the repeat gets
  the first one's redirect.
- Flash messages travel in the signed (not encrypted) session cookie: none names a client.
"""

from __future__ import annotations

import base64
import re
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import Contact
from tests.web.helpers import (
    add_contact,
    contact_data,
    input_value,
    make_case,
    page,
    reload,
    row_counts,
    token,
)


def form_key(response: Any) -> str:
    """The idempotency key of the form on a page."""
    key = input_value(response, "form_key")
    assert key, "the form carries no idempotency key"
    return key


# Lost updates ------------------------------------------------------------------------


def test_a_stale_consent_tab_cannot_undo_a_withdrawal(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    url = f"/episodes/{episode.id}/consent"
    stale = client.get(url)
    fresh = client.get(url)
    withdrawn = client.post(
        url,
        data={
            "csrf_token": token(client),
            "version": input_value(fresh, "version"),
            "consent": "declined",
            "consent_note": "Withdrew on the phone",
        },
    )
    assert withdrawn.status_code == 302
    before = row_counts()
    response = client.post(
        url,
        data={
            "csrf_token": token(client),
            "version": input_value(stale, "version"),
            "consent": "yes",
            "consent_note": "Agreed (an old tab)",
        },
    )
    assert response.status_code == 409
    assert "Someone else saved this record" in page(response)
    assert "Agreed (an old tab)" in page(response)  # the input is kept
    assert row_counts() == before
    assert reload(episode).client.consent_central_reporting is False


def test_a_consent_form_without_its_version_is_a_conflict(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    response = client.post(
        f"/episodes/{episode.id}/consent",
        data={"csrf_token": token(client), "consent": "declined", "consent_note": "No"},
    )
    assert response.status_code == 409
    assert reload(episode).client.consent_central_reporting is True


def test_a_discharge_opened_before_a_contact_was_added_conflicts(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    add_contact(worker, episode)
    opened = client.get(f"/episodes/{episode.id}/discharge")
    version = input_value(opened, "version")
    add_contact(worker, episode)  # in another tab, after the form was opened
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data={
            "csrf_token": token(client),
            "version": version,
            "reason": "completed",
            "discharged_on": opened_date(opened),
            "note": "Finished",
        },
    )
    assert response.status_code == 409, page(response)[:3000]
    assert reload(episode).discharged_on is None


#: The boxes of a date input.
DMY = ("day", "month", "year")


def opened_date(response: Any) -> str:
    """The discharge date the form was opened with (ISO), from its day, month and year."""
    day, month, year = (input_value(response, f"discharged_on-{part}") or "" for part in DMY)
    return date(int(year), int(month), int(day)).isoformat()


# Double submission ---------------------------------------------------------------------


def test_every_rendered_form_gets_a_fresh_key(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    url = f"/episodes/{episode.id}/contacts/new"
    first, second = form_key(client.get(url)), form_key(client.get(url))
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{32}", first)


def test_the_same_contact_submitted_twice_saves_once(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    url = f"/episodes/{episode.id}/contacts/new"
    data = contact_data(token(client), form_key=form_key(client.get(url)))
    before = row_counts()
    first = client.post(url, data=data)
    again = client.post(url, data=data)
    assert first.status_code == 302
    assert again.status_code in (302, 303)
    assert again.headers["Location"] == first.headers["Location"]
    assert row_counts()["contacts"] == before["contacts"] + 1


def test_a_refused_submission_does_not_use_up_its_key(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    url = f"/episodes/{episode.id}/contacts/new"
    key = form_key(client.get(url))
    refused = client.post(url, data=contact_data(token(client), form_key=key, contact_type=""))
    assert refused.status_code == 200
    saved = client.post(url, data=contact_data(token(client), form_key=key))
    assert saved.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 1


def test_two_simultaneous_submissions_of_one_form_save_once(
    app: Any, client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    url = f"/episodes/{episode.id}/contacts/new"
    data = contact_data(token(client), form_key=form_key(client.get(url)))
    db.session.commit()
    barrier = threading.Barrier(4)

    def post() -> Any:
        barrier.wait()
        return client.post(url, data=data)

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: post(), range(4)))
    assert all(r.status_code < 500 for r in responses)
    assert {r.status_code for r in responses} <= {302, 303, 409}
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 1


def test_a_key_used_by_someone_else_is_refused(
    app: Any, client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    from tests.conftest import sign_in

    worker = signed_in(Role.WORKER)
    episode = make_case(worker, consented=True)
    url = f"/episodes/{episode.id}/contacts/new"
    key = form_key(client.get(url))
    assert client.post(url, data=contact_data(token(client), form_key=key)).status_code == 302
    other = app.test_client()
    other_worker = user_factory(Role.WORKER)
    sign_in(other, other_worker)
    theirs = make_case(other_worker, consented=True, name="Other Person")
    response = other.post(
        f"/episodes/{theirs.id}/contacts/new", data=contact_data(token(other), form_key=key)
    )
    assert response.status_code == 409


# Nothing identifying in the cookie ------------------------------------------------------


def cookie_text(client: FlaskClient) -> str:
    """The session cookie's payload, decoded as an attacker would (it is only signed)."""
    cookie = client.get_cookie("caseload_session") or client.get_cookie("session")
    assert cookie is not None
    payload = cookie.value.split(".")[0] if not cookie.value.startswith(".") else None
    raw = cookie.value
    if raw.startswith("."):
        body = raw[1:].split(".")[0]
        data = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    else:
        assert payload is not None
        data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return data.decode("utf-8", "replace")


def test_discharge_flash_does_not_put_the_clients_name_in_the_cookie(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker, name="Zebedee Quartermaine", consented=True)
    opened = client.get(f"/episodes/{episode.id}/discharge")
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data={
            "csrf_token": token(client),
            "version": input_value(opened, "version"),
            "reason": "declined",
            "discharged_on": opened_date(opened),
        },
    )
    assert response.status_code == 302, page(response)[:3000]
    assert "Zebedee" not in cookie_text(client)
    assert "Quartermaine" not in cookie_text(client)


def test_no_flash_call_names_a_client() -> None:
    """A source check over every blueprint: a flash may name a service reference or a
    member of staff, never a client's name or date of birth. Helpers that flash a
    message they are given (``_to_episode(episode_id, message)``) are checked at their
    calls too."""
    from pathlib import Path

    import caseload

    root = Path(caseload.__file__).parent
    sources = {path: path.read_text() for path in root.rglob("*.py")}
    flashing = {"flash"} | {
        match.group(1)
        for text in sources.values()
        for match in re.finditer(
            r"def (\w+)\([^)]*\bmessage\b[^)]*\)[^:]*:\n(?:(?:[ \t]+.*)?\n)*?[ \t]+flash\(message",
            text,
        )
    }
    assert "_to_episode" in flashing  # the scan finds the helpers it must follow
    offenders = []
    for path, text in sources.items():
        for name in flashing:
            for match in re.finditer(rf"\b{name}\((.*?)\)\n", text, re.S):
                call = match.group(1)
                if re.search(r"client\.(name|date_of_birth|nhs_number)\b|client_name", call):
                    offenders.append(f"{path.relative_to(root)}: {call[:80]}")
    assert offenders == []
