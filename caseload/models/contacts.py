"""Contacts: every appointment with a client, booked or held, with its measures and risk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import IntEnumType, UTCDateTime, enum_column, utcnow
from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    EntryStatus,
    NotCollectedReason,
    RiskLevel,
)
from caseload.domain.interventions import MAX_CODE_LENGTH as INTERVENTION_CODE_LENGTH
from caseload.extensions import db
from caseload.models.episodes import Episode
from caseload.models.scores import ContactScore
from caseload.models.users import User


class Contact(db.Model):  # type: ignore[name-defined]
    """One contact with a client.

    Saved clinical content is never changed. A correction is a new contact that
    supersedes this one (with a reason); "entered in error" takes it out of
    scoring and keeps it in the history. The one change allowed in place is
    recording the outcome of a booked contact (attendance code 0).
    """

    __tablename__ = "contacts"
    __table_args__ = (
        # An episode's current bookings, or its attended contacts in a period, in one
        # range: pages start from the episodes they show (migration 0015).
        Index(
            "ix_contacts_episode_status_attendance",
            "episode_id",
            "status",
            "attendance",
            "occurred_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    contact_type: Mapped[ContactType] = mapped_column(enum_column(ContactType))
    mode: Mapped[ContactMode] = mapped_column(enum_column(ContactMode))
    #: NHS Data Dictionary ATTENDED OR DID NOT ATTEND; 0 = booked, outcome not recorded.
    attendance: Mapped[AttendanceCode] = mapped_column(IntEnumType(AttendanceCode))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    #: The code of the intervention delivered (seed_data/interventions.json), checked by the
    #: contacts service; a code dropped from the file later still reads back as stored.
    intervention: Mapped[str | None] = mapped_column(String(INTERVENTION_CODE_LENGTH))
    note: Mapped[str] = mapped_column(Text, default="")
    risk_level: Mapped[RiskLevel | None] = mapped_column(enum_column(RiskLevel))
    risk_factors: Mapped[str] = mapped_column(Text, default="")
    risk_action: Mapped[str] = mapped_column(Text, default="")
    #: Not indexed alone: nearly every contact is current, so it would narrow nothing.
    status: Mapped[EntryStatus] = mapped_column(
        enum_column(EntryStatus), default=EntryStatus.CURRENT
    )
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
    scores: Mapped[list[ContactScore]] = relationship(
        back_populates="contact",
        order_by="ContactScore.measure_id",
        cascade="all, delete-orphan",
    )

    def score(self, measure_id: str) -> ContactScore | None:
        """This contact's questionnaire of a measure, or None when it was not asked."""
        return next((s for s in self.scores if s.measure_id == measure_id), None)

    @property
    def not_collected_reason(self) -> NotCollectedReason | None:
        """Why questionnaires were not collected at this contact, if the worker said."""
        return next((s.not_collected_reason for s in self.scores if s.not_collected_reason), None)

    def total(self, measure_id: str) -> int | None:
        """The measure's total at this contact (None when not asked or incomplete)."""
        found = self.score(measure_id)
        return None if found is None else found.total

    @property
    def in_force(self) -> bool:
        """Whether this entry counts (not corrected, not entered in error)."""
        return self.status is EntryStatus.CURRENT

    @property
    def is_booked(self) -> bool:
        """Booked ahead, outcome not yet recorded."""
        return self.attendance is AttendanceCode.BOOKED
