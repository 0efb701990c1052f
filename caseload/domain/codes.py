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

#: The presenting problems a referral records (the form's choices; stored as text).
PRESENTING_PROBLEMS: tuple[str, ...] = (
    "Depression",
    "Generalised anxiety disorder",
    "Mixed anxiety and depressive disorder",
    "Panic disorder",
    "Health anxiety",
    "Social anxiety disorder",
    "Specific phobia",
    "Obsessive-compulsive disorder",
    "Post-traumatic stress disorder",
    "Other",
)

#: What the referrer led the client to expect (the form's choices; stored as text).
REFERRER_EXPECTATIONS: tuple[str, ...] = (
    "Guided self-help (low-intensity CBT)",
    "Counselling",
    "Longer-term or high-intensity therapy",
    "Medication review",
    "Not discussed or not known",
)


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
    """Why the measures were not collected at an attended contact, or why a questionnaire
    that was started was left unfinished. "Other" always comes with a few words."""

    DECLINED = "declined"
    NOT_APPROPRIATE = "not_appropriate"
    NO_TIME = "no_time"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Human label."""
        return _NOT_COLLECTED_LABELS[self]

    @property
    def needs_note(self) -> bool:
        """True when the reason means nothing without the worker's own words ("other")."""
        return self is NotCollectedReason.OTHER


_NOT_COLLECTED_LABELS: dict[NotCollectedReason, str] = {
    NotCollectedReason.DECLINED: "Client declined",
    NotCollectedReason.NOT_APPROPRIATE: "Not appropriate at this contact",
    NotCollectedReason.NO_TIME: "No time in the session",
    NotCollectedReason.OTHER: "Other reason",
}

#: The reasons offered for a questionnaire that was started and left unfinished
#: (declined, ran out of time, or other with a short text).
INCOMPLETE_REASONS = (
    NotCollectedReason.DECLINED,
    NotCollectedReason.NO_TIME,
    NotCollectedReason.OTHER,
)


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
    """What a supervision review decided for a case (docs/supervisor-guide.md)."""

    CONTINUE = "continue"
    CHANGE_INTERVENTION = "change_intervention"
    STEP_UP = "step_up"
    SIGNPOST = "signpost"
    DISCHARGE = "discharge"
    REVIEW_RISK = "review_risk"
    OTHER = "other"

    @property
    def label(self) -> str:
        """Human label."""
        return _DECISION_LABELS[self]


