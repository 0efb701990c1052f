"""The app factory and the configuration layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseload import create_app
from tests.conftest import FAST_HASHING


def test_defaults_put_sqlite_in_the_instance_folder_and_make_a_secret(tmp_path: Path) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path), **FAST_HASHING})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'caseload.sqlite3'}"
    secret = (tmp_path / "secret_key").read_text().strip()
    assert app.config["SECRET_KEY"] == secret
    assert len(secret) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    # A second start reads the same key instead of making a new one.
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"] == secret


def test_instance_config_file_overrides_code_defaults(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text('SERVICE_NAME = "Northshire Talking Therapies"\n')
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SERVICE_NAME"] == "Northshire Talking Therapies"


def test_environment_overrides_instance_file_and_test_dict_overrides_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.py").write_text('SERVICE_NAME = "From file"\nLOGIN_MAX_FAILURES = 9\n')
    monkeypatch.setenv("CASELOAD_SERVICE_NAME", "From environment")
    monkeypatch.setenv("CASELOAD_DATABASE_URL", "sqlite:////tmp/from-env.sqlite3")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SERVICE_NAME"] == "From environment"
    assert app.config["LOGIN_MAX_FAILURES"] == 9
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-env.sqlite3"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SERVICE_NAME": "From test"})
    assert app.config["SERVICE_NAME"] == "From test"


def sqlite_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An app on a SQLite file, whatever database the rest of the suite uses."""
    return create_app(
        {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    )


def test_sqlite_connections_follow_the_design_settings(tmp_path: Path) -> None:
    from caseload.extensions import db

    with sqlite_app(tmp_path).app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_sqlite_transactions_begin_immediate(tmp_path: Path) -> None:
    """A second writer waits at BEGIN, not half-way through its work."""
    import sqlite3

    from caseload.extensions import db

    with sqlite_app(tmp_path).app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")  # a read only, yet the write lock is held
        other = sqlite3.connect(tmp_path / "x.sqlite3", timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
        db.engine.dispose()
