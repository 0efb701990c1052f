"""Issue 14: sign-in that cannot be turned against users.

Two defences, each switched off in the other tests' configuration (``tests/conftest.py``)
and switched on here with the production defaults: the progressive wait after repeated
failures (per username and address pair, and per address) and the passphrase-check
budget (one argon2 check at a time per process, a share of a core on average). Before
them, every wrong passphrase from a fresh address cost a full hash, and a flood of them
pushed a worker's caseload page from 17 ms to 2.3 s.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from caseload.config import DEFAULTS
from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuthFailure
from caseload.services import auth as auth_service
from caseload.services.auth import MAX_BACKOFF_SECONDS, backoff_seconds
from caseload.services.signin_gate import CheckBudget, _budget
from tests.conftest import PASSWORD, csrf_token, sign_in

WRONG = "a wrong passphrase entirely"


def post_password(client: FlaskClient, username: str, password: str, *, ip: str) -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": ip},
    )


def failures() -> int:
    return db.session.scalar(select(func.count(AuthFailure.id))) or 0


def age_failures(seconds: float) -> None:
    """Move every failure back in time, as if the person had waited."""
    db.session.execute(update(AuthFailure).values(at=utcnow() - timedelta(seconds=seconds)))
    db.session.commit()


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count passphrase checks (argon2 verifications) made by sign-in."""
    made: list[str] = []
    real = auth_service.verify_password

    def counting(stored: str, password: str) -> bool:
        made.append(password)
        return real(stored, password)

    monkeypatch.setattr(auth_service, "verify_password", counting)
    return made


# The progressive wait -------------------------------------------------------------------


def test_backoff_grows_from_the_threshold_and_is_capped() -> None:
    assert [backoff_seconds(n, after=2) for n in range(7)] == [0, 0, 1, 2, 4, 8, 16]
    assert backoff_seconds(40, after=2) == MAX_BACKOFF_SECONDS
    assert [backoff_seconds(n, after=10, per=5) for n in (9, 10, 14, 15, 20)] == [0, 1, 1, 2, 4]
    assert backoff_seconds(99, after=None) == 0


def test_production_defaults_turn_both_defences_on() -> None:
    assert DEFAULTS["LOGIN_BACKOFF_AFTER"] == 2
    assert DEFAULTS["SIGNIN_CHECK_SHARE"] > 0


def test_third_quick_failure_waits_unchecked(
    app: Flask, client: FlaskClient, user_factory: Any, checks: list[str]
) -> None:
    app.config["LOGIN_BACKOFF_AFTER"] = 2
    user = user_factory(Role.WORKER)
    for _ in range(2):
        assert post_password(client, user.username, WRONG, ip="192.0.2.1").status_code == 200
    response = post_password(client, user.username, PASSWORD, ip="192.0.2.1")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert "Wait 1 second, then try again." in response.get_data(as_text=True)
    # Refused before the check: no hash, and no failure counted for it.
    assert len(checks) == 2
    assert failures() == 2
    # Once the wait has passed, the right passphrase is checked and accepted.
    age_failures(1.5)
    assert post_password(client, user.username, PASSWORD, ip="192.0.2.1").status_code == 302


def test_the_wait_doubles_with_each_failure(
    app: Flask, client: FlaskClient, user_factory: Any
) -> None:
    app.config["LOGIN_BACKOFF_AFTER"] = 2
    user = user_factory(Role.WORKER)
    for _ in range(2):
        post_password(client, user.username, WRONG, ip="192.0.2.1")
    age_failures(1.5)
    assert post_password(client, user.username, WRONG, ip="192.0.2.1").status_code == 200
    age_failures(1.5)  # three failures: the next waits 2 s after the last
    response = post_password(client, user.username, WRONG, ip="192.0.2.1")
    assert response.status_code == 429
    assert "Wait 1 second" in response.get_data(as_text=True)


def test_nobody_can_slow_a_named_user_from_elsewhere(
    app: Flask, client: FlaskClient, user_factory: Any
) -> None:
    app.config["LOGIN_BACKOFF_AFTER"] = 2
    user = user_factory(Role.WORKER)
    for n in range(4):
        post_password(client, user.username, WRONG, ip=f"203.0.113.{n % 2 + 1}")
    # The user's own address has no failures: their sign-in is checked at once.
    assert post_password(client, user.username, PASSWORD, ip="192.0.2.50").status_code == 302


