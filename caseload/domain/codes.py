"""The clinical vocabulary: every coded value caseload stores, with a label each.

String enums have stable lowercase values so they can live in a database
column; labels are for people and may be reworded without a migration.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class AttendanceCode(IntEnum):
    """Attendance of a contact, as the NHS Data Dictionary ATTENDED OR DID NOT ATTEND.

    Code 1 of the national list is not used here; 0 is a local "booked"
    state for a contact whose outcome has not been recorded yet.
    """

    BOOKED = 0
    CANCELLED_BY_PATIENT = 2
    DID_NOT_ATTEND = 3
    CANCELLED_BY_PROVIDER = 4
    ATTENDED_ON_TIME = 5
    ARRIVED_LATE_SEEN = 6
    ARRIVED_LATE_NOT_SEEN = 7

    @property
    def label(self) -> str:
        """Human label."""
        return _ATTENDANCE_LABELS[self]

    @property
    def attended(self) -> bool:
        """True when the client was seen (codes 5 and 6)."""
        return self in (AttendanceCode.ATTENDED_ON_TIME, AttendanceCode.ARRIVED_LATE_SEEN)

    @property
    def is_dna(self) -> bool:
        """True for a client non-attendance: did not attend (3), arrived late not seen (7)."""
        return self in (AttendanceCode.DID_NOT_ATTEND, AttendanceCode.ARRIVED_LATE_NOT_SEEN)


_ATTENDANCE_LABELS: dict[AttendanceCode, str] = {
    AttendanceCode.BOOKED: "Booked, outcome not yet recorded",
    AttendanceCode.CANCELLED_BY_PATIENT: "Cancelled by patient",
    AttendanceCode.DID_NOT_ATTEND: "Did not attend",
    AttendanceCode.CANCELLED_BY_PROVIDER: "Cancelled by provider",
    AttendanceCode.ATTENDED_ON_TIME: "Attended on time",
    AttendanceCode.ARRIVED_LATE_SEEN: "Arrived late but was seen",
    AttendanceCode.ARRIVED_LATE_NOT_SEEN: "Arrived late and could not be seen",
}


class ContactType(StrEnum):
    """What a contact was for.

    ``is_treatment`` is true for treatment and for assessment-and-treatment
    contacts: an assessment that also delivers treatment counts towards the
    two treatment contacts of "finished a course of treatment". A pure
    assessment, a review and a follow-up do not.
    """

    ASSESSMENT = "assessment"
    ASSESSMENT_AND_TREATMENT = "assessment_and_treatment"
    TREATMENT = "treatment"
    REVIEW = "review"
    FOLLOW_UP = "follow_up"

    @property
    def label(self) -> str:
        """Human label."""
        return _CONTACT_TYPE_LABELS[self]

    @property
    def is_treatment(self) -> bool:
        """True when the contact counts as a treatment contact."""
        return self in (ContactType.TREATMENT, ContactType.ASSESSMENT_AND_TREATMENT)


_CONTACT_TYPE_LABELS: dict[ContactType, str] = {
    ContactType.ASSESSMENT: "Assessment",
    ContactType.ASSESSMENT_AND_TREATMENT: "Assessment and treatment",
    ContactType.TREATMENT: "Treatment",
    ContactType.REVIEW: "Review",
    ContactType.FOLLOW_UP: "Follow-up",
}


class ContactMode(StrEnum):
    """How a contact was delivered."""

    FACE_TO_FACE = "face_to_face"
    TELEPHONE = "telephone"
    VIDEO = "video"
    GROUP = "group"
    DIGITAL = "digital"

    @property
    def label(self) -> str:
        """Human label."""
        return _CONTACT_MODE_LABELS[self]


_CONTACT_MODE_LABELS: dict[ContactMode, str] = {
    ContactMode.FACE_TO_FACE: "Face to face",
    ContactMode.TELEPHONE: "Telephone",
    ContactMode.VIDEO: "Video",
    ContactMode.GROUP: "Group",
    ContactMode.DIGITAL: "Digital (guided online)",
}


class RiskLevel(StrEnum):
    """A worker's rating of risk at a contact."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"

    @property
    def label(self) -> str:
        """Human label."""
        return _RISK_LABELS[self]


_RISK_LABELS: dict[RiskLevel, str] = {
    RiskLevel.NONE: "No apparent risk",
    RiskLevel.LOW: "Low",
    RiskLevel.MODERATE: "Moderate",
    RiskLevel.HIGH: "High",
}


