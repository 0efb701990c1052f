"""The service dashboard's monthly figures (issue 11): every count and denominator against
a hand-built service, the wait and hidden-wait boundaries, UK months across the clock
changes, the filters, disclosure control, the CSV, and consent.

Episodes are built through the services (``PlannedEpisode`` from the summary-column
tests), so the figures are read from the summary rows the app keeps.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from caseload.domain.codes import (
    AttendanceCode,
    DischargeReason,
    ReferralSource,
    ReflectiveTheme,
    Role,
)
from caseload.domain.dates import london_to_utc
from caseload.extensions import db
from caseload.lead.dashboard import build_charts
from caseload.models import Episode, EpisodeSummary, User
from caseload.reporting.dashboard import (
    CSV_COLUMNS,
    Dashboard,
    DashboardFilters,
    MonthCounts,
    Period,
    add_months,
    csv_rows,
    disclose,
    monthly_counts,
    service_dashboard,
)
from caseload.reporting.tabular import RateStatus, csv_text, disclosed_rate
from caseload.services.clients import set_consent
from caseload.services.episodes import discharge
from caseload.services.notes import write_note
from caseload.services.settings import service_settings
from tests.reporting.test_summary_columns import (
    DETERIORATED,
    NOT_AT_CASENESS,
    OPEN,
    RECOVERED,
    RISK_PLAN,
    PlannedEpisode,
    at,
    contact,
    planned_episodes,
)
from tests.services.factories import TODAY, log, register
from tests.web.helpers import counting

#: The months the hand-built service spans.
PERIOD = Period(date(2024, 10, 1), date(2025, 5, 1))
ALL = DashboardFilters()


def uk(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A UK wall-clock moment as aware UTC."""
    return london_to_utc(day, time(hour, minute))


@pytest.fixture
def worker(user_factory: Any) -> User:
    """A worker in the North team."""
    return user_factory(Role.WORKER, team="North team")


# -- The hand-built service ---------------------------------------------------------------

#: First treatment on 31 March 2025 (a Monday, BST), with referrals 42, 43, 126 and 127
#: days before: the wait boundaries. None is discharged.
FIRST_ON = date(2025, 3, 31)
WAITS = {
    days: PlannedEpisode(FIRST_ON - timedelta(days=days), (contact(uk(FIRST_ON), 16, 12),))
    for days in (42, 43, 126, 127)
}
#: First treatment at 23:30 UTC on 31 March 2025: 00:30 on 1 April in the UK (BST), so
#: it counts in April although its UTC date is in March.
CLOCK_SPRING = PlannedEpisode(
    date(2025, 3, 20), (contact(datetime(2025, 3, 31, 23, 30, tzinfo=UTC), 16, 12),)
)
#: First treatment at 23:30 UTC on 30 September 2024 (00:30 on 1 October in the UK) and
#: at 23:30 UTC on 31 October 2024 (GMT again: 23:30 on 31 October): both in October.
CLOCK_AUTUMN = (
    PlannedEpisode(
        date(2024, 9, 16), (contact(datetime(2024, 9, 30, 23, 30, tzinfo=UTC), 16, 12),)
    ),
    PlannedEpisode(
        date(2024, 9, 16), (contact(datetime(2024, 10, 31, 23, 30, tzinfo=UTC), 16, 12),)
    ),
)


def hidden_wait(first: date, gap: int) -> PlannedEpisode:
    """Referred 2 January 2025, two treatment contacts ``gap`` days apart (12/9 both times:
    at caseness, paired, no change), discharged 2 May 2025."""
    return PlannedEpisode(
        date(2025, 1, 2),
        (contact(at(first), 12, 9), contact(at(first + timedelta(days=gap)), 12, 9)),
        discharged_on=date(2025, 5, 2),
    )


#: Hidden waits of 28 and 29 days (from 3 Feb 2025), 90 and 91 days (from 6 Jan 2025).
HIDDEN = {
    gap: hidden_wait(date(2025, 2, 3) if gap < 90 else date(2025, 1, 6), gap)
    for gap in (28, 29, 90, 91)
}
#: The summary-column tests' episodes: recovered, deteriorated and not at caseness all
#: finish in May 2025 (a DNA among them); the open one is referred in May.
EPISODES = [
    RECOVERED,
    DETERIORATED,
    NOT_AT_CASENESS,
    OPEN,
    *WAITS.values(),
    CLOCK_SPRING,
    *CLOCK_AUTUMN,
    *HIDDEN.values(),
]


