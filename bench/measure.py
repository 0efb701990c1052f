"""Server-side timing of one page: wall and CPU time inside the app, its SQL statements,
and the page's floor.

Timing wraps the WSGI app, from the call to the close of its response body (so a
streamed export is timed to its last byte), not the test client around it. The floor
of a page is what no implementation of it could beat on this app and this database:
a bare signed-in route of the same app (session check, settings revision, the request's
own transaction) plus the page's own SQL statements replayed directly on a database
connection with no ORM, template or Python around them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from caseload.extensions import db
from caseload.policy import SIGNED_IN, policy

#: The endpoint of the bare signed-in route the bench adds to its own app.
FLOOR_PATH = "/bench-floor"


@dataclass
class Recorder:
    """What the app did in the requests since the last ``reset``."""

    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    statements: list[tuple[str, Any]] = field(default_factory=list)
    capture: bool = False

    def reset(self) -> None:
        self.seconds.clear()
        self.cpu_seconds.clear()
        self.statements.clear()


class _Timed:
    """A response body that records the request's time when the server closes it."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


def instrument(app: Flask) -> Recorder:
    """Time every request to the app and count its statements; add the floor route.

    Call before the app's first request (Flask refuses new routes after it)."""
    recorder = Recorder()

    @policy(SIGNED_IN)
    def bench_floor() -> str:
        return "ok"

    app.add_url_rule(FLOOR_PATH, "bench_floor", bench_floor)
    inner = app.wsgi_app

    def timed_app(environ: dict[str, Any], start_response: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()

        def done() -> None:
            recorder.seconds.append(time.perf_counter() - started)
            recorder.cpu_seconds.append(time.thread_time() - cpu)

        return _Timed(inner(environ, start_response), done)

    app.wsgi_app = timed_app  # type: ignore[method-assign]
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        recorder.statements.append((statement, parameters) if recorder.capture else ("", None))

    return recorder


@dataclass(frozen=True)
class Timing:
    """One page's figures over its measured requests."""

    requests: int
    p50_ms: float
    p95_ms: float
    cpu_p50_ms: float
    queries: int
    statuses: tuple[int, ...]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))
    return ordered[index]


def time_requests(
    recorder: Recorder,
    send: Callable[[], int],
    *,
    prepare: Callable[[], None] | None = None,
    requests: int,
    warm_up: int = 3,
) -> Timing:
    """Send the request ``warm_up`` times unmeasured, then ``requests`` times measured.

    ``prepare`` runs before each request, untimed (fetching a form's fresh keys); only
    the request ``send`` makes is timed. The statement count is the median per request.
    """
    for _ in range(warm_up):
        if prepare:
            prepare()
        send()
    seconds: list[float] = []
    cpu: list[float] = []
    counts: list[int] = []
    statuses: list[int] = []
    for _ in range(requests):
        if prepare:
            prepare()
        recorder.reset()
        statuses.append(send())
        # The last request recorded is the measured one (prepare's are reset above).
        seconds.append(recorder.seconds[-1])
        cpu.append(recorder.cpu_seconds[-1])
        counts.append(len(recorder.statements))
    return Timing(
        requests=requests,
        p50_ms=statistics.median(seconds) * 1000,
        p95_ms=percentile(seconds, 0.95) * 1000,
        cpu_p50_ms=statistics.median(cpu) * 1000,
        queries=int(statistics.median(counts)),
        statuses=tuple(sorted(set(statuses))),
    )


def capture_statements(recorder: Recorder, send: Callable[[], int]) -> list[tuple[str, Any]]:
    """The statements one request runs, with their parameters."""
    recorder.reset()
    recorder.capture = True
    try:
        send()
    finally:
        recorder.capture = False
    return list(recorder.statements)


def replay_ms(app: Flask, statements: list[tuple[str, Any]], *, repeats: int = 15) -> float:
    """The median time to run the statements directly on a raw DBAPI connection, reading
    every row, inside one transaction that is rolled back (writes leave nothing). A
    statement the replay cannot repeat (a unique key the real request has since
    committed) is skipped; its time is not counted."""
    if not statements:
        return 0.0
    with app.app_context():
        raw = db.engine.raw_connection()
        sqlite = db.engine.dialect.name == "sqlite"
    try:
        times = []
        for _ in range(repeats):
            cursor = raw.cursor()
            if sqlite:
                cursor.execute("BEGIN")  # the app's connections run in autocommit mode
            elapsed = 0.0
            for statement, parameters in statements:
                started = time.perf_counter()
                try:
                    if isinstance(parameters, list):
                        cursor.executemany(statement, parameters)
                    else:
                        cursor.execute(statement, parameters or ())
                    if cursor.description is not None:
                        cursor.fetchall()
                except Exception:  # noqa: BLE001 (see the docstring)
                    raw.rollback()
                    cursor = raw.cursor()
                    if sqlite:
                        cursor.execute("BEGIN")
                    continue
                elapsed += time.perf_counter() - started
            times.append(elapsed)
            cursor.close()
            raw.rollback()
        return statistics.median(times) * 1000
    finally:
        raw.close()


def own_statements(
    page: list[tuple[str, Any]], bare: list[tuple[str, Any]]
) -> list[tuple[str, Any]]:
    """The page's statements less those the bare signed-in route also runs (the session
    check, the settings revision): what the page itself asks of the database."""
    shared = [statement for statement, _ in bare]
    own = []
    for statement, parameters in page:
        if statement in shared:
            shared.remove(statement)
        else:
            own.append((statement, parameters))
    return own


@dataclass(frozen=True)
class Floor:
    """The bare signed-in route's median, and its statements."""

    p50_ms: float
    statements: list[tuple[str, Any]]


def measure_floor(recorder: Recorder, client: FlaskClient) -> Floor:
    """Time the bare signed-in route (signed in on ``client``)."""

    def send() -> int:
        return client.get(FLOOR_PATH, buffered=True).status_code

    bare = time_requests(recorder, send, requests=50, warm_up=3)
    if bare.statuses != (200,):
        raise RuntimeError(f"the floor route answered {bare.statuses}")
    return Floor(bare.p50_ms, capture_statements(recorder, send))


def floor_ms(app: Flask, floor: Floor, page_statements: list[tuple[str, Any]]) -> float:
    """The page's floor: the bare signed-in route's median plus the page's own SQL."""
    return floor.p50_ms + replay_ms(app, own_statements(page_statements, floor.statements))
