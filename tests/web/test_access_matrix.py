"""The access matrix: who gets what from every route, written down as a table.

Each row is one (endpoint, method) the app serves; each column one relationship
between the person asking and the record in the URL. The walk signs in as each
relationship and requests every row through the real hooks, CSRF included, so
the table is what the app does, not what the policies say. A route without a
row, or a row without a route, fails ``test_the_matrix_has_a_row_for_every_route``.

Columns (the people and records are built by :func:`build_world`):

- ``anon``: nobody signed in; URLs point to the North worker's records.
- ``own``: the North worker, on their own records.
- ``other``: the North worker, on the South worker's records.
- ``sup_in``: the North team's supervisor, on the North worker's records.
- ``sup_out``: the same North supervisor, on the South worker's records (the
  South team has its own supervisor, so the rule is "not your team", not "no one's").
- ``lead``, ``admin``: a service lead and an administrator, on the North worker's records.

Cells (what the response was):

- ``200``: the page; for a POST, the form shown again with its problems, so access was
  granted (POSTs send only a CSRF token);
- ``302``: a redirect onward (success, or "nothing to do here");
- ``login``: 302 to the sign-in page with ``next`` set to the requested path;
- ``400``: a post that the page's buttons could not have made (supervision's session
  buttons carry their values in hidden fields), also after access was granted;
- ``409``: a conflict, also after access was granted;
- ``403``: refused by the route's role policy; ``404``: refused as not visible to you;
- ``405``: the route does not take the method.

Every 403 or 404 to a signed-in person must leave an ``access.denied`` audit event,
and no other cell may leave one. For each endpoint, the one of GET and POST that
its route does not take has no row: the walk expects 405 from it in every column.
Later issues add their rows here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum, StrEnum
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from caseload.domain.codes import AttendanceCode, DischargeReason, Role
from caseload.extensions import db
from caseload.models import AuditEvent, User
from caseload.services.episodes import discharge
from caseload.services.letters import save_letter
from caseload.services.supervision import start_session
from caseload.web import STATIC_ENDPOINTS, today_in_london
from tests.conftest import csrf_token, make_user, sign_in
from tests.services import factories

ACCESS_TABLE = """
endpoint                method  anon   own    other  sup_in  sup_out  lead   admin
auth.login              GET     200    302    302    302     302      302    302
auth.login              POST    200    302    302    302     302      302    302
auth.busy               GET     200    200    200    200     200      200    200
auth.mfa                GET     302    302    302    302     302      302    302
auth.mfa                POST    302    302    302    302     302      302    302
auth.logout             POST    login  302    302    302     302      302    302
main.home               GET     login  302    302    302     302      302    200
cases.caseload          GET     login  200    200    403     403      403    403
cases.register_client   GET     login  200    200    403     403      403    403
cases.register_client   POST    login  200    200    403     403      403    403
cases.episode           GET     login  200    404    200     404      403    403
cases.log_contact       GET     login  200    404    403     403      403    403
cases.log_contact       POST    login  200    404    403     403      403    403
cases.change_contact    GET     login  200    404    403     403      403    403
cases.change_contact    POST    login  200    404    403     403      403    403
cases.entered_in_error  GET     login  200    404    403     403      403    403
cases.entered_in_error  POST    login  200    404    403     403      403    403
cases.discharge         GET     login  200    404    403     403      403    403
cases.discharge         POST    login  200    404    403     403      403    403
cases.consent           GET     login  200    404    403     403      403    403
cases.consent           POST    login  200    404    403     403      403    403
diary.index             GET     login  200    200    403     403      403    403
diary.record_outcome    POST    login  200    404    403     403      403    403
diary.book              GET     login  200    404    403     403      403    403
diary.book              POST    login  200    404    403     403      403    403
clients.search          GET     login  200    200    200     200      403    403
clients.client          GET     login  200    404    200     404      403    403
clients.add_referral    GET     login  200    200    403     403      403    403
clients.add_referral    POST    login  200    200    403     403      403    403
clients.discharged      GET     login  200    200    403     403      403    403
notes.index             GET     login  200    200    403     403      403    403
notes.new               GET     login  200    200    403     403      403    403
notes.new               POST    login  200    200    403     403      403    403
supervision.queue       GET     login  403    403    200     404      403    403
supervision.review      GET     login  403    403    200     404      403    403
supervision.review      POST    login  403    403    200     404      403    403
supervision.reassign    GET     login  403    403    200     404      403    403
supervision.reassign    POST    login  403    403    200     404      403    403
supervision.start_session POST  login  403    403    400     400      403    403
supervision.session     GET     login  403    403    200     404      403    403
supervision.session_case GET    login  403    403    200     404      403    403
supervision.move        POST    login  403    403    400     404      403    403
supervision.end_session POST    login  403    403    302     404      403    403
supervision.team_load   GET     login  403    403    200     200      403    403
supervision.shared_notes GET    login  403    403    200     404      403    403
auth.new_passphrase     GET     302    302    302    302     302      302    302
auth.new_passphrase     POST    302    302    302    302     302      302    302
auth.confirm            GET     login  200    200    200     200      200    200
auth.confirm            POST    login  200    200    200     200      200    200
account.index           GET     login  200    200    200     200      200    200
account.passphrase      GET     login  200    200    200     200      200    200
account.passphrase      POST    login  200    200    200     200      200    200
account.end_others      POST    login  302    302    302     302      302    302
account.end_session     POST    login  200    200    200     200      200    200
cases.episode_entered_in_error GET  login 200 404  403     403      403    403
cases.episode_entered_in_error POST login 200 404  403     403      403    403
admin.accounts          GET     login  403    403    403     403      403    200
admin.new_account       GET     login  403    403    403     403      403    200
admin.new_account       POST    login  403    403    403     403      403    200
admin.account           GET     login  403    403    403     403      403    200
admin.change_role       GET     login  403    403    403     403      403    200
admin.change_role       POST    login  403    403    403     403      403    200
admin.disable_account   POST    login  403    403    403     403      403    302
admin.enable_account    POST    login  403    403    403     403      403    302
admin.reset_passphrase  POST    login  403    403    403     403      403    302
admin.reset_mfa         POST    login  403    403    403     403      403    302
admin.teams             GET     login  403    403    403     403      403    200
admin.new_team          GET     login  403    403    403     403      403    200
admin.new_team          POST    login  403    403    403     403      403    200
admin.team              GET     login  403    403    403     403      403    200
admin.rename_team       POST    login  403    403    403     403      403    200
admin.team_supervisor   POST    login  403    403    403     403      403    302
admin.add_team_worker   POST    login  403    403    403     403      403    200
admin.remove_team_worker POST   login  403    403    403     403      403    200
admin.settings          GET     login  403    403    403     403      403    200
admin.settings          POST    login  403    403    403     403      403    200
about.accessibility     GET     200    200    200    200     200      200    200
about.privacy           GET     200    200    200    200     200      200    200
admin.audit             GET     login  403    403    403     403      403    200
admin.audit_csv         GET     login  403    403    403     403      403    200
exports.summary         GET     login  200    404    200     404      403    403
exports.letters         GET     login  200    404    200     404      403    403
exports.new_letter      GET     login  200    404    403     403      403    403
exports.new_letter      POST    login  200    404    403     403      403    403
exports.letter          GET     login  200    404    200     404      403    403
exports.episode_fhir    GET     login  200    404    403     403      403    403
lead.exports            GET     login  403    403    403     403      200    403
lead.export_csv         POST    login  403    403    403     403      200    403
lead.export_fhir        POST    login  403    403    403     403      200    403
lead.dashboard          GET     login  403    403    403     403      200    403
lead.dashboard_csv      GET     login  403    403    403     403      200    403
lead.findings           GET     login  403    403    403     403      200    403
"""


class Obj(Enum):
    """A record of the relationship's case, put into a URL."""

    EPISODE = "episode"
    CONTACT = "contact"  # attended and scored
    BOOKED = "booked"  # booked, its time passed, no outcome yet
    CLIENT = "client"  # the client of the episode (open)
    DISCHARGED_CLIENT = "discharged_client"  # another client, whose one episode is discharged
    WORKER = "worker"  # the worker who holds the case (a filter in a query string)
    SESSION = "session"  # a supervision session of the worker's supervisor with that worker
    TEAM = "team"  # the team of the worker who holds the case
    LETTER = "letter"  # a letter to the GP saved on the episode


