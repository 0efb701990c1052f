"""The interventions a contact can record, loaded from ``seed_data/interventions.json``.

An intervention is data, not code: a stable ``code`` (what ``contacts.intervention``
stores), the ``label`` the contact form shows and the ``step`` of care it belongs to.
A service adds one by adding an entry to the file; it never renames or removes a code
that contacts already hold (the test suite checks the codes in use since the first
release are all still there).

The shipped list is the step-2 (low-intensity) work of NHS Talking Therapies: guided
self-help based on CBT, computerised or digital CBT, non-guided self-help, behavioural
activation, psychoeducation one to one and in groups, psychoeducational peer support,
structured physical activity, employment support and signposting. Sources: the NHS
Talking Therapies Manual and the low-intensity therapy types of the national dataset
(the file's ``source`` and docs/outcomes.md give them in full).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "seed_data" / "interventions.json"

#: ``contacts.intervention`` is a String of this length.
MAX_CODE_LENGTH = 32
_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
#: Steps of care in NHS Talking Therapies' stepped-care model that a service records here.
STEPS = (2, 3)


@dataclass(frozen=True, slots=True)
class Intervention:
    """One intervention a contact can record."""

    code: str
    label: str
    step: int


@dataclass(frozen=True, slots=True)
class InterventionList:
    """The interventions in the order the contact form offers them, with their source."""

    interventions: tuple[Intervention, ...]
    source: str

    def get(self, code: str) -> Intervention:
        """The intervention with this code; KeyError when there is none."""
        for intervention in self.interventions:
            if intervention.code == code:
                return intervention
        raise KeyError(f"unknown intervention {code!r}")

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code, in form order."""
        return tuple(i.code for i in self.interventions)


def load_interventions(path: Path | None = None) -> InterventionList:
    """Load and validate an interventions file (ValueError naming the problem)."""
    where = DEFAULT_PATH if path is None else path
    try:
        raw = json.loads(where.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where.name}: not valid JSON ({exc})") from exc
    return interventions_from_dict(raw, source=where.name)


def interventions_from_dict(raw: Any, *, source: str = "interventions") -> InterventionList:
    """Build the list from a decoded JSON object, raising ValueError when it is inconsistent."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: the interventions file must be a JSON object")
    cited = raw.get("source")
    if not isinstance(cited, str) or not cited.strip():
        raise ValueError(f"{source}: 'source' must say where the list comes from")
    entries = raw.get("interventions")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{source}: 'interventions' must be a non-empty list")
    interventions = tuple(
        _intervention(entry, f"{source} entry {n}") for n, entry in enumerate(entries, 1)
    )
    for attribute in ("code", "label"):
        values = [getattr(i, attribute) for i in interventions]
        repeated = next((v for v in values if values.count(v) > 1), None)
        if repeated is not None:
            raise ValueError(f"{source}: {attribute} {repeated!r} is repeated")
    return InterventionList(interventions=interventions, source=cited)


def _intervention(raw: Any, where: str) -> Intervention:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be an object with code, label and step")
    code, label, step = raw.get("code"), raw.get("label"), raw.get("step")
    if not isinstance(code, str) or not _CODE_PATTERN.match(code) or len(code) > MAX_CODE_LENGTH:
        raise ValueError(
            f"{where}: code {code!r} must be lowercase letters, digits and _ "
            f"(at most {MAX_CODE_LENGTH})"
        )
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{where}: label must be non-empty text")
    if isinstance(step, bool) or step not in STEPS:
        raise ValueError(f"{where}: step must be one of {', '.join(map(str, STEPS))}")
    return Intervention(code=code, label=label.strip(), step=step)


@cache
def _registry() -> InterventionList:
    return load_interventions()


def all_interventions() -> tuple[Intervention, ...]:
    """The shipped interventions, in the order the contact form offers them (cached)."""
    return _registry().interventions


def get_intervention(code: str) -> Intervention:
    """The shipped intervention with this code; KeyError when unknown."""
    return _registry().get(code)


def is_intervention(code: object) -> bool:
    """Whether ``code`` is the code of a shipped intervention."""
    return isinstance(code, str) and code in _registry().codes


def intervention_label(code: str) -> str:
    """The label of a code, or the code itself for one no longer in the file (history)."""
    return get_intervention(code).label if is_intervention(code) else code
