"""The web layer every blueprint shares: request plumbing, form helpers, UK time.

Blueprints import from here and never from one another.
"""

from caseload.web.clock import london_now, today_in_london
from caseload.web.forms import (
    CONFLICT_MESSAGE,
    FIELD_ALIASES,
    TIME_EXAMPLE,
    ClockTimeField,
    MultiCheckboxField,
    NhsDateField,
    Submission,
    apply_service_errors,
    enum_choices,
    expected_version,
    options,
    submit,
)
from caseload.web.requests import (
    NAVIGATION,
    STATIC_ENDPOINTS,
    init_app,
    navigation_items,
    refuse_demo_accounts_in_production,
    safe_next,
)

__all__ = [
    "CONFLICT_MESSAGE",
    "FIELD_ALIASES",
    "NAVIGATION",
    "STATIC_ENDPOINTS",
    "TIME_EXAMPLE",
    "ClockTimeField",
    "MultiCheckboxField",
    "NhsDateField",
    "Submission",
    "apply_service_errors",
    "enum_choices",
    "expected_version",
    "init_app",
    "london_now",
    "navigation_items",
    "options",
    "refuse_demo_accounts_in_production",
    "safe_next",
    "submit",
    "today_in_london",
]
