"""Hostile or odd requests: clear refusals, never a 500, nothing internal in the logs."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from caseload import create_app
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent
from tests.conftest import base_config, csrf_token
from tests.web.helpers import add_contact, audit_events, make_case, page, row_counts, token


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_nul_byte_in_a_form_is_a_400(client: FlaskClient, field: str) -> None:
    data = {
        "username": "someone",
        "password": "long enough passphrase",
        field: "a\x00b",
        "csrf_token": csrf_token(client),
    }
    assert client.post("/login", data=data).status_code == 400


def test_a_nul_byte_in_a_query_string_is_a_400(client: FlaskClient) -> None:
    assert client.get("/login?next=/a%00b").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/episodes/2147483648",
        "/episodes/99999999999999999999",
        "/contacts/9223372036854775808/correct",
    ],
)
def test_ids_beyond_the_column_range_are_404(
    client: FlaskClient, signed_in: Any, path: str
) -> None:
    signed_in(Role.WORKER)
    assert client.get(path).status_code == 404


def test_statement_values_are_not_logged(app: Flask) -> None:
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    assert db.engine.hide_parameters is True


def test_proxy_count_setting_wraps_the_app(app: Flask, tmp_path: Any) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from caseload.web.signin_shed import SignInShed

    proxied = create_app(
        {**base_config(app.config["DATABASE_URL"], tmp_path / "p"), "PROXY_COUNT": 1}
    )
    # Inside the sign-in door (web.signin_shed), which needs no address.
    assert isinstance(proxied.wsgi_app, SignInShed)
    assert isinstance(proxied.wsgi_app.wsgi_app, ProxyFix)
    assert proxied.wsgi_app.wsgi_app.x_for == 1
    assert isinstance(app.wsgi_app, SignInShed)
    assert not isinstance(app.wsgi_app.wsgi_app, ProxyFix)


def test_behind_a_proxy_the_client_address_is_recorded(app: Flask) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # what PROXY_COUNT=1 does
    client = app.test_client()
    client.post(
        "/login",
        data={
            "username": "nobody",
            "password": "not the right one at all",
            "csrf_token": csrf_token(client),
        },
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    ips = db.session.scalars(
        select(AuditEvent.ip).where(AuditEvent.action == "login.failure")
    ).all()
    assert ips == ["203.0.113.9"]


def test_without_proxy_setting_forwarded_headers_are_ignored(client: FlaskClient) -> None:
    client.post(
        "/login",
        data={
            "username": "nobody",
            "password": "not the right one at all",
            "csrf_token": csrf_token(client),
        },
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert db.session.scalars(select(AuditEvent.ip)).all() == ["127.0.0.1"]


def test_a_refused_form_keeps_the_audit_event_for_reading_the_record(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker)
    path = f"/episodes/{episode.id}/discharge"
    csrf = token(client)
    before = len(audit_events("episode.view", object_id=episode.id))
    response = client.post(
        path,
        data={
            "csrf_token": csrf,
            "version": "1",
            "discharged_on": "2999-01-01",
            "reason": "completed",
        },
    )
    assert response.status_code == 200
    assert "cannot be in the future" in page(response)
    assert len(audit_events("episode.view", object_id=episode.id)) == before + 1


def test_a_form_without_its_version_is_a_conflict(client: FlaskClient, signed_in: Any) -> None:
    worker = signed_in(Role.WORKER)
    contact = add_contact(worker, make_case(worker))
    before = row_counts()
    response = client.post(
        f"/contacts/{contact.id}/entered-in-error",
        data={"csrf_token": token(client), "reason": "Wrong client"},
    )
    assert response.status_code == 409
    assert row_counts() == before


def test_discharge_page_does_not_call_zero_scores_unpaired(
    client: FlaskClient, signed_in: Any
) -> None:
    worker = signed_in(Role.WORKER)
    episode = make_case(worker)
    from datetime import timedelta

    from caseload.db import utcnow

    add_contact(
        worker,
        episode,
        at=utcnow() - timedelta(days=3),
        phq9=[3, 3, 3, 3, 2, 0, 0, 0, 0],
        gad7=[3, 3, 3, 1, 0, 0, 0],
    )
    add_contact(worker, episode, at=utcnow() - timedelta(days=1), phq9=[0] * 9, gad7=[0] * 7)
    html = page(client.get(f"/episodes/{episode.id}/discharge"))
    assert "Scores are not paired" not in html
    assert "Reliable recovery" in html


def test_notes_page_queries_do_not_grow_with_notes(client: FlaskClient, signed_in: Any) -> None:
    from caseload.domain.codes import ReflectiveTheme
    from caseload.services.notes import write_note

    worker = signed_in(Role.WORKER)

    def statements() -> int:
        count = 0

        def counter(*_args: Any) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            assert client.get("/notes/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        return count

    def add_notes(n: int) -> None:
        for i in range(n):
            case = make_case(worker, name=f"Linked Person {i}")
            write_note(
                worker, text="Reflection", themes=[ReflectiveTheme.NEW_ROLE], episode_id=case.id
            )
        db.session.commit()

    add_notes(1)
    one = statements()
    add_notes(5)
    assert statements() == one


def test_usable_code_is_not_computed_for_real_accounts(
    client: FlaskClient, user_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caseload.services import auth

    calls: list[object] = []
    monkeypatch.setattr(auth, "usable_code", lambda user, **_kw: calls.append(user))
    user = user_factory(Role.WORKER)
    client.post(
        "/login",
        data={
            "username": user.username,
            "password": "correct horse battery staple river",
            "csrf_token": csrf_token(client),
        },
    )
    assert client.get("/login/mfa").status_code == 200
    assert calls == []