def build(worker: User, plans: list[PlannedEpisode] = EPISODES, **kwargs: Any) -> list[Episode]:
    """Build the plans through the services (committed)."""
    episodes = [plan.build(worker, **kwargs) for plan in plans]
    db.session.commit()
    return episodes


def counts_by_month(**nonzero: dict[str, int]) -> list[MonthCounts]:
    """Expected raw counts over PERIOD: {"2025-05": {...}} and zeros elsewhere."""
    return [MonthCounts(month, **nonzero.get(f"{month:%Y_%m}", {})) for month in PERIOD.months]


def test_every_count_against_the_hand_built_service(worker: User) -> None:
    build(worker)
    assert monthly_counts(period=PERIOD, filters=ALL) == counts_by_month(
        # Both first treatments of CLOCK_AUTUMN are UK October days; waits 15 and 45 days.
        **{
            "2024_10": {"entered_treatment": 2, "waited_6_weeks": 1, "waited_18_weeks": 2},
            # The 126- and 127-day referrals.
            "2024_11": {"referrals": 2},
            # The four hidden-wait referrals; two of them treated from 6 January (4 days).
            "2025_01": {
                "referrals": 4,
                "entered_treatment": 2,
                "waited_6_weeks": 2,
                "waited_18_weeks": 2,
            },
            # The 42- and 43-day referrals; the other two hidden waits treated from
            # 3 February (32 days).
            "2025_02": {
                "referrals": 2,
                "entered_treatment": 2,
                "waited_6_weeks": 2,
                "waited_18_weeks": 2,
            },
            # CLOCK_SPRING's referral; 42 days is within 6 weeks, 43 is not; 126 days is
            # within 18 weeks, 127 is not.
            "2025_03": {
                "referrals": 1,
                "entered_treatment": 4,
                "waited_6_weeks": 1,
                "waited_18_weeks": 3,
            },
            # Recovered, deteriorated and not-at-caseness referred and treated, and
            # CLOCK_SPRING treated at 00:30 on 1 April UK time (12 days).
            "2025_04": {
                "referrals": 3,
                "entered_treatment": 4,
                "waited_6_weeks": 4,
                "waited_18_weeks": 4,
            },
            # OPEN referred and treated; seven episodes ended, all finished: three from the
            # summary tests (9 contacts with an outcome, 1 DNA, 7 treatment contacts) and
            # the four hidden waits (8 contacts, 8 treatment contacts).
            "2025_05": {
                "referrals": 1,
                "entered_treatment": 1,
                "waited_6_weeks": 1,
                "waited_18_weeks": 1,
                "ended": 7,
                "contacts_with_outcome": 17,
                "dna_contacts": 1,
                "finished": 7,
                "finished_at_caseness": 6,
                "recovered": 1,
                "reliably_recovered": 0,
                "reliably_improved": 0,
                "reliably_deteriorated": 1,
                "paired": 7,
                # Gaps of 29, 90 and 91 days are over 28; only 91 is over 90.
                "hidden_wait_28": 3,
                "hidden_wait_90": 1,
                "finished_treatment_contacts": 15,
            },
        }
    )


def test_the_summary_keeps_the_new_columns(worker: User) -> None:
    hidden, no_show, still_open = build(worker, [HIDDEN[91], NOT_AT_CASENESS, OPEN])

    def columns(episode: Episode) -> tuple[int | None, int, int]:
        db.session.expire_all()
        summary = db.session.get(EpisodeSummary, episode.id)
        assert summary is not None
        return (
            summary.second_treatment_gap_days,
            summary.contacts_with_outcome,
            summary.dna_contacts,
        )

    assert columns(hidden) == (91, 2, 0)
    assert columns(no_show) == (14, 3, 1)
    assert columns(still_open) == (14, 2, 0)
    # A booking has no outcome yet; a cancellation has one and is not a DNA; an arrival
    # too late to be seen is a DNA.
    log(
        worker,
        still_open,
        datetime(2025, 6, 3, 10, tzinfo=UTC),
        attendance=AttendanceCode.BOOKED,
        now=datetime(2025, 5, 30, tzinfo=UTC),
    )
    log(worker, still_open, at(date(2025, 5, 27)), attendance=AttendanceCode.CANCELLED_BY_PATIENT)
    log(worker, still_open, at(date(2025, 5, 28)), attendance=AttendanceCode.ARRIVED_LATE_NOT_SEEN)
    db.session.commit()
    assert columns(still_open) == (14, 4, 1)


