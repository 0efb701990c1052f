"""The accessibility statement and the privacy notice, linked from every page's footer.

Both are public: a person must be able to read how their data is used, and how to
report an accessibility problem, without an account. What only the service can say
(who runs it, how to contact it) comes from its settings.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from caseload.policy import PUBLIC, policy
from caseload.services.settings import service_settings

bp = Blueprint("about", __name__, url_prefix="/about")

#: When the accessibility statement was last prepared (review it when pages change).
STATEMENT_PREPARED = date(2026, 11, 27)


@bp.get("/accessibility")
@policy(PUBLIC)
def accessibility() -> ResponseReturnValue:
    """The accessibility statement, in the NHS and GOV.UK pattern."""
    return render_template(
        "about/accessibility.html", settings=service_settings(), prepared=STATEMENT_PREPARED
    )


@bp.get("/privacy")
@policy(PUBLIC)
def privacy() -> ResponseReturnValue:
    """The privacy notice: what caseload stores, why, who sees it, for how long."""
    return render_template("about/privacy.html", settings=service_settings())
