"""Episodes of care and their summary rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, enum_column, utcnow
from caseload.domain.codes import (
    ComplexityFactor,
    DischargeReason,
    EpisodeStatus,
    ReferralSource,
    RiskLevel,
)
from caseload.domain.episodes import episode_status
from caseload.extensions import db
from caseload.models.clients import Client
from caseload.models.scores import EpisodeMeasureSummary
from caseload.models.users import User

if TYPE_CHECKING:
    from caseload.models.contacts import Contact


class Episode(db.Model):  # type: ignore[name-defined]
    """One referral and the course of care that follows it (a "case" on screen)."""

    __tablename__ = "episodes"
    __table_args__ = (
        # A worker's open cases (discharged_on IS NULL) and a period's endings.
        Index("ix_episodes_worker_discharged", "worker_id", "discharged_on"),
        Index("ix_episodes_discharged_on", "discharged_on"),
    )

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
    complexity_note: Mapped[str] = mapped_column(Text, default="")
    discharged_on: Mapped[date | None] = mapped_column(Date)
    discharge_reason: Mapped[DischargeReason | None] = mapped_column(enum_column(DischargeReason))
    discharge_note: Mapped[str] = mapped_column(Text, default="")
    #: The risk plan written at discharge when risk was open (newer than the last supervision
    #: review) or a red flag was open: who knows, and what the client will do if it rises.
    discharge_risk_plan: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the episode was recorded by mistake: it leaves every list and report
    #: but is never deleted (``caseload.policy.episodes_in_force``).
    entered_in_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entered_in_error_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_in_error_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    client: Mapped[Client] = relationship(back_populates="episodes")
    worker: Mapped[User] = relationship(foreign_keys=[worker_id])
    summary: Mapped[EpisodeSummary] = relationship(back_populates="episode", uselist=False)
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="episode", order_by="Contact.occurred_at, Contact.id"
    )
    complexity: Mapped[list[EpisodeComplexityFactor]] = relationship(
        back_populates="episode",
        cascade="all, delete-orphan",
        order_by="EpisodeComplexityFactor.factor",
    )

    @property
    def complexity_factors(self) -> frozenset[ComplexityFactor]:
        """The recorded complexity factors."""
        return frozenset(row.factor for row in self.complexity)

    @complexity_factors.setter
    def complexity_factors(self, factors: frozenset[ComplexityFactor]) -> None:
        kept = [row for row in self.complexity if row.factor in factors]
        present = {row.factor for row in kept}
        self.complexity = kept + [
            EpisodeComplexityFactor(factor=f) for f in sorted(factors) if f not in present
        ]

    @property
    def status(self) -> EpisodeStatus:
        """Derived from discharge and contacts: waiting until treatment starts."""
        return episode_status(
            discharged=self.discharged_on is not None,
            treatment_contacts=0 if self.summary is None else self.summary.treatment_contacts,
        )

    @property
    def is_open(self) -> bool:
        """Open until discharged."""
        return self.discharged_on is None


class EpisodeComplexityFactor(db.Model):  # type: ignore[name-defined]
    """One complexity factor outside step-2 remit recorded on an episode."""

    __tablename__ = "episode_complexity_factors"

    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), primary_key=True)
    factor: Mapped[ComplexityFactor] = mapped_column(
        enum_column(ComplexityFactor), primary_key=True, index=True
    )

    episode: Mapped[Episode] = relationship(back_populates="complexity")


class EpisodeSummary(db.Model):  # type: ignore[name-defined]
    """What an episode's contacts add up to, rewritten in the same transaction as any
    contact change, so caseload pages and dashboards never read every contact."""

    __tablename__ = "episode_summaries"

    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), primary_key=True)
    #: The latest answer to a measure's risk item (PHQ-9 item 9), which measure, and when.
    latest_risk_answer: Mapped[int | None] = mapped_column(Integer)
    latest_risk_answer_measure: Mapped[str | None] = mapped_column(String(20))
    latest_risk_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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
    #: Questionnaires started and left unfinished at attended contacts (no total), and of
    #: those, how many left the risk item (PHQ-9 item 9) unanswered.
    incomplete_questionnaires: Mapped[int] = mapped_column(Integer, default=0)
    unanswered_risk_items: Mapped[int] = mapped_column(Integer, default=0)
    #: Booked contacts (attendance not yet recorded): the earliest, and how many.
    earliest_booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    booked_contacts: Mapped[int] = mapped_column(Integer, default=0)
    #: The last supervision review (set by supervision, later).
    last_review_on: Mapped[date | None] = mapped_column(Date)
    # What the reports group by, from the pure domain rules, kept with the contacts
    # and discharge that change them (so aggregates are plain SQL). The outcome columns
    # hold the outcome so far, open episodes included: national figures count them only
    # together with ``finished_treatment`` (which needs the episode to have ended).
    #: Open and in treatment: the active caseload counted against the cap.
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    #: Ended with at least two attended treatment contacts.
    finished_treatment: Mapped[bool] = mapped_column(Boolean, default=False)
    #: At caseness on the first PHQ-9 or the first anxiety measure.
    caseness_at_start: Mapped[bool] = mapped_column(Boolean, default=False)
    paired: Mapped[bool] = mapped_column(Boolean, default=False)
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    reliably_improved: Mapped[bool] = mapped_column(Boolean, default=False)
    reliably_deteriorated: Mapped[bool] = mapped_column(Boolean, default=False)
    reliably_recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The latest risk signal is open: a risk-item answer or a moderate or high rating.
    risk_open: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    #: First and second attended treatment contacts as UK dates (waits, hidden waits).
    first_treatment_on: Mapped[date | None] = mapped_column(Date)
    second_treatment_on: Mapped[date | None] = mapped_column(Date)
    #: Referral date to first treatment contact, in days.
    days_to_first_treatment: Mapped[int | None] = mapped_column(Integer)
    #: First to second attended treatment contact, in days (the "hidden wait").
    second_treatment_gap_days: Mapped[int | None] = mapped_column(Integer)
    #: Contacts in force whose outcome was recorded (any attendance code but booked), and
    #: of those the client's non-attendances (did not attend, 3; late and not seen, 7).
    contacts_with_outcome: Mapped[int] = mapped_column(Integer, default=0)
    dna_contacts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    episode: Mapped[Episode] = relationship(back_populates="summary")
    measures: Mapped[list[EpisodeMeasureSummary]] = relationship(
        back_populates="summary",
        cascade="all, delete-orphan",
        order_by="EpisodeMeasureSummary.measure_id",
    )

    def measure(self, measure_id: str) -> EpisodeMeasureSummary | None:
        """This episode's summary of one measure, or None when it was never scored."""
        return next((m for m in self.measures if m.measure_id == measure_id), None)

    def latest(self, measure_id: str) -> int | None:
        """The measure's most recent score, for display."""
        found = self.measure(measure_id)
        return None if found is None else found.latest_score

    def first(self, measure_id: str) -> int | None:
        """The measure's first score."""
        found = self.measure(measure_id)
        return None if found is None else found.first_score

    def last(self, measure_id: str) -> int | None:
        """The measure's last score (None with one score only)."""
        found = self.measure(measure_id)
        return None if found is None else found.last_score


class ExpectedCurveCache(db.Model):  # type: ignore[name-defined]
    """The service's expected-recovery curves, rebuilt from finished episodes and kept in
    the database so every app server uses the same ones."""

    __tablename__ = "expected_curves"

    measure_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    episodes_used: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
