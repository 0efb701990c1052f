"""Issue 14: sign-in that cannot be turned against users.

Two defences, each switched off in the other tests' configuration (``tests/conftest.py``)
and switched on here with the production defaults: the progressive wait after repeated
failures (per username and address pair, and per address) and the passphrase-check
budget (one argon2 check at a time per process, a share of a core on average). Before
them, every wrong passphrase from a fresh address cost a full hash, and a flood of them
pushed a worker's caseload page from 17 ms to 2.3 s.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from caseload.auth import views
from caseload.config import DEFAULTS
from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuthFailure
from caseload.services import auth as auth_service
from caseload.services import devices
from caseload.services.auth import MAX_BACKOFF_SECONDS, backoff_seconds
from caseload.services.signin_gate import LEASE_SECONDS, SLOT_WAIT_SECONDS, CheckBudget, _budget
from tests.conftest import PASSWORD, csrf_token, next_code, sign_in
from tests.web.helpers import counting

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
    budget.release(0.1, now=0.0)
    assert budget.try_acquire(share=0.25, burst=1.0, now=0.0)


def test_budget_spends_and_refills_at_its_share() -> None:
    budget = CheckBudget()
    assert budget.try_acquire(share=0.25, burst=1.0, now=0.0)
    budget.release(1.2, now=0.0)  # a check longer than the burst: 0.2 s in debt
    assert not budget.try_acquire(share=0.25, burst=1.0, now=0.5)  # 0.2 - 0.125 owed
    assert budget.try_acquire(share=0.25, burst=1.0, now=1.0)  # 0.25 earned
    budget.release(0.0, now=1.0)
    # The bucket never holds more than the burst, however long it was idle.
    assert budget.try_acquire(share=0.25, burst=1.0, now=1000.0)
    budget.release(1.0, now=1000.0)
    assert not budget.try_acquire(share=0.25, burst=1.0, now=1000.0)


def test_budget_is_overrun_by_a_flood_not_by_a_colleague() -> None:
    budget = CheckBudget()
    limits = {"share": 0.25, "burst": 2.0}
    assert not budget.overrun(**limits, now=0.0)
    assert budget.try_acquire(**limits, now=0.0)
    # One check running, the bucket nearly full: a colleague at the same moment.
    assert not budget.overrun(**limits, now=0.1)
    budget.release(1.5, now=0.1)
    assert budget.try_acquire(**limits, now=0.2)
    # A check running with less than half the bucket left: a flood.
    assert budget.overrun(**limits, now=0.3)
    budget.release(0.6, now=0.3)  # the bucket is now in debt
    assert budget.overrun(**limits, now=0.4)
    assert not budget.overrun(**limits, now=2.0)  # refilled, and no check running


def test_every_process_on_the_machine_draws_on_one_budget(tmp_path: Path) -> None:
    path = tmp_path / "signin-budget"
    limits = {"share": 0.25, "burst": 1.0}
    first = CheckBudget(path)
    assert first.try_acquire(**limits, now=10.0)
    # Another process opening the same file finds the slot taken ...
    assert probe(path, 10.1) == ["busy"]
    first.release(1.5, now=10.1)
    # ... and then the bucket in debt that the first process's check left.
    assert probe(path, 10.2) == ["busy"]
    assert probe(path, 13.0) == ["admitted"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_slot_held_by_a_killed_process_frees_after_its_lease(tmp_path: Path) -> None:
    path = tmp_path / "signin-budget"
    limits = {"share": 0.25, "burst": 1.0}
    taken = CheckBudget(path)
    assert taken.try_acquire(**limits, now=100.0)  # and never released
    other = CheckBudget(path)
    assert not other.try_acquire(**limits, now=100.0 + LEASE_SECONDS - 0.1)
    assert other.try_acquire(**limits, now=100.0 + LEASE_SECONDS + 0.1)
    # The first holder's late release pays its time but does not free the new holder's.
    taken.release(0.1, now=100.0 + LEASE_SECONDS + 0.2)
    assert not CheckBudget(path).try_acquire(**limits, now=100.0 + LEASE_SECONDS + 0.3)


def probe(path: Path, now: float) -> list[str]:
    """What another process makes of the budget in the file at the given moment."""
    command = [sys.executable, "-c", PROBE, str(path), str(now)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()  # noqa: S603


#: Run in another process: try the budget in the file at the given moment.
PROBE = """
import sys
from pathlib import Path
from caseload.services.signin_gate import CheckBudget
budget = CheckBudget(Path(sys.argv[1]))
now = float(sys.argv[2])
print("admitted" if budget.try_acquire(share=0.25, burst=1.0, now=now) else "busy")
"""


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
    app.config.update(SIGNIN_CHECK_SHARE=0.1, SIGNIN_RECOGNISED_SHARE=0.000001)
    budget = _budget("recognised")  # signed in: the lane a flood cannot spend
    assert budget.try_acquire(share=0.000001, burst=2.0)
    budget.release(5.0)  # spent: refused at once, without waiting
    response = client.post(
        "/login/confirm",
        data={
            "password": PASSWORD,
            "code": "000000",
            "csrf_token": csrf_token(client, "/login/confirm"),
        },
    )
    assert response.status_code == 429
    assert "Sign-in is busy right now" in response.get_data(as_text=True)
    assert checks == []


# Shedding sign-ins at the door while the budget is empty (web.signin_shed) ---------------


def spend_the_budget(app: Flask) -> None:
    """Leave the process's budget empty, as a flood of checks would."""
    app.config.update(SIGNIN_CHECK_SHARE=0.000001, SIGNIN_CHECK_BURST=1.0)
    budget = _budget()
    assert budget.try_acquire(share=0.000001, burst=1.0)
    budget.release(5.0)


