"""The audit trail's guarantees in the database (docs/security.md, docs/operations.md).

On PostgreSQL the app connects as a role that may only read and append to the audit
tables: the test creates that role with the GRANTs of ``flask pg-roles``, connects as
it, appends an event, and sees UPDATE, DELETE and TRUNCATE refused for want of the
privilege (not only by the append-only trigger), while other tables stay writable.
SQLite has no roles: there the test checks that the documents say so, and that the
hash chain is what detects tampering.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url

from caseload.extensions import db
from caseload.services.pgroles import AUDIT_TABLES, grant_statements, roles_script
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parent.parent

#: PostgreSQL's SQLSTATE for "permission denied".
INSUFFICIENT_PRIVILEGE = "42501"


def test_the_grants_give_the_audit_tables_select_and_insert_only(app: Flask) -> None:
    statements = grant_statements("caseload_app", schema="public")
    for table in AUDIT_TABLES:
        granted = [s for s in statements if f'"{table}"' in s and s.startswith("GRANT")]
        assert granted == [f'GRANT SELECT, INSERT ON "public"."{table}" TO "caseload_app"']
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON "public"."contacts" TO "caseload_app"' in (
        statements
    )
    assert not any(
        "TRUNCATE" in s or "CREATE ON" in s and s.startswith("GRANT") for s in statements
    )
    script = roles_script("caseload_app")
    assert script.splitlines()[2] == "BEGIN;"
    assert script.rstrip().endswith("COMMIT;")
    with pytest.raises(ValueError, match="plain PostgreSQL name"):
        grant_statements('app"; DROP TABLE users; --')


def _refused(conn: sa.Connection, statement: str) -> str:
    """The SQLSTATE a statement fails with, in a savepoint so the test goes on."""
    try:
        with conn.begin_nested():
            conn.execute(sa.text(statement))
    except sa.exc.DBAPIError as error:
        return str(getattr(error.orig, "sqlstate", "") or "")
    return "accepted"


def test_the_app_role_may_only_append_to_the_audit_trail(app: Flask) -> None:
    engine = db.engine
    if engine.dialect.name == "sqlite":
        # No roles in SQLite: the file's owner can change anything, and the documents say
        # the hash chain is what detects it.
        security = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
        operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
        assert "hash chain" in security
        assert "flask --app caseload pg-roles" in operations
        assert "SQLite has no roles" in security
        return
    make_user()
    db.session.commit()
    schema = db.session.scalar(sa.text("select current_schema()"))
    role = f"caseload_app_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        for statement in grant_statements(role, schema=schema):
            conn.execute(sa.text(statement))
    url = make_url(str(engine.url)).set(username=role, password=password)
    app_engine = sa.create_engine(url)
    try:
        with app_engine.connect() as conn, conn.begin():
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (id, at, action, actor_username) "
                    "SELECT coalesce(max(id), 0) + 1, now(), 'test.append', 'role-test' "
                    "FROM audit_events"
                )
            )
            assert conn.scalar(sa.text("SELECT count(*) FROM audit_events")) >= 1
            assert _refused(conn, "UPDATE audit_events SET action = 'x'") == INSUFFICIENT_PRIVILEGE
            assert _refused(conn, "DELETE FROM audit_events") == INSUFFICIENT_PRIVILEGE
            assert _refused(conn, "TRUNCATE audit_events") == INSUFFICIENT_PRIVILEGE
            assert _refused(conn, "DELETE FROM audit_event_clients") == INSUFFICIENT_PRIVILEGE
            assert _refused(conn, "TRUNCATE audit_event_clients") == INSUFFICIENT_PRIVILEGE
            assert _refused(conn, "CREATE TABLE sneaky (id int)") == INSUFFICIENT_PRIVILEGE
            assert _refused(conn, "ALTER TABLE audit_events DROP COLUMN hash") == "42501"
            # Everything else as usual.
            assert _refused(conn, "UPDATE users SET display_name = display_name") == "accepted"
            assert _refused(conn, "DELETE FROM auth_failures") == "accepted"
    finally:
        app_engine.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
