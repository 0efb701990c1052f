"""Sign-in under attack (docs/RELIABILITY.md): workers' p95 during a wrong-passphrase flood.

    .venv/bin/python scripts/reliability/signin_attack.py --database sqlite --seconds 30
    .venv/bin/python scripts/reliability/signin_attack.py --database postgresql

The app runs under gunicorn as the README's production command serves it (four
synchronous workers; ``--gunicorn-workers`` and ``--threads`` change that), behind one
trusted proxy (``PROXY_COUNT=1``), with real passphrase hashing. Workers, signed in
through the real forms, load their caseload page in a loop. Baseline: the workers
alone for ``--seconds``. Attack: the same, while ``--attackers`` threads (in
``--attacker-processes`` processes of their own, as other machines would be) post
wrong passphrases to /login as fast as they are answered, for the workers' usernames
and for made-up ones, each from a random address in X-Forwarded-For, over a kept-alive
connection where the server keeps one (a flood tool's cheapest way to post).

Figures: the workers' p50 and p95 in both phases and their ratio, the responses of 500
or above (0 allowed, workers' and attackers'), whether each worker can still sign in
from their own address after the flood (no lock-out from elsewhere; told "sign-in is
busy", a worker waits the Retry-After and tries again, as the page asks), whether
each worker signs in during the flood from a browser of theirs (its device cookie makes
it recognised: ``services.devices``) and what a stranger's browser is told, and the CPU
the attack generator itself took (a real attacker's is on other machines). Prints one
JSON line; exits 1 when p95 under attack is 2x the baseline or more, or any other check fails.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import multiprocessing
import random
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from harness import PASSWORD, Account, Browser, database, machine_state, prepare, start_server

#: The cookie that makes a browser's later sign-ins recognised (services.devices).
DEVICE_COOKIE = "caseload_device"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of the values, in milliseconds."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))
    return ordered[index] * 1000


def load_caseload(
    browser: Browser, until: float, times: list[float], statuses: Counter[int]
) -> None:
    """Load the caseload page until the deadline, timing each."""
    while time.monotonic() < until:
        reply = browser.get("/caseload")
        statuses[reply.status] += 1
        if reply.status == 200:
            times.append(reply.seconds)


class FloodConnection:
    """One attacker's persistent HTTP/1.1 connection, as a flood tool keeps: requests
    written from prepared parts, responses read by their length (or to the end, when
    the server closes). Far cheaper per post than urllib's new connection each time, so
    the generator's own CPU, which a real attacker spends on other machines, takes as
    little as it can of the cores the app shares with it here."""

    def __init__(self, base: str, cookie: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.prefix = (
            f"POST /login HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
        )
        self.sock: socket.socket | None = None
        self.reader: Any = None

    def post(self, forwarded_for: str, body: bytes) -> int:
        """Post one form; its status, or 0 when the connection failed."""
        head = (
            f"{self.prefix}X-Forwarded-For: {forwarded_for}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=120)
                self.reader = self.sock.makefile("rb")
            self.sock.sendall(head.encode() + body)
            status = int(self.reader.readline().split()[1])
            length, close, chunked = -1, False, False
            while (line := self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value == "close":
                    close = True
                elif name == "transfer-encoding" and "chunked" in value:
                    chunked = True
            if chunked:
                while size := int(self.reader.readline().split(b";")[0], 16):
                    self.reader.read(size + 2)
                self.reader.readline()
            elif length >= 0:
                self.reader.read(length)
            else:
                self.reader.read()
                close = True
            if close:
                self.close()
            return status
        except (OSError, ValueError, IndexError):
            self.close()
            return 0

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None


def attack(
    base: str, usernames: list[str], until: float, seed: int, statuses: Counter[int]
) -> None:
    """Post wrong passphrases from random addresses until the deadline."""
    rng = random.Random(seed)  # noqa: S311 (load generation, not secrets)
    browser = Browser(base, forwarded_for="198.51.100.1")
    token = browser.form("/login").get("csrf_token", "")
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.jar)
    connection = FloodConnection(base, cookie)
    while time.monotonic() < until:
        forwarded_for = f"203.0.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        name = rng.choice(usernames + [f"nobody-{rng.randrange(1000)}"])
        body = urllib.parse.urlencode(
            {
                "username": name,
                "password": "wrong passphrase " + str(rng.random()),
                "csrf_token": token,
            }
        ).encode()
        statuses[connection.post(forwarded_for, body)] += 1
    connection.close()


def attack_process(
    base: str, usernames: list[str], seconds: float, seeds: list[int], out: Any
) -> None:
    """One attacking machine: a thread per seed; their statuses go back on ``out``."""
    until = time.monotonic() + seconds
    statuses: Counter[int] = Counter()
    threads = [
        threading.Thread(target=attack, args=(base, usernames, until, seed, statuses))
        for seed in seeds
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((dict(statuses), usage.ru_utime + usage.ru_stime))


def sign_in_during_flood(
    base: str,
    account: Account,
    address: str,
    device: http.cookiejar.Cookie | None,
    delay: float,
    results: list[dict[str, Any]],
) -> None:
    """After ``delay``, sign in afresh from a browser that holds the worker's device
    cookie (recognised), or from one that holds none (a stranger, who tries once)."""
    time.sleep(delay)
    fresh = Browser(base, forwarded_for=address)
    started = time.monotonic()
    if device is not None:
        fresh.jar.set_cookie(device)
        signed_in = fresh.sign_in(account)
        status = 302 if signed_in else 0
    else:
        form = {"username": account.username, "password": PASSWORD, **fresh.form("/login")}
        status = fresh.post("/login", form).status
        signed_in = False
    results.append(
        {
            "recognised": device is not None,
            "signed_in": signed_in,
            "first_status": 302 if signed_in and not fresh.busy_retries else status,
            "busy_retries": fresh.busy_retries,
            "seconds": round(time.monotonic() - started, 2),
        }
    )


def phase(
    base: str,
    browsers: list[Browser],
    seconds: float,
    attackers: int,
    usernames: list[str],
    processes: int,
    during: list[threading.Thread] | None = None,
) -> tuple[list[float], Counter[int], Counter[int], float]:
    """One timed phase: the workers' times and statuses, and the attackers' statuses.

    The attackers run in processes of their own, as they would on other machines: in
    the workers' process their threads would hold its interpreter lock and inflate the
    workers' measured times with the load generator's own waiting."""
    times: list[float] = []
    worker_statuses: Counter[int] = Counter()
    attacker_statuses: Counter[int] = Counter()
    out: Any = multiprocessing.Queue()
    groups = [list(range(attackers))[n::processes] for n in range(processes)] if attackers else []
    procs = [
        multiprocessing.Process(target=attack_process, args=(base, usernames, seconds, seeds, out))
        for seeds in groups
        if seeds
    ]
    for p in procs:
        p.start()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=load_caseload, args=(b, until, times, worker_statuses))
        for b in browsers
    ]
    threads += during or []
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = 0.0
    for _ in procs:
        statuses, seconds_used = out.get(timeout=seconds + 120)
        attacker_statuses.update(statuses)
        cpu += seconds_used
    for p in procs:
        p.join()
    return times, worker_statuses, attacker_statuses, cpu


def main() -> int:
    """Run the figure; print it as JSON; 0 when every check holds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument(
        "--attacker-processes", type=int, default=2, help="processes the attackers run in"
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    # The README's production command: four synchronous gunicorn workers.
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (1: sync workers)"
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="caseload-attack-") as tmp,
        database(args.database, Path(tmp)) as url,
    ):
        prepared = prepare(url, Path(tmp) / "instance", workers=args.workers)
        server = start_server(
            prepared, workers=args.gunicorn_workers, threads=args.threads, PROXY_COUNT=1
        )
        try:
            browsers = []
            for n, account in enumerate(prepared.accounts):
                browser = Browser(server.base, forwarded_for=f"192.0.2.{n + 10}")
                if not browser.sign_in(account):
                    raise SystemExit(f"could not sign in {account.username}")
                browsers.append(browser)
            usernames = [a.username for a in prepared.accounts]
            devices = [next((c for c in b.jar if c.name == DEVICE_COOKIE), None) for b in browsers]
            base_times, base_statuses, _, _ = phase(
                server.base, browsers, args.seconds, 0, usernames, args.attacker_processes
            )
            # A third of the way into the flood, each worker signs in afresh from a
            # browser of theirs (it holds their device cookie), and a stranger's
            # browser tries once with the first worker's right passphrase.
            during_flood: list[dict[str, Any]] = []
            during = [
                threading.Thread(
                    target=sign_in_during_flood,
                    args=(server.base, account, f"192.0.2.{n + 10}", device, args.seconds / 3),
                    kwargs={"results": during_flood},
                )
                for n, (account, device) in enumerate(zip(prepared.accounts, devices, strict=True))
            ]
            during.append(
                threading.Thread(
                    target=sign_in_during_flood,
                    args=(server.base, prepared.accounts[0], "192.0.2.99", None, args.seconds / 3),
                    kwargs={"results": during_flood},
                )
            )
            attack_times, attack_worker_statuses, attacker_statuses, attacker_cpu = phase(
                server.base,
                browsers,
                args.seconds,
                args.attackers,
                usernames,
                args.attacker_processes,
                during,
            )
            # Each worker signs in afresh from their own address after the flood.
            after = []
            busy_retries = 0
            for n, account in enumerate(prepared.accounts):
                fresh = Browser(server.base, forwarded_for=f"192.0.2.{n + 10}")
                after.append(fresh.sign_in(account))
                busy_retries += fresh.busy_retries
        finally:
            server.stop()

    base_p95 = percentile(base_times, 0.95)
    attack_p95 = percentile(attack_times, 0.95)
    worker_5xx = sum(c for s, c in (base_statuses + attack_worker_statuses).items() if s >= 500)
    attacker_5xx = sum(c for s, c in attacker_statuses.items() if s >= 500 or s == 0)
    figures = {
        "database": args.database,
        "gunicorn_workers": args.gunicorn_workers,
        "gunicorn_threads": args.threads,
        "workers": args.workers,
        "attackers": args.attackers,
        "seconds_per_phase": args.seconds,
        "baseline_requests": len(base_times),
        "baseline_p50_ms": round(statistics.median(base_times) * 1000, 1),
        "baseline_p95_ms": round(base_p95, 1),
        "attack_requests": len(attack_times),
        "attack_p50_ms": round(statistics.median(attack_times) * 1000, 1),
        "attack_p95_ms": round(attack_p95, 1),
        "p95_ratio": round(attack_p95 / base_p95, 2),
        "wrong_passphrase_posts": sum(attacker_statuses.values()),
        "attacker_cpu_seconds": round(attacker_cpu, 1),
        "attacker_statuses": {str(k): v for k, v in sorted(attacker_statuses.items())},
        "worker_statuses": {
            str(k): v for k, v in sorted((base_statuses + attack_worker_statuses).items())
        },
        "responses_5xx": worker_5xx + attacker_5xx,
        "recognised_sign_ins_during_flood": [r for r in during_flood if r["recognised"]],
        "stranger_sign_in_during_flood": [r for r in during_flood if not r["recognised"]],
        "workers_signed_in_after_flood": sum(after),
        "busy_retries_after_flood": busy_retries,
        "machine": machine_state(),
    }
    print(json.dumps(figures))
    recognised = [r["signed_in"] for r in during_flood if r["recognised"]]
    ok = (
        attack_p95 < 2 * base_p95
        and worker_5xx + attacker_5xx == 0
        and all(after)
        and len(recognised) == args.workers
        and all(recognised)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
