"""Registration rules with no app: age on a day, postcode and GP practice code formats, the
NHS number as people read it, and the national codes of the dataset's answers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseload.domain.codes import (
    ConsentState,
    EmploymentStatus,
    EthnicCategory,
    GenderIdentity,
    SexualOrientation,
    YesNoNotStated,
)
from caseload.domain.registration import (
    age_on,
    format_nhs_number,
    normalise_gp_practice_code,
    normalise_postcode,
)


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2008, 6, 2), date(2026, 6, 1), 17),  # the day before the 18th birthday
        (date(2008, 6, 2), date(2026, 6, 2), 18),  # the birthday itself
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # a leap-day birthday in a common year ...
        (date(2008, 2, 29), date(2026, 3, 1), 18),  # ... falls on 1 March
        (date(2008, 2, 29), date(2028, 2, 29), 20),
        (date(1990, 12, 31), date(1991, 1, 1), 0),
    ],
)
def test_age_on_a_day(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


@given(born=st.dates(max_value=date(2100, 1, 1)), days=st.integers(0, 50_000))
def test_age_never_falls_and_grows_by_one_a_year(born: date, days: int) -> None:
    day = born + timedelta(days=days)
    age = age_on(born, day)
    assert 0 <= age <= days // 365
    assert age_on(born, day + timedelta(days=1)) in (age, age + 1)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("SW1A 1AA", "SW1A 1AA"),
        ("sw1a1aa", "SW1A 1AA"),
        (" ls1  4ap ", "LS1 4AP"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("zz99 3vz", "ZZ99 3VZ"),  # the NHS pseudo-postcode for no fixed abode
    ],
)
def test_postcodes_are_stored_in_capitals_with_one_space(typed: str, stored: str) -> None:
    assert normalise_postcode(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "SW1A", "LS1 4A", "Q", "SW1A 1AAA", "1SW 1AA", "ＳＷ1A 1AA", "SW1A 1A٣", "S W 1"],
)
def test_what_is_not_a_postcode_is_refused(typed: str) -> None:
    assert normalise_postcode(typed) is None


@pytest.mark.parametrize(
    ("typed", "stored"), [("A81001", "A81001"), ("a81001", "A81001"), (" b86 101 ", "B86101")]
)
def test_gp_practice_codes_are_a_letter_and_five_digits(typed: str, stored: str) -> None:
    assert normalise_gp_practice_code(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "81001A", "AB1001", "A8100", "A810011", "A8100O", "Ａ81001", "A٨1001"]
)
def test_what_is_not_a_gp_practice_code_is_refused(typed: str) -> None:
    assert normalise_gp_practice_code(typed) is None


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("9434765919", "943 476 5919"),
        ("943 476 5919", "943 476 5919"),
        ("", ""),
        ("12345", "12345"),
        ("１２３４５６７８９０", "１２３４５６７８９０"),
    ],
)
def test_nhs_numbers_are_shown_spaced_3_3_4(stored: str, shown: str) -> None:
    assert format_nhs_number(stored) == shown


def test_only_yes_is_reportable() -> None:
    assert {state for state in ConsentState if state.reportable} == {ConsentState.YES}


def test_the_dataset_answers_carry_their_national_codes() -> None:
    assert [c.national_code for c in EthnicCategory][:3] == ["A", "B", "C"]
    assert EthnicCategory.NOT_STATED.national_code == "Z"
    assert EthnicCategory.NOT_KNOWN.national_code == "99"
    assert GenderIdentity.NOT_STATED.national_code == "Z"
    assert GenderIdentity.NOT_KNOWN.national_code == "X"
    assert [c.national_code for c in EmploymentStatus] == [
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
        "08",
        "ZZ",
    ]
    assert SexualOrientation.UNSURE.national_code == "U"
    assert [c.national_code for c in YesNoNotStated] == ["Y", "N", "Z"]
    for enum in (EthnicCategory, GenderIdentity, EmploymentStatus, SexualOrientation):
        codes = [member.national_code for member in enum]  # type: ignore[attr-defined]
        assert len(set(codes)) == len(codes), enum
        assert any("not stated" in member.label.lower() for member in enum), enum