def test_an_address_failing_for_many_names_waits(
    app: Flask, client: FlaskClient, checks: list[str]
) -> None:
    app.config["LOGIN_BACKOFF_AFTER"] = 2
    # One failure for each of ten made-up names: under every pair's threshold, but the
    # address reaches its own (2 x 5).
    for n in range(10):
        assert post_password(client, f"nobody{n}", WRONG, ip="203.0.113.9").status_code == 200
    response = post_password(client, "nobody-else", WRONG, ip="203.0.113.9")
    assert response.status_code == 429
    assert len(checks) == 0  # unknown names burn the time without calling verify
    assert failures() == 10


# The passphrase-check budget ------------------------------------------------------------


def test_budget_admits_one_check_at_a_time() -> None:
    budget = CheckBudget()
    assert budget.try_acquire(share=0.25, burst=1.0, now=0.0)
    assert not budget.try_acquire(share=0.25, burst=1.0, now=0.0)
    budget.release(0.1)
    assert budget.try_acquire(share=0.25, burst=1.0, now=0.0)


def test_budget_spends_and_refills_at_its_share() -> None:
    budget = CheckBudget()
    assert budget.try_acquire(share=0.25, burst=1.0, now=0.0)
    budget.release(1.2)  # a check longer than the burst: 0.2 s in debt
    assert not budget.try_acquire(share=0.25, burst=1.0, now=0.5)  # 0.2 - 0.125 owed
    assert budget.try_acquire(share=0.25, burst=1.0, now=1.0)  # 0.25 earned
    budget.release(0.0)
    # The bucket never holds more than the burst, however long it was idle.
    assert budget.try_acquire(share=0.25, burst=1.0, now=1000.0)
    budget.release(1.0)
    assert not budget.try_acquire(share=0.25, burst=1.0, now=1000.0)


def test_a_sign_in_with_no_room_is_answered_busy_without_hashing(
    app: Flask, client: FlaskClient, user_factory: Any, checks: list[str]
) -> None:
    app.config["SIGNIN_CHECK_SHARE"] = DEFAULTS["SIGNIN_CHECK_SHARE"]
    user = user_factory(Role.WORKER)
    budget = _budget()
    assert budget.try_acquire(share=0.25, burst=1.0)  # another thread is checking
    response = post_password(client, user.username, PASSWORD, ip="192.0.2.1")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert "Sign-in is busy right now" in response.get_data(as_text=True)
    assert checks == []
    assert failures() == 0  # not counted against anyone
    budget.release(0.0)
    assert post_password(client, user.username, PASSWORD, ip="192.0.2.1").status_code == 302
    assert checks == [PASSWORD]


def test_the_budget_runs_dry_under_a_flood(
    app: Flask, client: FlaskClient, user_factory: Any, checks: list[str]
) -> None:
    app.config.update(SIGNIN_CHECK_SHARE=0.000001, SIGNIN_CHECK_BURST=0.000001)
    user = user_factory(Role.WORKER)
    statuses = [
        post_password(client, user.username, WRONG, ip=f"203.0.113.{n}").status_code
        for n in range(1, 6)
    ]
    # The first check spends more than the bucket holds, and it refills too slowly for
    # any of the rest.
    assert statuses[0] == 200
    assert set(statuses[1:]) == {429}
    assert len(checks) == 1


def test_confirming_identity_is_budgeted_too(
    app: Flask, client: FlaskClient, user_factory: Any, checks: list[str]
) -> None:
    user = user_factory(Role.ADMIN)
    sign_in(client, user)
    checks.clear()
    app.config["SIGNIN_CHECK_SHARE"] = DEFAULTS["SIGNIN_CHECK_SHARE"]
    budget = _budget()
    assert budget.try_acquire(share=0.25, burst=1.0)
    response = client.post(
        "/login/confirm",
        data={
            "password": PASSWORD,
            "code": "000000",
            "csrf_token": csrf_token(client, "/login/confirm"),
        },
    )
    budget.release(0.0)
    assert response.status_code == 429
    assert "Sign-in is busy right now" in response.get_data(as_text=True)
    assert checks == []
