"""Interventions as data: the shipped step-2 list, and the loader's checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caseload.domain.interventions import (
    DEFAULT_PATH,
    MAX_CODE_LENGTH,
    all_interventions,
    get_intervention,
    intervention_label,
    interventions_from_dict,
    is_intervention,
    load_interventions,
)

#: The codes contacts held when the intervention was a five-value enum (before issue 8):
#: stored rows use them, so they must stay valid.
CODES_IN_USE_SINCE_THE_FIRST_RELEASE = (
    "guided_self_help",
    "behavioural_activation",
    "psychoeducation",
    "signposting",
    "other",
)


def test_shipped_list_loads_with_its_source() -> None:
    shipped = load_interventions()
    assert shipped.interventions == all_interventions()
    assert "NHS Talking Therapies" in shipped.source


def test_existing_codes_stay_valid() -> None:
    for code in CODES_IN_USE_SINCE_THE_FIRST_RELEASE:
        assert is_intervention(code), code


def test_shipped_list_covers_the_step_2_interventions_a_service_reports() -> None:
    codes = {i.code for i in all_interventions()}
    assert {
        "guided_self_help",
        "behavioural_activation",
        "computerised_cbt",
        "non_guided_self_help",
        "psychoeducation_group",
        "psychoeducational_peer_support",
        "structured_physical_activity",
        "employment_support",
        "signposting",
    } <= codes
    assert {i.step for i in all_interventions()} == {2}
    assert all_interventions()[-1].code == "other"  # last in the list the form shows


def test_lookups() -> None:
    assert get_intervention("behavioural_activation").label == "Behavioural activation"
    assert intervention_label("signposting") == "Signposting to other services"
    assert intervention_label("retired_code") == "retired_code"
    with pytest.raises(KeyError, match="unknown intervention"):
        get_intervention("hypnosis")
    for bogus in ("hypnosis", "", None, 3, "GUIDED_SELF_HELP"):
        assert not is_intervention(bogus)


def test_codes_fit_the_column() -> None:
    assert all(len(i.code) <= MAX_CODE_LENGTH for i in all_interventions())


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_PATH.read_text("utf-8"))
    return data


def test_a_service_adds_an_intervention_with_data_only(tmp_path: Path) -> None:
    data = _shipped()
    data["interventions"].append(
        {"code": "couples_therapy", "label": "Couple therapy for depression", "step": 3}
    )
    path = tmp_path / "interventions.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_interventions(path)
    assert loaded.get("couples_therapy").step == 3
    assert loaded.codes[-1] == "couples_therapy"


BAD = {
    "not_an_object": (lambda d: [1], "JSON object"),
    "no_source": (lambda d: d | {"source": ""}, "source"),
    "no_list": (lambda d: d | {"interventions": []}, "non-empty list"),
    "entry_not_object": (lambda d: d | {"interventions": ["guided_self_help"]}, "an object"),
    "bad_code": (lambda d: _first(d, code="Guided Self Help"), "lowercase"),
    "long_code": (lambda d: _first(d, code="x" * (MAX_CODE_LENGTH + 1)), "at most"),
    "code_not_text": (lambda d: _first(d, code=7), "lowercase"),
    "empty_label": (lambda d: _first(d, label="  "), "label"),
    "step_one": (lambda d: _first(d, step=1), "step"),
    "step_bool": (lambda d: _first(d, step=True), "step"),
    "step_text": (lambda d: _first(d, step="2"), "step"),
    "repeated_code": (lambda d: _first(d, code="other"), "code 'other' is repeated"),
    "repeated_label": (lambda d: _first(d, label="Other"), "label 'Other' is repeated"),
}


def _first(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data["interventions"][0].update(changes)
    return data


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_raise(name: str) -> None:
    change, message = BAD[name]
    with pytest.raises(ValueError, match=message):
        interventions_from_dict(change(_shipped()))


def test_invalid_json_raises(tmp_path: Path) -> None:
    path = tmp_path / "interventions.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_interventions(path)
