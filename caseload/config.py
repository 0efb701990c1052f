"""Configuration in layers: these defaults, then ``instance/config.py``, then
``CASELOAD_*`` environment variables, then the test's dict.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

#: The project's root folder: templates, static files, node_modules and instance/ live here.
ROOT = Path(__file__).resolve().parent.parent

#: Code defaults. Every key here can be overridden by a later layer.
DEFAULTS: dict[str, Any] = {
    "SERVICE_NAME": "caseload",
    # Read through caseload.services.settings.service_settings().
    "MINIMUM_AGE": 18,
    "WORKING_DAY_START": "08:00",
    "WORKING_DAY_END": "18:00",
    "BOOKING_HORIZON_DAYS": 365,
    # Named on the privacy notice and the accessibility statement (/about/...); the
    # service fills them in (CASELOAD_ORGANISATION_NAME ...). Empty: the pages say so.
    "ORGANISATION_NAME": "",
    "PRIVACY_CONTACT": "",
    "ACCESSIBILITY_CONTACT": "",
    # Empty: a SQLite file in instance/ is used.
    "DATABASE_URL": "",
    "PRODUCTION": False,
    # Sessions (docs/design.md section 7): no remember-me, 30-minute idle, 12-hour absolute.
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 12,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "caseload_session",
    "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
    # Sign-in throttling: this many failures for one username, or five times as
    # many from one address, within the window locks sign-in for the window.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_MINUTES": 15,
    # After the second failure for a username from an address, each further attempt
    # from that pair waits twice as long as the last before it is checked (1, 2, 4 s ...).
    "LOGIN_BACKOFF_AFTER": 2,
    # Passphrase checks (argon2id, ~150 ms each) may use on average this share of one
    # core per machine (all its app processes together), one at a time, with this many
    # seconds in hand for a burst (caseload/services/signin_gate.py). 0: no budget.
    "SIGNIN_CHECK_SHARE": 0.1,
    "SIGNIN_CHECK_BURST": 2.0,
    # The same for sign-ins from recognised devices (caseload/services/devices.py): a
    # lane of their own, which a flood without their cookies cannot spend.
    "SIGNIN_RECOGNISED_SHARE": 0.1,
    "SIGNIN_RECOGNISED_BURST": 2.0,
    # How long a browser that signed in fully stays recognised for that username.
    "DEVICE_COOKIE_DAYS": 180,
    # argon2id parameters (RFC 9106 second recommended option: 64 MiB, t=3).
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "ARGON2_PARALLELISM": 4,
    "PASSWORD_MIN_LENGTH": 15,
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # hide_parameters: a failed statement is logged without its values, which may be
    # a client's name or NHS number.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    # Behind a TLS-terminating proxy, how many proxies set X-Forwarded-For/-Proto.
    # 0 trusts no header: the peer address is the client (development).
    "PROXY_COUNT": 0,
}


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from every layer and derive the database URL and secret key."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CASELOAD")
    if test_config is not None:
        app.config.from_mapping(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    instance.chmod(0o700)  # the database, the secret key: readable by the owner only
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'caseload.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
    if app.config["PRODUCTION"]:
        # Production is served over HTTPS only; the cookie never travels in clear.
        app.config["SESSION_COOKIE_SECURE"] = True


def _instance_secret(path: Path) -> str:
    """Read the instance's secret key, generating it on first run (never committed)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key