#: The URL arguments of each endpoint that takes any. Several variants of one endpoint
#: are each requested and must each give the row's outcome.
URL_ARGS: dict[str, tuple[dict[str, Any], ...]] = {
    "cases.episode": ({"episode_id": Obj.EPISODE},),
    "cases.log_contact": ({"episode_id": Obj.EPISODE},),
    "cases.discharge": ({"episode_id": Obj.EPISODE},),
    "cases.consent": ({"episode_id": Obj.EPISODE},),
    "cases.change_contact": (
        {"contact_id": Obj.BOOKED, "action": "outcome"},
        {"contact_id": Obj.CONTACT, "action": "correct"},
    ),
    "cases.entered_in_error": ({"contact_id": Obj.CONTACT},),
    "diary.record_outcome": ({"contact_id": Obj.BOOKED},),
    "diary.book": ({"episode_id": Obj.EPISODE},),
    "clients.client": ({"client_id": Obj.CLIENT}, {"client_id": Obj.DISCHARGED_CLIENT}),
    # Any worker may re-refer a client with no open episode: the page shows only what
    # the search shows of a client (docs/worker-guide.md, "Find a client").
    "clients.add_referral": ({"client_id": Obj.DISCHARGED_CLIENT},),
    # Supervision: a filter naming the case's worker goes in the query string; the start
    # of a session names its worker in the form, so an empty post is refused (400) first.
    "supervision.queue": ({"worker": Obj.WORKER},),
    "supervision.shared_notes": ({"worker": Obj.WORKER},),
    "supervision.review": ({"episode_id": Obj.EPISODE},),
    "supervision.reassign": ({"episode_id": Obj.EPISODE},),
    "supervision.session": ({"session_id": Obj.SESSION},),
    "supervision.session_case": ({"session_id": Obj.SESSION, "position": 1},),
    "supervision.move": ({"session_id": Obj.SESSION},),
    "supervision.end_session": ({"session_id": Obj.SESSION},),
    "cases.episode_entered_in_error": ({"episode_id": Obj.EPISODE},),
    # The administrator's pages name the case's worker and team; removing the worker
    # from the team is refused (its form shown again) while they hold open cases.
    "admin.account": ({"user_id": Obj.WORKER},),
    "admin.change_role": ({"user_id": Obj.WORKER},),
    "admin.disable_account": ({"user_id": Obj.WORKER},),
    "admin.enable_account": ({"user_id": Obj.WORKER},),
    "admin.reset_passphrase": ({"user_id": Obj.WORKER},),
    "admin.reset_mfa": ({"user_id": Obj.WORKER},),
    "admin.team": ({"team_id": Obj.TEAM},),
    "admin.rename_team": ({"team_id": Obj.TEAM},),
    "admin.team_supervisor": ({"team_id": Obj.TEAM},),
    "admin.add_team_worker": ({"team_id": Obj.TEAM},),
    "admin.remove_team_worker": ({"team_id": Obj.TEAM, "worker_id": Obj.WORKER},),
    # Records that leave the screen: a letter is drafted from a template named in the URL.
    "exports.summary": ({"episode_id": Obj.EPISODE},),
    "exports.letters": ({"episode_id": Obj.EPISODE},),
    "exports.new_letter": ({"episode_id": Obj.EPISODE, "template": "assessment"},),
    "exports.letter": ({"letter_id": Obj.LETTER},),
    "exports.episode_fhir": ({"episode_id": Obj.EPISODE},),
}

