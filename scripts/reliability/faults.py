"""Faults figure (docs/RELIABILITY.md): kill -9 of the server mid-write, repeated.

    .venv/bin/python scripts/reliability/faults.py --database sqlite --kills 20
    .venv/bin/python scripts/reliability/faults.py --database postgresql --kills 20

Writers (threads, each a worker signed in through the real forms) log contacts on
their own cases as fast as the server answers. After a random 1 to 3 seconds the whole
gunicorn process group is killed with SIGKILL, in the middle of writes; the server is
started again and the writers carry on with their sessions. After every kill:
SQLite's ``PRAGMA integrity_check`` is "ok" (PostgreSQL: the check below reads every
row of the clinical tables). After all the kills: every acknowledged contact (a 302
to the case) is stored exactly once, and every episode's summary rows equal their
recomputation from its contacts (``caseload.services.episodes.refresh_summary``, run in a
transaction that is rolled back). Prints one JSON line; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from concurrency import contact_form
from harness import Browser, Prepared, app_config, database, machine_state, prepare, start_server


def integrity(url: str) -> str:
    """SQLite's integrity check; on PostgreSQL, a full read of the clinical tables."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return str(conn.execute(sa.text("PRAGMA integrity_check")).scalar())
            for table in ("clients", "episodes", "contacts", "contact_scores", "episode_summaries"):
                conn.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608 (fixed names)
            return "ok"
    finally:
        engine.dispose()


def summaries_match(prepared: Prepared) -> tuple[int, list[int]]:
    """(episodes checked, those whose stored summary differs from its recomputation)."""
    from caseload import create_app
    from caseload.extensions import db
    from caseload.models import Episode

    def snapshot(episode_id: int) -> Any:
        conn = db.session.connection()
        summary = (
            conn.execute(
                sa.text("SELECT * FROM episode_summaries WHERE episode_id = :e"), {"e": episode_id}
            )
            .mappings()
            .all()
        )
        measures = (
            conn.execute(
                sa.text(
                    "SELECT * FROM episode_measure_summaries"
                    " WHERE episode_id = :e ORDER BY measure_id"
                ),
                {"e": episode_id},
            )
            .mappings()
            .all()
        )
        rows = [dict(r) for r in summary] + [dict(r) for r in measures]
        for row in rows:
            row.pop("id", None)
        return rows

    app = create_app(app_config(prepared.url, prepared.instance, prepared.secret_key))
    differ = []
    with app.app_context():
        ids = list(db.session.scalars(sa.select(Episode.id)))
        for episode_id in ids:
            before = snapshot(episode_id)
            episode = db.session.get(Episode, episode_id)
            from caseload.services.episodes import refresh_summary

            refresh_summary(episode)  # type: ignore[arg-type]
            db.session.flush()
            after = snapshot(episode_id)
            db.session.rollback()
            if before != after:
                differ.append(episode_id)
        db.session.remove()
        db.engine.dispose()
    return len(ids), differ


def main() -> int:
    """Run the figure; print it as JSON; 0 when every check holds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(14)  # noqa: S311 (load generation, not secrets)

    with (
        tempfile.TemporaryDirectory(prefix="caseload-faults-") as tmp,
        database(args.database, Path(tmp)) as url,
    ):
        prepared = prepare(url, Path(tmp) / "instance", workers=args.writers)
        server = start_server(prepared, workers=args.gunicorn_workers)
        browsers = []
        for account in prepared.accounts:
            browser = Browser(server.base)
            if not browser.sign_in(account):
                raise SystemExit(f"could not sign in {account.username}")
            browsers.append(browser)
        acknowledged: list[str] = []
        statuses: Counter[int] = Counter()
        checks: list[str] = []
        lock = threading.Lock()
        seqs = [0] * len(browsers)
        in_flight_at_kill = 0
        for _kill in range(args.kills):
            stop = threading.Event()
            busy = [False] * len(browsers)

            def write(i: int, stop: threading.Event = stop, busy: list[bool] = busy) -> None:
                account = prepared.accounts[i]
                path = f"/episodes/{account.episode_id}/contacts/new"
                while not stop.is_set():
                    hidden = browsers[i].form(path)
                    if "csrf_token" not in hidden:
                        continue  # the server went away between pages
                    note = f"rel-{i}-{seqs[i]}"
                    data = contact_form(hidden, note, seqs[i])
                    seqs[i] += 1
                    busy[i] = True
                    reply = browsers[i].post(path, data)
                    busy[i] = False
                    with lock:
                        statuses[reply.status] += 1
                        if (
                            reply.status == 302
                            and f"/episodes/{account.episode_id}" in reply.location
                        ):
                            acknowledged.append(note)

            threads = [threading.Thread(target=write, args=(i,)) for i in range(len(browsers))]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(1.0, 3.0))
            in_flight_at_kill += sum(busy)
            server.kill9()
            stop.set()
            for t in threads:
                t.join()
            checks.append(integrity(url))
            server = start_server(prepared, workers=args.gunicorn_workers)
            for browser in browsers:
                browser.base = server.base
        server.stop()
        stored_rows: dict[str, int] = {}
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            for note, count in conn.execute(
                sa.text("SELECT note, COUNT(*) FROM contacts WHERE note LIKE 'rel-%' GROUP BY note")
            ):
                stored_rows[str(note)] = int(count)
        engine.dispose()
        episodes, differ = summaries_match(prepared)

    missing = [n for n in acknowledged if n not in stored_rows]
    duplicates = [n for n, c in stored_rows.items() if c > 1]
    failures = sum(c for s, c in statuses.items() if s >= 500)
    figures = {
        "database": args.database,
        "kills": args.kills,
        "writers": args.writers,
        "posts_in_flight_at_kills": in_flight_at_kill,
        "acknowledged": len(acknowledged),
        "stored": sum(stored_rows.values()),
        "stored_not_acknowledged": len(set(stored_rows) - set(acknowledged)),
        "missing": len(missing),
        "duplicates": len(duplicates),
        "integrity_checks_ok": sum(1 for c in checks if c == "ok"),
        "integrity_checks": len(checks),
        "episodes_checked": episodes,
        "summaries_differing": len(differ),
        "responses_5xx": failures,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "machine": machine_state(),
    }
    print(json.dumps(figures))
    ok = (
        not missing
        and not duplicates
        and not differ
        and all(c == "ok" for c in checks)
        and failures == 0
        and acknowledged
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
