"""The ``rate_limited`` view decorator: a friendly 429 page with ``Retry-After``."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import make_response, render_template, request
from flask_login import current_user

from caseload.errors import incident_id
from caseload.services import ratelimit
from caseload.services.audit import record_event_now

F = TypeVar("F", bound=Callable[..., Any])

TITLE = "Too many requests"


def _advice(seconds: int) -> str:
    if seconds < 90:
        wait = f"{seconds} seconds"
    else:
        minutes = math.ceil(seconds / 60)
        wait = f"{minutes} minutes"
    return f"You have done this many times in a short while. Wait {wait}, then try again."


def rate_limited(action: str, *, methods: tuple[str, ...] = ("GET", "POST")) -> Callable[[F], F]:
    """Count each request of ``methods`` to the view against the signed-in user's
    ``action`` limit (caseload/services/ratelimit.py); over it, answer 429 with the
    error page and a ``Retry-After`` header, and audit the refusal. Put it below
    ``@policy``: the policy runs first, so only permitted requests are counted."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if request.method in methods and current_user.is_authenticated:
                verdict = ratelimit.hit(current_user, action)
                if not verdict.allowed:
                    record_event_now(
                        "rate_limit.refused",
                        actor=current_user,
                        detail={
                            "action": action,
                            "endpoint": request.endpoint,
                            "limit": verdict.limit.count,
                            "seconds": verdict.limit.seconds,
                        },
                    )
                    body = render_template(
                        "errors/error.html",
                        status=429,
                        title=TITLE,
                        advice=_advice(verdict.retry_after),
                        incident=incident_id(),
                    )
                    response = make_response(body, 429)
                    response.headers["Retry-After"] = str(verdict.retry_after)
                    return response
            return view(*args, **kwargs)

        return cast(F, limited)

    return decorate
