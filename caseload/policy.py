"""Who may see or change what: the one place that decides (DESIGN.md section 7).

Every view declares a policy with :func:`policy`. A request hook enforces it
before the view runs, so a view without one is refused (fail closed) and the
test suite lists it. Record-level checks (``can_*``) are pure functions of the
user and the record; list queries are scoped in the services with the same
rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Role(StrEnum):
    """A member of staff's one role."""

    WORKER = "worker"
    SUPERVISOR = "supervisor"
    LEAD = "lead"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role as people say it."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.WORKER: "Practitioner",
    Role.SUPERVISOR: "Supervisor",
    Role.LEAD: "Service lead",
    Role.ADMIN: "Administrator",
}


@dataclass(frozen=True)
class Policy:
    """A named rule for a route: who may call it at all."""

    name: str
    roles: frozenset[Role] | None  # None: any signed-in user
    public: bool = False

    def allows(self, user: Any) -> bool:
        """Whether this user may call a route with this policy."""
        if self.public:
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        return self.roles is None or user.role in self.roles


PUBLIC = Policy("public", roles=None, public=True)
SIGNED_IN = Policy("signed in", roles=None)


def role_in(*roles: Role) -> Policy:
    """A policy for routes open to the given roles only."""
    return Policy(" or ".join(r.value for r in roles), roles=frozenset(roles))


WORKER = role_in(Role.WORKER)
CLINICAL = role_in(Role.WORKER, Role.SUPERVISOR)
SUPERVISOR = role_in(Role.SUPERVISOR)
LEAD = role_in(Role.LEAD)
ADMIN = role_in(Role.ADMIN)

POLICY_ATTRIBUTE = "__caseload_policy__"


def policy(rule: Policy) -> Callable[[F], F]:
    """Declare who may call a view. Every view must carry one."""

    def decorate(view: F) -> F:
        setattr(view, POLICY_ATTRIBUTE, rule)
        return view

    return decorate


def policy_of(view: Callable[..., Any] | None) -> Policy | None:
    """The policy a view declared, or None."""
    return getattr(view, POLICY_ATTRIBUTE, None)


# Record-level rules -----------------------------------------------------------------


def visible_episodes_clause(user: Any) -> Any:
    """A SQL condition on episodes: the ones this user may see.

    Workers see the episodes assigned to them; supervisors those of the workers
    in the teams they supervise; leads and admins no individual episode at all.
    """
    from sqlalchemy import false, select

    from caseload.models import Episode, Team, User

    if not getattr(user, "is_authenticated", False):
        return false()
    if user.role is Role.WORKER:
        return Episode.worker_id == user.id
    if user.role is Role.SUPERVISOR:
        team_workers = (
            select(User.id).join(Team, User.team_id == Team.id).where(Team.supervisor_id == user.id)
        )
        return Episode.worker_id.in_(team_workers)
    return false()


def can_change_episode(user: Any, episode: Any) -> bool:
    """Workers change their own episodes; supervisors act through supervision instead."""
    return bool(getattr(user, "is_authenticated", False)) and user.role is Role.WORKER and (
        episode.worker_id == user.id
    )