#: Rows that end the session; they run last in each walk.
ENDS_SESSION = {("auth.logout", "POST")}


class Outcome(StrEnum):
    """What a request got, as written in the table."""

    OK = "200"
    REDIRECT = "302"
    LOGIN = "login"
    BAD = "400"
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    NOT_ALLOWED = "405"
    CONFLICT = "409"


DENIED = {Outcome.FORBIDDEN, Outcome.NOT_FOUND}


class Row(NamedTuple):
    """One (endpoint, method): the outcome for each relationship."""

    anon: Outcome
    own: Outcome
    other: Outcome
    sup_in: Outcome
    sup_out: Outcome
    lead: Outcome
    admin: Outcome


def parse_table(table: str) -> dict[tuple[str, str], Row]:
    """The table as {(endpoint, method): Row}, refusing typos, short rows and duplicates."""
    header, *lines = (line.split() for line in table.strip().splitlines())
    if header != ["endpoint", "method", *Row._fields]:
        raise ValueError(f"access table header should name {Row._fields}: {header}")
    matrix: dict[tuple[str, str], Row] = {}
    for endpoint, method, *cells in lines:
        key = (endpoint, method)
        if len(cells) != len(Row._fields):
            raise ValueError(f"access table row {key} has {len(cells)} cells")
        if key in matrix:
            raise ValueError(f"access table row {key} appears twice")
        matrix[key] = Row(*(Outcome(cell) for cell in cells))
    return matrix


