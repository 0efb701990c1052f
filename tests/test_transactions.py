"""Transactions: a slow read never blocks a save, and how SQLite transactions begin."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import func, select

from caseload.db import sqlite_begin
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, Contact
from caseload.policy import WORKER, policy
from caseload.services import episodes as episode_service
from tests.conftest import make_user, sign_in
from tests.web.helpers import make_case, reload, token

#: How long the test waits for the other thread before calling the run broken.
PATIENCE_SECONDS = 20


@pytest.fixture
def slow_read_route(app: Flask) -> tuple[str, threading.Event, threading.Event]:
    """A page that reads a case, then holds its read transaction open until released
    (a long report or export, simulated)."""
    reading, release = threading.Event(), threading.Event()

    @policy(WORKER)
    def slow_read(episode_id: int) -> Any:
        episode_service.get_episode(current_user, episode_id)
        reading.set()
        release.wait(PATIENCE_SECONDS)
        # Still inside the same read transaction: one more query, as a report would.
        return str(db.session.scalar(select(func.count()).select_from(Contact)))

    app.add_url_rule("/test/slow-read/<int:episode_id>", "slow_read", slow_read)
    return "/test/slow-read", reading, release


def test_a_slow_read_does_not_block_a_save(
    app: Flask, slow_read_route: tuple[str, threading.Event, threading.Event]
) -> None:
    path, reading, release = slow_read_route
    reader, writer = make_user(Role.WORKER), make_user(Role.WORKER)
    reader_case, writer_case = make_case(reader), make_case(writer)
    reader_client, writer_client = app.test_client(), app.test_client()
    sign_in(reader_client, reader)
    sign_in(writer_client, writer)
    csrf = token(writer_client)
    read_path = f"{path}/{reader_case.id}"
    version = str(writer_case.client.version)
    db.session.commit()  # the test's own session holds no lock while the threads run

    responses: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: responses.setdefault("read", reader_client.get(read_path))
    )
    thread.start()
    try:
        assert reading.wait(PATIENCE_SECONDS), "the slow read never started"
        started = time.monotonic()
        saved = writer_client.post(
            f"/episodes/{writer_case.id}/consent",
            data={
                "csrf_token": csrf,
                "consent": "yes",
                "consent_note": "Agreed on the phone",
                "version": version,
            },
        )
        elapsed = time.monotonic() - started
        still_reading = not release.is_set() and thread.is_alive()
    finally:
        release.set()
        thread.join(PATIENCE_SECONDS)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert still_reading
    assert elapsed < app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
    assert responses["read"].status_code == 200
    assert reload(writer_case.client).consent_central_reporting is True
    # The read's audit event was written at its end, after the save.
    views = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "episode.view", AuditEvent.actor_id == reader.id
        )
    ).all()
    assert [e.object_id for e in views] == [str(reader_case.id)]


def begin_statements(app: Flask, mode: str | None) -> list[str]:
    """The BEGIN statements a new transaction sends, in a given mode (None: the default)."""
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        db.session.commit()
        if mode is None:
            db.session.execute(select(1))
        else:
            with sqlite_begin(mode):  # type: ignore[arg-type]
                db.session.execute(select(1))
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    return seen


def test_sqlite_transactions_begin_immediate_unless_read_only(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no BEGIN modes")
    assert begin_statements(app, None) == ["BEGIN IMMEDIATE"]
    assert begin_statements(app, "DEFERRED") == ["BEGIN"]
    assert begin_statements(app, "IMMEDIATE") == ["BEGIN IMMEDIATE"]


def test_a_read_only_request_begins_deferred(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no BEGIN modes")
    signed_in(Role.WORKER)
    client.get("/caseload")  # warm up: the missing curves are built after it
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("BEGIN", "INSERT")):
            seen.append(statement.split(" (")[0])

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get("/caseload").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    # The reads in a deferred transaction, then the audit event in a short write.
    assert seen[0] == "BEGIN"
    assert "INSERT INTO audit_events" in seen
    assert seen[seen.index("INSERT INTO audit_events") - 1] == "BEGIN IMMEDIATE"
    assert seen.count("BEGIN IMMEDIATE") == 1
