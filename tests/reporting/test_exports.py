"""The lead's exports: the pseudonymised episode CSV and the pseudonymous FHIR bundle hold
consented records only and no identifier, cannot be joined, and stream."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from caseload.domain.codes import DischargeReason, ReferralSource, Role
from caseload.domain.dates import format_date, local_date
from caseload.domain.registration import format_nhs_number
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Client, Contact, Episode, User
from caseload.reporting import exports
from caseload.reporting.exports import (
    CSV_COLUMNS,
    age_band,
    csv_chunks,
    export_scope,
    fhir_chunks,
    in_read_transaction,
    write_export,
)
from caseload.services.clients import ClientDetails, Referral, add_referral, register_client
from caseload.services.episodes import discharge
from tests.services.factories import NOW, TODAY, gad7, log, phq9
from tests.services.records import full_record, nhs_number

KEY = b"k" * 32

#: The consenting people of the fixture, with everything that must never leave.
PEOPLE = [
    ("Aurelia Quenby", date(1979, 11, 23), 101),
    ("Bartholomew Ixworth", date(2001, 2, 14), 102),
    ("Cordelia Vanstone", date(1958, 7, 30), 103),
]
#: People who have not consented: not one byte of theirs may appear.
NOT_CONSENTED = [("Desdemona Ulverston", date(1990, 5, 5), 201)]


def collect(chunks: Iterator[str]) -> str:
    return "".join(chunks)


def csv_text(key: bytes = KEY) -> str:
    return collect(csv_chunks(key=key))


def fhir_text(key: bytes = KEY) -> str:
    return collect(fhir_chunks(key=key))


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def worker(user_factory: Any) -> User:
    """A worker in the North team."""
    return user_factory(Role.WORKER, team="North team")


@pytest.fixture
def service(worker: User) -> dict[str, Any]:
    """Consenting clients with known identifiers (one referred twice, one with a free-text
    presenting problem, one discharged with risk), a client without consent, and a
    consenting client's episode entered in error."""
    records = []
    for number, (name, born, seed) in enumerate(PEOPLE):
        records.append(
            full_record(
                worker,
                name=name,
                born=born,
                nhs=nhs_number(seed),
                consented=True,
                discharged=number != 1,
                item9_at_end=1 if number == 0 else 0,
                presenting_problem="Grief since my father Ezekiel died"
                if number == 2
                else ("Depression"),
                start=NOW - timedelta(days=50 + number),
            )
        )
    again = add_referral(
        worker,
        records[0].episode.client,
        Referral(
            referral_date=TODAY - timedelta(days=1),
            referral_source=ReferralSource.SELF,
            referrer_expectation="Counselling",
            presenting_problem="Panic disorder",
        ),
        today=TODAY,
    )
    log(worker, again, NOW - timedelta(hours=3), phq9_total=9, gad7_total=11)
    for name, born, seed in NOT_CONSENTED:
        full_record(worker, name=name, born=born, nhs=nhs_number(seed), consented=False)
    mistaken = full_record(
        worker,
        name="Evangeline Mistaken",
        born=date(1970, 1, 1),
        nhs=nhs_number(301),
        consented=True,
    )
    mistaken.episode.entered_in_error_at = NOW
    db.session.commit()
    return {"records": records, "again": again, "mistaken": mistaken}


