"""The service lead's exports: a pseudonymised episode CSV and a pseudonymous FHIR bundle,
of consenting clients only, streamed (docs/exports.md).

Every query starts from the consent-filtered base (``caseload.reporting.base``), so a
client without consent, or a record entered in error, adds no byte to either file.

What leaves the service, and what does not:

- no name, NHS number, service reference, date of birth, free text or exact date:
  ages become bands on the referral date, dates become months, the presenting
  problem is one of the registration form's choices (anything else is "Other");
- the person is a pseudonym: a keyed hash (HMAC-SHA256) of the client's id under a
  key made afresh for each export and never stored, so the same person has the same
  pseudonym throughout one export (their episodes can be counted together) and an
  unrelated one in the next (two exports cannot be joined). The rows come in an order
  keyed the same way, so they cannot be matched by position either;
- the FHIR bundle holds ``QuestionnaireResponse`` and ``Observation`` resources only
  (``caseload.services.fhir`` builds them, as for the worker's bundle), with the
  pseudonym as subject reference, months as dates, and no ``Patient`` or identifier.

Both files are produced a row at a time from a streamed query (``yield_per``), so a
large service never builds the file in memory. The reads run in a transaction of
their own that never takes SQLite's write lock, so an export never blocks a save.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, distinct, func, literal
from sqlalchemy.orm import aliased

from caseload.domain.codes import PRESENTING_PROBLEMS, AttendanceCode, EntryStatus
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.domain.registration import age_on
from caseload.extensions import db
from caseload.models import (
    Client,
    Contact,
    ContactScore,
    Episode,
    EpisodeMeasureSummary,
    EpisodeSummary,
)
from caseload.reporting.base import reportable_episodes
from caseload.services.audit import record_event
from caseload.services.fhir import ScoredQuestionnaire, exported_measures, month_of, scored_entries

#: Rows fetched from the database at a time, and the size of a chunk sent on.
BATCH = 500
CHUNK_CHARACTERS = 64 * 1024

#: A prime above every row id (ids are 32-bit: caseload.web.requests.RowIdConverter):
#: the modulus of the keyed order the rows come in.
ORDER_MODULUS = 2_147_483_659

#: Age bands on the referral date: (youngest age in the band, label), oldest last.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "under 18"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-54"),
    (55, "55-64"),
    (65, "65 and over"),
)

#: The CSV's columns, in order (docs/exports.md explains each).
CSV_COLUMNS: tuple[str, ...] = (
    "pseudonym",
    "age_band",
    "referral_month",
    "presenting_problem",
    "referral_source",
    "step",
    "first_phq9",
    "last_phq9",
    "first_gad7",
    "last_gad7",
    "treatment_contacts",
    "finished_treatment",
    "caseness_at_start",
    "paired",
    "recovered",
    "reliable_improvement",
    "reliable_deterioration",
    "reliable_recovery",
    "discharge_month",
    "discharge_reason",
)

#: Attended contacts (codes 5 and 6): the only ones with scores.
ATTENDED = tuple(code for code in AttendanceCode if code.attended)

#: Called with how many episodes have been written so far.
Progress = Callable[[int], None]


def new_export_key() -> bytes:
    """A fresh key for one export's pseudonyms (never stored)."""
    return secrets.token_bytes(32)


def _keyed(key: bytes, label: str) -> bytes:
    return hmac.new(key, label.encode("ascii"), hashlib.sha256).digest()


def pseudonym(key: bytes, client_id: int) -> str:
    """The client's pseudonym in one export: 16 hex digits of a keyed hash."""
    return _keyed(key, f"client:{client_id}").hex()[:16]


def pseudonymous_id(key: bytes, kind: str, row_id: int) -> str:
    """A resource id (or subject) in one export's bundle: a UUID from a keyed hash."""
    return str(uuid.UUID(bytes=_keyed(key, f"{kind}:{row_id}")[:16]))


def _keyed_order(key: bytes) -> ColumnElement[int]:
    """The order rows come in for this key: a keyed permutation of the episode ids,
    worked out in SQL (portable arithmetic), so rows stream in that order."""
    digest = _keyed(key, "order")
    multiplier = 1 + int.from_bytes(digest[:8], "big") % (ORDER_MODULUS - 1)
    offset = int.from_bytes(digest[8:16], "big") % ORDER_MODULUS
    product = literal(multiplier, BigInteger) * Episode.id + literal(offset, BigInteger)
    return product % literal(ORDER_MODULUS, BigInteger)


def age_band(born: date, on: date) -> str:
    """The age band of a person born on ``born``, on a day (the referral date)."""
    age = age_on(born, on)
    return next(label for lowest, label in reversed(AGE_BANDS) if age >= lowest)


def month(day: date | None) -> str:
    """A month as ``YYYY-MM`` (empty for no date): never the day."""
    return "" if day is None else f"{day.year:04d}-{day.month:02d}"


_PROBLEMS = {problem.casefold(): problem for problem in PRESENTING_PROBLEMS}


