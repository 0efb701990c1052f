"""Registering clients with their first referral, and recording consent."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from caseload.domain.codes import ComplexityFactor, ReferralSource
from caseload.extensions import db
from caseload.models import Client, ConsentRecord, Episode, EpisodeSummary, User
from caseload.services import ServiceError
from caseload.services.audit import record_event

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
    """What the registration form collects about the person."""

    name: str
    date_of_birth: date
    nhs_number: str = ""
    phone: str = ""
    gp_practice: str = ""


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
    "referrer_expectation": 40,
    "presenting_problem": 60,
}


def _too_long(errors: dict[str, str], record: object, *fields: str) -> None:
    for field in fields:
        if len(getattr(record, field).strip()) > MAX_LENGTHS[field]:
            errors[field] = f"Use at most {MAX_LENGTHS[field]} characters."


def _check_details(details: ClientDetails, *, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    _too_long(errors, details, "name", "phone", "gp_practice")
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
        errors["nhs_number"] = "A client with this NHS number is already registered."
    return errors


def _check_referral(referral: Referral, *, today: date, born: date | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    _too_long(errors, referral, "referrer_expectation", "presenting_problem")
    if referral.referral_date > today:
        errors["referral_date"] = "The referral date cannot be in the future."
    elif born is not None and referral.referral_date < born:
        errors["referral_date"] = "The referral date cannot be before the date of birth."
    if referral.step not in (1, 2, 3):
        errors["step"] = "Step must be 1, 2 or 3."
    if not referral.presenting_problem.strip():
        errors["presenting_problem"] = "Choose the presenting problem."
    if not referral.referrer_expectation.strip():
        errors["referrer_expectation"] = "Say what the client was led to expect."
    return errors


def register_client(
    actor: User,
    *,
    details: ClientDetails,
    referral: Referral,
    consented: bool,
    consent_note: str,
    today: date,
    worker: User | None = None,
) -> Episode:
    """Register a client and their first referral, assigned to the actor (or a given worker)."""
    errors = _check_details(details, today=today)
    born = None if "date_of_birth" in errors else details.date_of_birth
    errors |= _check_referral(referral, today=today, born=born)
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    client = Client(
        service_ref=new_service_ref(),
        name=details.name.strip(),
        date_of_birth=details.date_of_birth,
        nhs_number=normalise_nhs_number(details.nhs_number) or None,
        phone=details.phone.strip() or None,
        gp_practice=details.gp_practice.strip() or None,
        consent_central_reporting=consented,
        created_by=actor,
    )
    db.session.add(client)
    db.session.add(
        ConsentRecord(
            client=client, consented=consented, recorded_by=actor, note=consent_note.strip()
        )
    )
    episode = Episode(
        client=client,
        worker=worker or actor,
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
    db.session.flush()
    record_event(
        "client.create",
        actor=actor,
        object_type="episode",
        object_id=episode.id,
        client_id=client.id,
    )
    return episode


def set_consent(actor: User, client: Client, *, consented: bool, note: str) -> ConsentRecord:
    """Record a change of consent to central reporting; it applies from the next query."""
    if not note.strip():
        raise ServiceError(
            "Say what the client said, in a few words.",
            field_errors={"consent_note": "Say what the client said, in a few words."},
        )
    record = ConsentRecord(client=client, consented=consented, recorded_by=actor, note=note.strip())
    db.session.add(record)
    client.consent_central_reporting = consented
    db.session.flush()
    record_event(
        "consent.change",
        actor=actor,
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"consented": consented},
    )
    return record
