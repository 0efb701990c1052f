"""Registration to the national dataset on a real database: every new field validated and
stored, the age rule, consent in three states, and registration from the form (the
dataset's questions answered, likely duplicates confirmed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from caseload.demo import plan_demo_service
from caseload.domain.codes import (
    ConsentState,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    Role,
    SexualOrientation,
    YesNoNotStated,
)
from caseload.domain.registration import normalise_gp_practice_code, normalise_postcode
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Client, ConsentRecord, User
from caseload.reporting.base import consented_client_ids
from caseload.services import ServiceError
from caseload.services.clients import Demographics, register_client, set_consent
from caseload.services.registration import (
    REQUIRED_AT_REFERRAL,
    duplicate_candidates,
    register_new_client,
)
from tests.services.factories import (
    REFERRAL_DATE,
    TODAY,
    VALID_NHS_NUMBER,
    audit_actions,
    client_details,
    referral,
    register,
    row_counts,
)

#: Every dataset answer given, as a worker gives them on the form.
ANSWERED = Demographics(
    gender_identity=GenderIdentity.NON_BINARY,
    ethnic_category=EthnicCategory.ASIAN_BANGLADESHI,
    employment_status=EmploymentStatus.UNEMPLOYED_SEEKING_WORK,
    long_term_condition=YesNoNotStated.YES,
    disability=YesNoNotStated.NOT_STATED,
    sexual_orientation=SexualOrientation.UNSURE,
    preferred_language="Bengali",
    interpreter_needed=True,
)


def born_years_before(years: int, day: date = REFERRAL_DATE, *, days: int = 0) -> date:
    """A date of birth ``years`` before ``day``, moved by ``days``."""
    return day.replace(year=day.year - years) + timedelta(days=days)


def refused(worker: User, **kwargs: Any) -> ServiceError:
    """Register with bad input; assert nothing was saved and return the error."""
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        register(worker, **kwargs)
    db.session.rollback()
    assert row_counts() == before
    return caught.value


def from_the_form(worker: User, **overrides: Any) -> Any:
    """Register as the form does (dataset answers, duplicate check), flushed."""
    values: dict[str, Any] = {
        "details": client_details(),
        "demographics": ANSWERED,
        "referral": referral(),
        "consent": ConsentState.NOT_ASKED,
        "consent_note": "",
        "today": TODAY,
        "different_person": False,
    }
    return register_new_client(worker, **(values | overrides))


# Every new field is validated and stored -------------------------------------------------


def test_every_registration_field_is_stored(worker: User) -> None:
    details = client_details(
        nhs_number=VALID_NHS_NUMBER,
        phone=" 07700 900123 ",
        may_leave_message=True,
        sms_allowed=False,
        gp_practice_code="a81001",
        postcode="ls1 4ap",
        emergency_contact_name="  Sam Example ",
        emergency_contact_relationship="Partner",
        emergency_contact_phone="07700 900456",
    )
    client_id = register_client(
        worker,
        details=details,
        demographics=ANSWERED,
        referral=referral(),
        consent=ConsentState.YES,
        consent_note="Agreed.",
        today=TODAY,
    ).client_id
    db.session.commit()
    db.session.expire_all()

    client = db.session.get(Client, client_id)
    assert client is not None
    assert (client.phone, client.may_leave_message, client.sms_allowed) == (
        "07700 900123",
        True,
        False,
    )
    assert (client.gp_practice_code, client.postcode) == ("A81001", "LS1 4AP")
    assert (
        client.emergency_contact_name,
        client.emergency_contact_relationship,
        client.emergency_contact_phone,
    ) == ("Sam Example", "Partner", "07700 900456")
    assert client.gender_identity is GenderIdentity.NON_BINARY
    assert client.ethnic_category is EthnicCategory.ASIAN_BANGLADESHI
    assert client.employment_status is EmploymentStatus.UNEMPLOYED_SEEKING_WORK
    assert client.long_term_condition is YesNoNotStated.YES
    assert client.disability is YesNoNotStated.NOT_STATED
    assert client.sexual_orientation is SexualOrientation.UNSURE
    assert (client.preferred_language, client.interpreter_needed) == ("Bengali", True)
    assert client.consent_state is ConsentState.YES
    assert client.consent_central_reporting is True


def test_unanswered_details_are_stored_as_not_recorded(worker: User) -> None:
    client = register(worker).client
    db.session.commit()
    db.session.expire_all()
    assert client.postcode is None
    assert client.gp_practice_code is None
    assert client.emergency_contact_name is None
    assert client.gender_identity is None
    assert client.sexual_orientation is None
    assert client.preferred_language is None
    assert (client.may_leave_message, client.sms_allowed, client.interpreter_needed) == (
        False,
        False,
        False,
    )


@pytest.mark.parametrize("postcode", ["12345", "SW1A", "LS1 4A", "SW1A 1AAA", "ＳＷ1A 1AA"])
def test_a_postcode_of_the_wrong_shape_is_refused(worker: User, postcode: str) -> None:
    error = refused(worker, details=client_details(postcode=postcode))
    assert error.field_errors == {"postcode": "Enter a real UK postcode, like SW1A 1AA."}


@pytest.mark.parametrize("code", ["81001A", "AB1001", "A8100", "A810011", "GP practice"])
def test_a_gp_practice_code_of_the_wrong_shape_is_refused(worker: User, code: str) -> None:
    error = refused(worker, details=client_details(gp_practice_code=code))
    assert set(error.field_errors) == {"gp_practice_code"}
    assert "a letter and 5 numbers" in error.field_errors["gp_practice_code"]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"emergency_contact_name": "Sam Example"}, "emergency_contact_phone"),
        ({"emergency_contact_phone": "07700 900456"}, "emergency_contact_name"),
        ({"emergency_contact_relationship": "Partner"}, "emergency_contact_name"),
    ],
)
def test_an_emergency_contact_needs_a_name_and_a_phone(
    worker: User, given: dict[str, str], field: str
) -> None:
    error = refused(worker, details=client_details(**given))
    assert set(error.field_errors) == {field}


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("emergency_contact_name", 120),
        ("emergency_contact_relationship", 60),
        ("emergency_contact_phone", 30),
    ],
)
def test_too_long_contact_fields_are_refused(worker: User, field: str, limit: int) -> None:
    given = {"emergency_contact_name": "Sam", "emergency_contact_phone": "07700 900456"}
    details = client_details(**(given | {field: "x" * 501}))
    error = refused(worker, details=details)
    assert error.field_errors[field] == f"Use at most {limit} characters."


def test_a_too_long_preferred_language_is_refused(worker: User) -> None:
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        register_client(
            worker,
            details=client_details(),
            demographics=Demographics(preferred_language="x" * 61),
            referral=referral(),
            today=TODAY,
        )
    assert caught.value.field_errors == {"preferred_language": "Use at most 60 characters."}


# The age rule ----------------------------------------------------------------------------


def test_a_client_of_17_on_the_referral_date_is_refused_naming_the_age(worker: User) -> None:
    error = refused(worker, details=client_details(date_of_birth=born_years_before(18, days=1)))
    assert error.field_errors == {
        "date_of_birth": "This service takes referrals from age 18: the client was 17 on the "
        "referral date."
    }


def test_a_client_turning_18_on_the_referral_date_is_accepted(worker: User) -> None:
    episode = register(worker, details=client_details(date_of_birth=born_years_before(18)))
    assert episode.client.age_on(episode.referral_date) == 18


def test_age_is_taken_on_the_referral_date_not_today(worker: User) -> None:
    # 18 today, but 17 when the referral came in a week ago.
    born = born_years_before(18, TODAY, days=-3)
    assert born > born_years_before(18)
    error = refused(worker, details=client_details(date_of_birth=born))
    assert "was 17 on the referral date" in error.field_errors["date_of_birth"]


def test_a_setting_of_16_allows_16_and_17_year_olds(app: Flask, worker: User) -> None:
    app.config["MINIMUM_AGE"] = 16
    sixteen = register(worker, details=client_details(date_of_birth=born_years_before(16)))
    seventeen = register(
        worker,
        details=client_details(name="Sam Other", date_of_birth=born_years_before(17, days=-30)),
    )
    assert [sixteen.client.age_on(REFERRAL_DATE), seventeen.client.age_on(REFERRAL_DATE)] == [
        16,
        17,
    ]
    too_young = client_details(name="Kit Young", date_of_birth=born_years_before(16, days=1))
    error = refused(worker, details=too_young)
    assert "takes referrals from age 16: the client was 15" in error.field_errors["date_of_birth"]


# Consent in three states ---------------------------------------------------------------


@pytest.mark.parametrize("state", list(ConsentState))
def test_each_consent_state_is_stored_at_registration(worker: User, state: ConsentState) -> None:
    client = register_client(
        worker, details=client_details(), referral=referral(), consent=state, today=TODAY
    ).client
    db.session.commit()
    db.session.expire_all()
    assert client.consent_state is state
    assert client.consent_central_reporting is (state is ConsentState.YES)
    [record] = client.consent_records
    assert (record.consent_state, record.consented) == (state, state is ConsentState.YES)


def test_registration_defaults_to_not_asked_yet(worker: User) -> None:
    client = register_client(
        worker, details=client_details(), referral=referral(), today=TODAY
    ).client
    assert client.consent_state is ConsentState.NOT_ASKED


def test_the_older_yes_no_spelling_still_means_what_it_did(worker: User) -> None:
    """At registration "no" was "No, or not asked yet"; on the consent page, "does not consent"."""
    agreed = register(worker, consented=True).client
    unasked = register(worker, details=client_details(name="Sam Other"), consented=False).client
    assert (agreed.consent_state, unasked.consent_state) == (
        ConsentState.YES,
        ConsentState.NOT_ASKED,
    )
    set_consent(worker, agreed, consented=False, note="Withdrew.")
    assert agreed.consent_state is ConsentState.DECLINED


@pytest.mark.parametrize("state", list(ConsentState))
def test_set_consent_records_each_state_and_keeps_the_flag_in_step(
    worker: User, state: ConsentState
) -> None:
    client = register(worker, consented=True).client
    record = set_consent(worker, client, consent=state, note="Asked again today.")
    db.session.commit()
    db.session.expire_all()
    assert client.consent_state is state
    assert client.consent_central_reporting is (state is ConsentState.YES)
    assert (record.consent_state, record.consented) == (state, state is ConsentState.YES)
    assert [r.consent_state for r in client.consent_records] == [state, ConsentState.YES]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "consent.change")
    ).one()
    assert event.detail == {"consent": state.value, "consented": state is ConsentState.YES}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE clients SET consent_central_reporting = true",
        "UPDATE clients SET consent_state = 'declined'",
        "UPDATE consent_records SET consented = false",
    ],
)
def test_the_database_refuses_a_flag_out_of_step_with_the_state(
    worker: User, statement: str
) -> None:
    register(worker, consented=False)
    client = register(worker, details=client_details(name="Sam Other"), consented=True).client
    db.session.commit()
    if "consented" in statement:
        statement += f" WHERE client_id = {client.id}"
    elif "declined" in statement:
        statement += f" WHERE id = {client.id}"
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text(statement))
    db.session.rollback()


#: A client's answers over time: at registration, then each change on the consent page.
consent_histories = st.lists(st.sampled_from(list(ConsentState)), min_size=1, max_size=4)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories=st.lists(consent_histories, min_size=1, max_size=6))
def test_only_yes_is_reportable(worker: User, histories: list[list[ConsentState]]) -> None:
    # Each example runs in a savepoint rolled back at the end, on the shared app fixture.
    savepoint = db.session.begin_nested()
    try:
        final: dict[int, ConsentState] = {}
        for number, (first, *changes) in enumerate(histories):
            client = register_client(
                worker,
                details=client_details(name=f"Client {number}"),
                referral=referral(),
                consent=first,
                today=TODAY,
            ).client
            for state in changes:
                set_consent(worker, client, consent=state, note="Asked again.")
            final[client.id] = client.consent_state
        reportable = set(db.session.scalars(consented_client_ids()))
        assert reportable == {cid for cid, state in final.items() if state is ConsentState.YES}
        assert all(histories[i][-1] is state for i, state in enumerate(final.values()))
    finally:
        savepoint.rollback()
        db.session.expire_all()


# Registration from the form: the dataset's questions and likely duplicates ------------------


@pytest.mark.parametrize("field", sorted(REQUIRED_AT_REFERRAL))
def test_the_form_needs_each_answer_the_dataset_needs_at_referral(worker: User, field: str) -> None:
    with pytest.raises(ServiceError) as caught:
        from_the_form(worker, demographics=replace(ANSWERED, **{field: None}))
    assert set(caught.value.field_errors) == {field}
    assert "'Not stated'" in caught.value.field_errors[field]


def test_the_form_accepts_not_stated_and_leaves_sexual_orientation_optional(worker: User) -> None:
    episode = from_the_form(
        worker,
        demographics=Demographics(
            gender_identity=GenderIdentity.NOT_STATED,
            ethnic_category=EthnicCategory.NOT_STATED,
            employment_status=EmploymentStatus.NOT_STATED,
            long_term_condition=YesNoNotStated.NOT_STATED,
            disability=YesNoNotStated.NOT_STATED,
        ),
    )
    assert episode.client.ethnic_category is EthnicCategory.NOT_STATED
    assert episode.client.sexual_orientation is None


def test_the_form_gives_every_problem_at_once(worker: User) -> None:
    with pytest.raises(ServiceError) as caught:
        from_the_form(
            worker,
            details=client_details(name=" ", postcode="nowhere"),
            demographics=Demographics(),
        )
    assert {"name", "postcode", *REQUIRED_AT_REFERRAL} <= set(caught.value.field_errors)


def test_a_likely_duplicate_needs_the_workers_word_then_is_kept_in_the_audit(
    worker: User, user_factory: Any
) -> None:
    other = user_factory(Role.WORKER, team="South team")
    existing = register(other, details=client_details(name="Alexandra Example")).client
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError) as caught:
        from_the_form(worker)  # "Alex Example", same date of birth
    assert set(caught.value.field_errors) == {"different_person"}
    db.session.rollback()
    assert row_counts() == before

    episode = from_the_form(worker, different_person=True)
    db.session.commit()
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "client.create", AuditEvent.client_id == episode.client_id
        )
    ).one()
    assert event.detail == {"not_duplicate_of": [existing.id]}


def test_a_different_name_or_birthday_is_no_duplicate(worker: User) -> None:
    register(worker, details=client_details(name="Alex Example"))
    register(worker, details=client_details(name="Jordan Smith", date_of_birth=date(1980, 1, 1)))
    from_the_form(worker, details=client_details(name="Jordan Smith"))
    from_the_form(
        worker, details=client_details(name="Alex Example", date_of_birth=date(1991, 4, 1))
    )


def test_the_same_nhs_number_is_refused_whatever_the_worker_says(worker: User) -> None:
    register(worker, details=client_details(name="Robin Hood", nhs_number=VALID_NHS_NUMBER))
    with pytest.raises(ServiceError) as caught:
        from_the_form(
            worker,
            details=client_details(name="Someone Else", nhs_number=VALID_NHS_NUMBER),
            different_person=True,
        )
    assert set(caught.value.field_errors) == {"nhs_number"}


def test_showing_likely_duplicates_is_audited_with_the_clients(worker: User) -> None:
    existing = register(worker).client
    db.session.commit()
    assert duplicate_candidates(worker, client_details(name="Alex Exampel")) != []
    assert duplicate_candidates(worker, client_details(name="Nobody Else")) == []
    db.session.commit()
    assert audit_actions(action="client.duplicate_warning") == ["client.duplicate_warning"]
    shown = db.session.scalars(
        select(AuditEventClient.client_id)
        .join(AuditEvent, AuditEvent.id == AuditEventClient.audit_event_id)
        .where(AuditEvent.action == "client.duplicate_warning")
    ).all()
    assert shown == [existing.id]


def test_consent_records_are_newest_first_even_within_one_moment(worker: User) -> None:
    client = register(worker).client
    set_consent(worker, client, consent=ConsentState.YES, note="Agreed.")
    set_consent(worker, client, consent=ConsentState.DECLINED, note="Changed their mind.")
    moment = client.consent_records[0].recorded_at
    for record in client.consent_records:
        record.recorded_at = moment
    db.session.commit()
    db.session.expire_all()
    assert [r.consent_state for r in db.session.get(Client, client.id).consent_records] == [
        ConsentState.DECLINED,
        ConsentState.YES,
        ConsentState.NOT_ASKED,
    ]
    assert db.session.scalar(select(sa.func.count()).select_from(ConsentRecord)) == 3


# The demo service ---------------------------------------------------------------------------


def test_the_demo_gives_clients_plausible_registration_details_and_all_consent_states() -> None:
    episodes, _notes = plan_demo_service(
        seed=2009, today=date(2026, 3, 2), now=datetime(2026, 3, 2, 12, tzinfo=UTC), clients=120
    )
    people = [plan.demographics for plan in episodes]
    assert all(p.gender_identity and p.ethnic_category and p.employment_status for p in people)
    assert {p.long_term_condition for p in people} == set(YesNoNotStated)
    assert any(p.sexual_orientation is None for p in people)
    assert any(p.interpreter_needed for p in people) or any(p.preferred_language for p in people)
    assert {plan.consent_first for plan in episodes} == set(ConsentState)
    unasked = [plan for plan in episodes if plan.consent_first is ConsentState.NOT_ASKED]
    assert all(plan.consent_note == "" for plan in unasked)
    for plan in episodes:
        details = plan.details
        assert normalise_postcode(details.postcode) == details.postcode
        assert normalise_gp_practice_code(details.gp_practice_code) == details.gp_practice_code
        assert bool(details.emergency_contact_name) is bool(details.emergency_contact_phone)


# The day the client answered ----------------------------------------------------------------


def test_registration_records_the_answer_as_given_today(worker: User) -> None:
    [record] = register(worker, consented=True).client.consent_records
    assert record.answered_on == TODAY


def test_a_consent_change_keeps_the_day_the_client_answered(worker: User) -> None:
    client = register(worker).client
    record = set_consent(
        worker,
        client,
        consent=ConsentState.YES,
        note="Agreed at the first session.",
        answered_on=REFERRAL_DATE + timedelta(days=2),
        today=TODAY,
    )
    assert record.answered_on == REFERRAL_DATE + timedelta(days=2)
    unknown = set_consent(worker, client, consent=ConsentState.DECLINED, note="Withdrew.")
    assert unknown.answered_on is None


@pytest.mark.parametrize(
    ("answered_on", "message"),
    [
        (TODAY + timedelta(days=1), "must be today or in the past"),
        (REFERRAL_DATE - timedelta(days=1), "cannot be before their first referral"),
    ],
)
def test_an_impossible_day_for_the_answer_is_refused(
    worker: User, answered_on: date, message: str
) -> None:
    client = register(worker).client
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        set_consent(
            worker,
            client,
            consent=ConsentState.YES,
            note="Agreed.",
            answered_on=answered_on,
            today=TODAY,
        )
    assert message in caught.value.field_errors["answered_on"]
    db.session.rollback()
    assert client.consent_state is ConsentState.NOT_ASKED
