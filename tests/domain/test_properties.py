"""Hypothesis properties of scoring, outcomes, rates and disclosure control."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from caseload.domain.disclosure import disclose_count, disclose_rate
from caseload.domain.measures import all_measures, get_measure
from caseload.domain.outcomes import EpisodeOutcome, episode_outcome, service_rates
from caseload.domain.scoring import NOT_APPLICABLE, AnswerValue, score

phq9_scores = st.none() | st.integers(min_value=0, max_value=27)
gad7_scores = st.none() | st.integers(min_value=0, max_value=21)


@st.composite
def outcomes(draw: st.DrawFn) -> EpisodeOutcome:
    return episode_outcome(
        first_phq9=draw(phq9_scores),
        last_phq9=draw(phq9_scores),
        first_gad7=draw(gad7_scores),
        last_gad7=draw(gad7_scores),
        treatment_contacts=draw(st.integers(min_value=0, max_value=20)),
        ended=draw(st.booleans()),
    )


@given(outcomes())
def test_outcome_invariants(o: EpisodeOutcome) -> None:
    assert not (o.reliable_improvement and o.reliable_deterioration)
    assert not o.recovered or o.caseness_at_start
    assert o.reliable_recovery == (o.recovered and o.reliable_improvement)
    if not o.paired:
        assert not o.recovered
        assert not o.reliable_improvement
        assert not o.reliable_deterioration
        assert not o.reliable_recovery
    assert o.paired == (None not in (o.first_phq9, o.last_phq9, o.first_gad7, o.last_gad7))
    assert o.finished_treatment == (o.ended and o.treatment_contacts >= 2)


@given(st.lists(outcomes(), max_size=60))
def test_rates_in_unit_interval_or_none(items: list[EpisodeOutcome]) -> None:
    r = service_rates(items)
    for value in (
        r.recovery_rate,
        r.reliable_recovery_rate,
        r.reliable_improvement_rate,
        r.reliable_deterioration_rate,
        r.paired_rate,
    ):
        assert value is None or 0.0 <= value <= 1.0
    assert r.finished == sum(o.finished_treatment for o in items)
    assert r.reliably_recovered <= r.recovered <= r.at_caseness_denominator <= r.finished
    assert (r.recovery_rate is None) == (r.at_caseness_denominator == 0)


@st.composite
def answer_lists(draw: st.DrawFn) -> tuple[str, list[AnswerValue]]:
    measure = draw(st.sampled_from(all_measures()))
    answers: list[AnswerValue] = []
    for item in measure.items:
        choices = st.integers(min_value=item.min, max_value=item.max)
        if item.allows_not_applicable:
            answers.append(draw(choices | st.just(NOT_APPLICABLE)))
        else:
            answers.append(draw(choices))
    return measure.id, answers


@given(answer_lists())
def test_totals_equal_item_sums(case: tuple[str, list[AnswerValue]]) -> None:
    measure_id, answers = case
    measure = get_measure(measure_id)
    result = score(measure, answers)
    assert result.complete
    assert result.total == sum(a for a in answers if isinstance(a, int))
    assert result.band is not None
    assert result.band.lower <= result.total <= result.band.upper


@given(answer_lists(), st.data())
def test_any_unanswered_item_means_no_total(
    case: tuple[str, list[AnswerValue]], data: st.DataObject
) -> None:
    measure_id, answers = case
    blank = data.draw(st.integers(min_value=0, max_value=len(answers) - 1))
    answers[blank] = None
    result = score(get_measure(measure_id), answers)
    assert (result.total, result.band, result.caseness, result.complete) == (
        None,
        None,
        None,
        False,
    )


@given(st.integers(min_value=0, max_value=100_000))
def test_disclosed_count_suppressed_or_multiple_of_five(n: int) -> None:
    shown = disclose_count(n)
    assert shown is None or (shown % 5 == 0 and shown >= 5 and abs(shown - n) <= 2)
    assert (shown is None) == (n < 5)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000))
def test_disclosed_rate_suppressed_with_its_counts(a: int, b: int) -> None:
    num, den = min(a, b), max(a, b)
    value = disclose_rate(num, den)
    if disclose_count(num) is None or disclose_count(den) is None:
        assert value is None
    else:
        assert value is not None
        assert 0.0 <= value <= 1.0