class ComplexityFactor(StrEnum):
    """A recorded factor outside the usual step-2 (mild to moderate) remit."""

    BEREAVEMENT = "bereavement"
    RELATIONSHIP_BREAKDOWN = "relationship_breakdown"
    HOUSING = "housing"
    DEBT = "debt"
    DRUGS_ALCOHOL = "drugs_alcohol"
    TRAUMA = "trauma"
    SAFEGUARDING = "safeguarding"
    LONG_TERM_CONDITION = "long_term_condition"
    PREVIOUS_SECONDARY_CARE = "previous_secondary_care"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Human label."""
        return _COMPLEXITY_LABELS[self]


_COMPLEXITY_LABELS: dict[ComplexityFactor, str] = {
    ComplexityFactor.BEREAVEMENT: "Bereavement",
    ComplexityFactor.RELATIONSHIP_BREAKDOWN: "Relationship breakdown",
    ComplexityFactor.HOUSING: "Housing",
    ComplexityFactor.DEBT: "Debt",
    ComplexityFactor.DRUGS_ALCOHOL: "Drug or alcohol use",
    ComplexityFactor.TRAUMA: "Trauma",
    ComplexityFactor.SAFEGUARDING: "Safeguarding",
    ComplexityFactor.LONG_TERM_CONDITION: "Long-term physical health condition",
    ComplexityFactor.PREVIOUS_SECONDARY_CARE: "Previous secondary mental health care",
    ComplexityFactor.OTHER: "Other complexity",
}


class ReferralSource(StrEnum):
    """Who referred the client."""

    GP = "gp"
    SELF = "self"
    OTHER_HEALTH_PROFESSIONAL = "other_health_professional"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Human label."""
        return _REFERRAL_SOURCE_LABELS[self]


_REFERRAL_SOURCE_LABELS: dict[ReferralSource, str] = {
    ReferralSource.GP: "GP",
    ReferralSource.SELF: "Self-referral",
    ReferralSource.OTHER_HEALTH_PROFESSIONAL: "Other health professional",
    ReferralSource.OTHER: "Other",
}


class Intervention(StrEnum):
    """The low-intensity intervention delivered at a contact."""

    GUIDED_SELF_HELP = "guided_self_help"
    BEHAVIOURAL_ACTIVATION = "behavioural_activation"
    PSYCHOEDUCATION = "psychoeducation"
    SIGNPOSTING = "signposting"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Human label."""
        return _INTERVENTION_LABELS[self]


_INTERVENTION_LABELS: dict[Intervention, str] = {
    Intervention.GUIDED_SELF_HELP: "Guided self-help",
    Intervention.BEHAVIOURAL_ACTIVATION: "Behavioural activation",
    Intervention.PSYCHOEDUCATION: "Psychoeducation",
    Intervention.SIGNPOSTING: "Signposting",
    Intervention.OTHER: "Other",
}


class DischargeReason(StrEnum):
    """Why an episode ended."""

    COMPLETED = "completed"
    DROPPED_OUT = "dropped_out"
    STEPPED_UP = "stepped_up"
    SIGNPOSTED = "signposted"
    DECLINED = "declined"
    NOT_SUITABLE = "not_suitable"

    @property
    def label(self) -> str:
        """Human label."""
        return _DISCHARGE_LABELS[self]


_DISCHARGE_LABELS: dict[DischargeReason, str] = {
    DischargeReason.COMPLETED: "Completed treatment",
    DischargeReason.DROPPED_OUT: "Dropped out",
    DischargeReason.STEPPED_UP: "Stepped up",
    DischargeReason.SIGNPOSTED: "Signposted elsewhere",
    DischargeReason.DECLINED: "Declined treatment",
    DischargeReason.NOT_SUITABLE: "Not suitable for the service",
}


class NotCollectedReason(StrEnum):
    """Why the measures were not collected at an attended contact."""

    DECLINED = "declined"
    NOT_APPROPRIATE = "not_appropriate"
    NO_TIME = "no_time"

    @property
    def label(self) -> str:
        """Human label."""
        return _NOT_COLLECTED_LABELS[self]


_NOT_COLLECTED_LABELS: dict[NotCollectedReason, str] = {
    NotCollectedReason.DECLINED: "Client declined",
    NotCollectedReason.NOT_APPROPRIATE: "Not appropriate at this contact",
    NotCollectedReason.NO_TIME: "No time in the session",
}


class EpisodeStatus(StrEnum):
    """Where an episode of care is."""

    WAITING = "waiting"
    IN_TREATMENT = "in_treatment"
    DISCHARGED = "discharged"

    @property
    def label(self) -> str:
        """Human label."""
        return _EPISODE_STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """True until the episode is discharged."""
        return self is not EpisodeStatus.DISCHARGED


_EPISODE_STATUS_LABELS: dict[EpisodeStatus, str] = {
    EpisodeStatus.WAITING: "Waiting",
    EpisodeStatus.IN_TREATMENT: "In treatment",
    EpisodeStatus.DISCHARGED: "Discharged",
}


class ReflectiveTheme(StrEnum):
    """Themes of a worker's reflective note, following the domains of Rizq et al. (2009)."""

    NEW_ROLE = "new_role"
    TRAINING_INTENSITY = "training_intensity"
    RECOGNITION = "recognition"
    TRAINING_VS_COMPLEXITY = "training_vs_complexity"
    CLINICAL_CONFIDENCE = "clinical_confidence"
    EMOTIONAL_IMPACT = "emotional_impact"
    RISK_AND_COMPLEXITY = "risk_and_complexity"
    ROLE_CONFUSION = "role_confusion"
    DATA_COLLECTION = "data_collection"
    SUPERVISION_SUPPORT = "supervision_support"
    CAREER_PROGRESSION = "career_progression"

    @property
    def label(self) -> str:
        """Human label."""
        return _THEME_LABELS[self]


