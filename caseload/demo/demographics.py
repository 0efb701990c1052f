"""The demo clients' registration details: what the national dataset asks about them, how
to reach them and whom to call in an emergency.

Drawn from a generator of its own for each person, seeded by their name and date of
birth, so adding these details changes no other draw of the demo plan. The weights are
rough shapes of a Talking Therapies caseload (about two thirds women, most clients
working, a third with a long-term physical condition), not published figures.
"""

from __future__ import annotations

import random
from dataclasses import replace

from caseload.demo.draws import weighted
from caseload.demo.text import demo_text
from caseload.domain.codes import (
    ConsentState,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    SexualOrientation,
    YesNoNotStated,
)
from caseload.services.clients import ClientDetails, Demographics

GENDERS = {
    GenderIdentity.FEMALE: 64,
    GenderIdentity.MALE: 33,
    GenderIdentity.NON_BINARY: 1,
    GenderIdentity.NOT_STATED: 2,
}
ETHNIC_GROUPS = {
    EthnicCategory.WHITE_BRITISH: 72,
    EthnicCategory.WHITE_IRISH: 1,
    EthnicCategory.WHITE_OTHER: 6,
    EthnicCategory.MIXED_WHITE_BLACK_CARIBBEAN: 1,
    EthnicCategory.MIXED_WHITE_ASIAN: 1,
    EthnicCategory.MIXED_OTHER: 1,
    EthnicCategory.ASIAN_INDIAN: 3,
    EthnicCategory.ASIAN_PAKISTANI: 4,
    EthnicCategory.ASIAN_BANGLADESHI: 1,
    EthnicCategory.BLACK_AFRICAN: 2,
    EthnicCategory.BLACK_CARIBBEAN: 1,
    EthnicCategory.CHINESE: 1,
    EthnicCategory.OTHER: 1,
    EthnicCategory.NOT_STATED: 3,
    EthnicCategory.NOT_KNOWN: 2,
}
EMPLOYMENT = {
    EmploymentStatus.EMPLOYED: 52,
    EmploymentStatus.UNEMPLOYED_SEEKING_WORK: 11,
    EmploymentStatus.STUDENT: 6,
    EmploymentStatus.LONG_TERM_SICK_OR_DISABLED: 10,
    EmploymentStatus.HOMEMAKER: 5,
    EmploymentStatus.NOT_WORKING_NOT_SEEKING: 4,
    EmploymentStatus.UNPAID_VOLUNTARY_WORK: 1,
    EmploymentStatus.RETIRED: 3,
    EmploymentStatus.NOT_STATED: 3,
}
#: Sexual orientation is optional: None is "not asked".
ORIENTATIONS: dict[SexualOrientation | None, int] = {
    None: 35,
    SexualOrientation.HETEROSEXUAL: 55,
    SexualOrientation.GAY_OR_LESBIAN: 3,
    SexualOrientation.BISEXUAL: 3,
    SexualOrientation.UNSURE: 1,
    SexualOrientation.NOT_STATED: 3,
}
OTHER_LANGUAGES = ("Polish", "Urdu", "Punjabi", "Arabic", "Bengali", "Romanian")
RELATIONSHIPS = ("Partner", "Mother", "Father", "Sister", "Brother", "Friend", "Daughter", "Son")
#: Outward codes for the demo's made-up town (Leeds districts; any real postcode is chance).
OUTWARD_CODES = ("LS6", "LS7", "LS8", "LS9", "LS11", "LS12", "LS13", "LS15", "LS17")
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
#: Among clients who did not consent at registration, the share never asked (the rest declined).
NOT_ASKED_SHARE = 0.4


def _person_rng(details: ClientDetails, purpose: str) -> random.Random:
    return random.Random(f"{purpose} {details.name} {details.date_of_birth.isoformat()}")


def with_contact_details(details: ClientDetails) -> ClientDetails:
    """The person with a postcode, their GP's practice code, phone preferences and, for
    most, an emergency contact."""
    rng = _person_rng(details, "contact")
    text = demo_text()
    postcode = (
        f"{rng.choice(OUTWARD_CODES)} {rng.randrange(10)}"
        f"{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}"
    )
    practice = text.gp_practices.index(details.gp_practice) if details.gp_practice else 0
    emergency = rng.random() < 0.6
    family = details.name.rsplit(" ", 1)[-1] if rng.random() < 0.5 else rng.choice(text.last_names)
    return replace(
        details,
        postcode=postcode,
        gp_practice_code=f"B86{101 + practice:03d}",
        may_leave_message=bool(details.phone) and rng.random() < 0.7,
        sms_allowed=bool(details.phone) and rng.random() < 0.75,
        emergency_contact_name=f"{rng.choice(text.first_names)} {family}" if emergency else "",
        emergency_contact_relationship=rng.choice(RELATIONSHIPS) if emergency else "",
        emergency_contact_phone=f"07700 900{rng.randrange(1000):03d}" if emergency else "",
    )


def draw_demographics(details: ClientDetails, *, age: int) -> Demographics:
    """The dataset's answers for one demo client, shaped a little by age."""
    rng = _person_rng(details, "demographics")
    employment = weighted(rng, EMPLOYMENT)
    if age >= 66 and rng.random() < 0.8:
        employment = EmploymentStatus.RETIRED
    elif age <= 22 and rng.random() < 0.5:
        employment = EmploymentStatus.STUDENT
    condition = rng.random() < (0.5 if age >= 55 else 0.25)
    language = rng.choice(OTHER_LANGUAGES) if rng.random() < 0.04 else ""
    return Demographics(
        gender_identity=weighted(rng, GENDERS),
        ethnic_category=weighted(rng, ETHNIC_GROUPS),
        employment_status=employment,
        long_term_condition=(
            YesNoNotStated.NOT_STATED
            if rng.random() < 0.04
            else YesNoNotStated.YES
            if condition
            else YesNoNotStated.NO
        ),
        disability=weighted(
            rng, {YesNoNotStated.YES: 14, YesNoNotStated.NO: 82, YesNoNotStated.NOT_STATED: 4}
        ),
        sexual_orientation=weighted(rng, ORIENTATIONS),
        preferred_language=language,
        interpreter_needed=bool(language) and rng.random() < 0.5,
    )


def consent_at_registration(details: ClientDetails, *, consented: bool) -> ConsentState:
    """Yes for a client who agreed; otherwise declined, or for some, not asked yet."""
    if consented:
        return ConsentState.YES
    rng = _person_rng(details, "consent")
    return ConsentState.NOT_ASKED if rng.random() < NOT_ASKED_SHARE else ConsentState.DECLINED
