"""Migrations and models agree, and upgrade, downgrade, upgrade works on this database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from caseload import create_app
from caseload.extensions import db
from tests.conftest import PG_URL, base_config, pg_schema_url


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a database with no tables at all."""
    schema = None
    if PG_URL:
        schema = f"mig_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = pg_schema_url(schema)
    else:
        url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    app = create_app(base_config(url, tmp_path / "instance"))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def schema_diff() -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_and_models_match(empty_app: Flask) -> None:
    upgrade()
    assert table_names() == set(db.metadata.tables)
    assert schema_diff() == []
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()
    assert schema_diff() == []


def test_audit_trail_cannot_be_changed_in_the_database(empty_app: Flask) -> None:
    upgrade()
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO audit_events (at, action) VALUES (CURRENT_TIMESTAMP, 'x')")
        )
    for statement in ("UPDATE audit_events SET action = 'y'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
