"""Questionnaire definitions, loaded from JSON data in ``seed_data/measures``.

A measure is data, not code: items, response options, ranges, bands,
caseness cut-off and reliable-change threshold. Adding a measure (an
anxiety-disorder-specific measure, say) means adding one JSON file.

An anxiety disorder specific measure (ADSM) names the presenting problems
it is the specific measure for (``presenting_problems``): the contact form
offers it only on episodes with one of them, and the outcome rules use it
instead of GAD-7 when it was scored at the first and the last contact
(docs/design.md section 3). Bands are optional, for measures published
without severity bands (the PCL-5, the IAPT phobia scales).

Sources of the shipped definitions: PHQ-9, Kroenke, Spitzer & Williams
(2001); GAD-7, Spitzer, Kroenke, Williams & Löwe (2006); WSAS, Mundt,
Marks, Shear & Greist (2002); PCL-5, Weathers et al. (2013), National
Center for PTSD; IAPT phobia scales, IAPT Data Handbook (2011);
caseness and reliable-change thresholds, the NHS Talking Therapies
Manual. See docs/outcomes.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from caseload.domain.codes import PRESENTING_PROBLEMS

PHQ9 = "phq9"
GAD7 = "gad7"
WSAS = "wsas"

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "seed_data" / "measures"

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
#: Measure ids are stored in ``contact_scores.measure_id`` and
#: ``episode_measure_summaries.measure_id``, both String(20).
MAX_ID_LENGTH = 20


@dataclass(frozen=True, slots=True)
class ResponseOption:
    """One answer a respondent can choose, with its score."""

    value: int
    label: str


@dataclass(frozen=True, slots=True)
class Item:
    """One question of a measure, scored from ``min`` to ``max``."""

    number: int
    text: str
    min: int
    max: int
    allows_not_applicable: bool = False


@dataclass(frozen=True, slots=True)
class Band:
    """A severity band: totals from ``lower`` to ``upper``, both inclusive."""

    lower: int
    upper: int
    label: str

    @property
    def key(self) -> str:
        """Stable slug of the label, e.g. ``moderately_severe``."""
        return re.sub(r"[^a-z0-9]+", "_", self.label.lower()).strip("_")

    def contains(self, total: int) -> bool:
        """True when ``total`` falls in this band."""
        return self.lower <= total <= self.upper


@dataclass(frozen=True, slots=True)
class Measure:
    """A questionnaire definition: items, options, total range, bands and thresholds."""

    id: str
    name: str
    short_name: str
    stem: str
    items: tuple[Item, ...]
    options: tuple[ResponseOption, ...]
    total_min: int
    total_max: int
    bands: tuple[Band, ...]
    caseness_cutoff: int | None
    reliable_change: int | None
    attribution: str
    difficulty_question: str | None = None
    difficulty_options: tuple[ResponseOption, ...] = ()
    #: The item whose answer is a risk signal (PHQ-9 item 9), and the lowest answer that is one.
    risk_item: int | None = None
    risk_item_signal_from: int = 1
    #: Asked at every attended contact (PHQ-9, GAD-7): "both measures" in completeness rules.
    every_contact: bool = False
    #: Place on the contact form, or None when the form does not offer it.
    contact_form_order: int | None = None
    not_applicable_label: str | None = None
    loinc_total: str | None = None
    bands_source: str = ""
    thresholds_source: str = ""
    #: The presenting problems this measure is the anxiety disorder specific measure for
    #: (as worded on the registration form); empty for a measure asked of everyone.
    presenting_problems: tuple[str, ...] = ()

    @property
    def is_adsm(self) -> bool:
        """Whether this is an anxiety disorder specific measure (it names presenting problems)."""
        return bool(self.presenting_problems)

    def offered_for(self, presenting_problem: str | None) -> bool:
        """Whether the contact form offers this measure on an episode with that problem."""
        return not self.presenting_problems or presenting_problem in self.presenting_problems

    def band_for(self, total: int) -> Band:
        """The band a total falls in; ValueError when outside the total range or unbanded."""
        band = self.find_band(total)
        if band is None:
            raise ValueError(f"{self.short_name} has no severity bands")
        return band

    def find_band(self, total: int) -> Band | None:
        """The band a total falls in, or None for a measure published without bands;
        ValueError when the total is outside the total range."""
        self._check_total(total)
        for band in self.bands:
            if band.contains(total):
                return band
        if self.bands:  # pragma: no cover - the loader checks the bands cover the range
            raise ValueError(f"{self.short_name}: no band covers {total}")
        return None

    def is_case(self, total: int) -> bool | None:
        """True at or above the caseness cut-off; None when the measure has none."""
        self._check_total(total)
        if self.caseness_cutoff is None:
            return None
        return total >= self.caseness_cutoff

    def is_risk_answer(self, answer: object) -> bool:
        """Whether an answer to the risk item is a risk signal (item 9 at 1 or more, always)."""
        return (
            self.risk_item is not None
            and isinstance(answer, int)
            and not isinstance(answer, bool)
            and answer >= self.risk_item_signal_from
        )

    @property
    def risk_rule(self) -> str | None:
        """The risk rule in words, e.g. "PHQ-9 item 9 is 1 or more"; None without a risk item."""
        if self.risk_item is None:
            return None
        return f"{self.short_name} item {self.risk_item} is {self.risk_item_signal_from} or more"

    def band_by_key(self, key: str) -> Band:
        """The band with this key; KeyError when there is none."""
        for band in self.bands:
            if band.key == key:
                return band
        raise KeyError(f"{self.short_name} has no band {key!r}")

    def item(self, number: int) -> Item:
        """The item with this 1-based number; KeyError when there is none."""
        for item in self.items:
            if item.number == number:
                return item
        raise KeyError(f"{self.short_name} has no item {number}")

    def _check_total(self, total: int) -> None:
        if isinstance(total, bool) or not isinstance(total, int):
            raise ValueError(f"{self.short_name} total {total!r} is not a whole number")
        if not self.total_min <= total <= self.total_max:
            raise ValueError(
                f"{self.short_name} total {total} is outside {self.total_min}-{self.total_max}"
            )


def load_measures(directory: Path | None = None) -> dict[str, Measure]:
    """Load and validate every ``*.json`` measure definition in a directory."""
    folder = DEFAULT_DIRECTORY if directory is None else directory
    measures: dict[str, Measure] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: not valid JSON ({exc})") from exc
        measure = measure_from_dict(raw, source=path.name)
        if measure.id in measures:
            raise ValueError(f"{path.name}: duplicate measure id {measure.id!r}")
        measures[measure.id] = measure
    if not measures:
        raise ValueError(f"no measure definitions in {folder}")
    return measures


@cache
def _registry() -> dict[str, Measure]:
    return load_measures()


def get_measure(measure_id: str) -> Measure:
    """The shipped measure with this id (cached); KeyError when unknown."""
    try:
        return _registry()[measure_id]
    except KeyError:
        raise KeyError(f"unknown measure {measure_id!r}") from None


def all_measures() -> tuple[Measure, ...]:
    """Every shipped measure, ordered by id."""
    registry = _registry()
    return tuple(registry[key] for key in sorted(registry))


def every_contact_measures() -> tuple[str, ...]:
    """Ids of the measures asked at every attended contact, in form order (PHQ-9, GAD-7)."""
    return tuple(m.id for m in contact_form_measures() if m.every_contact)


def contact_form_measures(
    *, presenting_problem: str | None = None, also: Collection[str] = ()
) -> tuple[Measure, ...]:
    """The measures the contact form offers, in the order it shows them.

    Measures for everyone always; an anxiety disorder specific measure only when
    ``presenting_problem`` is one it names (never without a presenting problem), or
    when its id is in ``also`` (a contact being corrected already holds its scores).
    """
    offered = [
        m
        for m in _registry().values()
        if m.contact_form_order is not None and (m.offered_for(presenting_problem) or m.id in also)
    ]
    return tuple(sorted(offered, key=_form_order))


def anxiety_disorder_measures(presenting_problem: str | None) -> tuple[Measure, ...]:
    """The ADSMs for a presenting problem, in contact-form order (usually one, often none)."""
    return tuple(
        m
        for m in contact_form_measures(presenting_problem=presenting_problem)
        if presenting_problem in m.presenting_problems
    )


def _form_order(measure: Measure) -> tuple[int, str]:
    return (measure.contact_form_order or 0, measure.id)


def measure_from_dict(raw: Any, *, source: str = "definition") -> Measure:
    """Build a Measure from a decoded JSON object, raising ValueError when it is inconsistent."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: a measure definition must be a JSON object")
    reader = _Reader(raw, source)
    measure_id = reader.text("id")
    if not _ID_PATTERN.match(measure_id) or len(measure_id) > MAX_ID_LENGTH:
        raise ValueError(
            f"{source}: id {measure_id!r} must be lowercase letters, digits, _ "
            f"(at most {MAX_ID_LENGTH})"
        )
    items = tuple(_item(entry, f"{source} item") for entry in reader.array("items"))
    options = tuple(_option(entry, f"{source} option") for entry in reader.array("options"))
    bands = tuple(_band(entry, f"{source} band") for entry in reader.array("bands"))
    difficulty_options = tuple(
        _option(entry, f"{source} difficulty option")
        for entry in reader.array("difficulty_options", required=False)
    )
    measure = Measure(
        id=measure_id,
        name=reader.text("name"),
        short_name=reader.text("short_name"),
        stem=reader.text("stem"),
        items=items,
        options=options,
        total_min=reader.integer("total_min"),
        total_max=reader.integer("total_max"),
        bands=bands,
        caseness_cutoff=reader.optional_integer("caseness_cutoff"),
        reliable_change=reader.optional_integer("reliable_change"),
        attribution=reader.text("attribution"),
        difficulty_question=reader.optional_text("difficulty_question"),
        difficulty_options=difficulty_options,
        risk_item=reader.optional_integer("risk_item"),
        risk_item_signal_from=_signal_from(reader),
        every_contact=reader.boolean("every_contact", False),
        contact_form_order=reader.optional_integer("contact_form_order"),
        not_applicable_label=reader.optional_text("not_applicable_label"),
        loinc_total=reader.optional_text("loinc_total"),
        bands_source=reader.optional_text("bands_source") or "",
        thresholds_source=reader.optional_text("thresholds_source") or "",
        presenting_problems=reader.text_list("presenting_problems"),
    )
    _validate(measure, source)
    return measure


