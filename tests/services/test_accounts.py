"""Accounts and teams run by an administrator (caseload.services.users): each action, its
rules and its audit event with old and new values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Episode, Team, User, UserSession
from caseload.policy import visible_episodes
from caseload.services import NotVisible, ServiceError, auth
from caseload.services import users as user_service
from caseload.services.passwords import passphrase_problems, verify_password
from tests.conftest import PASSWORD
from tests.services.factories import register


def fresh(user: User, *, minutes_ago: int = 0) -> UserSession:
    """A server-side session for the user, as after signing in ``minutes_ago``."""
    session = auth.start_session(user)
    session.authenticated_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.flush()
    user.auth_session_id = session.id
    return session


@pytest.fixture
def admin(user_factory: Any) -> User:
    """An administrator, freshly signed in."""
    user = user_factory(Role.ADMIN, username="the-admin")
    fresh(user)
    return user


def events(action: str) -> list[AuditEvent]:
    """The events of an action an administrator recorded, oldest first (the fixtures'
    own accounts are made by nobody)."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.actor_id.is_not(None))
            .order_by(AuditEvent.id)
        )
    )


def team_named(name: str) -> Team:
    team = db.session.scalar(select(Team).where(Team.name == name))
    assert team is not None
    return team


# Creating accounts ------------------------------------------------------------------


def test_a_new_account_has_a_temporary_passphrase_to_change_and_no_authenticator(
    admin: User, user_factory: Any
) -> None:
    user_factory(Role.WORKER, team="North team")
    north = team_named("North team")
    created = user_service.create_account(
        admin,
        username=" A.Khan ",
        display_name="  Aziz   Khan ",
        role=Role.WORKER,
        team_id=north.id,
    )
    user = created.user
    assert user.username == "a.khan"
    assert user.display_name == "Aziz Khan"
    assert user.team is north
    assert user.must_change_password is True
    assert user.totp_secret is None
    assert not user.mfa_enrolled
    assert verify_password(user.password_hash, created.temporary_passphrase)
    assert passphrase_problems(created.temporary_passphrase, username=user.username) == []
    (event,) = events("user.create")
    assert event.actor_id == admin.id
    assert event.object_id == str(user.id)
    assert event.detail == {
        "username": "a.khan",
        "display_name": "Aziz Khan",
        "role": "worker",
        "team": "North team",
    }
    assert created.temporary_passphrase not in str(event.detail)


def test_temporary_passphrases_differ_and_are_long(admin: User) -> None:
    made = {user_service.temporary_passphrase() for _ in range(50)}
    assert len(made) == 50
    assert all(len(p) >= 15 for p in made)


def test_a_new_supervisor_supervises_the_team_chosen(admin: User) -> None:
    team = user_service.create_team(admin, name="East team")
    created = user_service.create_account(
        admin,
        username="east-sup",
        display_name="Eve Supervisor",
        role=Role.SUPERVISOR,
        team_id=team.id,
    )
    assert team.supervisor is created.user
    assert created.user.team_id is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "x"}, "username"),
        ({"username": "bad name!"}, "username"),
        ({"username": "the-admin"}, "username"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 121}, "display_name"),
        ({"role": Role.LEAD, "team_id": "team"}, "team_id"),
        ({"team_id": 999_999}, "team_id"),
    ],
)
def test_a_refused_account_is_not_created(
    admin: User, overrides: dict[str, Any], field: str
) -> None:
    team = user_service.create_team(admin, name="West team")
    values: dict[str, Any] = {
        "username": "new.person",
        "display_name": "New Person",
        "role": Role.WORKER,
        "team_id": None,
    } | overrides
    if values["team_id"] == "team":
        values["team_id"] = team.id
    before = db.session.scalar(select(func.count(User.id)))
    with pytest.raises(ServiceError) as refused:
        user_service.create_account(admin, **values)
    assert field in refused.value.field_errors
    assert db.session.scalar(select(func.count(User.id))) == before
    assert events("user.create") == []


