"""Static and vendor files (issue 15): named by content and cached for a year,
sent compressed, and plotly.js as its basic bundle wherever a chart is drawn."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import brotli
import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from plotly.offline import get_plotlyjs_version

from caseload.assets import PLOTLY_BASIC_PACKAGE, STATIC_DIR, vendor_url
from caseload.config import ROOT
from caseload.domain.codes import Role
from caseload.models import User
from tests.conftest import make_user, sign_in
from tests.web.test_dashboard_pages import finished, months_ago

#: The trace types plotly.js-basic-dist-min registers (its README).
BASIC_TRACE_TYPES = {"scatter", "bar", "pie"}
ONE_YEAR = "max-age=31536000"


def static_url(app: Flask, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_static_urls_name_each_file_by_its_content(app: Flask, client: FlaskClient) -> None:
    for filename in ("css/app.css", "js/app.mjs", "js/chart.mjs", "css/plotly.css"):
        stem, suffix = filename.rsplit(".", 1)
        url = static_url(app, filename)
        digest = digest_of(STATIC_DIR / filename)[:12]
        assert url == f"/static/{stem}.{digest}.{suffix}"
        response = client.get(url, headers={"Accept-Encoding": ""})
        assert response.status_code == 200
        assert response.data == (STATIC_DIR / filename).read_bytes()
        assert ONE_YEAR in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        assert "public" in response.headers["Cache-Control"]
    # The pages link the hashed names.
    login = client.get("/login").get_data(as_text=True)
    assert f'src="{static_url(app, "js/app.mjs")}"' in login
    assert f'href="{static_url(app, "css/app.css")}"' in login


def test_a_plain_name_is_revalidated_and_a_stale_digest_is_not_found(
    client: FlaskClient,
) -> None:
    plain = client.get("/static/css/app.css", headers={"Accept-Encoding": ""})
    assert plain.status_code == 200
    assert "no-cache" in plain.headers["Cache-Control"]
    assert "max-age" not in plain.headers["Cache-Control"]
    again = client.get(
        "/static/css/app.css",
        headers={"Accept-Encoding": "", "If-None-Match": plain.headers["ETag"]},
    )
    assert again.status_code == 304
    assert client.get("/static/css/app.000000000000.css").status_code == 404
    assert client.get("/static/css/no-such-file.css").status_code == 404
    assert client.get("/static/../package.json").status_code == 404


def test_text_files_are_sent_compressed_as_the_browser_accepts(
    app: Flask, client: FlaskClient
) -> None:
    url = static_url(app, "css/app.css")
    original = (STATIC_DIR / "css/app.css").read_bytes()
    as_br = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert as_br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(as_br.data) == original
    as_gzip = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert as_gzip.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(as_gzip.data) == original
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.data == original
    for response in (as_br, as_gzip, plain):
        assert "Accept-Encoding" in response.headers["Vary"]
        assert len(response.data) == int(response.headers["Content-Length"])
    # One validator per representation, and each revalidates.
    etags = {r.headers["ETag"] for r in (as_br, as_gzip, plain)}
    assert len(etags) == 3
    again = client.get(
        url, headers={"Accept-Encoding": "br", "If-None-Match": as_br.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_basic_plotly_bundle_is_served_compressed_for_a_year(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        url = vendor_url("plotly-basic.min.js")
    assert url == f"/vendor/{get_plotlyjs_version()}/plotly-basic.min.js"
    bundle = (PLOTLY_BASIC_PACKAGE / "plotly-basic.min.js").read_bytes()
    response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == bundle
    assert len(response.data) < len(bundle) // 3
    assert ONE_YEAR in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    # The stylesheet without web fonts is compressed too.
    with app.test_request_context():
        css = client.get(vendor_url("nhsuk-frontend.min.css"), headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert b"@font-face" not in gzip.decompress(css.data)


def test_the_basic_bundle_is_the_plotly_js_the_figures_are_built_for() -> None:
    package = json.loads((PLOTLY_BASIC_PACKAGE / "package.json").read_text())
    assert package["version"] == get_plotlyjs_version()
    frontend = json.loads((ROOT / "package.json").read_text())
    assert frontend["dependencies"]["plotly.js-basic-dist-min"] == get_plotlyjs_version()
    head = (PLOTLY_BASIC_PACKAGE / "plotly-basic.min.js").read_text()[:200]
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}" in head


def test_no_template_loads_the_full_plotly_bundle() -> None:
    loaders = [
        path.relative_to(ROOT / "templates").as_posix()
        for path in (ROOT / "templates").rglob("*.html")
        if "plotly" in path.read_text() and "vendor_url" in path.read_text()
    ]
    assert loaders, "no template loads plotly.js"
    for name in loaders:
        text = (ROOT / "templates" / name).read_text()
        assert "vendor_url('plotly-basic.min.js')" in text, name
        assert "plotly.min.js" not in text, name


def figures(response: Any) -> list[dict[str, Any]]:
    """Every chart figure a page carries."""
    text = response.get_data(as_text=True)
    return [
        json.loads(html.unescape(found)) for found in re.findall(r'data-figure="([^"]*)"', text)
    ]


def assert_basic_charts(response: Any) -> None:
    """The page draws at least one chart, loads the basic bundle and uses only the trace
    types it has."""
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "/plotly-basic.min.js" in text
    assert "/plotly.min.js" not in text
    drawn = figures(response)
    assert drawn
    for figure in drawn:
        for trace in figure.get("data", []):
            assert trace.get("type", "scatter") in BASIC_TRACE_TYPES, trace.get("type")


@pytest.fixture
def worker() -> User:
    return make_user(Role.WORKER, username="north-worker", team="North team")


def test_every_chart_page_draws_with_the_basic_bundle(
    app: Flask, client: FlaskClient, worker: User
) -> None:
    episodes = [finished(worker, months_ago(count)) for count in (1, 2, 3) for _ in range(6)]

    sign_in(client, worker)
    assert_basic_charts(client.get(f"/episodes/{episodes[0].id}"))

    supervisor_client = app.test_client()
    supervisor = make_user(Role.SUPERVISOR, username="north-supervisor", team="North team")
    sign_in(supervisor_client, supervisor)
    assert_basic_charts(supervisor_client.get("/supervision/team"))

    lead_client = app.test_client()
    sign_in(lead_client, make_user(Role.LEAD, username="the-lead"))
    assert_basic_charts(lead_client.get("/lead/"))
    assert_basic_charts(lead_client.get("/lead/findings"))
