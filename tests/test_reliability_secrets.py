"""Issue 14, defect 6: secrets at rest.

TOTP secrets are stored encrypted (Fernet, keys from configuration, rotatable); the
migration encrypts secrets stored before it; the SQLite file and instance/ are created
readable by their owner only.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade

from caseload import create_app
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import User
from caseload.models.encrypted import PREFIX, decrypt, rotate
from tests.conftest import base_config, make_user


def stored_secret(user_id: int) -> str:
    """The totp_secret column as the database holds it."""
    db.session.commit()
    with db.engine.connect() as conn:
        value = conn.execute(
            sa.text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user_id}
        )
        return str(value.scalar_one())


def test_a_totp_secret_is_stored_encrypted_and_read_back_in_clear(app: Flask) -> None:
    user = make_user(Role.WORKER)
    secret = user.totp_secret
    assert secret is not None
    raw = stored_secret(user.id)
    assert raw.startswith(PREFIX)
    assert secret not in raw
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == secret  # type: ignore[union-attr]


def test_keys_rotate_without_losing_a_secret(app: Flask) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    app.config["SECRET_ENCRYPTION_KEYS"] = [old]
    user = make_user(Role.WORKER)
    secret = user.totp_secret
    before = stored_secret(user.id)
    app.config["SECRET_ENCRYPTION_KEYS"] = [new, old]
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == secret  # type: ignore[union-attr]
    rotated = rotate(before)
    app.config["SECRET_ENCRYPTION_KEYS"] = [new]
    with pytest.raises(RuntimeError, match="cannot be decrypted"):
        decrypt(before)
    assert decrypt(rotated) == secret


def test_the_migration_encrypts_secrets_stored_in_clear(tmp_path: Path) -> None:
    app = create_app(base_config(f"sqlite:///{tmp_path / 'm.sqlite3'}", tmp_path / "instance"))
    secret = pyotp.random_base32()
    with app.app_context():
        upgrade(revision="0012")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (username, display_name, role, password_hash, active, "
                    "is_demo, totp_secret, must_change_password, password_changed_at, created_at) "
                    "VALUES ('old', 'Old', 'worker', 'x', 1, 0, :secret, 0, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                ),
                {"secret": secret},
            )
        upgrade(revision="0013")
        with db.engine.connect() as conn:
            raw = conn.execute(sa.text("SELECT totp_secret FROM users")).scalar_one()
        assert raw.startswith(PREFIX)
        assert secret not in raw
        assert db.session.scalar(sa.select(User.totp_secret)) == secret
        db.session.remove()
        db.engine.dispose()


def test_the_sqlite_file_and_instance_folder_are_owner_only(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = create_app(base_config("", instance) | {"DATABASE_URL": ""})
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    database = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    assert database.exists()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
