"""Concurrency figure (docs/RELIABILITY.md): N workers log contacts for D seconds against
the app under gunicorn, then every acknowledged write is looked for in the database.

    .venv/bin/python scripts/reliability/concurrency.py --database sqlite --workers 8 --seconds 60
    .venv/bin/python scripts/reliability/concurrency.py --database postgresql --gunicorn-workers 4

Each simulated worker is a thread with its own browser, signed in through the real
forms. It logs contacts on its own case, each with a unique note; one post in ten is
sent a second time with the same form (a double click or a retry). Afterwards:
every acknowledged contact (a 302 to the case) is present exactly once, no note is
stored twice, and no response was 500 or above. Then, for each worker, pairs of
conflicting saves of the consent form (two tabs opened on the same version, posted
at the same moment): one must win (302), the other must see the conflict page (409)
with its note kept. Prints one JSON line of figures; exits 1 on any failure.
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from harness import Account, Browser, database, machine_state, prepare, start_server

LONDON = ZoneInfo("Europe/London")


@dataclass
class WorkerLog:
    """What one simulated worker saw."""

    acknowledged: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    resubmitted: int = 0
    signed_in: bool = False
    #: (seconds after this worker's sign-in, status, seconds the request took) of each
    #: post that was not a success.
    failures: list[tuple[float, int, float]] = field(default_factory=list)


def contact_form(hidden: dict[str, str], note: str, seq: int) -> dict[str, str]:
    """A valid contact post: a distinct time per post (days back, 20 minutes apart)."""
    day = datetime.now(LONDON).date() - timedelta(days=1 + seq // 24)
    moment = datetime(day.year, day.month, day.day, 9, 0, tzinfo=LONDON) + timedelta(
        minutes=20 * (seq % 24)
    )
    data = dict(hidden)
    data.update(
        {
            # The day, month and year boxes and the 24-hour time, as a browser posts them.
            "occurred_on-day": str(moment.day),
            "occurred_on-month": str(moment.month),
            "occurred_on-year": str(moment.year),
            "occurred_time": moment.strftime("%H:%M"),
            "contact_type": "treatment",
            "mode": "telephone",
            "attendance": "5",
            "duration_minutes": "30",
            "intervention": "guided_self_help",
            "note": note,
        }
    )
    for number in range(1, 10):
        data[f"phq9-{number}"] = "1" if number < 9 else "0"
    for number in range(1, 8):
        data[f"gad7-{number}"] = "1"
    return data


def run_worker(base: str, account: Account, index: int, seconds: float, log: WorkerLog) -> None:
    """Sign in, then log contacts for ``seconds``."""
    browser = Browser(base)
    log.signed_in = browser.sign_in(account)
    if not log.signed_in:
        return
    start = time.monotonic()
    until = start + seconds
    rng = random.Random(index)  # noqa: S311 (load generation, not secrets)
    path = f"/episodes/{account.episode_id}/contacts/new"
    seq = 0
    while time.monotonic() < until:
        hidden = browser.form(path)
        note = f"rel-{index}-{seq}"
        data = contact_form(hidden, note, seq)
        reply = browser.post(path, data)
        log.statuses[reply.status] += 1
        if reply.status not in (302, 303):
            log.failures.append((round(time.monotonic() - start, 1), reply.status, reply.seconds))
        if reply.status == 302 and f"/episodes/{account.episode_id}" in reply.location:
            log.acknowledged.append(note)
        if rng.random() < 0.1:
            again = browser.post(path, data)  # the same rendered form, sent again
            log.statuses[again.status] += 1
            if again.status not in (302, 303):
                log.failures.append(
                    (round(time.monotonic() - start, 1), again.status, again.seconds)
                )
            log.resubmitted += 1
        seq += 1


def conflict_pair(base: str, browser: Browser, account: Account, n: int) -> tuple[int, int, bool]:
    """Two tabs on the consent form at the same version, posted at once."""
    path = f"/episodes/{account.episode_id}/consent"
    tabs = [browser.form(path), browser.form(path)]
    barrier = threading.Barrier(2)
    replies: list[tuple[int, str, str]] = [(0, "", ""), (0, "", "")]

    def post(i: int, answer: str) -> None:
        note = f"pair {n} tab {i}"
        data = dict(tabs[i]) | {"consent": answer, "consent_note": note}
        barrier.wait()
        reply = browser.post(path, data)
        replies[i] = (reply.status, reply.body, note)

    threads = [
        threading.Thread(target=post, args=(0, "declined")),
        threading.Thread(target=post, args=(1, "yes")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in replies)
    loser = [r for r in replies if r[0] == 409]
    kept = bool(loser) and loser[0][2] in loser[0][1]
    return statuses[0], statuses[1], kept


def check_database(url: str, instance: Path, secret: str) -> dict[str, int]:
    """How many times each load note is stored (contacts not entered in error)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT note, COUNT(*) FROM contacts WHERE note LIKE 'rel-%' GROUP BY note")
        ).all()
    engine.dispose()
    return {str(note): int(count) for note, count in rows}


