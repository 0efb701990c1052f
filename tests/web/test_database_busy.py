"""A database that stays locked beyond the busy timeout gives a friendly 503, not a 500,
and writes nothing (docs/design.md section 7; caseload/errors.py ``is_database_busy``).

On SQLite another connection holds the write lock (``BEGIN IMMEDIATE``) longer than
the app's busy timeout; on PostgreSQL another connection holds an exclusive lock on
the table the save writes, longer than the app's ``lock_timeout``. The save is
refused with 503 and Retry-After, the page says nothing was saved, no row is added,
and the same save succeeds once the lock is released.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url

from caseload import create_app
from caseload.domain.codes import ReflectiveTheme, Role
from caseload.extensions import db
from caseload.models import ReflectiveNote
from tests.conftest import (
    PG_URL,
    Database,
    IsolatedClient,
    base_config,
    csrf_token,
    make_user,
    sign_in,
)

#: How long the app waits for a lock here (milliseconds).
TIMEOUT_MS = 200


@pytest.fixture
def busy_app(database: Database, tmp_path: Path) -> Iterator[Flask]:
    """An app that waits at most TIMEOUT_MS for a lock."""
    url = database.fresh_url(tmp_path)
    if PG_URL:
        url = url.replace(
            "options=-csearch_path", f"options=-clock_timeout%3D{TIMEOUT_MS}%20-csearch_path"
        )
    config = base_config(url, tmp_path / "instance") | {"SQLITE_BUSY_TIMEOUT_MS": TIMEOUT_MS}
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
    database.clean(app)
    with app.app_context():
        db.engine.dispose()


@contextmanager
def locked(app: Flask) -> Iterator[None]:
    """Another connection holds the lock a save needs, for as long as the block runs."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(str(url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("LOCK TABLE reflective_notes IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


def note_count() -> int:
    """The notes saved, read in a transaction that is closed again (so it holds no lock)."""
    db.session.commit()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(ReflectiveNote)) or 0
    db.session.commit()
    return count


def test_a_save_refused_by_a_busy_database_is_a_503_and_saves_nothing(busy_app: Flask) -> None:
    client = busy_app.test_client()
    worker = make_user(Role.WORKER)
    sign_in(client, worker)
    form = {
        "text": "A reflection written while the database was busy.",
        "themes": next(iter(ReflectiveTheme)).value,
        "csrf_token": csrf_token(client, "/notes/new"),
    }
    before = note_count()

    with locked(busy_app):
        response = client.post("/notes/new", data=form)

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    page = response.get_data(as_text=True)
    assert "The service is busy" in page
    assert "Nothing was saved" in page
    assert note_count() == before

    # The same form, sent again once the lock is gone, saves once.
    response = client.post("/notes/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert note_count() == before + 1
