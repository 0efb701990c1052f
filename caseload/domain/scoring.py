"""Scoring a completed questionnaire against its measure definition.

Rules (docs/design.md section 3, "Measures"):

- one answer per item, each a whole number in the item's range;
- ``None`` means the item was left unanswered: the questionnaire is stored
  as given but is incomplete, so it has no total, band or caseness
  (no prorating);
- ``NOT_APPLICABLE`` is allowed only on items that say so (the WSAS work
  item). Such an item adds nothing to the total, so a WSAS with the work
  item not applicable totals the other four items (0-32);
- for PHQ-9, item 9 at 1 or more is a risk signal, even when other items
  are unanswered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from caseload.domain.measures import Band, Measure


class Answer(Enum):
    """Special answers that are not a score."""

    NOT_APPLICABLE = "n/a"


NOT_APPLICABLE = Answer.NOT_APPLICABLE
NotApplicable = Literal[Answer.NOT_APPLICABLE]
AnswerValue = int | None | NotApplicable


@dataclass(frozen=True, slots=True)
class Score:
    """The result of scoring one questionnaire."""

    measure_id: str
    answers: tuple[AnswerValue, ...]
    total: int | None
    band: Band | None
    caseness: bool | None
    complete: bool
    risk_signal: bool


def score(measure: Measure, answers: Sequence[AnswerValue]) -> Score:
    """Validate the answers and compute total, band, caseness and risk signal."""
    checked = tuple(validate_answers(measure, answers))
    complete = all(answer is not None for answer in checked)
    total: int | None = None
    band: Band | None = None
    caseness: bool | None = None
    if complete:
        total = sum(answer for answer in checked if isinstance(answer, int))
        band = measure.find_band(total)  # None for a measure published without bands
        caseness = measure.is_case(total)
    return Score(
        measure_id=measure.id,
        answers=checked,
        total=total,
        band=band,
        caseness=caseness,
        complete=complete,
        risk_signal=_risk_signal(measure, checked),
    )


def validate_answers(measure: Measure, answers: Sequence[AnswerValue]) -> list[AnswerValue]:
    """Check one answer per item, each in range; ValueError naming the item otherwise."""
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise ValueError(f"{measure.short_name}: answers must be a list, one per item")
    expected = len(measure.items)
    if len(answers) != expected:
        raise ValueError(
            f"{measure.short_name}: expected {expected} answers, one per item, got {len(answers)}"
        )
    checked: list[AnswerValue] = []
    for item, answer in zip(measure.items, answers, strict=True):
        where = f"item {item.number} of {measure.short_name}"
        if answer is None:
            checked.append(None)
        elif answer is NOT_APPLICABLE:
            if not item.allows_not_applicable:
                raise ValueError(f"{where}: 'not applicable' is not allowed for this item")
            checked.append(NOT_APPLICABLE)
        elif isinstance(answer, bool) or not isinstance(answer, int):
            raise ValueError(f"{where}: {answer!r} is not a whole number")
        elif not item.min <= answer <= item.max:
            raise ValueError(f"{where}: {answer} is outside {item.min}-{item.max}")
        else:
            checked.append(answer)
    return checked


def _risk_signal(measure: Measure, answers: tuple[AnswerValue, ...]) -> bool:
    if measure.risk_item is None:
        return False
    return measure.is_risk_answer(answers[measure.risk_item - 1])


def risk_answer(measure: Measure, answers: Sequence[AnswerValue]) -> int | None:
    """The answer given to the measure's risk item (PHQ-9 item 9), or None."""
    if measure.risk_item is None or len(answers) < measure.risk_item:
        return None
    answer = answers[measure.risk_item - 1]
    return answer if isinstance(answer, int) and not isinstance(answer, bool) else None
