"""One client's PHQ-9 and GAD-7 results as a FHIR R4 Bundle, every resource validated
with the ``fhir.resources`` R4B models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from caseload.domain.codes import AttendanceCode, NotCollectedReason, Role
from caseload.domain.measures import GAD7, PHQ9, get_measure
from caseload.extensions import db
from caseload.models import User
from caseload.services import NotVisible
from caseload.services.contacts import mark_entered_in_error
from caseload.services.fhir import NHS_NUMBER_SYSTEM, client_bundle, exported_measures
from tests.services.factories import NOW, TODAY, audit_actions, gad7, log, phq9, register
from tests.services.records import full_record, nhs_number

MODELS: dict[str, Any] = {
    "Patient": Patient,
    "QuestionnaireResponse": QuestionnaireResponse,
    "Observation": Observation,
}
LOINC = {PHQ9: "44261-6", GAD7: "70274-6"}


def validated(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate the bundle and every resource in it with the R4B models; the resources."""
    Bundle.model_validate(bundle)
    resources = [entry["resource"] for entry in bundle["entry"]]
    for resource in resources:
        MODELS[resource["resourceType"]].model_validate(resource)
    return resources


def by_type(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == kind]


def test_the_loinc_totals_come_from_the_measure_definitions() -> None:
    assert {m.id: m.loinc_total for m in exported_measures()} == LOINC


def test_a_client_bundle_holds_the_patient_and_each_scored_questionnaire(worker: User) -> None:
    number = nhs_number(7)
    record = full_record(worker, nhs=number)
    result = client_bundle(worker, record.episode.id, now=NOW)
    bundle = result.bundle
    assert bundle["type"] == "collection"
    assert bundle["timestamp"] == "2025-06-02T12:00:00+00:00"
    resources = validated(bundle)
    (patient,) = by_type(resources, "Patient")
    assert {"system": NHS_NUMBER_SYSTEM, "value": number} in patient["identifier"]
    assert patient["name"] == [{"text": "Morgan Example"}]
    assert patient["birthDate"] == "1984-03-09"
    assert patient["generalPractitioner"][0]["identifier"]["value"] == "B82005"
    # Three attended contacts with PHQ-9 and GAD-7 each; WSAS has no LOINC total.
    responses = by_type(resources, "QuestionnaireResponse")
    observations = by_type(resources, "Observation")
    assert len(responses) == len(observations) == 6 == result.questionnaires
    subject = f"urn:uuid:{patient['id']}"
    full_urls = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    expected = []
    for contact in record.contacts:
        for measure_id in (GAD7, PHQ9):
            score = contact.score(measure_id)
            if score is not None and score.total is not None:
                when = contact.occurred_at.astimezone(UTC).isoformat(timespec="seconds")
                expected.append((measure_id, score.total, when, list(score.answers)))
    found = []
    for observation in observations:
        assert observation["status"] == "final"
        assert observation["subject"] == {"reference": subject}
        (coding,) = observation["code"]["coding"]
        assert coding["system"] == "http://loinc.org"
        measure_id = {v: k for k, v in LOINC.items()}[coding["code"]]
        (derived,) = observation["derivedFrom"]
        response = full_urls[derived["reference"]]
        assert response["resourceType"] == "QuestionnaireResponse"
        assert response["status"] == "completed"
        assert response["subject"] == {"reference": subject}
        assert response["authored"] == observation["effectiveDateTime"]
        answers = [
            item["answer"][0]["valueInteger"]
            for item in response["item"]
            if item["linkId"] != "difficulty"
        ]
        assert sum(answers) == observation["valueInteger"]
        band = get_measure(measure_id).band_for(observation["valueInteger"]).label
        assert observation["interpretation"] == [{"text": band}]
        found.append(
            (measure_id, observation["valueInteger"], observation["effectiveDateTime"], answers)
        )
    assert sorted(found) == sorted(expected)


def test_the_item_answers_and_the_difficulty_question_are_in_the_response(worker: User) -> None:
    record = full_record(worker)
    resources = validated(client_bundle(worker, record.episode.id, now=NOW).bundle)
    first_phq9 = next(
        r for r in by_type(resources, "QuestionnaireResponse") if r["questionnaire"].endswith(PHQ9)
    )
    items = {item["linkId"]: item for item in first_phq9["item"]}
    assert [items[str(n)]["answer"][0]["valueInteger"] for n in range(1, 10)] == phq9(18, item9=1)
    assert items["9"]["text"] == get_measure(PHQ9).item(9).text
    assert items["difficulty"]["answer"] == [{"valueInteger": 2}]


def test_missed_unfinished_and_withdrawn_questionnaires_are_left_out(worker: User) -> None:
    episode = register(worker)
    kept = log(worker, episode, NOW - timedelta(days=5), phq9_total=10, gad7_total=8)
    log(worker, episode, NOW - timedelta(days=4), attendance=AttendanceCode.DID_NOT_ATTEND)
    unfinished = phq9(12)
    unfinished[3] = None
    log(
        worker,
        episode,
        NOW - timedelta(days=3),
        phq9=unfinished,
        gad7=gad7(9),
        incomplete_reasons={PHQ9: NotCollectedReason.NO_TIME},
    )
    mistaken = log(worker, episode, NOW - timedelta(days=2), phq9_total=20, gad7_total=15)
    mark_entered_in_error(worker, mistaken, reason="Wrong client.")
    db.session.commit()
    resources = validated(client_bundle(worker, episode.id, now=NOW).bundle)
    totals = sorted(
        (o["code"]["coding"][0]["code"], o["valueInteger"])
        for o in by_type(resources, "Observation")
    )
    # The unfinished PHQ-9 has no total; its finished GAD-7 counts.
    assert totals == [("44261-6", 10), ("70274-6", 8), ("70274-6", 9)]
    assert kept.total(PHQ9) == 10


def test_a_client_without_an_nhs_number_is_identified_by_the_service_reference(
    worker: User,
) -> None:
    record = full_record(worker)
    resources = validated(client_bundle(worker, record.episode.id, now=NOW).bundle)
    (patient,) = by_type(resources, "Patient")
    assert [i["system"] for i in patient["identifier"]] == ["urn:caseload:service-reference"]
    assert patient["identifier"][0]["value"] == record.episode.client.service_ref


def test_the_bundle_is_audited_and_only_for_the_asker_s_own_clients(
    worker: User, user_factory: Any
) -> None:
    record = full_record(worker)
    client_bundle(worker, record.episode.id, now=NOW)
    db.session.commit()
    assert audit_actions(action="episode.fhir", client_id=record.episode.client_id) == [
        "episode.fhir"
    ]
    stranger = user_factory(Role.WORKER, team="South team")
    with pytest.raises(NotVisible):
        client_bundle(stranger, record.episode.id, now=NOW)
    db.session.commit()
    assert audit_actions(action="access.denied", actor_id=stranger.id) == ["access.denied"]


def test_resource_ids_are_stable_between_downloads(worker: User) -> None:
    record = full_record(worker)
    first = client_bundle(worker, record.episode.id, now=NOW).bundle
    again = client_bundle(worker, record.episode.id, now=datetime(2025, 7, 1, tzinfo=UTC)).bundle
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in again["entry"]]
    assert first["id"] != again["id"]
    assert TODAY.isoformat() not in again["timestamp"]
