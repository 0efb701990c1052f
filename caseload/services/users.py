"""Creating and managing staff accounts and teams (the administrator's pages).

Every function taking an ``asker`` is for an administrator (the routes' ADMIN policy,
checked again here), changes what it must, audits it with the old and new values,
and flushes; the request commits. None of them reads clinical content: a disabled
worker's open cases are given as a count and service references only, for their
supervisor to reassign (docs/admin-guide.md).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from caseload.domain.codes import Role
from caseload.domain.wording import plural
from caseload.extensions import db
from caseload.models import Client, Episode, Team, User, UserSession
from caseload.policy import episodes_in_force
from caseload.services import NotVisible, ServiceError
from caseload.services.audit import record_event
from caseload.services.auth import (
    end_all_sessions,
    normalise_username,
    signed_in_recently,
)
from caseload.services.passwords import hash_password, passphrase_problems

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
DISPLAY_NAME_MAX = 120
TEAM_NAME_MAX = 80


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
    name = _free_username(username)
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


def _free_username(username: str) -> str:
    """A valid username that no account has yet, normalised; ServiceError otherwise."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise ServiceError(
            "Usernames are 2 to 63 characters: lower-case letters, digits, dots, dashes "
            "and underscores, starting with a letter or digit.",
            field_errors={"username": "Enter a valid username."},
        )
    if db.session.scalar(select(User.id).where(User.username == name)) is not None:
        raise ServiceError(
            f"The username {name} is taken.", field_errors={"username": "Username taken."}
        )
    return name


# Who may run these, and the records they name ------------------------------------------


def _require_admin(asker: User) -> None:
    """Only an administrator manages accounts (the routes say so too)."""
    if asker.role is not Role.ADMIN:
        raise PermissionError("only an administrator manages accounts and teams")


def get_account(asker: User, user_id: int) -> User:
    """The account with this id (its team loaded), or NotVisible."""
    _require_admin(asker)
    user = db.session.scalar(
        select(User).options(selectinload(User.team)).where(User.id == user_id)
    )
    if user is None:
        raise NotVisible(user_id)
    return user


def get_team(asker: User, team_id: int) -> Team:
    """The team with this id (its supervisor and members loaded), or NotVisible."""
    _require_admin(asker)
    team = db.session.scalar(
        select(Team)
        .options(selectinload(Team.supervisor), selectinload(Team.members))
        .where(Team.id == team_id)
    )
    if team is None:
        raise NotVisible(team_id)
    return team


