"""The flask commands: create-user and seed-demo, and the production guard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from caseload import create_app
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import Team, User
from tests.conftest import PASSWORD, base_config


def test_create_user_asks_for_the_passphrase(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "Jo.Bloggs", "--role", "worker", "--team", "East team"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "jo.bloggs"))
    assert user is not None
    assert user.role is Role.WORKER
    assert user.team is not None
    assert user.team.name == "East team"
    assert user.password_hash.startswith("$argon2id$")
    assert not user.mfa_enrolled


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "at least 15 characters"),
        ("passwordpassword", "less guessable"),
        ("aaaaaaaaaaaaaaaaaaaa", "less guessable"),
        ("qwertyuiopasdfghjkl", "less guessable"),
        ("jo.bloggs is my name ok", "must not contain your username"),
    ],
)
def test_create_user_refuses_weak_passphrases(app: Flask, password: str, message: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "jo.bloggs", "--role", "worker"], input=f"{password}\n{password}\n"
    )
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_user_refuses_a_taken_username(app: Flask, user_factory: Any) -> None:
    user_factory(Role.WORKER, username="jo.bloggs")
    result = app.test_cli_runner().invoke(
        args=["create-user", "jo.bloggs", "--role", "lead"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code != 0
    assert "taken" in result.output


def test_seed_demo_builds_the_demo_service(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo", "--clients", "0"])
    assert result.exit_code == 0, result.output
    path = Path(app.instance_path) / "demo-credentials.json"
    credentials = json.loads(path.read_text())
    roles = [c["role"] for c in credentials]
    assert roles.count("admin") >= 1
    assert roles.count("lead") >= 1
    assert roles.count("supervisor") >= 2
    assert roles.count("worker") >= 8
    assert set(credentials[0]) == {"username", "role", "password", "totp_secret"}
    assert path.stat().st_mode & 0o077 == 0
    teams = db.session.scalars(select(Team)).all()
    assert len(teams) == 2
    assert all(t.supervisor is not None and len(t.members) == 4 for t in teams)
    assert all(u.is_demo for u in db.session.scalars(select(User)))


def test_seed_demo_if_empty_does_nothing_twice(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--clients", "0"])
    count = db.session.scalar(select(func.count(User.id)))
    result = runner.invoke(args=["seed-demo", "--if-empty", "--clients", "0"])
    assert result.exit_code == 0
    assert "already has users" in result.output
    assert db.session.scalar(select(func.count(User.id))) == count


def test_seed_demo_refuses_a_database_with_real_users(app: Flask, user_factory: Any) -> None:
    user_factory(Role.ADMIN)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--clients", "0"])
    assert result.exit_code != 0
    assert "non-demo" in result.output
    assert not (Path(app.instance_path) / "demo-credentials.json").exists()


def test_production_refuses_to_start_with_demo_accounts(app: Flask, tmp_path: Path) -> None:
    app.test_cli_runner().invoke(args=["seed-demo", "--clients", "0"])
    db.session.commit()
    config = base_config(app.config["DATABASE_URL"], tmp_path / "prod")
    with pytest.raises(RuntimeError, match="demo accounts"):
        create_app({**config, "PRODUCTION": True})


def test_production_starts_without_demo_accounts(
    app: Flask, user_factory: Any, tmp_path: Path
) -> None:
    user_factory(Role.ADMIN)
    config = base_config(app.config["DATABASE_URL"], tmp_path / "prod")
    prod = create_app({**config, "PRODUCTION": True})
    assert prod.config["SESSION_COOKIE_SECURE"] is True


def test_prune_form_keys_deletes_only_keys_no_session_could_reuse(app: Flask) -> None:
    from datetime import timedelta

    from caseload.db import utcnow
    from caseload.models import FormSubmission

    now = utcnow()
    for key, age in (("a" * 32, timedelta(days=3)), ("b" * 32, timedelta(hours=13))):
        db.session.add(FormSubmission(key=key, endpoint="cases.log_contact", at=now - age))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["prune-form-keys", "--days", "2"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 form keys" in result.output
    kept = db.session.scalars(select(FormSubmission.key)).all()
    assert kept == ["b" * 32]
    # Never a key a session could still submit: under a day is refused.
    refused = app.test_cli_runner().invoke(args=["prune-form-keys", "--days", "0"])
    assert refused.exit_code == 2
    assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 1