def presenting_problem(text: str) -> str:
    """One of the registration form's choices; anything else (free text) is "Other"."""
    return _PROBLEMS.get(text.strip().casefold(), "Other")


def _yes_no(value: bool | None) -> str:
    return "yes" if value else "no"


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


# What an export will hold ----------------------------------------------------------------


@dataclass(frozen=True)
class ExportScope:
    """What the exports hold now: consented episodes, their clients, and finished
    questionnaires with a LOINC total (for the audit event and the progress message)."""

    episodes: int
    client_ids: tuple[int, ...]
    questionnaires: int


def _scored() -> Any:
    """The consented episodes' finished, exported questionnaires at attended contacts in
    force: the rows of the FHIR bundle."""
    return (
        reportable_episodes()
        .join(Contact, Contact.episode_id == Episode.id)
        .join(ContactScore, ContactScore.contact_id == Contact.id)
        .where(
            Contact.status == EntryStatus.CURRENT,
            Contact.attendance.in_(ATTENDED),
            ContactScore.total.is_not(None),
            ContactScore.measure_id.in_([m.id for m in exported_measures()]),
        )
    )


def export_scope() -> ExportScope:
    """Count what an export made now would hold (two queries)."""
    client_ids = tuple(
        sorted(
            set(
                db.session.scalars(reportable_episodes().with_only_columns(Episode.client_id)).all()
            )
        )
    )
    episodes = db.session.scalar(reportable_episodes().with_only_columns(func.count(Episode.id)))
    questionnaires = db.session.scalar(
        _scored().with_only_columns(func.count(distinct(ContactScore.id)))
    )
    return ExportScope(
        episodes=int(episodes or 0), client_ids=client_ids, questionnaires=int(questionnaires or 0)
    )


# Streaming -------------------------------------------------------------------------------


def _streamed(query: Any) -> Iterator[Any]:
    """The rows of a query, fetched a batch at a time (on PostgreSQL a server-side
    cursor), in the caller's transaction."""
    result = db.session.execute(query.execution_options(yield_per=BATCH))
    try:
        yield from result
    finally:
        result.close()


def in_read_transaction(chunks: Iterator[str]) -> Iterator[str]:
    """Send an export's chunks from a read transaction of its own, begun when the first
    chunk is asked for and ended after the last (or when the download stops).

    For a caller whose own transaction has ended: a request after its commit (the
    audit event is saved before the first byte), the command line after its. On
    SQLite the transaction begins DEFERRED, so a long download never holds the write
    lock and never blocks a worker's save.
    """
    if db.session().in_transaction():
        raise RuntimeError("commit the export's audit event before streaming the export")
    db.session.connection(execution_options={"sqlite_begin": "DEFERRED"})
    try:
        yield from chunks
    finally:
        db.session.rollback()  # reads only: nothing to keep, and the cursor is released


