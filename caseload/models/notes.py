"""Workers' reflective notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, utcnow
from caseload.domain.codes import ReflectiveTheme
from caseload.extensions import db
from caseload.models.episodes import Episode
from caseload.models.users import User


class ReflectiveNote(db.Model):  # type: ignore[name-defined]
    """A worker's reflection: private by default, optionally shared with their supervisor.

    Service leads only ever see theme counts and ratings against caseload, never text.
    """

    __tablename__ = "reflective_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    text: Mapped[str] = mapped_column(Text)
    themes_raw: Mapped[list[str]] = mapped_column("themes", JSON, default=list)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id"), index=True)
    #: "How manageable does my caseload feel", 1 (not at all) to 5 (very).
    manageability: Mapped[int | None] = mapped_column(Integer)
    shared_with_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The author's active caseload when the note was written, for load-versus-feeling views.
    caseload_at_writing: Mapped[int] = mapped_column(Integer, default=0)

    author: Mapped[User] = relationship()
    episode: Mapped[Episode | None] = relationship()

    @property
    def themes(self) -> tuple[ReflectiveTheme, ...]:
        """The note's themes as enums."""
        return tuple(ReflectiveTheme(v) for v in self.themes_raw or [])