MATRIX = parse_table(ACCESS_TABLE)


# The people and records ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A worker's episode with one attended contact and one booking awaiting its outcome."""

    episode: int
    contact: int
    booked: int
    client: int
    discharged_client: int
    worker: int = 0
    #: The team supervisor's session with the worker (set by build_world).
    session: int = 0
    team: int = 0
    letter: int = 0

    def id_of(self, obj: Obj) -> int:
        return {
            Obj.EPISODE: self.episode,
            Obj.CONTACT: self.contact,
            Obj.BOOKED: self.booked,
            Obj.CLIENT: self.client,
            Obj.DISCHARGED_CLIENT: self.discharged_client,
            Obj.WORKER: self.worker,
            Obj.SESSION: self.session,
            Obj.TEAM: self.team,
            Obj.LETTER: self.letter,
        }[obj]


@dataclass(frozen=True)
class World:
    users: dict[str, User]
    cases: dict[str, Case]


def make_case(worker: User, name: str) -> Case:
    """A registered client with a contact and a booking, made through the services."""
    episode = factories.register(worker, details=factories.client_details(name=name))
    contact = factories.log(worker, episode)
    booked = factories.log(
        worker, episode, factories.NOW + timedelta(days=1), attendance=AttendanceCode.BOOKED
    )
    ended = factories.register(worker, details=factories.client_details(name=f"{name} Discharged"))
    discharge(
        worker,
        ended,
        reason=DischargeReason.COMPLETED,
        discharged_on=factories.TODAY,
        note="",
        today=factories.TODAY,
    )
    letter = save_letter(worker, episode, key="assessment", body="Dear Doctor,")
    db.session.commit()
    return Case(
        episode.id,
        contact.id,
        booked.id,
        episode.client_id,
        ended.client_id,
        worker.id,
        team=worker.team_id or 0,
        letter=letter.id,
    )


def build_world() -> World:
    """Two teams, each with a worker and a supervisor, plus a lead and an admin."""
    users = {
        "north_worker": make_user(Role.WORKER, username="north-worker", team="North team"),
        "north_supervisor": make_user(Role.SUPERVISOR, username="north-sup", team="North team"),
        "south_worker": make_user(Role.WORKER, username="south-worker", team="South team"),
        "south_supervisor": make_user(Role.SUPERVISOR, username="south-sup", team="South team"),
        "lead": make_user(Role.LEAD, username="the-lead"),
        "admin": make_user(Role.ADMIN, username="the-admin"),
    }
    cases = {
        "north": make_case(users["north_worker"], "North Client"),
        "south": make_case(users["south_worker"], "South Client"),
    }
    for team in ("north", "south"):
        # Each supervisor's session with their worker: the case is flagged today (its
        # review is overdue), so the session has it on its list.
        session = start_session(
            users[f"{team}_supervisor"],
            worker_id=users[f"{team}_worker"].id,
            today=today_in_london(),
        )
        cases[team] = replace(cases[team], session=session.id)
    db.session.commit()
    return World(users, cases)


@dataclass(frozen=True)
class Relationship:
    """A matrix column: who signs in (None: nobody) and whose records the URLs name."""

    column: str
    user: str | None
    case: str


RELATIONSHIPS = (
    Relationship("anon", None, "north"),
    Relationship("own", "north_worker", "north"),
    Relationship("other", "north_worker", "south"),
    Relationship("sup_in", "north_supervisor", "north"),
    Relationship("sup_out", "north_supervisor", "south"),
    Relationship("lead", "lead", "north"),
    Relationship("admin", "admin", "north"),
)
assert tuple(r.column for r in RELATIONSHIPS) == Row._fields


# Reading the routes and the responses ---------------------------------------------------


def served_methods(app: Flask) -> dict[str, set[str]]:
    """Each non-static endpoint and the methods its routes take (no HEAD or OPTIONS)."""
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in STATIC_ENDPOINTS:
            taken = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
            methods.setdefault(rule.endpoint, set()).update(taken)
    return methods


