"""Registration as a worker does it on the form: the dataset's questions answered, and no
likely duplicate registered without the worker saying it is a different person.

``caseload.services.clients.register_client`` saves a client; this module adds the two
checks that belong to registering someone new from the form (the demo and the tests
register through ``register_client`` directly). It sits apart from the clients service
because the duplicate check is the search service's (``likely_duplicates``), which
itself builds on the clients service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from caseload.domain.codes import ConsentState
from caseload.models import Episode, User
from caseload.services import ServiceError
from caseload.services.audit import record_event
from caseload.services.clients import (
    ClientDetails,
    Demographics,
    Referral,
    register_client,
    registration_problems,
)
from caseload.services.search import DuplicateCandidate, likely_duplicates

#: What the national dataset needs at referral, by form field: the question must be
#: answered, though "not stated" (asked, but the client preferred not to say) is an answer.
REQUIRED_AT_REFERRAL = {
    "gender_identity": "Select the client's gender identity",
    "ethnic_category": "Select the client's ethnic group",
    "employment_status": "Select the client's employment status",
    "long_term_condition": "Say whether the client has a long-term physical health condition",
    "disability": "Say whether the client has a disability",
}
NOT_STATED_HINT = ", or 'Not stated' if they preferred not to say."


def missing_answer(field: str) -> str:
    """The message for a dataset question left unanswered."""
    return REQUIRED_AT_REFERRAL[field] + NOT_STATED_HINT


DIFFERENT_PERSON = (
    "Check the possible matches below. If this is a different person, tick "
    "'This is a different person: register anyway'."
)


def needs_confirmation(candidates: Sequence[DuplicateCandidate]) -> bool:
    """Whether saving needs the worker's word that this is a different person.

    A match on name and date of birth may be someone else; a match on the NHS number
    is refused by the clients service whatever the worker says, since a number belongs
    to one person.
    """
    return any(c.matched_on != "nhs_number" for c in candidates)


def duplicate_candidates(asker: User, details: ClientDetails) -> list[DuplicateCandidate]:
    """Registered clients who may be the person on the form, audited when any are shown."""
    candidates = likely_duplicates(
        asker,
        name=details.name,
        date_of_birth=details.date_of_birth,
        nhs_number=details.nhs_number,
    )
    if candidates:
        record_event(
            "client.duplicate_warning",
            actor=asker,
            object_type="client",
            client_ids=[c.client_id for c in candidates],
            detail={"matches": len(candidates)},
        )
    return candidates


def register_new_client(
    asker: User,
    *,
    details: ClientDetails,
    demographics: Demographics,
    referral: Referral,
    consent: ConsentState,
    consent_note: str,
    today: date,
    different_person: bool,
) -> Episode:
    """Register a client from the form: every refused field at once, the dataset's
    questions answered, and likely duplicates only with ``different_person`` ticked."""
    errors = registration_problems(
        details=details, demographics=demographics, referral=referral, today=today
    )
    for field in REQUIRED_AT_REFERRAL:
        if getattr(demographics, field) is None:
            errors.setdefault(field, missing_answer(field))
    candidates = likely_duplicates(
        asker,
        name=details.name,
        date_of_birth=details.date_of_birth,
        nhs_number=details.nhs_number,
    )
    if needs_confirmation(candidates) and not different_person:
        errors["different_person"] = DIFFERENT_PERSON
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    return register_client(
        asker,
        details=details,
        demographics=demographics,
        referral=referral,
        consent=consent,
        consent_note=consent_note,
        today=today,
        not_duplicate_of=tuple(c.client_id for c in candidates),
    )
