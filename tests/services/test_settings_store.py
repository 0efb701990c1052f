"""Settings in the database behind one accessor: defaults, configuration, an
administrator's change with its bounds, its audit event, and a cache that every app
server reloads on its next request after a change."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from caseload import create_app
from caseload.db import utcnow
from caseload.domain.codes import Role
from caseload.domain.flags import DEFAULT_SETTINGS, FlagSettings
from caseload.extensions import db
from caseload.models import AuditEvent, SettingsRevision, SettingValue, User, UserSession
from caseload.services import ServiceError
from caseload.services import settings as store
from caseload.services.episodes import flag_settings
from caseload.services.settings import (
    SETTINGS,
    SETTINGS_BY_KEY,
    ServiceSettings,
    SettingKind,
    change_settings,
    service_settings,
    setting_states,
)
from tests.conftest import IsolatedClient, base_config, csrf_token, sign_in
from tests.web.helpers import page


@pytest.fixture
def admin(user_factory: Any) -> User:
    return user_factory(Role.ADMIN, username="settings-admin")


def revision() -> int:
    return db.session.scalar(select(SettingsRevision.revision)) or 0


def states() -> dict[str, store.SettingState]:
    return {state.definition.key: state for state in setting_states()}


# The definitions -----------------------------------------------------------------------


def test_every_setting_names_a_field_of_its_settings_object_and_its_default_is_in_bounds() -> None:
    service_fields = {f.name for f in fields(ServiceSettings)}
    flag_fields = {f.name for f in fields(FlagSettings)}
    for definition in SETTINGS:
        owner = service_fields if definition.target == store.SERVICE else flag_fields
        assert definition.key in owner, definition.key
        default = definition.default()
        assert definition.read(default) == default, definition.key
    # Every flag threshold is a setting, except the step number that defines "low
    # intensity" (stepped care's step 2 is not a service's choice).
    assert flag_fields - set(SETTINGS_BY_KEY) == {"low_intensity_step"}
    targets = {
        "recovery_target": 50,
        "reliable_recovery_target": 48,
        "reliable_improvement_target": 67,
        "wait_6_weeks_target": 75,
        "wait_18_weeks_target": 95,
        "paired_scores_target": 90,
    }
    assert {key: SETTINGS_BY_KEY[key].default() for key in targets} == targets


def test_out_of_the_box_the_defaults_stand(app: Flask) -> None:
    assert service_settings() == ServiceSettings()
    assert flag_settings() == DEFAULT_SETTINGS
    assert {state.source for state in setting_states()} == {"default"}
    assert states()["risk_share"].value == 20


def test_a_configured_value_is_in_force_and_says_so(app: Flask) -> None:
    app.config.update(CASELOAD_CAP=40, SESSION_IDLE_MINUTES=15, REVIEW_DAYS=500)
    store.forget_loaded_settings()
    assert flag_settings().caseload_cap == 40
    assert service_settings().session_idle_minutes == 15
    by_key = states()
    assert by_key["caseload_cap"].source == "configuration"
    assert by_key["caseload_cap"].default == 45
    # Out of bounds: ignored (and logged), the default stands.
    assert by_key["review_days"].source == "default"
    assert flag_settings().review_days == 28


# Changing --------------------------------------------------------------------------------


def test_a_change_is_stored_audited_and_in_force(app: Flask, admin: User) -> None:
    before = revision()
    changes = change_settings(
        admin,
        {"caseload_cap": "40", "risk_share": "25", "not_on_track_needs_caseness": "no"},
    )
    assert {(c.key, c.old, c.new) for c in changes} == {
        ("caseload_cap", 45, 40),
        ("risk_share", 20, 25),
        ("not_on_track_needs_caseness", True, False),
    }
    db.session.commit()
    assert revision() == before + 1
    thresholds = flag_settings()
    assert thresholds.caseload_cap == 40
    assert thresholds.risk_share == pytest.approx(0.25)
    assert thresholds.not_on_track_needs_caseness is False
    source = states()["caseload_cap"].source
    assert re.fullmatch(r"set by Test Administrator on \d{1,2} \w{3} \d{4}", source), source
    assert states()["caseload_cap"].changed_by_admin
    (audited,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings.change")
    )
    assert audited.actor_id == admin.id
    assert audited.detail == {
        "changes": {
            "caseload_cap": {"old": 45, "new": 40},
            "not_on_track_needs_caseness": {"old": True, "new": False},
            "risk_share": {"old": 20, "new": 25},
        }
    }


def test_saving_the_same_values_changes_nothing(app: Flask, admin: User) -> None:
    before = revision()
    current = {state.definition.key: state.value for state in setting_states()}
    assert change_settings(admin, current) == []
    assert revision() == before
    assert db.session.scalar(select(func.count()).select_from(SettingValue)) == 0
    changed = select(func.count(AuditEvent.id)).where(AuditEvent.action == "settings.change")
    assert db.session.scalar(changed) == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"caseload_cap": "9"}, "caseload_cap"),
        ({"caseload_cap": "101"}, "caseload_cap"),
        ({"caseload_cap": "forty"}, "caseload_cap"),
        ({"caseload_cap": "4.5"}, "caseload_cap"),
        ({"caseload_cap": "99999999999999999999"}, "caseload_cap"),
        ({"session_idle_minutes": "4"}, "session_idle_minutes"),
        ({"session_idle_minutes": "61"}, "session_idle_minutes"),
        ({"session_absolute_hours": "13"}, "session_absolute_hours"),
        ({"recovery_target": "0"}, "recovery_target"),
        ({"risk_share": "101"}, "risk_share"),
        ({"not_on_track_needs_caseness": "maybe"}, "not_on_track_needs_caseness"),
        ({"planning_range_low": "300", "planning_range_high": "200"}, "planning_range_low"),
        ({"red_review_days": "20", "review_days": "14"}, "red_review_days"),
    ],
)
def test_bad_input_saves_nothing(
    app: Flask, admin: User, values: dict[str, str], field: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        change_settings(admin, {"dna_run": "3", **values})
    assert field in refused.value.field_errors
    assert refused.value.field_errors[field]
    assert revision() == 0
    assert db.session.scalar(select(func.count()).select_from(SettingValue)) == 0
    assert flag_settings().dna_run == 2


def test_only_an_administrator_changes_settings(app: Flask, user_factory: Any) -> None:
    lead = user_factory(Role.LEAD)
    with pytest.raises(PermissionError):
        change_settings(lead, {"caseload_cap": "40"})


def test_a_request_reads_the_revision_once_however_often_it_reads_settings(
    app: Flask, admin: User
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def one_request() -> None:
        with app.test_request_context("/"):
            for _ in range(3):
                service_settings()
                flag_settings()

    contextvars.Context().run(one_request)  # loads this app server's cache
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        contextvars.Context().run(one_request)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    reads = [s for s in statements if "settings_revision" in s]
    assert len(reads) == 1
    assert not any("setting_values" in s for s in statements)


# Every app server ------------------------------------------------------------------------


@pytest.fixture
def second_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """Another app server on the same database (its own process state and cache)."""
    other = create_app(base_config(app.config["DATABASE_URL"], tmp_path / "second-instance"))
    other.test_client_class = IsolatedClient
    yield other
    with other.app_context():
        db.engine.dispose()


def cap_shown(response: Any) -> int:
    match = re.search(r'id="active-count">\d+</span> of (\d+)', page(response))
    assert match, page(response)[:500]
    return int(match.group(1))


def test_a_change_on_one_app_server_takes_effect_on_the_next_request_on_another(
    app: Flask, second_app: Flask, admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER)
    on_first = app.test_client()
    sign_in(on_first, admin)
    on_second = second_app.test_client()
    sign_in(on_second, worker)
    assert cap_shown(on_second.get("/caseload")) == 45
    assert second_app.extensions[store.CACHE_KEY].flags.caseload_cap == 45  # its own cache
    data = {state.definition.key: _typed(state) for state in setting_states()}
    data |= {"caseload_cap": "38", "csrf_token": csrf_token(on_first, "/admin/settings")}
    response = on_first.post("/admin/settings", data=data)
    assert response.status_code == 302, page(response)[:2000]
    assert cap_shown(on_second.get("/caseload")) == 38
    assert second_app.extensions[store.CACHE_KEY].flags.caseload_cap == 38


def _typed(state: store.SettingState) -> str:
    if state.definition.kind is SettingKind.YES_NO:
        return "yes" if state.value else "no"
    return str(state.value)


def test_a_shorter_idle_time_ends_sessions_sooner(
    app: Flask, admin: User, user_factory: Any
) -> None:
    worker = user_factory(Role.WORKER)
    client = app.test_client()
    sign_in(client, worker)
    session = db.session.scalar(select(UserSession).where(UserSession.user_id == worker.id))
    assert session is not None
    session.last_seen_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert client.get("/caseload").status_code == 200  # within the default 30 minutes
    change_settings(admin, {"session_idle_minutes": "10"})
    session.last_seen_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert client.get("/caseload").status_code == 302
    db.session.refresh(session)
    assert session.end_reason == "idle"
