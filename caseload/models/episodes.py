"""Episodes of care and their summary rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, enum_column, utcnow
from caseload.domain.codes import (
    ComplexityFactor,
    DischargeReason,
    EpisodeStatus,
    ReferralSource,
    RiskLevel,
)
from caseload.extensions import db
from caseload.models.clients import Client
from caseload.models.users import User

if TYPE_CHECKING:
    from caseload.models.contacts import Contact


class Episode(db.Model):  # type: ignore[name-defined]
    """One referral and the course of care that follows it (a "case" on screen)."""

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    referral_date: Mapped[date] = mapped_column(Date)
    referral_source: Mapped[ReferralSource] = mapped_column(enum_column(ReferralSource))
    #: What the referrer led the client to expect, e.g. counselling (role confusion).
    referrer_expectation: Mapped[str] = mapped_column(String(40))
    presenting_problem: Mapped[str] = mapped_column(String(60))
    #: Stepped-care step; low-intensity work is step 2.
    step: Mapped[int] = mapped_column(Integer, default=2)
    #: Factors outside step-2 remit, as ComplexityFactor values.
    complexity_factors_raw: Mapped[list[str]] = mapped_column("complexity_factors", JSON,
                                                              default=list)
    complexity_note: Mapped[str] = mapped_column(Text, default="")
    discharged_on: Mapped[date | None] = mapped_column(Date)
    discharge_reason: Mapped[DischargeReason | None] = mapped_column(enum_column(DischargeReason))
    discharge_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    client: Mapped[Client] = relationship(back_populates="episodes")
    worker: Mapped[User] = relationship()
    summary: Mapped[EpisodeSummary] = relationship(back_populates="episode", uselist=False)
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="episode", order_by="Contact.occurred_at, Contact.id"
    )

    @property
    def complexity_factors(self) -> frozenset[ComplexityFactor]:
        """The recorded complexity factors as enums."""
        return frozenset(ComplexityFactor(v) for v in self.complexity_factors_raw or [])

    @property
    def status(self) -> EpisodeStatus:
        """Derived from discharge and contacts: waiting until treatment starts."""
        if self.discharged_on is not None:
            return EpisodeStatus.DISCHARGED
        if self.summary is not None and self.summary.treatment_contacts > 0:
            return EpisodeStatus.IN_TREATMENT
        return EpisodeStatus.WAITING

    @property
    def is_open(self) -> bool:
        """Open until discharged."""
        return self.discharged_on is None


class EpisodeSummary(db.Model):  # type: ignore[name-defined]
    """What an episode's contacts add up to, rewritten in the same transaction as any
    contact change, so caseload pages and dashboards never read every contact."""

    __tablename__ = "episode_summaries"

    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), primary_key=True)
    #: First and last scores by the national definitions; last is None with one score only.
    first_phq9: Mapped[int | None] = mapped_column(Integer)
    last_phq9: Mapped[int | None] = mapped_column(Integer)
    latest_phq9: Mapped[int | None] = mapped_column(Integer)
    first_gad7: Mapped[int | None] = mapped_column(Integer)
    last_gad7: Mapped[int | None] = mapped_column(Integer)
    latest_gad7: Mapped[int | None] = mapped_column(Integer)
    first_wsas: Mapped[int | None] = mapped_column(Integer)
    last_wsas: Mapped[int | None] = mapped_column(Integer)
    latest_wsas: Mapped[int | None] = mapped_column(Integer)
    latest_item9: Mapped[int | None] = mapped_column(Integer)
    latest_item9_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latest_risk_level: Mapped[RiskLevel | None] = mapped_column(enum_column(RiskLevel))
    latest_risk_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    treatment_contacts: Mapped[int] = mapped_column(Integer, default=0)
    attended_contacts: Mapped[int] = mapped_column(Integer, default=0)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_treatment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    second_treatment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    consecutive_dnas: Mapped[int] = mapped_column(Integer, default=0)
    attended_missing_measures: Mapped[int] = mapped_column(Integer, default=0)
    missing_measures_with_reason: Mapped[int] = mapped_column(Integer, default=0)
    attended_with_both_measures: Mapped[int] = mapped_column(Integer, default=0)
    #: Attended-contact totals in order, for the "not on track" flag.
    phq9_series: Mapped[list[int]] = mapped_column(JSON, default=list)
    gad7_series: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Booked contacts (attendance not yet recorded): the earliest, and how many.
    earliest_booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    booked_contacts: Mapped[int] = mapped_column(Integer, default=0)
    #: The last supervision review (set by supervision, later).
    last_review_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    episode: Mapped[Episode] = relationship(back_populates="summary")


class ExpectedCurveCache(db.Model):  # type: ignore[name-defined]
    """The service's expected-recovery curves, rebuilt from finished episodes and kept in
    the database so every app server uses the same ones."""

    __tablename__ = "expected_curves"

    measure_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    episodes_used: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
