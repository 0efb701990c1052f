"""Case-management supervision: sessions, reviews on record, and reassignments.

Reviews and reassignments are never changed once written: a later review records
a later decision. A review stores the keys of the flags it saw (``Flag.key``), so
those flags leave the supervisor's queue until new evidence gives them a new key
(docs/supervisor-guide.md).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, enum_column, utcnow
from caseload.domain.codes import Severity, SupervisionDecision
from caseload.domain.flags import FlagKind
from caseload.extensions import db
from caseload.models.episodes import Episode
from caseload.models.users import User

#: Long enough for the longest flag key (a risk key names a measure, an answer and a date
#: for each signal).
FLAG_KEY_LENGTH = 200


class SupervisionSession(db.Model):  # type: ignore[name-defined]
    """A supervisor's session with one worker, working through that worker's flagged cases.

    The cases are fixed when the session starts (``cases``, in queue order). While a
    case is on screen the session holds its place in ``current_position`` with the moment
    it was opened; moving on adds the time to that case's ``seconds``, so minutes per case
    can be reported.
    """

    __tablename__ = "supervision_sessions"
    __table_args__ = (
        Index("ix_supervision_sessions_worker_started", "worker_id", "started_at"),
        Index("ix_supervision_sessions_supervisor_ended", "supervisor_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The place in ``cases`` of the case on screen now, and since when.
    current_position: Mapped[int | None] = mapped_column(Integer)
    current_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id])
    worker: Mapped[User] = relationship(foreign_keys=[worker_id])
    cases: Mapped[list[SupervisionSessionCase]] = relationship(
        back_populates="session",
        order_by="SupervisionSessionCase.position",
        cascade="all, delete-orphan",
    )

    @property
    def is_open(self) -> bool:
        """Open until ended."""
        return self.ended_at is None


class SupervisionSessionCase(db.Model):  # type: ignore[name-defined]
    """One case on a session's list: its place, when it was first opened, time spent on it."""

    __tablename__ = "supervision_session_cases"
    __table_args__ = (
        UniqueConstraint("session_id", "position", name="uq_supervision_session_cases_position"),
        UniqueConstraint("session_id", "episode_id", name="uq_supervision_session_cases_episode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("supervision_sessions.id"))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    #: 1-based place in the session's list.
    position: Mapped[int] = mapped_column(Integer)
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Time the case was on screen during the session, in whole seconds.
    seconds: Mapped[int] = mapped_column(Integer, default=0)

    session: Mapped[SupervisionSession] = relationship(back_populates="cases")
    episode: Mapped[Episode] = relationship()

    @property
    def discussed(self) -> bool:
        """Opened at least once during the session."""
        return self.first_opened_at is not None


class SupervisionReview(db.Model):  # type: ignore[name-defined]
    """A supervisor's review of one case: why it was discussed, what was decided, when next."""

    __tablename__ = "supervision_reviews"
    __table_args__ = (Index("ix_supervision_reviews_episode_created", "episode_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The session it was made in, when it was made in one.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("supervision_sessions.id"), index=True
    )
    #: The UK date of the review (the episode summary's ``last_review_on``).
    reviewed_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[SupervisionDecision] = mapped_column(enum_column(SupervisionDecision))
    note: Mapped[str] = mapped_column(Text, default="")
    next_review_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    episode: Mapped[Episode] = relationship()
    supervisor: Mapped[User] = relationship()
    flags_seen: Mapped[list[SupervisionReviewFlag]] = relationship(
        back_populates="review",
        cascade="all, delete-orphan",
        order_by="SupervisionReviewFlag.flag_key",
    )


class SupervisionReviewFlag(db.Model):  # type: ignore[name-defined]
    """One flag a review saw: its key (kind and evidence), kind and severity at the time."""

    __tablename__ = "supervision_review_flags"

    review_id: Mapped[int] = mapped_column(ForeignKey("supervision_reviews.id"), primary_key=True)
    flag_key: Mapped[str] = mapped_column(String(FLAG_KEY_LENGTH), primary_key=True)
    kind: Mapped[FlagKind] = mapped_column(enum_column(FlagKind))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity))

    review: Mapped[SupervisionReview] = relationship(back_populates="flags_seen")


class EpisodeReassignment(db.Model):  # type: ignore[name-defined]
    """A case moved from one worker to another in the same team, with the reason.

    The history of who held a case when: the weekly caseload series reads it, so a
    worker's past load is not rewritten by a later move.
    """

    __tablename__ = "episode_reassignments"
    __table_args__ = (Index("ix_episode_reassignments_episode_at", "episode_id", "reassigned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    from_worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    to_worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reassigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    episode: Mapped[Episode] = relationship()
    from_worker: Mapped[User] = relationship(foreign_keys=[from_worker_id])
    to_worker: Mapped[User] = relationship(foreign_keys=[to_worker_id])
    by: Mapped[User] = relationship(foreign_keys=[by_id])
