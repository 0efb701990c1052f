"""Secrets encrypted at rest: a column type holding Fernet tokens.

The keys come from configuration: ``SECRET_ENCRYPTION_KEYS``, a list of Fernet keys
(``cryptography.fernet.Fernet.generate_key()``), newest first. The first encrypts; every
one decrypts (``MultiFernet``), so a key is rotated by putting a new one first, running
``flask rotate-secrets`` (re-encrypts every secret with the first key), then dropping the
old one. With no keys configured, one key is derived from ``SECRET_KEY``
(docs/security.md): the secrets are then no safer than the secret key, but still never
readable from a copy of the database alone.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: Every stored token starts with this, so a value is known to be encrypted.
PREFIX = "fernet:"


def _derived_key(secret_key: str | bytes) -> bytes:
    raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return base64.urlsafe_b64encode(hashlib.sha256(b"caseload secrets at rest\0" + raw).digest())


def cipher() -> MultiFernet:
    """The configured keys, newest first."""
    keys = current_app.config.get("SECRET_ENCRYPTION_KEYS") or [
        _derived_key(current_app.config["SECRET_KEY"])
    ]
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(value: str) -> str:
    """A secret as stored."""
    return PREFIX + cipher().encrypt(value.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    """A stored secret in clear; a value stored before encryption is returned as is."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return cipher().decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
    except InvalidToken as error:
        raise RuntimeError(
            "A secret in the database cannot be decrypted with SECRET_ENCRYPTION_KEYS: "
            "keep the old key in the list until `flask rotate-secrets` has run."
        ) from error


def rotate(stored: str) -> str:
    """A stored secret re-encrypted with the newest key."""
    if not stored.startswith(PREFIX):
        return encrypt(stored)
    token = cipher().rotate(stored[len(PREFIX) :].encode("ascii"))
    return PREFIX + token.decode("ascii")


class EncryptedString(TypeDecorator[str]):
    """A text column whose values are encrypted with the configured keys."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Decrypt on the way out."""
        return None if value is None else decrypt(str(value))
