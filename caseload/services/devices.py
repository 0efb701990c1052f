"""Recognised devices: sign-in keeps working for its own people during a flood.

The passphrase-check budget (``services.signin_gate``) keeps a flood of wrong
passphrases from taking the machine, but while it is overrun every sign-in is "busy",
the flood's and a practitioner's alike. So a browser that has signed in fully
(passphrase and code) is given a device cookie for that username, and its later
sign-ins for that username are "recognised": they pass the door
(``web.signin_shed``), are checked from a budget of their own that the flood cannot
spend, and are not held by the waits that failures from their address have earned
(a trust's staff often share one address, and so would a flood from inside it). Their
own username-and-address waits and limits still apply.

The cookie is signed and dated with the app's secret key and holds a keyed hash of the
username, not the username: nothing identifying, and no use for another username. It
is sent only to the sign-in pages (``Path=/login``), is invisible to scripts, and
expires after ``DEVICE_COOKIE_DAYS``. It opens nothing by itself: the passphrase and
the code are still needed. A stolen one lets its thief into that username's lane,
which is budgeted and throttled like any other; rotating the secret key forgets every
device.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from caseload.services.auth import normalise_username

COOKIE_NAME = "caseload_device"
_SALT = "caseload.device"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def username_mark(secret_key: str, username: str) -> str:
    """The keyed hash of a username that a device cookie holds."""
    key = hashlib.sha256(f"{_SALT}:{secret_key}".encode()).digest()
    name = normalise_username(username).encode()
    return hmac.new(key, name, hashlib.sha256).hexdigest()[:32]


def cookie_mark(secret_key: str, cookie: str | None, max_age_days: int) -> str | None:
    """The username mark of a genuine, unexpired device cookie; None for any other."""
    if not cookie or len(cookie) > 512:
        return None
    try:
        payload: Any = _serializer(secret_key).loads(cookie, max_age=max_age_days * 86400)
    except BadData:
        return None
    mark = payload.get("u") if isinstance(payload, dict) else None
    return mark if isinstance(mark, str) else None


def is_recognised(username: str) -> bool:
    """Whether this request comes from a device that has signed in as ``username``."""
    config = current_app.config
    mark = cookie_mark(
        config["SECRET_KEY"], request.cookies.get(COOKIE_NAME), config["DEVICE_COOKIE_DAYS"]
    )
    return mark is not None and hmac.compare_digest(
        mark, username_mark(config["SECRET_KEY"], username)
    )


def remember_device(response: Response, username: str) -> Response:
    """Give the browser a device cookie for ``username`` (after a full sign-in)."""
    config = current_app.config
    token = _serializer(config["SECRET_KEY"]).dumps(
        {"u": username_mark(config["SECRET_KEY"], username), "n": secrets.token_hex(8)}
    )
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=config["DEVICE_COOKIE_DAYS"] * 86400,
        path=url_for("auth.login"),
        secure=bool(config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )
    return response
