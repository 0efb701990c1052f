"""Questionnaire scores, stored the same way for every measure.

One row per contact and measure holds the answers as given; one row per
episode and measure holds that measure's first, last and latest scores. A new
measure is a definition file in ``seed_data/measures``: no new column here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, enum_column
from caseload.domain.codes import NotCollectedReason
from caseload.extensions import db

if TYPE_CHECKING:
    from caseload.models.contacts import Contact
    from caseload.models.episodes import EpisodeSummary


class ContactScore(db.Model):  # type: ignore[name-defined]
    """One questionnaire at one contact: the answers as given, and the total when complete."""

    __tablename__ = "contact_scores"
    __table_args__ = (UniqueConstraint("contact_id", "measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    #: The definition's id, e.g. ``phq9``.
    measure_id: Mapped[str] = mapped_column(String(20), index=True)
    #: Item-by-item answers as given: None for an unanswered item, "n/a" where allowed.
    answers: Mapped[list[Any] | None] = mapped_column(JSON)
    #: None unless every item was answered (no prorating).
    total: Mapped[int | None] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The answer to the definition's risk item (PHQ-9 item 9), kept for SQL to count.
    risk_answer: Mapped[int | None] = mapped_column(Integer)
    #: The definition's unscored difficulty question, when it has one.
    difficulty: Mapped[int | None] = mapped_column(Integer)
    #: Why the measure was not collected (no answers), or left incomplete.
    not_collected_reason: Mapped[NotCollectedReason | None] = mapped_column(
        enum_column(NotCollectedReason)
    )
    #: The worker's own words when the reason is "other".
    not_collected_note: Mapped[str | None] = mapped_column(Text)

    contact: Mapped[Contact] = relationship(back_populates="scores")


class EpisodeMeasureSummary(db.Model):  # type: ignore[name-defined]
    """One measure over one episode: first, last and latest scores by the national rules."""

    __tablename__ = "episode_measure_summaries"

    episode_id: Mapped[int] = mapped_column(
        ForeignKey("episode_summaries.episode_id"), primary_key=True
    )
    measure_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: First score = earliest attended contact with a total for this measure.
    first_score: Mapped[int | None] = mapped_column(Integer)
    first_contact_id: Mapped[int | None] = mapped_column(Integer)
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Last score = latest attended contact with one; None with one score only.
    last_score: Mapped[int | None] = mapped_column(Integer)
    last_contact_id: Mapped[int | None] = mapped_column(Integer)
    #: The most recent score, for display (equal to the first with one score).
    latest_score: Mapped[int | None] = mapped_column(Integer)
    latest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Totals at attended contacts in order, for expected curves and "not on track".
    totals: Mapped[list[int]] = mapped_column(JSON, default=list)

    summary: Mapped[EpisodeSummary] = relationship(back_populates="measures")
