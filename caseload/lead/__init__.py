"""The service lead's area: dashboards, findings and exports of consented aggregates.

One blueprint, ``bp``, defined in ``caseload.lead.views``, holds every route; each
page module adds its own, so importing this package registers them all.
"""

from caseload.lead import dashboard, exports, findings
from caseload.lead.views import bp

__all__ = ["bp", "dashboard", "exports", "findings"]
