"""summarise_episode: which contacts give scores, first/last selection, DNA runs, dates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from caseload.domain.codes import AttendanceCode as A
from caseload.domain.codes import ContactType as T
from caseload.domain.codes import EpisodeStatus, RiskLevel
from caseload.domain.episodes import (
    ContactFacts,
    EpisodeSummaryFacts,
    MeasureSeries,
    episode_outcome_from_summary,
    episode_status,
    has_every_contact_measure,
    summarise_episode,
)
from caseload.domain.measures import DEFAULT_DIRECTORY, GAD7, PHQ9, WSAS, load_measures

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def contact(
    n: int,
    attendance: A = A.ATTENDED_ON_TIME,
    kind: T = T.TREATMENT,
    phq9: int | None = None,
    gad7: int | None = None,
    *,
    wsas: int | None = None,
    item9: int | None = None,
    **extra: object,
) -> ContactFacts:
    """Contact number n, a week apart, with totals by keyword (None: not scored)."""
    totals = {m: t for m, t in ((PHQ9, phq9), (GAD7, gad7), (WSAS, wsas)) if t is not None}
    return ContactFacts(
        contact_id=n,
        occurred_at=START + timedelta(weeks=n - 1),
        contact_type=kind,
        attendance=attendance,
        totals=totals,
        risk_answers={} if item9 is None else {PHQ9: item9},
        **extra,  # type: ignore[arg-type]
    )


def week(n: int) -> datetime:
    """When contact number n took place."""
    return START + timedelta(weeks=n - 1)


def test_empty_episode() -> None:
    assert summarise_episode([]) == EpisodeSummaryFacts()


def test_first_and_last_from_attended_contacts_in_time_order() -> None:
    contacts = [
        contact(3, phq9=12, gad7=9),
        contact(1, kind=T.ASSESSMENT, phq9=18, gad7=14),
        contact(2, phq9=15, gad7=11),
    ]
    s = summarise_episode(contacts)
    assert (s.first(PHQ9), s.last(PHQ9), s.latest(PHQ9)) == (18, 12, 12)
    assert (s.first(GAD7), s.last(GAD7), s.latest(GAD7)) == (14, 9, 9)
    phq9 = s.series(PHQ9)
    assert (phq9.first_contact_id, phq9.last_contact_id) == (1, 3)
    assert (s.series(GAD7).first_contact_id, s.series(GAD7).last_contact_id) == (1, 3)
    assert (phq9.first_at, phq9.latest_at) == (week(1), week(3))
    assert phq9.totals == (18, 15, 12)
    assert [m.measure_id for m in s.measures] == [GAD7, PHQ9]  # ordered by measure id
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
    assert (s.first(PHQ9), s.last(PHQ9), s.first(GAD7), s.last(GAD7)) == (14, None, 12, None)
    assert s.series(PHQ9).totals == (14,)
    assert s.series(GAD7).totals == (12,)
    assert s.attended_contacts == 1


def test_single_score_gives_last_none_and_latest_equal_first() -> None:
    s = summarise_episode([contact(1, phq9=11, gad7=None), contact(2, phq9=None, gad7=9)])
    assert (s.first(PHQ9), s.last(PHQ9), s.latest(PHQ9)) == (11, None, 11)
    assert (s.first(GAD7), s.last(GAD7), s.latest(GAD7)) == (9, None, 9)
    assert s.series(PHQ9).last_contact_id is None
    assert s.series(PHQ9).first_contact_id == 1
    assert s.series(PHQ9).latest_at == week(1)


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
    assert (s.first(PHQ9), s.last(PHQ9)) == (16, 10)
    assert (s.first(GAD7), s.last(GAD7)) == (12, 6)
    assert (s.series(PHQ9).first_contact_id, s.series(PHQ9).last_contact_id) == (1, 3)
    assert (s.series(GAD7).first_contact_id, s.series(GAD7).last_contact_id) == (2, 4)


def test_arrived_late_seen_counts_as_attended() -> None:
    s = summarise_episode([contact(1, A.ARRIVED_LATE_SEEN, phq9=10, gad7=8)])
    assert s.attended_contacts == 1
    assert s.first(PHQ9) == 10


def test_wsas_first_and_last() -> None:
    s = summarise_episode([contact(1, wsas=25), contact(2), contact(3, wsas=12)])
    assert (s.first(WSAS), s.last(WSAS), s.latest(WSAS)) == (25, 12, 12)
    assert [m.measure_id for m in s.measures] == [WSAS]


def test_unscored_measure_has_an_empty_series() -> None:
    s = summarise_episode([contact(1, phq9=12)])
    assert s.series(GAD7) == MeasureSeries(GAD7)
    assert (s.first(GAD7), s.last(GAD7), s.latest(GAD7)) == (None, None, None)
    assert s.series(GAD7).totals == ()
    assert s.series("never_defined") == MeasureSeries("never_defined")


def test_latest_item9_and_risk_come_from_latest_attended_contact_recording_them() -> None:
    s = summarise_episode(
        [
            contact(1, phq9=20, item9=2, risk_level=RiskLevel.HIGH),
            contact(2, phq9=15, item9=1, risk_level=RiskLevel.MODERATE),
            contact(3, phq9=None),
            contact(4, A.DID_NOT_ATTEND, item9=0, risk_level=RiskLevel.NONE),
        ]
    )
    assert s.latest_risk_answer == 1
    assert s.latest_risk_answer_measure == PHQ9
    assert s.latest_risk_answer_at == START + timedelta(weeks=1)
    assert s.latest_risk_level is RiskLevel.MODERATE
    assert s.latest_risk_at == START + timedelta(weeks=1)


def test_risk_answer_counts_without_a_complete_questionnaire() -> None:
    # An incomplete PHQ-9 has no total, but its item 9 answer is still the latest risk answer.
    s = summarise_episode([contact(1, phq9=14, item9=0), contact(2, item9=2)])
    assert (s.first(PHQ9), s.last(PHQ9)) == (14, None)
    assert (s.latest_risk_answer, s.latest_risk_answer_measure) == (2, PHQ9)
    assert s.latest_risk_answer_at == week(2)


def test_latest_risk_answer_zero_is_kept() -> None:
    s = summarise_episode([contact(1, phq9=20, item9=3), contact(2, phq9=10, item9=0)])
    assert (s.latest_risk_answer, s.latest_risk_answer_measure) == (0, PHQ9)
    assert s.latest_risk_answer_at == week(2)


def test_no_risk_answer() -> None:
    s = summarise_episode([contact(1, phq9=10, gad7=8)])
    assert (s.latest_risk_answer, s.latest_risk_answer_measure, s.latest_risk_answer_at) == (
        None,
        None,
        None,
    )


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
    s = summarise_episode(
        [contact(2, phq9=12, gad7=9), contact(1, phq9=15), contact(3, A.DID_NOT_ATTEND, phq9=1)]
    )
    assert (s.series(PHQ9).totals, s.series(GAD7).totals) == ((15, 12), (9,))


def test_has_every_contact_measure() -> None:
    assert has_every_contact_measure(contact(1, phq9=10, gad7=8))
    assert has_every_contact_measure(contact(1, phq9=10, gad7=8, wsas=20))
    assert not has_every_contact_measure(contact(1, phq9=10))
    assert not has_every_contact_measure(contact(1, gad7=8, wsas=20))
    assert not has_every_contact_measure(contact(1))


def test_wsas_alone_is_not_both_measures() -> None:
    s = summarise_episode([contact(1, wsas=20), contact(2, phq9=10, gad7=8)])
    assert s.attended_missing_measures == 1
    assert s.attended_with_both_measures == 1


@pytest.mark.parametrize(
    ("discharged", "treatment_contacts", "status"),
    [
        (False, 0, EpisodeStatus.WAITING),
        (False, 1, EpisodeStatus.IN_TREATMENT),
        (False, 12, EpisodeStatus.IN_TREATMENT),
        (True, 0, EpisodeStatus.DISCHARGED),
        (True, 5, EpisodeStatus.DISCHARGED),
    ],
)
def test_episode_status(discharged: bool, treatment_contacts: int, status: EpisodeStatus) -> None:
    assert episode_status(discharged=discharged, treatment_contacts=treatment_contacts) is status


def test_episode_status_from_summary_waits_for_attended_treatment() -> None:
    # An assessment, a DNA and a booked treatment are not yet treatment: still waiting.
    s = summarise_episode(
        [contact(1, kind=T.ASSESSMENT), contact(2, A.DID_NOT_ATTEND), contact(3, A.BOOKED)]
    )
    assert episode_status(discharged=False, treatment_contacts=s.treatment_contacts) is (
        EpisodeStatus.WAITING
    )
    s = summarise_episode([contact(1, kind=T.ASSESSMENT), contact(2)])
    assert episode_status(discharged=False, treatment_contacts=s.treatment_contacts) is (
        EpisodeStatus.IN_TREATMENT
    )


# A measure added purely as data -----------------------------------------------------------


def test_measure_added_as_data_is_summarised_without_code(tmp_path: Path) -> None:
    data = json.loads((DEFAULT_DIRECTORY / "gad7.json").read_text("utf-8"))
    data.update(id="newmeasure", short_name="NEW", every_contact=False, contact_form_order=None)
    (tmp_path / "newmeasure.json").write_text(json.dumps(data), encoding="utf-8")
    new = load_measures(tmp_path)["newmeasure"]

    scored = ContactFacts(1, START, T.TREATMENT, A.ATTENDED_ON_TIME, totals={new.id: 5})
    s = summarise_episode([scored])
    assert s.measures == (
        MeasureSeries(
            measure_id="newmeasure",
            first=5,
            last=None,
            latest=5,
            first_contact_id=1,
            last_contact_id=None,
            first_at=START,
            latest_at=START,
            totals=(5,),
        ),
    )
    assert s.first("newmeasure") == 5
    assert new.band_for(5).key == "mild"


def test_measure_added_as_data_follows_the_first_last_rules() -> None:
    def scored(n: int, total: int, attendance: A = A.ATTENDED_ON_TIME) -> ContactFacts:
        return ContactFacts(n, week(n), T.TREATMENT, attendance, totals={"newmeasure": total})

    s = summarise_episode(
        [
            contact(1, phq9=14, gad7=12),
            scored(2, 9),
            scored(3, 5),
            scored(4, 1, A.DID_NOT_ATTEND),  # not attended: no score
        ]
    )
    assert [m.measure_id for m in s.measures] == [GAD7, "newmeasure", PHQ9]
    new = s.series("newmeasure")
    assert (new.first, new.last, new.latest, new.totals) == (9, 5, 5, (9, 5))
    assert (new.first_contact_id, new.last_contact_id) == (2, 3)
    assert (new.first_at, new.latest_at) == (week(2), week(3))
    # Not asked at every contact: the contacts with only the new measure miss both measures.
    assert s.attended_missing_measures == 2
