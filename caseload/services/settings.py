"""The service's settings, read through one accessor and changed by an administrator.

Every setting a page depends on (the service's name, the youngest age it takes
referrals for, the caseload cap, the flag thresholds ...) is read with
``service_settings()`` or, for the flag thresholds, ``flag_thresholds()`` (which
``caseload.services.episodes.flag_settings()`` returns). Each value comes from the
first of:

1. the database (``setting_values``), for the settings an administrator may change
   (``SETTINGS``), when one has changed it;
2. the configuration layers (code defaults, ``instance/config.py``, ``CASELOAD_*``
   environment variables), under the setting's upper-case name;
3. the default in ``ServiceSettings`` or ``caseload.domain.flags.FlagSettings``.

The values are cached per app server, with the revision of the settings they were
read at (``settings_revision``, one row). A request that reads a setting reads that
row once (memoised in ``flask.g``) and reloads the values only when it has moved,
so a change saved on one app server takes effect on the next request on every one.
A request that reads no setting costs no query.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import select, update

from caseload.config import DEFAULTS
from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.domain.dates import format_date, local_date
from caseload.domain.flags import DEFAULT_SETTINGS as DEFAULT_FLAG_SETTINGS
from caseload.domain.flags import FlagSettings
from caseload.extensions import db
from caseload.models import SettingsRevision, SettingValue, User
from caseload.services import ServiceError
from caseload.services.audit import record_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSettings:
    """What a service decides for itself, with the defaults a new service starts with."""

    #: Shown in the header and on letters.
    service_name: str = "caseload"
    #: Referrals below this age are refused (NHS Talking Therapies serves adults; some
    #: services take 16 and 17 year olds, which a setting of 16 allows with a banner).
    minimum_age: int = 18
    #: Bookings outside these hours, or at a weekend, get a warning (not a refusal).
    working_day_start: time = time(8, 0)
    working_day_end: time = time(18, 0)
    #: How far ahead a booking may be made, in days.
    booking_horizon_days: int = 365
    #: The organisation that runs the service and decides how its records are used
    #: (the data controller), named on the privacy notice. Empty until the service says.
    organisation_name: str = ""
    #: How to reach the service, or its data protection officer, about personal data
    #: (privacy notice). Empty until the service says.
    privacy_contact: str = ""
    #: How to report an accessibility problem (accessibility statement).
    accessibility_contact: str = ""
    #: The expected-recovery curves are rebuilt on the next request that needs them once
    #: they are older than this many days (and on demand: ``flask rebuild-curves``).
    curve_refresh_days: int = 7
    #: Treatments finished per worker per year that a service plans for (low and high
    #: ends of the range; docs/design.md section 3, "Caseload").
    planning_range_low: int = 175
    planning_range_high: int = 250
    #: Outcome targets, whole percentages (docs/design.md section 3, "Outcomes"): the
    #: NHS Talking Therapies recovery standard (50%), reliable recovery (48%) and
    #: reliable improvement (67%) expectations, waits to first treatment within 6 weeks
    #: (75%) and 18 weeks (95%), and finished episodes with paired scores (90%).
    recovery_target: int = 50
    reliable_recovery_target: int = 48
    reliable_improvement_target: int = 67
    wait_6_weeks_target: int = 75
    wait_18_weeks_target: int = 95
    paired_scores_target: int = 90
    #: A session ends after this many minutes without a request, and after this many
    #: hours in all (docs/design.md section 7: 30 minutes and 12 hours).
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12


# The settings an administrator may change ---------------------------------------------


class SettingKind(StrEnum):
    """How a setting is typed and stored."""

    #: A whole number (cases, days, contacts, minutes ...).
    NUMBER = "number"
    #: A whole percentage, 0 to 100, applied as it is typed (a target).
    PERCENT = "percent"
    #: A whole percentage typed by the administrator, applied as a fraction (0.2).
    SHARE = "share"
    #: Yes or no.
    YES_NO = "yes_no"


#: A whole number as typed: ASCII digits, perhaps after a minus sign. Longer ones are
#: out of every range, and are not converted at all.
WHOLE_NUMBER = re.compile(r"-?[0-9]+")
MAX_DIGITS = 9

#: Which settings object a setting feeds.
SERVICE = "service"
FLAGS = "flags"


@dataclass(frozen=True)
class SettingDefinition:
    """One setting an administrator may change: its label, bounds and where it applies."""

    #: The field of ``ServiceSettings`` or ``FlagSettings`` it sets, and its stored name.
    key: str
    #: ``SERVICE`` or ``FLAGS``.
    target: str
    group: str
    label: str
    hint: str
    kind: SettingKind = SettingKind.NUMBER
    minimum: int = 0
    maximum: int = 0
    #: Shown after the number ("cases", "days").
    unit: str = ""

    @property
    def config_key(self) -> str:
        """The configuration key (and ``CASELOAD_`` environment variable) that sets it."""
        return self.key.upper()

    def stored(self, applied: Any) -> int | bool:
        """An applied value (as the settings objects hold it) in its stored, typed form."""
        if self.kind is SettingKind.YES_NO:
            return bool(applied)
        if self.kind is SettingKind.SHARE:
            return round(float(applied) * 100)
        return int(applied)

    def applied(self, stored: int | bool) -> Any:
        """A stored value as the settings objects hold it."""
        if self.kind is SettingKind.SHARE:
            return int(stored) / 100
        if self.kind is SettingKind.YES_NO:
            return bool(stored)
        return int(stored)

    def default(self) -> int | bool:
        """The code default, in stored form."""
        defaults: Any = ServiceSettings() if self.target == SERVICE else DEFAULT_FLAG_SETTINGS
        return self.stored(getattr(defaults, self.key))

    def read(self, value: object) -> int | bool:
        """A typed or configured value checked against the bounds; ServiceError if wrong."""
        if self.kind is SettingKind.YES_NO:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"yes", "true", "1"}:
                return True
            if text in {"no", "false", "0"}:
                return False
            raise self._error("Choose yes or no.")
        if isinstance(value, bool):
            raise self._error(self._range_message())
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if not WHOLE_NUMBER.fullmatch(text):
                raise self._error(f"Enter {self.label.lower()} as a whole number.")
            if len(text) > MAX_DIGITS:
                raise self._error(self._range_message())
            number = int(text)
        if not self.minimum <= number <= self.maximum:
            raise self._error(self._range_message())
        return number

    def describe(self, value: int | bool) -> str:
        """A stored value as people read it: "45 cases", "20%", "Yes"."""
        if self.kind is SettingKind.YES_NO:
            return "Yes" if value else "No"
        if self.kind in (SettingKind.PERCENT, SettingKind.SHARE):
            return f"{value}%"
        return f"{value} {self.unit}".strip()

    def _range_message(self) -> str:
        unit = "%" if self.kind in (SettingKind.PERCENT, SettingKind.SHARE) else ""
        return f"{self.label} must be between {self.minimum}{unit} and {self.maximum}{unit}."

    def _error(self, message: str) -> ServiceError:
        return ServiceError(message, field_errors={self.key: message})


def _number(
    key: str, target: str, group: str, label: str, hint: str, low: int, high: int, unit: str
) -> SettingDefinition:
    return SettingDefinition(key, target, group, label, hint, minimum=low, maximum=high, unit=unit)


def _percent(key: str, label: str, hint: str) -> SettingDefinition:
    return SettingDefinition(
        key,
        SERVICE,
        "Outcome targets",
        label,
        hint,
        kind=SettingKind.PERCENT,
        minimum=1,
        maximum=100,
    )


CASELOAD = "Caseload"
FLAG_GROUP = "Flags"
REVIEWS = "Supervision reviews"
CURVES = "Expected recovery curves"
SESSIONS = "Sessions"

#: Every setting an administrator may change, in the order of the settings page. The
#: bounds keep each within what still makes sense clinically or for security.
SETTINGS: tuple[SettingDefinition, ...] = (
    _number(
        "caseload_cap",
        FLAGS,
        CASELOAD,
        "Caseload cap",
        "Active cases (in treatment) per worker before the caseload is flagged as over capacity.",
        10,
        100,
        "cases",
    ),
    _number(
        "planning_range_low",
        SERVICE,
        CASELOAD,
        "Planning range, low end",
        "Treatments finished per worker per year that the service plans for, at least.",
        1,
        500,
        "a year",
    ),
    _number(
        "planning_range_high",
        SERVICE,
        CASELOAD,
        "Planning range, high end",
        "Treatments finished per worker per year, at most.",
        1,
        500,
        "a year",
    ),
    SettingDefinition(
        "risk_share",
        FLAGS,
        CASELOAD,
        "Share of risk cases",
        "A worker is flagged when more than this share of their active cases carry a risk flag.",
        kind=SettingKind.SHARE,
        minimum=5,
        maximum=100,
    ),
    _number(
        "disengage_days",
        FLAGS,
        FLAG_GROUP,
        "Disengaging after",
        "Days without an attended contact before a case is flagged as disengaging.",
        7,
        90,
        "days",
    ),
    _number(
        "dna_run",
        FLAGS,
        FLAG_GROUP,
        "Non-attendances in a row",
        "Did-not-attend contacts in a row before a case is flagged as disengaging.",
        1,
        5,
        "in a row",
    ),
    _number(
        "long_treatment_contacts",
        FLAGS,
        FLAG_GROUP,
        "Long treatment after",
        "Treatment contacts at step 2 above which a case is flagged as a long treatment.",
        4,
        30,
        "contacts",
    ),
    _number(
        "not_on_track_from_contact",
        FLAGS,
        FLAG_GROUP,
        "Not on track checked from contact",
        "The contact from which scores are compared with the expected recovery curve.",
        2,
        12,
        "",
    ),
    SettingDefinition(
        "not_on_track_needs_caseness",
        FLAGS,
        FLAG_GROUP,
        "Check not on track only for measures that started at caseness",
        "A measure that started below caseness cannot show a reliable fall.",
        kind=SettingKind.YES_NO,
    ),
    _number(
        "severe_phq9",
        FLAGS,
        FLAG_GROUP,
        "Severe at entry: PHQ-9 from",
        "A first PHQ-9 total at or above this flags the case as severe at entry (the "
        "severe band starts at 20).",
        10,
        27,
        "",
    ),
    _number(
        "severe_gad7",
        FLAGS,
        FLAG_GROUP,
        "Severe at entry: GAD-7 from",
        "A first GAD-7 total at or above this flags the case as severe at entry (the "
        "severe band starts at 15).",
        8,
        21,
        "",
    ),
    _number(
        "review_days",
        FLAGS,
        REVIEWS,
        "Review interval",
        "Days without a supervision review before an open case is flagged as review overdue.",
        7,
        90,
        "days",
    ),
    _number(
        "red_review_days",
        FLAGS,
        REVIEWS,
        "Review interval for red cases",
        "Days without a review before a case with a red flag is flagged as review overdue.",
        1,
        28,
        "days",
    ),
    _percent("recovery_target", "Recovery rate", "The national standard is 50%."),
    _percent("reliable_recovery_target", "Reliable recovery rate", "The expectation is 48%."),
    _percent("reliable_improvement_target", "Reliable improvement rate", "The expectation is 67%."),
    _percent(
        "wait_6_weeks_target",
        "First treatment within 6 weeks",
        "Share of referrals treated within 6 weeks; the standard is 75%.",
    ),
    _percent(
        "wait_18_weeks_target",
        "First treatment within 18 weeks",
        "Share of referrals treated within 18 weeks; the standard is 95%.",
    ),
    _percent(
        "paired_scores_target",
        "Finished episodes with paired scores",
        "Data completeness; the expectation is 90%.",
    ),
    _number(
        "curve_refresh_days",
        SERVICE,
        CURVES,
        "Rebuild the curves after",
        "The curves for \u201cnot on track\u201d are rebuilt on the next request that needs "
        "them once they are this old.",
        1,
        90,
        "days",
    ),
    _number(
        "session_idle_minutes",
        SERVICE,
        SESSIONS,
        "Sign out after inactivity",
        "Minutes without a request before a session ends.",
        5,
        60,
        "minutes",
    ),
    _number(
        "session_absolute_hours",
        SERVICE,
        SESSIONS,
        "Sign out in any case after",
        "Hours from sign-in after which a session ends, however active.",
        1,
        12,
        "hours",
    ),
)

SETTINGS_BY_KEY = {definition.key: definition for definition in SETTINGS}

#: Rules between two settings: (low key, high key, message), the low one not above the
#: high one.
ORDERED_PAIRS = (
    (
        "planning_range_low",
        "planning_range_high",
        "The low end of the planning range must not be above the high end.",
    ),
    (
        "red_review_days",
        "review_days",
        "The review interval for red cases must not be longer than the review interval.",
    ),
)


# What the settings page shows ---------------------------------------------------------


DEFAULT_SOURCE = "default"
CONFIGURATION_SOURCE = "configuration"


@dataclass(frozen=True)
class SettingState:
    """One setting as it stands: value, default and where the value comes from."""

    definition: SettingDefinition
    value: int | bool
    default: int | bool
    #: "default", "configuration", or "set by <name> on <date>".
    source: str

    @property
    def changed_by_admin(self) -> bool:
        """Whether an administrator set the value in force."""
        return self.source not in (DEFAULT_SOURCE, CONFIGURATION_SOURCE)


@dataclass(frozen=True)
class LoadedSettings:
    """Every setting in force, read at one revision of the stored settings."""

    revision: int
    service: ServiceSettings
    flags: FlagSettings
    states: tuple[SettingState, ...] = field(default=())


def _time(value: object, default: time) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return default


def configured_service_settings(config: Mapping[str, Any]) -> ServiceSettings:
    """The settings the configuration layers give, before any stored change."""
    defaults = ServiceSettings()
    return ServiceSettings(
        service_name=str(config.get("SERVICE_NAME") or defaults.service_name),
        minimum_age=int(config.get("MINIMUM_AGE", defaults.minimum_age)),
        working_day_start=_time(config.get("WORKING_DAY_START"), defaults.working_day_start),
        working_day_end=_time(config.get("WORKING_DAY_END"), defaults.working_day_end),
        booking_horizon_days=int(config.get("BOOKING_HORIZON_DAYS", defaults.booking_horizon_days)),
        organisation_name=str(config.get("ORGANISATION_NAME") or ""),
        privacy_contact=str(config.get("PRIVACY_CONTACT") or ""),
        accessibility_contact=str(config.get("ACCESSIBILITY_CONTACT") or ""),
    )


def _configured(definition: SettingDefinition, config: Mapping[str, Any]) -> int | bool | None:
    """The value the configuration layers set for a setting, or None when they leave it
    at its default (or set it to something out of bounds, which is logged and ignored)."""
    key = definition.config_key
    if config.get(key) is None or (key in DEFAULTS and config[key] == DEFAULTS[key]):
        return None
    try:
        return definition.read(config[key])
    except ServiceError as error:
        log.warning("Ignoring the configured %s: %s", key, error.message)
        return None


def _changed_by(name: str | None, at: datetime) -> str:
    return f"set by {name or 'an administrator'} on {format_date(local_date(at))}"


def load_settings(config: Mapping[str, Any]) -> LoadedSettings:
    """Read the revision and every stored setting, and combine them with the
    configuration and the defaults (two queries)."""
    revision = _read_revision()
    stored = {
        row.key: (row.value, row.changed_at, name)
        for row, name in db.session.execute(
            select(SettingValue, User.display_name).outerjoin(
                User, User.id == SettingValue.changed_by_id
            )
        ).all()
    }
    states = []
    service_values: dict[str, Any] = {}
    flag_values: dict[str, Any] = {}
    for definition in SETTINGS:
        default = definition.default()
        value, source = default, DEFAULT_SOURCE
        configured = _configured(definition, config)
        if configured is not None:
            value, source = configured, CONFIGURATION_SOURCE
        if definition.key in stored:
            raw, at, name = stored[definition.key]
            try:
                value, source = definition.read(raw), _changed_by(name, at)
            except ServiceError:
                log.error(
                    "The stored setting %s (%r) is out of bounds; ignored", definition.key, raw
                )
        states.append(SettingState(definition, value, default, source))
        target = service_values if definition.target == SERVICE else flag_values
        target[definition.key] = definition.applied(value)
    return LoadedSettings(
        revision=revision,
        service=replace(configured_service_settings(config), **service_values),
        flags=replace(DEFAULT_FLAG_SETTINGS, **flag_values),
        states=tuple(states),
    )


# The accessor and its cache ---------------------------------------------------------

#: ``app.extensions`` key: this app server's cached settings.
CACHE_KEY = "caseload.settings"
#: ``flask.g`` attribute: the settings this request checked against the revision.
REQUEST_KEY = "caseload_settings"


def _read_revision() -> int:
    revision = db.session.scalar(select(SettingsRevision.revision).where(SettingsRevision.id == 1))
    return revision or 0


def loaded_settings() -> LoadedSettings:
    """The settings in force, from this app server's cache when it is current.

    The first read in a request reads the revision row and reloads the values when it
    moved; later reads in the same request use what the first found. Outside a
    request (the CLI, a test's own queries) every read checks the revision.
    """
    this_request = request._get_current_object() if has_request_context() else None  # type: ignore[attr-defined]
    if this_request is not None:
        memo = g.get(REQUEST_KEY)
        if memo is not None and memo[0] is this_request:
            return memo[1]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    cached: LoadedSettings | None = app.extensions.get(CACHE_KEY)
    revision = _read_revision()
    if cached is None or cached.revision != revision:
        cached = load_settings(app.config)
        app.extensions[CACHE_KEY] = cached
    if this_request is not None:
        # Keyed by the request: ``g`` belongs to the app context, which a request
        # nested in another's (in tests) would share.
        setattr(g, REQUEST_KEY, (this_request, cached))
    return cached


def forget_loaded_settings() -> None:
    """Drop this app server's cache and the request's memo (after a change)."""
    if has_request_context():
        g.pop(REQUEST_KEY, None)
    current_app.extensions.pop(CACHE_KEY, None)


def service_settings() -> ServiceSettings:
    """The settings in force for this service."""
    return loaded_settings().service


def flag_thresholds() -> FlagSettings:
    """The flag thresholds in force (read through ``episodes.flag_settings()``)."""
    return loaded_settings().flags


def setting_states() -> tuple[SettingState, ...]:
    """Every setting an administrator may change, as it stands, in the page's order."""
    return loaded_settings().states


# Changing settings --------------------------------------------------------------------


@dataclass(frozen=True)
class SettingChange:
    """One setting changed: its old and new stored values."""

    key: str
    old: int | bool
    new: int | bool


def _require_admin(asker: User) -> None:
    if asker.role is not Role.ADMIN:
        raise PermissionError("only an administrator changes settings")


def change_settings(
    asker: User, values: Mapping[str, object], *, now: datetime | None = None
) -> list[SettingChange]:
    """Save the settings an administrator typed: all of them or, when any is wrong, none.

    ``values`` maps setting keys to typed values; keys left out keep their value. Only
    the settings whose value changes are stored. The revision moves, so every app
    server reloads on its next request; one ``settings.change`` event records each
    change with its old and new value.
    """
    _require_admin(asker)
    unknown = set(values) - set(SETTINGS_BY_KEY)
    if unknown:
        raise ServiceError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    current = {state.definition.key: state.value for state in loaded_settings().states}
    errors: dict[str, str] = {}
    wanted = dict(current)
    for key, raw in values.items():
        try:
            wanted[key] = SETTINGS_BY_KEY[key].read(raw)
        except ServiceError as error:
            errors.update(error.field_errors)
    for low, high, message in ORDERED_PAIRS:
        if low not in errors and high not in errors and wanted[low] > wanted[high]:
            errors[low] = message
    if errors:
        raise ServiceError(next(iter(errors.values())), field_errors=errors)
    changes = [
        SettingChange(key, current[key], wanted[key])
        for key in SETTINGS_BY_KEY
        if wanted[key] != current[key]
    ]
    if not changes:
        return []
    now = now or utcnow()
    for change in changes:
        row = db.session.get(SettingValue, change.key)
        if row is None:
            row = SettingValue(key=change.key)
            db.session.add(row)
        row.value = change.new
        row.changed_at = now
        row.changed_by_id = asker.id
    _move_revision(now)
    record_event(
        "settings.change",
        actor=asker,
        object_type="settings",
        detail={"changes": {c.key: {"old": c.old, "new": c.new} for c in changes}},
    )
    db.session.flush()
    forget_loaded_settings()
    return changes


def _move_revision(now: datetime) -> None:
    """Count one more change (an atomic increment, so two saves never share a number)."""
    moved = db.session.execute(
        update(SettingsRevision)
        .where(SettingsRevision.id == 1)
        .values(revision=SettingsRevision.revision + 1, changed_at=now)
    )
    if not getattr(moved, "rowcount", 0):
        db.session.add(SettingsRevision(id=1, revision=1, changed_at=now))
