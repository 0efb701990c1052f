"""A budget for passphrase checks, so a flood of sign-ins cannot starve everyone else.

Checking a passphrase costs one argon2id hash, about 150 ms of a core: by design, so a
stolen hash is slow to attack. That cost must not become a way to slow the service down
for the people already working in it. Each app process lets at most one passphrase
check run at a time and spends at most ``SIGNIN_CHECK_SHARE`` of one core on them on
average (a token bucket in seconds of checking, refilled at that share and holding at
most ``SIGNIN_CHECK_BURST`` seconds). A sign-in that finds no room is answered at once,
"busy, try again in a few seconds", without hashing, without writing, and without
counting against anyone's failures; its answer costs about as much as a static page.

The budget is per process, not per database: it bounds the CPU that sign-in can take
from the process's own requests, which is what it protects, and it needs no shared
state. A service of ``W`` app processes checks up to ``W x SIGNIN_CHECK_SHARE /
hash seconds`` passphrases a second in all (about 3 a second with two processes at the
defaults), far above a morning's sign-ins.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app


class CheckBudget:
    """One process's budget: one check at a time, a share of a core on average."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = False
        self._tokens: float | None = None  # seconds of checking in hand; None: full
        self._refilled_at = 0.0

    def _refill(self, now: float, share: float, burst: float) -> float:
        tokens = burst if self._tokens is None else self._tokens
        tokens = min(burst, tokens + (now - self._refilled_at) * share)
        self._refilled_at = now
        return tokens

    def try_acquire(self, *, share: float, burst: float, now: float | None = None) -> bool:
        """Take the check slot when it is free and the bucket holds time; else False."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._refill(moment, share, burst)
            self._tokens = tokens
            if self._busy or tokens <= 0:
                return False
            self._busy = True
            return True

    def release(self, spent: float) -> None:
        """Give the slot back, paying the seconds the check took."""
        with self._lock:
            self._busy = False
            self._tokens = (self._tokens if self._tokens is not None else 0.0) - spent


def _budget() -> CheckBudget:
    """The app's budget in this process, shared by its threads."""
    budget: CheckBudget = current_app.extensions.setdefault("signin_check_budget", CheckBudget())
    return budget


@contextmanager
def passphrase_check() -> Iterator[bool]:
    """``with passphrase_check() as admitted:`` True when a passphrase may be checked
    now; the time spent inside the block is paid from the process's budget."""
    share = float(current_app.config["SIGNIN_CHECK_SHARE"])
    burst = float(current_app.config["SIGNIN_CHECK_BURST"])
    if share <= 0:  # no budget configured: every check is admitted
        yield True
        return
    budget = _budget()
    if not budget.try_acquire(share=share, burst=burst):
        yield False
        return
    started = time.monotonic()
    try:
        yield True
    finally:
        budget.release(time.monotonic() - started)


#: The answer to a sign-in that found no room (HTTP 429 with Retry-After).
BUSY_MESSAGE = "Sign-in is busy right now. Wait a few seconds, then try again."
RETRY_AFTER_SECONDS = 5
