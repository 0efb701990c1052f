"""Load test (docs/PERFORMANCE.md): simulated staff against the app under gunicorn.

    .venv/bin/python scripts/load/run.py --database postgresql --gunicorn-workers 4 --users 32
    .venv/bin/python scripts/load/run.py --database sqlite --threads 8 --users 16

A demo service is built in a fresh database (``seed-demo``: its staff, clients, contacts,
supervision reviews and audit history), the app is served by gunicorn as in the
reliability runs (scripts/reliability/harness.py), and every demo account signs in
through the real forms (passphrase, then a TOTP code). Then, for ``--seconds``, each
simulated user works without pause on a session of its role:

* workers (most users) open their caseload and diary, open a case, and on one visit in
  three open the contact form and log a contact with PHQ-9 and GAD-7 answers;
* supervisors open the review queue, a case's review page and the team's load;
* one lead opens the service dashboard and the findings view.

Several users of one role share a demo account's session (as one person's tabs would):
the demo has eight workers and two supervisors.

Each request counts as an error when it fails to connect, answers 500 or more, or answers
anything but what the page should (200 for a page, a redirect to the case for a contact
saved). Reported: requests a second, p50/p95/p99 in milliseconds (all requests and per
page), errors, and the server's CPU time per request (user + system time of gunicorn's
worker processes over the run, divided by the requests answered; on PostgreSQL the
database server's own CPU is not included). The users never pause, so the latencies
include queueing: at saturation they measure the server's capacity, not one person's wait.

``--profile`` serves one process under cProfile (CASELOAD_PROFILE_DIR, read by
scripts/reliability/wsgi_app.py) and adds the top costs by function and by package.

Results are merged into bench/load-results.json under the database's name; exits 1 when
any request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reliability"))

from concurrency import contact_form  # noqa: E402
from harness import (  # noqa: E402
    Account,
    Browser,
    Prepared,
    app_config,
    database,
    machine_state,
    start_server,
)

LONDON = ZoneInfo("Europe/London")
RESULTS = ROOT / "bench" / "load-results.json"
EPISODE_LINK = re.compile(r'href="/episodes/(\d+)"')
REVIEW_LINK = re.compile(r'href="/supervision/episodes/(\d+)/review"')
ERROR_ITEM = re.compile(r'class="nhsuk-error-summary__list".*?<a [^>]*>([^<]+)', re.S)


@dataclass
class Tally:
    """What the users saw, per page: latencies in seconds and errors."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    #: Contact forms refused with a message, by the message.
    refusals: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, page: str, status: int, seconds: float, expected: int) -> None:
        with self.lock:
            self.seconds[page].append(seconds)
            self.statuses[f"{page} {status}"] += 1
            if status != expected:
                self.errors[f"{page} {status}"] += 1


class User:
    """One simulated person: a browser sharing its account's signed-in session."""

    def __init__(self, base: str, session: Browser, tally: Tally, index: int) -> None:
        self.browser = Browser(base)
        for cookie in session.jar:
            self.browser.jar.set_cookie(cookie)
        self.tally = tally
        self.rng = random.Random(index)  # noqa: S311 (load generation, not secrets)
        self.index = index
        self.seq = 0

    def get(self, page: str, path: str) -> str:
        reply = self.browser.get(path)
        self.tally.record(page, reply.status, reply.seconds, 200)
        return reply.body

    def worker_visit(self) -> None:
        caseload = self.get("caseload", "/caseload")
        self.get("diary", "/diary")
        episodes = EPISODE_LINK.findall(caseload)
        if not episodes:
            return
        episode = self.rng.choice(episodes)
        self.get("episode", f"/episodes/{episode}")
        if self.rng.random() < 1 / 3:
            self.log_contact(episode)

    def log_contact(self, episode: str) -> None:
        path = f"/episodes/{episode}/contacts/new"
        start = time.perf_counter()
        hidden = self.browser.form(path)
        self.tally.record("contact form", 200, time.perf_counter() - start, 200)
        # Yesterday, at one of 24 times (the reliability run's valid contact form).
        note = f"Load run contact {self.index}-{self.seq}."
        reply = self.browser.post(path, contact_form(hidden, note, self.seq % 24))
        self.seq += 1
        if reply.status == 200:
            # The form came back with a message: a refusal, not a server failure.
            found = ERROR_ITEM.search(reply.body)
            with self.tally.lock:
                self.tally.refusals[found.group(1).strip() if found else "form shown again"] += 1
        saved = reply.status == 302 and f"/episodes/{episode}" in reply.location
        self.tally.record("contact POST", 302 if saved else reply.status, reply.seconds, 302)

    def supervisor_visit(self) -> None:
        queue = self.get("supervisor queue", "/supervision/")
        episodes = REVIEW_LINK.findall(queue)
        if episodes:
            episode = self.rng.choice(episodes)
            self.get("review page", f"/supervision/episodes/{episode}/review")
        self.get("team load", "/supervision/team")

    def lead_visit(self) -> None:
        self.get("lead dashboard", "/lead/")
        self.get("findings", "/lead/findings")