def _validate(measure: Measure, source: str) -> None:
    """Check the definition is internally consistent."""
    if not measure.items:
        raise ValueError(f"{source}: no items")
    numbers = [item.number for item in measure.items]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"{source}: items must be numbered 1 to {len(numbers)} in order")
    for item in measure.items:
        if item.min > item.max:
            raise ValueError(f"{source}: item {item.number} has min above max")
    lowest = sum(item.min for item in measure.items)
    highest = sum(item.max for item in measure.items)
    if (measure.total_min, measure.total_max) != (lowest, highest):
        raise ValueError(
            f"{source}: total range {measure.total_min}-{measure.total_max} does not match "
            f"the item ranges ({lowest}-{highest})"
        )
    option_values = [option.value for option in measure.options]
    if len(set(option_values)) != len(option_values):
        raise ValueError(f"{source}: duplicate option values")
    for item in measure.items:
        if not set(range(item.min, item.max + 1)) <= set(option_values):
            raise ValueError(f"{source}: item {item.number} has scores without an option label")
    _validate_bands(measure, source)
    if measure.caseness_cutoff is not None and not (
        measure.total_min < measure.caseness_cutoff <= measure.total_max
    ):
        raise ValueError(f"{source}: caseness cut-off outside the total range")
    if measure.reliable_change is not None and not (
        0 < measure.reliable_change <= measure.total_max - measure.total_min
    ):
        raise ValueError(f"{source}: reliable change must be positive and within the range")
    if measure.risk_item is not None and measure.risk_item not in numbers:
        raise ValueError(f"{source}: risk item {measure.risk_item} is not an item")
    if measure.risk_item is not None:
        item = measure.item(measure.risk_item)
        # At the item's lowest answer every client would signal risk; above its highest,
        # none would: either silently breaks the risk rule.
        if not item.min < measure.risk_item_signal_from <= item.max:
            raise ValueError(
                f"{source}: the risk signal must start between {item.min + 1} and {item.max},"
                f" the answers of item {item.number}"
            )
    if measure.every_contact and measure.contact_form_order is None:
        raise ValueError(
            f"{source}: a measure asked at every contact must be on the "
            "contact form (give it a contact_form_order)"
        )
    if measure.difficulty_options and measure.difficulty_question is None:
        raise ValueError(f"{source}: difficulty options without a difficulty question")
    if measure.is_adsm:
        _validate_adsm(measure, source)


