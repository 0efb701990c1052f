"""``python -m bench``: build the full demo service and time the hot paths against targets.

Runs on a temporary SQLite database, and also on PostgreSQL when
CASELOAD_BENCH_DATABASE_URL is set (in a schema of its own, dropped at the end).
Prints one table; exits 1 when any measurement misses its target.
Performance targets live here, never in the timed test suite.
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from caseload import create_app
from caseload.db import utcnow
from caseload.demo import DEFAULT_CLIENTS, build_demo_service, build_demo_staff
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import User
from caseload.services.curves import rebuild_expected_curves
from caseload.services.episodes import worker_caseload

#: Targets in seconds.
SEEDING_TARGET = 90.0
CURVES_TARGET = 2.0
CASELOAD_QUERY_TARGET = 0.15
CASELOAD_PAGE_TARGET = 0.30
REPEATS = 7


@dataclass(frozen=True)
class Result:
    """One timed measurement against its target (None when it could not run)."""

    database: str
    name: str
    seconds: float | None
    target: float
    note: str = ""

    @property
    def passed(self) -> bool:
        """Within target (a measurement that could not run does not fail the bench)."""
        return self.seconds is None or self.seconds <= self.target


def median_seconds(action: Callable[[], Any], repeats: int = REPEATS) -> float:
    """The median wall time of ``action`` after one warm-up run."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sign_in(client: FlaskClient, username: str, password: str, secret: str) -> bool:
    """Sign in through the real forms (passphrase, then TOTP); True on success."""

    def token(path: str) -> str:
        html = client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        return match.group(1) if match else ""

    first = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token("/login")}
    )
    if first.status_code != 302:
        return False
    second = client.post(
        "/login/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token("/login/mfa")}
    )
    return second.status_code == 302


def caseload_path(app: Flask) -> str | None:
    """The URL of the worker's caseload page, if the app has one."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith(".caseload") and not rule.arguments:
            return rule.rule
    return None


def measure(app: Flask, label: str) -> list[Result]:
    """Seed the full demo into the app's empty database and time the hot paths."""
    results = []
    with app.app_context():
        upgrade()
        now = utcnow()
        today = local_date(now)
        start = time.perf_counter()
        credentials = build_demo_staff()
        db.session.commit()
        summary = build_demo_service(
            today=today, now=now, clients=DEFAULT_CLIENTS, checkpoint=db.session.commit
        )
        db.session.commit()
        seeding = time.perf_counter() - start
        results.append(
            Result(
                label,
                f"seed-demo ({summary.clients} clients, {summary.contacts} contacts)",
                seeding,
                SEEDING_TARGET,
            )
        )

        def rebuild() -> None:
            rebuild_expected_curves()
            db.session.commit()

        results.append(
            Result(label, "rebuild expected curves", median_seconds(rebuild, 3), CURVES_TARGET)
        )
        heaviest = max(summary.active_by_worker, key=summary.active_by_worker.__getitem__)
        worker = db.session.scalar(sa.select(User).where(User.username == heaviest))
        if worker is None:
            raise RuntimeError(f"demo worker {heaviest} is missing")

        def query() -> None:
            worker_caseload(worker, worker=worker, today=today)
            db.session.rollback()

        results.append(
            Result(
                label,
                f"worker_caseload ({heaviest}, {summary.active_by_worker[heaviest]} active)",
                median_seconds(query),
                CASELOAD_QUERY_TARGET,
            )
        )
        db.session.remove()

    path = caseload_path(app)
    if path is None:
        results.append(
            Result(label, "caseload page", None, CASELOAD_PAGE_TARGET, "no caseload route yet")
        )
        return results
    login = next(c for c in credentials if c.username == heaviest)
    client = app.test_client()
    if not sign_in(client, login.username, login.password, login.totp_secret):
        results.append(
            Result(label, "caseload page", float("inf"), CASELOAD_PAGE_TARGET, "sign-in failed")
        )
        return results

    status: list[int] = []

    def page() -> None:
        status.append(client.get(path).status_code)

    seconds = median_seconds(page)
    ok = set(status) == {200}
    results.append(
        Result(
            label,
            f"caseload page ({heaviest})",
            seconds if ok else float("inf"),
            CASELOAD_PAGE_TARGET,
            "" if ok else f"status {sorted(set(status))}",
        )
    )
    return results


def bench_config(url: str, instance: Path) -> dict[str, Any]:
    """Production-like settings (real password hashing) on the bench database."""
    return {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secrets.token_hex(16),
    }


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh schema on the given server, dropped afterwards; yields its URL."""
    schema = f"bench_{secrets.token_hex(6)}"
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_on(url: str, label: str, instance: Path) -> list[Result]:
    """Measure on one database, disposing of its engine afterwards."""
    app = create_app(bench_config(url, instance))
    try:
        return measure(app, label)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def print_table(results: list[Result]) -> None:
    """One line per measurement: database, what, time, target, verdict."""
    width = max(len(r.name) for r in results)
    print(f"{'database':<11} {'measurement':<{width}} {'time':>10} {'target':>10}  result")
    for r in results:
        took = (
            "-"
            if r.seconds is None
            else ("failed" if r.seconds == float("inf") else f"{r.seconds * 1000:.0f} ms")
        )
        verdict = "SKIP" if r.seconds is None else ("PASS" if r.passed else "FAIL")
        note = f"  ({r.note})" if r.note else ""
        print(
            f"{r.database:<11} {r.name:<{width}} {took:>10} "
            f"{r.target * 1000:>7.0f} ms  {verdict}{note}"
        )


def main() -> int:
    """Run every bench; 0 when all targets are met, 1 otherwise."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="caseload-bench-") as tmp:
        root = Path(tmp)
        results += run_on(f"sqlite:///{root / 'bench.sqlite3'}", "SQLite", root / "sqlite")
        pg_url = os.environ.get("CASELOAD_BENCH_DATABASE_URL", "")
        if pg_url:
            with postgres_schema(pg_url) as url:
                results += run_on(url, "PostgreSQL", root / "postgres")
    print_table(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