def test_with_the_budget_empty_a_sign_in_is_answered_at_the_door(
    app: Flask, client: FlaskClient, user_factory: Any, checks: list[str]
) -> None:
    username = user_factory(Role.WORKER).username
    token = csrf_token(client)
    spend_the_budget(app)
    first = client.post("/login", data={"username": "someone", "password": WRONG})
    assert first.status_code == 429  # the first shed makes the stored page
    with counting() as statements:
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            environ_base={"REMOTE_ADDR": "203.0.113.7"},
        )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    body = response.get_data(as_text=True)
    assert "Sign-in is busy right now" in body
    assert 'href="/login"' in body
    # The answer carries the app's security headers but never a cookie.
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    # No session, settings, policy or audit query; no check; nothing counted.
    assert statements == []
    assert checks == []
    assert failures() == 0


def test_the_door_stores_the_busy_page_between_floods(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    spend_the_budget(app)
    rendered: list[str] = []
    real = views.render_template

    def render(name: str, **context: Any) -> str:
        rendered.append(name)
        return real(name, **context)

    monkeypatch.setattr(views, "render_template", render)
    for n in range(3):
        response = client.post("/login", data={"username": f"x{n}", "password": WRONG})
        assert response.status_code == 429
    assert rendered == ["auth/busy.html"]


def test_only_an_empty_budget_sheds(
    app: Flask, client: FlaskClient, user_factory: Any, checks: list[str]
) -> None:
    app.config["SIGNIN_CHECK_SHARE"] = DEFAULTS["SIGNIN_CHECK_SHARE"]
    user = user_factory(Role.WORKER)
    # With room in the budget, sign-in is checked as usual.
    assert post_password(client, user.username, PASSWORD, ip="192.0.2.1").status_code == 302
    assert checks == [PASSWORD]
    # Looking at the sign-in page is never shed, even with the budget empty.
    spend_the_budget(app)
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="password"' in page.get_data(as_text=True)


# Recognised devices (services.devices) ---------------------------------------------------


@pytest.fixture
def returning(client: FlaskClient, user_factory: Any, checks: list[str]) -> Any:
    """A worker who signed in fully on this browser before, then signed out: the browser
    keeps their device cookie. No passphrase check counted yet."""
    user = user_factory(Role.WORKER)
    sign_in(client, user)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    checks.clear()
    return user


def test_a_full_sign_in_leaves_a_device_cookie_that_names_no_one(
    client: FlaskClient, user_factory: Any
) -> None:
    user = user_factory(Role.WORKER)
    response = post_password(client, user.username, PASSWORD, ip="192.0.2.1")
    # The passphrase alone is not enough for one.
    assert devices.COOKIE_NAME not in (response.headers.get("Set-Cookie") or "")
    response = client.post(
        "/login/mfa",
        data={"code": next_code(user), "csrf_token": csrf_token(client, "/login/mfa")},
    )
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(devices.COOKIE_NAME)
    )
    assert "HttpOnly" in cookie
    assert "Path=/login" in cookie
    assert "SameSite=Strict" in cookie
    assert user.username.lower() not in cookie.lower()