def seed(prepared: Prepared, clients: int) -> list[dict[str, str]]:
    """Migrate and build the demo service; its accounts."""
    from flask_migrate import upgrade

    from caseload import create_app
    from caseload.extensions import db

    app = create_app(app_config(prepared.url, prepared.instance, prepared.secret_key))
    with app.app_context():
        upgrade()
        db.session.remove()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo", "--clients", str(clients)])
        if result.exit_code != 0:
            raise RuntimeError(f"seed-demo failed: {result.output}") from result.exception
        db.session.remove()
        db.engine.dispose()
    accounts: list[dict[str, str]] = json.loads(
        (prepared.instance / "demo-credentials.json").read_text()
    )
    return accounts


def sign_in_accounts(base: str, accounts: list[dict[str, str]]) -> dict[str, list[Browser]]:
    """A signed-in browser per demo account, by role."""
    sessions: dict[str, list[Browser]] = defaultdict(list)
    for account in accounts:
        if account["role"] not in ("worker", "supervisor", "lead"):
            continue
        browser = Browser(base)
        ok = browser.sign_in(
            Account(account["username"], account["totp_secret"], 0, 0),
            password=account["password"],
        )
        if not ok:
            raise RuntimeError(f"{account['username']} could not sign in")
        sessions[account["role"]].append(browser)
    return sessions