def _validate_adsm(measure: Measure, source: str) -> None:
    """An ADSM replaces GAD-7 in the outcome rules, so it needs what they use."""
    unknown = [p for p in measure.presenting_problems if p not in PRESENTING_PROBLEMS]
    if unknown:
        raise ValueError(
            f"{source}: presenting problem {unknown[0]!r} is not one the registration form "
            f"offers ({', '.join(PRESENTING_PROBLEMS)})"
        )
    if measure.caseness_cutoff is None or measure.reliable_change is None:
        raise ValueError(
            f"{source}: an anxiety disorder specific measure (it names presenting problems) "
            "needs a caseness cut-off and a reliable-change threshold: the outcome rules use them"
        )
    if measure.contact_form_order is None:
        raise ValueError(
            f"{source}: an anxiety disorder specific measure must be on the contact form "
            "(give it a contact_form_order)"
        )
    if measure.every_contact:
        raise ValueError(
            f"{source}: an anxiety disorder specific measure is asked only for its presenting "
            "problems, so it cannot be asked at every contact"
        )


def _validate_bands(measure: Measure, source: str) -> None:
    if not measure.bands:
        if not measure.bands_source:
            raise ValueError(
                f"{source}: no bands; a measure published without severity bands says so "
                "in its bands_source"
            )
        return
    expected_lower = measure.total_min
    keys: set[str] = set()
    for band in measure.bands:
        if band.lower != expected_lower:
            raise ValueError(
                f"{source}: band {band.label!r} starts at {band.lower}, expected {expected_lower}"
                " (bands must be contiguous and in order)"
            )
        if band.upper < band.lower:
            raise ValueError(f"{source}: band {band.label!r} ends before it starts")
        if not band.key or band.key in keys:
            raise ValueError(f"{source}: band label {band.label!r} is empty or repeated")
        keys.add(band.key)
        expected_lower = band.upper + 1
    if measure.bands[-1].upper != measure.total_max:
        raise ValueError(f"{source}: bands stop before the total maximum {measure.total_max}")


