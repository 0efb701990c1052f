"""Staff accounts and the teams that join a supervisor to workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, utcnow
from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models.encrypted import EncryptedString


class Team(db.Model):  # type: ignore[name-defined]
    """A supervisor's team of workers."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id])
    members: Mapped[list[User]] = relationship(
        back_populates="team", foreign_keys="User.team_id", order_by="User.username"
    )


class User(db.Model):  # type: ignore[name-defined]
    """A member of staff. One role each; disabled accounts keep their history."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Demo accounts are public by nature; production refuses to start while any exists.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", use_alter=True), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set for a temporary passphrase an administrator issued: the next sign-in must
    #: choose a new one before the code step (docs/admin-guide.md).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Encrypted at rest with the configured keys (caseload/models/encrypted.py).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString())
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last TOTP time step accepted, so a code cannot be replayed.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team: Mapped[Team | None] = relationship(back_populates="members", foreign_keys=[team_id])

    # A plain attribute, not a column: set by the user loader for this request only.
    __allow_unmapped__ = True
    #: The server-side session this request belongs to.
    auth_session_id: str | None = None

    # Flask-Login protocol. The id handed to the cookie is the server-side
    # session id, never the user id, so ending that session kills the cookie.
    @property
    def is_active(self) -> bool:
        """Whether the account may sign in."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """Always true for a loaded user; anonymous users are a different class."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Never true for a real account."""
        return False

    def get_id(self) -> str | None:
        """The server-side session id stored in the signed cookie."""
        return self.auth_session_id

    @property
    def mfa_enrolled(self) -> bool:
        """Whether the second factor has been set up and confirmed."""
        return self.totp_confirmed_at is not None

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"
