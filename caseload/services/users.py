"""Creating and managing staff accounts and teams."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import Team, User
from caseload.services import ServiceError
from caseload.services.audit import record_event
from caseload.services.auth import end_all_sessions, normalise_username
from caseload.services.passwords import hash_password, passphrase_problems

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


def get_or_create_team(name: str, *, supervisor: User | None = None) -> Team:
    """The team with this name, created if new; a supervisor given is set on it."""
    name = name.strip()
    if not name:
        raise ServiceError("Enter a team name.", field_errors={"team": "Enter a team name."})
    team = db.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
    if team is None:
        team = Team(name=name)
        db.session.add(team)
    if supervisor is not None:
        if supervisor.role is not Role.SUPERVISOR:
            raise ServiceError("Only a supervisor can lead a team.")
        team.supervisor = supervisor
    return team


def create_user(
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    team_name: str | None = None,
    is_demo: bool = False,
    actor: User | None = None,
) -> User:
    """Create an account after checking the username and passphrase rules."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise ServiceError(
            "Usernames are 2 to 63 characters: letters, digits, dots, dashes and underscores.",
            field_errors={"username": "Enter a valid username."},
        )
    if db.session.scalar(select(User.id).where(User.username == name)) is not None:
        raise ServiceError(
            f"The username {name} is taken.", field_errors={"username": "Username taken."}
        )
    display = (display_name or name).strip()
    problems = passphrase_problems(password, username=name, display_name=display)
    if problems:
        raise ServiceError(problems[0], field_errors={"password": problems[0]})
    user = User(
        username=name,
        display_name=display,
        role=role,
        active=True,
        is_demo=is_demo,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    if team_name:
        team = get_or_create_team(team_name, supervisor=user if role is Role.SUPERVISOR else None)
        if role is Role.WORKER:
            user.team = team
    db.session.flush()
    record_event(
        "user.create",
        actor=actor,
        object_type="user",
        object_id=user.id,
        detail={"username": name, "role": role.value},
    )
    return user


def set_active(user: User, *, active: bool, actor: User | None = None) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    user.active = active
    if not active:
        end_all_sessions(user, reason="disabled")
    record_event(
        "user.enable" if active else "user.disable",
        actor=actor,
        object_type="user",
        object_id=user.id,
    )


def count_non_demo_users() -> int:
    """How many real (non-demo) accounts the database holds."""
    return db.session.scalar(select(func.count(User.id)).where(User.is_demo.is_(False))) or 0


def count_demo_users() -> int:
    """How many demo accounts the database holds."""
    return db.session.scalar(select(func.count(User.id)).where(User.is_demo.is_(True))) or 0
