"""Building the large synthetic service: staff through the account service, then the
caseload planned in batches by the demo planner and bulk-inserted, one transaction a batch.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from queue import Empty
from typing import Any

import pyotp
from sqlalchemy import Connection, Table, bindparam, func, insert, select, text

from caseload.db import utcnow
from caseload.demo.draws import clamp, previous_weekday, working_time
from caseload.demo.plan import Planner
from caseload.demo.records import PlannedEpisode
from caseload.demo.staff import demo_passphrase
from caseload.demo.tables import LOAD_THEMES, PERIOD_DAYS
from caseload.demo.text import demo_text
from caseload.domain.codes import ReflectiveTheme, Role
from caseload.domain.dates import local_date
from caseload.extensions import db
from caseload.models import (
    AuditEvent,
    AuditEventClient,
    Client,
    ConsentRecord,
    Contact,
    ContactScore,
    Episode,
    EpisodeComplexityFactor,
    EpisodeMeasureSummary,
    EpisodeSummary,
    NoteTheme,
    ReflectiveNote,
    SupervisionReview,
    User,
)
from caseload.scale.rows import Batch, RowBuilder, Staff
from caseload.services import ServiceError
from caseload.services.audit import GENESIS, event_hash, record_event
from caseload.services.curves import rebuild_expected_curves
from caseload.services.passwords import hash_password
from caseload.services.users import create_user, get_or_create_team

#: Episodes planned and inserted per transaction.
BATCH_EPISODES = 2000
#: Years of history the closed episodes are spread over.
HISTORY_DAYS = 5 * 365
#: Open cases per practitioner today, drawn uniformly.
OPEN_CASES = (40, 60)
#: Of a practitioner's open cases, the share in treatment (the rest wait).
IN_TREATMENT = 0.85
#: Practitioners per team (each team has one supervisor).
TEAM_SIZE = 11
#: Episodes per practitioner when the number of practitioners is not given.
EPISODES_PER_WORKER = 900
#: Chances that a case in treatment today, or a finished one, had a supervision review.
OPEN_REVIEWED = 0.4
CLOSED_REVIEWED = 0.1

#: The tables in insert order (parents first), with the rows' keys.
TABLES: tuple[tuple[str, Table], ...] = tuple(
    (model.__tablename__, model.__table__)
    for model in (
        Client,
        ConsentRecord,
        Episode,
        EpisodeComplexityFactor,
        Contact,
        ContactScore,
        EpisodeSummary,
        EpisodeMeasureSummary,
        SupervisionReview,
        ReflectiveNote,
        NoteTheme,
    )
)
#: Tables whose integer ids the load assigns (PostgreSQL's sequences move on after it).
SEQUENCED = (
    "clients",
    "consent_records",
    "episodes",
    "contacts",
    "contact_scores",
    "supervision_reviews",
    "reflective_notes",
    "audit_events",
)


@dataclass(frozen=True)
class ScaleAccount:
    """One account to sign in with: passphrase, then a code from the TOTP secret."""

    username: str
    password: str
    totp_secret: str  # plain base32, for pyotp; stored encrypted as the app does
    user_id: int


@dataclass(frozen=True)
class ScaleSummary:
    """What the build made, how long it took, and the accounts to measure it with."""

    episodes: int
    contacts: int
    clients: int
    workers: int
    seconds: float
    #: Keys "worker" (the practitioner with the most open cases), "supervisor" (that
    #: worker's supervisor), "lead" and "admin".
    accounts: dict[str, ScaleAccount]
    #: An open episode of accounts["worker"] with at least 4 contacts, and its client.
    sample_episode_id: int
    sample_client_id: int


@dataclass(frozen=True)
class Shape:
    """How many practitioners and teams, and each practitioner's open cases today."""

    workers: int
    teams: int
    open_cases: tuple[int, ...]

    @property
    def busiest(self) -> int:
        """The practitioner with the most open cases (the first of equals)."""
        return max(range(self.workers), key=lambda i: (self.open_cases[i], -i))

    def team_of(self, worker: int) -> int:
        """A practitioner's team."""
        return worker % self.teams


