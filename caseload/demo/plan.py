"""The whole demo service as a pure plan, drawn from one ``random.Random(seed)``.

The same seed, day and size always give the same plan; nothing here touches
the database (``caseload.demo.build`` writes the plan through the services).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from caseload.demo.contacts import ContactPlanner
from caseload.demo.demographics import (
    consent_at_registration,
    draw_demographics,
    with_contact_details,
)
from caseload.demo.draws import (
    clamp,
    demo_nhs_number,
    draw_course,
    local_day,
    weighted,
    working_time,
)
from caseload.demo.notes import plan_notes
from caseload.demo.records import PlannedEpisode, PlannedNote
from caseload.demo.tables import (
    ACTIVE_TARGETS,
    ASSESSMENT_ONLY_REASONS,
    COMPLETED_KINDS,
    COMPLEXITY_WEIGHTS,
    DEFAULT_CLIENTS,
    DEFAULT_SEED,
    DROPOUT_KINDS,
    ENDINGS,
    PERIOD_DAYS,
    PRESENTING_PROBLEMS,
    RECENT_DAYS,
    RECENT_SHARE,
    REFERRAL_SOURCES,
    REFERRER_EXPECTATIONS,
    STEPPED_UP_KINDS,
    TARGETS_CLIENTS,
    TEAM_GROWTH,
    WAITING_TARGETS,
)
from caseload.demo.text import demo_text
from caseload.domain.codes import (
    ComplexityFactor,
    ConsentState,
    ContactType,
    DischargeReason,
)
from caseload.services.clients import ClientDetails, Referral


def referral_days_ago(rng: random.Random, low: int, high: int) -> int:
    """Days ago, in [low, high], that a discharged course was referred: a steady flow over
    the whole period, and a share (``RECENT_SHARE``) more of them in the last
    ``RECENT_DAYS``, oftener the nearer today, as the service grew."""
    if rng.random() < RECENT_SHARE and low < RECENT_DAYS:
        return round(rng.triangular(low, min(high, RECENT_DAYS), low))
    return round(rng.uniform(low, high))


class Planner(ContactPlanner):
    """Draws the whole demo service from one random generator, touching no database."""

    def __init__(self, rng: random.Random, *, today: date, now: datetime, clients: int) -> None:
        super().__init__(rng, today=today)
        self.now = now
        self.clients = clients
        self.nhs_numbers: set[str] = set()

    # People and referrals

    def person(self, referral_date: date) -> tuple[ClientDetails, int]:
        """A synthetic client's details and their age at referral."""
        rng = self.rng
        text = demo_text()
        age = clamp(rng.triangular(18, 80, 34), 18, 80)
        born = referral_date - timedelta(days=age * 365 + rng.randrange(365))
        nhs = ""
        if rng.random() < 0.7:
            nhs = demo_nhs_number(rng)
            while nhs in self.nhs_numbers:
                nhs = demo_nhs_number(rng)
            self.nhs_numbers.add(nhs)
        phone = f"07700 900{rng.randrange(1000):03d}" if rng.random() < 0.9 else ""
        details = ClientDetails(
            name=f"{rng.choice(text.first_names)} {rng.choice(text.last_names)}",
            date_of_birth=born,
            nhs_number=nhs,
            phone=phone,
            gp_practice=rng.choice(text.gp_practices),
        )
        return with_contact_details(details), age

    def referral(self, referral_date: date, *, problem: str, complex_: bool) -> Referral:
        """A referral for ``problem``, with up to three complexity factors when complex."""
        rng = self.rng
        factors: list[ComplexityFactor] = []
        if complex_:
            count = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
            while len(factors) < count:
                factor = weighted(rng, COMPLEXITY_WEIGHTS)
                if factor not in factors:
                    factors.append(factor)
        return Referral(
            referral_date=referral_date,
            referral_source=weighted(rng, REFERRAL_SOURCES),
            referrer_expectation=weighted(rng, REFERRER_EXPECTATIONS),
            presenting_problem=problem,
            complexity_factors=frozenset(factors),
            complexity_note=demo_text().complexity_notes[factors[0]] if factors else "",
        )

    def episode(
        self, worker: int, referral_date: date, *, risk: bool, complex_: bool
    ) -> tuple[PlannedEpisode, int]:
        """A new client referred to ``worker``, with consent, and no contacts yet."""
        rng = self.rng
        text = demo_text()
        details, age = self.person(referral_date)
        problem = weighted(rng, PRESENTING_PROBLEMS)
        consented = rng.random() < 0.85
        first = consented
        change: tuple[ConsentState, str] | None = None
        if consented and rng.random() < 0.04:
            first, change = False, (ConsentState.YES, text.consent_later_agreed)
        elif not consented and rng.random() < 0.2:
            first, change = True, (ConsentState.DECLINED, text.consent_later_declined)
        note = rng.choice(text.consent_agreed if first else text.consent_declined)
        # Someone who later changed their mind had answered at registration.
        state = consent_at_registration(details, consented=first)
        if change is not None and not first:
            state = ConsentState.DECLINED
        plan = PlannedEpisode(
            worker=worker,
            details=details,
            referral=self.referral(referral_date, problem=problem, complex_=complex_),
            consent_first=state,
            consent_note="" if state is ConsentState.NOT_ASKED else note,
            consent_change=change,
            demographics=draw_demographics(details, age=age),
        )
        return plan, age

    # Whole episodes

    def discharged(self, worker: int) -> PlannedEpisode:
        """An episode that ended: completed, dropped out, stepped up or assessment only."""
        rng = self.rng
        ending = weighted(rng, ENDINGS)
        risk = rng.random() < (0.16 if ending == "stepped_up" else 0.10)
        complex_ = rng.random() < (0.6 if ending == "assessment_only" else 0.55 if risk else 0.26)
        if ending == "completed":
            kind = weighted(rng, COMPLETED_KINDS)
            sessions = rng.choice((5, 6, 7, 7, 8, 8, 9, 10, 11, 12))
            attended = sessions
        elif ending == "dropped_out":
            kind, sessions = weighted(rng, DROPOUT_KINDS), rng.randint(6, 8)
            attended = rng.choice((1, 2, 2, 3, 3))
        elif ending == "stepped_up":
            kind = weighted(rng, STEPPED_UP_KINDS)
            sessions = attended = rng.randint(2, 4)
        else:
            kind, sessions, attended = "no_change", 1, 1
        span = attended * 12 + 30
        # Spread over the whole period, more of them recent as the service grew, so every
        # month of the lead's dashboard has discharges enough to show once disclosure
        # control has suppressed small counts.
        days_ago = referral_days_ago(rng, span + 20, PERIOD_DAYS)
        referral_date = self.today - timedelta(days=days_ago)
        plan, age = self.episode(worker, referral_date, risk=risk, complex_=complex_)
        course = draw_course(
            rng,
            kind=kind,
            sessions=sessions,
            risk=risk,
            age=age,
            problem=plan.referral.presenting_problem,
        )
        mode = self.mode()
        first_type = ContactType.ASSESSMENT if ending == "assessment_only" else self.first_type()
        stop = self.today - timedelta(days=2)
        last = self.run_course(
            plan,
            course,
            referral_date + timedelta(days=self.wait_days()),
            attended=attended,
            stop_before=stop,
            first_type=first_type,
            mode=mode,
            hidden_waits=True,
        )
        if ending == "dropped_out" and last is not None:
            for _ in range(rng.randint(1, 2)):
                moment = working_time(last + timedelta(days=7), rng)
                if local_day(moment) >= stop:
                    break
                plan.contacts.append(self.did_not_attend(moment, mode))
                last = local_day(moment)
        if ending == "assessment_only":
            reason = weighted(rng, ASSESSMENT_ONLY_REASONS)
            if reason is DischargeReason.SIGNPOSTED:
                for contact in plan.contacts:
                    if contact.attendance.attended:
                        contact.intervention = "signposting"
        else:
            reason = {
                "completed": DischargeReason.COMPLETED,
                "dropped_out": DischargeReason.DROPPED_OUT,
                "stepped_up": DischargeReason.STEPPED_UP,
            }[ending]
        end = (last or referral_date) + timedelta(
            days=rng.randint(14, 28) if reason is DischargeReason.DROPPED_OUT else rng.randint(0, 7)
        )
        plan.discharge = (min(end, self.today - timedelta(days=1)), reason)
        return plan

    def active(self, worker: int, *, disengaging: bool) -> PlannedEpisode:
        """An open episode in treatment today, or one whose client has stopped coming."""
        rng = self.rng
        while True:
            risk = rng.random() < 0.12
            complex_ = rng.random() < (0.55 if risk else 0.28)
            kind = weighted(rng, COMPLETED_KINDS)
            sessions = rng.choice((6, 7, 7, 8, 8, 9, 10))
            first_day = self.today - timedelta(
                days=rng.randint(40, 110)
                if disengaging
                else rng.randint(3, min(140, (sessions - 1) * 13))
            )
            referral_date = first_day - timedelta(days=self.wait_days())
            plan, age = self.episode(worker, referral_date, risk=risk, complex_=complex_)
            course = draw_course(
                rng,
                kind=kind,
                sessions=sessions,
                risk=risk,
                age=age,
                problem=plan.referral.presenting_problem,
            )
            mode = self.mode()
            stop = self.today - timedelta(days=rng.randint(29, 45) if disengaging else 0)
            last = self.run_course(
                plan,
                course,
                first_day,
                attended=sessions - 1,
                stop_before=stop,
                first_type=self.first_type(),
                mode=mode,
            )
            recent = disengaging or (last is not None and last >= self.today - timedelta(21))
            if plan.treatment_started is not None and last is not None and recent:
                break
        if disengaging:
            for weeks in (1, 2):
                moment = working_time(last + timedelta(days=7 * weeks), rng)
                if local_day(moment) < self.today:
                    plan.contacts.append(self.did_not_attend(moment, mode))
        elif rng.random() < 0.8:
            # From later today on (a demo seeded on a Friday still has today's diary), a
            # week or more after the last session.
            day = max(self.today, last + timedelta(days=7))
            booking = self.booking(
                day + timedelta(days=rng.randint(0, 6)), ContactType.TREATMENT, mode
            )
            if booking.at <= self.now:  # earlier today: the next working day instead
                booking = self.booking(self.today + timedelta(days=1), ContactType.TREATMENT, mode)
            plan.contacts.append(booking)
        return plan

    def waiting(self, worker: int) -> PlannedEpisode:
        """An open episode waiting for treatment: perhaps assessed, perhaps booked."""
        rng = self.rng
        referral_date = self.today - timedelta(days=rng.randint(2, 56))
        risk = rng.random() < 0.08
        plan, age = self.episode(worker, referral_date, risk=risk, complex_=rng.random() < 0.3)
        mode = self.mode()
        roll = rng.random()
        assessment_day = referral_date + timedelta(days=rng.randint(1, 14))
        if roll < 0.35 and local_day(working_time(assessment_day, rng)) < self.today:
            course = draw_course(
                rng,
                kind="no_change",
                sessions=8,
                risk=risk,
                age=age,
                problem=plan.referral.presenting_problem,
            )
            self.run_course(
                plan,
                course,
                assessment_day,
                attended=1,
                stop_before=self.today,
                first_type=ContactType.ASSESSMENT,
                mode=mode,
            )
            if rng.random() < 0.7:
                plan.contacts.append(
                    self.booking(
                        self.today + timedelta(days=rng.randint(1, 21)), ContactType.TREATMENT, mode
                    )
                )
        elif roll < 0.45 and local_day(working_time(assessment_day, rng)) < self.today:
            plan.contacts.append(
                self.missed(working_time(assessment_day, rng), ContactType.ASSESSMENT, mode)
            )
            plan.contacts.append(
                self.booking(
                    self.today + timedelta(days=rng.randint(1, 14)),
                    ContactType.ASSESSMENT_AND_TREATMENT,
                    mode,
                )
            )
        elif rng.random() < 0.5:
            plan.contacts.append(
                self.booking(
                    self.today + timedelta(days=rng.randint(1, 28)),
                    ContactType.ASSESSMENT_AND_TREATMENT,
                    mode,
                )
            )
        return plan

    # The service

    def worker_then(self, referral_date: date, pick: float) -> int:
        """Who took a referral of that day, as the team grew (``TEAM_GROWTH``): one of the
        practitioners in post then, equally likely (``pick``, in [0, 1), chooses).
        The older history was carried by fewer practitioners, so past weeks range from
        light loads to loads over the cap, as a service's own history does and the
        findings view compares."""
        days_ago = (self.today - referral_date).days
        team_size = len(ACTIVE_TARGETS)
        for older_than, size in TEAM_GROWTH:
            if days_ago > older_than:
                team_size = size
                break
        return min(team_size - 1, int(pick * team_size))

    def plan(self) -> tuple[list[PlannedEpisode], list[PlannedNote]]:
        """Every episode (sorted by referral date) and every reflective note."""
        rng = self.rng
        scale = min(1.0, self.clients / TARGETS_CLIENTS)
        active = [round(t * scale) for t in ACTIVE_TARGETS]
        waiting = [max(1, round(t * scale)) for t in WAITING_TARGETS]
        while sum(active) + sum(waiting) > 0.7 * self.clients and any(active):
            active = [max(0, a - 1) for a in active]
        episodes: list[PlannedEpisode] = []
        for worker, count in enumerate(active):
            for _ in range(count):
                episodes.append(self.active(worker, disengaging=rng.random() < 0.08))
        needs_outcome = max(1, round(2 * scale))
        for plan in episodes:
            if (
                needs_outcome
                and not any(c.booked_at for c in plan.contacts)
                and self.needs_outcome(plan)
            ):
                needs_outcome -= 1
        for worker, count in enumerate(waiting):
            episodes.extend(self.waiting(worker) for _ in range(count))
        rest = max(0, self.clients - len(episodes))
        for _ in range(rest):
            pick = rng.random()
            planned = self.discharged(0)
            planned.worker = self.worker_then(planned.referral.referral_date, pick)
            episodes.append(planned)
        episodes = episodes[: self.clients]
        episodes.sort(key=lambda e: e.referral.referral_date)
        for plan in episodes:
            plan.contacts.sort(key=lambda c: c.at)
        return episodes, plan_notes(rng, episodes, today=self.today)


def plan_demo_service(
    *, seed: int = DEFAULT_SEED, today: date, now: datetime, clients: int = DEFAULT_CLIENTS
) -> tuple[list[PlannedEpisode], list[PlannedNote]]:
    """The demo service as plain data: the same seed, day and size always give the same plan."""
    return Planner(random.Random(seed), today=today, now=now, clients=clients).plan()
