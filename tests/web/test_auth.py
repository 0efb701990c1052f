"""Signing in with a passphrase and a TOTP code, throttling, sessions and sign-out."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import func, select

from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, User, UserSession
from tests.conftest import PASSWORD, csrf_token, next_code, sign_in


def post_password(client: FlaskClient, username: str, password: str) -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


def post_code(client: FlaskClient, code: str) -> Any:
    return client.post(
        "/login/mfa", data={"code": code, "csrf_token": csrf_token(client, "/login/mfa")}
    )


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_home_needs_sign_in_and_keeps_a_safe_next(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/")


def test_password_then_code_signs_in(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    response = post_password(client, user.username, PASSWORD)
    assert response.headers["Location"] == "/login/mfa"
    # Not signed in yet: the home page still redirects.
    assert client.get("/").status_code == 302
    response = post_code(client, next_code(user))
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert "Test Practitioner" in page.get_data(as_text=True)
    assert "login.success" in actions()


def test_username_is_case_insensitive(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER, username="amira.khan")
    assert post_password(client, "  Amira.Khan ", PASSWORD).status_code == 302
    assert post_code(client, next_code(user)).status_code == 302


def test_wrong_password_is_refused_with_a_message(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    response = post_password(client, user.username, PASSWORD + "x")
    assert response.status_code == 200
    assert "The username or passphrase is not right." in response.get_data(as_text=True)
    assert client.get("/login/mfa").headers["Location"] == "/login"
    assert actions()[-1] == "login.failure"


def test_unknown_user_gets_the_same_message(client: FlaskClient) -> None:
    response = post_password(client, "nobody", PASSWORD)
    assert "The username or passphrase is not right." in response.get_data(as_text=True)


def test_disabled_account_cannot_sign_in(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    user.active = False
    db.session.commit()
    assert post_password(client, user.username, PASSWORD).status_code == 200


def test_wrong_code_is_refused(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    post_password(client, user.username, PASSWORD)
    good = next_code(user)
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    response = post_code(client, bad)
    assert response.status_code == 200
    assert "That code is not right" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_code_that_is_not_six_digits_gets_a_clear_message(
    client: FlaskClient, user_factory: Any
) -> None:
    user = user_factory(Role.WORKER)
    post_password(client, user.username, PASSWORD)
    response = post_code(client, "abc")
    assert "Enter the code as 6 digits." in response.get_data(as_text=True)


def test_a_code_cannot_be_used_twice(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    code = next_code(user)
    post_password(client, user.username, PASSWORD)
    assert post_code(client, code).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    post_password(client, user.username, PASSWORD)
    assert post_code(client, code).status_code == 200


def test_first_sign_in_walks_through_enrolment(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.SUPERVISOR, enrolled=False)
    post_password(client, user.username, PASSWORD)
    page = client.get("/login/mfa").get_data(as_text=True)
    assert "Set up your authenticator" in page
    assert "data:image/svg+xml" in page
    db.session.refresh(user)
    assert user.totp_secret in page
    assert post_code(client, next_code(user)).status_code == 302
    db.session.refresh(user)
    assert user.mfa_enrolled


def test_enrolled_user_is_not_shown_the_secret(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    post_password(client, user.username, PASSWORD)
    page = client.get("/login/mfa").get_data(as_text=True)
    assert "Enter your security code" in page
    assert user.totp_secret not in page
    assert "demo-code" not in page


def test_repeated_failures_are_throttled(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    for _ in range(5):
        assert post_password(client, user.username, "wrong passphrase entirely").status_code == 200
    # Even the right passphrase is refused while locked.
    response = post_password(client, user.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_throttle_window_passes(app: Any, client: FlaskClient, user_factory: Any) -> None:
    from caseload.models import AuthFailure

    user = user_factory(Role.WORKER)
    for _ in range(5):
        post_password(client, user.username, "wrong passphrase entirely")
    for failure in db.session.scalars(select(AuthFailure)):
        failure.at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    assert post_password(client, user.username, PASSWORD).status_code == 302


def test_wrong_codes_count_towards_the_throttle(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    post_password(client, user.username, PASSWORD)
    for _ in range(5):
        post_code(client, "000000" if next_code(user) != "000000" else "111111")
    assert post_code(client, next_code(user)).status_code == 429


def test_sign_out_ends_the_session_on_the_server(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    sign_in(client, user)
    cookie = client.get_cookie("caseload_session")
    assert cookie is not None
    copied = cookie.value
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    # Replaying the cookie captured before sign-out does not get back in.
    client.set_cookie("caseload_session", copied)
    assert client.get("/").status_code == 302
    ended = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert ended is not None
    assert ended.end_reason == "signed out"


def test_idle_session_expires(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    sign_in(client, user)
    session = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert session is not None
    session.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    assert client.get("/").status_code == 302
    db.session.refresh(session)
    assert session.end_reason == "idle"


def test_absolute_session_limit(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    sign_in(client, user)
    session = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert session is not None
    session.created_at = utcnow() - timedelta(hours=12, minutes=1)
    db.session.commit()
    assert client.get("/").status_code == 302
    db.session.refresh(session)
    assert session.end_reason == "expired"


def test_disabling_a_user_ends_their_sessions(client: FlaskClient, user_factory: Any) -> None:
    from caseload.services.users import set_active

    user = user_factory(Role.WORKER)
    sign_in(client, user)
    assert client.get("/caseload").status_code == 200
    set_active(user, active=False)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_no_remember_me_cookie(client: FlaskClient, user_factory: Any) -> None:
    sign_in(client, user_factory(Role.WORKER))
    assert client.get_cookie("remember_token") is None


def test_session_cookie_is_http_only(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    post_password(client, user.username, PASSWORD)
    response = post_code(client, next_code(user))
    cookies = response.headers.getlist("Set-Cookie")
    assert any("caseload_session=" in c and "HttpOnly" in c for c in cookies)


def test_next_is_followed_only_when_same_site(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    client.post(
        "/login?next=https://evil.example/steal",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    response = post_code(client, next_code(user))
    assert response.headers["Location"] == "/"


def test_mfa_step_expires(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    post_password(client, user.username, PASSWORD)
    with client.session_transaction() as session:
        session["pending_since"] = time.time() - 301
    assert client.get("/login/mfa").headers["Location"] == "/login"


def test_demo_code_shown_only_while_all_users_are_demo(
    client: FlaskClient, user_factory: Any
) -> None:
    user = user_factory(Role.WORKER)
    user.is_demo = True
    db.session.commit()
    post_password(client, user.username, PASSWORD)
    page = client.get("/login/mfa").get_data(as_text=True)
    assert pyotp.TOTP(user.totp_secret).now() in page or "demo-code" in page
    user_factory(Role.ADMIN)  # a real account now exists
    page = client.get("/login/mfa").get_data(as_text=True)
    assert "demo-code" not in page


def test_every_sign_in_is_audited(client: FlaskClient, user_factory: Any) -> None:
    user = user_factory(Role.WORKER)
    sign_in(client, user)
    count = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "login.success", AuditEvent.actor_id == user.id
        )
    )
    assert count == 1
    assert db.session.get(User, user.id) is not None


def test_demo_code_shown_is_one_the_server_accepts_even_after_a_sign_in(
    client: FlaskClient, user_factory: Any
) -> None:
    import re

    user = user_factory(Role.WORKER)
    user.is_demo = True
    db.session.commit()
    for _ in range(2):  # the second sign-in falls in the same 30 seconds as the first
        post_password(client, user.username, PASSWORD)
        page = client.get("/login/mfa").get_data(as_text=True)
        shown = re.search(r'id="demo-code">(\d{6})<', page)
        assert shown is not None
        assert post_code(client, shown.group(1)).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_usable_code_is_none_when_current_and_next_are_used(app: Any, user_factory: Any) -> None:
    from caseload.services.auth import usable_code

    user = user_factory(Role.WORKER)
    now = time.time()
    user.totp_last_step = int(now // 30) + 1
    assert usable_code(user, at=now) is None
    user.totp_last_step = int(now // 30)
    assert usable_code(user, at=now) == pyotp.TOTP(user.totp_secret).at((int(now // 30) + 1) * 30)
