"""Finding a client: the duplicate check at registration, and (below) the search page.

Who may open what is decided in caseload/policy.py (``visible_clients``); here a
client outside that relationship is shown only as much as avoids a duplicate
(docs/design.md section 7): name, date of birth, service reference, and whether an
episode is open and with which team.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher

from sqlalchemy import ColumnElement, and_, case, or_, select
from sqlalchemy.orm import joinedload

from caseload.domain.codes import EpisodeStatus
from caseload.extensions import db
from caseload.models import Client, Episode, Team, User
from caseload.policy import (
    Asker,
    can_view_worker,
    clients_in_force,
    episodes_in_force,
    visible_clients,
    visible_episodes,
)
from caseload.services import NotVisible
from caseload.services.audit import record_event, record_event_now
from caseload.services.clients import normalise_nhs_number

#: Two normalised names at least this similar (difflib ratio) are "similar".
NAME_SIMILARITY = 0.8


def normalise_name(name: str) -> str:
    """Case, accents, punctuation and spacing removed: ``"  Zoë O'Neil "`` -> ``"zoe oneil"``."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in letters.replace("'", ""))
    return " ".join(kept.split())


def names_are_similar(first: str, second: str) -> bool:
    """Whether two names probably mean the same person: the same surname (last word),
    or a difflib similarity of at least NAME_SIMILARITY after normalising both."""
    a, b = normalise_name(first), normalise_name(second)
    if not a or not b:
        return False
    if a.split()[-1] == b.split()[-1]:
        return True
    return SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY


@dataclass(frozen=True)
class DuplicateCandidate:
    """A registered client who may be the person being registered."""

    client_id: int
    name: str
    date_of_birth: date
    service_ref: str
    #: The team of the worker holding the client's open episode; None when none is open
    #: (or, rarely, when that worker belongs to no team: see ``episode_open``).
    open_team: str | None
    #: Whether the asker has a relationship with the client and may open the record.
    may_open: bool
    #: Whether the client has an open episode.
    episode_open: bool = False
    #: Why it matched: "nhs_number" or "date_of_birth_and_name".
    matched_on: str = "date_of_birth_and_name"


@dataclass(frozen=True)
class _OpenEpisode:
    team: str | None
    supervisor: str | None


def _open_episodes(client_ids: Iterable[int]) -> dict[int, _OpenEpisode]:
    """Each client's open episode (if any): the holding worker's team and its supervisor.

    Only team and supervisor names are read, never the worker or the episode, so the
    result is safe to show outside a relationship. One query however many clients.
    """
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    supervisor = db.aliased(User)
    rows = db.session.execute(
        select(Episode.client_id, Team.name, supervisor.display_name)
        .join(User, Episode.worker_id == User.id)
        .outerjoin(Team, User.team_id == Team.id)
        .outerjoin(supervisor, Team.supervisor_id == supervisor.id)
        .where(Episode.client_id.in_(ids), Episode.discharged_on.is_(None), episodes_in_force())
        .order_by(Episode.referral_date.desc(), Episode.id.desc())
    ).all()
    found: dict[int, _OpenEpisode] = {}
    for client_id, team, supervisor_name in rows:
        found.setdefault(client_id, _OpenEpisode(team=team, supervisor=supervisor_name))
    return found


