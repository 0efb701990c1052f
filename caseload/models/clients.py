"""Clients, what the national dataset records about them, and their consent to central
reporting."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from caseload.db import UTCDateTime, enum_column, utcnow
from caseload.domain.codes import (
    ConsentState,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    SexualOrientation,
    YesNoNotStated,
)
from caseload.domain.registration import age_on
from caseload.extensions import db
from caseload.models.users import User

if TYPE_CHECKING:
    from caseload.models.episodes import Episode


class Client(db.Model):  # type: ignore[name-defined]
    """A person referred to the service. Identified to staff by a service reference.

    The demographic columns are the NHS Talking Therapies dataset's questions about
    the person (codes in ``caseload.domain.codes``); NULL means nobody recorded an
    answer (for example, the client was registered before the question was asked).
    """

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(
            "consent_central_reporting = (consent_state = 'yes')", name="consent_in_step"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Generated reference shown on screen and in exports instead of the database id.
    service_ref: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: Indexed: the duplicate check at registration looks people up by date of birth.
    date_of_birth: Mapped[date] = mapped_column(Date, index=True)
    #: Optional; when given it passed the Modulus 11 check.
    nhs_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    #: Whether a message may be left on that phone, and whether texts may be sent to it.
    may_leave_message: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The practice's name as the worker knows it, and its ODS code (a letter, 5 digits).
    gp_practice: Mapped[str | None] = mapped_column(String(120))
    gp_practice_code: Mapped[str | None] = mapped_column(String(6))
    #: UK postcode of usual address, capitals with one space ("SW1A 1AA").
    postcode: Mapped[str | None] = mapped_column(String(8))
    gender_identity: Mapped[GenderIdentity | None] = mapped_column(enum_column(GenderIdentity))
    ethnic_category: Mapped[EthnicCategory | None] = mapped_column(enum_column(EthnicCategory))
    #: Employment status at referral.
    employment_status: Mapped[EmploymentStatus | None] = mapped_column(
        enum_column(EmploymentStatus)
    )
    #: A long-term physical health condition (the dataset reports outcomes for these
    #: clients separately).
    long_term_condition: Mapped[YesNoNotStated | None] = mapped_column(enum_column(YesNoNotStated))
    disability: Mapped[YesNoNotStated | None] = mapped_column(enum_column(YesNoNotStated))
    #: Optional: asked only when the client is comfortable to be asked.
    sexual_orientation: Mapped[SexualOrientation | None] = mapped_column(
        enum_column(SexualOrientation)
    )
    preferred_language: Mapped[str | None] = mapped_column(String(60))
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    emergency_contact_name: Mapped[str | None] = mapped_column(String(120))
    emergency_contact_relationship: Mapped[str | None] = mapped_column(String(60))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(30))
    #: The client's current answer about central reporting; the history is in
    #: consent_records. Only "yes" is reportable.
    consent_state: Mapped[ConsentState] = mapped_column(
        enum_column(ConsentState), default=ConsentState.NOT_ASKED
    )
    #: True exactly when ``consent_state`` is "yes", kept in step by this model and a
    #: database check, so every reporting query filters on one indexed boolean.
    consent_central_reporting: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Set when the record was made by mistake (a client registered twice): it leaves
    #: every list and report but is never deleted (``caseload.policy.clients_in_force``).
    entered_in_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entered_in_error_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_in_error_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    consent_records: Mapped[list[ConsentRecord]] = relationship(
        back_populates="client",
        order_by="[ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc()]",
    )
    episodes: Mapped[list[Episode]] = relationship(
        back_populates="client", order_by="Episode.referral_date.desc()"
    )

    @validates("consent_state")
    def _keep_flag_in_step(self, _key: str, state: ConsentState) -> ConsentState:
        self.consent_central_reporting = ConsentState(state).reportable
        return ConsentState(state)

    def age_on(self, day: date) -> int:
        """The client's age in whole years on a day (for example the referral date)."""
        return age_on(self.date_of_birth, day)


class ConsentRecord(db.Model):  # type: ignore[name-defined]
    """One recording of the client's consent to central reporting, with its provenance."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("consented = (consent_state = 'yes')", name="consent_in_step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: What the client said: yes, declined, or not asked yet.
    consent_state: Mapped[ConsentState] = mapped_column(enum_column(ConsentState))
    #: True exactly when ``consent_state`` is "yes" (kept in step, checked by the database).
    consented: Mapped[bool] = mapped_column(Boolean)
    #: The day the client gave this answer (empty for records made before it was asked).
    answered_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: What was said, in the worker's words.
    note: Mapped[str] = mapped_column(Text, default="")

    client: Mapped[Client] = relationship(back_populates="consent_records")
    recorded_by: Mapped[User] = relationship()

    @validates("consent_state")
    def _keep_flag_in_step(self, _key: str, state: ConsentState) -> ConsentState:
        self.consented = ConsentState(state).reportable
        return ConsentState(state)
