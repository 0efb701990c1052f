"""The demo service: staff accounts, then a synthetic caseload over about 18 months.

Demo accounts are public by nature. Their credentials are written to
``instance/demo-credentials.json`` so a person or a script can sign in as any
of them, and a production configuration refuses to start while any exists.

The clinical data is made up: names are random pairs from two lists, NHS
numbers are in the 999 test range, phone numbers in Ofcom's drama range.
It is built in two steps: a pure plan drawn from one ``random.Random(seed)``
(so a seed always gives the same service), then written through the same
services a worker uses, so every rule, summary and audit event applies.

The story: the service opened about 18 months ago and has filled up since.
Today worker1 holds more active cases than the cap of 45 and most workers hold
20-35; referrals arrive faster in recent months, so caseloads rose over the
period and the workers' reflective notes rate their caseload as less
manageable as it grew. About half of the finished courses at caseness recover.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pyotp
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from caseload.domain.codes import (
    AttendanceCode,
    ComplexityFactor,
    ContactMode,
    ContactType,
    DischargeReason,
    Intervention,
    NotCollectedReason,
    ReferralSource,
    ReflectiveTheme,
    RiskLevel,
)
from caseload.domain.scoring import NOT_APPLICABLE, AnswerValue
from caseload.extensions import db
from caseload.models import Client, Contact, Episode, EpisodeSummary, ReflectiveNote, User
from caseload.policy import Role
from caseload.services import ServiceError
from caseload.services.clients import (
    ClientDetails,
    Referral,
    nhs_number_is_valid,
    register_client,
    set_consent,
)
from caseload.services.contacts import ContactInput, log_contact
from caseload.services.curves import rebuild_expected_curves
from caseload.services.episodes import discharge, outcome_for
from caseload.services.notes import write_note
from caseload.services.users import count_non_demo_users, create_user, get_or_create_team

TEAMS = ("North team", "South team")
SUPERVISORS = (("supervisor1", "Grace Okafor"), ("supervisor2", "Tomasz Nowak"))
WORKERS = (
    ("worker1", "Aisha Rahman"),
    ("worker2", "Ben Carter"),
    ("worker3", "Chloe Evans"),
    ("worker4", "Dev Patel"),
    ("worker5", "Ellie Murphy"),
    ("worker6", "Farid Haddad"),
    ("worker7", "Gemma Hughes"),
    ("worker8", "Harry Lewis"),
)


@dataclass(frozen=True)
class DemoCredential:
    """One demo account's sign-in details, as written to the credentials file."""

    username: str
    role: str
    password: str
    totp_secret: str


def demo_passphrase() -> str:
    """A fresh random passphrase that passes the passphrase rules."""
    return "demo-" + secrets.token_urlsafe(18)


def build_demo_staff() -> list[DemoCredential]:
    """Create the demo admin, lead, supervisors and workers; refuse if real users exist."""
    if count_non_demo_users():
        raise ServiceError(
            "This database holds real (non-demo) accounts; seed-demo will not touch it."
        )
    plan: list[tuple[str, str, Role, str | None]] = [
        ("admin", "Sam Admin", Role.ADMIN, None),
        ("lead", "Priya Shah", Role.LEAD, None),
    ]
    for (username, name), team in zip(SUPERVISORS, TEAMS, strict=True):
        plan.append((username, name, Role.SUPERVISOR, team))
    for index, (username, name) in enumerate(WORKERS):
        plan.append((username, name, Role.WORKER, TEAMS[index % len(TEAMS)]))

    credentials = []
    for username, name, role, team in plan:
        password = demo_passphrase()
        user = create_user(
            username=username,
            password=password,
            role=role,
            display_name=name,
            team_name=team,
            is_demo=True,
        )
        # The secret is set but not confirmed: the first sign-in shows enrolment.
        user.totp_secret = pyotp.random_base32()
        credentials.append(
            DemoCredential(username, role.value, password, user.totp_secret)
        )
    for team in TEAMS:
        get_or_create_team(team)
    db.session.flush()
    return credentials