def _openable(asker: Asker, client_ids: Iterable[int]) -> set[int]:
    """The clients among these that the asker may open (one query)."""
    ids = sorted(set(client_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(select(Client.id).where(Client.id.in_(ids), visible_clients(asker)))
    )


def likely_duplicates(
    asker: Asker, *, name: str, date_of_birth: date, nhs_number: str
) -> list[DuplicateCandidate]:
    """Registered clients who may be this person: the same NHS number, or the same date
    of birth and a similar name (``names_are_similar``). NHS-number matches first.

    Records no audit event: the page that shows the candidates records its own.
    Three queries, whatever the size of the service.
    """
    nhs = normalise_nhs_number(nhs_number)
    same_number = Client.nhs_number == nhs if nhs else None
    same_birthday = Client.date_of_birth == date_of_birth
    condition = same_birthday if same_number is None else or_(same_number, same_birthday)
    clients = db.session.scalars(
        select(Client).where(condition, clients_in_force()).order_by(Client.id)
    ).all()
    by_number = [c for c in clients if nhs and c.nhs_number == nhs]
    by_name = [
        c
        for c in clients
        if c not in by_number
        and c.date_of_birth == date_of_birth
        and names_are_similar(name, c.name)
    ]
    matches = [(c, "nhs_number") for c in by_number] + [
        (c, "date_of_birth_and_name") for c in by_name
    ]
    if not matches:
        return []
    ids = [c.id for c, _ in matches]
    open_now = _open_episodes(ids)
    openable = _openable(asker, ids)
    return [
        DuplicateCandidate(
            client_id=client.id,
            name=client.name,
            date_of_birth=client.date_of_birth,
            service_ref=client.service_ref,
            open_team=open_now[client.id].team if client.id in open_now else None,
            may_open=client.id in openable,
            episode_open=client.id in open_now,
            matched_on=reason,
        )
        for client, reason in matches
    ]


# The search page --------------------------------------------------------------------

#: At most this many clients are shown for one search; the page says when more matched.
RESULT_LIMIT = 25
#: A longer query is refused (no name, reference, number and date add up to more).
MAX_QUERY_LENGTH = 100
#: A search by name alone needs this many letters, so one letter cannot list the service.
MIN_NAME_LETTERS = 2

_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: A service reference: C, an optional hyphen, six characters of new_service_ref's alphabet.
_SERVICE_REF = re.compile(r"C-?([0-9A-HJKMNP-TV-Z]{6})", re.IGNORECASE)


@dataclass(frozen=True)
class SearchTerms:
    """What a search query asks for; every part given must match (AND)."""

    name_words: tuple[str, ...] = ()
    date_of_birth: date | None = None
    nhs_number: str | None = None
    service_ref: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing to search for."""
        return not (self.name_words or self.date_of_birth or self.nhs_number or self.service_ref)


class UnclearQuery(ValueError):
    """The query cannot be searched as written; the message says how to fix it."""


def _parse_date(token: str) -> date | None:
    """A date of birth written DD/MM/YYYY or YYYY-MM-DD; None when it is neither shape."""
    if match := _UK_DATE.fullmatch(token):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO_DATE.fullmatch(token):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        raise UnclearQuery(
            f"{token} is not a real date. Write a date of birth as DD/MM/YYYY."
        ) from None


def _service_ref(token: str) -> str | None:
    """A token that is a service reference, as stored (``C-7K3M9Q``); None otherwise.

    Without its hyphen a reference must hold a digit, so a name such as "Chapman"
    stays a name.
    """
    match = _SERVICE_REF.fullmatch(token)
    if match is None or ("-" not in token and not any(ch.isdigit() for ch in token)):
        return None
    return "C-" + match.group(1).upper()


def parse_query(query: str) -> SearchTerms:
    """Read a search box: an NHS number (spaces allowed), a service reference, a date of
    birth (DD/MM/YYYY or YYYY-MM-DD) and words of a name, in any combination.

    Raises UnclearQuery with a message for the worker when the query cannot be searched.
    """
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise UnclearQuery(f"Search for at most {MAX_QUERY_LENGTH} characters.")
    compact = normalise_nhs_number(query)
    is_date = _ISO_DATE.fullmatch(query) or _UK_DATE.fullmatch(query)
    if compact.isascii() and compact.isdigit() and not is_date:
        if len(compact) != 10:
            raise UnclearQuery("An NHS number has 10 digits, for example 943 476 5919.")
        return SearchTerms(nhs_number=compact)
    words: list[str] = []
    born: date | None = None
    ref: str | None = None
    for token in query.split():
        if (day := _parse_date(token)) is not None:
            if born is not None and born != day:
                raise UnclearQuery("Search for one date of birth at a time.")
            born = day
        elif (found := _service_ref(token)) is not None:
            if ref is not None and ref != found:
                raise UnclearQuery("Search for one service reference at a time.")
            ref = found
        else:
            words.append(token)
    terms = SearchTerms(name_words=tuple(words), date_of_birth=born, service_ref=ref)
    letters = sum(ch.isalpha() for word in words for ch in word)
    if words and born is None and ref is None and letters < MIN_NAME_LETTERS:
        raise UnclearQuery(
            f"Enter at least {MIN_NAME_LETTERS} letters of the name, or add a date of birth."
        )
    return terms


def _conditions(terms: SearchTerms) -> list[ColumnElement[bool]]:
    """The SQL conditions for the terms, ANDed by the caller."""
    conditions: list[ColumnElement[bool]] = [
        Client.name.icontains(word, autoescape=True) for word in terms.name_words
    ]
    if terms.date_of_birth is not None:
        conditions.append(Client.date_of_birth == terms.date_of_birth)
    if terms.nhs_number is not None:
        conditions.append(Client.nhs_number == terms.nhs_number)
    if terms.service_ref is not None:
        conditions.append(Client.service_ref == terms.service_ref)
    return conditions


@dataclass(frozen=True)
class EpisodeLine:
    """One episode as the asker may see it: on the client page and in a full search result."""

    episode_id: int
    status: EpisodeStatus
    worker_name: str
    referral_date: date
    discharged_on: date | None
    presenting_problem: str
    #: Whether the asker may open the episode page (the relationship is to this episode).
    may_open: bool


@dataclass(frozen=True)
class SearchResult:
    """One client found. ``episode`` is None for a client the asker has no relationship
    with: then only what avoids a duplicate is shown (name, date of birth, service
    reference, whether an episode is open and with which team)."""

    client_id: int
    name: str
    date_of_birth: date
    service_ref: str
    nhs_number: str | None
    episode_open: bool
    open_team: str | None
    #: The display name of the supervisor of the team holding the open episode.
    open_supervisor: str | None
    #: The episode the asker may see (the open one, else the newest), for a client they
    #: have a relationship with.
    episode: EpisodeLine | None = None

    @property
    def may_open(self) -> bool:
        """Whether the asker has a relationship with the client (full result)."""
        return self.episode is not None


@dataclass(frozen=True)
class ClientSearch:
    """What a search found: at most RESULT_LIMIT clients, those the asker may open first."""

    query: str
    results: tuple[SearchResult, ...] = ()
    #: More clients matched than are shown.
    more: bool = False
    #: Why the query could not be searched, for the worker.
    problem: str | None = None

    @property
    def searched(self) -> bool:
        """Whether a search ran (a non-empty query that could be read)."""
        return bool(self.query) and self.problem is None


def _episode_line(episode: Episode, *, may_open: bool) -> EpisodeLine:
    return EpisodeLine(
        episode_id=episode.id,
        status=episode.status,
        worker_name=episode.worker.display_name,
        referral_date=episode.referral_date,
        discharged_on=episode.discharged_on,
        presenting_problem=episode.presenting_problem,
        may_open=may_open,
    )


def _newest_visible_episodes(asker: Asker, client_ids: Iterable[int]) -> dict[int, Episode]:
    """Each client's episode the asker may see, the open one or else the newest (one query,
    with worker and summary)."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    episodes = db.session.scalars(
        select(Episode)
        .options(joinedload(Episode.worker), joinedload(Episode.summary))
        .where(Episode.client_id.in_(ids), visible_episodes(asker))
        .order_by(
            Episode.discharged_on.is_(None).desc(), Episode.referral_date.desc(), Episode.id.desc()
        )
    ).all()
    newest: dict[int, Episode] = {}
    for episode in episodes:
        newest.setdefault(episode.client_id, episode)
    return newest