def main() -> int:
    """Run the figure; print it as JSON; 0 when every check holds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5, help="conflict pairs per worker")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="caseload-concurrency-") as tmp,
        database(args.database, Path(tmp)) as url,
    ):
        prepared = prepare(url, Path(tmp) / "instance", workers=args.workers)
        server = start_server(prepared, workers=args.gunicorn_workers)
        try:
            logs = [WorkerLog() for _ in prepared.accounts]
            started = time.monotonic()
            threads = [
                threading.Thread(target=run_worker, args=(server.base, a, i, args.seconds, logs[i]))
                for i, a in enumerate(prepared.accounts)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            pairs: list[tuple[int, int, bool]] = []
            for n, account in enumerate(prepared.accounts):
                browser = Browser(server.base)
                if not browser.sign_in(account):
                    pairs.append((0, 0, False))
                    continue
                for k in range(args.pairs):
                    pairs.append(conflict_pair(server.base, browser, account, n * 100 + k))
        finally:
            server.stop()
        stored = check_database(url, prepared.instance, prepared.secret_key)

    acknowledged = [note for log in logs for note in log.acknowledged]
    statuses: Counter[int] = Counter()
    for log in logs:
        statuses.update(log.statuses)
    missing = [n for n in acknowledged if stored.get(n, 0) == 0]
    duplicated = [n for n, c in stored.items() if c > 1]
    errors = sum(c for s, c in statuses.items() if s >= 500 or s == 0)
    good_pairs = sum(1 for a, b, kept in pairs if (a, b) == (302, 409) and kept)
    figures = {
        "database": args.database,
        "gunicorn_workers": args.gunicorn_workers,
        "simulated_workers": args.workers,
        "signed_in": sum(1 for log in logs if log.signed_in),
        "seconds_logging": args.seconds,
        "seconds_total": round(elapsed, 1),
        "posts": sum(statuses.values()),
        "acknowledged": len(acknowledged),
        "resubmitted_same_form": sum(log.resubmitted for log in logs),
        "stored": sum(stored.values()),
        "missing": len(missing),
        "duplicates": len(duplicated),
        "responses_5xx_or_failed": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "failures_at_seconds_status_took": [f for log in logs for f in log.failures],
        "conflict_pairs": len(pairs),
        "conflict_pairs_one_wins_other_409_input_kept": good_pairs,
        "conflict_pair_outcomes": dict(Counter(f"{a}/{b}/{k}" for a, b, k in pairs)),
        "machine": machine_state(),
    }
    print(json.dumps(figures))
    ok = (
        not missing
        and not duplicated
        and errors == 0
        and good_pairs == len(pairs)
        and figures["signed_in"] == args.workers
        and acknowledged
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
