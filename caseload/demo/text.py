"""The demo service's words, loaded from JSON data in ``seed_data/demo``.

Names, GP practices, complexity and consent notes, contact and discharge
notes, risk phrases, reflective-note texts and supervision reasons and decisions
are data, not code: each file
is read on first use and cached, never at import. Keys that name a code
(a complexity factor, discharge reason, risk level, reflective theme, flag kind or
supervision decision) are
the enum's value, and every member must have an entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from caseload.domain.codes import (
    ComplexityFactor,
    DischargeReason,
    ReflectiveTheme,
    RiskLevel,
    SupervisionDecision,
)
from caseload.domain.flags import FlagKind

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "seed_data" / "demo"

_E = TypeVar("_E", bound=Enum)


@dataclass(frozen=True)
class DemoText:
    """Every phrase the demo draws from, in file order (order matters for a seed)."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    gp_practices: tuple[str, ...]
    complexity_notes: Mapping[ComplexityFactor, str]
    consent_agreed: tuple[str, ...]
    consent_declined: tuple[str, ...]
    consent_later_agreed: str
    consent_later_declined: str
    contact_notes: Mapping[str, tuple[str, ...]]
    discharge_notes: Mapping[DischargeReason, str]
    risk_factors: tuple[str, ...]
    risk_protective: tuple[str, ...]
    risk_actions: Mapping[RiskLevel, str]
    risk_none_reported: str
    risk_reviewed_factors: str
    risk_reviewed_action: str
    #: The risk plan written when a case is discharged with risk or a red flag open.
    risk_discharge_plan: str
    note_texts: Mapping[ReflectiveTheme, tuple[str, ...]]
    #: Why a supervisor discussed a case, by the kind of its most severe flag.
    review_reasons: Mapping[FlagKind, tuple[str, ...]]
    #: What a supervisor wrote with each decision.
    review_notes: Mapping[SupervisionDecision, tuple[str, ...]]
    #: Added to the note of a review made outside a supervision session.
    between_sessions: str
    reassignment_reasons: tuple[str, ...]


def _read(directory: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / name).read_text("utf-8"))
    return data


def _by_code(enum_cls: type[_E], raw: Mapping[str, Any], *, required: bool = True) -> dict[_E, Any]:
    """Re-key a JSON object by enum member; every member present unless not ``required``."""
    keyed = {enum_cls(key): value for key, value in raw.items()}
    missing = [m.value for m in enum_cls if m not in keyed]
    if required and missing:
        raise ValueError(f"Demo data has no entry for {enum_cls.__name__} {missing}.")
    return keyed


def load_demo_text(directory: Path = DEFAULT_DIRECTORY) -> DemoText:
    """Read and check the demo data files in ``directory``."""
    people = _read(directory, "people.json")
    referrals = _read(directory, "referrals.json")
    consent = referrals["consent"]
    notes = _read(directory, "contact_notes.json")
    risk = _read(directory, "risk.json")
    reflective = _read(directory, "reflective_notes.json")
    supervision = _read(directory, "supervision.json")
    return DemoText(
        first_names=tuple(people["first_names"]),
        last_names=tuple(people["last_names"]),
        gp_practices=tuple(people["gp_practices"]),
        complexity_notes=_by_code(ComplexityFactor, referrals["complexity_notes"]),
        consent_agreed=tuple(consent["agreed"]),
        consent_declined=tuple(consent["declined"]),
        consent_later_agreed=consent["later_agreed"],
        consent_later_declined=consent["later_declined"],
        contact_notes={kind: tuple(texts) for kind, texts in notes["contacts"].items()},
        discharge_notes=_by_code(DischargeReason, notes["discharges"]),
        risk_factors=tuple(risk["factors"]),
        risk_protective=tuple(risk["protective"]),
        # No action is written for "no apparent risk", so NONE needs no entry.
        risk_actions=_by_code(RiskLevel, risk["actions"], required=False),
        risk_none_reported=risk["none_reported"],
        risk_reviewed_factors=risk["reviewed"]["factors"],
        risk_reviewed_action=risk["reviewed"]["action"],
        risk_discharge_plan=risk["discharge_plan"],
        note_texts={
            theme: tuple(texts)
            for theme, texts in _by_code(ReflectiveTheme, reflective["texts"]).items()
        },
        review_reasons={
            kind: tuple(texts) for kind, texts in _by_code(FlagKind, supervision["reasons"]).items()
        },
        review_notes={
            decision: tuple(texts)
            for decision, texts in _by_code(SupervisionDecision, supervision["notes"]).items()
        },
        between_sessions=supervision["between_sessions"],
        reassignment_reasons=tuple(supervision["reassignment_reasons"]),
    )


@cache
def demo_text() -> DemoText:
    """The shipped demo data, read once on first use."""
    return load_demo_text()
