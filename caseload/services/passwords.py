"""Passphrase rules and hashing (docs/design.md section 7).

Long passphrases, no composition rules, common and guessable passwords refused
using zxcvbn's bundled frequency lists, argon2id hashing.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

#: zxcvbn scores 0-4; below this a passphrase is too guessable.
MIN_ZXCVBN_SCORE = 3
MAX_LENGTH = 200
#: zxcvbn refuses (ValueError) a longer input; its first 72 characters are enough to
#: judge how guessable a passphrase is.
ZXCVBN_MAX_LENGTH = 72


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """Hash a passphrase with argon2id."""
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Check a passphrase against its hash, in constant time for the hash."""
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: dict[str, str] = {}


def burn_verification_time(password: str) -> None:
    """Spend as long as a real check, so unknown usernames are not revealed by timing."""
    key = "dummy"
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hash_password("not a real passphrase for anyone")
    verify_password(_DUMMY_HASH[key], password)


def passphrase_problems(password: str, *, username: str = "", display_name: str = "") -> list[str]:
    """Why a passphrase is refused, as sentences for the form; empty when it is acceptable."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return [f"Passphrase must be at least {minimum} characters long."]
    if len(password) > MAX_LENGTH:
        return [f"Passphrase must be at most {MAX_LENGTH} characters long."]
    user_inputs = [v for v in (username, display_name) if v]
    if username and username.lower() in password.lower():
        return ["Passphrase must not contain your username."]
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs)
    if result["score"] < MIN_ZXCVBN_SCORE:
        warning = result["feedback"].get("warning") or "It is too easy to guess."
        return [
            f"Choose a less guessable passphrase. {warning}".strip()
            + " Try four or more unrelated words."
        ]
    return []