_THEME_LABELS: dict[ReflectiveTheme, str] = {
    ReflectiveTheme.NEW_ROLE: "Excitement and anxiety in a new role",
    ReflectiveTheme.TRAINING_INTENSITY: "Training intensity",
    ReflectiveTheme.RECOGNITION: "Wanting recognition",
    ReflectiveTheme.TRAINING_VS_COMPLEXITY: "Training versus real-life complexity",
    ReflectiveTheme.CLINICAL_CONFIDENCE: "Clinical confidence",
    ReflectiveTheme.EMOTIONAL_IMPACT: "Emotional impact of client work",
    ReflectiveTheme.RISK_AND_COMPLEXITY: "Risk and complexity",
    ReflectiveTheme.ROLE_CONFUSION: "Role confusion",
    ReflectiveTheme.DATA_COLLECTION: "Data collection",
    ReflectiveTheme.SUPERVISION_SUPPORT: "Supervision and support",
    ReflectiveTheme.CAREER_PROGRESSION: "Career and progression",
}


class SupervisionDecision(StrEnum):
    """What a supervision review decided for a case."""

    CONTINUE = "continue"
    STEP_UP = "step_up"
    SIGNPOST = "signpost"
    DISCHARGE = "discharge"
    REVIEW_RISK = "review_risk"

    @property
    def label(self) -> str:
        """Human label."""
        return _DECISION_LABELS[self]


_DECISION_LABELS: dict[SupervisionDecision, str] = {
    SupervisionDecision.CONTINUE: "Continue",
    SupervisionDecision.STEP_UP: "Step up",
    SupervisionDecision.SIGNPOST: "Signpost",
    SupervisionDecision.DISCHARGE: "Discharge",
    SupervisionDecision.REVIEW_RISK: "Review risk",
}


class Severity(StrEnum):
    """How urgently a flag needs attention.

    ``rank`` is a sort key: 0 for red (most urgent), 1 for amber, 2 for info,
    so ``sorted(flags, key=lambda f: f.severity.rank)`` puts red first.
    """

    RED = "red"
    AMBER = "amber"
    INFO = "info"

    @property
    def label(self) -> str:
        """Human label."""
        return _SEVERITY_LABELS[self]

    @property
    def rank(self) -> int:
        """Sort key, 0 for the most urgent."""
        return _SEVERITY_RANKS[self]


_SEVERITY_LABELS: dict[Severity, str] = {
    Severity.RED: "Red",
    Severity.AMBER: "Amber",
    Severity.INFO: "Information",
}

_SEVERITY_RANKS: dict[Severity, int] = {Severity.RED: 0, Severity.AMBER: 1, Severity.INFO: 2}


class Role(StrEnum):
    """A member of staff's one role (who may see what is decided in ``caseload.policy``)."""

    WORKER = "worker"
    SUPERVISOR = "supervisor"
    LEAD = "lead"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role as people say it."""
        return _ROLE_LABELS[self]


_ROLE_LABELS: dict[Role, str] = {
    Role.WORKER: "Practitioner",
    Role.SUPERVISOR: "Supervisor",
    Role.LEAD: "Service lead",
    Role.ADMIN: "Administrator",
}


class EntryStatus(StrEnum):
    """Whether a clinical entry is in force. Entries are never edited or deleted."""

    CURRENT = "current"
    SUPERSEDED = "superseded"
    ENTERED_IN_ERROR = "entered_in_error"

    @property
    def label(self) -> str:
        """Human label."""
        return _ENTRY_STATUS_LABELS[self]


_ENTRY_STATUS_LABELS: dict[EntryStatus, str] = {
    EntryStatus.CURRENT: "Current",
    EntryStatus.SUPERSEDED: "Corrected",
    EntryStatus.ENTERED_IN_ERROR: "Entered in error",
}