def write_credentials(path: Path, credentials: list[DemoCredential]) -> None:
    """Write the demo credentials file, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(c) for c in credentials], indent=2) + "\n", "utf-8")
    path.chmod(0o600)


# --- The synthetic clinical service -------------------------------------------------

_T = TypeVar("_T")
LONDON = ZoneInfo("Europe/London")
DEFAULT_SEED = 2009
DEFAULT_CLIENTS = 600
#: The period the demo covers, ending today (about 18 months).
PERIOD_DAYS = 540

#: Open, in-treatment cases per worker at the end, for 600 clients: worker1 sits above
#: the cap of 45 that Rizq et al. (2009) reported; most hold 20-35.
ACTIVE_TARGETS = (48, 38, 33, 30, 28, 26, 23, 21)
#: Open cases still waiting for their first treatment contact, per worker.
WAITING_TARGETS = (9, 7, 6, 6, 5, 5, 4, 4)

FIRST_NAMES = (
    "Alex", "Amara", "Ava", "Bethan", "Callum", "Carys", "Connor", "Daniel", "Darius", "Demi",
    "Elena", "Eilidh", "Faisal", "Fern", "Gareth", "Hana", "Harvey", "Imani", "Isla", "Jack",
    "Jade", "Jamal", "Kai", "Kasia", "Keira", "Leon", "Lily", "Luca", "Maya", "Mohammed",
    "Nadia", "Niamh", "Noah", "Olu", "Owen", "Paige", "Priya", "Reece", "Rhys", "Rosa",
    "Ruby", "Saira", "Sean", "Shannon", "Sienna", "Tariq", "Tegan", "Theo", "Tom", "Yusuf",
    "Zara", "Zoe", "Marek", "Aoife", "Kwame", "Ioana", "Ravi", "Megan", "Lewis", "Ffion",
)
LAST_NAMES = (
    "Ahmed", "Ali", "Bailey", "Baker", "Begum", "Bennett", "Brown", "Campbell", "Clarke",
    "Collins", "Cook", "Davies", "Edwards", "Ellis", "Evans", "Fox", "Green", "Hall", "Harris",
    "Hill", "Hussain", "Jackson", "James", "Jenkins", "Johnson", "Jones", "Kaur", "Khan",
    "King", "Kowalski", "Lee", "Lewis", "Martin", "Mensah", "Mitchell", "Moore", "Morgan",
    "Murphy", "Novak", "Okoro", "O'Brien", "Owen", "Parker", "Patel", "Phillips", "Price",
    "Roberts", "Robinson", "Scott", "Shah", "Singh", "Smith", "Taylor", "Thomas", "Turner",
    "Walker", "Ward", "White", "Williams", "Wilson", "Wright", "Young",
)
GP_PRACTICES = (
    "Riverside Medical Centre", "Hillview Surgery", "Market Street Practice",
    "Canal Side Health Centre", "Oakfield Group Practice", "Station Road Surgery",
    "The Willows Medical Practice", "Park Lane Health Centre",
)
#: Weights of the presenting problems (the values match the registration form's choices).
PRESENTING_PROBLEMS = {
    "Depression": 26,
    "Generalised anxiety disorder": 22,
    "Mixed anxiety and depressive disorder": 24,
    "Panic disorder": 7,
    "Health anxiety": 5,
    "Social anxiety disorder": 5,
    "Specific phobia": 3,
    "Obsessive-compulsive disorder": 2,
    "Post-traumatic stress disorder": 2,
    "Other": 4,
}
#: What the referrer led the client to expect; "Counselling" is the study's role confusion.
REFERRER_EXPECTATIONS = {
    "Guided self-help (low-intensity CBT)": 45,
    "Counselling": 22,
    "Longer-term or high-intensity therapy": 8,
    "Medication review": 5,
    "Not discussed or not known": 20,
}
REFERRAL_SOURCES = {
    ReferralSource.GP: 52,
    ReferralSource.SELF: 36,
    ReferralSource.OTHER_HEALTH_PROFESSIONAL: 9,
    ReferralSource.OTHER: 3,
}
COMPLEXITY_WEIGHTS = {
    ComplexityFactor.BEREAVEMENT: 14,
    ComplexityFactor.RELATIONSHIP_BREAKDOWN: 16,
    ComplexityFactor.HOUSING: 12,
    ComplexityFactor.DEBT: 12,
    ComplexityFactor.DRUGS_ALCOHOL: 9,
    ComplexityFactor.TRAUMA: 8,
    ComplexityFactor.SAFEGUARDING: 4,
    ComplexityFactor.LONG_TERM_CONDITION: 14,
    ComplexityFactor.PREVIOUS_SECONDARY_CARE: 7,
    ComplexityFactor.OTHER: 4,
}
COMPLEXITY_NOTES = {
    ComplexityFactor.BEREAVEMENT: "Mother died eight months ago; grief comes up in every call.",
    ComplexityFactor.RELATIONSHIP_BREAKDOWN: "Recently separated; sharing care of two children.",
    ComplexityFactor.HOUSING: "Temporary accommodation; worried about being moved again.",
    ComplexityFactor.DEBT: "Rent arrears and a payday loan; letters are a trigger.",
    ComplexityFactor.DRUGS_ALCOHOL: "Drinking most evenings to cope; open to talking about it.",
    ComplexityFactor.TRAUMA: "Mentions a past assault; does not want to go into it now.",
    ComplexityFactor.SAFEGUARDING: "Children's social care involved; named social worker.",
    ComplexityFactor.LONG_TERM_CONDITION: "Type 2 diabetes and chronic back pain.",
    ComplexityFactor.PREVIOUS_SECONDARY_CARE: "Seen by the community mental health team before.",
    ComplexityFactor.OTHER: "Caring full time for a parent with dementia.",
}
MODES = {
    ContactMode.TELEPHONE: 55,
    ContactMode.VIDEO: 17,
    ContactMode.FACE_TO_FACE: 18,
    ContactMode.DIGITAL: 7,
    ContactMode.GROUP: 3,
}
CONSENT_YES_NOTES = (
    "Agreed at assessment call",
    "Agreed at assessment call after the purpose was explained",
    "Happy for anonymised figures to be used; agreed at assessment",
)
CONSENT_NO_NOTES = (
    "Did not want their record in service reports",
    "Declined at assessment call: worried about who sees the data",
)
CONSENT_LATER_YES = "Changed their mind at a treatment session; happy to be included now"
CONSENT_LATER_NO = "Asked at a session to be taken out of service reporting"

RISK_FACTORS = (
    "Passive thoughts of being better off dead; no plan or intent",
    "Fleeting thoughts of self-harm when stressed; no history of acting on them",
    "Thoughts of not wanting to wake up; lives alone; recent job loss",
    "Past overdose five years ago; current thoughts without a plan",
    "Thoughts of self-harm after arguments at home; drinking more",
)
RISK_PROTECTIVE = (
    "Protective factors: children, faith.",
    "Protective factors: partner, dog, plans for the summer.",
    "Protective factors: close sister, work.",
    "Protective factors: future plans, support from friends.",
)
RISK_ACTIONS = {
    RiskLevel.LOW: "Safety plan reviewed; crisis numbers given.",
    RiskLevel.MODERATE: (
        "Safety plan written together; crisis line and GP out-of-hours given; "
        "discussed with supervisor the same day."
    ),
    RiskLevel.HIGH: (
        "Discussed with duty clinician during the call; referred to the crisis team "
        "with consent; GP informed; supervisor informed."
    ),
}
CONTACT_NOTES = {
    "assessment": (
        "Assessment call; agreed goals and the plan for treatment.",
        "Assessment; explained the low-intensity offer and what to expect.",
        "Assessment; history taken, measures explained, goals agreed.",
    ),
    "treatment": (
        "Reviewed worksheet; set next steps for the week.",
        "Went through the activity diary; small gains this week.",
        "Worry time practised most days; reviewed what got in the way.",
        "Problem solving on one practical worry; plan agreed.",
        "Graded exposure steps reviewed; next step chosen.",
        "Sleep diary reviewed; agreed a regular wake time.",
        "Hard week; went back over the basics of the model.",
    ),
    "last": (
        "Final session; relapse prevention plan agreed.",
        "Ending; reviewed progress against goals and the blueprint.",
    ),
    "dna": (
        "Did not answer two calls; text sent to rebook.",
        "No answer; voicemail left and letter sent.",
    ),
    "cancelled_patient": ("Cancelled by text: unwell.", "Cancelled: childcare fell through."),
    "cancelled_provider": ("Cancelled: practitioner on training.", "Cancelled: staff sickness."),
    "late": ("Arrived too late to be seen; rebooked.",),
}
DISCHARGE_NOTES = {
    DischargeReason.COMPLETED: "Completed the planned sessions; relapse prevention plan in place.",
    DischargeReason.DROPPED_OUT: "No response to calls and an opt-in letter; discharged to GP.",
    DischargeReason.STEPPED_UP: "Stepped up to high-intensity CBT after supervision review.",
    DischargeReason.SIGNPOSTED: "Signposted to a more suitable service after assessment.",
    DischargeReason.DECLINED: "Decided low-intensity work was not for them at this time.",
    DischargeReason.NOT_SUITABLE: "Needs outside step-2 remit; referred back to GP.",
}

#: Reflective-note texts by theme: short, synthetic, in a worker's voice.
NOTE_TEXTS: dict[ReflectiveTheme, tuple[str, ...]] = {
    ReflectiveTheme.NEW_ROLE: (
        "Still feels new. I like the pace but I go home unsure whether I did enough.",
        "First month with a full list. Exciting, and a bit frightening.",
    ),
    ReflectiveTheme.TRAINING_INTENSITY: (
        "Course days plus a full clinic this week. Marking essays at night.",
        "Training is good but there is no slack in the diary around it.",
    ),
    ReflectiveTheme.RECOGNITION: (
        "Nobody sees the calls that went well. Would be nice if someone did.",
        "Team meeting was all numbers. The work behind them did not come up.",
    ),
    ReflectiveTheme.TRAINING_VS_COMPLEXITY: (
        "The workbook assumes one clear problem. Today it was grief, debt and a housing letter.",
        "Referral said mild anxiety. It was a lot more than that.",
    ),
    ReflectiveTheme.CLINICAL_CONFIDENCE: (
        "Managed a difficult ending well. Felt like I knew what I was doing.",
        "Unsure whether I should have stepped this one up sooner.",
    ),
    ReflectiveTheme.EMOTIONAL_IMPACT: (
        "A heavy call stayed with me all evening.",
        "Back-to-back distressing calls. Needed a walk before the next one.",
    ),
    ReflectiveTheme.RISK_AND_COMPLEXITY: (
        "Two risk calls in one afternoon. Safety plans done but I felt stretched.",
        "Item 9 came up again on a case I thought was settled. Glad I asked.",
    ),
    ReflectiveTheme.ROLE_CONFUSION: (
        "Client expected counselling and was disappointed by a workbook.",
        "GP letter promised weekly therapy. Spent the call explaining what we do.",
    ),
    ReflectiveTheme.DATA_COLLECTION: (
        "Doing the PHQ-9 at every call can feel like a tick box, but it caught a change today.",
        "Client asked why we need the questionnaires again. Fair question.",
    ),
    ReflectiveTheme.SUPERVISION_SUPPORT: (
        "Supervision was a list of names again. Little room to think.",
        "Good supervision: we slowed down on the two cases that worried me.",
    ),
    ReflectiveTheme.CAREER_PROGRESSION: (
        "Wondering where this job leads in two years.",
        "Thinking about high-intensity training. Not sure there is a route.",
    ),
}
#: Themes that heavier caseloads write about more (Rizq et al., 2009).
LOAD_THEMES = (
    ReflectiveTheme.EMOTIONAL_IMPACT,
    ReflectiveTheme.RISK_AND_COMPLEXITY,
    ReflectiveTheme.SUPERVISION_SUPPORT,
    ReflectiveTheme.TRAINING_VS_COMPLEXITY,
)


@dataclass
class PlannedContact:
    """One contact to log: what happened and, for a booking, when it was booked."""

    at: datetime
    contact_type: ContactType
    attendance: AttendanceCode
    mode: ContactMode
    intervention: Intervention | None = None
    note: str = ""
    phq9: list[int] | None = None
    gad7: list[int] | None = None
    wsas: list[AnswerValue] | None = None
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
            phq9=self.phq9,
            gad7=self.gad7,
            wsas=self.wsas,
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
    consented_first: bool
    consent_note: str
    consent_change: tuple[bool, str] | None = None
    contacts: list[PlannedContact] = field(default_factory=list)
    discharge: tuple[date, DischargeReason] | None = None

    @property
    def treatment_started(self) -> date | None:
        """The day of the first attended treatment contact (the case becomes active)."""
        days = [c.at.astimezone(LONDON).date() for c in self.contacts
                if c.attendance.attended and c.contact_type.is_treatment]
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

    @property
    def recovery_rate(self) -> float | None:
        """Recovered among finished episodes at caseness at start."""
        if not self.finished_at_caseness:
            return None
        return self.recovered / self.finished_at_caseness


def _weighted(rng: random.Random, weights: dict[_T, int]) -> _T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def spread_items(rng: random.Random, total: int, items: int, top: int,
                 fixed: dict[int, int] | None = None) -> list[int]:
    """Item answers (each 0..top) summing to ``total``; ``fixed`` pins items by index."""
    answers = [0] * items
    for index, value in (fixed or {}).items():
        answers[index] = value
    free = [i for i in range(items) if i not in (fixed or {})]
    remaining = max(0, min(total - sum(answers), top * len(free)))
    while remaining:
        index = rng.choice([i for i in free if answers[i] < top])
        answers[index] += 1
        remaining -= 1
    return answers


def demo_nhs_number(rng: random.Random) -> str:
    """A valid NHS number in the 999 test range (never issued to a person)."""
    while True:
        body = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            number = body + str(check)
            assert nhs_number_is_valid(number)  # noqa: S101 - a slip here is a bug in this file
            return number


def _at(day: date, rng: random.Random) -> datetime:
    """A working-hours time on a weekday on or after ``day``, as aware UTC."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    moment = time(rng.choice((9, 10, 11, 13, 14, 15, 16)), rng.choice((0, 30)))
    return datetime.combine(day, moment, tzinfo=LONDON).astimezone(UTC)