def test_months_outside_the_period_are_left_out(worker: User) -> None:
    build(worker)
    april = Period(date(2025, 4, 1), date(2025, 4, 1))
    (only,) = monthly_counts(period=april, filters=ALL)
    assert (only.month, only.referrals, only.entered_treatment, only.finished) == (
        date(2025, 4, 1),
        3,
        4,
        0,
    )


# -- Filters --------------------------------------------------------------------------------


def test_filters_by_team_presenting_problem_and_referral_source(
    worker: User, user_factory: Any
) -> None:
    south = user_factory(Role.WORKER, team="South team")
    made = [
        register(worker, referral_date=date(2025, 4, 2), consented=True),
        register(
            worker,
            referral_date=date(2025, 4, 3),
            consented=True,
            presenting_problem="Panic disorder",
        ),
        register(
            south,
            referral_date=date(2025, 4, 4),
            consented=True,
            referral_source=ReferralSource.SELF,
        ),
    ]
    for episode in made:
        log(worker if episode.worker_id == worker.id else south, episode, at(date(2025, 4, 9)))
    db.session.commit()
    april = Period(date(2025, 4, 1), date(2025, 4, 1))

    def referrals(**filters: Any) -> int:
        (month,) = monthly_counts(period=april, filters=DashboardFilters(**filters))
        assert month.entered_treatment == month.referrals  # every one was treated
        return month.referrals

    assert referrals() == 3
    assert referrals(team_id=worker.team_id) == 2
    assert referrals(team_id=south.team_id) == 1
    assert referrals(presenting_problem="Panic disorder") == 1
    assert referrals(presenting_problem="depression") == 2  # the factories' default
    assert referrals(referral_source=ReferralSource.SELF) == 1
    assert referrals(referral_source=ReferralSource.GP) == 2
    assert referrals(team_id=south.team_id, referral_source=ReferralSource.GP) == 0


# -- Disclosure control ---------------------------------------------------------------------

MAY = date(2025, 5, 1)


def test_counts_are_suppressed_under_5_and_rounded_to_5() -> None:
    shown = disclose(
        MonthCounts(
            MAY,
            referrals=4,
            entered_treatment=7,
            finished=13,
            finished_at_caseness=0,
            recovered=5,
            reliably_recovered=8,
            reliably_improved=12,
            reliably_deteriorated=1,
        )
    )
    assert (
        shown.referrals,
        shown.entered_treatment,
        shown.finished,
        shown.finished_at_caseness,
        shown.recovered,
        shown.reliably_recovered,
        shown.reliably_improved,
        shown.reliably_deteriorated,
    ) == (None, 5, 15, None, 5, 10, 10, None)


def test_rates_come_from_unrounded_counts_and_go_with_their_counts() -> None:
    raw = MonthCounts(
        MAY,
        entered_treatment=13,
        waited_6_weeks=7,
        waited_18_weeks=13,
        finished=13,
        finished_at_caseness=9,
        recovered=5,
        reliably_recovered=4,
        reliably_improved=7,
        reliably_deteriorated=0,
        paired=12,
        hidden_wait_28=6,
        hidden_wait_90=2,
        contacts_with_outcome=40,
        dna_contacts=6,
        finished_treatment_contacts=87,
    )
    shown = disclose(raw)
    # 7 of 13 is 53.8% (the rounded counts, 5 of 15, would say 33.3%).
    assert shown.waited_6_weeks_rate.text == "53.8"
    assert shown.waited_18_weeks_rate.text == "100.0"
    # Recovery has the caseness denominator: 5 of 9.
    assert shown.recovery_rate.text == "55.6"
    assert shown.recovery_rate.label == "55.6%"
    assert shown.recovery_rate.value == pytest.approx(500 / 9)
    # A numerator under 5 (4 reliably recovered, 0 deteriorated, 2 over 90 days) suppresses.
    assert shown.reliable_recovery_rate.status is RateStatus.SUPPRESSED
    assert shown.reliable_recovery_rate.text == "*"
    assert shown.reliable_recovery_rate.value is None
    assert shown.reliable_deterioration_rate.text == "*"
    assert shown.hidden_wait_90_rate.text == "*"
    assert shown.reliable_improvement_rate.text == "53.8"
    assert shown.paired_rate.text == "92.3"
    assert shown.hidden_wait_28_rate.text == "46.2"
    assert shown.dna_rate.text == "15.0"
    assert shown.mean_treatment_contacts == Decimal("6.7")  # 87 / 13
    # A denominator under 5 suppresses the rate (and the mean over the finished).
    small = disclose(MonthCounts(MAY, finished=4, finished_at_caseness=4, recovered=4))
    assert small.recovery_rate.text == "*"
    assert small.mean_treatment_contacts is None
    # No denominator at all: an empty cell, not a suppression and not a zero.
    empty = disclose(MonthCounts(MAY))
    assert empty.recovery_rate.status is RateStatus.NO_DENOMINATOR
    assert empty.recovery_rate.text == ""
    assert empty.recovery_rate.value is None
    assert empty.referrals is None


