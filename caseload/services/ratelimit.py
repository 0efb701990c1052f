"""Per-user rate limits on signed-in actions that can be abused (docs/security.md).

Searching for clients, downloading exports and writing letters are each limited per
user within a fixed window (``LIMITS``). The count lives in the database
(``rate_limit_counts``), so every app server shares it, and it is incremented by one
atomic upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) on a connection and
transaction of its own: however many requests arrive at once, from however many
servers, the k-th to commit reads k, so no more than the limit are let through in a
window, on SQLite and on PostgreSQL alike. The count stands whatever becomes of the
request (a failed export still counts).

Limits can be changed with the ``RATE_LIMITS`` setting (``instance/config.py``), a
mapping of action to ``(count, seconds)``, e.g. ``{"search": (120, 60)}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from caseload.db import SQLITE_BEGIN, utcnow
from caseload.extensions import db
from caseload.models import RateLimitCount, User


@dataclass(frozen=True)
class Limit:
    """At most ``count`` actions in each window of ``seconds``."""

    count: int
    seconds: int


#: The limits per action (docs/security.md, "Rate limits").
LIMITS: dict[str, Limit] = {
    "search": Limit(60, 60),  # client searches: 60 a minute
    "export": Limit(10, 3600),  # downloads of an export (lead CSV/FHIR, a client's FHIR)
    "letter": Limit(30, 3600),  # letters saved to the GP
}


@dataclass(frozen=True)
class Verdict:
    """One counted action: whether it may go ahead, and when the window ends if not."""

    allowed: bool
    count: int
    limit: Limit
    retry_after: int
    """Seconds until the window ends (at least 1)."""


def limit_for(action: str) -> Limit:
    """The action's limit: the ``RATE_LIMITS`` setting, else ``LIMITS``."""
    configured = (current_app.config.get("RATE_LIMITS") or {}).get(action)
    if configured is not None:
        count, seconds = configured
        return Limit(int(count), int(seconds))
    return LIMITS[action]


def hit(user: User, action: str, *, now: datetime | None = None) -> Verdict:
    """Count one ``action`` by ``user`` now, and say whether it is within the limit.

    On SQLite a request that may write has begun its transaction IMMEDIATE, and a second
    connection cannot write while it holds the write lock: its transaction so far (it
    has only read the signed-in user) is committed first. A read-only request's
    deferred read transaction holds no lock (WAL), so it is left open. The user's older
    windows of the action are removed in the same short transaction (by primary-key
    prefix, so cheap and a fixed cost), so the table holds one row per user and action.
    """
    limit = limit_for(action)
    moment = now or utcnow()
    epoch = int(moment.timestamp())
    window = epoch - epoch % limit.seconds
    retry_after = max(1, math.ceil(window + limit.seconds - moment.timestamp()))
    user_id = user.id
    engine = db.session.get_bind(RateLimitCount).engine
    if engine.dialect.name == "sqlite" and SQLITE_BEGIN.get() != "DEFERRED":
        db.session.commit()
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateLimitCount).values(
        user_id=user_id, action=action, window_start=window, count=1
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["user_id", "action", "window_start"],
        set_={"count": RateLimitCount.count + 1},
    ).returning(RateLimitCount.count)
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        count = conn.execute(upsert).scalar_one()
        conn.execute(
            delete(RateLimitCount).where(
                RateLimitCount.user_id == user_id,
                RateLimitCount.action == action,
                RateLimitCount.window_start < window,
            )
        )
    return Verdict(allowed=count <= limit.count, count=count, limit=limit, retry_after=retry_after)
