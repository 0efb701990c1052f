"""Random draws the demo plan is made of: weighted choices, item answers, NHS numbers,
appointment times and the clinical shape of a course. Pure; no database."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from caseload.domain.dates import LONDON
from caseload.services.clients import nhs_number_is_valid

_T = TypeVar("_T")


def weighted(rng: random.Random, weights: dict[_T, int]) -> _T:
    """One key of ``weights``, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def clamp(value: float, low: int, high: int) -> int:
    """``value`` rounded and held within ``low``..``high``."""
    return max(low, min(high, round(value)))


def spread_items(
    rng: random.Random, total: int, items: int, top: int, fixed: dict[int, int] | None = None
) -> list[int]:
    """Item answers (each 0..top) summing to ``total``; ``fixed`` pins items by index."""
    answers = [0] * items
    for index, value in (fixed or {}).items():
        answers[index] = value
    free = [i for i in range(items) if i not in (fixed or {})]
    remaining = max(0, min(total - sum(answers), top * len(free)))
    while remaining:
        index = rng.choice([i for i in free if answers[i] < top])
        answers[index] += 1
        remaining -= 1
    return answers


def demo_nhs_number(rng: random.Random) -> str:
    """A valid NHS number in the 999 test range (never issued to a person)."""
    while True:
        body = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            number = body + str(check)
            assert nhs_number_is_valid(number)  # noqa: S101 - a slip here is a bug in this file
            return number


def working_time(day: date, rng: random.Random) -> datetime:
    """A working-hours time on a weekday on or after ``day``, as aware UTC."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    moment = time(rng.choice((9, 10, 11, 13, 14, 15, 16)), rng.choice((0, 30)))
    return datetime.combine(day, moment, tzinfo=LONDON).astimezone(UTC)


def local_day(moment: datetime) -> date:
    """The London calendar day of an aware moment."""
    return moment.astimezone(LONDON).date()


def previous_weekday(day: date) -> date:
    """``day`` itself on a weekday, else the Friday before it."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


@dataclass
class Course:
    """The clinical shape of one episode: start and end scores, risk, pace."""

    phq_start: int
    gad_start: int
    phq_end: int
    gad_end: int
    sessions: int
    risk_contacts: int  # how many first attended contacts carry PHQ-9 item 9 >= 1
    retired: bool

    def scores(self, rng: random.Random, index: int) -> tuple[int, int]:
        """PHQ-9 and GAD-7 totals at the ``index``-th attended contact of the course."""
        if index == 0:
            return self.phq_start, self.gad_start
        if index >= self.sessions - 1:
            return self.phq_end, self.gad_end
        progress = 1 - (1 - index / (self.sessions - 1)) ** 1.4
        phq = self.phq_start + (self.phq_end - self.phq_start) * progress + rng.gauss(0, 1.5)
        gad = self.gad_start + (self.gad_end - self.gad_start) * progress + rng.gauss(0, 1.2)
        return clamp(phq, 0, 27), clamp(gad, 0, 21)


def draw_course(
    rng: random.Random, *, kind: str, sessions: int, risk: bool, age: int, problem: str
) -> Course:
    """A course of ``kind`` (recover, improve, no_change, deteriorate) for one client."""
    at_caseness = rng.random() < 0.93
    if at_caseness:
        lean = 1.5 if "Depression" in problem else (-1.5 if "anxiety" in problem else 0)
        phq = clamp(rng.gauss(14.5 + lean, 4.5), 6, 26)
        gad = clamp(rng.gauss(12 - lean / 2, 3.5), 4, 21)
        if phq < 10 and gad < 8:
            gad = rng.randint(8, 12)
    else:
        phq, gad = rng.randint(2, 9), rng.randint(2, 7)
    if risk:
        phq = max(phq, 12)
    phq_end, gad_end = phq, gad
    if kind == "recover":
        phq_end, gad_end = rng.randint(2, 9), rng.randint(1, 7)
    elif kind == "improve":
        phq_end = max(phq - rng.randint(3, 8), 10 if phq >= 10 else 0)
        gad_end = max(gad - rng.randint(2, 6), 8 if phq < 10 else 0)
    elif kind == "no_change":
        phq_end = clamp(phq + rng.randint(-3, 2), max(0, min(phq, 10)), 27)
        gad_end = clamp(gad + rng.randint(-2, 2), max(0, min(gad, 8)), 21)
    elif kind == "deteriorate":
        if phq <= 20:
            phq_end = phq + rng.randint(6, 9)
            gad_end = clamp(gad + rng.randint(-1, 3), 0, 21)
        else:
            phq_end = clamp(phq + rng.randint(-1, 2), 0, 27)
            gad_end = clamp(gad + rng.randint(4, 6), 0, 21)
    if not at_caseness:
        phq_end = clamp(phq + rng.randint(-3, 1), 0, 9)
        gad_end = clamp(gad + rng.randint(-3, 1), 0, 7)
    risk_contacts = rng.choice((1, 1, 2, 3)) if risk else 0
    return Course(
        phq,
        gad,
        clamp(phq_end, 0, 27),
        clamp(gad_end, 0, 21),
        sessions,
        risk_contacts,
        retired=age >= 67,
    )
