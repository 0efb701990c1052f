"""The administrator's pages through the test client: accounts, first sign-in, fresh sign-in
for role changes, disabling a live session, teams, settings, no clinical content, and the
worker's "entered in error" page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from caseload.db import utcnow
from caseload.domain.codes import ReflectiveTheme, Role
from caseload.extensions import db
from caseload.models import Episode, SettingValue, Team, User, UserSession
from caseload.services import users as user_service
from caseload.services.notes import write_note
from caseload.services.settings import SettingKind, setting_states
from caseload.web import STATIC_ENDPOINTS
from tests.conftest import PASSWORD, csrf_token, make_user, next_code, sign_in
from tests.web.helpers import (
    add_contact,
    audit_events,
    counting,
    error_messages,
    flash_after,
    make_case,
    page,
    reload,
    token,
)

NEW_PASSPHRASE = "quiet harbour lantern orchard"


@pytest.fixture
def admin(client: FlaskClient) -> User:
    """A signed-in administrator."""
    user = make_user(Role.ADMIN, username="the-admin")
    sign_in(client, user)
    return user


def create_account(client: FlaskClient, **fields: str) -> Any:
    data = {
        "username": "new.worker",
        "display_name": "Nina Worker",
        "role": "worker",
        "team_id": "",
        "csrf_token": token(client),
    } | fields
    return client.post("/admin/accounts/new", data=data)


def temporary_passphrase(html: str) -> str | None:
    match = re.search(r'id="temporary-passphrase-value">([^<]+)<', html)
    return match.group(1) if match else None


def user_named(username: str) -> User:
    db.session.commit()
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


# Accounts ------------------------------------------------------------------------------


def test_a_created_account_shows_its_temporary_passphrase_once(
    client: FlaskClient, admin: User
) -> None:
    make_user(Role.WORKER, username="someone", team="North team")
    north = db.session.scalar(select(Team).where(Team.name == "North team"))
    assert north is not None
    response = create_account(client, team_id=str(north.id))
    assert response.status_code == 302
    user = user_named("new.worker")
    assert response.headers["Location"] == f"/admin/accounts/{user.id}"
    shown = flash_after(client, response)
    passphrase = temporary_passphrase(shown)
    assert passphrase
    assert "Account created for Nina Worker." in shown
    assert user.must_change_password
    assert user.team_id == north.id
    # Once: the page does not show it again, and the audit trail never held it.
    again = page(client.get(f"/admin/accounts/{user.id}"))
    assert temporary_passphrase(again) is None
    assert "Temporary passphrase not yet changed" in again
    assert all(passphrase not in str(e.detail) for e in audit_events("user.create"))


def test_a_refused_account_shows_the_problems_and_saves_nothing(
    client: FlaskClient, admin: User
) -> None:
    response = create_account(client, username="the-admin", display_name=" ", role="lead")
    assert response.status_code == 200
    messages = error_messages(response)
    assert "Enter the person's name." in messages
    assert db.session.scalar(select(User).where(User.display_name == " ")) is None


def test_the_list_filters_and_ignores_values_that_are_not_options(
    client: FlaskClient, admin: User
) -> None:
    make_user(Role.WORKER, username="listed-worker")
    make_user(Role.LEAD, username="listed-lead")
    workers = page(client.get("/admin/accounts?role=worker"))
    assert "listed-worker" in workers
    assert "listed-lead" not in workers
    odd = client.get("/admin/accounts", query_string={"role": "boss", "team": "x", "status": "1"})
    assert odd.status_code == 200
    assert "Ignored a role and team and status filter" in page(odd)
    assert "listed-lead" in page(odd)


def test_the_new_user_changes_the_passphrase_then_enrols_the_authenticator(
    app: Flask, client: FlaskClient, admin: User
) -> None:
    passphrase = temporary_passphrase(flash_after(client, create_account(client)))
    assert passphrase
    newcomer = app.test_client()
    response = newcomer.post(
        "/login",
        data={
            "username": "new.worker",
            "password": passphrase,
            "csrf_token": csrf_token(newcomer),
        },
    )
    assert response.headers["Location"] == "/login/new-passphrase"
    # The code step waits until the passphrase is changed.
    assert newcomer.get("/login/mfa").headers["Location"] == "/login/new-passphrase"
    form_token = csrf_token(newcomer, "/login/new-passphrase")
    same = newcomer.post(
        "/login/new-passphrase",
        data={"password": passphrase, "confirmation": passphrase, "csrf_token": form_token},
    )
    assert same.status_code == 200
    assert "not the temporary one" in page(same)
    changed = newcomer.post(
        "/login/new-passphrase",
        data={"password": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE, "csrf_token": form_token},
    )
    assert changed.headers["Location"] == "/login/mfa"
    enrolment = page(newcomer.get("/login/mfa"))
    assert "Set up your authenticator" in enrolment
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrolment)
    assert secret
    response = newcomer.post(
        "/login/mfa",
        data={
            "code": pyotp.TOTP(secret.group(1)).now(),
            "csrf_token": csrf_token(newcomer, "/login/mfa"),
        },
    )
    assert response.status_code == 302
    assert newcomer.get("/caseload").status_code == 200
    user = user_named("new.worker")
    assert not user.must_change_password
    assert user.mfa_enrolled
    assert audit_events("user.password_change", actor=user)


# Role and team: a fresh sign-in --------------------------------------------------------


def test_a_role_change_needs_a_fresh_sign_in_and_comes_back(
    client: FlaskClient, admin: User
) -> None:
    worker = make_user(Role.WORKER, username="to-promote", team="North team")
    session = db.session.scalar(select(UserSession).where(UserSession.user_id == admin.id))
    assert session is not None
    session.authenticated_at = utcnow() - timedelta(minutes=6)
    db.session.commit()
    url = f"/admin/accounts/{worker.id}/role"
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login/confirm?next=/admin/accounts/{worker.id}/role"
    # A POST without a fresh sign-in is sent to confirm too, and changes nothing.
    posted = client.post(url, data={"role": "lead", "team_id": "", "csrf_token": token(client)})
    assert posted.headers["Location"].startswith("/login/confirm")
    assert reload(worker).role is Role.WORKER

    confirm_token = csrf_token(client, "/login/confirm")
    wrong = client.post(
        f"/login/confirm?next={url}",
        data={"password": PASSWORD + "x", "code": next_code(admin), "csrf_token": confirm_token},
    )
    assert wrong.status_code == 200
    assert audit_events("login.failure")
    right = client.post(
        f"/login/confirm?next={url}",
        data={"password": PASSWORD, "code": next_code(admin), "csrf_token": confirm_token},
    )
    assert right.headers["Location"] == url
    assert client.get(url).status_code == 200
    saved = client.post(url, data={"role": "lead", "team_id": "", "csrf_token": token(client)})
    assert saved.headers["Location"] == f"/admin/accounts/{worker.id}"
    assert reload(worker).role is Role.LEAD
    (changed,) = audit_events("user.role_team", object_id=worker.id)
    assert changed.detail["old"] == {"role": "worker", "team": "North team"}
    assert changed.detail["new"] == {"role": "lead", "team": None}
    assert audit_events("login.confirm", actor=admin)


def test_an_administrator_cannot_change_their_own_role_or_disable_themselves(
    client: FlaskClient, admin: User
) -> None:
    own = page(client.get(f"/admin/accounts/{admin.id}"))
    assert "This is your own account" in own
    assert "Disable account" not in own
    response = client.get(f"/admin/accounts/{admin.id}/role")
    assert "You cannot change your own role" in flash_after(client, response)
    response = client.post(
        f"/admin/accounts/{admin.id}/disable", data={"csrf_token": token(client)}
    )
    assert "You cannot disable your own account" in flash_after(client, response)
    assert reload(admin).active


# Disabling ------------------------------------------------------------------------------


def test_a_disabled_users_live_session_is_refused_on_its_next_request(
    app: Flask, client: FlaskClient, admin: User
) -> None:
    worker = make_user(Role.WORKER, username="leaver", team="North team")
    episode = make_case(worker, name="Leaver Client")
    browser = app.test_client()
    sign_in(browser, worker)
    assert browser.get("/caseload").status_code == 200

    response = client.post(
        f"/admin/accounts/{worker.id}/disable", data={"csrf_token": token(client)}
    )
    shown = flash_after(client, response)
    assert "Account disabled" in shown
    assert "Open cases to reassign" in shown
    assert episode.client.service_ref in shown
    assert "Leaver Client" not in shown

    refused = browser.get("/caseload")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/login")
    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == worker.id))
    assert {s.end_reason for s in sessions} == {"disabled"}

    enabled = client.post(f"/admin/accounts/{worker.id}/enable", data={"csrf_token": token(client)})
    assert "Account enabled." in flash_after(client, enabled)
    assert reload(worker).active


def test_resetting_the_authenticator_sends_the_user_to_enrol_again(
    app: Flask, client: FlaskClient, admin: User
) -> None:
    worker = make_user(Role.WORKER, username="new-phone")
    response = client.post(
        f"/admin/accounts/{worker.id}/reset-mfa", data={"csrf_token": token(client)}
    )
    assert "Authenticator reset" in flash_after(client, response)
    browser = app.test_client()
    browser.post(
        "/login",
        data={"username": "new-phone", "password": PASSWORD, "csrf_token": csrf_token(browser)},
    )
    assert "Set up your authenticator" in page(browser.get("/login/mfa"))


def test_a_new_temporary_passphrase_is_shown_once(client: FlaskClient, admin: User) -> None:
    worker = make_user(Role.WORKER, username="forgetful")
    response = client.post(
        f"/admin/accounts/{worker.id}/reset-passphrase", data={"csrf_token": token(client)}
    )
    assert temporary_passphrase(flash_after(client, response))
    assert reload(worker).must_change_password


# Teams -------------------------------------------------------------------------------


def test_teams_are_built_through_their_pages(client: FlaskClient, admin: User) -> None:
    supervisor = make_user(Role.SUPERVISOR, username="east-sup", team=None)
    worker = make_user(Role.WORKER, username="east-worker", team=None)
    response = client.post(
        "/admin/teams/new",
        data={
            "name": "East team",
            "supervisor_id": str(supervisor.id),
            "csrf_token": token(client),
        },
    )
    team = db.session.scalar(select(Team).where(Team.name == "East team"))
    assert team is not None
    assert response.headers["Location"] == f"/admin/teams/{team.id}"
    added = client.post(
        f"/admin/teams/{team.id}/workers",
        data={"worker_id": str(worker.id), "csrf_token": token(client)},
    )
    assert "Practitioner added" in flash_after(client, added)
    assert reload(worker).team_id == team.id
    clash = client.post(
        f"/admin/teams/{team.id}/rename", data={"name": "", "csrf_token": token(client)}
    )
    assert clash.status_code == 200
    assert "Enter a team name." in error_messages(clash)
    renamed = client.post(
        f"/admin/teams/{team.id}/rename", data={"name": "East Coast", "csrf_token": token(client)}
    )
    assert "Team renamed." in flash_after(client, renamed)
    make_case(worker, name="East Client")
    removed = client.post(
        f"/admin/teams/{team.id}/workers/{worker.id}/remove", data={"csrf_token": token(client)}
    )
    assert removed.status_code == 200
    assert "holds 1 open case" in page(removed)
    listing = page(client.get("/admin/teams"))
    assert "East Coast" in listing
    assert "Test Supervisor" in listing


# Settings ----------------------------------------------------------------------------


def settings_data(client: FlaskClient, **changes: str) -> dict[str, str]:
    data = {
        s.definition.key: (
            ("yes" if s.value else "no")
            if s.definition.kind is SettingKind.YES_NO
            else str(s.value)
        )
        for s in setting_states()
    }
    return data | changes | {"csrf_token": token(client)}


def test_settings_show_their_default_and_source_and_refuse_bad_input(
    client: FlaskClient, admin: User
) -> None:
    shown = page(client.get("/admin/settings"))
    assert "Default: 45 cases. In force: 45 cases (default)." in shown
    bad = client.post(
        "/admin/settings", data=settings_data(client, caseload_cap="500", dna_run="3")
    )
    assert bad.status_code == 200
    assert "Caseload cap must be between 10 and 100." in error_messages(bad)
    assert db.session.scalar(select(SettingValue)) is None
    good = client.post("/admin/settings", data=settings_data(client, caseload_cap="40"))
    assert "1 setting saved." in flash_after(client, good)
    shown = page(client.get("/admin/settings"))
    assert re.search(r"In force: 40 cases \(set by Test Administrator on \d", shown)
    (changed,) = audit_events("settings.change", actor=admin)
    assert changed.detail == {"changes": {"caseload_cap": {"old": 45, "new": 40}}}


# No clinical content -------------------------------------------------------------------


@pytest.fixture
def clinical_world() -> dict[str, Any]:
    """A worker with cases, notes and free text, then disabled; their supervisor."""
    worker = make_user(Role.WORKER, username="clinical-worker", team="North team")
    make_user(Role.SUPERVISOR, username="clinical-sup", team="North team")
    episode = make_case(worker, name="Zebedee Quartermaine")
    add_contact(worker, episode, note="Talked about the allotment and sleep.")
    write_note(
        worker,
        text="A heavy week with Zebedee.",
        themes=[ReflectiveTheme.EMOTIONAL_IMPACT],
        episode_id=episode.id,
        manageability=2,
    )
    db.session.commit()
    return {"worker": worker, "episode": episode}


def admin_get_pages(app: Flask, world: dict[str, Any]) -> list[str]:
    """Every GET page of the admin area except the audit viewer (the one page that names
    clients, by service reference), with its arguments filled from the world."""
    worker: User = world["worker"]
    values = {"user_id": worker.id, "team_id": worker.team_id}
    adapter = app.url_map.bind("localhost")
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in STATIC_ENDPOINTS or not rule.endpoint.startswith("admin."):
            continue
        if "GET" not in (rule.methods or set()) or rule.endpoint.startswith("admin.audit"):
            continue
        paths.append(adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments}))
    return paths


def test_the_admin_pages_show_no_clinical_content(
    app: Flask, client: FlaskClient, admin: User, clinical_world: dict[str, Any]
) -> None:
    worker: User = clinical_world["worker"]
    episode: Episode = clinical_world["episode"]
    user_service.disable_account(admin, worker.id)
    db.session.commit()
    paths = admin_get_pages(app, clinical_world)
    assert len(paths) >= 7, paths
    forbidden = [
        "Zebedee",
        "Quartermaine",
        "allotment",
        "heavy week",
        "Depression",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        text = page(response)
        assert not [word for word in forbidden if word in text], path
    account = page(client.get(f"/admin/accounts/{worker.id}"))
    assert episode.client.service_ref in account


# Query budget ------------------------------------------------------------------------


def test_the_account_and_team_lists_do_not_grow_with_the_accounts(
    client: FlaskClient, admin: User
) -> None:
    def measure() -> dict[str, int]:
        found = {}
        for path in ("/admin/accounts", "/admin/teams"):
            with counting() as statements:
                assert client.get(path).status_code == 200
            found[path] = len(statements)
        return found

    for number in range(2):
        make_user(Role.WORKER, username=f"few-{number}", team=f"Team {number}")
        make_user(Role.SUPERVISOR, username=f"few-sup-{number}", team=f"Team {number}")
    client.get("/admin/accounts")  # warm the settings cache
    few = measure()
    for number in range(12):
        make_user(Role.WORKER, username=f"many-{number}", team=f"Team {number}")
        if number >= 2:
            make_user(Role.SUPERVISOR, username=f"many-sup-{number}", team=f"Team {number}")
    assert measure() == few
    # The session and its user, the settings revision, the page's own queries (accounts,
    # teams, count; teams, supervisors, members), BEGIN and COMMIT.
    assert few["/admin/accounts"] <= 10, few
    assert few["/admin/teams"] <= 10, few


# Entered in error (the worker's page) ------------------------------------------------------


def test_a_worker_marks_an_episode_entered_in_error(app: Flask, client: FlaskClient) -> None:
    worker = make_user(Role.WORKER, username="careful-worker")
    sign_in(client, worker)
    wrong = make_case(worker, name="Mistaken Person")
    kept = make_case(worker, name="Right Person")
    url = f"/episodes/{wrong.id}/entered-in-error"
    form = client.get(url)
    assert form.status_code == 200
    assert "Mistaken Person" in page(form)
    assert f"/episodes/{wrong.id}/entered-in-error" in page(client.get(f"/episodes/{wrong.id}"))
    refused = client.post(
        url,
        data={
            "scope": "episode",
            "reason": " ",
            "version": str(wrong.version),
            "csrf_token": token(client),
        },
    )
    assert refused.status_code == 200
    assert reload(wrong).entered_in_error_at is None
    response = client.post(
        url,
        data={
            "scope": "client",
            "reason": "Registered twice.",
            "version": str(wrong.version),
            "csrf_token": token(client),
        },
    )
    assert response.headers["Location"] == "/caseload"
    caseload = flash_after(client, response)
    assert "marked as entered in error" in caseload
    assert "Mistaken Person" not in caseload.split("marked as entered in error")[1]
    assert "Right Person" in caseload
    assert client.get(f"/episodes/{wrong.id}").status_code == 404
    assert client.get(f"/episodes/{kept.id}").status_code == 200
    assert reload(wrong).client.entered_in_error_at is not None
    assert audit_events("client.entered_in_error", actor=worker)
