"""A budget for passphrase checks, so a flood of sign-ins cannot starve everyone else.

Checking a passphrase costs one argon2id hash, about 150 ms of a core: by design, so a
stolen hash is slow to attack. That cost must not become a way to slow the service down
for the people already working in it. The machine lets at most one passphrase check
run at a time and spends at most ``SIGNIN_CHECK_SHARE`` of one core on them on average
(a token bucket in seconds of checking, refilled at that share and holding at most
``SIGNIN_CHECK_BURST`` seconds). A sign-in that finds no room is answered at once,
"busy, try again in a few seconds", without hashing, without writing, and without
counting against anyone's failures; while a flood keeps the bucket overrun, that answer
is given at the door (``web.signin_shed``), at the cost of a stored page.

The budget is per machine, not per database: it bounds the CPU that sign-in can take
from the requests served beside it, which is what it protects. Every app process on the
machine (gunicorn's workers) draws on one bucket, kept in a small file in the instance
folder (``signin-budget``, owner-only), read and written under an exclusive ``flock``;
so adding processes does not add checking. At the defaults (a tenth of a core, 2 s in
hand) that is about 40 checks a minute on average, with 13 at once in hand: far above a
morning's sign-ins, and a twentieth of a two-core machine during a flood. Sign-ins
from recognised devices (``services.devices``) have a second bucket of their own. The slot is
a lease: a process killed mid-check holds it for ``LEASE_SECONDS`` at most.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import secrets
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app

#: How long the check slot stays taken if its holder never gives it back (killed
#: mid-check); a check itself takes a fraction of a second.
LEASE_SECONDS = 5.0

#: The shared state: a mark that it was written (a new file is all zeros, so a full
#: bucket), seconds of checking in hand, when last refilled, until when the slot is
#: taken (0: free) and by whom.
_STATE = struct.Struct("<QdddQ")
_WRITTEN = 0x5349474E494E  # any value other than 0


class CheckBudget:
    """A budget shared by every process that opens the same file (or, with no file,
    by this process's threads alone): one check at a time, a share of a core."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._held = threading.local()
        self._pid = 0
        self._fd = -1
        self._view: mmap.mmap | bytearray = bytearray(_STATE.size)

    def _open(self) -> None:
        """Map the file in this process (again after a fork: a lock taken through an
        inherited descriptor would not exclude the parent)."""
        if self._path is None or self._pid == os.getpid():
            return
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(fd).st_size < _STATE.size:
            os.ftruncate(fd, _STATE.size)
        self._fd, self._view, self._pid = fd, mmap.mmap(fd, _STATE.size), os.getpid()

    @contextmanager
    def _state(self, now: float | None, share: float, burst: float) -> Iterator[list[float]]:
        """The state under the lock, refilled to now (read once the lock is held, so
        the processes' moments follow the order they hold it in), written back on
        leaving. As a list: [tokens, now, busy_until, owner]."""
        with self._lock:
            self._open()
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                moment = time.monotonic() if now is None else now
                mark, tokens, refilled_at, busy_until, owner = _STATE.unpack_from(self._view)
                if mark != _WRITTEN or refilled_at > moment + LEASE_SECONDS:
                    # A new file, or one written before the machine restarted.
                    tokens, refilled_at, busy_until, owner = burst, moment, 0.0, 0
                tokens = min(burst, tokens + max(0.0, moment - refilled_at) * share)
                state = [tokens, max(moment, refilled_at), busy_until, owner]
                yield state
                _STATE.pack_into(
                    self._view, 0, _WRITTEN, state[0], state[1], state[2], int(state[3])
                )
            finally:
                if self._fd >= 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def try_acquire(self, *, share: float, burst: float, now: float | None = None) -> bool:
        """Take the check slot when it is free and the bucket holds time; else False."""
        with self._state(now, share, burst) as state:
            moment = state[1]
            if state[2] > moment or state[0] <= 0:
                return False
            ticket = secrets.randbits(63) | 1
            state[2], state[3] = moment + LEASE_SECONDS, ticket
            self._held.ticket = ticket
            self._held.limits = (share, burst)
            return True

    def overrun(self, *, share: float, burst: float, now: float | None = None) -> bool:
        """True while sign-ins are being refused for a flood rather than for a moment:
        the bucket is empty, or a check is running with less than half the burst left.

        A colleague signing in while another's passphrase is checked finds the slot
        taken but the bucket nearly full: that is not an overrun, and they are answered
        by the sign-in page itself, their username kept."""
        with self._state(now, share, burst) as state:
            return state[0] <= 0 or (state[2] > state[1] and state[0] < burst / 2)

    def release(self, spent: float, *, now: float | None = None) -> None:
        """Give back the slot this thread took, paying the seconds the check took."""
        share, burst = self._held.limits
        with self._state(now, share, burst) as state:
            state[0] -= spent
            if state[3] == self._held.ticket:  # not taken over after the lease ran out
                state[2], state[3] = 0.0, 0
        self._held.ticket = 0


#: The budgets' lanes: every sign-in, and sign-ins from recognised devices
#: (``services.devices``), which a flood without their cookies cannot spend.
LANES = {
    "anonymous": ("signin-budget", "SIGNIN_CHECK_SHARE", "SIGNIN_CHECK_BURST"),
    "recognised": (
        "signin-budget-recognised",
        "SIGNIN_RECOGNISED_SHARE",
        "SIGNIN_RECOGNISED_BURST",
    ),
}


def app_budget(app: Flask, lane: str = "anonymous") -> CheckBudget:
    """The app's budget for a lane: the machine's, in the instance folder."""
    key = f"signin_check_budget:{lane}"
    if key not in app.extensions:
        app.extensions[key] = CheckBudget(Path(app.instance_path) / LANES[lane][0])
    budget: CheckBudget = app.extensions[key]
    return budget


def lane_limits(app: Flask, lane: str) -> tuple[float, float]:
    """(share, burst) of a lane; a share of 0 or less means no budget at all (any lane
    is off while ``SIGNIN_CHECK_SHARE`` is)."""
    if float(app.config["SIGNIN_CHECK_SHARE"]) <= 0:
        return 0.0, 0.0
    _, share, burst = LANES[lane]
    return float(app.config[share]), float(app.config[burst])


def _budget(lane: str = "anonymous") -> CheckBudget:
    return app_budget(current_app, lane)


#: How long a recognised sign-in waits for the check slot while another check runs
#: (colleagues signing in at the same moment), unless the lane is overrun.
SLOT_WAIT_SECONDS = 3.0


@contextmanager
def passphrase_check(*, recognised: bool = False) -> Iterator[bool]:
    """``with passphrase_check() as admitted:`` True when a passphrase may be checked
    now; the time spent inside the block is paid from the machine's budget (the
    recognised devices' lane when ``recognised``).

    A recognised sign-in that finds the slot taken waits for it (up to
    ``SLOT_WAIT_SECONDS``, while its lane is not overrun): no flood reaches that lane,
    so the wait only ever queues colleagues. Any other finds "busy" at once: a flood
    would otherwise hold every app process waiting."""
    lane = "recognised" if recognised else "anonymous"
    share, burst = lane_limits(current_app, lane)
    if share <= 0:  # no budget configured: every check is admitted
        yield True
        return
    budget = _budget(lane)
    deadline = time.monotonic() + (SLOT_WAIT_SECONDS if recognised else 0.0)
    while not budget.try_acquire(share=share, burst=burst):
        if time.monotonic() >= deadline or budget.overrun(share=share, burst=burst):
            yield False
            return
        time.sleep(0.02)
    started = time.monotonic()
    try:
        yield True
    finally:
        budget.release(time.monotonic() - started)


#: The answer to a sign-in that found no room (HTTP 429 with Retry-After).
BUSY_MESSAGE = "Sign-in is busy right now. Wait a few seconds, then try again."
RETRY_AFTER_SECONDS = 5
