"""score(): totals, bands, caseness, incompleteness, N/A, risk, and bad answers."""

from __future__ import annotations

from typing import Any

import pytest

from caseload.domain.measures import GAD7, PHQ9, WSAS, get_measure
from caseload.domain.scoring import NOT_APPLICABLE, risk_answer, score


def test_complete_phq9() -> None:
    result = score(get_measure(PHQ9), [1, 2, 1, 2, 1, 1, 1, 1, 0])
    assert result.total == 10
    assert result.band is not None
    assert result.band.key == "moderate"
    assert result.caseness is True
    assert result.complete is True
    assert result.risk_signal is False
    assert result.measure_id == PHQ9


def test_complete_gad7_below_caseness() -> None:
    result = score(get_measure(GAD7), [1, 1, 1, 1, 1, 1, 1])
    assert (result.total, result.caseness) == (7, False)
    assert result.band is not None
    assert result.band.key == "mild"


def test_incomplete_has_no_total_band_or_caseness() -> None:
    result = score(get_measure(PHQ9), [3, 3, 3, None, 3, 3, 3, 3, 0])
    assert result.complete is False
    assert (result.total, result.band, result.caseness) == (None, None, None)
    assert result.answers[3] is None


@pytest.mark.parametrize(("item9", "risk"), [(0, False), (1, True), (2, True), (3, True)])
def test_item9_risk_signal(item9: int, risk: bool) -> None:
    assert score(get_measure(PHQ9), [0] * 8 + [item9]).risk_signal is risk


def test_item9_risk_signal_even_when_incomplete() -> None:
    result = score(get_measure(PHQ9), [None] * 8 + [1])
    assert result.complete is False
    assert result.total is None
    assert result.risk_signal is True


def test_unanswered_item9_is_no_signal() -> None:
    assert score(get_measure(PHQ9), [3] * 8 + [None]).risk_signal is False


def test_gad7_never_has_risk_signal() -> None:
    assert score(get_measure(GAD7), [3] * 7).risk_signal is False


def test_wsas_work_item_not_applicable_totals_other_four() -> None:
    result = score(get_measure(WSAS), [NOT_APPLICABLE, 2, 4, 6, 8])
    assert result.total == 20
    assert result.complete is True
    assert result.caseness is None
    assert result.band is not None
    assert result.band.key == "severe_functional_impairment"


def test_wsas_full() -> None:
    assert score(get_measure(WSAS), [8, 8, 8, 8, 8]).total == 40


@pytest.mark.parametrize("answers", [[0] * 8, [0] * 10, []], ids=["8", "10", "0"])
def test_wrong_count(answers: list[int]) -> None:
    with pytest.raises(ValueError, match="expected 9 answers"):
        score(get_measure(PHQ9), answers)


@pytest.mark.parametrize(
    ("position", "bad", "message"),
    [
        (3, 4, r"item 3 of PHQ-9: 4 is outside 0-3"),
        (1, -1, r"item 1 of PHQ-9: -1 is outside 0-3"),
        (9, 7, r"item 9 of PHQ-9: 7 is outside 0-3"),
        (3, True, r"item 3 of PHQ-9: True is not a whole number"),
        (3, False, r"item 3 of PHQ-9: False is not a whole number"),
        (3, 1.5, r"item 3 of PHQ-9: 1.5 is not a whole number"),
        (3, 2.0, r"item 3 of PHQ-9: 2.0 is not a whole number"),
        (3, "2", r"item 3 of PHQ-9: '2' is not a whole number"),
        (5, NOT_APPLICABLE, r"item 5 of PHQ-9: 'not applicable' is not allowed"),
    ],
)
def test_bad_answer_names_the_item(position: int, bad: Any, message: str) -> None:
    answers: list[Any] = [0] * 9
    answers[position - 1] = bad
    with pytest.raises(ValueError, match=message):
        score(get_measure(PHQ9), answers)


def test_wsas_item_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"item 2 of WSAS: 9 is outside 0-8"):
        score(get_measure(WSAS), [0, 9, 0, 0, 0])


def test_not_applicable_only_on_wsas_work_item() -> None:
    with pytest.raises(ValueError, match="item 2 of WSAS"):
        score(get_measure(WSAS), [0, NOT_APPLICABLE, 0, 0, 0])


def test_string_of_answers_rejected() -> None:
    with pytest.raises(ValueError, match="one per item"):
        score(get_measure(GAD7), "0000000")  # type: ignore[arg-type]


# risk_answer -----------------------------------------------------------------------------


@pytest.mark.parametrize("item9", [0, 1, 2, 3])
def test_risk_answer_is_the_item9_answer(item9: int) -> None:
    phq9 = get_measure(PHQ9)
    answers = [1] * 8 + [item9]
    assert risk_answer(phq9, answers) == item9
    assert phq9.is_risk_answer(risk_answer(phq9, answers)) is score(phq9, answers).risk_signal


def test_risk_answer_with_the_rest_unanswered() -> None:
    assert risk_answer(get_measure(PHQ9), [None] * 8 + [2]) == 2


def test_risk_answer_none_when_item9_unanswered() -> None:
    assert risk_answer(get_measure(PHQ9), [3] * 8 + [None]) is None


def test_risk_answer_none_when_too_few_answers() -> None:
    assert risk_answer(get_measure(PHQ9), [3] * 8) is None
    assert risk_answer(get_measure(PHQ9), []) is None


@pytest.mark.parametrize(
    ("measure_id", "answers"),
    [(GAD7, [3] * 7), (WSAS, [8] * 5), (WSAS, [NOT_APPLICABLE, 1, 1, 1, 1])],
)
def test_no_risk_answer_without_a_risk_item(measure_id: str, answers: list[Any]) -> None:
    assert risk_answer(get_measure(measure_id), answers) is None


def test_risk_answer_rejects_a_bool() -> None:
    assert risk_answer(get_measure(PHQ9), [0] * 8 + [True]) is None
