"""The findings view's arithmetic and readings: intervals, bands, disclosure of each kind
of figure, risk cases when a note was written, and the generated sentences."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caseload.domain.codes import ReferralSource
from caseload.domain.findings import (
    NO_DATA,
    SUPPRESSED,
    Z95,
    RiskObservation,
    band_of,
    distribution,
    load_bands,
    mean_interval,
    risk_bands,
    risk_cases_at,
    risk_open_at,
    show_count,
    show_distribution,
    show_mean,
    show_share,
    sorted_observations,
    t_quantile,
    treatments_a_year,
    wilson_interval,
)
from caseload.domain.readings import (
    NOT_CAUSE,
    SOURCE_PHRASES,
    Group,
    compare,
    complexity_reading,
    data_collection_reading,
    endings_reading,
    load_reading,
    risk_reading,
    strain_reading,
    supervision_reading,
)
from caseload.domain.workload import EpisodeSpan, Handover


def at(day: int, hour: int = 12) -> datetime:
    """A moment in May 2025 (UK summer time: the UK day is the UTC day at noon)."""
    return datetime(2025, 5, day, hour, tzinfo=UTC)


# Intervals -------------------------------------------------------------------------------


def test_wilson_interval_matches_worked_examples() -> None:
    # 0 of 10: the upper bound is z^2 / (n + z^2) (Newcombe 1998).
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(Z95**2 / (10 + Z95**2))
    assert high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0


@given(
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_wilson_interval_holds_the_proportion(pair: tuple[int, int]) -> None:
    successes, trials = pair
    low, high = wilson_interval(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_wilson_interval_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="trial"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(6, 5)


def test_mean_interval_uses_students_t() -> None:
    # 1..5: mean 3, sample variance 2.5, t(4) = 2.776.
    values = [1, 2, 3, 4, 5]
    mean, low, high = mean_interval(5, sum(values), sum(v * v for v in values))
    half = 2.776 * (2.5 / 5) ** 0.5
    assert (mean, low, high) == pytest.approx((3.0, 3 - half, 3 + half))
    assert mean_interval(1, 4, 16) == (4.0, 4.0, 4.0)
    assert t_quantile(4) == 2.776
    assert t_quantile(31) == pytest.approx(1.96, abs=0.001)


# Bands ----------------------------------------------------------------------------------


def test_load_bands_follow_the_cap() -> None:
    assert [b.label for b in load_bands(45)] == ["under 30", "30-39", "40-45", "over 45"]
    assert [b.label for b in load_bands(35)] == ["under 30", "30-35", "over 35"]
    assert [b.label for b in load_bands(20)] == ["up to 20", "over 20"]
    bands = load_bands(45)
    assert [band_of(v, bands).label for v in (0, 29.9, 30, 39.99, 40, 45, 45.01, 60)] == [
        "under 30",
        "under 30",
        "30-39",
        "30-39",
        "40-45",
        "40-45",
        "over 45",
        "over 45",
    ]
    assert [band_of(v, risk_bands()).label for v in (0, 4, 5, 9, 10)] == [
        "under 5",
        "under 5",
        "5-9",
        "5-9",
        "10 or more",
    ]


# Disclosure -------------------------------------------------------------------------------


def test_a_share_is_published_by_the_national_rule() -> None:
    shown = show_share(7, 13)
    assert (shown.numerator, shown.denominator) == ("5", "15")  # each count rounded to 5
    assert shown.percent == 54  # from the unrounded counts: 7/13 = 53.8%
    assert shown.text == "54%"
    low, high = wilson_interval(7, 13)
    assert (shown.low, shown.high) == (round(low * 100), round(high * 100))
    suppressed = show_share(3, 40)
    assert (suppressed.numerator, suppressed.text, suppressed.interval_text) == ("*", "*", "")
    assert show_share(0, 0).text == NO_DATA
    assert show_share(5, 5).text == "100%"


def test_figures_about_practitioners_need_three_of_them() -> None:
    shown = show_share(20, 40, enough_workers=False)
    assert (shown.numerator, shown.denominator, shown.text) == ("*", "*", SUPPRESSED)
    assert show_count(12, enough_workers=False) == SUPPRESSED
    assert show_count(12) == "10"
    assert show_count(13) == "15"


def test_means_need_five_values_from_three_workers() -> None:
    assert show_mean(4, 12, 40, workers=3).text == SUPPRESSED
    assert show_mean(10, 30, 100, workers=2).text == SUPPRESSED
    assert show_mean(0, 0, 0, workers=0).text == NO_DATA
    shown = show_mean(5, 15, 55, workers=3)
    assert shown.text == "3.0"
    assert shown.interval_text == "1.0 to 5.0"
    assert show_mean(5, 15, 55, workers=3, interval=False).interval_text == ""


def test_distribution_quartiles_are_inclusive() -> None:
    found = distribution([4, 1, 3, 2])
    assert found is not None
    assert (found.median, found.upper_quartile) == (2.5, 3.25)
    assert distribution([]) is None
    assert show_distribution(found, workers=3).median_text == SUPPRESSED  # 4 values
    assert show_distribution(found, workers=3, min_values=3).median_text == "2.5"
    assert show_distribution(found, workers=2, min_values=3).median_text == SUPPRESSED
    assert show_distribution(None, workers=5).median_text == NO_DATA


def test_treatments_a_year_scale_active_weeks_to_a_year() -> None:
    weekly = {1: [3] * 26, 2: [0] * 20 + [5] * 6, 3: [1] * 13}
    finished = {1: 50, 2: 40, 3: 1}
    # Worker 2 held cases for 6 weeks only: not annualised.
    assert treatments_a_year(weekly, finished) == [100.0, 4.0]


# Risk cases when a note was written --------------------------------------------------------


def obs(
    episode: int, day: int, contact: int, *, answer: bool | None, rating: bool | None
) -> RiskObservation:
    return RiskObservation(episode, at(day), contact, answer, rating)


def test_risk_is_open_at_a_moment_by_the_flag_rule() -> None:
    history = sorted_observations(
        [
            obs(1, 5, 1, answer=True, rating=None),
            obs(1, 12, 2, answer=False, rating=None),
            obs(1, 14, 3, answer=None, rating=True),
            obs(1, 20, 4, answer=None, rating=False),
        ]
    )[1]
    assert [risk_open_at(history, at(d)) for d in (4, 5, 11, 12, 13, 14, 19, 21)] == [
        False,  # nothing yet
        True,  # item 9 signal
        True,
        False,  # item 9 answered 0 since
        False,
        True,  # rated moderate or high
        True,
        False,  # rated low since
    ]


def test_risk_cases_at_count_held_active_cases_with_risk_open() -> None:
    spans = [
        EpisodeSpan(1, 7, date(2025, 4, 1), None),
        EpisodeSpan(2, 7, date(2025, 4, 1), date(2025, 5, 10)),  # discharged on the 10th
        EpisodeSpan(3, 8, date(2025, 4, 1), None),  # moved to worker 7 on the 9th
        EpisodeSpan(4, 7, date(2025, 5, 20), None),  # treatment starts on the 20th
        EpisodeSpan(5, 7, None, None),  # waiting: never active
    ]
    handovers = {3: [Handover(3, date(2025, 5, 9), 8, 7)]}
    observations = sorted_observations(
        [obs(e, 2, e, answer=True, rating=None) for e in (1, 2, 3, 4, 5)]
    )
    count = {
        day: risk_cases_at(
            at(day), worker_id=7, spans=spans, handovers=handovers, observations=observations
        )
        for day in (8, 9, 10, 21)
    }
    assert count == {8: 2, 9: 3, 10: 2, 21: 3}
    assert (
        risk_cases_at(
            at(8), worker_id=8, spans=spans, handovers=handovers, observations=observations
        )
        == 1
    )


# Readings ------------------------------------------------------------------------------------


def test_a_clear_difference_is_called_one() -> None:
    reading = risk_reading(
        [
            Group(SOURCE_PHRASES[ReferralSource.SELF], show_share(44, 200)),
            Group(SOURCE_PHRASES[ReferralSource.GP], show_share(22, 200)),
        ],
        show_share(66, 400),
    )
    assert (
        reading == "Risk at assessment is higher for self-referrals (22%) than GP referrals (11%)."
    )


def test_an_overlapping_difference_may_be_chance() -> None:
    reading = compare(
        "Risk at assessment",
        [Group("self-referrals", show_share(6, 20)), Group("GP referrals", show_share(5, 25))],
    )
    assert "30% for self-referrals and 20% for GP referrals" in reading
    assert "may be chance" in reading


def test_readings_never_describe_a_suppressed_group() -> None:
    reading = compare(
        "Risk at assessment",
        [
            Group("self-referrals", show_share(3, 20)),
            Group("GP referrals", show_share(10, 50)),
            Group("other referrals", show_share(0, 0)),
        ],
    )
    assert reading == (
        "Risk at assessment is 20% for GP referrals; the other groups are too small to "
        "compare. Groups with fewer than 5 are not shown."
    )
    assert "15%" not in reading  # 3 of 20, withheld
    nothing = risk_reading([Group("self-referrals", show_share(2, 3))], show_share(2, 3))
    assert (
        nothing == "Risk at assessment: too few assessed referrals in this period to show a share."
    )


def test_load_readings_say_association_not_cause() -> None:
    from caseload.domain.readings import load_comparison

    reading = load_comparison(
        "Reliable recovery",
        [
            Group("caseloads under 30", show_share(60, 100)),
            Group("caseloads over 45", show_share(20, 100)),
        ],
    )
    assert reading.startswith(
        "Reliable recovery is higher for caseloads under 30 (60%) than caseloads over 45 (20%)."
    )
    assert reading.endswith(NOT_CAUSE)
    endings = endings_reading(
        show_share(30, 100), [Group("caseloads under 30", show_share(30, 100))]
    )
    assert endings.startswith("30% of endings were unplanned")
    assert NOT_CAUSE in endings


def test_each_section_reading_is_honest_about_small_numbers() -> None:
    small = show_share(2, 4)
    assert "too few" in complexity_reading(small, None, small, small)
    assert load_reading(
        show_distribution(distribution([40, 41]), workers=1),
        show_share(1, 2),
        cap=45,
        finished=show_distribution(None, workers=0),
        planning_low=175,
        planning_high=250,
    ).startswith("Load figures are withheld")
    assert strain_reading([("under 30", show_mean(3, 9, 27, workers=1))]).startswith("Too few")
    assert data_collection_reading(small, small, None).startswith("Too few attended contacts")
    assert supervision_reading(
        show_mean(2, 4, 8, workers=1), show_mean(2, 4, 0, workers=1), small
    ).startswith("Too little supervision")


def test_figures_are_quoted_as_shown() -> None:
    reading = load_reading(
        show_distribution(distribution([20, 30, 40, 50, 46, 47]), workers=3),
        show_share(10, 60),
        cap=45,
        finished=show_distribution(distribution([150, 160, 170]), workers=3, min_values=3),
        planning_low=175,
        planning_high=250,
    )
    assert reading == (
        "In the median worker-week a practitioner held 43.0 active cases (upper quartile "
        "46.8); 17% of worker-weeks were over the cap of 45. The median practitioner "
        "finished 160 treatments a year, below the planning range of 175-250."
    )
    strain = strain_reading(
        [
            ("under 30", show_mean(10, 40, 170, workers=4)),
            ("30-39", show_mean(1, 3, 9, workers=1)),
            ("over 45", show_mean(10, 15, 25, workers=3)),
        ]
    )
    assert strain.startswith(
        "Notes written at caseloads over 45 rated manageability 1.5 out of 5 on average, "
        "against 4.0 at caseloads under 30."
    )
    assert "practitioners, are not shown" in strain
