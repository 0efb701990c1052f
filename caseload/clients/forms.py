"""Forms for finding and re-referring a client. Fields and parsing only; the rules live in
the services (caseload/services/search.py, caseload/services/clients.py)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Optional

from caseload.web.referrals import ReferralFields


class SearchForm(FlaskForm):
    """The search box. A GET form: bookmarkable, and nothing changes, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(
        "Name, NHS number, service reference or date of birth",
        validators=[Optional()],  # the search service reads and refuses the query
    )


class ReferralForm(ReferralFields):
    """A new referral for an existing client: the referral fields of registration only."""
