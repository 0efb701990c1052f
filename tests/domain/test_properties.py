"""Hypothesis properties of scoring, outcomes, rates and disclosure control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from caseload.domain.codes import AttendanceCode, ContactType
from caseload.domain.disclosure import disclose_count, disclose_rate
from caseload.domain.episodes import (
    ContactFacts,
    attended_in_order,
    episode_outcome_from_summary,
    summarise_episode,
)
from caseload.domain.measures import GAD7, PHQ9, WSAS, all_measures, get_measure
from caseload.domain.outcomes import EpisodeOutcome, episode_outcome, service_rates
from caseload.domain.scoring import NOT_APPLICABLE, AnswerValue, risk_answer, score

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
    if not measure.bands:  # published without severity bands (PCL-5, phobia scales)
        assert result.band is None
        return
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


@given(answer_lists(), st.data())
def test_risk_signal_is_the_risk_answer_judged_by_the_definition(
    case: tuple[str, list[AnswerValue]], data: st.DataObject
) -> None:
    measure_id, answers = case
    measure = get_measure(measure_id)
    for index in data.draw(st.sets(st.integers(min_value=0, max_value=len(answers) - 1))):
        answers[index] = None
    answer = risk_answer(measure, answers)
    assert score(measure, answers).risk_signal is measure.is_risk_answer(answer)
    if measure.risk_item is None:
        assert answer is None


START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MAXIMA = {PHQ9: 27, GAD7: 21, WSAS: 40}


@st.composite
def contact_lists(draw: st.DrawFn) -> list[ContactFacts]:
    count = draw(st.integers(min_value=0, max_value=12))
    contacts: list[ContactFacts] = []
    for n in range(1, count + 1):
        totals = {
            m: draw(st.integers(min_value=0, max_value=top))
            for m, top in MAXIMA.items()
            if draw(st.booleans())
        }
        item9 = draw(st.none() | st.integers(min_value=0, max_value=3))
        contacts.append(
            ContactFacts(
                contact_id=n,
                occurred_at=START + timedelta(days=draw(st.integers(min_value=0, max_value=90))),
                contact_type=draw(st.sampled_from(list(ContactType))),
                attendance=draw(st.sampled_from(list(AttendanceCode))),
                totals=totals,
                risk_answers={} if item9 is None else {PHQ9: item9},
            )
        )
    return contacts


@given(contact_lists(), st.booleans())
def test_summary_series_follow_the_first_last_rules(
    contacts: list[ContactFacts], ended: bool
) -> None:
    s = summarise_episode(contacts)
    attended = attended_in_order(contacts)
    ids = [m.measure_id for m in s.measures]
    assert ids == sorted({m for c in attended for m in c.totals})
    for measure_id in MAXIMA:
        scored = [c for c in attended if measure_id in c.totals]
        series = s.series(measure_id)
        assert series.totals == tuple(c.totals[measure_id] for c in scored)
        if not scored:
            assert (series.first, series.last, series.latest) == (None, None, None)
            continue
        assert series.first == scored[0].totals[measure_id]
        assert series.latest == scored[-1].totals[measure_id]
        assert series.last == (scored[-1].totals[measure_id] if len(scored) > 1 else None)
        assert series.first_contact_id == scored[0].contact_id
        assert series.last_contact_id == (scored[-1].contact_id if len(scored) > 1 else None)
    with_risk = [c for c in attended if c.risk_answers]
    expected = with_risk[-1].risk_answers[PHQ9] if with_risk else None
    assert s.latest_risk_answer == expected
    assert s.attended_contacts == len(attended)
    assert s.attended_with_both_measures == sum(
        1 for c in attended if PHQ9 in c.totals and GAD7 in c.totals
    )
    o = episode_outcome_from_summary(s, ended=ended)
    assert o.paired == all(len(s.series(m).totals) > 1 for m in (PHQ9, GAD7))
