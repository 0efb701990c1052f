"""Typed SQLAlchemy models. Import from here: ``from caseload.models import User``."""

from caseload.models.audit import AuditEvent
from caseload.models.clients import Client, ConsentRecord
from caseload.models.contacts import Contact, EntryStatus
from caseload.models.episodes import Episode, EpisodeSummary, ExpectedCurveCache
from caseload.models.notes import ReflectiveNote
from caseload.models.security import AuthFailure, UserSession
from caseload.models.users import Team, User

__all__ = [
    "AuditEvent",
    "AuthFailure",
    "Client",
    "ConsentRecord",
    "Contact",
    "EntryStatus",
    "Episode",
    "EpisodeSummary",
    "ExpectedCurveCache",
    "ReflectiveNote",
    "Team",
    "User",
    "UserSession",
]
