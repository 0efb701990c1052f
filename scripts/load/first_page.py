"""The first episode page in a cold browser (docs/PERFORMANCE.md).

    .venv/bin/python scripts/load/first_page.py [--runs 5] [--database sqlite]

A demo service is served by gunicorn (as in scripts/load/run.py); a worker signs in
through the real forms and the session cookie is handed to headless Chromium. Each run
opens a fresh browser context (empty HTTP cache, the session cookie only) straight on a
case with scores, so every stylesheet, script and the plotly.js bundle is fetched.
Reported per run and as the median: navigation start to the load event (ms), to the
chart drawn (ms), and the bytes transferred (headers and compressed bodies), with the
largest files. Merged into bench/load-results.json under "first_episode_page".

``--full-bundle`` has the browser fetch plotly.js's full bundle in place of the basic
one (the request is redirected in the browser), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "reliability"))
sys.path.insert(0, str(ROOT / "scripts" / "load"))

from harness import Account, Browser, Prepared, database, machine_state, start_server  # noqa: E402
from run import RESULTS, seed  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Navigation and resource timings of the page, read after the chart is drawn.
TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const chart = document.querySelector(".app-chart[data-figure]");
  return {
    load_ms: nav.loadEventEnd - nav.startTime,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd - nav.startTime,
    response_end_ms: nav.responseEnd - nav.startTime,
    chart_drawn_ms: window.__chartDrawn || null,
    plotly_arrived_ms: Math.max(0, ...resources.filter(r => r.name.includes("plotly"))
      .map(r => r.responseEnd)),
    all_files_arrived_ms: Math.max(nav.responseEnd, ...resources.map(r => r.responseEnd)),
    chart: chart ? chart.dataset.rendered : "none",
    transferred: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
    files: [{name: nav.name, transfer: nav.transferSize, body: nav.decodedBodySize}].concat(
      resources.map(r => ({name: r.name, transfer: r.transferSize, body: r.decodedBodySize}))),
  };
}"""

#: Notes the moment the chart is drawn (a MutationObserver on its data-rendered).
WATCH_CHART = """
new MutationObserver((changes, observer) => {
  for (const change of changes) {
    if (change.attributeName === "data-rendered" && change.target.dataset.rendered) {
      window.__chartDrawn = performance.now();
      observer.disconnect();
    }
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-rendered"]});
"""


def full_bundle_instead(base: str) -> Any:
    """A route handler that fetches plotly.js's full bundle in place of the basic one."""
    import plotly

    full = f"{base}/vendor/{plotly.__version__}/plotly.min.js"

    def handler(route: Any) -> None:
        route.continue_(url=full)

    return handler


def measure(
    base: str, cookies: list[dict[str, Any]], path: str, runs: int, *, full_bundle: bool
) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context()
                context.add_cookies(cookies)  # type: ignore[arg-type]
                context.add_init_script(WATCH_CHART)
                if full_bundle:
                    context.route("**/plotly-basic.min.js", full_bundle_instead(base))
                page = context.new_page()
                page.goto(base + path, wait_until="load")
                page.wait_for_selector(".app-chart[data-rendered]", timeout=30_000)
                results.append(page.evaluate(TIMINGS))
                context.close()
        finally:
            browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--full-bundle", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="caseload-first-page-"))
    try:
        instance = tmp / "instance"
        instance.mkdir()
        with database(args.database, tmp) as url:
            prepared = Prepared(url, instance, os.urandom(16).hex())
            accounts = seed(prepared, args.clients)
            worker = next(a for a in accounts if a["role"] == "worker")
            server = start_server(prepared, workers=1, threads=4)
            try:
                session = Browser(server.base)
                account = Account(worker["username"], worker["totp_secret"], 0, 0)
                if not session.sign_in(account, password=worker["password"]):
                    raise RuntimeError("the worker could not sign in")
                caseload = session.get("/caseload").body
                path = ""
                for episode in re.findall(r'href="(/episodes/\d+)"', caseload):
                    if "data-figure" in session.get(episode).body:
                        path = episode
                        break
                if not path:
                    raise RuntimeError("no case with a chart on the worker's caseload")
                host = urllib.parse.urlparse(server.base).hostname
                cookies = [
                    {"name": c.name, "value": c.value or "", "domain": host, "path": c.path}
                    for c in session.jar
                ]
                runs = measure(server.base, cookies, path, args.runs, full_bundle=args.full_bundle)
            finally:
                server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for run in runs:
        if run["chart"] != "true":
            print(f"the chart was not drawn: {run['chart']}", file=sys.stderr)
            return 1
    median = {
        key: round(statistics.median(run[key] for run in runs), 1)
        for key in (
            "load_ms",
            "dom_content_loaded_ms",
            "response_end_ms",
            "plotly_arrived_ms",
            "all_files_arrived_ms",
            "chart_drawn_ms",
        )
    }
    largest = sorted(runs[0]["files"], key=lambda f: f["transfer"], reverse=True)[:6]
    result = {
        "database": args.database,
        "plotly_bundle": "full" if args.full_bundle else "basic",
        "runs": args.runs,
        "median": median,
        "load_ms_each": [round(run["load_ms"], 1) for run in runs],
        "transferred_bytes": runs[0]["transferred"],
        "largest_files": [
            {
                "name": urllib.parse.urlparse(f["name"]).path,
                "transferred": f["transfer"],
                "decoded": f["body"],
            }
            for f in largest
        ],
        "machine": machine_state(),
    }
    existing = json.loads(args.output.read_text()) if args.output.exists() else {}
    existing["first_episode_page" + ("_full_bundle" if args.full_bundle else "")] = result
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