def draw_shape(episodes: int, *, workers: int | None, rng: random.Random) -> Shape:
    """The service's staff and open caseloads for ``episodes`` episodes in all; open cases
    are scaled down when they would be more than 60% of the episodes."""
    count = workers or max(2, round(episodes / EPISODES_PER_WORKER))
    teams = max(1, round(count / TEAM_SIZE))
    open_cases = [rng.randint(*OPEN_CASES) for _ in range(count)]
    limit = int(episodes * 0.6)
    total = sum(open_cases)
    if total > limit:
        open_cases = [c * limit // total for c in open_cases]
    return Shape(count, teams, tuple(open_cases))


def build_scale_service(
    episodes: int,
    *,
    workers: int | None = None,
    seed: int = 2009,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> ScaleSummary:
    """Build a synthetic service of ``episodes`` episodes; called inside an app context on
    an empty, migrated database. The same seed and day always give the same clinical rows
    (passphrases and TOTP secrets are fresh each time). ``progress`` is called with the
    number of episodes of each batch written."""
    started = time.perf_counter()
    if db.session.scalar(select(func.count(User.id))):
        raise ServiceError("This database already has accounts; seed-scale needs an empty one.")
    now = now or utcnow()
    shape = draw_shape(episodes, workers=workers, rng=random.Random(f"scale shape {seed}"))  # noqa: S311 - synthetic data
    accounts, staff = create_staff(shape, now=now, rng=random.Random(f"scale staff {seed}"))  # noqa: S311 - synthetic data
    db.session.commit()
    # Planning is pure and takes most of the time: a process of its own plans the batches
    # while this one inserts them, so a second core halves the wait.
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue(maxsize=3)
    producer = context.Process(
        target=_produce, args=(queue, shape, staff, episodes, seed, now), daemon=True
    )
    producer.start()
    loader = _Loader()
    try:
        with db.engine.connect() as connection:
            loader.start(connection)
            try:
                made = _receive(queue, producer, loader, progress)
            finally:
                loader.finish()
    finally:
        producer.join(timeout=10)
        if producer.is_alive():
            producer.kill()
    made_episodes, made_clients, sample = made
    if sample is None:
        raise ServiceError("No open case of the busiest practitioner has four contacts.")
    rebuild_expected_curves()
    db.session.commit()
    analyse()
    return ScaleSummary(
        episodes=made_episodes,
        contacts=loader.contacts,
        clients=made_clients,
        workers=shape.workers,
        seconds=round(time.perf_counter() - started, 2),
        accounts=accounts,
        sample_episode_id=sample[0],
        sample_client_id=sample[1],
    )


#: What the planning process reports at the end: episodes, clients, and the sample
#: (episode id, client id).
Made = tuple[int, int, tuple[int, int] | None]


def _produce(
    queue: Any, shape: Shape, staff: list[Staff], episodes: int, seed: int, now: datetime
) -> None:
    """Plan every episode into batches of rows and put them on ``queue`` (in the planning
    process; it never touches the database)."""
    try:
        db.engine.dispose(close=False)  # the parent's connections stay the parent's
        builder = RowBuilder(rng=random.Random(f"scale rows {seed}"), now=now, staff=staff)  # noqa: S311 - synthetic data
        planner = Planner(random.Random(seed), today=local_date(now), now=now, clients=episodes)  # noqa: S311 - synthetic data
        sample: tuple[int, int] | None = None
        batch = Batch()
        for plan, in_treatment in plan_episodes(planner, shape, episodes, seed=seed):
            summary = builder.episode(batch, plan)
            chance = OPEN_REVIEWED if in_treatment else CLOSED_REVIEWED
            if summary["treatment_contacts"] and builder.rng.random() < chance:
                builder.review(batch, summary, batch.rows["episodes"][-1], plan.worker)
            if (
                sample is None
                and plan.worker == shape.busiest
                and plan.discharge is None
                and len(plan.contacts) >= 4
            ):
                sample = (builder.counters.episode - 1, builder.counters.client - 1)
            if batch.episodes >= BATCH_EPISODES:
                queue.put(("batch", batch))
                batch = Batch()
        add_notes(batch, builder, shape, rng=random.Random(f"scale notes {seed}"))  # noqa: S311 - synthetic data
        queue.put(("batch", batch))
        made: Made = (builder.counters.episode - 1, builder.counters.client - 1, sample)
        queue.put(("done", made))
    except Exception as error:  # noqa: BLE001 - reported to the loading process
        queue.put(("error", f"{type(error).__name__}: {error}"))


def _receive(
    queue: Any,
    producer: Any,
    loader: _Loader,
    progress: Callable[[int], None] | None,
) -> Made:
    """Insert the planned batches as they come, until the planner says it is done."""
    while True:
        try:
            kind, payload = queue.get(timeout=5)
        except Empty:
            if not producer.is_alive():
                raise ServiceError("The planning process stopped without finishing.") from None
            continue
        if kind == "batch":
            loader.write(payload, progress)
        elif kind == "done":
            made: Made = payload
            return made
        else:
            raise ServiceError(f"Planning failed: {payload}")


def write_scale_credentials(path: Path, summary: ScaleSummary) -> None:
    """Write the summary with its accounts' passphrases and TOTP secrets as JSON, readable
    by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(summary), indent=2) + "\n", "utf-8")
    path.chmod(0o600)


def create_staff(
    shape: Shape, *, now: datetime, rng: random.Random
) -> tuple[dict[str, ScaleAccount], list[Staff]]:
    """The admin, the lead, a supervisor per team and the practitioners, all demo accounts
    enrolled in two-factor sign-in. The four accounts handed back are created by the
    account service with passphrases of their own; the rest share one hash of a passphrase
    nobody keeps (hashing is deliberately slow), and are otherwise made the same way."""
    text = demo_text()
    names = iter(
        f"{rng.choice(text.first_names)} {rng.choice(text.last_names)}"
        for _ in range(shape.workers + shape.teams + 2)
    )
    team_names = [f"Team {index + 1:02d}" for index in range(shape.teams)]
    busiest_team = shape.team_of(shape.busiest)
    accounts: dict[str, ScaleAccount] = {}

    def enrol(user: User) -> str:
        secret = pyotp.random_base32()
        user.totp_secret = secret
        user.totp_confirmed_at = now
        return secret

    def account(key: str, username: str, role: Role, team: str | None) -> User:
        password = demo_passphrase()
        user = create_user(
            username=username,
            password=password,
            role=role,
            display_name=next(names),
            team_name=team,
            is_demo=True,
        )
        accounts[key] = ScaleAccount(username, password, enrol(user), user.id)
        return user

    shared_hash = hash_password(demo_passphrase())

    def member(username: str, role: Role, team: str) -> User:
        user = User(
            username=username,
            display_name=next(names),
            role=role,
            active=True,
            is_demo=True,
            password_hash=shared_hash,
        )
        db.session.add(user)
        found = get_or_create_team(team, supervisor=user if role is Role.SUPERVISOR else None)
        if role is Role.WORKER:
            user.team = found
        db.session.flush()
        enrol(user)
        record_event(
            "user.create",
            object_type="user",
            object_id=user.id,
            detail={"username": username, "role": role.value},
        )
        return user

    account("admin", "admin", Role.ADMIN, None)
    account("lead", "lead", Role.LEAD, None)
    supervisors: list[User] = []
    for index, team in enumerate(team_names):
        username = f"supervisor{index + 1:02d}"
        if index == busiest_team:
            supervisors.append(account("supervisor", username, Role.SUPERVISOR, team))
        else:
            supervisors.append(member(username, Role.SUPERVISOR, team))
    staff = []
    for index in range(shape.workers):
        username = f"worker{index + 1:03d}"
        team = team_names[shape.team_of(index)]
        if index == shape.busiest:
            user = account("worker", username, Role.WORKER, team)
        else:
            user = member(username, Role.WORKER, team)
        staff.append(Staff(user.id, user.username, supervisors[shape.team_of(index)].id))
    db.session.flush()
    return accounts, staff


def plan_episodes(
    planner: Planner, shape: Shape, episodes: int, *, seed: int
) -> Iterator[tuple[PlannedEpisode, bool]]:
    """Every episode with whether it is in treatment today, oldest first: the closed ones
    over the last five years, then each practitioner's open cases. One at a time, so the
    plan is never all in memory."""
    rng = random.Random(f"scale history {seed}")  # noqa: S311 - synthetic data
    today = planner.today
    closed = max(0, episodes - sum(shape.open_cases))
    spread = max(0, HISTORY_DAYS - PERIOD_DAYS)
    history = sorted(
        ((rng.randint(0, spread), rng.randrange(shape.workers)) for _ in range(closed)),
        reverse=True,
    )
    for offset, worker in history:
        # The demo plans closed episodes over its own period before its "today"; moving
        # that day back spreads them over the years.
        planner.today = today - timedelta(days=offset)
        yield planner.discharged(worker), False
    planner.today = today
    for worker, count in enumerate(shape.open_cases):
        treating = round(count * IN_TREATMENT)
        needs_outcome = True
        for _ in range(treating):
            plan = planner.active(worker, disengaging=planner.rng.random() < 0.08)
            if needs_outcome and not any(c.booked_at for c in plan.contacts):
                needs_outcome = not planner.needs_outcome(plan)
            plan.contacts.sort(key=lambda c: c.at)
            yield plan, True
        for _ in range(count - treating):
            plan = planner.waiting(worker)
            plan.contacts.sort(key=lambda c: c.at)
            yield plan, False


def add_notes(batch: Batch, builder: RowBuilder, shape: Shape, *, rng: random.Random) -> None:
    """Each practitioner's reflective notes over the years, more of them lately."""
    note_texts = demo_text().note_texts
    today = builder.today
    for worker in range(shape.workers):
        treating = round(shape.open_cases[worker] * IN_TREATMENT)
        days = sorted(
            previous_weekday(today - timedelta(days=round(rng.triangular(2, HISTORY_DAYS, 2))))
            for _ in range(rng.randint(8, 15))
        )
        for day in days:
            caseload = treating if (today - day).days < 140 else rng.randint(15, treating + 5)
            themes = [rng.choice(list(ReflectiveTheme))]
            if caseload >= 25 and rng.random() < 0.7:
                themes.insert(0, rng.choice(LOAD_THEMES))
            themes = list(dict.fromkeys(themes))
            note_id = builder.counters.note
            builder.counters.note += 1
            batch.add(
                "reflective_notes",
                {
                    "id": note_id,
                    "author_id": builder.staff[worker].user_id,
                    "written_at": working_time(day, rng),
                    "text": " ".join(rng.choice(note_texts[t]) for t in themes),
                    "episode_id": None,
                    "manageability": clamp(5.4 - caseload / 9 + rng.gauss(0, 0.5), 1, 5),
                    "shared_with_supervisor": rng.random() < 0.5,
                    "caseload_at_writing": caseload,
                    # About one active case in eight with risk open, drawn from a
                    # generator of the note's own so the service's other draws stay.
                    "risk_cases_at_writing": round(
                        caseload * random.Random(note_id).uniform(0.05, 0.2)  # noqa: S311
                    ),
                },
            )
            for theme in sorted(set(themes)):
                batch.add("note_themes", {"note_id": note_id, "theme": theme})


class _Loader:
    """Writes batches on one connection, one transaction each, and links each batch's
    audit events into the hash chain after the events already there."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.last_id = 0
        self.last_hash: str | None = GENESIS
        self.contacts = 0
        self.sqlite = False
        self.statements: dict[tuple[str, tuple[str, ...]], Any] = {}

    def start(self, connection: Connection) -> None:
        """Read the chain's head; on SQLite, trade durability for speed during the load
        (a failed load is thrown away, not repaired)."""
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"
        if self.sqlite:
            self.pragmas("foreign_keys = OFF", "synchronous = OFF", "cache_size = -131072")
        head = connection.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        connection.rollback()
        if head is not None:
            self.last_id, self.last_hash = head.id, head.hash

    def pragmas(self, *pragmas: str) -> None:
        """Run SQLite pragmas outside any transaction (some refuse to run inside one)."""
        assert self.connection is not None  # noqa: S101 - start() comes first
        cursor = self.connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for pragma in pragmas:
                cursor.execute(f"PRAGMA {pragma}")
        finally:
            cursor.close()

    def write(self, batch: Batch, progress: Callable[[int], None] | None) -> None:
        """Insert one batch's rows and audit events in one transaction."""
        connection = self.connection
        assert connection is not None  # noqa: S101 - start() comes first
        events, clients = self.chain(batch)
        with connection.begin():
            for name, table in TABLES:
                rows = batch.rows.get(name)
                if rows:
                    self.insert(table, rows)
            if events:
                self.insert(AuditEvent.__table__, events)
                self.insert(AuditEventClient.__table__, clients)
        self.contacts += batch.contacts
        if progress is not None and batch.episodes:
            progress(batch.episodes)

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows (dicts with the same keys) in one executemany.

        The statement is compiled once per table and each value goes through its column
        type's own bind processor, as a Core insert would do it, without the per-row
        bookkeeping of a Core executemany (a large share of a load's time).
        """
        connection = self.connection
        assert connection is not None  # noqa: S101 - start() comes first
        keys = tuple(rows[0])
        prepared = self.statements.get((table.name, keys))
        if prepared is None:
            dialect = connection.dialect
            compiled = (
                insert(table).values({k: bindparam(k) for k in keys}).compile(dialect=dialect)
            )
            names = tuple(compiled.positiontup or ()) if compiled.positional else keys
            processors = tuple(table.c[k].type._cached_bind_processor(dialect) for k in names)
            prepared = (str(compiled), names, processors, compiled.positional)
            self.statements[(table.name, keys)] = prepared
        sql, names, processors, positional = prepared
        pairs = tuple(zip(names, processors, strict=True))
        if positional:
            params: list[Any] = [
                tuple(row[k] if p is None else p(row[k]) for k, p in pairs) for row in rows
            ]
        else:
            params = [{k: row[k] if p is None else p(row[k]) for k, p in pairs} for row in rows]
        connection.exec_driver_sql(sql, params)

    def chain(self, batch: Batch) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The batch's events in time order, each with the next id, the hash of the event
        before and its own hash (``caseload.services.audit.event_hash``)."""
        events: list[dict[str, Any]] = []
        clients: list[dict[str, Any]] = []
        for content, client_ids in sorted(batch.events, key=lambda e: (e[0]["at"], e[1])):
            self.last_id += 1
            row = {**content, "id": self.last_id, "prev_hash": self.last_hash}
            row["hash"] = self.last_hash = event_hash(row, client_ids, self.last_hash)
            events.append(row)
            clients.extend(
                {"audit_event_id": row["id"], "client_id": cid, "at": row["at"]}
                for cid in client_ids
            )
        return events, clients

    def finish(self) -> None:
        """Move PostgreSQL's sequences past the ids written; on SQLite, restore the
        connection's settings and fold the write-ahead log into the database."""
        connection = self.connection
        if connection is None:
            return
        if self.sqlite:
            connection.rollback()
            self.pragmas("synchronous = FULL", "foreign_keys = ON", "wal_checkpoint(TRUNCATE)")
            return
        with connection.begin():
            for table in SEQUENCED:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                        f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )
                )


def analyse() -> None:
    """Give the query planner statistics of the new tables: ANALYZE, and on SQLite also
    ``PRAGMA optimize``."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA optimize")
            connection.commit()
        else:
            connection.commit()
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
