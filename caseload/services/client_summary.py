"""One episode's record gathered for the page that leaves the screen: the printable client
summary, and the values a letter to the GP is drafted from.

The summary is the client's own care, so consent to central reporting does not
restrict it: the worker who holds the episode and their supervisor see it, through
``visible_episodes`` like the episode page. Opening it is audited as ``summary.print``
(one event; the application cannot know whether paper came out, so it records that
the printable record was shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from caseload.domain.codes import EntryStatus
from caseload.domain.dates import local_date
from caseload.domain.flags import Flag
from caseload.domain.interventions import intervention_label
from caseload.domain.measures import WSAS, Measure, contact_form_measures, get_measure
from caseload.domain.outcomes import EpisodeOutcome
from caseload.extensions import db
from caseload.models import Client, Contact, Episode, EpisodeSummary, SupervisionReview, User
from caseload.policy import visible_episodes
from caseload.services import NotVisible
from caseload.services.audit import record_event, record_event_now
from caseload.services.episodes import (
    cached_curves,
    episode_contacts,
    flags_for,
    outcome_for,
)
from caseload.services.supervision import reviews_for


@dataclass(frozen=True)
class ScoreCell:
    """One measure at one contact: the total and its band, or why there is none."""

    total: int | None
    band: str | None = None
    #: Asked but left unfinished (no total), as opposed to not asked at all.
    unfinished: bool = False


@dataclass(frozen=True)
class ScoreRow:
    """One attended contact in force and its questionnaire totals, by measure id."""

    number: int
    contact: Contact
    occurred_on: date
    cells: dict[str, ScoreCell]


@dataclass(frozen=True)
class RiskSignal:
    """The latest answer to a measure's risk item (PHQ-9 item 9)."""

    measure: Measure
    answer: int
    at: datetime

    @property
    def answer_label(self) -> str:
        """The answer in the questionnaire's words ("Several days")."""
        return next((o.label for o in self.measure.options if o.value == self.answer), "")

    @property
    def is_signal(self) -> bool:
        """Whether the answer is a risk signal (item 9 at 1 or more, always)."""
        return self.measure.is_risk_answer(self.answer)


@dataclass(frozen=True)
class EpisodeRecord:
    """What the printable summary and the letters read from one episode."""

    episode: Episode
    client: Client
    #: Every contact, oldest first (booked, corrected and entered in error included).
    contacts: list[Contact]
    #: PHQ-9, GAD-7 and WSAS, and any other measure the record holds, in form order.
    measures: tuple[Measure, ...]
    #: Each attended contact in force, oldest first, with its totals.
    score_rows: list[ScoreRow]
    #: The latest contact in force with a risk rating, if any.
    latest_risk: Contact | None
    risk_signal: RiskSignal | None
    #: The interventions delivered at attended contacts in force, first offered first.
    interventions: list[str]
    outcome: EpisodeOutcome
    flags: tuple[Flag, ...]
    #: Supervision reviews the asker may see, newest first.
    reviews: list[SupervisionReview]
    attended: int
    treatment: int
    missed: int
    cancelled: int

    @property
    def latest_review(self) -> SupervisionReview | None:
        """The newest supervision review: the plan agreed for the case."""
        return self.reviews[0] if self.reviews else None

    @property
    def first_attended_on(self) -> date | None:
        """The day of the first attended contact (usually the assessment)."""
        return self.score_rows[0].occurred_on if self.score_rows else None


def _cells(contact: Contact, measures: tuple[Measure, ...]) -> dict[str, ScoreCell]:
    cells = {}
    for measure in measures:
        held = contact.score(measure.id)
        if held is None:
            continue
        total = held.total
        band = measure.find_band(total) if total is not None else None
        cells[measure.id] = ScoreCell(
            total=total,
            band=band.label if band else None,
            unfinished=total is None and bool(held.answers),
        )
    return cells


def episode_record(asker: User, episode: Episode, *, today: date) -> EpisodeRecord:
    """Gather an episode the asker has already been allowed to see (no audit event here):
    a fixed number of queries, whatever the number of contacts."""
    contacts = episode_contacts(episode)
    in_force = [c for c in contacts if c.status is EntryStatus.CURRENT and not c.is_booked]
    attended = [c for c in in_force if c.attendance.attended]
    held = {s.measure_id for c in attended for s in c.scores}
    # The measures asked at every contact and the WSAS always; any other only when held.
    measures = tuple(
        m
        for m in contact_form_measures(presenting_problem=episode.presenting_problem, also=held)
        if m.id in held or m.every_contact or m.id == WSAS
    )
    rated = [c for c in in_force if c.risk_level is not None]
    summary = episode.summary
    signal = None
    if summary is not None and summary.latest_risk_answer is not None:
        signal = RiskSignal(
            measure=get_measure(summary.latest_risk_answer_measure or "phq9"),
            answer=summary.latest_risk_answer,
            at=summary.latest_risk_answer_at or episode.created_at,
        )
    offered: list[str] = []
    for contact in attended:
        label = intervention_label(contact.intervention) if contact.intervention else None
        if label and label not in offered:
            offered.append(label)
    return EpisodeRecord(
        episode=episode,
        client=episode.client,
        contacts=contacts,
        measures=measures,
        score_rows=[
            ScoreRow(number, c, local_date(c.occurred_at), _cells(c, measures))
            for number, c in enumerate(attended, start=1)
        ],
        latest_risk=rated[-1] if rated else None,
        risk_signal=signal,
        interventions=offered,
        outcome=outcome_for(episode),
        flags=flags_for(episode, today=today, curves=cached_curves()),
        reviews=reviews_for(asker, episode),
        attended=len(attended),
        treatment=summary.treatment_contacts if summary else 0,
        missed=sum(1 for c in in_force if c.attendance.is_dna),
        cancelled=sum(1 for c in in_force if not c.attendance.attended and not c.attendance.is_dna),
    )


def client_summary(asker: User, episode_id: int, *, today: date) -> EpisodeRecord:
    """The printable summary of an episode the asker may see (its worker or their
    supervisor), audited as ``summary.print``; else an audited denial (NotVisible)."""
    episode = db.session.scalar(
        select(Episode)
        .options(
            joinedload(Episode.client),
            joinedload(Episode.worker),
            joinedload(Episode.summary).selectinload(EpisodeSummary.measures),
            selectinload(Episode.complexity),
        )
        .where(Episode.id == episode_id, visible_episodes(asker))
    )
    if episode is None:
        record_event_now("access.denied", actor=asker, object_type="episode", object_id=episode_id)
        raise NotVisible(episode_id)
    record = episode_record(asker, episode, today=today)
    record_event(
        "summary.print",
        actor=asker,
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
        detail={"contacts": len(record.score_rows)},
    )
    return record
