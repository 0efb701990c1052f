"""The administrator's pages: the audit trail (``views``), accounts and teams
(``accounts``) and settings (``settings``). No page here shows clinical content.

One blueprint, ``bp``, defined in ``caseload.admin.views``, holds every route; each
page module adds its own, so importing this package registers them all.
"""

from caseload.admin import accounts, settings
from caseload.admin.views import bp

__all__ = ["accounts", "bp", "settings"]