def search_clients(asker: Asker, query: str) -> ClientSearch:
    """Find clients by name, service reference, NHS number or date of birth.

    Clients the asker has a relationship with (``visible_clients``) come first, in
    full; the others in the limited view. Every non-empty query is audited with its
    terms and every client shown. Four queries and the audit event, however many match.
    """
    query = " ".join(query.split())
    if not query:
        return ClientSearch(query="")
    try:
        terms = parse_query(query)
    except UnclearQuery as unclear:
        record_event(
            "client.search",
            actor=asker,
            detail={"terms": query[:MAX_QUERY_LENGTH], "refused": str(unclear)},
        )
        return ClientSearch(query=query, problem=str(unclear))
    openable = visible_clients(asker)
    rows = db.session.execute(
        select(Client, openable.label("may_open"))
        .where(*_conditions(terms), clients_in_force())
        .order_by(case((openable, 0), else_=1), Client.name, Client.id)
        .limit(RESULT_LIMIT + 1)
    ).all()
    more = len(rows) > RESULT_LIMIT
    rows = rows[:RESULT_LIMIT]
    ids = [client.id for client, _ in rows]
    open_now = _open_episodes(ids)
    newest = _newest_visible_episodes(asker, [client.id for client, may in rows if may])
    results = tuple(
        SearchResult(
            client_id=client.id,
            name=client.name,
            date_of_birth=client.date_of_birth,
            service_ref=client.service_ref,
            nhs_number=client.nhs_number if client.id in newest else None,
            episode_open=client.id in open_now,
            open_team=open_now[client.id].team if client.id in open_now else None,
            open_supervisor=open_now[client.id].supervisor if client.id in open_now else None,
            episode=(
                _episode_line(newest[client.id], may_open=True) if client.id in newest else None
            ),
        )
        for client, _ in rows
    )
    record_event(
        "client.search",
        actor=asker,
        detail={"terms": query, "results": len(results), "more": more},
        client_ids=ids,
    )
    return ClientSearch(query=query, results=results, more=more)


# The client page ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRecord:
    """A client the asker has a relationship with, and all their episodes, newest first."""

    client: Client
    episodes: tuple[EpisodeLine, ...]
    open_team: str | None
    open_supervisor: str | None

    @property
    def open_episode(self) -> EpisodeLine | None:
        """The client's open episode, if any."""
        return next((e for e in self.episodes if e.discharged_on is None), None)


