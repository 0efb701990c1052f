"""Planning one episode's contacts: attended sessions with scores and risk, misses, bookings."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from caseload.demo.draws import (
    Course,
    clamp,
    local_day,
    previous_weekday,
    spread_items,
    weighted,
    working_time,
)
from caseload.demo.records import PlannedContact, PlannedEpisode
from caseload.demo.tables import HIDDEN_WAIT_OVER_28, HIDDEN_WAIT_OVER_90, MODES
from caseload.demo.text import demo_text
from caseload.domain.codes import (
    AttendanceCode,
    ContactMode,
    ContactType,
    NotCollectedReason,
    RiskLevel,
)
from caseload.domain.scoring import NOT_APPLICABLE

#: Risk levels a worker may judge for each PHQ-9 item 9 answer, drawn uniformly.
RISK_BY_ITEM9 = {
    1: (RiskLevel.LOW, RiskLevel.LOW, RiskLevel.MODERATE),
    2: (RiskLevel.MODERATE, RiskLevel.MODERATE, RiskLevel.HIGH),
    3: (RiskLevel.HIGH, RiskLevel.MODERATE),
}


#: The presenting problem whose episodes also take the PCL-5 (its ADSM).
PTSD = "Post-traumatic stress disorder"


def pcl5_answers(gad7_total: int, moment: datetime) -> list[int]:
    """PCL-5 answers that follow the GAD-7 course (caseness 32 about where GAD-7 reaches 8).

    Drawn from a generator of their own, seeded by the contact's time, so adding the PCL-5
    changes no other draw of the demo.
    """
    rng = random.Random(f"pcl5 {moment.isoformat()}")
    total = clamp(gad7_total * 3 + 8 + rng.gauss(0, 3), 0, 80)
    return spread_items(rng, total, 20, 4)


class ContactPlanner:
    """Draws contacts from one random generator, touching no database."""

    def __init__(self, rng: random.Random, *, today: date) -> None:
        self.rng = rng
        self.today = today

    def attended(
        self,
        plan: PlannedEpisode,
        course: Course,
        index: int,
        moment: datetime,
        contact_type: ContactType,
        mode: ContactMode,
        *,
        last: bool,
    ) -> PlannedContact:
        """The ``index``-th attended contact of ``course``, with measures and risk."""
        rng = self.rng
        text = demo_text()
        problem = plan.referral.presenting_problem
        if contact_type is ContactType.ASSESSMENT:
            intervention = "psychoeducation"
            note = rng.choice(text.contact_notes["assessment"])
        else:
            depressive = "Depression" in problem or ("Mixed" in problem and rng.random() < 0.5)
            intervention = "behavioural_activation" if depressive else "guided_self_help"
            note = rng.choice(text.contact_notes["last" if last else "treatment"])
            if contact_type is ContactType.ASSESSMENT_AND_TREATMENT:
                note = rng.choice(text.contact_notes["assessment"])
        contact = PlannedContact(
            at=moment,
            contact_type=contact_type,
            mode=mode,
            attendance=AttendanceCode.ATTENDED_ON_TIME,
            intervention=intervention,
            note=note,
        )
        if rng.random() < 0.05:
            contact.attendance = AttendanceCode.ARRIVED_LATE_SEEN
        at_risk = index < course.risk_contacts
        if index > 0 and not last and not at_risk and rng.random() < 0.04:
            # "Other" needs the worker's own words, which the demo does not write.
            contact.not_collected = rng.choice([r for r in NotCollectedReason if not r.needs_note])
            return contact
        phq, gad = course.scores(rng, index)
        item9 = 0
        if at_risk:
            item9 = max(1, course.risk_contacts - index + rng.choice((0, 0, 1)))
            item9 = min(item9, 3)
            phq = max(phq, item9 + 6)
        contact.phq9 = spread_items(rng, phq, 9, 3, fixed={8: item9})
        contact.gad7 = spread_items(rng, gad, 7, 3)
        if index == 0 or last or index % 3 == 0:
            wsas = clamp(phq * 1.2 + rng.gauss(0, 3), 0, 40)
            if course.retired:
                contact.wsas = [NOT_APPLICABLE, *spread_items(rng, wsas, 4, 8)]
            else:
                contact.wsas = list(spread_items(rng, wsas, 5, 8))
        if problem == PTSD:
            contact.pcl5 = pcl5_answers(gad, moment)
        if item9:
            contact.risk_level = rng.choice(RISK_BY_ITEM9[item9])
            contact.risk_factors = (
                f"{rng.choice(text.risk_factors)}. {rng.choice(text.risk_protective)}"
            )
            contact.risk_action = text.risk_actions[contact.risk_level]
        elif index == 0:
            contact.risk_level = RiskLevel.NONE
            contact.risk_factors = text.risk_none_reported
        elif course.risk_contacts and index == course.risk_contacts:
            contact.risk_level = RiskLevel.LOW
            contact.risk_factors = text.risk_reviewed_factors
            contact.risk_action = text.risk_reviewed_action
        return contact

    def missed(
        self, moment: datetime, contact_type: ContactType, mode: ContactMode
    ) -> PlannedContact:
        """A contact that did not happen: not attended, too late, or cancelled."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            code, key = AttendanceCode.DID_NOT_ATTEND, "dna"
        elif roll < 0.65:
            code, key = AttendanceCode.ARRIVED_LATE_NOT_SEEN, "late"
        elif roll < 0.88:
            code, key = AttendanceCode.CANCELLED_BY_PATIENT, "cancelled_patient"
        else:
            code, key = AttendanceCode.CANCELLED_BY_PROVIDER, "cancelled_provider"
        return PlannedContact(
            at=moment,
            contact_type=contact_type,
            mode=mode,
            attendance=code,
            note=rng.choice(demo_text().contact_notes[key]),
        )

    def did_not_attend(self, moment: datetime, mode: ContactMode) -> PlannedContact:
        """A treatment contact the client did not attend."""
        return PlannedContact(
            at=moment,
            contact_type=ContactType.TREATMENT,
            mode=mode,
            attendance=AttendanceCode.DID_NOT_ATTEND,
            note=self.rng.choice(demo_text().contact_notes["dna"]),
        )

    def run_course(
        self,
        plan: PlannedEpisode,
        course: Course,
        first_day: date,
        *,
        attended: int,
        stop_before: date,
        first_type: ContactType,
        mode: ContactMode,
        hidden_waits: bool = False,
    ) -> date | None:
        """Add up to ``attended`` attended contacts from ``first_day``, with misses
        sprinkled in, none on or after ``stop_before``; returns the last contact's day.
        With ``hidden_waits``, the second treatment contact is sometimes long in coming."""
        rng = self.rng
        day, index, last_day, treated = first_day, 0, None, 0
        while index < attended:
            moment = working_time(day, rng)
            actual = local_day(moment)
            if actual >= stop_before:
                break
            contact_type = first_type if index == 0 else ContactType.TREATMENT
            if rng.random() < 0.15:
                plan.contacts.append(self.missed(moment, contact_type, mode))
                day = actual + timedelta(days=rng.choice((3, 7, 7)))
            else:
                is_last = index == course.sessions - 1
                plan.contacts.append(
                    self.attended(plan, course, index, moment, contact_type, mode, last=is_last)
                )
                index += 1
                treated += contact_type.is_treatment
                long_gap_possible = hidden_waits and treated == 1
                day = actual + timedelta(
                    days=self.next_gap(after_first_treatment=long_gap_possible)
                )
            last_day = actual
        return last_day

    def next_gap(self, *, after_first_treatment: bool) -> int:
        """Days to the next contact: mostly a week or two. After the first treatment contact,
        quite often a longer gap: the "hidden wait" for the second treatment contact that
        services report (over 28 days, and a few over 90)."""
        rng = self.rng
        if after_first_treatment:
            roll = rng.random()
            if roll < HIDDEN_WAIT_OVER_90:
                return rng.randint(91, 110)
            if roll < HIDDEN_WAIT_OVER_28:
                return rng.randint(29, 60)
        return rng.choice((7, 7, 7, 10, 14))

    def mode(self) -> ContactMode:
        """How an episode's contacts are held."""
        return weighted(self.rng, MODES)

    def first_type(self) -> ContactType:
        """The first contact: an assessment, or (more often) assessment and treatment."""
        return (
            ContactType.ASSESSMENT_AND_TREATMENT
            if self.rng.random() < 0.65
            else ContactType.ASSESSMENT
        )

    def wait_days(self) -> int:
        """Days from referral to the first contact; a few wait much longer."""
        rng = self.rng
        return rng.randint(45, 90) if rng.random() < 0.08 else rng.randint(5, 40)

    def booking(self, day: date, contact_type: ContactType, mode: ContactMode) -> PlannedContact:
        """A contact booked on or after ``day``, with no outcome yet."""
        return PlannedContact(
            at=working_time(day, self.rng),
            contact_type=contact_type,
            mode=mode,
            attendance=AttendanceCode.BOOKED,
            note="",
        )

    def needs_outcome(self, plan: PlannedEpisode) -> bool:
        """Add a booking whose time has passed with no outcome recorded, if one fits."""
        held = [c for c in plan.contacts if c.attendance != AttendanceCode.BOOKED]
        day = previous_weekday(self.today - timedelta(days=self.rng.randint(1, 3)))
        if not held or local_day(held[-1].at) >= day - timedelta(days=2):
            return False
        moment = working_time(day, self.rng)
        plan.contacts.append(
            PlannedContact(
                at=moment,
                contact_type=ContactType.TREATMENT,
                mode=held[-1].mode,
                attendance=AttendanceCode.BOOKED,
                booked_at=moment - timedelta(days=7),
            )
        )
        return True