def roles_for(users: int) -> list[str]:
    """One lead, one supervisor for every eight users (at least one), the rest workers."""
    supervisors = max(1, users // 8)
    return ["lead"] + ["supervisor"] * supervisors + ["worker"] * (users - 1 - supervisors)


def server_cpu_seconds(master_pid: int) -> float:
    """User + system CPU seconds of gunicorn's master and worker processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master_pid or ppid == master_pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), in milliseconds."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[rank] * 1000, 1)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "requests": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
    }


def profile_costs(profile_dir: Path, top: int = 3) -> dict[str, Any]:
    """The top costs of the profiled process: functions by own time, and packages."""
    files = sorted(profile_dir.glob("*.prof"))
    if not files:
        return {}
    stats = pstats.Stats(str(files[0]))
    for extra in files[1:]:
        stats.add(str(extra))
    everything: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    # Time a thread spends waiting for a lock (the SQLite writer's turn, caseload/db.py)
    # or asleep is not work: the shares below are of the rest.
    waiting = {key: entry for key, entry in everything.items() if is_waiting(key)}
    raw = {key: entry for key, entry in everything.items() if key not in waiting}
    waited = sum(entry[2] for entry in waiting.values())
    total = sum(entry[2] for entry in raw.values()) or 1.0
    by_function = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)
    packages: Counter[str] = Counter()
    for (filename, _line, _name), entry in raw.items():
        packages[package_of(filename)] += entry[2]
    cumulative = sorted(
        (
            (key, entry)
            for key, entry in raw.items()
            if "/caseload/" in key[0] and "/site-packages/" not in key[0]
        ),
        key=lambda item: item[1][3],
        reverse=True,
    )
    return {
        "profiled_seconds": round(total, 2),
        "waiting_seconds": round(waited, 2),
        "top_functions_by_own_time": [
            {
                "function": f"{short(key[0])}:{key[1]}({key[2]})",
                "own_share": round(entry[2] / total, 3),
            }
            for key, entry in by_function[:top]
        ],
        "top_packages_by_own_time": [
            {"package": name, "share": round(seconds / total, 3)}
            for name, seconds in packages.most_common(top + 3)
        ],
        "top_app_functions_by_cumulative_time": [
            {
                "function": f"{short(key[0])}:{key[1]}({key[2]})",
                "cumulative_share": round(entry[3] / total, 3),
            }
            for key, entry in cumulative[: top + 5]
        ],
    }


def is_waiting(key: tuple[str, int, str]) -> bool:
    """A profiled function that only waits: a lock's acquire, or a sleep."""
    name = key[2]
    return "acquire' of '_thread" in name or name in ("<built-in method time.sleep>",)


def package_of(filename: str) -> str:
    """The top-level package a profiled function lives in."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].split(".", 1)[0]
    if "/caseload/" in filename:
        parts = filename.split("/caseload/", 1)[1].split("/")
        return "caseload." + parts[0].removesuffix(".py")
    if filename.startswith("<") or filename == "~":
        return "builtins and C functions"
    return "python standard library"


def short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="caseload-load-"))
    try:
        return measure(args, tmp)
    finally:
        if args.keep:
            print(f"Kept {tmp} (gunicorn log, database)", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    if True:
        instance = tmp / "instance"
        instance.mkdir()
        with database(args.database, tmp) as url:
            prepared = Prepared(url, instance, os.urandom(16).hex())
            started = time.monotonic()
            accounts = seed(prepared, args.clients)
            seeded = time.monotonic() - started
            config: dict[str, Any] = {}
            profile_dir = tmp / "profile"
            if args.profile:
                profile_dir.mkdir()
                os.environ["CASELOAD_PROFILE_DIR"] = str(profile_dir)
            server = start_server(prepared, workers=args.gunicorn_workers, threads=args.threads)
            os.environ.pop("CASELOAD_PROFILE_DIR", None)
            try:
                sessions = sign_in_accounts(server.base, accounts)
                tally = Tally()
                users: list[tuple[User, str]] = []
                counters: Counter[str] = Counter()
                for index, role in enumerate(roles_for(args.users)):
                    pool = sessions[role]
                    session = pool[counters[role] % len(pool)]
                    counters[role] += 1
                    users.append((User(server.base, session, tally, index), role))
                # Warm each process (first templates, caches) outside the measured window.
                for user, role in users[: args.gunicorn_workers * 4]:
                    getattr(user, f"{role}_visit")()
                tally = Tally()
                for user, _role in users:
                    user.tally = tally
                cpu_before = server_cpu_seconds(server.process.pid)
                own_before = sum(os.times()[:2])
                until = time.monotonic() + args.seconds
                started = time.monotonic()

                def work(user: User, role: str) -> None:
                    visit = getattr(user, f"{role}_visit")
                    while time.monotonic() < until:
                        visit()

                threads = [threading.Thread(target=work, args=pair, daemon=True) for pair in users]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.monotonic() - started
                cpu = server_cpu_seconds(server.process.pid) - cpu_before
                own_cpu = sum(os.times()[:2]) - own_before
            finally:
                server.stop()
            every = [s for values in tally.seconds.values() for s in values]
            errors = sum(tally.errors.values())
            result: dict[str, Any] = {
                "database": args.database,
                "gunicorn_workers": args.gunicorn_workers,
                "threads": args.threads,
                "users": args.users,
                "roles": dict(Counter(roles_for(args.users))),
                "seconds": round(elapsed, 1),
                "demo_clients": args.clients,
                "seed_seconds": round(seeded, 1),
                "requests": len(every),
                "throughput_rps": round(len(every) / elapsed, 1),
                **{k: v for k, v in summary(every).items() if k != "requests"},
                "errors": errors,
                "error_kinds": dict(tally.errors),
                "contact_refusals": dict(tally.refusals),
                "server_cpu_seconds": round(cpu, 2),
                "cpu_ms_per_request": round(cpu / max(1, len(every)) * 1000, 1),
                # The simulated users share the machine's cores with the server.
                "load_generator_cpu_seconds": round(own_cpu, 2),
                "pages": {page: summary(values) for page, values in sorted(tally.seconds.items())},
                "machine": {
                    "state": machine_state(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                **config,
            }
            if args.profile:
                result["profile"] = profile_costs(profile_dir)
            return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--gunicorn-workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=600, help="demo clients to build")
    parser.add_argument("--profile", action="store_true", help="serve under cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the database and log")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = run(args)
    name = args.database + ("-profile" if args.profile else "")
    existing: dict[str, Any] = {}
    if args.output.exists():
        existing = json.loads(args.output.read_text())
    existing[name] = result
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(existing, indent=2) + "\n")
    brief = {k: result[k] for k in ("database", "users", "throughput_rps", "p50_ms", "p95_ms")}
    brief |= {k: result[k] for k in ("p99_ms", "errors", "cpu_ms_per_request")}
    print(json.dumps(brief))
    if result["errors"]:
        print(json.dumps(result["error_kinds"]), file=sys.stderr)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
