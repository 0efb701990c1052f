"""The demo service's shape in numbers: its size, period, targets and weighted choices.

Each weight table is drawn from in its written order, so reordering one
changes the service a seed gives. The words live in ``seed_data/demo``.
"""

from __future__ import annotations

from caseload.domain.codes import (
    ComplexityFactor,
    ContactMode,
    DischargeReason,
    ReferralSource,
    ReflectiveTheme,
    SupervisionDecision,
)
from caseload.domain.flags import FlagKind

DEFAULT_SEED = 2009
DEFAULT_CLIENTS = 1300
#: The service size the caseload targets below are written for. A smaller demo scales
#: them down; a larger one keeps them and has a longer history of discharged episodes
#: (enough for the lead's monthly figures to survive disclosure control).
TARGETS_CLIENTS = 600
#: The period the demo covers, ending today (about 26 months: the lead's dashboard shows
#: the last 24 complete months, each with referrals, treatment and discharges).
PERIOD_DAYS = 790

#: Open, in-treatment cases per worker at the end, for TARGETS_CLIENTS: worker1 sits above
#: the cap of 45 that Rizq et al. (2009) reported; most hold 20-35.
ACTIVE_TARGETS = (48, 38, 33, 30, 28, 26, 23, 21)
#: How the team grew: referrals older than the first number of days were taken by the first
#: practitioners only (the second number), oldest rule first; a practitioner writes
#: reflective notes from the day they joined. The demo holds far fewer referrals than a
#: real service, so the early practitioners carry its history at a real step-2 load (30-50
#: active cases) and the later ones build their caseloads from none: past weeks range from
#: light to over the cap, across enough practitioners for the findings view to compare.
TEAM_GROWTH = ((480, 2), (300, 3), (180, 5), (120, 6))
#: Discharged courses: a steady flow of referrals over the whole period (so every month of
#: the lead's dashboard has discharges enough to show), and this share of them more in the
#: last RECENT_DAYS, oftener the nearer today, as the service grew.
RECENT_SHARE = 0.5
RECENT_DAYS = 450
#: Open cases still waiting for their first treatment contact, per worker.
WAITING_TARGETS = (9, 7, 6, 6, 5, 5, 4, 4)

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
MODES = {
    ContactMode.TELEPHONE: 55,
    ContactMode.VIDEO: 17,
    ContactMode.FACE_TO_FACE: 18,
    ContactMode.DIGITAL: 7,
    ContactMode.GROUP: 3,
}

#: Shares of courses whose second treatment contact comes over 28 days after the first,
#: and over 90 days (the national "hidden waits").
HIDDEN_WAIT_OVER_28 = 0.32
HIDDEN_WAIT_OVER_90 = 0.06

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

#: Themes that heavier caseloads write about more (Rizq et al., 2009).
LOAD_THEMES = (
    ReflectiveTheme.EMOTIONAL_IMPACT,
    ReflectiveTheme.RISK_AND_COMPLEXITY,
    ReflectiveTheme.SUPERVISION_SUPPORT,
    ReflectiveTheme.TRAINING_VS_COMPLEXITY,
)

#: Case-management supervision: weekly sessions with each worker over the last weeks
#: (about an hour a week per worker, often under three minutes a case; issue 9).
SUPERVISION_WEEKS = 13
#: The history stops this many days before today: every red case is then due a review
#: (7 days), and the supervisor who signs in finds this week's queue waiting.
SUPERVISION_ENDS_DAYS = 7
#: A week without a session (leave, sickness, a training day), per worker and week.
SESSION_SKIPPED = 0.1
#: How long a session runs, in minutes (drawn uniformly), and how long a case takes by
#: the colour of its most severe flag to discuss.
SESSION_MINUTES = (35, 60)
CASE_MINUTES = {"red": (3.0, 7.0), "amber": (1.5, 4.0), "info": (1.0, 2.0)}
#: A case opened in a session without a review being recorded (talked about, not decided).
OPENED_NOT_REVIEWED = 0.08
#: A supervisor checking the queue between sessions, per team and week, and how many red
#: cases with new evidence they then review there and then.
CHECK_BETWEEN_SESSIONS = 0.7
CHECK_REVIEWS = 2
#: Cases moved from each team's heaviest caseload to its lightest, for the full demo.
REASSIGNMENTS_PER_TEAM = 2

_ROUTINE = {SupervisionDecision.CONTINUE: 85, SupervisionDecision.OTHER: 15}
#: The decision a review makes, by the kind of the most severe flag it discussed.
REVIEW_DECISIONS: dict[FlagKind, dict[SupervisionDecision, int]] = {
    FlagKind.RISK: {
        SupervisionDecision.REVIEW_RISK: 70,
        SupervisionDecision.STEP_UP: 15,
        SupervisionDecision.CONTINUE: 15,
    },
    FlagKind.DETERIORATION: {
        SupervisionDecision.STEP_UP: 45,
        SupervisionDecision.CHANGE_INTERVENTION: 35,
        SupervisionDecision.REVIEW_RISK: 20,
    },
    FlagKind.SEVERE_AT_ENTRY: {
        SupervisionDecision.CONTINUE: 55,
        SupervisionDecision.STEP_UP: 45,
    },
    FlagKind.NOT_ON_TRACK: {
        SupervisionDecision.CHANGE_INTERVENTION: 50,
        SupervisionDecision.STEP_UP: 25,
        SupervisionDecision.CONTINUE: 25,
    },
    FlagKind.COMPLEXITY: {
        SupervisionDecision.CONTINUE: 50,
        SupervisionDecision.SIGNPOST: 40,
        SupervisionDecision.OTHER: 10,
    },
    FlagKind.DISENGAGING: {
        SupervisionDecision.CONTINUE: 45,
        SupervisionDecision.DISCHARGE: 35,
        SupervisionDecision.OTHER: 20,
    },
    FlagKind.LONG_TREATMENT: {
        SupervisionDecision.CONTINUE: 40,
        SupervisionDecision.DISCHARGE: 35,
        SupervisionDecision.STEP_UP: 25,
    },
    FlagKind.INCOMPLETE_QUESTIONNAIRES: _ROUTINE,
    FlagKind.MISSING_MEASURES: _ROUTINE,
    FlagKind.REVIEW_OVERDUE: {
        SupervisionDecision.CONTINUE: 80,
        SupervisionDecision.CHANGE_INTERVENTION: 10,
        SupervisionDecision.OTHER: 10,
    },
}