def forbidden_strings() -> set[str]:
    """Every identifier and exact date the database holds for any client: names, NHS
    numbers (as stored and spaced), service references, phones, postcodes, GP practices,
    free text, dates of birth and every referral, contact and discharge date in three
    spellings."""
    found: set[str] = set()
    days: set[date] = set()
    for client in db.session.scalars(select(Client)):
        found |= {client.name, client.service_ref}
        found |= set(client.name.split())
        if client.nhs_number:
            found |= {client.nhs_number, format_nhs_number(client.nhs_number)}
        found |= {v for v in (client.phone, client.postcode, client.gp_practice) if v}
        found |= {v for v in (client.gp_practice_code, client.emergency_contact_name) if v}
        days.add(client.date_of_birth)
    for episode in db.session.scalars(select(Episode)):
        days.add(episode.referral_date)
        if episode.discharged_on:
            days.add(episode.discharged_on)
        found |= {t for t in (episode.complexity_note, episode.discharge_risk_plan) if t}
        if episode.presenting_problem.startswith("Grief"):
            found.add(episode.presenting_problem)
    for contact in db.session.scalars(select(Contact)):
        days.add(local_date(contact.occurred_at))
        days.add(contact.occurred_at.astimezone(UTC).date())
        found |= {t for t in (contact.risk_action, contact.risk_factors, contact.note) if t}
    for day in days:
        found |= {day.isoformat(), format_date(day), day.strftime("%d/%m/%Y")}
    return {s for s in found if len(s) >= 4}


# No identifier ------------------------------------------------------------------------------


def test_neither_file_holds_an_identifier_or_an_exact_date(service: dict[str, Any]) -> None:
    forbidden = forbidden_strings()
    assert "Aurelia" in forbidden
    assert "1979-11-23" in forbidden
    for name, text in (("csv", csv_text()), ("fhir", fhir_text())):
        leaked = sorted(s for s in forbidden if s in text)
        assert leaked == [], f"{name} holds {leaked}"
    bundle = json.loads(fhir_text())
    assert "identifier" not in json.dumps(bundle)
    assert all(e["resource"]["resourceType"] != "Patient" for e in bundle["entry"])


def test_dates_are_months_and_ages_are_bands(service: dict[str, Any]) -> None:
    text = csv_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", fhir_text())
    for row in csv_rows(text):
        assert re.fullmatch(r"\d{4}-\d{2}", row["referral_month"])
        assert row["discharge_month"] == "" or re.fullmatch(r"\d{4}-\d{2}", row["discharge_month"])
    for entry in json.loads(fhir_text())["entry"]:
        resource = entry["resource"]
        when = resource.get("effectiveDateTime") or resource.get("authored")
        assert re.fullmatch(r"\d{4}-\d{2}", when)


@pytest.mark.parametrize(
    ("born", "on", "band"),
    [
        (date(2008, 6, 3), date(2025, 6, 2), "under 18"),
        (date(2007, 6, 2), date(2025, 6, 2), "18-24"),
        (date(1990, 6, 3), date(2025, 6, 2), "25-34"),
        (date(1990, 6, 2), date(2025, 6, 2), "35-44"),
        (date(1960, 6, 2), date(2025, 6, 2), "65 and over"),
    ],
)
def test_age_bands_follow_the_age_on_the_referral_date(born: date, on: date, band: str) -> None:
    assert age_band(born, on) == band


# Consented records only --------------------------------------------------------------------


def test_one_row_per_consented_episode_with_its_figures(service: dict[str, Any]) -> None:
    rows = csv_rows(csv_text())
    assert list(rows[0]) == list(CSV_COLUMNS)
    # Three consenting clients, one referred twice; the episode entered in error is out.
    assert len(rows) == 4
    scope = export_scope()
    assert scope.episodes == 4
    assert len(scope.client_ids) == 3
    first = service["records"][0].episode
    mine = [r for r in rows if r["pseudonym"] == exports.pseudonym(KEY, first.client_id)]
    assert len(mine) == 2  # both of the client's episodes share the pseudonym
    ended = next(r for r in mine if r["discharge_month"])
    assert ended == {
        "pseudonym": exports.pseudonym(KEY, first.client_id),
        "age_band": "45-54",
        "referral_month": "2025-04",
        "presenting_problem": "Depression",
        "referral_source": "gp",
        "step": "2",
        "first_phq9": "18",
        "last_phq9": "7",
        "first_gad7": "15",
        "last_gad7": "6",
        "treatment_contacts": "3",
        "finished_treatment": "yes",
        "caseness_at_start": "yes",
        "paired": "yes",
        "recovered": "yes",
        "reliable_improvement": "yes",
        "reliable_deterioration": "no",
        "reliable_recovery": "yes",
        "discharge_month": "2025-06",
        "discharge_reason": DischargeReason.COMPLETED.value,
    }
    waiting = next(r for r in mine if not r["discharge_month"])
    assert (waiting["first_phq9"], waiting["last_phq9"], waiting["discharge_reason"]) == (
        "9",
        "",
        "",
    )
    assert waiting["presenting_problem"] == "Panic disorder"
    assert sorted(r["presenting_problem"] for r in rows).count("Other") == 1


