"""Backing up the database and restoring it (docs/operations.md).

SQLite is copied with its online backup API, which reads one consistent snapshot
while the application goes on serving (in WAL mode writers are not blocked). On
PostgreSQL the server's own tools do the work: ``pg_dump`` in its custom format,
``pg_restore`` back; they come with the PostgreSQL client package, and a clear
message names it when they are missing. A restore refuses a database that holds
any row unless forced, and checks the audit trail's hash chain afterwards.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, literal, select, table
from sqlalchemy.engine import URL

from caseload.services import ServiceError
from caseload.services.audit import ChainCheck, verify_chain

#: Where the PostgreSQL tools come from, for the message when they are missing.
PG_CLIENT_PACKAGE = "postgresql-client"

#: Tables that any use of the service writes to: a database with a row in one of them
#: is in use, and a restore would replace what it holds.
IN_USE_TABLES = ("users", "clients", "audit_events")


@dataclass(frozen=True)
class BackupResult:
    """A finished backup."""

    path: Path
    #: How it was taken, in words for the operator.
    method: str
    size: int


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore and the state of what was restored."""

    #: Rows in each table of the restored database, by table name.
    rows: dict[str, int]
    #: The migration revision the backup was taken at (``flask db upgrade`` brings it up).
    revision: str | None
    #: The audit chain's check; None when the backup predates the chain (revision 0009).
    chain: ChainCheck | None


def backup_database(engine: Engine, out: Path) -> BackupResult:
    """Copy the database to a new file ``out``: never a half-written file, never over
    an existing one. Safe while the application serves."""
    if out.exists():
        raise ServiceError(f"{out} already exists: choose a new file for each backup.")
    if not out.parent.is_dir():
        raise ServiceError(f"The folder {out.parent} does not exist.")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            method = "SQLite online backup"
            _sqlite_backup(engine, partial)
        elif engine.dialect.name == "postgresql":
            method = "pg_dump, custom format"
            _run_pg_tool(
                "pg_dump",
                engine.url,
                ["--format=custom", "--no-owner", "--no-privileges", "--file", str(partial)]
                + [f"--schema={schema}" for schema in _pg_schemas(engine.url)],
            )
        else:
            raise ServiceError(f"Backing up a {engine.dialect.name} database is not supported.")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path=out, method=method, size=out.stat().st_size)


def restore_database(engine: Engine, source: Path, *, force: bool = False) -> RestoreResult:
    """Replace the database's contents with a backup, then check the audit chain.

    A database in use (``tables_in_use``) is refused unless ``force``: a restore into
    the wrong database would lose everything written there.
    """
    if not source.is_file():
        raise ServiceError(f"{source} is not a file.")
    if engine.dialect.name == "sqlite":
        _check_sqlite_backup(source)
    elif engine.dialect.name != "postgresql":
        raise ServiceError(f"Restoring a {engine.dialect.name} database is not supported.")
    in_use = tables_in_use(engine)
    if in_use and not force:
        raise ServiceError(
            f"The database is not empty: it holds {' and '.join(in_use)}. Restore into a new, "
            "empty database, or give --force to replace its contents."
        )
    engine.dispose()
    if engine.dialect.name == "sqlite":
        _sqlite_restore(engine, source)
    else:
        _run_pg_tool(
            "pg_restore",
            engine.url,
            ["--no-owner", "--no-privileges", "--clean", "--if-exists", "--single-transaction"]
            + ["--exit-on-error", str(source)],
        )
    engine.dispose()  # every later connection reads the restored database afresh
    return RestoreResult(
        rows=row_counts(engine), revision=_revision(engine), chain=_check_chain(engine)
    )


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in each table of the database (Alembic's own table left out)."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        names = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"})
        return {
            name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in names
        }


def tables_in_use(engine: Engine) -> list[str]:
    """Those of ``IN_USE_TABLES`` holding a row: a database in use. A freshly migrated
    database has none (its migrations may seed other tables, such as settings)."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        present = set(inspect(conn).get_table_names())
        return [
            name
            for name in IN_USE_TABLES
            if name in present
            and conn.execute(select(literal(1)).select_from(table(name)).limit(1)).first()
        ]


# SQLite ------------------------------------------------------------------------------


def _sqlite_backup(engine: Engine, target: Path) -> None:
    """Copy the live database with the online backup API, in one step: one consistent
    snapshot, and in WAL mode the application's writers carry on meanwhile."""
    source = engine.raw_connection()
    try:
        with closing(sqlite3.connect(target)) as copy:
            source.driver_connection.backup(copy)  # type: ignore[union-attr]
            # One self-contained file: no write-ahead log beside it.
            copy.execute("PRAGMA journal_mode = DELETE")
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
    finally:
        source.close()
    if verdict != "ok":
        raise ServiceError(f"The copy failed SQLite's check: {verdict}")


def _check_sqlite_backup(source: Path) -> None:
    """Refuse a file that is not a sound SQLite database of this application."""
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup:
            (verdict,) = backup.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as error:
        raise ServiceError(f"{source} is not a SQLite database: {error}") from error
    if verdict != "ok":
        raise ServiceError(f"{source} failed SQLite's check: {verdict}")
    if "audit_events" not in tables:
        raise ServiceError(f"{source} is not a backup of caseload (it has no audit trail).")


def _sqlite_restore(engine: Engine, source: Path) -> None:
    """Copy the backup over the database with the online backup API."""
    target = engine.raw_connection()
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup:
            backup.backup(target.driver_connection)  # type: ignore[arg-type]
    finally:
        target.close()


# PostgreSQL --------------------------------------------------------------------------


def _run_pg_tool(name: str, url: URL, arguments: list[str]) -> None:
    """Run pg_dump or pg_restore against the database; the password goes in the
    environment, never on the command line (where ``ps`` would show it)."""
    tool = shutil.which(name)
    if tool is None:
        raise ServiceError(
            f"{name} was not found. Install the PostgreSQL client tools of the server's "
            f"major version (on Debian and Ubuntu the {PG_CLIENT_PACKAGE} package), then "
            "run the command again."
        )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string()
    finished = subprocess.run(  # noqa: S603 (the tool's absolute path; arguments are ours)
        [tool, *arguments, f"--dbname={conninfo}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        problem = finished.stderr.strip().splitlines()[-3:]
        raise ServiceError(f"{name} failed: {' '.join(problem) or finished.returncode}")


def _pg_schemas(url: URL) -> list[str]:
    """The schemas a ``search_path`` in the URL's options names (else every schema)."""
    options = url.query.get("options", "")
    for option in (options,) if isinstance(options, str) else options:
        for part in option.split():
            if part.startswith("-csearch_path="):
                return [s.strip() for s in part.split("=", 1)[1].split(",") if s.strip()]
    return []


# After a restore ---------------------------------------------------------------------


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _check_chain(engine: Engine) -> ChainCheck | None:
    """The audit chain's check, or None when the restored schema has no chain yet."""
    with engine.connect() as conn:
        columns = {column["name"] for column in inspect(conn).get_columns("audit_events")}
    return verify_chain(engine) if "hash" in columns else None
