"""Shared fixtures: a migrated database per test run, a fresh app per test, users and sign-in.

The database is SQLite by default; set CASELOAD_TEST_DATABASE_URL to run the
same suite on PostgreSQL. Each run works in its own schema there and drops it
at the end, since the server keeps its state between runs.
"""

from __future__ import annotations

import contextvars
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from caseload import create_app
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import User
from caseload.services.users import create_user

PG_URL = os.environ.get("CASELOAD_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI") == "true"
PASSWORD = "correct horse battery staple river"

#: Cheap hashing for tests only; production uses the defaults in caseload/config.py.
FAST_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}


def base_config(database_url: str, instance: Path) -> dict[str, Any]:
    """The test layer of the configuration."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance),
        **FAST_HASHING,
        # The progressive wait and the passphrase-check budget are tested on their own
        # (tests/web/test_signin_gate.py); elsewhere quick repeated sign-ins are the norm.
        "LOGIN_BACKOFF_AFTER": None,
        "SIGNIN_CHECK_SHARE": 0,
    }


def pg_schema_url(schema: str) -> str:
    """The PostgreSQL URL with every connection's search_path set to one schema."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


class Database:
    """A migrated database for this run, and how to get a clean copy of it per test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        if PG_URL:
            self.schema = f"test_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.url = pg_schema_url(self.schema)
        else:
            self.template = tmp / "template.sqlite3"
            self.url = f"sqlite:///{self.template}"
        app = create_app(base_config(self.url, tmp / "instance"))
        with app.app_context():
            upgrade()
            self.tables = [t.name for t in reversed(db.metadata.sorted_tables)]
            db.engine.dispose()

    def fresh_url(self, test_dir: Path) -> str:
        """A database URL holding the migrated, empty schema."""
        if PG_URL:
            return self.url
        target = test_dir / "test.sqlite3"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def clean(self, app: Flask) -> None:
        """Empty every table after a test (PostgreSQL; SQLite files are thrown away)."""
        if not PG_URL:
            return
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "TRUNCATE "
                        + ", ".join(f'"{t}"' for t in self.tables)
                        + " RESTART IDENTITY CASCADE"
                    )
                )

    def drop(self) -> None:
        """Remove this run's schema."""
        if PG_URL:
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose requests each get their own app context, ``g`` and database
    session, as in production.

    Flask reuses an app context that is already pushed, and the ``app`` fixture
    keeps one pushed for the test's own queries; without this, ``g`` and the
    database session would leak between requests. The test's transaction is
    committed first, so the request sees the test's data and no lock is held;
    the test's loaded objects are expired after it (the session no longer expires
    them on commit), so the test reads what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        in_app = has_app_context()
        if in_app:
            db.session.commit()
        kwargs.setdefault("buffered", True)  # read file responses whole, closing the file
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if in_app:
            db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One migrated database per test run."""
    database = Database(tmp_path_factory.mktemp("db"))
    yield database
    database.drop()


@pytest.fixture
def app(database: Database, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app on an empty, migrated database."""
    instance = tmp_path / "instance"
    app = create_app(base_config(database.fresh_url(tmp_path), instance))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
    database.clean(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


def make_user(
    role: Role = Role.WORKER,
    *,
    username: str | None = None,
    team: str | None = "North team",
    enrolled: bool = True,
) -> User:
    """Create a committed user with the test passphrase and, by default, TOTP enrolled."""
    user = create_user(
        username=username or f"{role.value}-{uuid.uuid4().hex[:6]}",
        password=PASSWORD,
        role=role,
        display_name=f"Test {role.label}",
        team_name=team if role in (Role.WORKER, Role.SUPERVISOR) else None,
    )
    user.totp_secret = pyotp.random_base32()
    if enrolled:
        from caseload.db import utcnow

        user.totp_confirmed_at = utcnow()
    db.session.commit()
    return user


@pytest.fixture
def user_factory(app: Flask) -> Any:
    """Make users: ``user_factory(Role.SUPERVISOR, team="South team")``."""
    return make_user


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token from a page's form, for the client's current session."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def next_code(user: User) -> str:
    """A TOTP code the server will accept now: the current step, or the next if used."""
    db.session.refresh(user)
    assert user.totp_secret is not None
    step = int(time.time() // 30)
    if user.totp_last_step is not None and user.totp_last_step >= step:
        step = user.totp_last_step + 1
    return pyotp.TOTP(user.totp_secret).at(step * 30)


def sign_in(client: FlaskClient, user: User, password: str = PASSWORD) -> None:
    """Sign in through the real forms: passphrase, then TOTP."""
    response = client.post(
        "/login",
        data={"username": user.username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/login/mfa")
    response = client.post(
        "/login/mfa",
        data={"code": next_code(user), "csrf_token": csrf_token(client, "/login/mfa")},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def signed_in(client: FlaskClient, user_factory: Any) -> Any:
    """Sign in a new user of a role: ``user = signed_in(Role.WORKER)``."""

    def sign_in_as(role: Role = Role.WORKER, **kwargs: Any) -> User:
        user = user_factory(role, **kwargs)
        sign_in(client, user)
        return user

    return sign_in_as
