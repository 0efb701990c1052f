"""Writing the demo's history, step by step in time order, through the services.

Each step goes through the service a person would use, back-dated where the service
takes ``today`` or ``now``: a worker registers, logs contacts, records a change of
consent and discharges; a supervisor holds weekly sessions, reviews cases between them
and moves a case to a colleague. Because the steps run in time order, a review sees the
flags its case had on that day, and clears only those.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from caseload.demo.records import PlannedEpisode, SupervisionPlan
from caseload.demo.supervision import case_minutes, draw_review, team_of
from caseload.demo.tables import CHECK_REVIEWS, OPENED_NOT_REVIEWED
from caseload.demo.text import demo_text
from caseload.demo.timeline import Event, Step, consent_changed_at, first_seen
from caseload.domain.codes import Severity
from caseload.domain.dates import local_date
from caseload.domain.flags import Flag, FlagKind
from caseload.models import Episode, User
from caseload.services import ServiceError
from caseload.services.clients import register_client, set_consent
from caseload.services.contacts import log_contact
from caseload.services.curves import rebuild_expected_curves
from caseload.services.episodes import discharge
from caseload.services.supervision import (
    case_flags,
    end_session,
    exception_queue,
    move_in_session,
    reassign,
    record_review,
    start_session,
)

#: Flags with new evidence that a supervisor reviews between sessions.
URGENT_KINDS = frozenset({FlagKind.RISK, FlagKind.DETERIORATION})


class HistoryWriter:
    """Writes the planned episodes and supervision, one step at a time, in time order."""

    def __init__(
        self,
        episodes: list[PlannedEpisode],
        supervision: SupervisionPlan,
        *,
        workers: Sequence[User],
        supervisors: Sequence[User],
        now: datetime,
        rng: random.Random,
    ) -> None:
        self.episodes = episodes
        self.supervision = supervision
        self.workers = workers
        self.supervisors = supervisors
        self.now = now
        self.rng = rng
        self.written: list[Episode | None] = [None] * len(episodes)
        #: The worker holding each episode now (reassignments move it).
        self.holder: list[int] = [plan.worker for plan in episodes]
        self.curves_built = False
        self.sessions = 0
        self.reviews = 0
        self.reassignments = 0

    def write(
        self,
        events: Sequence[Event],
        *,
        progress: Callable[[int], None] | None = None,
        checkpoint: Callable[[], None] | None = None,
        checkpoint_every: int = 100,
    ) -> list[int]:
        """Write every event; ``progress`` gets 1 per client whose history is complete,
        ``checkpoint`` runs every ``checkpoint_every`` clients. Returns the episode ids."""
        steps: dict[Step, Callable[[Event], None]] = {
            Step.REGISTER: self.register,
            Step.CONTACT: self.contact,
            Step.CONSENT: self.consent,
            Step.DISCHARGE: self.discharge,
            Step.REASSIGN: self.reassign,
            Step.SESSION: self.session,
            Step.CHECK: self.check,
        }
        remaining = Counter(e.index for e in events if e.step <= Step.DISCHARGE)
        complete = 0
        for event in events:
            steps[event.step](event)
            if event.step > Step.DISCHARGE:
                continue
            remaining[event.index] -= 1
            if remaining[event.index] == 0:
                complete += 1
                if progress is not None:
                    progress(1)
                if checkpoint is not None and complete % checkpoint_every == 0:
                    checkpoint()
        return [self.episode(index).id for index in range(len(self.episodes))]

    def episode(self, index: int) -> Episode:
        """The written episode of plan ``index``."""
        episode = self.written[index]
        if episode is None:
            raise RuntimeError(f"demo episode {index} is used before its registration")
        return episode

    # A worker's steps

    def register(self, event: Event) -> None:
        """Register the client and their referral, on the referral day."""
        plan = self.episodes[event.index]
        worker = self.workers[plan.worker]
        episode = register_client(
            worker,
            details=plan.details,
            referral=plan.referral,
            consent=plan.consent_first,
            consent_note=plan.consent_note,
            demographics=plan.demographics,
            today=plan.referral.referral_date,
            worker=worker,
        )
        # Demo history: the consent was recorded at the first contact, not at seeding time.
        episode.client.consent_records[0].recorded_at = min(first_seen(plan), self.now)
        self.written[event.index] = episode

    def contact(self, event: Event) -> None:
        """Log one contact (for a booking, as of the moment it was booked)."""
        planned = self.episodes[event.index].contacts[event.item]
        log_contact(
            self.workers[self.holder[event.index]],
            self.episode(event.index),
            planned.as_input(),
            now=planned.booked_at or self.now,
        )

    def consent(self, event: Event) -> None:
        """Record the client's change of mind about central reporting."""
        plan = self.episodes[event.index]
        if plan.consent_change is None:
            return
        state, note = plan.consent_change
        record = set_consent(
            self.workers[self.holder[event.index]],
            self.episode(event.index).client,
            consent=state,
            note=note,
        )
        record.recorded_at = consent_changed_at(plan, now=self.now)

    def discharge(self, event: Event) -> None:
        """Discharge the episode on its planned day."""
        plan = self.episodes[event.index]
        if plan.discharge is None:
            return
        discharged_on, reason = plan.discharge
        discharge(
            self.workers[self.holder[event.index]],
            self.episode(event.index),
            reason=reason,
            discharged_on=discharged_on,
            note=demo_text().discharge_notes[reason],
            today=discharged_on,
            # Kept only when risk or a red flag is open at discharge (the service decides).
            risk_confirmed=True,
            risk_plan=demo_text().risk_discharge_plan,
        )

    # A supervisor's steps

    def reassign(self, event: Event) -> None:
        """Move a case to the lightest caseload in its team."""
        move = self.supervision.reassignments[event.index]
        episode = self.episode(move.episode)
        if not episode.is_open:
            return
        reassign(
            self.supervisors[team_of(self.holder[move.episode])],
            episode.id,
            to_worker_id=self.workers[move.to_worker].id,
            reason=move.reason,
            version=episode.version,
            now=move.at,
        )
        self.holder[move.episode] = move.to_worker
        self.reassignments += 1

    def session(self, event: Event) -> None:
        """A weekly session: the worker's flagged cases in queue order, until time runs out."""
        planned = self.supervision.sessions[event.index]
        supervisor = self.supervisors[team_of(planned.worker)]
        day = local_date(planned.at)
        self.build_curves()
        try:
            session = start_session(
                supervisor, worker_id=self.workers[planned.worker].id, today=day, now=planned.at
            )
        except ServiceError:
            return  # nothing of this worker's was flagged that day
        self.sessions += 1
        moment = planned.at
        ends = planned.at + timedelta(minutes=planned.minutes)
        for case in list(session.cases):
            if case.position > 1:
                if moment >= ends:
                    break
                move_in_session(supervisor, session.id, position=case.position, now=moment)
            discuss, seen = case_flags(supervisor, case.episode, today=day)
            spent = timedelta(minutes=case_minutes(self.rng, discuss))
            if self.rng.random() >= OPENED_NOT_REVIEWED:
                self.review(
                    supervisor,
                    case.episode_id,
                    discuss,
                    seen,
                    at=moment + spent * 0.8,
                    session_id=session.id,
                )
            moment += spent
        end_session(supervisor, session.id, now=moment)

    def check(self, event: Event) -> None:
        """A look at the queue between sessions: red cases with new risk or deterioration
        are reviewed there and then."""
        planned = self.supervision.checks[event.index]
        supervisor = self.supervisors[planned.team]
        self.build_curves()
        queue = exception_queue(supervisor, today=local_date(planned.at))
        urgent = [
            row
            for row in queue.rows
            if row.severity is Severity.RED and any(f.kind in URGENT_KINDS for f in row.flags)
        ]
        for number, row in enumerate(urgent[:CHECK_REVIEWS], start=1):
            self.review(
                supervisor,
                row.episode.id,
                row.flags,
                row.seen,
                at=planned.at + timedelta(minutes=5 * number),
                session_id=None,
            )

    def review(
        self,
        supervisor: User,
        episode_id: int,
        discuss: Sequence[Flag],
        seen: Sequence[Flag],
        *,
        at: datetime,
        session_id: int | None,
    ) -> None:
        """Record a review that saw every flag the case showed (to discuss and seen)."""
        day = local_date(at)
        planned = draw_review(
            self.rng, discuss or seen, today=day, in_session=session_id is not None
        )
        record_review(
            supervisor,
            episode_id,
            reason=planned.reason,
            decision=planned.decision,
            note=planned.note,
            next_review_on=planned.next_review_on,
            flags_seen=[flag.key for flag in (*discuss, *seen)],
            today=day,
            session_id=session_id,
            now=at,
        )
        self.reviews += 1

    def build_curves(self) -> None:
        """Build the expected curves once, from the episodes finished before supervision
        began, so the "not on track" flags of the first sessions use them."""
        if not self.curves_built:
            rebuild_expected_curves()
            self.curves_built = True
