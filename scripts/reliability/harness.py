"""Shared parts of the reliability runs (docs/RELIABILITY.md): a database prepared with
workers and their cases, the app served by gunicorn in a subprocess, and a small
browser that signs in through the real forms (passphrase, then a TOTP code from pyotp).

The browser is the standard library's urllib with a cookie jar (the project has no
``requests`` dependency). Nothing here is imported by the app.
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PASSWORD = "reliability run passphrase river stone"  # noqa: S105 (a throwaway database)


@dataclass(frozen=True)
class Account:
    """A worker of the run: how to sign in, and their open episode."""

    username: str
    secret: str
    episode_id: int
    client_id: int


@dataclass
class Prepared:
    """A prepared database: its URL, the instance folder and the accounts."""

    url: str
    instance: Path
    secret_key: str
    accounts: list[Account] = field(default_factory=list)


def pg_schema(base_url: str) -> tuple[str, str]:
    """A fresh schema on a PostgreSQL server: (its URL, its name)."""
    schema = f"reliability_{secrets.token_hex(5)}"
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}", schema


def drop_pg_schema(base_url: str, schema: str) -> None:
    """Drop a schema made by :func:`pg_schema`."""
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def app_config(url: str, instance: Path, secret_key: str, **extra: Any) -> dict[str, Any]:
    """The configuration of the served app and of the preparing and checking code.

    Real passphrase hashing (the defaults), as in production."""
    return {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secret_key,
        **extra,
    }


def prepare(url: str, instance: Path, *, workers: int) -> Prepared:
    """Migrate the database and make ``workers`` workers, each with one open case."""
    from flask_migrate import upgrade

    from caseload import create_app
    from caseload.domain.codes import ReferralSource, Role
    from caseload.extensions import db
    from caseload.services.clients import ClientDetails, Referral, register_client
    from caseload.services.users import create_user
    from caseload.web import today_in_london

    secret_key = secrets.token_hex(16)
    prepared = Prepared(url, instance, secret_key)
    app = create_app(app_config(url, instance, secret_key))
    with app.app_context():
        upgrade()
        today = today_in_london()
        for number in range(workers):
            user = create_user(
                username=f"rel-worker-{number}",
                password=PASSWORD,
                role=Role.WORKER,
                display_name=f"Reliability Worker {number}",
                team_name="Reliability team",
            )
            secret = pyotp.random_base32()
            user.totp_secret = secret
            from caseload.db import utcnow

            user.totp_confirmed_at = utcnow()
            episode = register_client(
                user,
                details=ClientDetails(name=f"Load Client {number}", date_of_birth=date(1985, 1, 2)),
                referral=Referral(
                    referral_date=today - timedelta(days=400),
                    referral_source=ReferralSource.GP,
                    referrer_expectation="counselling",
                    presenting_problem="Depression",
                ),
                consented=True,
                consent_note="Asked at registration.",
                today=today,
            )
            db.session.commit()
            prepared.accounts.append(Account(user.username, secret, episode.id, episode.client_id))
        db.session.remove()
        db.engine.dispose()
    return prepared


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """The app under gunicorn in its own process group."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        """kill -9 the whole server (master and workers) at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stop the server if it still runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


def start_server(prepared: Prepared, *, workers: int, threads: int = 4, **config: Any) -> Server:
    """Serve the prepared database with gunicorn (``workers`` processes, threads each)."""
    port = free_port()
    log = prepared.instance.parent / f"gunicorn-{port}.log"
    env = dict(os.environ)
    env["RELIABILITY_CONFIG"] = json.dumps(
        app_config(prepared.url, prepared.instance, prepared.secret_key, **config)
    )
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--pythonpath",
        str(ROOT / "scripts" / "reliability"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "wsgi_app:app",
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.base}/about/privacy", timeout=5) as r:  # noqa: S310
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
        if process.poll() is not None:
            break
    server.stop()
    raise RuntimeError(f"gunicorn did not start; see {log}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    """One response: status, body, Location, seconds taken."""

    status: int
    body: str
    location: str
    seconds: float
    #: The Retry-After header in seconds, 0 when absent.
    retry_after: int = 0


class Browser:
    """One person's browser: cookies, no redirects followed, optional X-Forwarded-For."""

    def __init__(self, base: str, *, forwarded_for: str | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.forwarded_for = forwarded_for
        #: How often sign-in answered "busy, try again" to this browser.
        self.busy_retries = 0

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> Reply:
        """Send one request; a connection failure is status 0."""
        body = urllib.parse.urlencode(data or {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=body, method=method)  # noqa: S310
        if self.forwarded_for:
            req.add_header("X-Forwarded-For", self.forwarded_for)
        start = time.perf_counter()
        try:
            with self.opener.open(req, timeout=120) as resp:  # noqa: S310 (http only)
                text = resp.read().decode("utf-8", "replace")
                status, location = resp.status, resp.headers.get("Location", "")
                retry = resp.headers.get("Retry-After", "")
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            status, location = error.code, error.headers.get("Location", "")
            retry = error.headers.get("Retry-After", "")
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            text, status, location, retry = "", 0, "", ""
        seconds = time.perf_counter() - start
        return Reply(status, text, location, seconds, int(retry) if retry.isdigit() else 0)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> Reply:
        return self.request("POST", path, data)

    def form(self, path: str) -> dict[str, str]:
        """The hidden fields of the page's form (CSRF token, idempotency key, version)."""
        page = self.get(path).body
        fields = {}
        for tag in re.findall(r"<input\b[^>]*>", page):
            if 'type="hidden"' in tag:
                name = re.search(r'name="([^"]+)"', tag)
                value = re.search(r'value="([^"]*)"', tag)
                if name:
                    fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
        return fields

    def sign_in(self, account: Account, *, password: str = PASSWORD) -> bool:
        """Sign in through the real forms; True when the session is open. Told that
        sign-in is busy (429 with Retry-After), it waits as asked and tries again, as
        the page asks a person to."""
        for _ in range(8):
            reply = self.post(
                "/login",
                {"username": account.username, "password": password, **self.form("/login")},
            )
            if reply.status != 429 or not reply.retry_after:
                break
            self.busy_retries += 1
            time.sleep(reply.retry_after)
        if reply.status != 302 or not reply.location.endswith("/login/mfa"):
            return False
        for _ in range(3):
            code = pyotp.TOTP(account.secret).now()
            reply = self.post("/login/mfa", {"code": code, **self.form("/login/mfa")})
            if reply.status == 302 and "/login" not in reply.location:
                return True
            time.sleep(31)  # the code of this step was used by another sign-in: wait a step
        return False


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A database URL for a run: a SQLite file, or a fresh schema on the PostgreSQL server
    named by CASELOAD_RELIABILITY_PG (default: the test server)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'reliability.sqlite3'}"
        return
    base = os.environ.get(
        "CASELOAD_RELIABILITY_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    url, schema = pg_schema(base)
    try:
        yield url
    finally:
        drop_pg_schema(base, schema)


def machine_state() -> str:
    """The load average and core count, to record beside a figure."""
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
