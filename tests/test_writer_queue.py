"""SQLite writers take turns within a process (``caseload.db.WriterQueue``).

Before the queue, eight threads saving at once on SQLite each polled SQLite's busy
handler, and about once a minute one waited past the busy timeout while later arrivals
got in: a 503 for a save that had only to wait its turn.
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from caseload.db import WriterQueue, configure_engine


def test_a_second_thread_waits_for_the_turn_until_it_is_given_back() -> None:
    queue = WriterQueue(timeout_seconds=5)
    first: dict[str, object] = {}
    queue.enter(first)
    assert first == {"caseload_writer_turn": True}
    entered = threading.Event()

    def second() -> None:
        info: dict[str, object] = {}
        queue.enter(info)
        entered.set()
        queue.leave(info)

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.2)  # still waiting: the first holds the turn
    queue.leave(first)
    assert first == {}
    assert entered.wait(5)
    thread.join()


def test_a_thread_never_waits_for_its_own_turn() -> None:
    queue = WriterQueue(timeout_seconds=5)
    outer: dict[str, object] = {}
    inner: dict[str, object] = {}
    queue.enter(outer)
    queue.enter(inner)  # another connection of the same thread: no deadlock
    assert inner == {}
    queue.leave(inner)  # gives back nothing it does not hold
    assert outer == {"caseload_writer_turn": True}
    queue.leave(outer)


def test_a_thread_that_cannot_get_the_turn_goes_on_without_it() -> None:
    queue = WriterQueue(timeout_seconds=0.05)
    holder: dict[str, object] = {}
    queue.enter(holder)
    late: dict[str, object] = {}
    thread = threading.Thread(target=queue.enter, args=(late,))
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert late == {}  # no turn taken: SQLite's own busy wait applies
    queue.leave(holder)


def _engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.QueuePool, pool_size=10)
    configure_engine(engine, busy_timeout_ms=5000)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE saves (id INTEGER PRIMARY KEY, who INTEGER)")
    return engine


def test_the_turn_is_held_from_begin_to_commit_or_rollback(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "turns.sqlite3")
    with engine.connect() as conn:
        with conn.begin():
            conn.exec_driver_sql("INSERT INTO saves (who) VALUES (1)")
            assert conn.info.get("caseload_writer_turn") is True
        assert "caseload_writer_turn" not in conn.info
        trans = conn.begin()
        assert conn.info.get("caseload_writer_turn") is True
        trans.rollback()
        assert "caseload_writer_turn" not in conn.info
        with conn.execution_options(sqlite_begin="DEFERRED").begin():
            assert "caseload_writer_turn" not in conn.info  # a read takes no turn
    engine.dispose()


def test_many_threads_saving_at_once_all_save(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "many.sqlite3")
    errors: list[BaseException] = []

    def saver(who: int) -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    conn.execute(sa.text("INSERT INTO saves (who) VALUES (:who)"), {"who": who})
        except BaseException as error:  # noqa: BLE001 (collected for the assertion)
            errors.append(error)

    threads = [threading.Thread(target=saver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM saves").scalar() == 200
    engine.dispose()
