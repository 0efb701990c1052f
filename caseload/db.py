"""Database plumbing shared by every model: the declarative base, UTC times and engine set-up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal

from sqlalchemy import DateTime, Engine, Enum, Integer, MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: Constraint names are fixed so that Alembic diffs are stable on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on every database.

    PostgreSQL keeps the zone itself; SQLite stores naive UTC text, so the zone
    is attached again on the way out. Naive datetimes are refused on the way in,
    because a naive time in a clinical record is ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC time is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every caseload model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: How a SQLite transaction begins: "IMMEDIATE" takes the write lock at BEGIN, "DEFERRED"
#: takes none until the first write. Outside a request every transaction may write (the
#: CLI, tests), so IMMEDIATE is the default; the web layer makes a read-only request's
#: transactions DEFERRED. A connection's ``sqlite_begin`` execution option overrides this.
SQLiteBegin = Literal["DEFERRED", "IMMEDIATE"]
SQLITE_BEGIN: ContextVar[SQLiteBegin] = ContextVar("caseload_sqlite_begin", default="IMMEDIATE")


@contextmanager
def sqlite_begin(mode: SQLiteBegin) -> Iterator[None]:
    """Begin SQLite transactions opened inside the block in this mode."""
    token = SQLITE_BEGIN.set(mode)
    try:
        yield
    finally:
        SQLITE_BEGIN.reset(token)


def configure_engine(engine: Engine, *, busy_timeout_ms: int = 5000) -> None:
    """Apply the SQLite settings of docs/design.md section 7; PostgreSQL needs none.

    pysqlite's own transaction handling is switched off so that SQLAlchemy emits
    BEGIN itself (the "begin" event recipe of the SQLAlchemy SQLite docs), in the
    mode ``SQLITE_BEGIN`` gives. A transaction that will write begins IMMEDIATE: it
    takes the write lock at its start, waiting up to the busy timeout, instead of
    failing half-way with "database is locked" when a deferred transaction that has
    read cannot upgrade to a writer (another writer committed since its snapshot,
    which WAL refuses at once, without waiting). A read-only transaction begins
    DEFERRED, so a long read (a report, an export) never holds the write lock and
    never blocks a save; its request's audit events are written after the reads, in
    one short IMMEDIATE transaction of their own (``caseload.web.transactions``).

    The planner's statistics are kept fresh with ``PRAGMA optimize`` when a connection
    opens, now and then while the pool keeps it, and when it closes
    (``optimize_planner_statistics``).
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()
        optimize_planner_statistics(dbapi_connection, at_open=True)
        # Once the connection has served a minute of queries, SQLite knows which tables
        # they use; the first ``PRAGMA optimize`` then, and hourly after.
        record.info["caseload_optimize_due"] = time.monotonic() + FIRST_OPTIMIZE_AFTER_SECONDS

    writers = WriterQueue(busy_timeout_ms / 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin") or SQLITE_BEGIN.get()
        if mode == "DEFERRED":
            connection.exec_driver_sql("BEGIN")
            return
        writers.enter(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(connection.info)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Any) -> None:
        writers.leave(connection.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        writers.leave(connection.info)

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        writers.leave(record.info)  # a safety net: never keep the turn past the pool
        # Pooled connections live long: refresh the planner's statistics now and then.
        due = record.info.get("caseload_optimize_due")
        if dbapi_connection is not None and due is not None and time.monotonic() >= due:
            record.info["caseload_optimize_due"] = time.monotonic() + OPTIMIZE_INTERVAL_SECONDS
            optimize_planner_statistics(dbapi_connection)

    @event.listens_for(engine, "close")
    def _on_close(dbapi_connection: Any, _record: Any) -> None:
        optimize_planner_statistics(dbapi_connection)


#: How often a pooled SQLite connection runs ``PRAGMA optimize`` (at check-in), and how
#: long after it opens it first does.
OPTIMIZE_INTERVAL_SECONDS = 3600
FIRST_OPTIMIZE_AFTER_SECONDS = 60
#: Rows ANALYZE looks at per index when ``PRAGMA optimize`` decides to run it: an
#: approximate analysis, quick on any table (the SQLite docs suggest 100 to 1000).
ANALYSIS_LIMIT = 400


def optimize_planner_statistics(dbapi_connection: Any, *, at_open: bool = False) -> None:
    """Let SQLite refresh the statistics its query planner uses (``sqlite_stat1``).

    The SQLite documentation's advice for long-lived connections: ``PRAGMA
    optimize=0x10002`` when a connection opens (every table checked), and ``PRAGMA
    optimize`` from time to time and before it closes. Either runs ANALYZE only on the
    tables whose statistics are missing or out of date, so it usually costs next to
    nothing; ``analysis_limit`` keeps the ANALYZE it does run short. A busy database
    is no reason to fail: the statistics wait for the next turn.
    """
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
            cursor.execute("PRAGMA optimize = 0x10002" if at_open else "PRAGMA optimize")
            cursor.execute("PRAGMA analysis_limit = 0")
        finally:
            cursor.close()
    except Exception:  # noqa: BLE001 - statistics are an optimisation, never a failure
        log.warning("PRAGMA optimize did not run", exc_info=True)


class WriterQueue:
    """One process's writers to a SQLite database take turns at a lock before BEGIN
    IMMEDIATE, so they queue in order instead of polling SQLite's busy handler.

    SQLite lets one writer in at a time and makes the others retry with growing sleeps;
    with many threads retrying, an unlucky one can wait past the busy timeout while
    later arrivals get in ("database is locked", a 503). Behind this lock only one
    thread per app process contends for SQLite's lock at a time, so waits are first
    come, first served within a process and short across processes. The turn is held
    from BEGIN IMMEDIATE to COMMIT or ROLLBACK; a thread that cannot get it within the
    busy timeout goes on without it (SQLite's own waiting then applies, as before), and
    a thread that already holds it through another connection does not wait for itself.
    """

    def __init__(self, timeout_seconds: float) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout_seconds
        self._owner: int | None = None

    def enter(self, info: dict[str, Any]) -> None:
        """Wait for this process's turn to write; note the turn on the connection."""
        me = threading.get_ident()
        if self._owner == me:
            return
        if self._lock.acquire(timeout=self._timeout):
            self._owner = me
            info["caseload_writer_turn"] = True

    def leave(self, info: dict[str, Any]) -> None:
        """Give the turn back, if this connection holds it."""
        if info.pop("caseload_writer_turn", False):
            self._owner = None
            self._lock.release()


def render_migration_item(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Write UTCDateTime into migrations as the plain column type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, IntEnumType):
        return "sa.Integer()"
    return False


def enum_column(enum_cls: type[StrEnum], *, length: int = 32) -> Enum:
    """A column type storing a string enum by value, without a database enum type."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class IntEnumType(TypeDecorator[IntEnum]):
    """An integer column that reads back as a given IntEnum (e.g. attendance codes)."""

    impl = Integer
    cache_ok = True

    def __init__(self, enum_cls: type[IntEnum]) -> None:
        super().__init__()
        self.enum_cls = enum_cls

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        return None if value is None else int(self.enum_cls(value))

    def process_result_value(self, value: int | None, dialect: Any) -> IntEnum | None:
        return None if value is None else self.enum_cls(value)
