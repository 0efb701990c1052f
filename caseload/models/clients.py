"""Clients and their consent to central reporting."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, utcnow
from caseload.extensions import db
from caseload.models.users import User

if TYPE_CHECKING:
    from caseload.models.episodes import Episode


class Client(db.Model):  # type: ignore[name-defined]
    """A person referred to the service. Identified to staff by a service reference."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Generated reference shown on screen and in exports instead of the database id.
    service_ref: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date] = mapped_column(Date)
    #: Optional; when given it passed the Modulus 11 check.
    nhs_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    gp_practice: Mapped[str | None] = mapped_column(String(120))
    #: Current consent to central reporting; the history is in consent_records.
    #: Kept here so every reporting query filters on one indexed column.
    consent_central_reporting: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    created_by: Mapped[User] = relationship()
    consent_records: Mapped[list[ConsentRecord]] = relationship(
        back_populates="client", order_by="ConsentRecord.recorded_at.desc()"
    )
    episodes: Mapped[list[Episode]] = relationship(
        back_populates="client", order_by="Episode.referral_date.desc()"
    )


class ConsentRecord(db.Model):  # type: ignore[name-defined]
    """One recording of the client's consent to central reporting, with its provenance."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    consented: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: What was said, in the worker's words.
    note: Mapped[str] = mapped_column(Text, default="")

    client: Mapped[Client] = relationship(back_populates="consent_records")
    recorded_by: Mapped[User] = relationship()
