"""Contacts: every appointment with a client, booked or held, with its measures and risk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import IntEnumType, UTCDateTime, enum_column, utcnow
from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    Intervention,
    NotCollectedReason,
    RiskLevel,
)
from caseload.extensions import db
from caseload.models.episodes import Episode
from caseload.models.users import User


class EntryStatus(StrEnum):
    """Whether a clinical entry is in force. Entries are never edited or deleted."""

    CURRENT = "current"
    SUPERSEDED = "superseded"
    ENTERED_IN_ERROR = "entered_in_error"

    @property
    def label(self) -> str:
        """Human label."""
        return {
            EntryStatus.CURRENT: "Current",
            EntryStatus.SUPERSEDED: "Corrected",
            EntryStatus.ENTERED_IN_ERROR: "Entered in error",
        }[self]


class Contact(db.Model):  # type: ignore[name-defined]
    """One contact with a client.

    Saved clinical content is never changed. A correction is a new contact that
    supersedes this one (with a reason); "entered in error" takes it out of
    scoring and keeps it in the history. The one change allowed in place is
    recording the outcome of a booked contact (attendance code 0).
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    contact_type: Mapped[ContactType] = mapped_column(enum_column(ContactType))
    mode: Mapped[ContactMode] = mapped_column(enum_column(ContactMode))
    #: NHS Data Dictionary ATTENDED OR DID NOT ATTEND; 0 = booked, outcome not recorded.
    attendance: Mapped[AttendanceCode] = mapped_column(IntEnumType(AttendanceCode))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    intervention: Mapped[Intervention | None] = mapped_column(enum_column(Intervention))
    note: Mapped[str] = mapped_column(Text, default="")
    #: Item-by-item answers as given (None for an unanswered item; "n/a" for WSAS work).
    phq9_answers: Mapped[list[Any] | None] = mapped_column(JSON)
    phq9_total: Mapped[int | None] = mapped_column(Integer)
    #: PHQ-9 item 9 (thoughts of self-harm); 1 or more is always a risk signal.
    phq9_item9: Mapped[int | None] = mapped_column(Integer)
    phq9_difficulty: Mapped[int | None] = mapped_column(Integer)
    gad7_answers: Mapped[list[Any] | None] = mapped_column(JSON)
    gad7_total: Mapped[int | None] = mapped_column(Integer)
    wsas_answers: Mapped[list[Any] | None] = mapped_column(JSON)
    wsas_total: Mapped[int | None] = mapped_column(Integer)
    not_collected_reason: Mapped[NotCollectedReason | None] = mapped_column(
        enum_column(NotCollectedReason)
    )
    risk_level: Mapped[RiskLevel | None] = mapped_column(enum_column(RiskLevel))
    risk_factors: Mapped[str] = mapped_column(Text, default="")
    risk_action: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[EntryStatus] = mapped_column(enum_column(EntryStatus),
                                                default=EntryStatus.CURRENT, index=True)
    #: The contact this one corrects.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    #: Why it was corrected or marked entered in error.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    episode: Mapped[Episode] = relationship(back_populates="contacts")
    created_by: Mapped[User] = relationship()
    supersedes: Mapped[Contact | None] = relationship(remote_side=[id])

    @property
    def in_force(self) -> bool:
        """Whether this entry counts (not corrected, not entered in error)."""
        return self.status is EntryStatus.CURRENT

    @property
    def is_booked(self) -> bool:
        """Booked ahead, outcome not yet recorded."""
        return self.attendance is AttendanceCode.BOOKED
