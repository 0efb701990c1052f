"""The demo plan as plain data: planned contacts, episodes and notes, and the build's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from caseload.domain.codes import (
    AttendanceCode,
    ConsentState,
    ContactMode,
    ContactType,
    DischargeReason,
    NotCollectedReason,
    ReflectiveTheme,
    RiskLevel,
    SupervisionDecision,
)
from caseload.domain.dates import LONDON
from caseload.domain.scoring import AnswerValue
from caseload.services.clients import ClientDetails, Demographics, Referral
from caseload.services.contacts import ContactInput


@dataclass
class PlannedContact:
    """One contact to log: what happened and, for a booking, when it was booked."""

    at: datetime
    contact_type: ContactType
    attendance: AttendanceCode
    mode: ContactMode
    #: An intervention code from seed_data/interventions.json.
    intervention: str | None = None
    note: str = ""
    phq9: list[int] | None = None
    gad7: list[int] | None = None
    wsas: list[AnswerValue] | None = None
    #: The PCL-5, the anxiety disorder specific measure of a PTSD episode.
    pcl5: list[int] | None = None
    not_collected: NotCollectedReason | None = None
    risk_level: RiskLevel | None = None
    risk_factors: str = ""
    risk_action: str = ""
    #: The "now" to log it with: for a booking whose time has passed, a moment before it.
    booked_at: datetime | None = None

    def as_input(self) -> ContactInput:
        """The contact as the contacts service takes it."""
        attended = self.attendance.attended
        duration = None
        if attended:
            duration = 50 if self.contact_type is ContactType.ASSESSMENT else 35
            if self.mode is ContactMode.FACE_TO_FACE:
                duration += 10
        return ContactInput(
            occurred_at=self.at,
            contact_type=self.contact_type,
            mode=self.mode,
            attendance=self.attendance,
            duration_minutes=duration,
            intervention=self.intervention if attended else None,
            note=self.note,
            answers={
                measure_id: answers
                for measure_id, answers in (
                    ("phq9", self.phq9),
                    ("gad7", self.gad7),
                    ("wsas", self.wsas),
                    ("pcl5", self.pcl5),
                )
                if answers is not None
            },
            not_collected_reason=self.not_collected,
            risk_level=self.risk_level,
            risk_factors=self.risk_factors,
            risk_action=self.risk_action,
        )


@dataclass
class PlannedEpisode:
    """One synthetic client, their referral and everything that happens in their episode."""

    worker: int
    details: ClientDetails
    referral: Referral
    #: The answer about central reporting at registration, and a later change, if any.
    consent_first: ConsentState
    consent_note: str
    consent_change: tuple[ConsentState, str] | None = None
    demographics: Demographics = field(default_factory=Demographics)
    contacts: list[PlannedContact] = field(default_factory=list)
    discharge: tuple[date, DischargeReason] | None = None

    @property
    def treatment_started(self) -> date | None:
        """The day of the first attended treatment contact (the case becomes active)."""
        days = [
            c.at.astimezone(LONDON).date()
            for c in self.contacts
            if c.attendance.attended and c.contact_type.is_treatment
        ]
        return min(days) if days else None

    def active_on(self, day: date) -> bool:
        """Whether the case counted in its worker's active caseload on that day."""
        started = self.treatment_started
        if started is None or started > day:
            return False
        return self.discharge is None or self.discharge[0] > day


@dataclass
class PlannedNote:
    """One reflective note, written on a past day."""

    worker: int
    at: datetime
    text: str
    themes: tuple[ReflectiveTheme, ...]
    manageability: int
    shared: bool
    caseload: int
    episode: int | None  # index into the plan's episodes


@dataclass(frozen=True)
class PlannedSession:
    """A weekly supervision session with one worker: when it starts, how long it may run."""

    worker: int
    at: datetime
    minutes: int


@dataclass(frozen=True)
class PlannedCheck:
    """A supervisor looking at their queue between sessions (``team`` indexes TEAMS)."""

    team: int
    at: datetime


@dataclass(frozen=True)
class PlannedReassignment:
    """A case moved by its supervisor to another worker in the same team."""

    episode: int  # index into the plan's episodes
    to_worker: int
    at: datetime
    reason: str


@dataclass(frozen=True)
class SupervisionPlan:
    """The demo's supervision history to write: sessions, checks and reassignments."""

    sessions: tuple[PlannedSession, ...]
    checks: tuple[PlannedCheck, ...]
    reassignments: tuple[PlannedReassignment, ...]

    def holder(self, episodes: list[PlannedEpisode], index: int, day: date) -> int:
        """The worker holding episode ``index`` on ``day`` (a move counts from its day)."""
        worker = episodes[index].worker
        for move in sorted(self.reassignments, key=lambda m: m.at):
            if move.episode == index and move.at.astimezone(LONDON).date() <= day:
                worker = move.to_worker
        return worker

    def caseload_on(self, episodes: list[PlannedEpisode], worker: int, day: date) -> int:
        """The worker's active caseload on ``day``, with the cases moved by then."""
        moved = {move.episode for move in self.reassignments}
        return sum(
            1
            for index, episode in enumerate(episodes)
            if episode.active_on(day)
            and (self.holder(episodes, index, day) if index in moved else episode.worker) == worker
        )


@dataclass(frozen=True)
class PlannedReview:
    """What a supervisor records for one case."""

    reason: str
    decision: SupervisionDecision
    note: str
    next_review_on: date | None


@dataclass(frozen=True)
class DemoSummary:
    """What the demo builder made, for the command's report and for tests."""

    clients: int
    contacts: int
    discharged: int
    finished_at_caseness: int
    recovered: int
    reliably_deteriorated: int
    notes: int
    curve_episodes: int
    active_by_worker: dict[str, int]
    waiting_by_worker: dict[str, int]
    #: The supervision history: sessions held, reviews recorded (in and out of sessions),
    #: and cases moved between workers.
    sessions: int = 0
    reviews: int = 0
    reassignments: int = 0

    @property
    def recovery_rate(self) -> float | None:
        """Recovered among finished episodes at caseness at start."""
        if not self.finished_at_caseness:
            return None
        return self.recovered / self.finished_at_caseness