def _day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


@dataclass
class _Course:
    """The clinical shape of one episode: start and end scores, risk, pace."""

    phq_start: int
    gad_start: int
    phq_end: int
    gad_end: int
    sessions: int
    risk_contacts: int  # how many first attended contacts carry PHQ-9 item 9 >= 1
    retired: bool

    def scores(self, rng: random.Random, index: int) -> tuple[int, int]:
        """PHQ-9 and GAD-7 totals at the ``index``-th attended contact of the course."""
        if index == 0:
            return self.phq_start, self.gad_start
        if index >= self.sessions - 1:
            return self.phq_end, self.gad_end
        progress = 1 - (1 - index / (self.sessions - 1)) ** 1.4
        phq = self.phq_start + (self.phq_end - self.phq_start) * progress + rng.gauss(0, 1.5)
        gad = self.gad_start + (self.gad_end - self.gad_start) * progress + rng.gauss(0, 1.2)
        return _clamp(phq, 0, 27), _clamp(gad, 0, 21)


def _course(rng: random.Random, *, kind: str, sessions: int, risk: bool, age: int,
            problem: str) -> _Course:
    at_caseness = rng.random() < 0.93
    if at_caseness:
        lean = 1.5 if "Depression" in problem else (-1.5 if "anxiety" in problem else 0)
        phq = _clamp(rng.gauss(14.5 + lean, 4.5), 6, 26)
        gad = _clamp(rng.gauss(12 - lean / 2, 3.5), 4, 21)
        if phq < 10 and gad < 8:
            gad = rng.randint(8, 12)
    else:
        phq, gad = rng.randint(2, 9), rng.randint(2, 7)
    if risk:
        phq = max(phq, 12)
    phq_end, gad_end = phq, gad
    if kind == "recover":
        phq_end, gad_end = rng.randint(2, 9), rng.randint(1, 7)
    elif kind == "improve":
        phq_end = max(phq - rng.randint(3, 8), 10 if phq >= 10 else 0)
        gad_end = max(gad - rng.randint(2, 6), 8 if phq < 10 else 0)
    elif kind == "no_change":
        phq_end = _clamp(phq + rng.randint(-3, 2), max(0, min(phq, 10)), 27)
        gad_end = _clamp(gad + rng.randint(-2, 2), max(0, min(gad, 8)), 21)
    elif kind == "deteriorate":
        if phq <= 20:
            phq_end = phq + rng.randint(6, 9)
            gad_end = _clamp(gad + rng.randint(-1, 3), 0, 21)
        else:
            phq_end = _clamp(phq + rng.randint(-1, 2), 0, 27)
            gad_end = _clamp(gad + rng.randint(4, 6), 0, 21)
    if not at_caseness:
        phq_end = _clamp(phq + rng.randint(-3, 1), 0, 9)
        gad_end = _clamp(gad + rng.randint(-3, 1), 0, 7)
    risk_contacts = rng.choice((1, 1, 2, 3)) if risk else 0
    return _Course(phq, gad, _clamp(phq_end, 0, 27), _clamp(gad_end, 0, 21), sessions,
                   risk_contacts, retired=age >= 67)