def get_client(asker: Asker, client_id: int) -> ClientRecord:
    """A client and every episode of theirs, for someone with a relationship with them
    (``visible_clients``); anyone else gets NotVisible after an audited denial.

    Every episode is listed (who held it, when, its status), but only those the asker
    may see link to their page. Three queries, however many episodes.
    """
    client = db.session.scalar(select(Client).where(Client.id == client_id, visible_clients(asker)))
    if client is None:
        record_event_now("access.denied", actor=asker, object_type="client", object_id=client_id)
        raise NotVisible(client_id)
    visible = and_(Episode.client_id == client.id, visible_episodes(asker))
    rows = db.session.execute(
        select(Episode, case((visible, True), else_=False).label("may_open"))
        .options(joinedload(Episode.worker), joinedload(Episode.summary))
        .where(Episode.client_id == client.id, episodes_in_force())
        .order_by(Episode.referral_date.desc(), Episode.id.desc())
    ).all()
    open_now = _open_episodes([client.id]).get(client.id)
    record_event(
        "client.view",
        actor=asker,
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"episodes": len(rows)},
    )
    return ClientRecord(
        client=client,
        episodes=tuple(_episode_line(e, may_open=bool(may)) for e, may in rows),
        open_team=open_now.team if open_now else None,
        open_supervisor=open_now.supervisor if open_now else None,
    )


@dataclass(frozen=True)
class ReferralTarget:
    """A client as the re-referral page shows them: the limited view, whoever asks, and
    the open episode that stands in the way, if any."""

    client: Client
    episode_open: bool
    open_team: str | None
    open_supervisor: str | None
    #: The open episode, when the asker may open it (their own case).
    open_episode_id: int | None
    #: Whether the asker has a relationship with the client (may open the client page).
    may_open: bool


def referral_target(asker: Asker, client_id: int) -> ReferralTarget:
    """The client a worker is about to re-refer. Any worker may re-refer any client of
    the service who has no open episode (that is what avoids a duplicate record), so the
    page shows only the limited view; the read is audited all the same."""
    client = db.session.scalar(select(Client).where(Client.id == client_id, clients_in_force()))
    if client is None:
        record_event_now("access.denied", actor=asker, object_type="client", object_id=client_id)
        raise NotVisible(client_id)
    open_now = _open_episodes([client.id]).get(client.id)
    own_open = db.session.scalar(
        select(Episode.id).where(
            Episode.client_id == client.id,
            Episode.discharged_on.is_(None),
            visible_episodes(asker),
        )
    )
    may_open = bool(_openable(asker, [client.id]))
    record_event(
        "client.view",
        actor=asker,
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"page": "referral", "relationship": may_open},
    )
    return ReferralTarget(
        client=client,
        episode_open=open_now is not None,
        open_team=open_now.team if open_now else None,
        open_supervisor=open_now.supervisor if open_now else None,
        open_episode_id=own_open,
        may_open=may_open,
    )


# My discharged clients ----------------------------------------------------------------


def a_year_before(today: date) -> date:
    """The same calendar day a year earlier (28 February for 29 February)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


@dataclass(frozen=True)
class DischargedRow:
    """One discharged episode of the worker's, and whether the client is open again."""

    episode: Episode
    #: The client has an open episode now (re-referred): with which team.
    open_again: bool
    open_team: str | None


def discharged_clients(asker: Asker, *, worker: User, today: date) -> list[DischargedRow]:
    """The worker's episodes discharged in the 12 months to ``today`` (UK dates), newest
    first. Only what the asker may see: the worker, or their supervisor. Two queries
    and the audit event, however many episodes."""
    if not can_view_worker(asker, worker):
        record_event_now("access.denied", actor=asker, object_type="user", object_id=worker.id)
        raise NotVisible(worker.id)
    episodes = db.session.scalars(
        select(Episode)
        .options(joinedload(Episode.client), joinedload(Episode.summary))
        .where(
            Episode.worker_id == worker.id,
            visible_episodes(asker),
            Episode.discharged_on.is_not(None),
            Episode.discharged_on >= a_year_before(today),
            Episode.discharged_on <= today,
        )
        .order_by(Episode.discharged_on.desc(), Episode.id.desc())
    ).all()
    open_now = _open_episodes(e.client_id for e in episodes)
    record_event(
        "discharged.view",
        actor=asker,
        object_type="user",
        object_id=worker.id,
        client_ids=[e.client_id for e in episodes],
        detail={"episodes": len(episodes)},
    )
    return [
        DischargedRow(
            episode=e,
            open_again=e.client_id in open_now,
            open_team=open_now[e.client_id].team if e.client_id in open_now else None,
        )
        for e in episodes
    ]