class _Reader:
    """Typed access to one JSON object, with errors that name the file and key."""

    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source

    def _get(self, key: str) -> Any:
        if key not in self.raw:
            raise ValueError(f"{self.source}: missing {key!r}")
        return self.raw[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{self.source}: {key!r} must be non-empty text")
        return value

    def optional_text(self, key: str) -> str | None:
        if self.raw.get(key) is None:
            return None
        return self.text(key)

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{self.source}: {key!r} must be a whole number")
        return value

    def optional_integer(self, key: str) -> int | None:
        if self.raw.get(key) is None:
            return None
        return self.integer(key)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise ValueError(f"{self.source}: {key!r} must be true or false")
        return value

    def text_list(self, key: str) -> tuple[str, ...]:
        """An optional list of distinct non-empty strings (empty when absent)."""
        value = self.raw.get(key)
        if value is None:
            return ()
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) and v.strip() for v in value)
            or len(set(value)) != len(value)
        ):
            raise ValueError(f"{self.source}: {key!r} must be a list of distinct non-empty texts")
        return tuple(value)

    def array(self, key: str, *, required: bool = True) -> list[Mapping[str, Any]]:
        value = self.raw.get(key) if not required else self._get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ValueError(f"{self.source}: {key!r} must be a list of objects")
        return value


def _signal_from(reader: _Reader) -> int:
    value = reader.optional_integer("risk_item_signal_from")
    return 1 if value is None else value


def _item(raw: Mapping[str, Any], source: str) -> Item:
    reader = _Reader(raw, source)
    return Item(
        number=reader.integer("number"),
        text=reader.text("text"),
        min=reader.integer("min"),
        max=reader.integer("max"),
        allows_not_applicable=reader.boolean("allows_not_applicable", False),
    )


def _option(raw: Mapping[str, Any], source: str) -> ResponseOption:
    reader = _Reader(raw, source)
    return ResponseOption(value=reader.integer("value"), label=reader.text("label"))


def _band(raw: Mapping[str, Any], source: str) -> Band:
    reader = _Reader(raw, source)
    return Band(
        lower=reader.integer("lower"), upper=reader.integer("upper"), label=reader.text("label")
    )
