"""A full record for the tests of what leaves the screen (summary, letters, FHIR, exports):
a client with every detail the service holds, contacts with PHQ-9, GAD-7 and WSAS, a
missed and a cancelled appointment, a risk assessment, an intervention, a supervision
review and, when asked, a discharge with a risk plan. Made through the services, with
time pinned (``tests.services.factories.NOW``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from caseload.domain.codes import (
    AttendanceCode,
    ComplexityFactor,
    ContactType,
    DischargeReason,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    ReferralSource,
    RiskLevel,
    SexualOrientation,
    SupervisionDecision,
    YesNoNotStated,
)
from caseload.extensions import db
from caseload.models import Contact, Episode, User
from caseload.services.clients import ClientDetails, Demographics, Referral, register_client
from caseload.services.episodes import discharge
from caseload.services.supervision import case_flags, record_review
from tests.services.factories import NOW, TODAY, gad7, log, phq9


def nhs_number(seed: int) -> str:
    """A valid NHS number (Modulus 11) made from a seed."""
    for offset in range(100):
        body = f"{(seed * 7919 + offset) % 10**9:09d}"
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return body + str(check)
    raise AssertionError("no valid NHS number near this seed")


#: The risk plan written at discharge (kept when risk is open then).
RISK_PLAN = "GP informed of the item-9 answer; client has the crisis line number."

#: The action at the last contact when its item 9 is answered (the latest risk assessment).
END_RISK_ACTION = "Reviewed the safety plan together."
END_RISK_FACTORS = "Low mood around an anniversary."

#: WSAS answers (5 items, 0-8) totalling 22, then 12.
WSAS_START = [6, 5, 4, 4, 3]
WSAS_END = [3, 3, 2, 2, 2]


@dataclass
class FullRecord:
    """The episode and the pieces a test looks for."""

    episode: Episode
    contacts: list[Contact]
    risk_factors: str
    risk_action: str
    review_note: str | None
    risk_plan: str


def full_record(
    worker: User,
    *,
    name: str = "Morgan Example",
    born: date = date(1984, 3, 9),
    nhs: str | None = None,
    consented: bool = False,
    discharged: bool = False,
    supervisor: User | None = None,
    risk_action: str = "Safety plan agreed; crisis numbers given.",
    risk_factors: str = "Recent job loss.",
    complexity_note: str = "Lives alone since the separation.",
    referral_date: date | None = None,
    presenting_problem: str = "Depression",
    start: datetime | None = None,
    item9_at_end: int = 0,
) -> FullRecord:
    """Register a client with every field, log a course of contacts and (optionally)
    review and discharge the episode; committed."""
    referral_on = referral_date or TODAY - timedelta(days=60)
    episode = register_client(
        worker,
        details=ClientDetails(
            name=name,
            date_of_birth=born,
            nhs_number=nhs or "",
            phone="07700 900456",
            may_leave_message=True,
            sms_allowed=True,
            gp_practice="Riverside Medical Centre",
            gp_practice_code="B82005",
            postcode="LS1 4AP",
            emergency_contact_name="Robin Example",
            emergency_contact_relationship="Sister",
            emergency_contact_phone="07700 900789",
        ),
        demographics=Demographics(
            gender_identity=next(iter(GenderIdentity)),
            ethnic_category=next(iter(EthnicCategory)),
            employment_status=next(iter(EmploymentStatus)),
            long_term_condition=YesNoNotStated.YES,
            disability=YesNoNotStated.NO,
            sexual_orientation=next(iter(SexualOrientation)),
            preferred_language="Welsh",
            interpreter_needed=True,
        ),
        referral=Referral(
            referral_date=referral_on,
            referral_source=ReferralSource.GP,
            referrer_expectation="Counselling",
            presenting_problem=presenting_problem,
            complexity_factors=frozenset({ComplexityFactor.HOUSING}),
            complexity_note=complexity_note,
        ),
        consented=consented,
        consent_note="Asked at registration.",
        today=TODAY,
    )
    first = start or NOW - timedelta(days=40)
    contacts = [
        log(
            worker,
            episode,
            first,
            contact_type=ContactType.ASSESSMENT_AND_TREATMENT,
            phq9=phq9(18, item9=1),
            gad7=gad7(15),
            wsas=WSAS_START,
            intervention="guided_self_help",
            risk_level=RiskLevel.LOW,
            risk_factors=risk_factors,
            risk_action=risk_action,
            phq9_difficulty=2,
        ),
        log(
            worker,
            episode,
            first + timedelta(days=7),
            attendance=AttendanceCode.DID_NOT_ATTEND,
        ),
        log(
            worker,
            episode,
            first + timedelta(days=14),
            phq9_total=12,
            gad7_total=9,
            intervention="behavioural_activation",
        ),
        log(
            worker,
            episode,
            first + timedelta(days=18),
            attendance=AttendanceCode.CANCELLED_BY_PATIENT,
        ),
        log(
            worker,
            episode,
            first + timedelta(days=21),
            phq9=phq9(7, item9=item9_at_end),
            gad7_total=6,
            wsas=WSAS_END,
            intervention="guided_self_help",
            **(
                {
                    "risk_level": RiskLevel.LOW,
                    "risk_action": END_RISK_ACTION,
                    "risk_factors": END_RISK_FACTORS,
                }
                if item9_at_end
                else {}
            ),
        ),
    ]
    review_note = None
    if supervisor is not None:
        review_note = "Keep going with behavioural activation; check mood at each session."
        seen, _ = case_flags(supervisor, episode, today=TODAY)
        record_review(
            supervisor,
            episode.id,
            reason="Risk item answered at assessment.",
            decision=SupervisionDecision.CONTINUE,
            note=review_note,
            next_review_on=TODAY + timedelta(days=14),
            flags_seen=[f.key for f in seen],
            today=TODAY,
        )
    if discharged:
        discharge(
            worker,
            episode,
            reason=DischargeReason.COMPLETED,
            discharged_on=TODAY - timedelta(days=1),
            note="Goals met.",
            today=TODAY,
            risk_confirmed=True,
            risk_plan=RISK_PLAN,
        )
    db.session.commit()
    # The plan is kept only when risk was open at discharge (an item-9 answer at the end).
    # The latest risk assessment's factors and action: the summary's "current risk".
    latest_factors = END_RISK_FACTORS if item9_at_end else risk_factors
    latest_action = END_RISK_ACTION if item9_at_end else risk_action
    return FullRecord(
        episode, contacts, latest_factors, latest_action, review_note, episode.discharge_risk_plan
    )
