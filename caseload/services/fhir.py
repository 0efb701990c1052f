"""Questionnaire scores as HL7 FHIR R4 resources (docs/exports.md).

One finished questionnaire becomes two resources: a ``QuestionnaireResponse`` with the
item answers as given, and an ``Observation`` carrying the total under the measure's
LOINC code (PHQ-9 total 44261-6, GAD-7 total 70274-6, from the measure definitions in
``seed_data/measures``), as ``valueInteger``, dated, and linked to the response by
``derivedFrom``. Only measures whose definition names a LOINC total are exported.

The builders below take plain values, so the worker's bundle for one client (with a
``Patient`` and the NHS number as its identifier) and the lead's pseudonymous bundle
(``caseload.reporting.exports``: no ``Patient``, no identifier, months instead of
dates) build the same shapes. The tests validate every resource with the
``fhir.resources`` R4B models.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from caseload.domain.codes import EntryStatus
from caseload.domain.dates import local_date
from caseload.domain.measures import Measure, all_measures, get_measure
from caseload.extensions import db
from caseload.models import Client, Contact, ContactScore, Episode, User
from caseload.policy import visible_episodes
from caseload.services import NotVisible
from caseload.services.audit import record_event, record_event_now

#: The NHS number's identifier system (NHS England FHIR identifiers).
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
#: A GP practice's ODS code.
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
#: The service reference caseload gives each client (local to the service).
SERVICE_REFERENCE_SYSTEM = "urn:caseload:service-reference"
LOINC_SYSTEM = "http://loinc.org"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
#: The canonical URL of a measure's questionnaire (a local one: the item numbers are
#: caseload's linkIds).
QUESTIONNAIRE_CANONICAL = "urn:caseload:questionnaire:{measure}"
#: The media type of a FHIR JSON download.
FHIR_JSON = "application/fhir+json"

#: Namespace of the stable resource ids in the worker's bundle.
RESOURCE_NAMESPACE = uuid.UUID("3f0c3c57-61a4-4c8f-9d1c-2b6f5f1f7c11")


def exported_measures() -> tuple[Measure, ...]:
    """The measures whose totals have a LOINC code: the ones exported as FHIR."""
    return tuple(m for m in all_measures() if m.loinc_total)


def month_of(moment: datetime) -> str:
    """A FHIR partial dateTime of the UK month (``2025-06``): no exact date."""
    day = local_date(moment)
    return f"{day.year:04d}-{day.month:02d}"


def instant_of(moment: datetime) -> str:
    """A FHIR dateTime to the second, in UTC."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ScoredQuestionnaire:
    """One finished questionnaire, ready to become FHIR resources."""

    measure: Measure
    #: The item answers as stored (an int, "n/a" where the item allows it).
    answers: Sequence[Any]
    total: int
    difficulty: int | None
    #: When it was answered, as a FHIR dateTime (full, or a month for the lead).
    when: str
    response_id: str
    observation_id: str
    #: The reference to the person it is about ("urn:uuid:...").
    subject: str


def _answer(measure: Measure, value: Any) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"valueInteger": value}
    return {"valueString": measure.not_applicable_label or "Not applicable"}


def questionnaire_response(q: ScoredQuestionnaire) -> dict[str, Any]:
    """The item answers as a completed ``QuestionnaireResponse``."""
    items = [
        {"linkId": str(item.number), "text": item.text, "answer": [_answer(q.measure, value)]}
        for item, value in zip(q.measure.items, q.answers, strict=False)
        if value is not None
    ]
    if q.difficulty is not None and q.measure.difficulty_question:
        items.append(
            {
                "linkId": "difficulty",
                "text": q.measure.difficulty_question,
                "answer": [{"valueInteger": q.difficulty}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": q.response_id,
        "questionnaire": QUESTIONNAIRE_CANONICAL.format(measure=q.measure.id),
        "status": "completed",
        "subject": {"reference": q.subject},
        "authored": q.when,
        "item": items,
    }


def total_observation(q: ScoredQuestionnaire) -> dict[str, Any]:
    """The total as an ``Observation`` with the measure's LOINC code, derived from the
    response."""
    band = q.measure.find_band(q.total)
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": q.observation_id,
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": OBSERVATION_CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}
                ]
            }
        ],
        "code": {
            "coding": [{"system": LOINC_SYSTEM, "code": q.measure.loinc_total}],
            "text": f"{q.measure.short_name} total score",
        },
        "subject": {"reference": q.subject},
        "effectiveDateTime": q.when,
        "valueInteger": q.total,
        "derivedFrom": [{"reference": f"urn:uuid:{q.response_id}"}],
    }
    if band is not None:
        observation["interpretation"] = [{"text": band.label}]
    return observation