def urls(app: Flask, endpoint: str, case: Case) -> Iterator[str]:
    """The URLs to request for an endpoint, naming the case's records."""
    adapter = app.url_map.bind("localhost")
    for variant in URL_ARGS.get(endpoint, ({},)):
        values = {k: case.id_of(v) if isinstance(v, Obj) else v for k, v in variant.items()}
        yield adapter.build(endpoint, values)


def outcome_of(response: Any, url: str) -> str:
    """The table's word for a response."""
    if response.status_code == 302:
        location = urlsplit(response.headers["Location"])
        if location.path == "/login" and parse_qs(location.query).get("next") == [url]:
            return Outcome.LOGIN
        return Outcome.REDIRECT
    try:
        return Outcome(str(response.status_code))
    except ValueError:
        return f"unexpected {response.status_code}"


def last_audit_id() -> int:
    """The newest audit event's id (0 when none), as the database now holds it."""
    db.session.commit()
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def denials_since(audit_id: int) -> list[AuditEvent]:
    """The access.denied events written after an audit id."""
    db.session.commit()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > audit_id, AuditEvent.action == "access.denied")
        )
    )


# The tests -------------------------------------------------------------------------------


def test_the_matrix_has_a_row_for_every_route(app: Flask) -> None:
    served = {
        (endpoint, method)
        for endpoint, methods in served_methods(app).items()
        for method in methods
    }
    problems = [
        *(f"route with no row in ACCESS_TABLE: {key}" for key in sorted(served - MATRIX.keys())),
        *(f"row in ACCESS_TABLE with no route: {key}" for key in sorted(MATRIX.keys() - served)),
        *(
            f"URL_ARGS for an endpoint with no route: {endpoint}"
            for endpoint in sorted(URL_ARGS.keys() - served_methods(app).keys())
        ),
    ]
    assert not problems, "\n".join(problems)


@pytest.fixture
def lenient_errors(app: Flask) -> Flask:
    """A server error becomes the 500 page, so it shows as a wrong cell, not a crash."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.mark.usefixtures("lenient_errors")
@pytest.mark.parametrize("relationship", RELATIONSHIPS, ids=lambda r: r.column)
def test_access_matrix(app: Flask, client: FlaskClient, relationship: Relationship) -> None:
    world = build_world()
    case = world.cases[relationship.case]
    user = world.users[relationship.user] if relationship.user else None
    actor_id = user.id if user else None
    if user is not None:
        sign_in(client, user)
    csrf = csrf_token(client, "/" if user else "/login")

    cells: list[tuple[str, str, Outcome]] = []
    for endpoint, methods in served_methods(app).items():
        for method in sorted(methods | {"GET", "POST"}):
            if method in methods:
                row = MATRIX.get((endpoint, method))
                if row is None:
                    continue  # reported by test_the_matrix_has_a_row_for_every_route
                expected = getattr(row, relationship.column)
            else:
                expected = Outcome.NOT_ALLOWED
            cells.append((endpoint, method, expected))
    cells.sort(key=lambda cell: (cell[0], cell[1]) in ENDS_SESSION)

    problems = []
    for endpoint, method, expected in cells:
        for url in urls(app, endpoint, case):
            before = last_audit_id()
            data = {"csrf_token": csrf} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            got = outcome_of(response, url)
            where = f"{method} {url} ({endpoint})"
            if got != expected:
                problems.append(f"{where}: expected {expected}, got {got}")
            denials = denials_since(before)
            if got in DENIED and user is not None:
                if not any(event.actor_id == actor_id for event in denials):
                    problems.append(f"{where}: {got} without an access.denied audit event")
            elif denials and got == expected:
                problems.append(f"{where}: {got} but wrote {len(denials)} access.denied events")
    assert not problems, f"access matrix, column {relationship.column!r}:\n  " + "\n  ".join(
        problems
    )


def test_the_table_reads_as_written() -> None:
    """The parser refuses what would silently drop a cell."""
    header = "endpoint method " + " ".join(Row._fields)
    with pytest.raises(ValueError, match="cells"):
        parse_table(f"{header}\nmain.home GET login 200")
    with pytest.raises(ValueError, match="twice"):
        parse_table(
            f"{header}\n" + "main.home GET" + " 200" * 7 + "\n" + "main.home GET" + " 200" * 7
        )
    with pytest.raises(ValueError, match="not a valid Outcome"):
        parse_table(f"{header}\nmain.home GET" + " 201" * 7)
