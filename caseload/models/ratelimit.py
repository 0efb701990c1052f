"""Counts of rate-limited actions per user and time window (caseload/services/ratelimit.py).

In the database, not in process memory, so every app server behind a load balancer
shares one count.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caseload.extensions import db


class RateLimitCount(db.Model):  # type: ignore[name-defined]
    """How many times a user did one action in one fixed window.

    ``window_start`` is the window's start in whole seconds since the epoch (UTC), so the
    primary key is exact on every database and the increment is one atomic upsert.
    """

    __tablename__ = "rate_limit_counts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    action: Mapped[str] = mapped_column(String(20), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