#: Outcome shapes of a full course, and of the courses that ended early.
COMPLETED_KINDS = {"recover": 66, "improve": 13, "no_change": 13, "deteriorate": 8}
DROPOUT_KINDS = {"no_change": 50, "improve": 30, "recover": 20}
STEPPED_UP_KINDS = {"deteriorate": 50, "no_change": 50}
#: How discharged episodes ended.
ENDINGS = {"completed": 62, "dropped_out": 19, "stepped_up": 8, "assessment_only": 11}
ASSESSMENT_ONLY_REASONS = {
    DischargeReason.SIGNPOSTED: 45,
    DischargeReason.NOT_SUITABLE: 25,
    DischargeReason.DECLINED: 30,
}


def _previous_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


class _Planner:
    """Draws the whole demo service from one random generator, touching no database."""

    def __init__(self, rng: random.Random, *, today: date, now: datetime, clients: int) -> None:
        self.rng = rng
        self.today = today
        self.now = now
        self.clients = clients
        self.nhs_numbers: set[str] = set()

    # People and referrals

    def person(self, referral_date: date) -> tuple[ClientDetails, int]:
        rng = self.rng
        age = _clamp(rng.triangular(18, 80, 34), 18, 80)
        born = referral_date - timedelta(days=age * 365 + rng.randrange(365))
        nhs = ""
        if rng.random() < 0.7:
            nhs = demo_nhs_number(rng)
            while nhs in self.nhs_numbers:
                nhs = demo_nhs_number(rng)
            self.nhs_numbers.add(nhs)
        phone = f"07700 900{rng.randrange(1000):03d}" if rng.random() < 0.9 else ""
        details = ClientDetails(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            date_of_birth=born,
            nhs_number=nhs,
            phone=phone,
            gp_practice=rng.choice(GP_PRACTICES),
        )
        return details, age

    def referral(self, referral_date: date, *, problem: str, complex_: bool) -> Referral:
        rng = self.rng
        factors: list[ComplexityFactor] = []
        if complex_:
            count = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
            while len(factors) < count:
                factor = _weighted(rng, COMPLEXITY_WEIGHTS)
                if factor not in factors:
                    factors.append(factor)
        return Referral(
            referral_date=referral_date,
            referral_source=_weighted(rng, REFERRAL_SOURCES),
            referrer_expectation=_weighted(rng, REFERRER_EXPECTATIONS),
            presenting_problem=problem,
            complexity_factors=frozenset(factors),
            complexity_note=COMPLEXITY_NOTES[factors[0]] if factors else "",
        )

    def episode(self, worker: int, referral_date: date, *, risk: bool,
                complex_: bool) -> tuple[PlannedEpisode, int]:
        rng = self.rng
        details, age = self.person(referral_date)
        problem = _weighted(rng, PRESENTING_PROBLEMS)
        consented = rng.random() < 0.85
        first = consented
        change = None
        if consented and rng.random() < 0.04:
            first, change = False, (True, CONSENT_LATER_YES)
        elif not consented and rng.random() < 0.2:
            first, change = True, (False, CONSENT_LATER_NO)
        note = rng.choice(CONSENT_YES_NOTES if first else CONSENT_NO_NOTES)
        plan = PlannedEpisode(
            worker=worker,
            details=details,
            referral=self.referral(referral_date, problem=problem, complex_=complex_),
            consented_first=first,
            consent_note=note,
            consent_change=change,
        )
        return plan, age

    # Contacts

    def attended(self, plan: PlannedEpisode, course: _Course, index: int, moment: datetime,
                 contact_type: ContactType, mode: ContactMode, *, last: bool) -> PlannedContact:
        rng = self.rng
        problem = plan.referral.presenting_problem
        if contact_type is ContactType.ASSESSMENT:
            intervention = Intervention.PSYCHOEDUCATION
            note = rng.choice(CONTACT_NOTES["assessment"])
        else:
            depressive = "Depression" in problem or ("Mixed" in problem and rng.random() < 0.5)
            intervention = (Intervention.BEHAVIOURAL_ACTIVATION if depressive
                            else Intervention.GUIDED_SELF_HELP)
            note = rng.choice(CONTACT_NOTES["last" if last else "treatment"])
            if contact_type is ContactType.ASSESSMENT_AND_TREATMENT:
                note = rng.choice(CONTACT_NOTES["assessment"])
        contact = PlannedContact(at=moment, contact_type=contact_type, mode=mode,
                                 attendance=AttendanceCode.ATTENDED_ON_TIME,
                                 intervention=intervention, note=note)
        if rng.random() < 0.05:
            contact.attendance = AttendanceCode.ARRIVED_LATE_SEEN
        at_risk = index < course.risk_contacts
        if index > 0 and not last and not at_risk and rng.random() < 0.04:
            contact.not_collected = rng.choice(list(NotCollectedReason))
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
            wsas = _clamp(phq * 1.2 + rng.gauss(0, 3), 0, 40)
            if course.retired:
                contact.wsas = [NOT_APPLICABLE, *spread_items(rng, wsas, 4, 8)]
            else:
                contact.wsas = list(spread_items(rng, wsas, 5, 8))
        if item9:
            level = {1: (RiskLevel.LOW, RiskLevel.LOW, RiskLevel.MODERATE),
                     2: (RiskLevel.MODERATE, RiskLevel.MODERATE, RiskLevel.HIGH),
                     3: (RiskLevel.HIGH, RiskLevel.MODERATE)}[item9]
            contact.risk_level = rng.choice(level)
            contact.risk_factors = f"{rng.choice(RISK_FACTORS)}. {rng.choice(RISK_PROTECTIVE)}"
            contact.risk_action = RISK_ACTIONS[contact.risk_level]
        elif index == 0:
            contact.risk_level = RiskLevel.NONE
            contact.risk_factors = "No thoughts of self-harm reported."
        elif course.risk_contacts and index == course.risk_contacts:
            contact.risk_level = RiskLevel.LOW
            contact.risk_factors = "Risk reviewed: no current thoughts of self-harm."
            contact.risk_action = "Safety plan kept in place."
        return contact

    def missed(self, moment: datetime, contact_type: ContactType,
               mode: ContactMode) -> PlannedContact:
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
        return PlannedContact(at=moment, contact_type=contact_type, mode=mode, attendance=code,
                              note=rng.choice(CONTACT_NOTES[key]))

    def run_course(self, plan: PlannedEpisode, course: _Course, first_day: date, *,
                   attended: int, stop_before: date, first_type: ContactType,
                   mode: ContactMode) -> date | None:
        """Add up to ``attended`` attended contacts from ``first_day``, with misses
        sprinkled in, none on or after ``stop_before``; returns the last contact's day."""
        rng = self.rng
        day, index, last_day = first_day, 0, None
        while index < attended:
            moment = _at(day, rng)
            actual = _day(moment)
            if actual >= stop_before:
                break
            contact_type = first_type if index == 0 else ContactType.TREATMENT
            if rng.random() < 0.15:
                plan.contacts.append(self.missed(moment, contact_type, mode))
                day = actual + timedelta(days=rng.choice((3, 7, 7)))
            else:
                is_last = index == course.sessions - 1
                plan.contacts.append(
                    self.attended(plan, course, index, moment, contact_type, mode,
                                  last=is_last)
                )
                index += 1
                day = actual + timedelta(days=rng.choice((7, 7, 7, 10, 14)))
            last_day = actual
        return last_day

    def mode(self) -> ContactMode:
        return _weighted(self.rng, MODES)

    def first_type(self) -> ContactType:
        return (ContactType.ASSESSMENT_AND_TREATMENT if self.rng.random() < 0.65
                else ContactType.ASSESSMENT)

    def wait_days(self) -> int:
        rng = self.rng
        return rng.randint(45, 90) if rng.random() < 0.08 else rng.randint(5, 40)

    def booking(self, day: date, contact_type: ContactType, mode: ContactMode) -> PlannedContact:
        return PlannedContact(at=_at(day, self.rng), contact_type=contact_type, mode=mode,
                              attendance=AttendanceCode.BOOKED, note="")

    # Whole episodes

    def discharged(self, worker: int) -> PlannedEpisode:
        rng = self.rng
        ending = _weighted(rng, ENDINGS)
        risk = rng.random() < (0.16 if ending == "stepped_up" else 0.10)
        complex_ = rng.random() < (0.6 if ending == "assessment_only" else
                                   0.55 if risk else 0.26)
        if ending == "completed":
            kind = _weighted(rng, COMPLETED_KINDS)
            sessions = rng.choice((5, 6, 7, 7, 8, 8, 9, 10, 11, 12))
            attended = sessions
        elif ending == "dropped_out":
            kind, sessions = _weighted(rng, DROPOUT_KINDS), rng.randint(6, 8)
            attended = rng.choice((1, 2, 2, 3, 3))
        elif ending == "stepped_up":
            kind = _weighted(rng, STEPPED_UP_KINDS)
            sessions = attended = rng.randint(2, 4)
        else:
            kind, sessions, attended = "no_change", 1, 1
        span = attended * 12 + 30
        days_ago = round(rng.triangular(span + 20, PERIOD_DAYS, span + 20))
        referral_date = self.today - timedelta(days=days_ago)
        plan, age = self.episode(worker, referral_date, risk=risk, complex_=complex_)
        course = _course(rng, kind=kind, sessions=sessions, risk=risk, age=age,
                         problem=plan.referral.presenting_problem)
        mode = self.mode()
        first_type = ContactType.ASSESSMENT if ending == "assessment_only" else self.first_type()
        stop = self.today - timedelta(days=2)
        last = self.run_course(plan, course, referral_date + timedelta(days=self.wait_days()),
                               attended=attended, stop_before=stop, first_type=first_type,
                               mode=mode)
        if ending == "dropped_out" and last is not None:
            for _ in range(rng.randint(1, 2)):
                moment = _at(last + timedelta(days=7), rng)
                if _day(moment) >= stop:
                    break
                plan.contacts.append(PlannedContact(
                    at=moment, contact_type=ContactType.TREATMENT, mode=mode,
                    attendance=AttendanceCode.DID_NOT_ATTEND,
                    note=rng.choice(CONTACT_NOTES["dna"])))
                last = _day(moment)
        if ending == "assessment_only":
            reason = _weighted(rng, ASSESSMENT_ONLY_REASONS)
            if reason is DischargeReason.SIGNPOSTED:
                for contact in plan.contacts:
                    if contact.attendance.attended:
                        contact.intervention = Intervention.SIGNPOSTING
        else:
            reason = {"completed": DischargeReason.COMPLETED,
                      "dropped_out": DischargeReason.DROPPED_OUT,
                      "stepped_up": DischargeReason.STEPPED_UP}[ending]
        end = (last or referral_date) + timedelta(
            days=rng.randint(14, 28) if reason is DischargeReason.DROPPED_OUT else rng.randint(0, 7)
        )
        plan.discharge = (min(end, self.today - timedelta(days=1)), reason)
        return plan

    def active(self, worker: int, *, disengaging: bool) -> PlannedEpisode:
        rng = self.rng
        while True:
            risk = rng.random() < 0.12
            complex_ = rng.random() < (0.55 if risk else 0.28)
            kind = _weighted(rng, COMPLETED_KINDS)
            sessions = rng.choice((6, 7, 7, 8, 8, 9, 10))
            first_day = self.today - timedelta(
                days=rng.randint(40, 110) if disengaging else
                rng.randint(3, min(140, (sessions - 1) * 13))
            )
            referral_date = first_day - timedelta(days=self.wait_days())
            plan, age = self.episode(worker, referral_date, risk=risk, complex_=complex_)
            course = _course(rng, kind=kind, sessions=sessions, risk=risk, age=age,
                             problem=plan.referral.presenting_problem)
            mode = self.mode()
            stop = self.today - timedelta(days=rng.randint(29, 45) if disengaging else 0)
            last = self.run_course(plan, course, first_day, attended=sessions - 1,
                                   stop_before=stop, first_type=self.first_type(), mode=mode)
            recent = disengaging or (last is not None and last >= self.today - timedelta(21))
            if plan.treatment_started is not None and last is not None and recent:
                break
        if disengaging:
            for weeks in (1, 2):
                moment = _at(last + timedelta(days=7 * weeks), rng)
                if _day(moment) < self.today:
                    plan.contacts.append(PlannedContact(
                        at=moment, contact_type=ContactType.TREATMENT, mode=mode,
                        attendance=AttendanceCode.DID_NOT_ATTEND,
                        note=rng.choice(CONTACT_NOTES["dna"])))
        elif rng.random() < 0.8:
            day = max(self.today + timedelta(days=1), last + timedelta(days=7))
            plan.contacts.append(self.booking(day + timedelta(days=rng.randint(0, 6)),
                                              ContactType.TREATMENT, mode))
        return plan

    def waiting(self, worker: int) -> PlannedEpisode:
        rng = self.rng
        referral_date = self.today - timedelta(days=rng.randint(2, 56))
        risk = rng.random() < 0.08
        plan, age = self.episode(worker, referral_date, risk=risk,
                                 complex_=rng.random() < 0.3)
        mode = self.mode()
        roll = rng.random()
        assessment_day = referral_date + timedelta(days=rng.randint(1, 14))
        if roll < 0.35 and _day(_at(assessment_day, rng)) < self.today:
            course = _course(rng, kind="no_change", sessions=8, risk=risk, age=age,
                             problem=plan.referral.presenting_problem)
            self.run_course(plan, course, assessment_day, attended=1,
                            stop_before=self.today, first_type=ContactType.ASSESSMENT,
                            mode=mode)
            if rng.random() < 0.7:
                plan.contacts.append(self.booking(self.today + timedelta(days=rng.randint(1, 21)),
                                                  ContactType.TREATMENT, mode))
        elif roll < 0.45 and _day(_at(assessment_day, rng)) < self.today:
            plan.contacts.append(self.missed(_at(assessment_day, rng), ContactType.ASSESSMENT,
                                             mode))
            plan.contacts.append(self.booking(self.today + timedelta(days=rng.randint(1, 14)),
                                              ContactType.ASSESSMENT_AND_TREATMENT, mode))
        elif rng.random() < 0.5:
            plan.contacts.append(self.booking(self.today + timedelta(days=rng.randint(1, 28)),
                                              ContactType.ASSESSMENT_AND_TREATMENT, mode))
        return plan

    def needs_outcome(self, plan: PlannedEpisode) -> bool:
        """Add a booking whose time has passed with no outcome recorded, if one fits."""
        held = [c for c in plan.contacts if c.attendance != AttendanceCode.BOOKED]
        day = _previous_weekday(self.today - timedelta(days=self.rng.randint(1, 3)))
        if not held or _day(held[-1].at) >= day - timedelta(days=2):
            return False
        moment = _at(day, self.rng)
        plan.contacts.append(PlannedContact(
            at=moment, contact_type=ContactType.TREATMENT, mode=held[-1].mode,
            attendance=AttendanceCode.BOOKED, booked_at=moment - timedelta(days=7)))
        return True

    # The service

    def plan(self) -> tuple[list[PlannedEpisode], list[PlannedNote]]:
        """Every episode (sorted by referral date) and every reflective note."""
        rng = self.rng
        scale = self.clients / DEFAULT_CLIENTS
        active = [round(t * scale) for t in ACTIVE_TARGETS]
        waiting = [max(1, round(t * scale)) for t in WAITING_TARGETS]
        while sum(active) + sum(waiting) > 0.7 * self.clients and sum(active):
            active = [max(0, a - 1) for a in active]
        episodes: list[PlannedEpisode] = []
        for worker, count in enumerate(active):
            for _ in range(count):
                episodes.append(self.active(worker, disengaging=rng.random() < 0.08))
        needs_outcome = max(1, round(2 * scale))
        for plan in episodes:
            if needs_outcome and not any(c.booked_at for c in plan.contacts) \
                    and self.needs_outcome(plan):
                needs_outcome -= 1
        for worker, count in enumerate(waiting):
            episodes.extend(self.waiting(worker) for _ in range(count))
        rest = max(0, self.clients - len(episodes))
        for _ in range(rest):
            worker = rng.choices(range(len(ACTIVE_TARGETS)), weights=ACTIVE_TARGETS)[0]
            episodes.append(self.discharged(worker))
        episodes = episodes[: self.clients]
        episodes.sort(key=lambda e: e.referral.referral_date)
        for plan in episodes:
            plan.contacts.sort(key=lambda c: c.at)
        return episodes, self.notes(episodes)

    def notes(self, episodes: list[PlannedEpisode]) -> list[PlannedNote]:
        rng = self.rng
        notes: list[PlannedNote] = []
        for worker in range(len(WORKERS)):
            own = [i for i, e in enumerate(episodes) if e.worker == worker]
            # Notes come more often as the caseload fills (the service opened in the period).
            days = sorted(
                _previous_weekday(self.today - timedelta(days=round(
                    rng.triangular(2, PERIOD_DAYS, 2))))
                for _ in range(rng.randint(8, 15))
            )
            for day in days:
                caseload = sum(episodes[i].active_on(day) for i in own)
                themes = [rng.choice(list(ReflectiveTheme))]
                if caseload >= 25 and rng.random() < 0.7:
                    themes.insert(0, rng.choice(LOAD_THEMES))
                if day < self.today - timedelta(days=PERIOD_DAYS - 120) and rng.random() < 0.6:
                    themes.insert(0, rng.choice((ReflectiveTheme.NEW_ROLE,
                                                 ReflectiveTheme.TRAINING_INTENSITY)))
                themes = list(dict.fromkeys(themes))[:3]
                text = " ".join(rng.choice(NOTE_TEXTS[t]) for t in themes[:2])
                manageability = _clamp(5.4 - caseload / 9 + rng.gauss(0, 0.5), 1, 5)
                linked = None
                candidates = [i for i in own if episodes[i].referral.referral_date <= day]
                if ReflectiveTheme.ROLE_CONFUSION in themes:
                    candidates = [i for i in candidates
                                  if episodes[i].referral.referrer_expectation == "Counselling"]
                if candidates and (ReflectiveTheme.ROLE_CONFUSION in themes
                                   or rng.random() < 0.3):
                    linked = rng.choice(candidates[-15:])
                moment = datetime.combine(day, time(17, rng.choice((0, 15, 30))),
                                          tzinfo=LONDON).astimezone(UTC)
                notes.append(PlannedNote(
                    worker=worker, at=moment, text=text, themes=tuple(themes),
                    manageability=manageability, shared=rng.random() < 0.4,
                    caseload=caseload, episode=linked,
                ))
        return notes