def entry(resource: dict[str, Any]) -> dict[str, Any]:
    """A bundle entry for a resource, addressed by its id as a ``urn:uuid``."""
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def scored_entries(q: ScoredQuestionnaire) -> list[dict[str, Any]]:
    """The response and its observation, as bundle entries."""
    return [entry(questionnaire_response(q)), entry(total_observation(q))]


def patient_resource(client: Client, patient_id: str) -> dict[str, Any]:
    """The client as a ``Patient``: the NHS number (when recorded) as identifier, with the
    service reference, name, date of birth, phone, postcode and GP practice."""
    identifiers = []
    if client.nhs_number:
        identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": client.nhs_number})
    identifiers.append({"system": SERVICE_REFERENCE_SYSTEM, "value": client.service_ref})
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": identifiers,
        "name": [{"text": client.name}],
        "birthDate": client.date_of_birth.isoformat(),
    }
    if client.phone:
        patient["telecom"] = [{"system": "phone", "value": client.phone}]
    if client.postcode:
        patient["address"] = [{"postalCode": client.postcode}]
    if client.gp_practice or client.gp_practice_code:
        practice: dict[str, Any] = {}
        if client.gp_practice_code:
            practice["identifier"] = {"system": ODS_SYSTEM, "value": client.gp_practice_code}
        if client.gp_practice:
            practice["display"] = client.gp_practice
        patient["generalPractitioner"] = [practice]
    return patient


def _stable_id(kind: str, key: object) -> str:
    return str(uuid.uuid5(RESOURCE_NAMESPACE, f"{kind}:{key}"))


def exportable_score(score: ContactScore) -> bool:
    """A finished questionnaire of a measure with a LOINC total."""
    return score.total is not None and get_measure(score.measure_id).loinc_total is not None


@dataclass(frozen=True)
class ClientBundle:
    """The worker's FHIR bundle for one episode's client, and what it holds."""

    bundle: dict[str, Any]
    episode: Episode
    questionnaires: int


def client_bundle(asker: User, episode_id: int, *, now: datetime) -> ClientBundle:
    """A ``collection`` Bundle for the client of an episode the asker holds: the
    ``Patient`` and, for each finished PHQ-9 and GAD-7 (each measure with a LOINC total)
    at an attended contact in force, its ``QuestionnaireResponse`` and ``Observation``.
    Audited as ``episode.fhir``; an episode the asker may not see is an audited denial."""
    episode = db.session.scalar(
        select(Episode)
        .options(joinedload(Episode.client))
        .where(Episode.id == episode_id, visible_episodes(asker))
    )
    if episode is None:
        record_event_now("access.denied", actor=asker, object_type="episode", object_id=episode_id)
        raise NotVisible(episode_id)
    contacts = db.session.scalars(
        select(Contact)
        .options(selectinload(Contact.scores))
        .where(Contact.episode_id == episode.id, Contact.status == EntryStatus.CURRENT)
        .order_by(Contact.occurred_at, Contact.id)
    )
    patient = patient_resource(episode.client, _stable_id("patient", episode.client_id))
    subject = f"urn:uuid:{patient['id']}"
    entries = [entry(patient)]
    count = 0
    for contact in contacts:
        if not contact.attendance.attended:
            continue
        for score in contact.scores:
            if score.total is None or not exportable_score(score):
                continue
            count += 1
            entries += scored_entries(
                ScoredQuestionnaire(
                    measure=get_measure(score.measure_id),
                    answers=list(score.answers or []),
                    total=score.total,
                    difficulty=score.difficulty,
                    when=instant_of(contact.occurred_at),
                    response_id=_stable_id("response", score.id),
                    observation_id=_stable_id("observation", score.id),
                    subject=subject,
                )
            )
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": instant_of(now),
        "entry": entries,
    }
    record_event(
        "episode.fhir",
        actor=asker,
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
        detail={"questionnaires": count},
    )
    return ClientBundle(bundle=bundle, episode=episode, questionnaires=count)


def download_name(stem: str, day: date, suffix: str) -> str:
    """A download's file name: what it is and the day it was made."""
    return f"{stem}-{day.isoformat()}.{suffix}"
