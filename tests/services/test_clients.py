"""register_client and set_consent on a real database."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from caseload.extensions import db
from caseload.models import AuditEvent, Client, ConsentRecord, Episode, User
from caseload.services import ServiceError
from caseload.services.clients import nhs_number_is_valid, set_consent
from tests.services.factories import (
    REFERRAL_DATE,
    TODAY,
    VALID_NHS_NUMBER,
    audit_actions,
    client_details,
    register,
    row_counts,
)

SERVICE_REF = re.compile(r"^C-[0-9A-HJKMNP-TV-Z]{6}$")


def refused(worker: User, **kwargs: Any) -> ServiceError:
    """Register with bad input; assert nothing was saved and return the error."""
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        register(worker, **kwargs)
    db.session.rollback()
    assert row_counts() == before
    return caught.value


# Registration -----------------------------------------------------------------------


def test_register_saves_client_episode_summary_and_consent(worker: User) -> None:
    episode = register(worker, details=client_details(nhs_number=VALID_NHS_NUMBER))
    db.session.commit()
    db.session.expire_all()

    client = db.session.scalars(select(Client)).one()
    assert client.name == "Alex Example"
    assert client.nhs_number == VALID_NHS_NUMBER
    assert client.created_by_id == worker.id
    saved = db.session.get(Episode, episode.id)
    assert saved is not None
    assert saved.client_id == client.id
    assert saved.worker_id == worker.id
    assert saved.referral_date == REFERRAL_DATE
    assert saved.step == 2
    assert saved.summary is not None
    assert saved.summary.treatment_contacts == 0
    assert saved.status.value == "waiting"


def test_service_ref_is_generated_and_is_not_the_database_id(worker: User) -> None:
    first = register(worker).client
    second = register(worker, details=client_details(name="Sam Other")).client
    db.session.commit()

    for client in (first, second):
        assert SERVICE_REF.match(client.service_ref), client.service_ref
        assert client.service_ref.removeprefix("C-").lstrip("0") != str(client.id)
    assert first.service_ref != second.service_ref


def test_consent_defaults_to_no_with_provenance(worker: User) -> None:
    client = register(worker, consent_note="Not asked yet.").client
    db.session.commit()
    db.session.expire_all()

    assert client.consent_central_reporting is False
    [record] = client.consent_records
    assert record.consented is False
    assert record.recorded_by_id == worker.id
    assert record.recorded_at is not None
    assert record.recorded_at.tzinfo is not None
    assert record.note == "Not asked yet."


def test_client_model_consent_defaults_to_no(worker: User) -> None:
    client = Client(
        service_ref="C-TEST00", name="X", date_of_birth=date(1990, 1, 1), created_by=worker
    )
    db.session.add(client)
    db.session.flush()
    assert client.consent_central_reporting is False


def test_consent_given_at_registration_is_recorded(worker: User) -> None:
    client = register(worker, consented=True, consent_note="Happy to be counted.").client
    db.session.commit()
    assert client.consent_central_reporting is True
    assert [r.consented for r in client.consent_records] == [True]


def test_registration_is_audited_with_the_client(worker: User) -> None:
    episode = register(worker)
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "client.create")).one()
    assert event.actor_id == worker.id
    assert event.client_id == episode.client_id
    assert event.object_type == "episode"
    assert event.object_id == str(episode.id)


# NHS number -------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["9434765919", "943 476 5919", " 943-476-5919 "])
def test_valid_nhs_number_is_accepted_and_normalised(worker: User, typed: str) -> None:
    client = register(worker, details=client_details(nhs_number=typed)).client
    db.session.commit()
    assert client.nhs_number == "9434765919"


def test_blank_nhs_number_is_stored_as_none(worker: User) -> None:
    client = register(worker, details=client_details(nhs_number="   ")).client
    assert client.nhs_number is None


def test_modulus_11_check() -> None:
    assert nhs_number_is_valid("9434765919")
    assert not nhs_number_is_valid("9434765918")  # wrong check digit
    assert nhs_number_is_valid("1234567881")  # 11 - 227 % 11 = 1
    assert nhs_number_is_valid("1234567830")  # 11 - 231 % 11 = 11, which means 0
    assert not nhs_number_is_valid("1234567831")
    # 123456789: 11 - 210 % 11 = 10, so no check digit makes it valid
    assert not any(nhs_number_is_valid(f"123456789{d}") for d in range(10))


@pytest.mark.parametrize(
    "typed",
    [
        "9434765918",  # wrong check digit
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "94347659I9",  # a letter
        "\u0669\u0664\u0663\u0664\u0667\u0666\u0665\u0669\u0661\u0669",  # Arabic-Indic digits
        "\u00b2" * 10,  # superscript two: str.isdigit() but not int()
    ],
)
def test_invalid_nhs_number_is_refused(worker: User, typed: str) -> None:
    error = refused(worker, details=client_details(nhs_number=typed))
    assert set(error.field_errors) == {"nhs_number"}
    assert "NHS number" in error.field_errors["nhs_number"]


def test_duplicate_nhs_number_is_refused(worker: User) -> None:
    register(worker, details=client_details(nhs_number=VALID_NHS_NUMBER))
    error = refused(worker, details=client_details(name="Someone Else", nhs_number="943 476 5919"))
    assert "already registered" in error.field_errors["nhs_number"]


# Dates ------------------------------------------------------------------------------


def test_future_date_of_birth_is_refused(worker: User) -> None:
    error = refused(worker, details=client_details(date_of_birth=TODAY + timedelta(days=1)))
    assert "date_of_birth" in error.field_errors


def test_date_of_birth_of_an_adult_turning_18_on_the_referral_date_is_accepted(
    worker: User,
) -> None:
    born = REFERRAL_DATE.replace(year=REFERRAL_DATE.year - 18)
    episode = register(worker, details=client_details(date_of_birth=born))
    assert episode.client.date_of_birth == born


def test_future_referral_date_is_refused(worker: User) -> None:
    error = refused(worker, referral_date=TODAY + timedelta(days=1))
    assert set(error.field_errors) == {"referral_date"}
    assert "future" in error.field_errors["referral_date"]


def test_referral_before_date_of_birth_is_refused(worker: User) -> None:
    error = refused(
        worker,
        details=client_details(date_of_birth=date(2020, 1, 1)),
        referral_date=date(2019, 12, 31),
    )
    assert set(error.field_errors) == {"referral_date"}
    assert "date of birth" in error.field_errors["referral_date"]


def test_every_bad_field_gets_its_own_message(worker: User) -> None:
    register(worker, details=client_details(nhs_number=VALID_NHS_NUMBER))
    error = refused(
        worker,
        details=client_details(name="  ", nhs_number=VALID_NHS_NUMBER),
        referral_date=TODAY + timedelta(days=3),
        presenting_problem="",
        referrer_expectation=" ",
        step=4,
    )
    assert set(error.field_errors) == {
        "name",
        "nhs_number",
        "referral_date",
        "presenting_problem",
        "referrer_expectation",
        "step",
    }
    assert error.message in error.field_errors.values()


def test_bad_date_of_birth_does_not_hide_the_other_referral_errors(worker: User) -> None:
    error = refused(
        worker,
        details=client_details(date_of_birth=TODAY + timedelta(days=1)),
        referral_date=TODAY + timedelta(days=1),
        presenting_problem="",
    )
    assert {"date_of_birth", "referral_date", "presenting_problem"} <= set(error.field_errors)


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "N" * 121), ("phone", "0" * 31), ("gp_practice", "G" * 121)],
)
def test_too_long_details_are_refused_on_the_field(worker: User, field: str, value: str) -> None:
    error = refused(worker, details=client_details(**{field: value}))
    assert set(error.field_errors) == {field}


@pytest.mark.parametrize(
    ("field", "value"), [("referrer_expectation", "x" * 41), ("presenting_problem", "y" * 61)]
)
def test_too_long_referral_fields_are_refused(worker: User, field: str, value: str) -> None:
    error = refused(worker, **{field: value})
    assert set(error.field_errors) == {field}


# Consent ----------------------------------------------------------------------------


def test_set_consent_keeps_history_newest_first(worker: User, user_factory: Any) -> None:
    client = register(worker, consent_note="Not asked yet.").client
    db.session.commit()
    other = user_factory()

    record = set_consent(other, client, consented=True, note="  Agreed on the phone.  ")
    db.session.commit()
    db.session.expire_all()

    assert client.consent_central_reporting is True
    assert [r.consented for r in client.consent_records] == [True, False]
    newest = client.consent_records[0]
    assert newest.id == record.id
    assert newest.recorded_by_id == other.id
    assert newest.note == "Agreed on the phone."
    assert newest.recorded_at >= client.consent_records[1].recorded_at


def test_withdrawal_updates_the_flag(worker: User) -> None:
    client = register(worker, consented=True).client
    set_consent(worker, client, consented=False, note="Withdrew consent today.")
    db.session.commit()
    db.session.expire_all()
    assert client.consent_central_reporting is False
    assert (
        db.session.scalar(select(Client.consent_central_reporting).where(Client.id == client.id))
        is False
    )
    assert len(client.consent_records) == 2


def test_consent_change_is_audited(worker: User) -> None:
    client = register(worker).client
    set_consent(worker, client, consented=True, note="Agreed.")
    db.session.commit()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "consent.change")
    ).one()
    assert event.client_id == client.id
    assert event.actor_id == worker.id
    assert event.detail == {"consent": "yes", "consented": True}


@pytest.mark.parametrize("note", ["", "   "])
def test_consent_change_needs_a_note(worker: User, note: str) -> None:
    client = register(worker).client
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        set_consent(worker, client, consented=True, note=note)
    assert "consent_note" in caught.value.field_errors
    db.session.rollback()
    assert row_counts() == before
    assert client.consent_central_reporting is False
    assert audit_actions(action="consent.change") == []
    assert len(db.session.scalars(select(ConsentRecord)).all()) == 1