def plan_demo_service(*, seed: int = DEFAULT_SEED, today: date, now: datetime,
                      clients: int = DEFAULT_CLIENTS
                      ) -> tuple[list[PlannedEpisode], list[PlannedNote]]:
    """The demo service as plain data: the same seed, day and size always give the same plan."""
    return _Planner(random.Random(seed), today=today, now=now, clients=clients).plan()


def demo_workers() -> list[User]:
    """The demo workers in order (worker1 first); ServiceError when the staff is missing."""
    names = [username for username, _ in WORKERS]
    found = {
        u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))
    }
    if set(found) != set(names):
        raise ServiceError("Build the demo staff before the demo caseload.")
    return [found[name] for name in names]


def _write_episode(plan: PlannedEpisode, worker: User, *, today: date, now: datetime) -> int:
    episode = register_client(
        worker, details=plan.details, referral=plan.referral,
        consented=plan.consented_first, consent_note=plan.consent_note,
        today=today, worker=worker,
    )
    first_seen = plan.contacts[0].at if plan.contacts else datetime.combine(
        plan.referral.referral_date, time(9), tzinfo=LONDON).astimezone(UTC)
    # Demo history: the consent was recorded at the first contact, not at seeding time.
    episode.client.consent_records[0].recorded_at = min(first_seen, now)
    held = [c for c in plan.contacts if c.attendance.attended]
    for contact in plan.contacts:
        log_contact(worker, episode, contact.as_input(), now=contact.booked_at or now)
    if plan.consent_change is not None:
        consented, note = plan.consent_change
        record = set_consent(worker, episode.client, consented=consented, note=note)
        record.recorded_at = held[min(2, len(held) - 1)].at if held else min(first_seen, now)
    if plan.discharge is not None:
        discharged_on, reason = plan.discharge
        discharge(worker, episode, reason=reason, discharged_on=discharged_on,
                  note=DISCHARGE_NOTES[reason], today=today)
    return episode.id


