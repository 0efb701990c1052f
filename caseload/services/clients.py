"""Registering clients with their first referral and what the national dataset records about
them, and recording consent to central reporting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from caseload.domain.codes import (
    ComplexityFactor,
    ConsentState,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    ReferralSource,
    SexualOrientation,
    YesNoNotStated,
)
from caseload.domain.dates import format_date
from caseload.domain.registration import age_on, normalise_gp_practice_code, normalise_postcode
from caseload.extensions import db
from caseload.models import Client, ConsentRecord, Episode, EpisodeSummary, User
from caseload.policy import episodes_in_force
from caseload.services import Conflict, ServiceError
from caseload.services.audit import record_event
from caseload.services.settings import service_settings

#: Crockford's base32 without the letters people misread (I, L, O, U).
REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
OLDEST_AGE = 120


def new_service_ref() -> str:
    """A fresh, unused client reference such as ``C-7K3M9Q``."""
    while True:
        ref = "C-" + "".join(secrets.choice(REF_ALPHABET) for _ in range(6))
        if db.session.scalar(select(Client.id).where(Client.service_ref == ref)) is None:
            return ref


def normalise_nhs_number(value: str) -> str:
    """Digits only: ``943 476 5919`` -> ``9434765919``."""
    return "".join(ch for ch in value if not ch.isspace() and ch != "-")


def nhs_number_is_valid(value: str) -> bool:
    """Whether a 10-digit NHS number passes its Modulus 11 check digit."""
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])


@dataclass(frozen=True)
class ClientDetails:
    """What the registration form collects about the person: who they are, how to reach
    them, their GP and whom to call in an emergency."""

    name: str
    date_of_birth: date
    nhs_number: str = ""
    phone: str = ""
    #: Whether a message may be left on ``phone``, and whether texts may be sent to it.
    may_leave_message: bool = False
    sms_allowed: bool = False
    gp_practice: str = ""
    #: The practice's ODS code, a letter and five digits (``A81001``).
    gp_practice_code: str = ""
    postcode: str = ""
    emergency_contact_name: str = ""
    emergency_contact_relationship: str = ""
    emergency_contact_phone: str = ""


@dataclass(frozen=True)
class Demographics:
    """What the NHS Talking Therapies dataset asks about the person (codes in
    ``caseload.domain.codes``). None means no answer was recorded; "not stated" means
    the client was asked and preferred not to say."""

    gender_identity: GenderIdentity | None = None
    ethnic_category: EthnicCategory | None = None
    employment_status: EmploymentStatus | None = None
    long_term_condition: YesNoNotStated | None = None
    disability: YesNoNotStated | None = None
    sexual_orientation: SexualOrientation | None = None
    preferred_language: str = ""
    interpreter_needed: bool = False


@dataclass(frozen=True)
class Referral:
    """What the registration form collects about the referral."""

    referral_date: date
    referral_source: ReferralSource
    referrer_expectation: str
    presenting_problem: str
    step: int = 2
    complexity_factors: frozenset[ComplexityFactor] = frozenset()
    complexity_note: str = ""


#: Column widths of the free-text fields, so a long entry is a message, not a database error.
MAX_LENGTHS = {
    "name": 120,
    "phone": 30,
    "gp_practice": 120,
    "preferred_language": 60,
    "emergency_contact_name": 120,
    "emergency_contact_relationship": 60,
    "emergency_contact_phone": 30,
    "referrer_expectation": 40,
    "presenting_problem": 60,
}


def _too_long(errors: dict[str, str], record: object, *fields: str) -> None:
    for field in fields:
        if len(getattr(record, field).strip()) > MAX_LENGTHS[field]:
            errors[field] = f"Use at most {MAX_LENGTHS[field]} characters."


def _check_details(details: ClientDetails, *, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    _too_long(
        errors,
        details,
        "name",
        "phone",
        "gp_practice",
        "emergency_contact_name",
        "emergency_contact_relationship",
        "emergency_contact_phone",
    )
    if details.postcode.strip() and normalise_postcode(details.postcode) is None:
        errors["postcode"] = "Enter a real UK postcode, like SW1A 1AA."
    if details.gp_practice_code.strip() and not normalise_gp_practice_code(
        details.gp_practice_code
    ):
        errors["gp_practice_code"] = (
            "Enter the GP practice code as a letter and 5 numbers, like A81001."
        )
    errors |= _check_emergency_contact(details)
    if not details.name.strip():
        errors["name"] = "Enter the client's name."
    if details.date_of_birth > today:
        errors["date_of_birth"] = "Date of birth must be in the past."
    elif today.year - details.date_of_birth.year > OLDEST_AGE:
        errors["date_of_birth"] = f"Date of birth must be within the last {OLDEST_AGE} years."
    nhs = normalise_nhs_number(details.nhs_number)
    if nhs and not nhs_number_is_valid(nhs):
        errors["nhs_number"] = "Enter a valid 10-digit NHS number (its check digit is wrong)."
    elif nhs and db.session.scalar(select(Client.id).where(Client.nhs_number == nhs)):
        # Says only what a search by this number would show (that the client exists), and
        # sends the worker to the search, which is audited and shows the limited result.
        errors["nhs_number"] = (
            "This NHS number is already registered. Use Find a client to search for it "
            "and add a new referral to the existing client instead."
        )
    return errors


def _check_emergency_contact(details: ClientDetails) -> dict[str, str]:
    """An emergency contact is a name and a phone number: either alone cannot be used."""
    name = details.emergency_contact_name.strip()
    phone = details.emergency_contact_phone.strip()
    relationship = details.emergency_contact_relationship.strip()
    if (phone or relationship) and not name:
        return {"emergency_contact_name": "Enter the emergency contact's name."}
    if name and not phone:
        return {"emergency_contact_phone": "Enter a phone number for the emergency contact."}
    return {}


def _check_demographics(demographics: Demographics) -> dict[str, str]:
    errors: dict[str, str] = {}
    _too_long(errors, demographics, "preferred_language")
    return errors


def _check_age(born: date, referral_date: date) -> dict[str, str]:
    """The service's minimum age, on the referral date (a setting: 18 unless the service
    takes 16 and 17 year olds)."""
    minimum = service_settings().minimum_age
    age = age_on(born, referral_date)
    if age >= minimum:
        return {}
    return {
        "date_of_birth": f"This service takes referrals from age {minimum}: the client was "
        f"{age} on the referral date."
    }


def _check_referral(referral: Referral, *, today: date, born: date | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    _too_long(errors, referral, "referrer_expectation", "presenting_problem")
    if referral.referral_date > today:
        errors["referral_date"] = "The referral date cannot be in the future."
    elif born is not None and referral.referral_date < born:
        errors["referral_date"] = "The referral date cannot be before the date of birth."
    elif born is not None:
        errors |= _check_age(born, referral.referral_date)
    if referral.step not in (1, 2, 3):
        errors["step"] = "Step must be 1, 2 or 3."
    if not referral.presenting_problem.strip():
        errors["presenting_problem"] = "Choose the presenting problem."
    if not referral.referrer_expectation.strip():
        errors["referrer_expectation"] = "Say what the client was led to expect."
    return errors


def _new_episode(client: Client, worker: User, referral: Referral) -> Episode:
    """A new, waiting episode of the client from a checked referral (added, not flushed)."""
    episode = Episode(
        client=client,
        worker=worker,
        referral_date=referral.referral_date,
        referral_source=referral.referral_source,
        referrer_expectation=referral.referrer_expectation.strip(),
        presenting_problem=referral.presenting_problem.strip(),
        step=referral.step,
        complexity_factors=frozenset(referral.complexity_factors),
        complexity_note=referral.complexity_note.strip(),
    )
    db.session.add(episode)
    db.session.add(EpisodeSummary(episode=episode))
    return episode


def registration_problems(
    *, details: ClientDetails, demographics: Demographics, referral: Referral, today: date
) -> dict[str, str]:
    """Every refused field of a registration, by form field name (empty when it may be saved)."""
    errors = _check_details(details, today=today)
    errors |= _check_demographics(demographics)
    born = None if "date_of_birth" in errors else details.date_of_birth
    return errors | _check_referral(referral, today=today, born=born)


def _consent_given(consent: ConsentState | None, consented: bool | None) -> ConsentState:
    """The consent state from either spelling: ``consent``, or the older yes/no
    ``consented`` (True is yes; False is "not asked yet", the old registration default)."""
    if consent is not None:
        return ConsentState(consent)
    return ConsentState.YES if consented else ConsentState.NOT_ASKED


def _optional(text: str) -> str | None:
    return text.strip() or None


def register_client(
    actor: User,
    *,
    details: ClientDetails,
    referral: Referral,
    consent: ConsentState | None = None,
    consent_note: str = "",
    today: date,
    worker: User | None = None,
    demographics: Demographics = Demographics(),
    not_duplicate_of: tuple[int, ...] = (),
    consented: bool | None = None,
) -> Episode:
    """Register a client and their first referral, assigned to the actor (or a given worker).

    ``consent`` is the client's answer about central reporting ("not asked yet" unless
    given); ``consented`` is its older yes/no spelling. ``not_duplicate_of`` names the
    likely duplicates the worker said are different people (kept in the audit event).
    """
    errors = registration_problems(
        details=details, demographics=demographics, referral=referral, today=today
    )
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    state = _consent_given(consent, consented)
    client = Client(
        service_ref=new_service_ref(),
        name=details.name.strip(),
        date_of_birth=details.date_of_birth,
        nhs_number=normalise_nhs_number(details.nhs_number) or None,
        phone=_optional(details.phone),
        may_leave_message=details.may_leave_message,
        sms_allowed=details.sms_allowed,
        gp_practice=_optional(details.gp_practice),
        gp_practice_code=normalise_gp_practice_code(details.gp_practice_code),
        postcode=normalise_postcode(details.postcode),
        emergency_contact_name=_optional(details.emergency_contact_name),
        emergency_contact_relationship=_optional(details.emergency_contact_relationship),
        emergency_contact_phone=_optional(details.emergency_contact_phone),
        gender_identity=demographics.gender_identity,
        ethnic_category=demographics.ethnic_category,
        employment_status=demographics.employment_status,
        long_term_condition=demographics.long_term_condition,
        disability=demographics.disability,
        sexual_orientation=demographics.sexual_orientation,
        preferred_language=_optional(demographics.preferred_language),
        interpreter_needed=demographics.interpreter_needed,
        consent_state=state,
        created_by=actor,
    )
    db.session.add(client)
    db.session.add(
        ConsentRecord(
            client=client,
            consent_state=state,
            answered_on=today,
            recorded_by=actor,
            note=consent_note.strip(),
        )
    )
    episode = _new_episode(client, worker or actor, referral)
    db.session.flush()
    record_event(
        "client.create",
        actor=actor,
        object_type="episode",
        object_id=episode.id,
        client_id=client.id,
        detail={"not_duplicate_of": sorted(not_duplicate_of)} if not_duplicate_of else None,
    )
    return episode


def add_referral(asker: User, client: Client, referral: Referral, *, today: date) -> Episode:
    """Re-refer an existing client: a new episode, waiting, held by the asker (a worker).

    The client's details and earlier episodes are kept as they are. A client with an
    open episode is refused: one client, one open episode, so the service never holds
    two records of the same care.
    """
    # Lock the client, so two workers re-referring at once cannot both open an episode
    # (SQLite serialises writers with BEGIN IMMEDIATE instead).
    db.session.execute(select(Client.id).where(Client.id == client.id).with_for_update())
    open_episode = db.session.scalar(
        select(Episode.id).where(
            Episode.client_id == client.id, Episode.discharged_on.is_(None), episodes_in_force()
        )
    )
    if open_episode is not None:
        raise ServiceError(
            f"{client.name} already has an open episode. A new referral can be added "
            "only after that episode is discharged."
        )
    errors = _check_referral(referral, today=today, born=client.date_of_birth)
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    episode = _new_episode(client, asker, referral)
    db.session.flush()
    record_event(
        "episode.create",
        actor=asker,
        object_type="episode",
        object_id=episode.id,
        client_id=client.id,
        detail={"re_referral": True},
    )
    return episode


def _check_answered_on(client: Client, answered_on: date, *, today: date) -> dict[str, str]:
    """The day a client answered: not in the future, not before their first referral."""
    if answered_on > today:
        return {"answered_on": "The date the client answered must be today or in the past."}
    referred = [episode.referral_date for episode in client.episodes]
    if referred and answered_on < min(referred):
        return {
            "answered_on": "The date the client answered cannot be before their first "
            f"referral ({format_date(min(referred))})."
        }
    return {}


def set_consent(
    actor: User,
    client: Client,
    *,
    consent: ConsentState | None = None,
    note: str,
    answered_on: date | None = None,
    today: date | None = None,
    consented: bool | None = None,
    expected_version: int | None = None,
) -> ConsentRecord:
    """Record the client's answer about central reporting (yes, declined or not asked yet),
    with what they said and, when given, the day they said it (which needs ``today``); it
    applies from the next query. ``consented`` is the older yes/no spelling: True is yes,
    False is declined."""
    if consent is None and consented is None:
        raise TypeError("set_consent needs the client's answer (consent=...)")
    if expected_version is not None and client.version != expected_version:
        raise Conflict(client.id)  # a newer answer was saved after the form was opened
    state = (
        ConsentState(consent)
        if consent is not None
        else (ConsentState.YES if consented else ConsentState.DECLINED)
    )
    errors: dict[str, str] = {}
    if not note.strip():
        errors["consent_note"] = "Say what the client said, in a few words."
    if answered_on is not None:
        if today is None:
            raise TypeError("set_consent needs today to check the date the client answered")
        errors |= _check_answered_on(client, answered_on, today=today)
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    record = ConsentRecord(
        client=client,
        consent_state=state,
        answered_on=answered_on,
        recorded_by=actor,
        note=note.strip(),
    )
    db.session.add(record)
    client.consent_state = state
    flag_modified(client, "consent_state")  # a new version even for the same answer
    db.session.flush()
    record_event(
        "consent.change",
        actor=actor,
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"consent": state.value, "consented": state.reportable},
    )
    return record