def _chunked(pieces: Iterable[str]) -> Iterator[str]:
    """Pieces joined into chunks of about CHUNK_CHARACTERS, so a download is not sent a
    row at a time."""
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_CHARACTERS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def _csv_line(values: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def _episode_rows(key: bytes) -> Any:
    phq9 = aliased(EpisodeMeasureSummary)
    gad7 = aliased(EpisodeMeasureSummary)
    return (
        reportable_episodes()
        .join(Client, Client.id == Episode.client_id)
        .outerjoin(phq9, and_(phq9.episode_id == Episode.id, phq9.measure_id == PHQ9))
        .outerjoin(gad7, and_(gad7.episode_id == Episode.id, gad7.measure_id == GAD7))
        .with_only_columns(
            Episode.client_id,
            Client.date_of_birth,
            Episode.referral_date,
            Episode.presenting_problem,
            Episode.referral_source,
            Episode.step,
            phq9.first_score.label("first_phq9"),
            phq9.last_score.label("last_phq9"),
            gad7.first_score.label("first_gad7"),
            gad7.last_score.label("last_gad7"),
            EpisodeSummary.treatment_contacts,
            EpisodeSummary.finished_treatment,
            EpisodeSummary.caseness_at_start,
            EpisodeSummary.paired,
            EpisodeSummary.recovered,
            EpisodeSummary.reliably_improved,
            EpisodeSummary.reliably_deteriorated,
            EpisodeSummary.reliably_recovered,
            Episode.discharged_on,
            Episode.discharge_reason,
        )
        .order_by(_keyed_order(key), Episode.id)
    )


def csv_row(key: bytes, row: Any) -> list[str]:
    """One episode as the CSV's values (``CSV_COLUMNS``)."""
    return [
        pseudonym(key, row.client_id),
        age_band(row.date_of_birth, row.referral_date),
        month(row.referral_date),
        presenting_problem(row.presenting_problem),
        row.referral_source.value,
        str(row.step),
        _number(row.first_phq9),
        _number(row.last_phq9),
        _number(row.first_gad7),
        _number(row.last_gad7),
        str(row.treatment_contacts),
        _yes_no(row.finished_treatment),
        _yes_no(row.caseness_at_start),
        _yes_no(row.paired),
        _yes_no(row.recovered),
        _yes_no(row.reliably_improved),
        _yes_no(row.reliably_deteriorated),
        _yes_no(row.reliably_recovered),
        month(row.discharged_on),
        row.discharge_reason.value if row.discharge_reason else "",
    ]


def csv_chunks(*, key: bytes, progress: Progress | None = None) -> Iterator[str]:
    """The pseudonymised episode CSV, a chunk at a time: a header, then one row per
    episode of a consenting client."""

    def lines() -> Iterator[str]:
        yield _csv_line(CSV_COLUMNS)
        for written, row in enumerate(_streamed(_episode_rows(key)), start=1):
            yield _csv_line(csv_row(key, row))
            if progress is not None:
                progress(written)

    return _chunked(lines())


def _questionnaire_rows(key: bytes) -> Any:
    return (
        _scored()
        .with_only_columns(
            Episode.id.label("episode_id"),
            Episode.client_id,
            Contact.occurred_at,
            ContactScore.id.label("score_id"),
            ContactScore.measure_id,
            ContactScore.answers,
            ContactScore.total,
            ContactScore.difficulty,
        )
        .order_by(_keyed_order(key), Episode.id, Contact.occurred_at, Contact.id, ContactScore.id)
    )


def fhir_entries(key: bytes, row: Any) -> list[dict[str, Any]]:
    """One finished questionnaire as its two pseudonymous resources."""
    return scored_entries(
        ScoredQuestionnaire(
            measure=get_measure(row.measure_id),
            answers=list(row.answers or []),
            total=row.total,
            difficulty=row.difficulty,
            when=month_of(row.occurred_at),
            response_id=pseudonymous_id(key, "response", row.score_id),
            observation_id=pseudonymous_id(key, "observation", row.score_id),
            subject=f"urn:uuid:{pseudonymous_id(key, 'client', row.client_id)}",
        )
    )


def fhir_chunks(*, key: bytes, progress: Progress | None = None) -> Iterator[str]:
    """The pseudonymous FHIR ``collection`` Bundle, a chunk at a time: every finished
    PHQ-9 and GAD-7 of consented episodes as a ``QuestionnaireResponse`` and an
    ``Observation``; no ``Patient``, identifier, or exact date."""

    def pieces() -> Iterator[str]:
        yield '{"resourceType":"Bundle","type":"collection","entry":['
        first, episodes, last_episode = True, 0, None
        for row in _streamed(_questionnaire_rows(key)):
            for resource in fhir_entries(key, row):
                yield ("" if first else ",") + json.dumps(resource, separators=(",", ":"))
                first = False
            if row.episode_id != last_episode:
                episodes, last_episode = episodes + 1, row.episode_id
                if progress is not None:
                    progress(episodes)
        yield "]}"

    return _chunked(pieces())


# Audit and files -------------------------------------------------------------------------

#: The two exports: their audit action, media type and file suffix.
FORMATS: dict[str, dict[str, str]] = {
    "csv": {"action": "export.csv", "media_type": "text/csv", "suffix": "csv"},
    "fhir": {"action": "export.fhir", "media_type": "application/fhir+json", "suffix": "json"},
}


def export_chunks(kind: str, *, key: bytes, progress: Progress | None = None) -> Iterator[str]:
    """The chunks of one kind of export ("csv" or "fhir")."""
    chunks = csv_chunks if kind == "csv" else fhir_chunks
    return chunks(key=key, progress=progress)


def record_export(
    kind: str,
    scope: ExportScope,
    *,
    actor: Any = None,
    actor_username: str | None = None,
    via: str = "web",
) -> None:
    """Audit one export: who, which kind, how many episodes and questionnaires, and every
    client it holds (``audit_event_clients``)."""
    record_event(
        FORMATS[kind]["action"],
        actor=actor,
        actor_username=actor_username,
        object_type="export",
        object_id=kind,
        client_ids=scope.client_ids,
        detail={
            "episodes": scope.episodes,
            "clients": len(scope.client_ids),
            "questionnaires": scope.questionnaires,
            "via": via,
        },
    )


def download_name(kind: str, day: date) -> str:
    """The file name of an export made on a day."""
    stem = "caseload-episodes" if kind == "csv" else "caseload-scores-fhir"
    return f"{stem}-{day.isoformat()}.{FORMATS[kind]['suffix']}"


def write_export(
    kind: str,
    out: Path,
    *,
    scope: ExportScope,
    actor_username: str,
    progress: Progress | None = None,
    key: bytes | None = None,
) -> None:
    """Write one export to a new file (never over an existing one; readable by its owner
    only), audited before the first byte is written, a chunk at a time. Commits the
    audit event: for the command line, outside any request."""
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    record_export(kind, scope, actor_username=actor_username, via="command line")
    db.session.commit()
    chunks = export_chunks(kind, key=key or new_export_key(), progress=progress)
    with open(descriptor, "w", encoding="utf-8", newline="") as file:
        for chunk in in_read_transaction(chunks):
            file.write(chunk)