def test_a_recognised_device_signs_in_through_a_flood(
    app: Flask, client: FlaskClient, returning: Any, user_factory: Any, checks: list[str]
) -> None:
    user = returning
    spend_the_budget(app)
    app.config.update(SIGNIN_RECOGNISED_SHARE=0.1, SIGNIN_RECOGNISED_BURST=2.0)
    response = post_password(client, user.username, PASSWORD, ip="192.0.2.1")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/mfa")
    assert checks == [PASSWORD]
    # The same flood shuts out a browser the app has not seen before ...
    stranger = app.test_client()
    assert post_password(stranger, user.username, PASSWORD, ip="192.0.2.1").status_code == 429
    # ... and one that has, for another username (busy, from the app's sign-in page).
    other = user_factory(Role.WORKER)
    response = post_password(client, other.username, PASSWORD, ip="192.0.2.1")
    assert response.status_code == 429
    assert 'name="password"' in response.get_data(as_text=True)
    assert checks == [PASSWORD]


def test_a_forged_device_cookie_is_shed_at_the_door(
    app: Flask, client: FlaskClient, returning: Any, checks: list[str]
) -> None:
    user = returning
    genuine = client.get_cookie(devices.COOKIE_NAME, path="/login")
    assert genuine is not None
    client.set_cookie(devices.COOKIE_NAME, genuine.value[:-2] + "xx", path="/login")
    spend_the_budget(app)
    username = user.username
    assert client.post("/login", data={"username": "x", "password": WRONG}).status_code == 429
    with counting() as statements:
        response = client.post("/login", data={"username": username, "password": WRONG})
    assert response.status_code == 429
    assert statements == []
    assert checks == []


def test_a_recognised_sign_in_waits_for_a_colleague_s_check(
    app: Flask, client: FlaskClient, returning: Any, checks: list[str]
) -> None:
    user = returning
    spend_the_budget(app)  # a flood: only the recognised lane can admit anyone
    app.config.update(SIGNIN_RECOGNISED_SHARE=0.1, SIGNIN_RECOGNISED_BURST=2.0)
    budget = _budget("recognised")
    checking = threading.Event()

    def colleague_s_check() -> None:
        assert budget.try_acquire(share=0.1, burst=2.0)
        checking.set()
        time.sleep(0.3)
        budget.release(0.3)

    colleague = threading.Thread(target=colleague_s_check)
    colleague.start()
    assert checking.wait(5)
    response = post_password(client, user.username, PASSWORD, ip="192.0.2.1")
    colleague.join()
    assert response.status_code == 302  # waited for the slot, not told "busy"
    assert checks == [PASSWORD]


def test_the_recognised_lane_is_budgeted_too(
    app: Flask, client: FlaskClient, returning: Any, checks: list[str]
) -> None:
    user = returning
    app.config.update(SIGNIN_CHECK_SHARE=0.1, SIGNIN_RECOGNISED_SHARE=0.000001)
    budget = _budget("recognised")
    assert budget.try_acquire(share=0.000001, burst=2.0)
    budget.release(5.0)  # the lane is spent: no waiting, "busy" at once
    started = time.monotonic()
    response = post_password(client, user.username, PASSWORD, ip="192.0.2.1")
    assert response.status_code == 429
    assert time.monotonic() - started < SLOT_WAIT_SECONDS
    assert checks == []


def test_a_recognised_device_is_not_held_by_its_address(
    app: Flask, client: FlaskClient, returning: Any
) -> None:
    app.config["LOGIN_BACKOFF_AFTER"] = 2
    user = returning
    # A flood from inside the trust, behind the same address, for many names.
    for n in range(10):
        post_password(app.test_client(), f"nobody{n}", WRONG, ip="203.0.113.9")
    stranger = app.test_client()
    assert post_password(stranger, user.username, PASSWORD, ip="203.0.113.9").status_code == 429
    assert post_password(client, user.username, PASSWORD, ip="203.0.113.9").status_code == 302
    # The code step, from the same address, is not held either.
    response = client.post(
        "/login/mfa",
        data={"code": next_code(user), "csrf_token": csrf_token(client, "/login/mfa")},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 302
    assert not response.headers["Location"].endswith("/login")


def test_a_sign_in_too_big_to_drain_at_the_door_goes_to_the_app(
    app: Flask, client: FlaskClient
) -> None:
    spend_the_budget(app)
    assert client.post("/login", data={"username": "x", "password": WRONG}).status_code == 429
    response = client.post("/login", data={"username": "x", "password": "p" * 20_000})
    # Not the stored page: the app itself answered (and saved nothing).
    assert "Back to sign in" not in response.get_data(as_text=True)
    assert response.status_code < 500
    assert failures() == 0
