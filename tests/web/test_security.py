"""CSRF, security headers, caching, error pages and the route policy contract."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from caseload.domain.codes import Role
from caseload.policy import POLICY_ATTRIBUTE
from caseload.web import STATIC_ENDPOINTS, safe_next
from tests.conftest import PASSWORD, sign_in


def placeholder(rule: Any, arg: str) -> object:
    """A value the rule accepts for an argument: the first choice of an `any`, else 1."""
    items = getattr(rule._converters[arg], "items", None)
    return sorted(items)[0] if items else 1


def post_routes(app: Flask) -> list[str]:
    """Every URL that accepts POST, with placeholder values for its arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or set()):
            urls.append(rule.build({arg: placeholder(rule, arg) for arg in rule.arguments})[1])
    return urls


def test_there_are_post_routes_to_check(app: Flask) -> None:
    assert {"/login", "/login/mfa", "/logout"} <= set(post_routes(app))


def test_every_post_without_csrf_token_is_refused(
    app: Flask, client: FlaskClient, user_factory: Any
) -> None:
    user = user_factory(Role.WORKER)
    for url in post_routes(app):
        response = client.post(url, data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 400, url
        assert "Something was wrong with that request" in response.get_data(as_text=True)
    # Signed in, too: the token is required on every form.
    sign_in(client, user)
    for url in post_routes(app):
        assert client.post(url, data={}).status_code == 400, url


def test_every_view_declares_a_policy(app: Flask) -> None:
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint not in STATIC_ENDPOINTS and not hasattr(view, POLICY_ATTRIBUTE)
    ]
    assert missing == []


def test_a_view_without_a_policy_is_refused(app: Flask, client: FlaskClient) -> None:
    app.add_url_rule("/no-policy", "no_policy", lambda: "secret")
    response = client.get("/no-policy")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/", "/no-such-page", "/static/css/app.css"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_are_never_cached_but_static_files_are(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_vendor_assets_are_served_locally_under_their_version(
    app: Flask, client: FlaskClient
) -> None:
    import plotly

    from caseload.assets import vendor_url

    with app.test_request_context():
        css_url = vendor_url("nhsuk-frontend.min.css")
        js_url = vendor_url("nhsuk-frontend.min.js")
        plotly_url = vendor_url("plotly.min.js")
    assert css_url == "/vendor/10.6.1/nhsuk-frontend.min.css"
    assert plotly_url == f"/vendor/{plotly.__version__}/plotly.min.js"
    css = client.get(css_url)
    assert css.status_code == 200
    assert "max-age=31536000" in css.headers["Cache-Control"]
    assert client.get(js_url).status_code == 200
    assert client.get(plotly_url).status_code == 200
    # An old version's URL is gone, so no browser can keep a stale copy under it.
    assert client.get("/vendor/10.0.0/nhsuk-frontend.min.css").status_code == 404
    assert client.get("/vendor/10.6.1/anything-else.js").status_code == 404
    assert client.get("/assets/images/favicon.svg").status_code == 200
    assert css_url in client.get("/login").get_data(as_text=True)


def test_nhsuk_images_are_served_from_memory_with_validators(client: FlaskClient) -> None:
    icon = client.get("/assets/images/favicon.svg")
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert "max-age=86400" in icon.headers["Cache-Control"]
    assert icon.headers["ETag"]
    again = client.get(
        "/assets/images/favicon.svg", headers={"If-None-Match": icon.headers["ETag"]}
    )
    assert again.status_code == 304
    assert client.get("/assets/images/no-such-icon.svg").status_code == 404
    assert client.get("/assets/../package.json").status_code == 404
    assert client.get("/assets/images").status_code == 404


def test_login_page_uses_no_inline_script(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert re.search(
        r'<script type="module" src="/static/js/app\.[0-9a-f]{12}\.mjs"></script>', html
    )
    assert "<script>" not in html
    assert "cdn" not in html.lower()


def test_not_found_page_has_an_incident_id(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert 'id="incident-id"' in response.get_data(as_text=True)


def test_server_error_page_shows_nothing_internal(app: Flask, client: FlaskClient) -> None:
    from caseload.policy import PUBLIC, policy

    @policy(PUBLIC)
    def explode() -> str:
        raise RuntimeError("database password is hunter2")

    app.add_url_rule("/explode", "explode", explode)
    response = client.get("/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "hunter2" not in body
    assert "Traceback" not in body
    assert "Sorry, there is a problem with the service" in body
    assert 'id="incident-id"' in body


@pytest.mark.parametrize("status", [400, 403, 404, 409, 429, 500])
def test_error_pages_exist_for_each_status(app: Flask, client: FlaskClient, status: int) -> None:
    from flask import abort

    from caseload.policy import PUBLIC, policy

    @policy(PUBLIC)
    def fail() -> str:
        abort(status)

    app.add_url_rule(f"/fail-{status}", f"fail_{status}", fail)
    response = client.get(f"/fail-{status}")
    assert response.status_code == status
    assert "Incident number" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/cases/3", "/cases/3"),
        ("/cases?x=1", "/cases?x=1"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("cases", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next(target: str | None, expected: str | None) -> None:
    assert safe_next(target) == expected


def test_role_decorator_lets_in_only_the_named_roles(
    app: Flask, client: FlaskClient, user_factory: Any
) -> None:
    from sqlalchemy import select

    from caseload.extensions import db
    from caseload.models import AuditEvent
    from caseload.policy import ADMIN, policy

    @policy(ADMIN)
    def admin_only() -> str:
        return "admin area"

    app.add_url_rule("/admin-only", "admin_only", admin_only)
    assert client.get("/admin-only").status_code == 302  # anonymous: sign in first
    worker = user_factory(Role.WORKER)
    sign_in(client, worker)
    assert client.get("/admin-only").status_code == 403
    denial = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "access.denied"))
    assert denial is not None
    assert denial.actor_id == worker.id
    client.post("/logout", data={"csrf_token": _token(client)})
    sign_in(client, user_factory(Role.ADMIN))
    assert client.get("/admin-only").get_data(as_text=True) == "admin area"


def _token(client: FlaskClient) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/")