@pytest.mark.parametrize(
    ("numerator", "denominator", "text"),
    [
        (1, 8, "*"),
        (5, 8, "62.5"),
        (5, 400, "1.3"),  # 1.25 rounds half up
        (6, 400, "1.5"),
        (33, 400, "8.3"),  # 8.25 rounds half up
        (5, 5, "100.0"),
        (0, 12, "*"),
        (0, 0, ""),
        (3, 4, "*"),
    ],
)
def test_rate_cells(numerator: int, denominator: int, text: str) -> None:
    assert disclosed_rate(numerator, denominator).text == text


# -- The CSV ---------------------------------------------------------------------------------


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_the_issues_columns_and_a_row_per_month(worker: User) -> None:
    build(worker)
    dashboard = service_dashboard(period=PERIOD, filters=ALL)
    text = csv_text(CSV_COLUMNS, csv_rows(dashboard))
    header = text.splitlines()[0]
    assert header == (
        "month,referrals,entered_treatment,finished,finished_at_caseness,recovered,"
        "recovery_rate,reliably_recovered,reliable_recovery_rate,reliably_improved,"
        "reliable_improvement_rate,reliably_deteriorated,reliable_deterioration_rate,"
        "waited_6_weeks_rate,waited_18_weeks_rate,paired_rate"
    )
    rows = parse(text)
    assert [r["month"] for r in rows] == [
        "2024-10",
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
        "2025-03",
        "2025-04",
        "2025-05",
    ]
    may = rows[-1]
    # 7 finished (rounded to 5), 6 at caseness (5); 1 recovered (*); rates suppressed with
    # their numerators; 7 of 7 paired is 100%; the one entering treatment is suppressed, and
    # so are its wait rates.
    assert may == {
        "month": "2025-05",
        "referrals": "*",
        "entered_treatment": "*",
        "finished": "5",
        "finished_at_caseness": "5",
        "recovered": "*",
        "recovery_rate": "*",
        "reliably_recovered": "*",
        "reliable_recovery_rate": "*",
        "reliably_improved": "*",
        "reliable_improvement_rate": "*",
        "reliably_deteriorated": "*",
        "reliable_deterioration_rate": "*",
        "waited_6_weeks_rate": "*",
        "waited_18_weeks_rate": "*",
        "paired_rate": "100.0",
    }
    # December: nobody at all, so no denominators: empty rates, suppressed counts.
    assert rows[2] == {
        **dict.fromkeys(CSV_COLUMNS, ""),
        "month": "2024-12",
        **{c: "*" for c in CSV_COLUMNS if c != "month" and not c.endswith("_rate")},
    }


# -- Consent ---------------------------------------------------------------------------------


def snapshot(period: Period = PERIOD) -> tuple[Any, ...]:
    """Every figure, every chart's data and the CSV's bytes, as a lead would get them."""
    db.session.expire_all()
    dashboard = service_dashboard(period=period, filters=ALL)
    charts = [
        (chart.spec.key, chart.figure, chart.variation, chart.assurance)
        for _, group in build_charts(dashboard, service_settings())
        for chart in group
    ]
    csv_bytes = csv_text(CSV_COLUMNS, csv_rows(dashboard)).encode()
    return (
        [asdict(m) for m in monthly_counts(period=period, filters=ALL)],
        dashboard,
        charts,
        csv_bytes,
    )


def episode_count() -> int:
    return db.session.scalar(select(func.count(Episode.id))) or 0


#: Enough consented episodes that rates and charts are shown, not suppressed: five
#: copies of the hand-built service.
BASE_COPIES = 5
#: The months the property's episodes can fall in (TODAY - 300 days to TODAY).
WIDE = Period(date(2024, 8, 1), date(2025, 6, 1))


