"""Typed SQLAlchemy models. Import from here: ``from caseload.models import User``."""

from caseload.models.audit import AuditEvent
from caseload.models.security import AuthFailure, UserSession
from caseload.models.users import Team, User

__all__ = ["AuditEvent", "AuthFailure", "Team", "User", "UserSession"]