def test_a_team_with_an_active_supervisor_is_not_given_a_second(
    admin: User, user_factory: Any
) -> None:
    user_factory(Role.SUPERVISOR, username="north-sup", team="North team")
    with pytest.raises(ServiceError, match="supervised by") as refused:
        user_service.create_account(
            admin,
            username="second-sup",
            display_name="Second Supervisor",
            role=Role.SUPERVISOR,
            team_id=team_named("North team").id,
        )
    assert "team_id" in refused.value.field_errors


def test_only_an_administrator_manages_accounts(user_factory: Any) -> None:
    lead = user_factory(Role.LEAD)
    with pytest.raises(PermissionError):
        user_service.create_account(
            lead, username="sneaky", display_name="Sneaky", role=Role.ADMIN, team_id=None
        )
    with pytest.raises(PermissionError):
        user_service.list_accounts(lead)


# The list --------------------------------------------------------------------------


def test_the_list_filters_by_role_team_and_status(admin: User, user_factory: Any) -> None:
    user_factory(Role.WORKER, username="n-worker", team="North team")
    user_factory(Role.SUPERVISOR, username="n-sup", team="North team")
    south_worker = user_factory(Role.WORKER, username="s-worker", team="South team")
    user_factory(Role.LEAD, username="a-lead")
    user_service.disable_account(admin, south_worker.id)
    north = team_named("North team")

    def names(**filters: Any) -> set[str]:
        listing = user_service.list_accounts(admin, **filters)
        assert listing.total == 5
        return {row.user.username for row in listing.rows}

    assert names() == {"n-worker", "n-sup", "s-worker", "a-lead", "the-admin"}
    assert names(role=Role.WORKER) == {"n-worker", "s-worker"}
    assert names(team_id=north.id) == {"n-worker", "n-sup"}
    assert names(active=False) == {"s-worker"}
    assert names(role=Role.WORKER, active=True) == {"n-worker"}
    rows = {row.user.username: row.teams for row in user_service.list_accounts(admin).rows}
    assert rows["n-sup"] == ("North team",)
    assert rows["n-worker"] == ("North team",)
    assert rows["a-lead"] == ()


# Role and team ------------------------------------------------------------------------


def test_role_and_team_change_needs_a_sign_in_within_five_minutes(
    admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER, team="North team")
    south = user_service.create_team(admin, name="South team")
    session = db.session.get(UserSession, admin.auth_session_id)
    assert session is not None
    session.authenticated_at = utcnow() - timedelta(minutes=6)
    with pytest.raises(ServiceError, match="Confirm your passphrase"):
        user_service.change_role_and_team(admin, worker.id, role=Role.WORKER, team_id=south.id)
    assert worker.team.name == "North team"
    assert not auth.signed_in_recently(admin)
    session.authenticated_at = utcnow() - timedelta(minutes=4)
    assert auth.signed_in_recently(admin)
    assert user_service.change_role_and_team(admin, worker.id, role=Role.WORKER, team_id=south.id)
    assert worker.team is south


def test_a_user_without_a_session_is_never_freshly_signed_in(user_factory: Any) -> None:
    admin = user_factory(Role.ADMIN)
    assert not auth.signed_in_recently(admin)


def test_an_administrator_cannot_change_their_own_role_or_disable_themselves(
    admin: User,
) -> None:
    with pytest.raises(ServiceError, match="your own account"):
        user_service.change_role_and_team(admin, admin.id, role=Role.LEAD, team_id=None)
    with pytest.raises(ServiceError, match="your own account"):
        user_service.disable_account(admin, admin.id)
    with pytest.raises(ServiceError, match="your own account"):
        user_service.reset_passphrase(admin, admin.id)
    assert admin.role is Role.ADMIN
    assert admin.active
    assert events("user.role_team") == events("user.disable") == []


def test_a_role_change_is_audited_with_old_and_new_values(admin: User, user_factory: Any) -> None:
    supervisor = user_factory(Role.SUPERVISOR, username="old-sup", team="North team")
    north = team_named("North team")
    assert user_service.change_role_and_team(admin, supervisor.id, role=Role.LEAD, team_id=None)
    assert supervisor.role is Role.LEAD
    assert north.supervisor_id is None
    (event,) = events("user.role_team")
    assert event.detail == {
        "old": {"role": "supervisor", "team": "North team"},
        "new": {"role": "lead", "team": None},
        "teams_left_unsupervised": ["North team"],
    }
    # Saving the same again changes nothing and writes nothing.
    assert not user_service.change_role_and_team(admin, supervisor.id, role=Role.LEAD, team_id=None)
    assert len(events("user.role_team")) == 1