@pytest.fixture
def consented_service(worker: User) -> Dashboard:
    """BASE_COPIES copies of the hand-built service, committed, and its dashboard."""
    build(worker, EPISODES * BASE_COPIES)
    dashboard = service_dashboard(period=WIDE, filters=ALL)
    assert any(m.recovery_rate.shown for m in dashboard.months)  # the check can fail
    return dashboard


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plans=st.lists(planned_episodes(), min_size=1, max_size=5),
    notes=st.lists(st.sampled_from(list(ReflectiveTheme)), max_size=3),
)
def test_non_consented_records_change_no_figure_chart_or_csv_byte(
    worker: User,
    consented_service: Dashboard,
    plans: list[PlannedEpisode],
    notes: list[ReflectiveTheme],
) -> None:
    before = snapshot(WIDE)
    count = episode_count()
    savepoint = db.session.begin_nested()
    try:
        built = [plan.build(worker, consented=False) for plan in plans]
        for theme, episode in zip(notes, built * len(notes), strict=False):
            write_note(worker, text="A hard week.", themes=[theme], episode_id=episode.id)
        db.session.flush()
        assert episode_count() == count + len(plans)
        assert snapshot(WIDE) == before
    finally:
        savepoint.rollback()
        db.session.expire_all()
    assert episode_count() == count


def test_consent_given_counts_and_withdrawn_removes_on_the_next_query(worker: User) -> None:
    build(worker, EPISODES * 2)
    before = snapshot()
    extra = PlannedEpisode(
        date(2025, 4, 22),
        (contact(at(date(2025, 4, 23)), 18, 15), contact(at(date(2025, 5, 7)), 5, 4)),
        discharged_on=date(2025, 5, 9),
    ).build(worker, consented=False)
    db.session.commit()
    assert snapshot() == before
    set_consent(worker, extra.client, consented=True, note="Agreed on the phone.")
    db.session.commit()
    given_counts = monthly_counts(period=PERIOD, filters=ALL)[-1]
    assert (given_counts.finished, given_counts.reliably_recovered) == (15, 1)
    assert snapshot() != before
    set_consent(worker, extra.client, consented=False, note="Withdrew consent today.")
    db.session.commit()
    assert snapshot() == before


def test_an_episode_entered_in_error_is_left_out(worker: User) -> None:
    episodes = build(worker, [RECOVERED, DETERIORATED])
    before = monthly_counts(period=PERIOD, filters=ALL)[-1]
    assert before.finished == 2
    episodes[0].entered_in_error_at = datetime(2025, 6, 1, tzinfo=UTC)
    db.session.commit()
    assert monthly_counts(period=PERIOD, filters=ALL)[-1].finished == 1


# -- Periods ---------------------------------------------------------------------------------


def test_the_default_period_is_the_last_24_complete_months() -> None:
    period = Period.complete_months(today=date(2025, 6, 2))
    assert (period.first, period.last, period.end) == (
        date(2023, 6, 1),
        date(2025, 5, 1),
        date(2025, 5, 31),
    )
    assert len(period.months) == 24
    assert Period.complete_months(today=date(2025, 1, 1)).last == date(2024, 12, 1)
    assert Period(date(2024, 2, 1), date(2024, 2, 1)).end == date(2024, 2, 29)
    assert add_months(date(2025, 1, 1), -13) == date(2023, 12, 1)
    with pytest.raises(ValueError, match="end before"):
        Period(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(ValueError, match="first of a month"):
        Period(date(2025, 2, 2), date(2025, 3, 1))


def test_three_queries_whatever_the_size(worker: User) -> None:
    build(worker, [RECOVERED])
    with counting() as few:
        monthly_counts(period=PERIOD, filters=ALL)
    build(worker, EPISODES)
    with counting() as many:
        monthly_counts(period=Period(date(2020, 1, 1), date(2025, 5, 1)), filters=ALL)
    selects = [len([q for q in run if q.startswith("SELECT")]) for run in (few, many)]
    assert selects == [3, 3]


def test_a_discharge_changes_the_figures_of_its_month(worker: User) -> None:
    (episode,) = build(worker, [replace(RECOVERED, discharged_on=None)])
    assert monthly_counts(period=PERIOD, filters=ALL)[-1].finished == 0
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=date(2025, 5, 20),
        note="",
        today=TODAY,
        risk_confirmed=True,
        risk_plan=RISK_PLAN,
    )
    db.session.commit()
    may = monthly_counts(period=PERIOD, filters=ALL)[-1]
    assert (may.finished, may.recovered, may.finished_treatment_contacts) == (1, 1, 2)
