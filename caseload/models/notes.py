"""Workers' reflective notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseload.db import UTCDateTime, enum_column, utcnow
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
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id"), index=True)
    #: "How manageable does my caseload feel", 1 (not at all) to 5 (very).
    manageability: Mapped[int | None] = mapped_column(Integer)
    shared_with_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The author's active caseload when the note was written, for load-versus-feeling views.
    caseload_at_writing: Mapped[int] = mapped_column(Integer, default=0)
    #: The author's active cases with risk open when the note was written (None: written
    #: before it was recorded; the findings view rebuilds it from the history).
    risk_cases_at_writing: Mapped[int | None] = mapped_column(Integer)

    author: Mapped[User] = relationship()
    episode: Mapped[Episode | None] = relationship()
    theme_rows: Mapped[list[NoteTheme]] = relationship(
        back_populates="note", cascade="all, delete-orphan", order_by="NoteTheme.theme"
    )

    @property
    def themes(self) -> tuple[ReflectiveTheme, ...]:
        """The note's themes, in a stable order."""
        return tuple(sorted(row.theme for row in self.theme_rows))

    @themes.setter
    def themes(self, themes: tuple[ReflectiveTheme, ...]) -> None:
        self.theme_rows = [NoteTheme(theme=t) for t in sorted(set(themes))]


class NoteTheme(db.Model):  # type: ignore[name-defined]
    """One theme a reflective note is tagged with (the study's domains)."""

    __tablename__ = "note_themes"

    note_id: Mapped[int] = mapped_column(ForeignKey("reflective_notes.id"), primary_key=True)
    theme: Mapped[ReflectiveTheme] = mapped_column(
        enum_column(ReflectiveTheme), primary_key=True, index=True
    )

    note: Mapped[ReflectiveNote] = relationship(back_populates="theme_rows")
