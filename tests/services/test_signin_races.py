"""Issue 14, defect 2 (and the lock part of 8): sign-in races, with real threads.

Each test runs many sign-ins at once through the real forms, each thread with its own
client, released together by a barrier. They pass on SQLite and on PostgreSQL
(``CASELOAD_TEST_DATABASE_URL``), where the old check-then-write throttle let 19 of 20
parallel wrong passwords be checked against a limit of 5 and one code open 7 sessions.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuthFailure, UserSession
from caseload.services import auth as auth_service
from tests.conftest import PASSWORD, csrf_token, next_code


def _token(client: FlaskClient, path: str = "/login") -> str:
    return csrf_token(client, path)


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls on as many threads, released at the same moment."""
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


@pytest.fixture
def slow_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count passphrase checks, each made slow enough for the threads to overlap."""
    checks: list[int] = []
    real = auth_service.verify_password

    def slow_verify(stored: str, password: str) -> bool:
        checks.append(1)
        time.sleep(0.05)
        return real(stored, password)

    monkeypatch.setattr(auth_service, "verify_password", slow_verify)
    return checks


def test_parallel_wrong_passphrases_are_checked_no_more_than_the_limit(
    app: Flask, user_factory: Any, slow_checks: list[int]
) -> None:
    username = user_factory(Role.WORKER).username
    clients = [app.test_client() for _ in range(20)]
    tokens = [_token(c) for c in clients]
    db.session.commit()  # the test holds no transaction (on SQLite, no lock) while they run

    def attempt(i: int) -> Callable[[], int]:
        data = {"username": username, "password": "wrong " * 4, "csrf_token": tokens[i]}
        return lambda: clients[i].post("/login", data=data).status_code

    statuses = run_together([attempt(i) for i in range(20)])
    limit = app.config["LOGIN_MAX_FAILURES"]
    assert 500 not in statuses
    assert len(slow_checks) <= limit
    assert statuses.count(200) == len(slow_checks)
    assert statuses.count(429) == 20 - len(slow_checks)
    # Every checked attempt is counted; no throttled one is.
    assert db.session.scalar(sa.select(sa.func.count(AuthFailure.id))) == len(slow_checks)


def test_one_code_sent_from_ten_sign_ins_at_once_opens_one_session(
    app: Flask, user_factory: Any
) -> None:
    app.config["LOGIN_MAX_FAILURES"] = 1000  # the single use is under test, not the throttle
    user = user_factory(Role.WORKER)
    clients = [app.test_client() for _ in range(10)]
    for client in clients:
        response = client.post(
            "/login",
            data={"username": user.username, "password": PASSWORD, "csrf_token": _token(client)},
        )
        assert response.status_code == 302
    tokens = [_token(c, "/login/mfa") for c in clients]
    code = next_code(user)
    db.session.commit()

    def attempt(i: int) -> Callable[[], int]:
        data = {"code": code, "csrf_token": tokens[i]}
        return lambda: clients[i].post("/login/mfa", data=data).status_code

    statuses = run_together([attempt(i) for i in range(10)])
    assert statuses.count(302) == 1, statuses
    assert set(statuses) <= {200, 302}
    sessions = db.session.scalar(
        sa.select(sa.func.count(UserSession.id)).where(UserSession.user_id == user.id)
    )
    assert sessions == 1


def test_a_used_code_is_refused_on_the_database_not_only_in_memory(
    app: Flask, user_factory: Any
) -> None:
    """Two sessions holding stale copies of the account cannot both claim one step."""
    user = user_factory(Role.WORKER)
    code = next_code(user)
    stale = db.session.get(type(user), user.id)
    assert stale is not None
    with app.test_request_context():
        assert auth_service.verify_totp(user, code)
        db.session.commit()
        auth_service.set_committed_value(stale, "totp_last_step", None)
        assert not auth_service.verify_totp(stale, code)


def test_hashing_a_passphrase_holds_no_database_lock(
    app: Flask, user_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one sign-in's passphrase is being hashed, another writer commits at once."""
    user = user_factory(Role.WORKER)
    user_id, username, users = user.id, user.username, type(user).__table__
    hashing = threading.Event()
    release = threading.Event()
    real = auth_service.verify_password

    def held_verify(stored: str, password: str) -> bool:
        hashing.set()
        release.wait(10)
        return real(stored, password)

    monkeypatch.setattr(auth_service, "verify_password", held_verify)
    client = app.test_client()
    data = {"username": username, "password": "wrong " * 4, "csrf_token": _token(client)}
    db.session.commit()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(lambda: client.post("/login", data=data).status_code)
        assert hashing.wait(10)
        started = time.monotonic()
        engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")
        with engine.connect() as conn, conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout = 1000")
            conn.execute(sa.update(UserSession.__table__).values(ip="x"))
            conn.execute(
                sa.update(users).where(users.c.id == user_id).values(display_name="Meanwhile")
            )
        waited = time.monotonic() - started
        release.set()
        assert pending.result(10) == 200
    assert waited < 0.5


def test_failures_from_elsewhere_do_not_lock_the_user_out(app: Flask, user_factory: Any) -> None:
    """The throttle is per (account, address) and per address, never per account alone."""
    user = user_factory(Role.WORKER)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        attacker.post(
            "/login",
            data={
                "username": user.username,
                "password": "wrong " * 4,
                "csrf_token": _token(attacker),
            },
        )
    locked = attacker.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": _token(attacker)},
    )
    assert locked.status_code == 429
    owner = app.test_client()
    response = owner.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": _token(owner)},
    )
    assert response.status_code == 302
    assert re.search(r"/login/mfa$", response.headers["Location"])