def test_the_bundle_holds_each_consented_questionnaire_and_validates(
    service: dict[str, Any],
) -> None:
    bundle = json.loads(fhir_text())
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    resources = [e["resource"] for e in bundle["entry"]]
    responses = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    for r in responses:
        QuestionnaireResponse.model_validate(r)
    for o in observations:
        Observation.model_validate(o)
    # 3 clients x 3 scored contacts x 2 measures, plus the new referral's one contact.
    assert len(responses) == len(observations) == 3 * 3 * 2 + 2 == export_scope().questionnaires
    urls = {e["fullUrl"] for e in bundle["entry"]}
    subjects = {r["subject"]["reference"] for r in resources}
    assert len(subjects) == 3
    assert not subjects & urls
    for o in observations:
        assert o["derivedFrom"][0]["reference"] in urls
        assert o["code"]["coding"][0]["code"] in {"44261-6", "70274-6"}
        assert isinstance(o["valueInteger"], int)


def test_withdrawing_consent_takes_a_client_out_of_the_next_export(
    service: dict[str, Any], worker: User
) -> None:
    from caseload.services.clients import set_consent

    client = service["records"][1].episode.client
    set_consent(worker, client, consented=False, note="Withdrew on the phone.")
    db.session.commit()
    assert len(csv_rows(csv_text())) == 3
    assert exports.pseudonym(KEY, client.id) not in csv_text()
    assert f"urn:uuid:{exports.pseudonymous_id(KEY, 'client', client.id)}" not in fhir_text()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(
        st.tuples(
            # Any name a form could take (no NUL: the web layer refuses it, PostgreSQL too).
            st.text(
                st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
                min_size=1,
                max_size=30,
            ).filter(lambda s: s.strip()),
            st.integers(0, 24),
            st.integers(0, 21),
            st.sampled_from(["Depression", "Panic disorder", "A free-text problem"]),
            st.booleans(),
            st.integers(1, 200),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_non_consented_records_change_no_byte(
    worker: User, service: dict[str, Any], people: list[tuple[Any, ...]]
) -> None:
    before = (csv_text(), fhir_text())
    savepoint = db.session.begin_nested()
    try:
        for name, phq, gad, problem, ended, days_ago in people:
            episode = register_client(
                worker,
                details=ClientDetails(name=name, date_of_birth=date(1980, 1, 1)),
                referral=Referral(
                    referral_date=TODAY - timedelta(days=days_ago),
                    referral_source=ReferralSource.GP,
                    referrer_expectation="Counselling",
                    presenting_problem=problem,
                ),
                consented=False,
                today=TODAY,
            )
            log(worker, episode, NOW - timedelta(hours=days_ago), phq9=phq9(phq), gad7=gad7(gad))
            if ended:
                discharge(
                    worker,
                    episode,
                    reason=DischargeReason.DROPPED_OUT,
                    discharged_on=TODAY,
                    note="",
                    today=TODAY,
                    risk_confirmed=True,
                    risk_plan="Plan.",
                )
        db.session.flush()
        assert (csv_text(), fhir_text()) == before
    finally:
        savepoint.rollback()
        db.session.expire_all()


# Pseudonyms ---------------------------------------------------------------------------------


def test_pseudonyms_differ_between_two_exports(service: dict[str, Any]) -> None:
    first, second = csv_rows(csv_text(b"a" * 32)), csv_rows(csv_text(b"b" * 32))
    assert len(first) == len(second) == 4
    assert not {r["pseudonym"] for r in first} & {r["pseudonym"] for r in second}
    bundles = [json.loads(fhir_text(key)) for key in (b"a" * 32, b"b" * 32)]
    ids = [{e["fullUrl"] for e in b["entry"]} for b in bundles]
    assert not ids[0] & ids[1]
    # Fresh keys each time by default: two exports made now cannot be joined either.
    assert exports.new_export_key() != exports.new_export_key()


def test_rows_come_in_an_order_keyed_like_the_pseudonyms(worker: User) -> None:
    clients = [full_record(worker, name=f"Client {n}", consented=True) for n in range(12)]
    ids = [r.episode.client_id for r in clients]

    def order(key: bytes) -> list[int]:
        by_pseudonym = {exports.pseudonym(key, client_id): client_id for client_id in ids}
        return [by_pseudonym[row["pseudonym"]] for row in csv_rows(csv_text(key))]

    orders = [order(key) for key in (b"a" * 32, b"b" * 32, b"c" * 32)]
    assert all(sorted(o) == sorted(ids) for o in orders)
    assert len({tuple(o) for o in orders} | {tuple(ids)}) > 2  # not by id, not fixed


# Streaming --------------------------------------------------------------------------------


def test_the_files_stream_in_chunks_with_a_fixed_number_of_queries(
    worker: User, service: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "CHUNK_CHARACTERS", 1)
    chunks = csv_chunks(key=KEY)
    assert next(chunks) == ",".join(CSV_COLUMNS) + "\r\n"  # the header before any row is read

    def statements() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert len(list(csv_chunks(key=KEY))) > 2
            assert len(list(fhir_chunks(key=KEY))) > 2
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    few = statements()
    for number in range(6):
        full_record(worker, name=f"More {number}", consented=True)
    assert statements() == few


def test_progress_counts_the_episodes_written(service: dict[str, Any]) -> None:
    seen: list[int] = []
    collect(csv_chunks(key=KEY, progress=seen.append))
    assert seen == [1, 2, 3, 4]
    seen.clear()
    collect(fhir_chunks(key=KEY, progress=seen.append))
    assert seen == [1, 2, 3, 4]


def test_the_stream_reads_in_a_transaction_of_its_own(service: dict[str, Any]) -> None:
    db.session.commit()
    text = collect(in_read_transaction(csv_chunks(key=KEY)))
    assert text == csv_text()
    db.session.commit()
    collect(in_read_transaction(csv_chunks(key=KEY)))
    assert not db.session().in_transaction()  # ended after the last chunk
    db.session.begin()
    with pytest.raises(RuntimeError, match="commit"):
        next(in_read_transaction(csv_chunks(key=KEY)))


# The command line --------------------------------------------------------------------------


def test_an_export_file_is_written_once_and_audited(
    service: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "episodes.csv"
    scope = export_scope()
    write_export("csv", out, scope=scope, actor_username="command line", key=KEY)
    assert out.read_bytes().decode("utf-8") == csv_text()
    assert out.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        write_export("csv", out, scope=scope, actor_username="command line")
    event_row = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.csv")
    ).one()
    assert event_row.actor_username == "command line"
    assert event_row.detail == {
        "episodes": 4,
        "clients": 3,
        "questionnaires": scope.questionnaires,
        "via": "command line",
    }
    listed = db.session.scalars(
        select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event_row.id)
    ).all()
    assert sorted(listed) == sorted(scope.client_ids)


def test_the_export_command_writes_the_file_with_a_progress_bar(
    app: Flask, service: dict[str, Any], tmp_path: Path
) -> None:
    db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "scores.json"
    result = runner.invoke(args=["export", "fhir", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Consented episodes (fhir)" in result.output
    assert "Exported 4 episodes of 3 consenting clients" in result.output
    Bundle.model_validate(json.loads(out.read_text(encoding="utf-8")))
    again = runner.invoke(args=["export", "fhir", "--out", str(out)])
    assert again.exit_code != 0
    assert "exists already" in again.output
    db.session.commit()
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "export.fhir")
        )
        == 1
    )
