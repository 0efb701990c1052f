"""``python -m bench`` (``make bench``): every page at service scale, against its floor.

Builds synthetic services of 10,000 and 100,000 episodes (``seed-scale``) on SQLite,
and on PostgreSQL as well when ``CASELOAD_BENCH_DATABASE_URL`` is set (in schemas of
their own, dropped at the end). For each page of ``bench.pages`` it measures, inside the
app (``bench.measure``), the p50 and p95 over ``--requests`` requests, the SQL
statements per request, the CPU time, and the ratio of the p50 to the page's floor.
Writes ``bench/results.json`` and prints the table ``docs/PERFORMANCE.md`` carries
(``--write-docs`` puts it there). Exits 1 when a target is missed; the causes of the
misses are written in ``docs/PERFORMANCE.md``. Targets live here and in
``bench.pages``, never in the timed test suite.

    python -m bench                      # 10,000 and 100,000 episodes
    python -m bench --sizes 2000 --requests 20   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from bench.measure import (
    Floor,
    Recorder,
    capture_statements,
    floor_ms,
    instrument,
    measure_floor,
    time_requests,
)
from bench.pages import PAGES, Page, sign_in
from caseload import create_app
from caseload.extensions import db
from caseload.models import Client
from caseload.services import auth as auth_service

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "PERFORMANCE.md"
DOC_START, DOC_END = "<!-- bench:start -->", "<!-- bench:end -->"

#: Ratio of a page's p50 to its floor, everywhere.
FLOOR_RATIO_TARGET = 2.0
#: p50 at 100,000 episodes over p50 at 10,000, for pages bounded by one worker or team.
SCALING_TARGET = 1.3
#: seed-scale of 100,000 episodes.
BUILD_SECONDS_TARGET = 120.0
BUILD_RSS_MB_TARGET = 1024


@dataclass(frozen=True)
class Account:
    """A signed-in person of the synthetic service."""

    username: str
    password: str
    totp_secret: str


def bench_config(url: str, instance: Path) -> dict[str, Any]:
    """Production settings (real argon2id hashing; the instance's secret key, shared with
    the build), except two limits a benchmark must
    lift to ask for the same page fifty times: the per-user rate limits (search,
    exports) and the passphrase-check budget (sign-in), both measured elsewhere."""
    return {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "RATE_LIMITS": {"search": (10**6, 60), "export": (10**6, 60), "letter": (10**6, 60)},
        "SIGNIN_CHECK_SHARE": 0,
    }


def build(url: str, episodes: int, tmp: Path, instance: Path) -> dict[str, Any]:
    """Build the service in a child process; its summary, seconds and peak RSS."""
    out = tmp / f"build-{episodes}.json"
    print(f"  building {episodes:,} episodes ...", flush=True)
    subprocess.run(  # noqa: S603 (our own module, our own arguments)
        [sys.executable, "-m", "bench.build", url, str(episodes), str(instance), str(out)],
        check=True,
        cwd=ROOT,
    )
    built: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    print(
        f"  built in {built['seconds']} s, peak RSS {built['peak_rss_mb']} MB",
        flush=True,
    )
    return built


def measure_service(
    url: str, built: dict[str, Any], instance: Path, requests: int
) -> dict[str, dict[str, Any]]:
    """Every page's figures on one built service.

    The lead's exports need a sign-in within the last five minutes; fifty exports of a
    large service take longer than that, so the bench, as it lifts the rate limits,
    lifts that window for its own process (``services.auth.FRESH_SIGN_IN``)."""
    auth_service.FRESH_SIGN_IN = timedelta(days=1)
    app = create_app(bench_config(url, instance))
    recorder = instrument(app)
    summary = built["summary"]
    accounts = {
        k: Account(v["username"], v["password"], v["totp_secret"])
        for k, v in summary["accounts"].items()
    }
    with app.app_context():
        client_row = db.session.get(Client, summary["sample_client_id"])
        if client_row is None:
            raise RuntimeError("the sample client is missing")
        search_term = client_row.name.split()[-1]
        db.session.remove()
    context: dict[str, Any] = {
        "accounts": accounts,
        "episode_id": summary["sample_episode_id"],
        "search_term": search_term,
    }
    clients: dict[str, FlaskClient] = {"anonymous": app.test_client()}
    for who, account in accounts.items():
        clients[who] = app.test_client()
        sign_in(clients[who], account.username, account.password, account.totp_secret)
    floor: Floor = measure_floor(recorder, clients["worker"])
    figures: dict[str, dict[str, Any]] = {}
    for page in PAGES:
        figures[page.name] = measure_page(
            app, recorder, clients[page.who], page, context, floor, requests
        )
        f = figures[page.name]
        if "error" in f:
            print(f"    {page.name:<18} {f['error']}", flush=True)
            continue
        print(
            f"    {page.name:<18} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms  "
            f"{f['queries']:3d} queries  x{f['ratio_to_floor']:.2f} floor",
            flush=True,
        )
    figures["_process"] = {
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    }
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return figures


def measure_page(
    app: Any,
    recorder: Recorder,
    client: FlaskClient,
    page: Page,
    context: dict[str, Any],
    floor: Floor,
    requests: int,
) -> dict[str, Any]:
    """One page: timing, statements, floor."""
    prepare, send = page.request(client, context)
    timing = time_requests(recorder, send, prepare=prepare, requests=requests)
    if timing.statuses != (page.expect,):
        return {"error": f"answered {list(timing.statuses)}, expected {page.expect}"}
    if prepare:
        prepare()
    statements = capture_statements(recorder, send)
    page_floor = floor_ms(app, floor, statements)
    return {
        "p50_ms": round(timing.p50_ms, 1),
        "p95_ms": round(timing.p95_ms, 1),
        "cpu_p50_ms": round(timing.cpu_p50_ms, 1),
        "queries": timing.queries,
        "floor_ms": round(page_floor, 1),
        "ratio_to_floor": round(timing.p50_ms / page_floor, 2) if page_floor else None,
    }


def verdicts(pages: dict[str, dict[str, Any]], scaling: dict[str, float]) -> list[str]:
    """The targets missed, one sentence each."""
    missed = []
    for page in PAGES:
        f = pages[page.name]
        if "error" in f:
            missed.append(f"{page.name}: {f['error']}")
            continue
        if page.target_ms is not None and f["p95_ms"] > page.target_ms:
            missed.append(f"{page.name}: p95 {f['p95_ms']} ms > {page.target_ms:.0f} ms")
        if f["ratio_to_floor"] is not None and f["ratio_to_floor"] > FLOOR_RATIO_TARGET:
            missed.append(f"{page.name}: {f['ratio_to_floor']} x its floor > {FLOOR_RATIO_TARGET}")
        if page.bounded and page.name in scaling and scaling[page.name] > SCALING_TARGET:
            missed.append(f"{page.name}: scales x{scaling[page.name]} > {SCALING_TARGET}")
    return missed


def build_verdicts(builds: dict[int, dict[str, Any]]) -> list[str]:
    """The build targets missed (for services of 100,000 episodes or more)."""
    missed = []
    for size, b in builds.items():
        if size < 100_000:
            continue
        if b["seconds"] > BUILD_SECONDS_TARGET:
            missed.append(f"seed-scale {size:,}: {b['seconds']} s > {BUILD_SECONDS_TARGET:.0f} s")
        if b["peak_rss_mb"] > BUILD_RSS_MB_TARGET:
            missed.append(f"seed-scale {size:,}: {b['peak_rss_mb']} MB > {BUILD_RSS_MB_TARGET} MB")
    return missed


def run_database(
    label: str, urls: Iterator[str], sizes: list[int], tmp: Path, requests: int
) -> dict[str, Any]:
    """Build and measure every size on one kind of database."""
    by_size: dict[int, dict[str, Any]] = {}
    builds: dict[int, dict[str, Any]] = {}
    for size, url in zip(sizes, urls, strict=False):
        print(f"{label}, {size:,} episodes", flush=True)
        instance = tmp / f"instance-{label}-{size}"
        built = build(url, size, tmp, instance)
        builds[size] = {
            "seconds": built["seconds"],
            "peak_rss_mb": built["peak_rss_mb"],
            "episodes": built["summary"]["episodes"],
            "contacts": built["summary"]["contacts"],
        }
        by_size[size] = measure_service(url, built, instance, requests)
    largest, smallest = max(sizes), min(sizes)
    pages = {
        name: {"episodes": largest, **figures}
        for name, figures in by_size[largest].items()
        if not name.startswith("_")
    }
    scaling = (
        {
            name: round(by_size[largest][name]["p50_ms"] / by_size[smallest][name]["p50_ms"], 2)
            for name in pages
            if "error" not in by_size[largest][name] and "error" not in by_size[smallest][name]
        }
        if largest != smallest
        else {}
    )
    return {
        "pages": pages,
        "scaling": scaling,
        "by_size": {str(k): v for k, v in by_size.items()},
        "builds": {str(k): v for k, v in builds.items()},
        "missed": verdicts(pages, scaling) + build_verdicts(builds),
    }


def sqlite_urls(tmp: Path, sizes: list[int]) -> Iterator[str]:
    for size in sizes:
        yield f"sqlite:///{tmp / f'bench-{size}.sqlite3'}"


@contextmanager
def postgres_schemas(base_url: str, count: int) -> Iterator[list[str]]:
    """Fresh schemas on the server, dropped afterwards; yields their URLs."""
    names = [f"bench_{secrets.token_hex(5)}" for _ in range(count)]
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield [f"{base_url}{sep}options=-csearch_path%3D{name}" for name in names]
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def table(results: dict[str, Any]) -> str:
    """The markdown table of docs/PERFORMANCE.md."""
    lines = [
        f"Measured {results['measured_at']} on {results['machine']['summary']}.",
        "",
        "| page | episodes | p50 ms | p95 ms | target p95 | queries | floor ms | x floor "
        "| 10k to 100k |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page in PAGES:
        f = results["pages"][page.name]
        if "error" in f:
            lines.append(f"| {page.name} | {f['episodes']:,} | {f['error']} | | | | | | |")
            continue
        target = "-" if page.target_ms is None else f"{page.target_ms:.0f}"
        scale = results["scaling"].get(page.name)
        lines.append(
            f"| {page.name} | {f['episodes']:,} | {f['p50_ms']} | {f['p95_ms']} | {target} "
            f"| {f['queries']} | {f['floor_ms']} | {f['ratio_to_floor']} "
            f"| {'-' if scale is None else scale} |"
        )
    lines.append("")
    for size, b in results["builds"].items():
        lines.append(
            f"- seed-scale {int(size):,} episodes ({b['contacts']:,} contacts): "
            f"{b['seconds']} s, peak RSS {b['peak_rss_mb']} MB."
        )
    lines.append(f"- Peak RSS of the measuring app process: {results['app_peak_rss_mb']} MB.")
    missed = results["missed"]
    lines.append("- Targets missed: " + ("none." if not missed else "; ".join(missed) + "."))
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    start, end = doc.index(DOC_START) + len(DOC_START), doc.index(DOC_END)
    DOC.write_text(doc[:start] + "\n" + text + "\n" + doc[end:], encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="measure nothing: read bench/results.json, judge it against the targets "
        "and print (with --write-docs, write) its table",
    )
    args = parser.parse_args()
    if args.from_results:
        return report(json.loads(RESULTS.read_text(encoding="utf-8")), args.write_docs)
    sizes = sorted(args.sizes)
    with tempfile.TemporaryDirectory(prefix="caseload-bench-") as name:
        tmp = Path(name)
        sqlite = run_database("SQLite", sqlite_urls(tmp, sizes), sizes, tmp, args.requests)
        results: dict[str, Any] = {
            "pages": sqlite["pages"],
            "scaling": sqlite["scaling"],
            "by_size": sqlite["by_size"],
            "builds": sqlite["builds"],
            "missed": sqlite["missed"],
        }
        pg_url = os.environ.get("CASELOAD_BENCH_DATABASE_URL", "")
        if pg_url:
            with postgres_schemas(pg_url, len(sizes)) as urls:
                results["postgresql"] = run_database(
                    "PostgreSQL", iter(urls), sizes, tmp, args.requests
                )
    results["app_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%d")
    results["machine"] = machine()
    results["targets"] = {
        "ratio_to_floor": FLOOR_RATIO_TARGET,
        "scaling": SCALING_TARGET,
        "p95_ms": {p.name: p.target_ms for p in PAGES},
        "build_seconds_100k": BUILD_SECONDS_TARGET,
        "build_rss_mb": BUILD_RSS_MB_TARGET,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return report(results, args.write_docs)


def report(results: dict[str, Any], to_docs: bool) -> int:
    """Judge the results against the targets, print the table (and write it into
    docs/PERFORMANCE.md); 1 when a target is missed."""
    results["missed"] = verdicts(results["pages"], results["scaling"]) + build_verdicts(
        {int(k): v for k, v in results["builds"].items()}
    )
    text = table(results)
    print(text)
    if to_docs:
        write_docs(text)
    missed = list(results["missed"]) + list(results.get("postgresql", {}).get("missed", []))
    return 1 if missed else 0


def machine() -> dict[str, Any]:
    cores = os.cpu_count() or 0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "cores": cores,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_at_end": load,
        "summary": f"{cores} cores, Python {platform.python_version()}, load {load}",
    }


if __name__ == "__main__":
    sys.exit(main())
