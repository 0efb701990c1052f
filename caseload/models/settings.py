"""The service's settings as an administrator set them, and the revision that tells every
app server when to reload them (``caseload.services.settings``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, utcnow
from caseload.extensions import db
from caseload.models.users import User


class SettingValue(db.Model):  # type: ignore[name-defined]
    """One setting an administrator changed from its default or configured value."""

    __tablename__ = "setting_values"

    #: The setting's name, e.g. ``caseload_cap`` (``caseload.services.settings.SETTINGS``).
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The value in its stored form (a whole number, or true/false), as JSON.
    value: Mapped[Any] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    changed_by: Mapped[User | None] = relationship()


class SettingsRevision(db.Model):  # type: ignore[name-defined]
    """One row counting changes to the settings.

    Every app server caches the settings with the revision it read them at, reads
    this one row (once per request that reads a setting) and reloads only when it
    moved, so a change made on one server takes effect on the next request on all.
    """

    __tablename__ = "settings_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
