"""Per-user rate limits on search, exports and letters (caseload/services/ratelimit.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, RateLimitCount
from caseload.services import ratelimit
from tests.conftest import csrf_token, make_user
from tests.web.helpers import counting

#: A moment well inside a window of every limit (10:00:05 UTC).
NOON = datetime(2026, 11, 27, 10, 0, 5, tzinfo=UTC)


def test_the_documented_limits() -> None:
    expected = {
        "search": ratelimit.Limit(60, 60),
        "export": ratelimit.Limit(10, 3600),
        "letter": ratelimit.Limit(30, 3600),
    }
    limits = ratelimit.LIMITS
    assert limits == expected


def test_the_limit_is_let_through_and_the_next_refused(app: Flask) -> None:
    user = make_user(Role.WORKER)
    verdicts = [ratelimit.hit(user, "search", now=NOON) for _ in range(61)]
    assert [v.allowed for v in verdicts] == [True] * 60 + [False]
    assert verdicts[59].count == 60
    # The window is 10:00:00-10:01:00: 55 seconds are left at 10:00:05.
    assert verdicts[60].retry_after == 55


def test_a_new_window_starts_afresh_and_old_windows_are_removed(app: Flask) -> None:
    user = make_user(Role.WORKER)
    for _ in range(61):
        ratelimit.hit(user, "search", now=NOON)
    later = NOON + timedelta(seconds=55)  # 10:01:00, the next window
    assert ratelimit.hit(user, "search", now=later).allowed
    rows = db.session.scalar(select(func.count()).select_from(RateLimitCount))
    assert rows == 1


def test_limits_are_per_user_and_per_action(app: Flask) -> None:
    one, two = make_user(Role.WORKER), make_user(Role.WORKER)
    for _ in range(10):
        assert ratelimit.hit(one, "export", now=NOON).allowed
    assert not ratelimit.hit(one, "export", now=NOON).allowed
    assert ratelimit.hit(two, "export", now=NOON).allowed
    assert ratelimit.hit(one, "letter", now=NOON).allowed


def test_a_setting_overrides_a_limit(app: Flask) -> None:
    app.config["RATE_LIMITS"] = {"search": (2, 30)}
    user = make_user(Role.WORKER)
    assert [ratelimit.hit(user, "search", now=NOON).allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_search_answers_429_with_retry_after_past_the_limit(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    app.config["RATE_LIMITS"] = {"search": (3, 3600)}
    user = signed_in(Role.WORKER)
    for _ in range(3):
        assert client.get("/clients/search?q=Smith").status_code == 200
    response = client.get("/clients/search?q=Smith")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    html = response.get_data(as_text=True)
    assert "Too many requests" in html
    assert "Incident number" in html
    refused = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "rate_limit.refused")
    ).all()
    assert [(e.actor_id, (e.detail or {})["action"]) for e in refused] == [(user.id, "search")]


def test_a_letter_is_limited_on_post_only(app: Flask, client: FlaskClient, signed_in: Any) -> None:
    app.config["RATE_LIMITS"] = {"letter": (1, 3600)}
    user = signed_in(Role.WORKER)
    from tests.web.helpers import make_case

    episode = make_case(user, name="Rate Limit")
    path = f"/episodes/{episode.id}/letters/assessment/new"
    token = csrf_token(client, "/caseload")
    client.post(path, data={"csrf_token": token, "body": ""})
    for _ in range(3):  # opening the form is not counted
        assert client.get(path).status_code != 429
    assert client.post(path, data={"csrf_token": token, "body": ""}).status_code == 429


def test_lead_exports_are_limited(app: Flask, client: FlaskClient, signed_in: Any) -> None:
    app.config["RATE_LIMITS"] = {"export": (2, 3600)}
    signed_in(Role.LEAD)
    token = csrf_token(client, "/lead/exports")
    statuses = [
        client.post(path, data={"csrf_token": token}).status_code
        for path in ("/lead/exports/csv", "/lead/exports/fhir", "/lead/exports/csv")
    ]
    assert statuses == [200, 200, 429]


def test_the_limiter_writes_one_upsert_and_one_clean_up(
    app: Flask, client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    db.session.refresh(user)
    for _ in range(2):
        with counting() as statements:
            ratelimit.hit(user, "search", now=NOON)
        verbs = [s.split()[0].upper() for s in statements]
        assert [v for v in verbs if v != "BEGIN"] == ["INSERT", "DELETE"]
