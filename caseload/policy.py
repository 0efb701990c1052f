"""Who may see or change what: the one place that decides (docs/design.md section 7).

Every view declares a policy with :func:`policy`. A request hook enforces it
before the view runs, so a view without one is refused (fail closed) and the
test suite lists it. Record-level rules take the person who asks: SQL clauses
(``visible_episodes(asker)``, ``visible_notes(asker)`` ...) that every read
service adds to its query, and ``can_*`` checks for one record in hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from flask_login import AnonymousUserMixin
from sqlalchemy import ColumnElement, Select, and_, false, select

from caseload.domain.codes import Role
from caseload.models import Client, Episode, ReflectiveNote, SupervisionSession, Team, User

F = TypeVar("F", bound=Callable[..., object])

#: Whoever is asking: a signed-in member of staff, or Flask-Login's anonymous user.
Asker: TypeAlias = User | AnonymousUserMixin


@dataclass(frozen=True)
class Policy:
    """A named rule for a route: who may call it at all."""

    name: str
    roles: frozenset[Role] | None  # None: any signed-in user
    public: bool = False

    def allows(self, user: Asker) -> bool:
        """Whether this user may call a route with this policy."""
        if self.public:
            return True
        if not isinstance(user, User) or not user.is_authenticated:
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


def policy_of(view: Callable[..., object] | None) -> Policy | None:
    """The policy a view declared, or None."""
    return getattr(view, POLICY_ATTRIBUTE, None)


# Record-level rules -----------------------------------------------------------------
#
# Services never write an ownership filter of their own: they add one of these
# clauses to their query, so who may see what is decided here and only here.


def _staff(asker: Asker) -> User | None:
    """The signed-in member of staff, or None for anyone else."""
    return asker if isinstance(asker, User) and asker.is_authenticated else None


def supervised_worker_ids(supervisor: User) -> Select[int]:
    """Ids of the workers in the teams this supervisor supervises."""
    return (
        select(User.id)
        .join(Team, User.team_id == Team.id)
        .where(Team.supervisor_id == supervisor.id)
    )


def episodes_in_force() -> ColumnElement[bool]:
    """A SQL condition on episodes: those not marked entered in error.

    Records are never deleted through the app. An episode (or a whole client, for a
    client registered twice) recorded by mistake is marked entered in error instead:
    from then on no list, search, diary, queue or report shows it, because every
    visibility clause below and the reporting base (``caseload/reporting/base.py``)
    include this one. The row and its audit trail stay in the database.
    """
    return Episode.entered_in_error_at.is_(None)


def clients_in_force() -> ColumnElement[bool]:
    """A SQL condition on clients: those not marked entered in error (see above)."""
    return Client.entered_in_error_at.is_(None)


def visible_episodes(asker: Asker) -> ColumnElement[bool]:
    """A SQL condition on episodes: the ones this person may see.

    Workers see the episodes assigned to them; supervisors those of the workers
    in the teams they supervise; leads and admins no individual episode at all.
    Nobody sees an episode entered in error (``episodes_in_force``).
    """
    user = _staff(asker)
    if user is None:
        return false()
    if user.role is Role.WORKER:
        return and_(episodes_in_force(), Episode.worker_id == user.id)
    if user.role is Role.SUPERVISOR:
        return and_(episodes_in_force(), Episode.worker_id.in_(supervised_worker_ids(user)))
    return false()


def visible_clients(asker: Asker) -> ColumnElement[bool]:
    """A SQL condition on clients: the ones this person may open.

    A legitimate relationship is an episode the person may see, open or discharged:
    a worker who holds or held one of the client's episodes, or that worker's
    supervisor. Anyone else finds the client only in the limited search result.
    A client entered in error is nobody's to open (``clients_in_force``).
    """
    return and_(
        clients_in_force(),
        Client.id.in_(select(Episode.client_id).where(visible_episodes(asker))),
    )


def changeable_episodes(asker: Asker) -> ColumnElement[bool]:
    """A SQL condition on episodes: the ones this person may change (their own cases)."""
    user = _staff(asker)
    if user is None or user.role is not Role.WORKER:
        return false()
    return and_(episodes_in_force(), Episode.worker_id == user.id)


def can_change_episode(asker: Asker, episode: Episode) -> bool:
    """Workers change their own episodes; supervisors act through supervision instead."""
    user = _staff(asker)
    return (
        user is not None
        and user.role is Role.WORKER
        and episode.worker_id == user.id
        and episode.entered_in_error_at is None
    )


def visible_notes(asker: Asker) -> ColumnElement[bool]:
    """A SQL condition on reflective notes: the ones this person may read.

    A worker reads their own notes; a supervisor reads the notes their workers
    chose to share; nobody else reads a note's text.
    """
    user = _staff(asker)
    if user is None:
        return false()
    if user.role is Role.WORKER:
        return ReflectiveNote.author_id == user.id
    if user.role is Role.SUPERVISOR:
        return and_(
            ReflectiveNote.shared_with_supervisor.is_(True),
            ReflectiveNote.author_id.in_(supervised_worker_ids(user)),
        )
    return false()


def own_sessions(asker: Asker) -> ColumnElement[bool]:
    """A SQL condition on supervision sessions: the ones this person may open.

    A supervisor opens the sessions they ran with a worker still in their teams;
    nobody else opens a session (its cases are that worker's clients).
    """
    user = _staff(asker)
    if user is None or user.role is not Role.SUPERVISOR:
        return false()
    return and_(
        SupervisionSession.supervisor_id == user.id,
        SupervisionSession.worker_id.in_(supervised_worker_ids(user)),
    )


def can_view_worker(asker: Asker, worker: User) -> bool:
    """Whether this person may see a worker's caseload: the worker, or their supervisor."""
    user = _staff(asker)
    if user is None:
        return False
    if user.role is Role.WORKER:
        return worker.id == user.id
    if user.role is Role.SUPERVISOR:
        return worker.team is not None and worker.team.supervisor_id == user.id
    return False
