"""Backups: taken while the application writes, restored into a fresh database whole,
with the audit chain intact; a restore never overwrites data unless forced.

These run on SQLite whatever database the test run uses: a PostgreSQL backup runs
``pg_dump``, which a test machine need not have, so it is tried by hand
(docs/operations.md) rather than skipped here.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from caseload import create_app
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, Episode, User
from caseload.services import ServiceError
from caseload.services import backup as backup_service
from caseload.services.audit import verify_chain
from caseload.services.backup import backup_database, restore_database, row_counts
from tests.conftest import base_config, make_user
from tests.web.helpers import add_contact, make_case, utc_now

#: How long the test waits for the writing thread before calling the run broken.
PATIENCE_SECONDS = 30


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database to copy."""
    folder = tmp_path_factory.mktemp("backup-template")
    path = folder / "template.sqlite3"
    app = create_app(base_config(f"sqlite:///{path}", folder / "instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


def sqlite_app(path: Path) -> Flask:
    """An app on a SQLite file (created empty on first use if it does not exist)."""
    return create_app(base_config(f"sqlite:///{path}", path.parent / f"{path.stem}-instance"))


@pytest.fixture
def source_app(sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """The live service: a migrated database with its app context pushed."""
    path = tmp_path / "live.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = sqlite_app(path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def restored_into(backup: Path, target: Path, *, force: bool = False) -> dict[str, int]:
    """Restore a backup into the database at ``target``; its rows per table, after
    checking the chain and that each contact's creation was audited with it."""
    app = sqlite_app(target)
    with app.app_context():
        result = restore_database(db.engine, backup, force=force)
        assert result.chain is not None
        assert result.chain.intact, result.chain.broken
        assert result.chain.events == result.rows["audit_events"]
        assert result.revision is not None
        created = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "contact.create")
        )
        # A contact and its audit event are one transaction: the snapshot has both or neither.
        assert created == result.rows["contacts"]
        db.session.remove()
        db.engine.dispose()
    return result.rows


def test_a_backup_taken_while_writing_restores_whole(source_app: Flask, tmp_path: Path) -> None:
    worker = make_user(Role.WORKER)
    episode = make_case(worker)
    worker_id, episode_id = worker.id, episode.id
    db.session.commit()
    started, stop = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    written: list[int] = []

    def write_contacts() -> None:
        try:
            with source_app.app_context():
                user = db.session.get(User, worker_id)
                case = db.session.get(Episode, episode_id)
                assert user is not None
                assert case is not None
                for number in range(400):
                    if stop.is_set():
                        break
                    add_contact(user, case, at=utc_now() - timedelta(days=1, minutes=number))
                    written.append(number)
                    if number == 4:
                        started.set()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            failures.append(error)
        finally:
            started.set()

    thread = threading.Thread(target=write_contacts)
    thread.start()
    try:
        assert started.wait(PATIENCE_SECONDS)
        during = backup_database(db.engine, tmp_path / "during.backup")
        written_by_then = len(written)
    finally:
        stop.set()
        thread.join(PATIENCE_SECONDS)
    assert failures == []
    assert during.method == "SQLite online backup"
    assert during.size > 0

    rows = restored_into(during.path, tmp_path / "restored-during.sqlite3")
    assert 5 <= rows["contacts"] <= written_by_then + 1
    assert rows["users"] == 1
    assert rows["clients"] == 1

    # Once the writing has stopped, a backup restores to exactly the same rows.
    after = backup_database(db.engine, tmp_path / "after.backup")
    assert restored_into(after.path, tmp_path / "restored-after.sqlite3") == row_counts(db.engine)
    assert verify_chain().intact


def test_a_restore_refuses_a_database_that_holds_data(
    source_app: Flask, sqlite_template: Path, tmp_path: Path
) -> None:
    make_user(Role.ADMIN, username="the.admin")
    backup = backup_database(db.engine, tmp_path / "service.backup").path
    source_rows = row_counts(db.engine)

    occupied = tmp_path / "occupied.sqlite3"
    shutil.copyfile(sqlite_template, occupied)
    other = sqlite_app(occupied)
    with other.app_context():
        make_user(Role.WORKER, username="someone.else")
        with pytest.raises(ServiceError, match="not empty"):
            restore_database(db.engine, backup)
        assert db.session.scalar(select(User.username)) == "someone.else"
        db.session.remove()
        db.engine.dispose()
    assert restored_into(backup, occupied, force=True) == source_rows
    with other.app_context():
        assert list(db.session.scalars(select(User.username))) == ["the.admin"]
        db.session.remove()
        db.engine.dispose()

    # A migrated database with no rows is empty: nothing to lose.
    empty = tmp_path / "migrated-empty.sqlite3"
    shutil.copyfile(sqlite_template, empty)
    assert restored_into(backup, empty) == source_rows


def test_a_backup_never_overwrites_and_a_restore_takes_only_a_backup(
    source_app: Flask, tmp_path: Path
) -> None:
    taken = tmp_path / "taken.backup"
    taken.write_text("an older backup")
    with pytest.raises(ServiceError, match="already exists"):
        backup_database(db.engine, taken)
    assert taken.read_text() == "an older backup"
    assert not (tmp_path / "taken.backup.partial").exists()
    with pytest.raises(ServiceError, match="does not exist"):
        backup_database(db.engine, tmp_path / "no-such-folder" / "x.backup")

    target = sqlite_app(tmp_path / "fresh.sqlite3")
    with target.app_context():
        with pytest.raises(ServiceError, match="not a SQLite database"):
            restore_database(db.engine, taken)
        db.engine.dispose()


def test_the_backup_and_restore_commands(source_app: Flask, tmp_path: Path) -> None:
    make_user(Role.ADMIN)
    out = tmp_path / "nightly.backup"
    result = source_app.test_cli_runner().invoke(args=["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Backed up to {out} (SQLite online backup" in result.output
    again = source_app.test_cli_runner().invoke(args=["backup", "--out", str(out)])
    assert again.exit_code != 0
    assert "already exists" in again.output

    target = sqlite_app(tmp_path / "drill.sqlite3")
    with target.app_context():
        restored = target.test_cli_runner().invoke(args=["restore", str(out)])
        assert restored.exit_code == 0, restored.output
        events = db.session.scalar(select(func.count(AuditEvent.id)))
        assert f"Audit trail intact: {events} events." in restored.output
        assert "at migration " in restored.output
        refused = target.test_cli_runner().invoke(args=["restore", str(out)])
        assert refused.exit_code != 0
        assert "--force" in refused.output
        forced = target.test_cli_runner().invoke(args=["restore", str(out), "--force"])
        assert forced.exit_code == 0, forced.output
        db.session.remove()
        db.engine.dispose()


def test_postgresql_without_its_tools_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No server is contacted: the tool is looked for first."""
    monkeypatch.setattr(backup_service.shutil, "which", lambda _name: None)
    engine = sa.create_engine("postgresql+psycopg://caseload:secret@127.0.0.1:1/caseload")
    with pytest.raises(ServiceError, match="pg_dump was not found.*postgresql-client"):
        backup_database(engine, tmp_path / "pg.backup")
    assert list(tmp_path.iterdir()) == []
    engine.dispose()
