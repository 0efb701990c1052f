"""Your account: change the passphrase, see and end sessions, see recent sign-ins."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, User, UserSession
from caseload.services import account
from caseload.services.passwords import verify_password
from tests.conftest import PASSWORD, csrf_token, make_user, sign_in
from tests.web.helpers import counting

NEW_PASSPHRASE = "lantern orchard quietly sideways meadow"


def _second_browser(app: Flask, user: User) -> FlaskClient:
    other = app.test_client()
    sign_in(other, user)
    return other


def _idle_session(user: User) -> UserSession:
    """Another live session of the user's, as a browser elsewhere would have (a third
    real sign-in within one 30-second code step is not possible)."""
    session = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, ip="192.0.2.7")
    db.session.add(session)
    db.session.commit()
    return session


def _live(user: User) -> list[UserSession]:
    return list(
        db.session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.ended_at.is_(None)
            )
        )
    )


def test_every_role_has_a_link_to_their_account(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    for role in Role:
        browser = app.test_client()
        sign_in(browser, make_user(role))
        html = browser.get("/account/").get_data(as_text=True)
        assert 'href="/account/"' in html, role
        assert "Your account" in html


def test_the_page_lists_sessions_and_sign_ins(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    _second_browser(app, user)
    response = client.get("/account/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("This browser") == 1
    assert "End all other sessions" in html
    assert html.count("Signed in</td>") == 2  # two successful sign-ins listed


def test_changing_the_passphrase_needs_the_current_one(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    token = csrf_token(client, "/account/passphrase")
    response = client.post(
        "/account/passphrase",
        data={
            "csrf_token": token,
            "current": "not my passphrase at all",
            "password": NEW_PASSPHRASE,
            "confirmation": NEW_PASSPHRASE,
        },
    )
    assert response.status_code == 200
    assert account.WRONG_CURRENT in response.get_data(as_text=True)
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)
    failures = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "login.failure", AuditEvent.actor_username == user.username
        )
    ).all()
    assert [(e.detail or {}).get("reason") for e in failures] == ["change passphrase"]


def test_a_weak_or_mismatched_new_passphrase_is_refused(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    for password, confirmation, field in (
        ("short", "short", "password"),
        (PASSWORD, PASSWORD, "password"),
        (NEW_PASSPHRASE, NEW_PASSPHRASE + "x", "confirmation"),
    ):
        response = client.post(
            "/account/passphrase",
            data={
                "csrf_token": csrf_token(client, "/account/passphrase"),
                "current": PASSWORD,
                "password": password,
                "confirmation": confirmation,
            },
        )
        assert response.status_code == 200, (password, field)
        assert f'id="{field}-error"' in response.get_data(as_text=True) or (
            "There is a problem" in response.get_data(as_text=True)
        )
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


def test_changing_the_passphrase_ends_the_other_sessions(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    other = _second_browser(app, user)
    assert other.get("/account/").status_code == 200
    response = client.post(
        "/account/passphrase",
        data={
            "csrf_token": csrf_token(client, "/account/passphrase"),
            "current": PASSWORD,
            "password": NEW_PASSPHRASE,
            "confirmation": NEW_PASSPHRASE,
        },
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200  # still signed in here
    assert other.get("/account/").status_code == 302  # the other browser is out
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSPHRASE)
    assert len(_live(user)) == 1
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.password_change")
    ).one()
    assert (event.detail or {})["sessions_ended"] == 1


def test_end_the_other_sessions(app: Flask, client: FlaskClient, signed_in: Any) -> None:
    user = signed_in(Role.SUPERVISOR)
    other = _second_browser(app, user)
    _idle_session(user)
    response = client.post(
        "/account/sessions/end-others", data={"csrf_token": csrf_token(client, "/account/")}
    )
    assert response.status_code == 302
    assert other.get("/account/").status_code == 302
    assert client.get("/account/").status_code == 200
    assert len(_live(user)) == 1


def test_end_one_session_and_never_someone_elses(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    other = _second_browser(app, user)
    stranger = make_user(Role.WORKER)
    stranger_browser = _second_browser(app, stranger)
    theirs = _live(stranger)[0].id
    mine = next(s.id for s in _live(user) if s.created_at == max(x.created_at for x in _live(user)))
    token = csrf_token(client, "/account/")
    refused = client.post("/account/sessions/end", data={"csrf_token": token, "session_id": theirs})
    assert refused.status_code == 200
    assert stranger_browser.get("/account/").status_code == 200
    ended = client.post("/account/sessions/end", data={"csrf_token": token, "session_id": mine})
    assert ended.status_code == 302
    assert other.get("/account/").status_code == 302
    assert client.get("/account/").status_code == 200


def test_the_user_is_told_of_failed_attempts_at_sign_in(app: Flask, client: FlaskClient) -> None:
    user = make_user(Role.WORKER)
    sign_in(client, user)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/")})
    attacker = app.test_client()
    for _ in range(2):
        attacker.post(
            "/login",
            data={
                "username": user.username,
                "password": "a wrong guess at it",
                "csrf_token": csrf_token(attacker),
            },
        )
    sign_in(client, user)
    html = client.get("/account/").get_data(as_text=True)
    assert "There were 2 failed sign-in attempts on your account" in html
    assert html.count("Failed (password)") == 2
    # Told once: the next page does not repeat it, nor does the next sign-in.
    assert "failed sign-in" not in client.get("/account/").get_data(as_text=True)
    assert account.failures_since_last_sign_in(user) == 0


def test_recent_sign_ins_are_capped_and_newest_first(app: Flask) -> None:
    user = make_user(Role.WORKER)
    from caseload.services.audit import record_event

    for _ in range(25):
        record_event("login.failure", actor_username=user.username, detail={"reason": "code"})
    record_event("login.success", actor=user, object_type="user", object_id=user.id)
    db.session.commit()
    rows = account.recent_sign_ins(user)
    assert len(rows) == account.RECENT_SIGN_INS == 20
    assert rows[0].succeeded


def test_the_account_page_reads_a_bounded_number_of_statements(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    for _ in range(3):
        _idle_session(user)
    client.get("/account/")
    with counting() as statements:
        assert client.get("/account/").status_code == 200
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 8, selects