def _team_or_error(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = db.session.get(Team, team_id)
    if team is None:
        raise ServiceError("Choose one of the teams.", field_errors={"team_id": "Choose a team."})
    return team


# The list of accounts ------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRow:
    """One account in the list: the user, and the teams they belong to or supervise."""

    user: User
    teams: tuple[str, ...]


@dataclass(frozen=True)
class AccountList:
    """The accounts matching the filters, by display name, and the filters applied."""

    rows: list[AccountRow]
    total: int
    teams: list[Team]
    role: Role | None
    team_id: int | None
    active: bool | None


def list_accounts(
    asker: User,
    *,
    role: Role | None = None,
    team_id: int | None = None,
    active: bool | None = None,
) -> AccountList:
    """Every account, filtered by role, team (its workers and its supervisor) and whether
    it is active. Four queries, however many accounts."""
    _require_admin(asker)
    query = select(User).options(selectinload(User.team)).order_by(User.display_name, User.id)
    if role is not None:
        query = query.where(User.role == role)
    if team_id is not None:
        supervisor = select(Team.supervisor_id).where(Team.id == team_id).scalar_subquery()
        query = query.where(or_(User.team_id == team_id, User.id == supervisor))
    if active is not None:
        query = query.where(User.active.is_(active))
    users = list(db.session.scalars(query))
    teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    supervised = _supervised_team_names(teams)
    total = db.session.scalar(select(func.count(User.id))) or 0
    rows = [AccountRow(user=u, teams=_team_names(u, supervised)) for u in users]
    return AccountList(
        rows=rows, total=total, teams=teams, role=role, team_id=team_id, active=active
    )


def _supervised_team_names(teams: Iterable[Team]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for team in teams:
        if team.supervisor_id is not None:
            found.setdefault(team.supervisor_id, []).append(team.name)
    return found


def _team_names(user: User, supervised: dict[int, list[str]]) -> tuple[str, ...]:
    """A worker's team, or the teams a supervisor supervises."""
    if user.role is Role.SUPERVISOR:
        return tuple(sorted(supervised.get(user.id, [])))
    return (user.team.name,) if user.team is not None else ()


# One account ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCases:
    """A worker's open cases, as an administrator may see them: how many, and the
    clients' service references (no name, no clinical content)."""

    count: int
    service_refs: tuple[str, ...]


@dataclass(frozen=True)
class AccountDetail:
    """One account as the administrator's page shows it."""

    user: User
    teams: tuple[str, ...]
    last_sign_in: datetime | None
    #: The open cases the account still holds (workers; empty for other roles).
    open_cases: OpenCases


def open_cases_of(worker: User) -> OpenCases:
    """The open episodes a worker holds, as a count and service references.

    Not a visibility rule (nobody is shown a case here): the administrator learns only
    which references a supervisor must reassign when the worker leaves.
    """
    refs = db.session.scalars(
        select(Client.service_ref)
        .join(Episode, Episode.client_id == Client.id)
        .where(
            Episode.worker_id == worker.id,
            Episode.discharged_on.is_(None),
            episodes_in_force(),
        )
        .order_by(Client.service_ref)
    ).all()
    return OpenCases(count=len(refs), service_refs=tuple(refs))


def account_detail(asker: User, user_id: int) -> AccountDetail:
    """An account with its teams, last sign-in and open cases. When the page shows the
    service references of a disabled worker's open cases, the read is audited with those
    clients."""
    user = get_account(asker, user_id)
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    last_sign_in = db.session.scalar(
        select(func.max(UserSession.created_at)).where(UserSession.user_id == user.id)
    )
    open_cases = open_cases_of(user) if user.role is Role.WORKER else OpenCases(0, ())
    if not user.active and open_cases.count:
        client_ids = db.session.scalars(
            select(Episode.client_id).where(
                Episode.worker_id == user.id,
                Episode.discharged_on.is_(None),
                episodes_in_force(),
            )
        ).all()
        record_event(
            "user.open_cases",
            actor=asker,
            object_type="user",
            object_id=user.id,
            client_ids=client_ids,
            detail={"open_cases": open_cases.count},
        )
    return AccountDetail(
        user=user,
        teams=_team_names(user, _supervised_team_names(teams)),
        last_sign_in=last_sign_in,
        open_cases=open_cases,
    )


# Creating an account ----------------------------------------------------------------------

#: Letters and digits nobody misreads (no 0/o, 1/l/i): the temporary passphrase is read
#: off a screen and typed once.
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TEMPORARY_GROUPS = 4
TEMPORARY_GROUP_LENGTH = 5


def temporary_passphrase() -> str:
    """A random passphrase of four groups of five (about 99 bits), e.g. ``k7mqz-...``."""
    return "-".join(
        "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP_LENGTH))
        for _ in range(TEMPORARY_GROUPS)
    )


@dataclass(frozen=True)
class NewAccount:
    """An account just created, and its temporary passphrase, shown once."""

    user: User
    temporary_passphrase: str


def create_account(
    asker: User, *, username: str, display_name: str, role: Role, team_id: int | None
) -> NewAccount:
    """Create an account with a temporary passphrase it must change at first sign-in,
    then enrol its authenticator. A worker joins the team; a supervisor supervises it.

    The passphrase is returned to be shown once and is stored only as a hash; the audit
    event names the account, role and team, never the passphrase.
    """
    _require_admin(asker)
    errors: dict[str, str] = {}
    name = ""
    try:
        name = _free_username(username)
    except ServiceError as error:
        errors.update(error.field_errors)
    display = " ".join(display_name.split())
    if not display:
        errors["display_name"] = "Enter the person's name."
    elif len(display) > DISPLAY_NAME_MAX:
        errors["display_name"] = f"The name must be at most {DISPLAY_NAME_MAX} characters."
    try:
        team = _team_for_role(role, team_id, user=None)
    except ServiceError as error:
        errors.update(error.field_errors)
        team = None
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    passphrase = temporary_passphrase()
    user = User(
        username=name,
        display_name=display,
        role=role,
        active=True,
        is_demo=False,
        password_hash=hash_password(passphrase),
        must_change_password=True,
    )
    db.session.add(user)
    db.session.flush()
    _place_in_team(user, team)
    record_event(
        "user.create",
        actor=asker,
        object_type="user",
        object_id=user.id,
        detail={
            "username": name,
            "display_name": display,
            "role": role.value,
            "team": team.name if team else None,
        },
    )
    db.session.flush()
    return NewAccount(user=user, temporary_passphrase=passphrase)


def _team_for_role(role: Role, team_id: int | None, *, user: User | None) -> Team | None:
    """The team a role may be placed in: a worker's team, or the team a supervisor will
    supervise (not one another active supervisor holds); none for leads and admins."""
    team = _team_or_error(team_id)
    if team is None:
        return None
    if role in (Role.LEAD, Role.ADMIN):
        message = "Service leads and administrators belong to no team: choose \u201cNone\u201d."
        raise ServiceError(message, field_errors={"team_id": message})
    if role is Role.SUPERVISOR:
        current = team.supervisor
        if current is not None and current.active and current is not user:
            message = (
                f"{team.name} is supervised by {current.display_name}. Change its "
                "supervisor on the team's page."
            )
            raise ServiceError(message, field_errors={"team_id": message})
    return team


def _place_in_team(user: User, team: Team | None) -> None:
    """Make a worker a member of the team, or a supervisor its supervisor."""
    if user.role is Role.WORKER:
        user.team = team
    else:
        user.team = None
        if team is not None and user.role is Role.SUPERVISOR:
            team.supervisor = user


# Changing an account ------------------------------------------------------------------


def _not_yourself(asker: User, user: User, what: str) -> None:
    if user.id == asker.id:
        raise ServiceError(f"You cannot {what} your own account. Ask another administrator.")


def _keeps_its_cases_in_sight(user: User, *, role: Role, team: Team | None) -> None:
    """A worker holding open cases keeps the worker role and a team: otherwise no
    supervisor would see those cases. They are reassigned first."""
    if user.role is not Role.WORKER or (role is Role.WORKER and team is not None):
        return
    held = open_cases_of(user)
    if held.count:
        raise ServiceError(
            f"{user.display_name} holds {plural(held.count, 'open case')}. Ask their "
            "supervisor to reassign them first, or move them to another team instead."
        )


def _team_label(user: User) -> str | None:
    if user.role is Role.SUPERVISOR:
        names = sorted(db.session.scalars(select(Team.name).where(Team.supervisor_id == user.id)))
        return ", ".join(names) or None
    return user.team.name if user.team is not None else None


def change_role_and_team(
    asker: User, user_id: int, *, role: Role, team_id: int | None, now: datetime | None = None
) -> bool:
    """Change an account's role and team; whether anything changed.

    Needs a fresh sign-in (passphrase and code within ``auth.FRESH_SIGN_IN``). Nobody
    changes their own. A supervisor who stops supervising leaves their teams without
    one; a worker holding open cases keeps a team (``_keeps_its_cases_in_sight``).
    Audited as ``user.role_team`` with the old and new role and team.
    """
    _require_admin(asker)
    user = get_account(asker, user_id)
    _not_yourself(asker, user, "change the role of")
    if not signed_in_recently(asker, now=now):
        raise ServiceError(
            "Confirm your passphrase and security code before changing a role or team."
        )
    team = _team_for_role(role, team_id, user=user)
    _keeps_its_cases_in_sight(user, role=role, team=team)
    old = {"role": user.role.value, "team": _team_label(user)}
    left = []
    if user.role is Role.SUPERVISOR and (role is not Role.SUPERVISOR or team is not None):
        for led in db.session.scalars(select(Team).where(Team.supervisor_id == user.id)):
            if led is not team:
                led.supervisor = None
                left.append(led.name)
    user.role = role
    _place_in_team(user, team)
    db.session.flush()
    new = {"role": role.value, "team": _team_label(user)}
    if old == new:
        return False
    record_event(
        "user.role_team",
        actor=asker,
        object_type="user",
        object_id=user.id,
        detail={"old": old, "new": new, "teams_left_unsupervised": left},
    )
    return True


def disable_account(asker: User, user_id: int) -> OpenCases:
    """Disable an account: its sessions end at once and it cannot sign in. Returns the
    open cases it still holds, for its supervisor to reassign."""
    _require_admin(asker)
    user = get_account(asker, user_id)
    _not_yourself(asker, user, "disable")
    if not user.active:
        return open_cases_of(user)
    user.active = False
    end_all_sessions(user, reason="disabled")
    held = open_cases_of(user) if user.role is Role.WORKER else OpenCases(0, ())
    record_event(
        "user.disable",
        actor=asker,
        object_type="user",
        object_id=user.id,
        detail={"old": {"active": True}, "new": {"active": False}, "open_cases": held.count},
    )
    db.session.flush()
    return held


def enable_account(asker: User, user_id: int) -> User:
    """Let a disabled account sign in again."""
    _require_admin(asker)
    user = get_account(asker, user_id)
    if user.active:
        return user
    user.active = True
    record_event(
        "user.enable",
        actor=asker,
        object_type="user",
        object_id=user.id,
        detail={"old": {"active": False}, "new": {"active": True}},
    )
    db.session.flush()
    return user


def reset_passphrase(asker: User, user_id: int) -> NewAccount:
    """Give an account a new temporary passphrase (a forgotten one), to be changed at
    its next sign-in; its sessions end. Not one's own (that is changed by signing in).
    Audited as ``user.passphrase_reset``, never with the passphrase."""
    _require_admin(asker)
    user = get_account(asker, user_id)
    _not_yourself(asker, user, "reset the passphrase of")
    passphrase = temporary_passphrase()
    user.password_hash = hash_password(passphrase)
    user.must_change_password = True
    end_all_sessions(user, reason="passphrase reset")
    record_event(
        "user.passphrase_reset",
        actor=asker,
        object_type="user",
        object_id=user.id,
        detail={"old": {"temporary": False}, "new": {"temporary": True}},
    )
    db.session.flush()
    return NewAccount(user=user, temporary_passphrase=passphrase)


def reset_mfa(asker: User, user_id: int) -> User:
    """Forget an account's authenticator: it enrols a new one at its next sign-in. Its
    sessions end, since they were opened with the old one."""
    _require_admin(asker)
    user = get_account(asker, user_id)
    was_enrolled = user.mfa_enrolled
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    end_all_sessions(user, reason="mfa reset")
    record_event(
        "user.mfa_reset",
        actor=asker,
        object_type="user",
        object_id=user.id,
        detail={"old": {"enrolled": was_enrolled}, "new": {"enrolled": False}},
    )
    db.session.flush()
    return user


# Teams ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    """One team in the list: its supervisor and its workers."""

    team: Team
    workers: tuple[User, ...]


def list_teams(asker: User) -> list[TeamRow]:
    """Every team by name, with its supervisor and workers (three queries)."""
    _require_admin(asker)
    teams = db.session.scalars(
        select(Team)
        .options(selectinload(Team.supervisor), selectinload(Team.members))
        .order_by(Team.name)
    ).all()
    return [
        TeamRow(team=t, workers=tuple(m for m in t.members if m.role is Role.WORKER)) for t in teams
    ]


def _free_team_name(name: str, *, team: Team | None = None) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ServiceError("Enter a team name.", field_errors={"name": "Enter a team name."})
    if len(cleaned) > TEAM_NAME_MAX:
        message = f"A team name is at most {TEAM_NAME_MAX} characters."
        raise ServiceError(message, field_errors={"name": message})
    clash = db.session.scalar(select(Team.id).where(func.lower(Team.name) == cleaned.lower()))
    if clash is not None and (team is None or clash != team.id):
        message = f"There is already a team called {cleaned}."
        raise ServiceError(message, field_errors={"name": message})
    return cleaned


def _supervisor_or_error(supervisor_id: int | None) -> User | None:
    if supervisor_id is None:
        return None
    user = db.session.get(User, supervisor_id)
    if user is None or user.role is not Role.SUPERVISOR or not user.active:
        message = "Choose an active supervisor."
        raise ServiceError(message, field_errors={"supervisor_id": message})
    return user


def create_team(asker: User, *, name: str, supervisor_id: int | None = None) -> Team:
    """Create a team, optionally with its supervisor. Audited as ``team.create``."""
    _require_admin(asker)
    team = Team(name=_free_team_name(name), supervisor=_supervisor_or_error(supervisor_id))
    db.session.add(team)
    db.session.flush()
    record_event(
        "team.create",
        actor=asker,
        object_type="team",
        object_id=team.id,
        detail={
            "name": team.name,
            "supervisor": team.supervisor.username if team.supervisor else None,
        },
    )
    return team


def rename_team(asker: User, team_id: int, *, name: str) -> Team:
    """Rename a team. Audited as ``team.rename`` with the old and new name."""
    team = get_team(asker, team_id)
    new = _free_team_name(name, team=team)
    if new == team.name:
        return team
    old = team.name
    team.name = new
    record_event(
        "team.rename",
        actor=asker,
        object_type="team",
        object_id=team.id,
        detail={"old": {"name": old}, "new": {"name": new}},
    )
    db.session.flush()
    return team


def assign_supervisor(asker: User, team_id: int, *, supervisor_id: int | None) -> Team:
    """Set (or clear) a team's supervisor: an active supervisor-role account. Audited as
    ``team.supervisor`` with the old and new supervisor."""
    team = get_team(asker, team_id)
    supervisor = _supervisor_or_error(supervisor_id)
    if supervisor is team.supervisor:
        return team
    old = team.supervisor.username if team.supervisor else None
    team.supervisor = supervisor
    record_event(
        "team.supervisor",
        actor=asker,
        object_type="team",
        object_id=team.id,
        detail={
            "old": {"supervisor": old},
            "new": {"supervisor": supervisor.username if supervisor else None},
        },
    )
    db.session.flush()
    return team


def add_worker(asker: User, team_id: int, *, worker_id: int) -> User:
    """Put a worker in this team (moving them from any other, their cases with them).
    Audited as ``team.add_worker`` with the old and new team."""
    team = get_team(asker, team_id)
    worker = db.session.get(User, worker_id)
    if worker is None or worker.role is not Role.WORKER:
        message = "Choose a practitioner."
        raise ServiceError(message, field_errors={"worker_id": message})
    if worker.team_id == team.id:
        return worker
    old = worker.team.name if worker.team else None
    worker.team = team
    record_event(
        "team.add_worker",
        actor=asker,
        object_type="team",
        object_id=team.id,
        detail={"worker": worker.username, "old": {"team": old}, "new": {"team": team.name}},
    )
    db.session.flush()
    return worker


def remove_worker(asker: User, team_id: int, *, worker_id: int) -> User:
    """Take a worker out of this team. Refused while they hold open cases (no
    supervisor would see them): reassign those, or move the worker to another team.
    Audited as ``team.remove_worker``."""
    team = get_team(asker, team_id)
    worker = db.session.get(User, worker_id)
    if worker is None or worker.team_id != team.id:
        raise ServiceError(f"That practitioner is not in {team.name}.")
    _keeps_its_cases_in_sight(worker, role=worker.role, team=None)
    worker.team = None
    record_event(
        "team.remove_worker",
        actor=asker,
        object_type="team",
        object_id=team.id,
        detail={"worker": worker.username, "old": {"team": team.name}, "new": {"team": None}},
    )
    db.session.flush()
    return worker


def workers_outside(team: Team) -> list[User]:
    """Active workers not in this team, by name: the ones the team page offers to add."""
    return list(
        db.session.scalars(
            select(User)
            .options(selectinload(User.team))
            .where(
                User.role == Role.WORKER,
                User.active.is_(True),
                or_(User.team_id.is_(None), User.team_id != team.id),
            )
            .order_by(User.display_name, User.id)
        )
    )


def active_supervisors() -> list[User]:
    """Active supervisor-role accounts by name: the choices for a team's supervisor."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.SUPERVISOR, User.active.is_(True))
            .order_by(User.display_name, User.id)
        )
    )


def all_teams() -> list[Team]:
    """Every team by name (the choices of a team field)."""
    return list(db.session.scalars(select(Team).order_by(Team.name)))
