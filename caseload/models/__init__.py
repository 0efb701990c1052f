"""Typed SQLAlchemy models. Import from here: ``from caseload.models import User``."""

from caseload.models.audit import AuditEvent, AuditEventClient
from caseload.models.clients import Client, ConsentRecord
from caseload.models.contacts import Contact
from caseload.models.episodes import (
    Episode,
    EpisodeComplexityFactor,
    EpisodeSummary,
    ExpectedCurveCache,
)
from caseload.models.letters import Letter
from caseload.models.notes import NoteTheme, ReflectiveNote
from caseload.models.ratelimit import RateLimitCount
from caseload.models.scores import ContactScore, EpisodeMeasureSummary
from caseload.models.security import AuthFailure, FormSubmission, UserSession
from caseload.models.settings import SettingsRevision, SettingValue
from caseload.models.supervision import (
    EpisodeReassignment,
    SupervisionReview,
    SupervisionReviewFlag,
    SupervisionSession,
    SupervisionSessionCase,
)
from caseload.models.users import Team, User

__all__ = [
    "AuditEvent",
    "AuditEventClient",
    "AuthFailure",
    "Client",
    "ConsentRecord",
    "Contact",
    "ContactScore",
    "Episode",
    "EpisodeComplexityFactor",
    "EpisodeMeasureSummary",
    "EpisodeReassignment",
    "EpisodeSummary",
    "ExpectedCurveCache",
    "FormSubmission",
    "Letter",
    "NoteTheme",
    "RateLimitCount",
    "ReflectiveNote",
    "SettingValue",
    "SettingsRevision",
    "SupervisionReview",
    "SupervisionReviewFlag",
    "SupervisionSession",
    "SupervisionSessionCase",
    "Team",
    "User",
    "UserSession",
]