def test_a_worker_holding_open_cases_keeps_the_role_and_a_team(
    admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER, team="North team")
    register(worker)
    with pytest.raises(ServiceError, match="holds 1 open case"):
        user_service.change_role_and_team(admin, worker.id, role=Role.SUPERVISOR, team_id=None)
    with pytest.raises(ServiceError, match="holds 1 open case"):
        user_service.change_role_and_team(admin, worker.id, role=Role.WORKER, team_id=None)
    assert worker.role is Role.WORKER
    assert worker.team is not None


def test_a_worker_moved_to_another_team_takes_their_cases_to_its_supervisor(
    admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER, team="North team")
    north_sup = user_factory(Role.SUPERVISOR, team="North team")
    south_sup = user_factory(Role.SUPERVISOR, team="South team")
    episode = register(worker)
    user_service.change_role_and_team(
        admin, worker.id, role=Role.WORKER, team_id=team_named("South team").id
    )
    db.session.flush()

    def sees(supervisor: User) -> bool:
        found = db.session.scalar(
            select(Episode.id).where(Episode.id == episode.id, visible_episodes(supervisor))
        )
        return found is not None

    assert sees(south_sup)
    assert not sees(north_sup)


# Disable, enable, reset -----------------------------------------------------------------


def test_disabling_ends_every_session_and_lists_the_open_cases(
    admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER, team="North team")
    first, second = register(worker), register(worker)
    session = fresh(worker)
    held = user_service.disable_account(admin, worker.id)
    assert not worker.active
    assert session.ended_at is not None
    assert session.end_reason == "disabled"
    assert held.count == 2
    assert set(held.service_refs) == {first.client.service_ref, second.client.service_ref}
    assert auth.check_password(worker.username, PASSWORD) is None
    (event,) = events("user.disable")
    assert event.detail == {"old": {"active": True}, "new": {"active": False}, "open_cases": 2}

    detail = user_service.account_detail(admin, worker.id)
    assert detail.open_cases.service_refs == held.service_refs
    (seen,) = events("user.open_cases")
    ids = set(
        db.session.scalars(
            select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == seen.id)
        )
    )
    assert ids == {first.client_id, second.client_id}

    user_service.enable_account(admin, worker.id)
    assert worker.active
    assert auth.check_password(worker.username, PASSWORD) is worker
    (enabled,) = events("user.enable")
    assert enabled.detail == {"old": {"active": False}, "new": {"active": True}}


def test_an_active_account_page_names_no_client(admin: User, user_factory: Any) -> None:
    worker = user_factory(Role.WORKER, team="North team")
    register(worker)
    detail = user_service.account_detail(admin, worker.id)
    assert detail.open_cases.count == 1
    assert events("user.open_cases") == []


def test_resetting_the_authenticator_makes_the_user_enrol_again(
    admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER)
    session = fresh(worker)
    worker.totp_last_step = 123
    user_service.reset_mfa(admin, worker.id)
    assert worker.totp_secret is None
    assert worker.totp_confirmed_at is None
    assert worker.totp_last_step is None
    assert session.end_reason == "mfa reset"
    (event,) = events("user.mfa_reset")
    assert event.detail == {"old": {"enrolled": True}, "new": {"enrolled": False}}


def test_a_new_temporary_passphrase_must_be_changed_at_the_next_sign_in(
    admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER)
    session = fresh(worker)
    issued = user_service.reset_passphrase(admin, worker.id)
    assert worker.must_change_password
    assert verify_password(worker.password_hash, issued.temporary_passphrase)
    assert not verify_password(worker.password_hash, PASSWORD)
    assert session.end_reason == "passphrase reset"
    assert len(events("user.passphrase_reset")) == 1


def test_an_unknown_account_is_not_visible(admin: User) -> None:
    with pytest.raises(NotVisible):
        user_service.disable_account(admin, 999_999)


# The first sign-in's new passphrase --------------------------------------------------