_DECISION_LABELS: dict[SupervisionDecision, str] = {
    SupervisionDecision.CONTINUE: "Continue as planned",
    SupervisionDecision.CHANGE_INTERVENTION: "Change the intervention",
    SupervisionDecision.STEP_UP: "Step up to high intensity",
    SupervisionDecision.SIGNPOST: "Signpost or refer on",
    SupervisionDecision.DISCHARGE: "Discharge",
    SupervisionDecision.REVIEW_RISK: "Review risk",
    SupervisionDecision.OTHER: "Other (say in the note)",
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


# Registration to the national dataset ---------------------------------------------------
#
# The codes below are those of the NHS Data Dictionary data elements the NHS Talking
# Therapies for anxiety and depression dataset (IAPT v2) collects about the person.
# Each enum keeps our stable lowercase value in the database and gives the national
# code through ``national_code``, so an export can write the dataset's code without
# storing it twice. Labels follow the Data Dictionary's wording, shortened where a
# worker reads them on a form. Sources:
#
# - ETHNIC CATEGORY: https://www.datadictionary.nhs.uk/data_elements/ethnic_category.html
# - GENDER IDENTITY CODE: https://www.datadictionary.nhs.uk/data_elements/gender_identity_code.html
# - EMPLOYMENT STATUS: https://www.datadictionary.nhs.uk/data_elements/employment_status.html
# - SEXUAL ORIENTATION CODE: https://www.datadictionary.nhs.uk/data_elements/sexual_orientation_code.html
#
# A question the client was asked and declined to answer is "not stated"; a question
# nobody asked is left empty (NULL) where the code list has no "not known" of its own.


class ConsentState(StrEnum):
    """The client's answer about central reporting (docs/design.md section 3).

    Only "yes" is reportable; "declined" and "not asked yet" both keep the record
    out of central reporting, but "not asked yet" reminds the worker to ask.
    """

    YES = "yes"
    DECLINED = "declined"
    NOT_ASKED = "not_asked"

    @property
    def label(self) -> str:
        """Human label."""
        return _CONSENT_STATE_LABELS[self]

    @property
    def reportable(self) -> bool:
        """True only for "yes": the one state that lets the record into central reporting."""
        return self is ConsentState.YES


_CONSENT_STATE_LABELS: dict[ConsentState, str] = {
    ConsentState.YES: "Yes",
    ConsentState.DECLINED: "Declined",
    ConsentState.NOT_ASKED: "Not asked yet",
}


class GenderIdentity(StrEnum):
    """NHS Data Dictionary GENDER IDENTITY CODE (codes 1-4, X, Z)."""

    MALE = "male"
    FEMALE = "female"
    NON_BINARY = "non_binary"
    OTHER = "other"
    NOT_KNOWN = "not_known"
    NOT_STATED = "not_stated"

    @property
    def label(self) -> str:
        """Human label."""
        return _GENDER_IDENTITY_LABELS[self][1]

    @property
    def national_code(self) -> str:
        """The Data Dictionary code."""
        return _GENDER_IDENTITY_LABELS[self][0]


_GENDER_IDENTITY_LABELS: dict[GenderIdentity, tuple[str, str]] = {
    GenderIdentity.MALE: ("1", "Male (including trans man)"),
    GenderIdentity.FEMALE: ("2", "Female (including trans woman)"),
    GenderIdentity.NON_BINARY: ("3", "Non-binary"),
    GenderIdentity.OTHER: ("4", "Other (not listed)"),
    GenderIdentity.NOT_KNOWN: ("X", "Not known (not asked)"),
    GenderIdentity.NOT_STATED: ("Z", "Not stated (asked, but preferred not to say)"),
}


class EthnicCategory(StrEnum):
    """NHS Data Dictionary ETHNIC CATEGORY (the 2001 census groups, codes A-S, Z and 99)."""

    WHITE_BRITISH = "white_british"
    WHITE_IRISH = "white_irish"
    WHITE_OTHER = "white_other"
    MIXED_WHITE_BLACK_CARIBBEAN = "mixed_white_black_caribbean"
    MIXED_WHITE_BLACK_AFRICAN = "mixed_white_black_african"
    MIXED_WHITE_ASIAN = "mixed_white_asian"
    MIXED_OTHER = "mixed_other"
    ASIAN_INDIAN = "asian_indian"
    ASIAN_PAKISTANI = "asian_pakistani"
    ASIAN_BANGLADESHI = "asian_bangladeshi"
    ASIAN_OTHER = "asian_other"
    BLACK_CARIBBEAN = "black_caribbean"
    BLACK_AFRICAN = "black_african"
    BLACK_OTHER = "black_other"
    CHINESE = "chinese"
    OTHER = "other"
    NOT_STATED = "not_stated"
    NOT_KNOWN = "not_known"

    @property
    def label(self) -> str:
        """Human label."""
        return _ETHNIC_CATEGORY_LABELS[self][1]

    @property
    def national_code(self) -> str:
        """The Data Dictionary code."""
        return _ETHNIC_CATEGORY_LABELS[self][0]


_ETHNIC_CATEGORY_LABELS: dict[EthnicCategory, tuple[str, str]] = {
    EthnicCategory.WHITE_BRITISH: ("A", "White: British"),
    EthnicCategory.WHITE_IRISH: ("B", "White: Irish"),
    EthnicCategory.WHITE_OTHER: ("C", "White: any other White background"),
    EthnicCategory.MIXED_WHITE_BLACK_CARIBBEAN: ("D", "Mixed: White and Black Caribbean"),
    EthnicCategory.MIXED_WHITE_BLACK_AFRICAN: ("E", "Mixed: White and Black African"),
    EthnicCategory.MIXED_WHITE_ASIAN: ("F", "Mixed: White and Asian"),
    EthnicCategory.MIXED_OTHER: ("G", "Mixed: any other mixed background"),
    EthnicCategory.ASIAN_INDIAN: ("H", "Asian or Asian British: Indian"),
    EthnicCategory.ASIAN_PAKISTANI: ("J", "Asian or Asian British: Pakistani"),
    EthnicCategory.ASIAN_BANGLADESHI: ("K", "Asian or Asian British: Bangladeshi"),
    EthnicCategory.ASIAN_OTHER: ("L", "Asian or Asian British: any other Asian background"),
    EthnicCategory.BLACK_CARIBBEAN: ("M", "Black or Black British: Caribbean"),
    EthnicCategory.BLACK_AFRICAN: ("N", "Black or Black British: African"),
    EthnicCategory.BLACK_OTHER: ("P", "Black or Black British: any other Black background"),
    EthnicCategory.CHINESE: ("R", "Other ethnic group: Chinese"),
    EthnicCategory.OTHER: ("S", "Other ethnic group: any other ethnic group"),
    EthnicCategory.NOT_STATED: ("Z", "Not stated (asked, but preferred not to say)"),
    EthnicCategory.NOT_KNOWN: ("99", "Not known (not asked)"),
}


class EmploymentStatus(StrEnum):
    """NHS Data Dictionary EMPLOYMENT STATUS (codes 01-08 and ZZ), as at referral."""

    EMPLOYED = "employed"
    UNEMPLOYED_SEEKING_WORK = "unemployed_seeking_work"
    STUDENT = "student"
    LONG_TERM_SICK_OR_DISABLED = "long_term_sick_or_disabled"
    HOMEMAKER = "homemaker"
    NOT_WORKING_NOT_SEEKING = "not_working_not_seeking"
    UNPAID_VOLUNTARY_WORK = "unpaid_voluntary_work"
    RETIRED = "retired"
    NOT_STATED = "not_stated"

    @property
    def label(self) -> str:
        """Human label."""
        return _EMPLOYMENT_STATUS_LABELS[self][1]

    @property
    def national_code(self) -> str:
        """The Data Dictionary code."""
        return _EMPLOYMENT_STATUS_LABELS[self][0]


_EMPLOYMENT_STATUS_LABELS: dict[EmploymentStatus, tuple[str, str]] = {
    EmploymentStatus.EMPLOYED: ("01", "Employed"),
    EmploymentStatus.UNEMPLOYED_SEEKING_WORK: ("02", "Unemployed and seeking work"),
    EmploymentStatus.STUDENT: ("03", "Student, not working or seeking work"),
    EmploymentStatus.LONG_TERM_SICK_OR_DISABLED: ("04", "Long-term sick or disabled"),
    EmploymentStatus.HOMEMAKER: ("05", "Looking after the family or home"),
    EmploymentStatus.NOT_WORKING_NOT_SEEKING: (
        "06",
        "Not working and not seeking work (no sickness or disability benefits)",
    ),
    EmploymentStatus.UNPAID_VOLUNTARY_WORK: ("07", "Unpaid voluntary work"),
    EmploymentStatus.RETIRED: ("08", "Retired"),
    EmploymentStatus.NOT_STATED: ("ZZ", "Not stated (asked, but preferred not to say)"),
}


class YesNoNotStated(StrEnum):
    """A yes-or-no question the client may decline to answer (a long-term physical health
    condition, a disability). The dataset codes them Y, N and Z."""

    YES = "yes"
    NO = "no"
    NOT_STATED = "not_stated"

    @property
    def label(self) -> str:
        """Human label."""
        return _YES_NO_LABELS[self][1]

    @property
    def national_code(self) -> str:
        """The dataset's code."""
        return _YES_NO_LABELS[self][0]


_YES_NO_LABELS: dict[YesNoNotStated, tuple[str, str]] = {
    YesNoNotStated.YES: ("Y", "Yes"),
    YesNoNotStated.NO: ("N", "No"),
    YesNoNotStated.NOT_STATED: ("Z", "Not stated (asked, but preferred not to say)"),
}


class SexualOrientation(StrEnum):
    """NHS Data Dictionary SEXUAL ORIENTATION CODE (codes 1-4, U and Z). Optional: a
    question nobody asked is left empty, which the dataset codes 9 ("not known")."""

    HETEROSEXUAL = "heterosexual"
    GAY_OR_LESBIAN = "gay_or_lesbian"
    BISEXUAL = "bisexual"
    OTHER = "other"
    UNSURE = "unsure"
    NOT_STATED = "not_stated"

    @property
    def label(self) -> str:
        """Human label."""
        return _SEXUAL_ORIENTATION_LABELS[self][1]

    @property
    def national_code(self) -> str:
        """The Data Dictionary code."""
        return _SEXUAL_ORIENTATION_LABELS[self][0]


_SEXUAL_ORIENTATION_LABELS: dict[SexualOrientation, tuple[str, str]] = {
    SexualOrientation.HETEROSEXUAL: ("1", "Heterosexual or straight"),
    SexualOrientation.GAY_OR_LESBIAN: ("2", "Gay or lesbian"),
    SexualOrientation.BISEXUAL: ("3", "Bisexual"),
    SexualOrientation.OTHER: ("4", "Other sexual orientation (not listed)"),
    SexualOrientation.UNSURE: ("U", "Asked, and does not know or is not sure"),
    SexualOrientation.NOT_STATED: ("Z", "Not stated (asked, but preferred not to say)"),
}