def build_demo_service(
    *,
    today: date,
    now: datetime,
    seed: int = DEFAULT_SEED,
    clients: int = DEFAULT_CLIENTS,
    progress: Callable[[int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    checkpoint_every: int = 100,
) -> DemoSummary:
    """Fill the demo staff's caseloads with synthetic clients, contacts and notes.

    Everything is written through the services (rules, summaries, audit), then
    the expected curves are rebuilt. ``progress`` is called with 1 per client;
    ``checkpoint`` (e.g. a commit) every ``checkpoint_every`` clients. Flushes;
    the caller commits.
    """
    workers = demo_workers()
    episodes, notes = plan_demo_service(seed=seed, today=today, now=now, clients=clients)
    episode_ids: list[int] = []
    for number, plan in enumerate(episodes, start=1):
        episode_ids.append(_write_episode(plan, workers[plan.worker], today=today, now=now))
        if progress is not None:
            progress(1)
        if checkpoint is not None and number % checkpoint_every == 0:
            checkpoint()
    for planned in notes:
        note = write_note(
            workers[planned.worker], text=planned.text, themes=planned.themes,
            episode_id=None if planned.episode is None else episode_ids[planned.episode],
            manageability=planned.manageability, shared_with_supervisor=planned.shared,
        )
        # write_note records today's caseload and time; a demo note written in the past
        # gets the time it was written and the author's active caseload on that day.
        note.written_at = planned.at
        note.caseload_at_writing = planned.caseload
    curve_episodes = rebuild_expected_curves()
    return summarise_demo(workers, curve_episodes=curve_episodes)


def summarise_demo(workers: Sequence[User], *, curve_episodes: int) -> DemoSummary:
    """Count what the demo holds, with national outcomes of its discharged episodes."""
    db.session.flush()
    discharged = list(db.session.scalars(
        select(Episode).options(joinedload(Episode.summary))
        .where(Episode.discharged_on.is_not(None))
    ))
    outcomes = [outcome_for(e) for e in discharged]
    finished = [o for o in outcomes if o.finished_treatment and o.caseness_at_start]
    treating = case((EpisodeSummary.treatment_contacts > 0, 1), else_=0)
    open_rows = db.session.execute(
        select(Episode.worker_id, func.sum(treating), func.count(Episode.id))
        .join(EpisodeSummary, EpisodeSummary.episode_id == Episode.id)
        .where(Episode.discharged_on.is_(None))
        .group_by(Episode.worker_id)
    ).all()
    by_id = {w.id: w.username for w in workers}
    active = dict.fromkeys(by_id.values(), 0)
    waiting = dict.fromkeys(by_id.values(), 0)
    for worker_id, in_treatment, count in open_rows:
        active[by_id[worker_id]] = int(in_treatment or 0)
        waiting[by_id[worker_id]] = count - int(in_treatment or 0)
    return DemoSummary(
        clients=db.session.scalar(select(func.count(Client.id))) or 0,
        contacts=db.session.scalar(select(func.count(Contact.id))) or 0,
        discharged=len(discharged),
        finished_at_caseness=len(finished),
        recovered=sum(o.recovered for o in finished),
        reliably_deteriorated=sum(o.reliable_deterioration for o in outcomes
                                  if o.finished_treatment),
        notes=db.session.scalar(select(func.count(ReflectiveNote.id))) or 0,
        curve_episodes=curve_episodes,
        active_by_worker=active,
        waiting_by_worker=waiting,
    )
