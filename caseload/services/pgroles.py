"""The PostgreSQL roles: the owner runs migrations, the app may only append to the audit
trail (docs/operations.md, "PostgreSQL roles"; docs/security.md).

``grant_statements`` writes the GRANTs for the app's role from the models' tables, so a
new table is covered the next time they are run (after every migration, as the owner).
"""

from __future__ import annotations

import re

from caseload.extensions import db

#: The audit trail's tables: the app's role may read them and add rows, nothing else.
AUDIT_TABLES = ("audit_events", "audit_event_clients")

#: The rights of the app's role on every other table.
ORDINARY_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _identifier(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a plain PostgreSQL name: {name!r}")
    return f'"{name}"'


def grant_statements(app_role: str, *, schema: str = "public") -> list[str]:
    """The statements, run by the tables' owner, that give ``app_role`` ordinary rights on
    every table but the audit trail's, and only SELECT and INSERT on those. They revoke
    first, so running them again (after a migration) leaves exactly these rights."""
    role, space = _identifier(app_role), _identifier(schema)
    tables = sorted(t.name for t in db.metadata.sorted_tables) + ["alembic_version"]
    statements = [
        f"GRANT USAGE ON SCHEMA {space} TO {role}",
        f"REVOKE CREATE ON SCHEMA {space} FROM {role}",
    ]
    for table in tables:
        qualified = f"{space}.{_identifier(table)}"
        statements.append(f"REVOKE ALL ON {qualified} FROM {role}")
        if table in AUDIT_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON {qualified} TO {role}")
        elif table == "alembic_version":
            statements.append(f"GRANT SELECT ON {qualified} TO {role}")
        else:
            statements.append(f"GRANT {ORDINARY_RIGHTS} ON {qualified} TO {role}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {space} TO {role}")
    return statements


def roles_script(app_role: str, *, schema: str = "public") -> str:
    """The GRANTs as a psql script, one statement a line, in one transaction."""
    lines = [
        "-- caseload: rights of the app's role (run as the tables' owner after every",
        "-- migration; docs/operations.md). The audit trail: SELECT and INSERT only.",
        "BEGIN;",
        *(f"{statement};" for statement in grant_statements(app_role, schema=schema)),
        "COMMIT;",
    ]
    return "\n".join(lines) + "\n"