def test_the_new_passphrase_must_be_good_and_not_the_temporary_one(admin: User) -> None:
    created = user_service.create_account(
        admin, username="first.timer", display_name="First Timer", role=Role.LEAD, team_id=None
    )
    user = created.user
    temporary = created.temporary_passphrase
    for password, confirmation, field in [
        ("short", "short", "password"),
        (temporary, temporary, "password"),
        (PASSWORD, PASSWORD + " again", "confirmation"),
    ]:
        with pytest.raises(ServiceError) as refused:
            auth.set_new_passphrase(user, password=password, confirmation=confirmation)
        assert field in refused.value.field_errors
        assert user.must_change_password
    auth.set_new_passphrase(user, password=PASSWORD, confirmation=PASSWORD)
    assert not user.must_change_password
    assert verify_password(user.password_hash, PASSWORD)
    (event,) = events("user.password_change")
    assert event.actor_id == user.id


# Teams -------------------------------------------------------------------------------


def test_teams_are_created_renamed_and_given_a_supervisor(admin: User, user_factory: Any) -> None:
    supervisor = user_factory(Role.SUPERVISOR, username="sup-a", team=None)
    worker = user_factory(Role.WORKER, username="worker-a", team=None)
    team = user_service.create_team(admin, name="  East   team ", supervisor_id=supervisor.id)
    assert team.name == "East team"
    assert team.supervisor is supervisor
    with pytest.raises(ServiceError, match="already a team"):
        user_service.create_team(admin, name="EAST TEAM")
    with pytest.raises(ServiceError) as refused:
        user_service.assign_supervisor(admin, team.id, supervisor_id=worker.id)
    assert "supervisor_id" in refused.value.field_errors

    user_service.rename_team(admin, team.id, name="East Coast team")
    user_service.assign_supervisor(admin, team.id, supervisor_id=None)
    assert team.name == "East Coast team"
    assert team.supervisor is None
    assert [e.detail for e in events("team.rename")] == [
        {"old": {"name": "East team"}, "new": {"name": "East Coast team"}}
    ]
    assert [e.detail for e in events("team.supervisor")] == [
        {"old": {"supervisor": "sup-a"}, "new": {"supervisor": None}}
    ]
    assert events("team.create")[0].detail == {"name": "East team", "supervisor": "sup-a"}
    rows = user_service.list_teams(admin)
    assert [row.team.name for row in rows] == ["East Coast team"]


def test_workers_join_move_and_leave_teams(admin: User, user_factory: Any) -> None:
    worker = user_factory(Role.WORKER, username="mover", team="North team")
    south = user_service.create_team(admin, name="South team")
    assert worker in user_service.workers_outside(south)
    user_service.add_worker(admin, south.id, worker_id=worker.id)
    assert worker.team is south
    assert worker not in user_service.workers_outside(south)
    (added,) = events("team.add_worker")
    assert added.detail == {
        "worker": "mover",
        "old": {"team": "North team"},
        "new": {"team": "South team"},
    }
    episode = register(worker)
    with pytest.raises(ServiceError, match="holds 1 open case"):
        user_service.remove_worker(admin, south.id, worker_id=worker.id)
    assert worker.team is south
    episode.worker_id = user_factory(Role.WORKER, team="South team").id
    db.session.flush()
    user_service.remove_worker(admin, south.id, worker_id=worker.id)
    assert worker.team is None
    assert events("team.remove_worker")[0].detail["new"] == {"team": None}


def test_only_practitioners_join_a_team(admin: User, user_factory: Any) -> None:
    lead = user_factory(Role.LEAD)
    team = user_service.create_team(admin, name="Any team")
    with pytest.raises(ServiceError) as refused:
        user_service.add_worker(admin, team.id, worker_id=lead.id)
    assert "worker_id" in refused.value.field_errors
    with pytest.raises(NotVisible):
        user_service.rename_team(admin, 999_999, name="Ghost team")


def test_a_passphrase_longer_than_zxcvbn_reads_is_judged_not_crashed(admin: User) -> None:
    # zxcvbn refuses input over 72 characters; the rule judges the first 72.
    assert passphrase_problems("0" * 73)
    long_and_good = "quiet harbour lantern orchard " * 3
    assert len(long_and_good) > 72
    assert passphrase_problems(long_and_good) == []
