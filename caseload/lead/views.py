"""The service lead's pages: the blueprint every lead page module adds its routes to.

Leads see aggregates only, of consented records only, with small numbers
suppressed (docs/design.md sections 2, 6): no page here names a client or shows
a per-client row. Route modules: ``dashboard`` (the monthly figures as SPC charts
and their CSV), ``findings`` (the findings view) and ``exports``.
"""

from __future__ import annotations

from flask import Blueprint

from caseload.domain.dates import format_month
from caseload.reporting.tabular import count_cell

bp = Blueprint("lead", __name__, url_prefix="/lead")

# Template filters for every lead page: "Mar 2025", and a disclosed count ("*" or 15).
bp.add_app_template_filter(format_month, "month_label")
bp.add_app_template_filter(count_cell, "disclosed")
