"""Letters written from an episode (to the GP), kept as they were saved.

A letter is drafted from a template in ``seed_data/letters`` and edited by the worker
before it is saved; once saved it is a clinical entry of the episode and never changes.
The ORM refuses an update or a deletion below, and database triggers (migration 0012)
refuse one made behind the application's back. A letter that needs correcting is
followed by a new letter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from caseload.db import UTCDateTime, utcnow
from caseload.extensions import db
from caseload.models.episodes import Episode
from caseload.models.users import User

#: The message of the ORM guard and the database triggers alike.
LETTER_GUARD_MESSAGE = "a saved letter is never changed"


class Letter(db.Model):  # type: ignore[name-defined]
    """One letter as saved on an episode: who wrote it, when, from which template, and
    its text exactly as it was sent."""

    __tablename__ = "letters"
    __table_args__ = (Index("ix_letters_episode_created", "episode_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    #: The key of the template it was drafted from (``seed_data/letters/index.json``); a
    #: template retired later still reads back as stored.
    template: Mapped[str] = mapped_column(String(40))
    #: The template's title when the letter was saved, e.g. "Discharge letter to the GP".
    title: Mapped[str] = mapped_column(String(120))
    #: The letter's text as the worker saved it (plain text; shown escaped).
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    episode: Mapped[Episode] = relationship()
    created_by: Mapped[User] = relationship()


@event.listens_for(Session, "before_flush")
def _refuse_letter_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    """The ORM never updates or deletes a saved letter; the database triggers back this up."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Letter) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError(LETTER_GUARD_MESSAGE)
