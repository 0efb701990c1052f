"""The service's settings, read through one accessor.

Every setting a worker's page depends on (the service's name, the youngest age
it takes referrals for, its working hours ...) is read with
``service_settings()``. Today the values come from the configuration layers
(code defaults, ``instance/config.py``, ``CASELOAD_*`` environment variables);
an administrator's settings page will later keep them in the database behind
this same accessor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from flask import current_app


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


def _time(value: object, default: time) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return default


def service_settings() -> ServiceSettings:
    """The settings in force for this service."""
    config = current_app.config
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
        curve_refresh_days=int(config.get("CURVE_REFRESH_DAYS", defaults.curve_refresh_days)),
        planning_range_low=int(config.get("PLANNING_RANGE_LOW", defaults.planning_range_low)),
        planning_range_high=int(config.get("PLANNING_RANGE_HIGH", defaults.planning_range_high)),
    )
