"""The clinical vocabulary: labels, stable values and derived properties."""

from __future__ import annotations

import re
from enum import Enum, StrEnum

import pytest

from caseload.domain import codes
from caseload.domain.codes import (
    AttendanceCode,
    ContactType,
    EntryStatus,
    EpisodeStatus,
    ReflectiveTheme,
    Role,
    Severity,
)
from caseload.domain.flags import FlagKind
from caseload.domain.outcomes import OutcomeCategory, ReliableChange

ENUMS: list[type[Enum]] = [
    obj
    for obj in vars(codes).values()
    if isinstance(obj, type) and issubclass(obj, Enum) and obj.__module__ == codes.__name__
] + [FlagKind, OutcomeCategory, ReliableChange]


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_member_has_a_label(enum: type[Enum]) -> None:
    for member in enum:
        label = member.label  # type: ignore[attr-defined]
        assert isinstance(label, str)
        assert label.strip()


@pytest.mark.parametrize(
    "enum", [e for e in ENUMS if issubclass(e, StrEnum)], ids=lambda e: e.__name__
)
def test_string_values_are_stable_lowercase_snake(enum: type[StrEnum]) -> None:
    for member in enum:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", member.value), member
        assert member.value == member.name.lower()


def test_attendance_codes_follow_the_data_dictionary() -> None:
    assert [int(c) for c in AttendanceCode] == [0, 2, 3, 4, 5, 6, 7]
    assert {c for c in AttendanceCode if c.attended} == {
        AttendanceCode.ATTENDED_ON_TIME,
        AttendanceCode.ARRIVED_LATE_SEEN,
    }
    assert {c for c in AttendanceCode if c.is_dna} == {
        AttendanceCode.DID_NOT_ATTEND,
        AttendanceCode.ARRIVED_LATE_NOT_SEEN,
    }
    assert AttendanceCode.BOOKED.label == "Booked, outcome not yet recorded"


def test_treatment_contact_types() -> None:
    assert {t for t in ContactType if t.is_treatment} == {
        ContactType.TREATMENT,
        ContactType.ASSESSMENT_AND_TREATMENT,
    }


def test_reflective_themes_are_the_eleven_domains() -> None:
    assert len(ReflectiveTheme) == 11
    assert ReflectiveTheme.NEW_ROLE.label == "Excitement and anxiety in a new role"
    assert ReflectiveTheme.CAREER_PROGRESSION.label == "Career and progression"


def test_severity_rank_puts_red_first() -> None:
    assert sorted(Severity, key=lambda s: s.rank) == [Severity.RED, Severity.AMBER, Severity.INFO]


def test_episode_status_open() -> None:
    assert [s for s in EpisodeStatus if not s.is_open] == [EpisodeStatus.DISCHARGED]


def test_roles_and_their_labels() -> None:
    assert [r.value for r in Role] == ["worker", "supervisor", "lead", "admin"]
    assert [r.label for r in Role] == [
        "Practitioner",
        "Supervisor",
        "Service lead",
        "Administrator",
    ]


def test_entry_statuses_and_their_labels() -> None:
    assert [s.value for s in EntryStatus] == ["current", "superseded", "entered_in_error"]
    assert [s.label for s in EntryStatus] == ["Current", "Corrected", "Entered in error"]


def test_role_and_entry_status_live_in_the_domain_vocabulary() -> None:
    assert Role in ENUMS
    assert EntryStatus in ENUMS
