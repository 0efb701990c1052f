"""The demo staff: accounts for every role, and the credentials file to sign in with.

Demo accounts are public by nature. Their credentials are written to
``instance/demo-credentials.json`` so a person or a script can sign in as any
of them, and a production configuration refuses to start while any exists.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import pyotp
from sqlalchemy import select

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import User
from caseload.services import ServiceError
from caseload.services.users import count_non_demo_users, create_user, get_or_create_team

TEAMS = ("North team", "South team")
SUPERVISORS = (("supervisor1", "Grace Okafor"), ("supervisor2", "Tomasz Nowak"))
WORKERS = (
    ("worker1", "Aisha Rahman"),
    ("worker2", "Ben Carter"),
    ("worker3", "Chloe Evans"),
    ("worker4", "Dev Patel"),
    ("worker5", "Ellie Murphy"),
    ("worker6", "Farid Haddad"),
    ("worker7", "Gemma Hughes"),
    ("worker8", "Harry Lewis"),
)


@dataclass(frozen=True)
class DemoCredential:
    """One demo account's sign-in details, as written to the credentials file."""

    username: str
    role: str
    password: str
    totp_secret: str


def demo_passphrase() -> str:
    """A fresh random passphrase that passes the passphrase rules."""
    return "demo-" + secrets.token_urlsafe(18)


def build_demo_staff() -> list[DemoCredential]:
    """Create the demo admin, lead, supervisors and workers; refuse if real users exist."""
    if count_non_demo_users():
        raise ServiceError(
            "This database holds real (non-demo) accounts; seed-demo will not touch it."
        )
    plan: list[tuple[str, str, Role, str | None]] = [
        ("admin", "Sam Admin", Role.ADMIN, None),
        ("lead", "Priya Shah", Role.LEAD, None),
    ]
    for (username, name), team in zip(SUPERVISORS, TEAMS, strict=True):
        plan.append((username, name, Role.SUPERVISOR, team))
    for index, (username, name) in enumerate(WORKERS):
        plan.append((username, name, Role.WORKER, TEAMS[index % len(TEAMS)]))

    credentials = []
    for username, name, role, home_team in plan:
        password = demo_passphrase()
        user = create_user(
            username=username,
            password=password,
            role=role,
            display_name=name,
            team_name=home_team,
            is_demo=True,
        )
        # The secret is set but not confirmed: the first sign-in shows enrolment.
        secret = pyotp.random_base32()
        user.totp_secret = secret
        credentials.append(DemoCredential(username, role.value, password, secret))
    for team in TEAMS:
        get_or_create_team(team)
    db.session.flush()
    return credentials


def write_credentials(path: Path, credentials: list[DemoCredential]) -> None:
    """Write the demo credentials file, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(c) for c in credentials], indent=2) + "\n", "utf-8")
    path.chmod(0o600)


def demo_workers() -> list[User]:
    """The demo workers in order (worker1 first); ServiceError when the staff is missing."""
    names = [username for username, _ in WORKERS]
    found = {
        u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))
    }
    if set(found) != set(names):
        raise ServiceError("Build the demo staff before the demo caseload.")
    return [found[name] for name in names]


def demo_supervisors() -> list[User]:
    """The demo supervisors in team order (supervisor1 for the first team); ServiceError
    when the staff is missing."""
    names = [username for username, _ in SUPERVISORS]
    found = {
        u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))
    }
    if set(found) != set(names):
        raise ServiceError("Build the demo staff before the demo caseload.")
    return [found[name] for name in names]
