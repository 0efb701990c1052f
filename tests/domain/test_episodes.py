"""summarise_episode: which contacts give scores, first/last selection, DNA runs, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caseload.domain.codes import AttendanceCode as A
from caseload.domain.codes import ContactType as T
from caseload.domain.codes import RiskLevel
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    episode_outcome_from_summary,
    score_series,
    summarise_episode,
)

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def contact(
    n: int,
    attendance: A = A.ATTENDED_ON_TIME,
    kind: T = T.TREATMENT,
    phq9: int | None = None,
    gad7: int | None = None,
    **extra: object,
) -> ContactFacts:
    """Contact number n, a week apart."""
    return ContactFacts(
        contact_id=n,
        occurred_at=START + timedelta(weeks=n - 1),
        contact_type=kind,
        attendance=attendance,
        phq9_total=phq9,
        gad7_total=gad7,
        **extra,  # type: ignore[arg-type]
    )


def test_empty_episode() -> None:
    assert summarise_episode([]) == EpisodeSummaryFacts()


def test_first_and_last_from_attended_contacts_in_time_order() -> None:
    contacts = [
        contact(3, phq9=12, gad7=9),
        contact(1, kind=T.ASSESSMENT, phq9=18, gad7=14),
        contact(2, phq9=15, gad7=11),
    ]
    s = summarise_episode(contacts)
    assert (s.first_phq9, s.last_phq9, s.latest_phq9) == (18, 12, 12)
    assert (s.first_gad7, s.last_gad7, s.latest_gad7) == (14, 9, 9)
    assert (s.first_phq9_contact_id, s.last_phq9_contact_id) == (1, 3)
    assert s.attended_contacts == 3
    assert s.treatment_contacts == 2  # the pure assessment is not treatment
    assert s.first_contact_at == START
    assert s.first_treatment_at == START + timedelta(weeks=1)
    assert s.second_treatment_at == START + timedelta(weeks=2)
    assert s.last_attended_at == START + timedelta(weeks=2)


def test_booked_and_non_attended_contacts_never_give_scores() -> None:
    contacts = [
        contact(1, A.BOOKED, phq9=27, gad7=21),
        contact(2, phq9=14, gad7=12),
        contact(3, A.DID_NOT_ATTEND, phq9=1, gad7=1),
        contact(4, A.CANCELLED_BY_PATIENT, phq9=2, gad7=2),
        contact(5, A.CANCELLED_BY_PROVIDER, phq9=3, gad7=3),
        contact(6, A.ARRIVED_LATE_NOT_SEEN, phq9=4, gad7=4),
        contact(7, A.BOOKED, phq9=5, gad7=5),
    ]
    s = summarise_episode(contacts)
    assert (s.first_phq9, s.last_phq9, s.first_gad7, s.last_gad7) == (14, None, 12, None)
    assert s.attended_contacts == 1


def test_single_score_gives_last_none_and_latest_equal_first() -> None:
    s = summarise_episode([contact(1, phq9=11, gad7=None), contact(2, phq9=None, gad7=9)])
    assert (s.first_phq9, s.last_phq9, s.latest_phq9) == (11, None, 11)
    assert (s.first_gad7, s.last_gad7, s.latest_gad7) == (9, None, 9)
    assert s.last_phq9_contact_id is None


def test_first_and_last_of_each_measure_come_from_its_own_contacts() -> None:
    s = summarise_episode(
        [
            contact(1, phq9=16),
            contact(2, gad7=12),
            contact(3, phq9=10, gad7=10),
            contact(4, gad7=6),
            contact(5, kind=T.REVIEW),
        ]
    )
    assert (s.first_phq9, s.last_phq9) == (16, 10)
    assert (s.first_gad7, s.last_gad7) == (12, 6)


def test_arrived_late_seen_counts_as_attended() -> None:
    s = summarise_episode([contact(1, A.ARRIVED_LATE_SEEN, phq9=10, gad7=8)])
    assert s.attended_contacts == 1
    assert s.first_phq9 == 10


def test_wsas_first_and_last() -> None:
    s = summarise_episode([contact(1, wsas_total=25), contact(2), contact(3, wsas_total=12)])
    assert (s.first_wsas, s.last_wsas, s.latest_wsas) == (25, 12, 12)


def test_latest_item9_and_risk_come_from_latest_attended_contact_recording_them() -> None:
    s = summarise_episode(
        [
            contact(1, phq9=20, phq9_item9=2, risk_level=RiskLevel.HIGH),
            contact(2, phq9=15, phq9_item9=1, risk_level=RiskLevel.MODERATE),
            contact(3, phq9=None),
            contact(4, A.DID_NOT_ATTEND, phq9_item9=0, risk_level=RiskLevel.NONE),
        ]
    )
    assert s.latest_item9 == 1
    assert s.latest_item9_at == START + timedelta(weeks=1)
    assert s.latest_risk_level is RiskLevel.MODERATE


def test_consecutive_dnas_trailing_run() -> None:
    base = [contact(1, phq9=10, gad7=10)]
    assert summarise_episode(base).consecutive_dnas == 0
    s = summarise_episode([*base, contact(2, A.DID_NOT_ATTEND), contact(3, A.DID_NOT_ATTEND)])
    assert s.consecutive_dnas == 2


def test_dna_run_counts_late_not_seen_and_skips_cancellations() -> None:
    s = summarise_episode(
        [
            contact(1),
            contact(2, A.DID_NOT_ATTEND),
            contact(3, A.CANCELLED_BY_PROVIDER),
            contact(4, A.CANCELLED_BY_PATIENT),
            contact(5, A.ARRIVED_LATE_NOT_SEEN),
            contact(6, A.BOOKED),
        ]
    )
    assert s.consecutive_dnas == 2


def test_attendance_breaks_dna_run() -> None:
    s = summarise_episode(
        [
            contact(1, A.DID_NOT_ATTEND),
            contact(2, A.DID_NOT_ATTEND),
            contact(3),
            contact(4, A.DID_NOT_ATTEND),
        ]
    )
    assert s.consecutive_dnas == 1


def test_missing_measures_counts_attended_treatment_contacts_only() -> None:
    s = summarise_episode(
        [
            contact(1, kind=T.ASSESSMENT),  # not treatment
            contact(2, phq9=10, gad7=None),  # missing GAD-7
            contact(3, phq9=10, gad7=9),  # complete
            contact(4, measures_not_collected=True),  # missing, with a reason
            contact(5, A.DID_NOT_ATTEND),  # not attended
            contact(6, kind=T.ASSESSMENT_AND_TREATMENT),  # treatment, missing
        ]
    )
    assert s.treatment_contacts == 4
    assert s.attended_missing_measures == 3
    assert s.missing_measures_with_reason == 1
    assert s.attended_with_both_measures == 1


def test_outcome_from_summary() -> None:
    s = summarise_episode(
        [
            contact(1, kind=T.ASSESSMENT, phq9=14, gad7=12),
            contact(2, phq9=9),
            contact(3, phq9=6, gad7=5),
        ]
    )
    o = episode_outcome_from_summary(s, ended=True)
    assert o.finished_treatment
    assert o.paired
    assert o.reliable_recovery


def test_single_contact_episode_is_not_paired() -> None:
    s = summarise_episode([contact(1, kind=T.ASSESSMENT_AND_TREATMENT, phq9=14, gad7=12)])
    o = episode_outcome_from_summary(s, ended=True)
    assert not o.paired
    assert not o.finished_treatment


def test_score_series() -> None:
    phq9, gad7 = score_series(
        [contact(2, phq9=12, gad7=9), contact(1, phq9=15), contact(3, A.DID_NOT_ATTEND, phq9=1)]
    )
    assert (phq9, gad7) == ((15, 12), (9,))
