"""Measure definitions: loading, validation, bands and caseness at every boundary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caseload.domain.codes import PRESENTING_PROBLEMS
from caseload.domain.measures import (
    DEFAULT_DIRECTORY,
    GAD7,
    PHQ9,
    WSAS,
    Measure,
    all_measures,
    contact_form_measures,
    every_contact_measures,
    get_measure,
    load_measures,
    measure_from_dict,
)
from caseload.domain.outcomes import OUTCOME_THRESHOLDS, OutcomeThresholds
from caseload.domain.scoring import score

FREQUENCY = ["Not at all", "Several days", "More than half the days", "Nearly every day"]


SHIPPED = [GAD7, "pcl5", "phobia_agoraphobia", "phobia_social", "phobia_specific", PHQ9, WSAS]


def test_shipped_measures_load() -> None:
    measures = load_measures()
    assert set(measures) == set(SHIPPED)
    assert [m.id for m in all_measures()] == SHIPPED


def test_get_measure_unknown_raises() -> None:
    with pytest.raises(KeyError, match="unknown measure"):
        get_measure("adsm")


def test_phq9_definition() -> None:
    phq9 = get_measure(PHQ9)
    assert phq9.short_name == "PHQ-9"
    assert len(phq9.items) == 9
    assert [o.label for o in phq9.options] == FREQUENCY
    assert (phq9.total_min, phq9.total_max) == (0, 27)
    assert phq9.caseness_cutoff == 10
    assert phq9.reliable_change == 6
    assert phq9.risk_item == 9
    assert phq9.stem == (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert phq9.items[8].text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert phq9.difficulty_question is not None
    assert phq9.difficulty_question.startswith("If you checked off any problems")
    assert [o.label for o in phq9.difficulty_options] == [
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    ]
    assert phq9.attribution.startswith(
        "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues,"
        " with an educational grant from Pfizer Inc."
    )
    assert phq9.loinc_total == "44261-6"


def test_gad7_definition() -> None:
    gad7 = get_measure(GAD7)
    assert len(gad7.items) == 7
    assert [o.label for o in gad7.options] == FREQUENCY
    assert (gad7.total_min, gad7.total_max) == (0, 21)
    assert gad7.caseness_cutoff == 8
    assert gad7.reliable_change == 4
    assert gad7.risk_item is None
    assert gad7.difficulty_question is None
    assert gad7.items[0].text == "Feeling nervous, anxious, or on edge"
    assert gad7.loinc_total == "70274-6"


def test_wsas_definition() -> None:
    wsas = get_measure(WSAS)
    assert len(wsas.items) == 5
    assert [i.allows_not_applicable for i in wsas.items] == [True, False, False, False, False]
    assert (wsas.total_min, wsas.total_max) == (0, 40)
    assert wsas.caseness_cutoff is None
    assert wsas.reliable_change is None
    assert [o.value for o in wsas.options] == list(range(9))
    anchors = {o.value: o.label for o in wsas.options if o.value % 2 == 0}
    assert anchors == {
        0: "Not at all",
        2: "Slightly",
        4: "Definitely",
        6: "Markedly",
        8: "Very severely",
    }
    assert "Mundt" in wsas.attribution
    assert "work" in wsas.items[0].text
    assert "close relationships" in wsas.items[4].text


def test_outcome_thresholds_match_definitions() -> None:
    phq9, gad7 = get_measure(PHQ9), get_measure(GAD7)
    assert OUTCOME_THRESHOLDS.phq9_caseness == phq9.caseness_cutoff
    assert OUTCOME_THRESHOLDS.gad7_caseness == gad7.caseness_cutoff
    assert OUTCOME_THRESHOLDS.phq9_reliable_change == phq9.reliable_change
    assert OUTCOME_THRESHOLDS.gad7_reliable_change == gad7.reliable_change
    fresh = OutcomeThresholds()
    assert (fresh.phq9_caseness, fresh.gad7_caseness) == (
        phq9.caseness_cutoff,
        gad7.caseness_cutoff,
    )
    assert (fresh.phq9_reliable_change, fresh.gad7_reliable_change) == (
        phq9.reliable_change,
        gad7.reliable_change,
    )


# Risk item, every-contact measures and the contact form -------------------------------


def test_shipped_definitions_state_the_new_keys() -> None:
    phq9, gad7, wsas = get_measure(PHQ9), get_measure(GAD7), get_measure(WSAS)
    assert (phq9.risk_item, phq9.risk_item_signal_from) == (9, 1)
    assert (gad7.risk_item, wsas.risk_item) == (None, None)
    assert (phq9.every_contact, gad7.every_contact, wsas.every_contact) == (True, True, False)
    assert (phq9.contact_form_order, gad7.contact_form_order, wsas.contact_form_order) == (
        1,
        2,
        3,
    )


def test_every_contact_measures_are_phq9_and_gad7() -> None:
    assert every_contact_measures() == ("phq9", "gad7")
    ptsd = contact_form_measures(presenting_problem="Post-traumatic stress disorder")
    assert tuple(m.id for m in ptsd if m.every_contact) == ("phq9", "gad7")


FOR_EVERYONE = ["phq9", "gad7", "wsas", "phobia_social", "phobia_agoraphobia", "phobia_specific"]


def test_contact_form_measures_in_form_order() -> None:
    assert [m.id for m in contact_form_measures()] == FOR_EVERYONE


@pytest.mark.parametrize(
    ("answer", "signal"),
    [(0, False), (1, True), (2, True), (3, True), (None, False), (True, False), ("1", False)],
)
def test_phq9_item9_risk_answer(answer: object, signal: bool) -> None:
    assert get_measure(PHQ9).is_risk_answer(answer) is signal


@pytest.mark.parametrize("measure_id", [GAD7, WSAS])
@pytest.mark.parametrize("answer", [0, 1, 3, 8])
def test_measure_without_risk_item_never_signals(measure_id: str, answer: int) -> None:
    assert get_measure(measure_id).is_risk_answer(answer) is False


def test_risk_rule_in_words() -> None:
    assert get_measure(PHQ9).risk_rule == "PHQ-9 item 9 is 1 or more"
    assert get_measure(GAD7).risk_rule is None
    assert get_measure(WSAS).risk_rule is None


def test_risk_item_and_threshold_are_data() -> None:
    data = _definition()
    data.update(id="risky", short_name="RISKY", risk_item=3, risk_item_signal_from=2)
    measure = measure_from_dict(data)
    assert measure.risk_rule == "RISKY item 3 is 2 or more"
    assert [measure.is_risk_answer(a) for a in range(4)] == [False, False, True, True]


@pytest.mark.parametrize("signal_from", [4, -1])
def test_risk_signal_threshold_outside_the_item_range_is_rejected(signal_from: int) -> None:
    data = json.loads((DEFAULT_DIRECTORY / "phq9.json").read_text("utf-8"))
    data["risk_item_signal_from"] = signal_from
    with pytest.raises(ValueError, match="risk"):
        measure_from_dict(data)


def test_risk_signal_threshold_zero_is_not_silently_changed() -> None:
    data = json.loads((DEFAULT_DIRECTORY / "phq9.json").read_text("utf-8"))
    data["risk_item_signal_from"] = 0
    try:
        measure = measure_from_dict(data)
    except ValueError:
        return
    assert measure.risk_item_signal_from == 0


def test_new_keys_default_when_absent() -> None:
    data = _definition()
    for key in ("every_contact", "contact_form_order", "risk_item_signal_from"):
        data.pop(key, None)
    measure = measure_from_dict(data)
    assert measure.every_contact is False
    assert measure.contact_form_order is None
    assert measure.risk_item_signal_from == 1


# Every band boundary: cut-off minus 1, cut-off, and maximum.
BAND_CASES = [
    # PHQ-9: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe
    (PHQ9, 0, "minimal"),
    (PHQ9, 4, "minimal"),
    (PHQ9, 5, "mild"),
    (PHQ9, 9, "mild"),
    (PHQ9, 10, "moderate"),
    (PHQ9, 14, "moderate"),
    (PHQ9, 15, "moderately_severe"),
    (PHQ9, 19, "moderately_severe"),
    (PHQ9, 20, "severe"),
    (PHQ9, 27, "severe"),
    # GAD-7: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe
    (GAD7, 0, "minimal"),
    (GAD7, 4, "minimal"),
    (GAD7, 5, "mild"),
    (GAD7, 9, "mild"),
    (GAD7, 10, "moderate"),
    (GAD7, 14, "moderate"),
    (GAD7, 15, "severe"),
    (GAD7, 21, "severe"),
    # WSAS: 0-9 subclinical, 10-19 significant, 20-40 severe
    (WSAS, 0, "subclinical"),
    (WSAS, 9, "subclinical"),
    (WSAS, 10, "significant_functional_impairment_moderate"),
    (WSAS, 19, "significant_functional_impairment_moderate"),
    (WSAS, 20, "severe_functional_impairment"),
    (WSAS, 40, "severe_functional_impairment"),
]


@pytest.mark.parametrize(
    ("measure_id", "total", "band_key"), BAND_CASES, ids=[f"{m}-{t}" for m, t, _ in BAND_CASES]
)
def test_band_boundaries(measure_id: str, total: int, band_key: str) -> None:
    band = get_measure(measure_id).band_for(total)
    assert band.key == band_key
    assert band.lower <= total <= band.upper


@pytest.mark.parametrize(
    ("measure_id", "total"),
    [(PHQ9, -1), (PHQ9, 28), (GAD7, 22), (WSAS, 41)],
)
def test_band_outside_range_raises(measure_id: str, total: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        get_measure(measure_id).band_for(total)


@pytest.mark.parametrize(
    ("measure_id", "total", "case"),
    [
        (PHQ9, 0, False),
        (PHQ9, 9, False),
        (PHQ9, 10, True),
        (PHQ9, 27, True),
        (GAD7, 0, False),
        (GAD7, 7, False),
        (GAD7, 8, True),
        (GAD7, 21, True),
        (WSAS, 9, None),
        (WSAS, 40, None),
    ],
)
def test_caseness_boundaries(measure_id: str, total: int, case: bool | None) -> None:
    assert get_measure(measure_id).is_case(total) is case


def test_is_case_rejects_bool_total() -> None:
    with pytest.raises(ValueError, match="not a whole number"):
        get_measure(PHQ9).is_case(True)


def test_band_key_and_lookup() -> None:
    phq9 = get_measure(PHQ9)
    assert phq9.band_by_key("moderately_severe").label == "Moderately severe"
    with pytest.raises(KeyError):
        phq9.band_by_key("nope")
    assert phq9.item(9).number == 9
    with pytest.raises(KeyError):
        phq9.item(10)


# Validation of bad definitions -------------------------------------------------------


def _definition() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEFAULT_DIRECTORY / "gad7.json").read_text("utf-8"))
    return data


def _load_one(tmp_path: Path, data: Any) -> Measure:
    (tmp_path / "m.json").write_text(json.dumps(data), encoding="utf-8")
    return load_measures(tmp_path)["gad7"]


def test_new_measure_is_only_a_json_file(tmp_path: Path) -> None:
    data = _definition()
    data["id"] = "adsm_test"
    data["short_name"] = "ADSM"
    (tmp_path / "adsm.json").write_text(json.dumps(data), encoding="utf-8")
    assert load_measures(tmp_path)["adsm_test"].band_for(15).key == "severe"


def _break(change: Any) -> dict[str, Any]:
    data = _definition()
    change(data)
    return data


BAD_DEFINITIONS = {
    "gap_between_bands": (lambda d: d["bands"][1].update(lower=6), "contiguous"),
    "overlapping_bands": (lambda d: d["bands"][1].update(lower=4), "contiguous"),
    "bands_stop_short": (lambda d: d["bands"][-1].update(upper=20), "total maximum"),
    "bands_start_late": (lambda d: d["bands"][0].update(lower=1), "contiguous"),
    "wrong_total_max": (lambda d: d.update(total_max=20), "item ranges"),
    "items_out_of_order": (lambda d: d["items"][0].update(number=2), "numbered"),
    "caseness_outside": (lambda d: d.update(caseness_cutoff=30), "caseness"),
    "negative_reliable_change": (lambda d: d.update(reliable_change=-1), "reliable change"),
    "risk_item_not_an_item": (lambda d: d.update(risk_item=12), "risk item"),
    "missing_name": (lambda d: d.pop("name"), "missing 'name'"),
    "total_not_int": (lambda d: d.update(total_min="0"), "whole number"),
    "bool_total": (lambda d: d.update(total_min=False), "whole number"),
    "option_missing": (lambda d: d["options"].pop(), "option label"),
    "duplicate_option": (lambda d: d["options"].append({"value": 0, "label": "x"}), "duplicate"),
    "bad_id": (lambda d: d.update(id="GAD 7"), "id"),
    "repeated_band_label": (lambda d: d["bands"][1].update(label="Minimal"), "repeated"),
    "items_not_list": (lambda d: d.update(items="nine"), "list of objects"),
    "empty_items": (lambda d: d.update(items=[], total_max=0, bands=[]), "no items"),
    "min_above_max": (lambda d: d["items"][0].update(min=4), "min above max"),
    "not_applicable_not_bool": (
        lambda d: d["items"][0].update(allows_not_applicable="yes"),
        "true or false",
    ),
    "every_contact_not_bool": (lambda d: d.update(every_contact="yes"), "true or false"),
    "form_order_not_int": (lambda d: d.update(contact_form_order="2"), "whole number"),
    "signal_from_not_int": (lambda d: d.update(risk_item_signal_from=1.5), "whole number"),
}


@pytest.mark.parametrize("name", sorted(BAD_DEFINITIONS))
def test_bad_definitions_raise(tmp_path: Path, name: str) -> None:
    change, message = BAD_DEFINITIONS[name]
    with pytest.raises(ValueError, match=message):
        _load_one(tmp_path, _break(change))


def test_not_an_object_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        _load_one(tmp_path, [1, 2, 3])


def test_invalid_json_raises(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_measures(tmp_path)


def test_duplicate_ids_raise(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(_definition()), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate measure id"):
        load_measures(tmp_path)


def test_empty_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no measure definitions"):
        load_measures(tmp_path)


# Anxiety disorder specific measures and the IAPT phobia scales -----------------------------

PTSD = "Post-traumatic stress disorder"

#: Each shipped definition against its published form: items, answer range per item, total.
PUBLISHED = {
    PHQ9: (9, 0, 3, 0, 27),
    GAD7: (7, 0, 3, 0, 21),
    WSAS: (5, 0, 8, 0, 40),
    "pcl5": (20, 0, 4, 0, 80),
    "phobia_social": (1, 0, 8, 0, 8),
    "phobia_agoraphobia": (1, 0, 8, 0, 8),
    "phobia_specific": (1, 0, 8, 0, 8),
}


@pytest.mark.parametrize("measure_id", sorted(PUBLISHED))
def test_each_shipped_definition_matches_its_published_range(measure_id: str) -> None:
    measure = get_measure(measure_id)
    items, low, high, total_min, total_max = PUBLISHED[measure_id]
    assert len(measure.items) == items
    assert {(i.min, i.max) for i in measure.items} == {(low, high)}
    assert (measure.total_min, measure.total_max) == (total_min, total_max)
    assert [o.value for o in measure.options] == list(range(low, high + 1))
    assert measure.bands_source
    assert measure.thresholds_source
    assert measure.attribution


def test_every_shipped_file_is_a_loaded_measure() -> None:
    files = sorted(p.stem for p in DEFAULT_DIRECTORY.glob("*.json"))
    assert files == sorted(PUBLISHED)


def test_pcl5_definition() -> None:
    pcl5 = get_measure("pcl5")
    assert pcl5.short_name == "PCL-5"
    assert [o.label for o in pcl5.options] == [
        "Not at all",
        "A little bit",
        "Moderately",
        "Quite a bit",
        "Extremely",
    ]
    assert pcl5.stem.startswith(
        "Below is a list of problems that people sometimes have in response to a very "
        "stressful experience."
    )
    assert pcl5.items[0].text == (
        "Repeated, disturbing, and unwanted memories of the stressful experience?"
    )
    assert pcl5.items[16].text == "Being \u201csuperalert\u201d or watchful or on guard?"
    assert pcl5.items[19].text == "Trouble falling or staying asleep?"
    assert (pcl5.caseness_cutoff, pcl5.reliable_change) == (32, 10)
    assert pcl5.presenting_problems == (PTSD,)
    assert pcl5.is_adsm
    assert not pcl5.every_contact
    assert pcl5.bands == ()
    assert pcl5.risk_item is None
    assert "public domain" in pcl5.attribution


@pytest.mark.parametrize(
    ("measure_id", "starts"),
    [
        ("phobia_social", "Social situations due to a fear of being embarrassed"),
        ("phobia_agoraphobia", "Certain situations because of a fear of having a panic attack"),
        ("phobia_specific", "Certain situations because of a fear of particular objects"),
    ],
)
def test_iapt_phobia_scales(measure_id: str, starts: str) -> None:
    scale = get_measure(measure_id)
    assert scale.items[0].text.startswith(starts)
    assert scale.stem.startswith("Choose a number from the scale below")
    assert {o.value: o.label for o in scale.options if o.value % 2 == 0} == {
        0: "Would not avoid it",
        2: "Slightly avoid it",
        4: "Definitely avoid it",
        6: "Markedly avoid it",
        8: "Always avoid it",
    }
    # Asked of everyone, as in the IAPT minimum data set; no published cut-off or bands.
    assert not scale.is_adsm
    assert (scale.caseness_cutoff, scale.reliable_change, scale.bands) == (None, None, ())
    assert scale.is_case(8) is None
    assert "Crown copyright" in scale.attribution


def test_contact_form_offers_an_adsm_only_for_its_presenting_problem() -> None:
    ptsd = [m.id for m in contact_form_measures(presenting_problem=PTSD)]
    assert ptsd == ["phq9", "gad7", "wsas", "pcl5", *FOR_EVERYONE[3:]]
    for problem in ("Depression", "Generalised anxiety disorder", "Other", None):
        assert "pcl5" not in [m.id for m in contact_form_measures(presenting_problem=problem)]
    kept = contact_form_measures(presenting_problem="Depression", also={"pcl5"})
    assert "pcl5" in [m.id for m in kept]


def test_presenting_problems_are_the_registration_forms() -> None:
    for measure in all_measures():
        assert set(measure.presenting_problems) <= set(PRESENTING_PROBLEMS)


def test_a_measure_without_bands_has_a_total_but_no_band() -> None:
    pcl5 = get_measure("pcl5")
    assert pcl5.find_band(50) is None
    with pytest.raises(ValueError, match="no severity bands"):
        pcl5.band_for(50)
    with pytest.raises(ValueError, match="outside"):
        pcl5.find_band(81)
    assert get_measure(PHQ9).find_band(12) == get_measure(PHQ9).band_for(12)
    assert score(pcl5, [2] * 20).total == 40
    assert score(pcl5, [2] * 20).band is None
    assert score(pcl5, [2] * 20).caseness is True


def _adsm(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEFAULT_DIRECTORY / "pcl5.json").read_text("utf-8"))
    data.update({"id": "adsm_test"} | changes)
    return data


def test_a_service_adds_an_adsm_with_a_json_file_only(tmp_path: Path) -> None:
    data = _adsm(presenting_problems=["Social anxiety disorder", "Specific phobia"])
    (tmp_path / "adsm.json").write_text(json.dumps(data), encoding="utf-8")
    measure = load_measures(tmp_path)["adsm_test"]
    assert measure.presenting_problems == ("Social anxiety disorder", "Specific phobia")
    assert measure.offered_for("Specific phobia")
    assert not measure.offered_for("Depression")
    assert not measure.offered_for(None)


BAD_ADSMS = {
    "no_caseness": ({"caseness_cutoff": None}, "caseness cut-off"),
    "no_reliable_change": ({"reliable_change": None}, "reliable-change"),
    "not_on_the_form": ({"contact_form_order": None}, "contact form"),
    "asked_at_every_contact": ({"every_contact": True}, "every contact"),
    "unknown_problem": ({"presenting_problems": ["PTSD"]}, "registration form"),
    "problems_not_a_list": ({"presenting_problems": PTSD}, "list of distinct"),
    "repeated_problem": ({"presenting_problems": [PTSD, PTSD]}, "list of distinct"),
    "empty_problem": ({"presenting_problems": [""]}, "list of distinct"),
    "unbanded_without_a_word": ({"bands_source": None}, "bands_source"),
    "id_too_long": ({"id": "a" * 21}, "at most 20"),
}


@pytest.mark.parametrize("name", sorted(BAD_ADSMS))
def test_bad_adsm_definitions_raise(name: str) -> None:
    changes, message = BAD_ADSMS[name]
    with pytest.raises(ValueError, match=message):
        measure_from_dict(_adsm(**changes))
