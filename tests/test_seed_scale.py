"""The large synthetic service (issue 15): ``seed-scale`` and ``build_scale_service``.

Built small here (a few hundred episodes); the same code builds 100,000.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from caseload import create_app
from caseload.domain.codes import AttendanceCode, ConsentState, ReferralSource, Role
from caseload.extensions import db
from caseload.models import (
    Client,
    Contact,
    ContactScore,
    Episode,
    EpisodeMeasureSummary,
    EpisodeSummary,
    ReflectiveNote,
    SupervisionReview,
    Team,
    User,
)
from caseload.scale import ScaleSummary, build_scale_service
from caseload.services.audit import verify_chain
from caseload.services.clients import ClientDetails, Referral, register_client
from caseload.services.episodes import refresh_summary
from tests.conftest import Database, base_config, sign_in

EPISODES = 300
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)

#: The tables a seed fixes row for row (accounts and the audit trail hold fresh secrets
#: and times).
CLINICAL_TABLES = (
    Client,
    Episode,
    Contact,
    ContactScore,
    EpisodeSummary,
    EpisodeMeasureSummary,
    SupervisionReview,
)


def build(episodes: int = EPISODES, **kwargs: Any) -> ScaleSummary:
    summary = build_scale_service(episodes, now=NOW, **kwargs)
    db.session.expire_all()
    return summary


def digest() -> str:
    """A hash of every clinical table's rows in id order."""
    sha = hashlib.sha256()
    for model in CLINICAL_TABLES:
        table = model.__table__
        key = [c for c in table.primary_key.columns]
        for row in db.session.execute(sa.select(table).order_by(*key)):
            sha.update(repr(tuple(row)).encode())
    return sha.hexdigest()


@pytest.fixture
def built(app: Flask) -> ScaleSummary:
    return build()


def test_counts_and_shape(built: ScaleSummary) -> None:
    assert built.episodes == EPISODES == db.session.scalar(sa.select(sa.func.count(Episode.id)))
    assert built.clients == db.session.scalar(sa.select(sa.func.count(Client.id)))
    assert built.contacts == db.session.scalar(sa.select(sa.func.count(Contact.id)))
    assert built.contacts > EPISODES * 3
    assert built.workers == 2
    assert set(built.accounts) == {"worker", "supervisor", "lead", "admin"}
    open_by_worker = dict(
        db.session.execute(
            sa.select(Episode.worker_id, sa.func.count(Episode.id))
            .where(Episode.discharged_on.is_(None))
            .group_by(Episode.worker_id)
        ).all()
    )
    workers = db.session.scalars(sa.select(User).where(User.role == Role.WORKER)).all()
    assert len(workers) == 2
    assert all(40 <= open_by_worker[w.id] <= 60 for w in workers)
    worker = built.accounts["worker"]
    assert open_by_worker[worker.user_id] == max(open_by_worker.values())
    # Years of closed episodes behind the open ones.
    oldest = db.session.scalar(sa.select(sa.func.min(Episode.referral_date)))
    assert oldest is not None
    assert oldest < NOW.date() - timedelta(days=3 * 365)


def test_accounts_roles_teams_and_sample(built: ScaleSummary) -> None:
    accounts = built.accounts
    users = {key: db.session.get(User, account.user_id) for key, account in accounts.items()}
    assert {key: u.role for key, u in users.items()} == {
        "worker": Role.WORKER,
        "supervisor": Role.SUPERVISOR,
        "lead": Role.LEAD,
        "admin": Role.ADMIN,
    }
    assert all(u.is_demo and u.mfa_enrolled for u in users.values())
    assert all(u.username == accounts[key].username for key, u in users.items())
    team = db.session.get(Team, users["worker"].team_id)
    assert team is not None
    assert team.supervisor_id == users["supervisor"].id
    episode = db.session.get(Episode, built.sample_episode_id)
    assert episode is not None
    assert episode.is_open
    assert episode.worker_id == users["worker"].id
    assert episode.client_id == built.sample_client_id
    assert len(episode.contacts) >= 4


def test_realistic_mix(built: ScaleSummary) -> None:
    states = dict(
        db.session.execute(
            sa.select(Client.consent_state, sa.func.count(Client.id)).group_by(Client.consent_state)
        ).all()
    )
    assert states[ConsentState.YES] > EPISODES * 0.7
    assert states.get(ConsentState.DECLINED, 0) + states.get(ConsentState.NOT_ASKED, 0) > 0
    future = db.session.scalar(
        sa.select(sa.func.count(Contact.id)).where(
            Contact.attendance == AttendanceCode.BOOKED, Contact.occurred_at > NOW
        )
    )
    assert future
    assert future > 10
    assert db.session.scalar(sa.select(sa.func.count(SupervisionReview.id)))
    assert db.session.scalar(sa.select(sa.func.count(ReflectiveNote.id)))
    scored = db.session.scalar(
        sa.select(sa.func.count(ContactScore.id)).where(ContactScore.measure_id == "phq9")
    )
    assert scored
    assert scored > EPISODES
    # Review dates are kept on the summary, as the supervision service keeps them.
    reviewed = db.session.execute(
        sa.select(EpisodeSummary.last_review_on, sa.func.max(SupervisionReview.reviewed_on))
        .join(SupervisionReview, SupervisionReview.episode_id == EpisodeSummary.episode_id)
        .group_by(EpisodeSummary.episode_id, EpisodeSummary.last_review_on)
    ).all()
    assert reviewed
    assert all(kept == latest for kept, latest in reviewed)


def _summary_rows() -> dict[int, tuple[dict[str, Any], list[dict[str, Any]]]]:
    summaries = {
        row.episode_id: {k: v for k, v in row._mapping.items() if k != "updated_at"}
        for row in db.session.execute(sa.select(EpisodeSummary.__table__))
    }
    measures: dict[int, list[dict[str, Any]]] = {}
    table = EpisodeMeasureSummary.__table__
    for row in db.session.execute(
        sa.select(table).order_by(table.c.episode_id, table.c.measure_id)
    ):
        measures.setdefault(row.episode_id, []).append(dict(row._mapping))
    return {key: (value, measures.get(key, [])) for key, value in summaries.items()}


def test_summaries_match_the_apps_own_recomputation(built: ScaleSummary) -> None:
    written = _summary_rows()
    for episode in db.session.scalars(sa.select(Episode)):
        refresh_summary(episode)
    db.session.flush()
    db.session.expire_all()
    assert _summary_rows() == written


def test_audit_trail_is_intact(built: ScaleSummary, app: Flask) -> None:
    check = verify_chain()
    assert check.intact
    assert check.events > built.contacts
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output


def test_the_accounts_sign_in_through_the_forms(built: ScaleSummary, app: Flask) -> None:
    for key, account in built.accounts.items():
        client: FlaskClient = app.test_client()
        user = db.session.get(User, account.user_id)
        assert user is not None
        sign_in(client, user, account.password)
        response = client.get("/", follow_redirects=True)
        assert response.status_code == 200, key
    worker_client = app.test_client()
    worker = db.session.get(User, built.accounts["worker"].user_id)
    assert worker is not None
    sign_in(worker_client, worker, built.accounts["worker"].password)
    page = worker_client.get(f"/episodes/{built.sample_episode_id}")
    assert page.status_code == 200


def test_the_app_writes_after_the_load(built: ScaleSummary) -> None:
    """Ids the load assigned leave the database's own counters past them (PostgreSQL's
    sequences), so the next client registered through the service saves."""
    worker = db.session.get(User, built.accounts["worker"].user_id)
    assert worker is not None
    episode = register_client(
        worker,
        details=ClientDetails(name="Later Client", date_of_birth=date(1990, 1, 2)),
        referral=Referral(
            referral_date=NOW.date(),
            referral_source=ReferralSource.SELF,
            referrer_expectation="Counselling",
            presenting_problem="Depression",
        ),
        today=NOW.date(),
    )
    db.session.commit()
    assert episode.id > built.episodes
    assert episode.client_id > built.clients
    assert verify_chain().intact


def digest_elsewhere(tmp_path: Path, episodes: int, *, seed: int) -> str:
    """The digest of a service built with this seed in a second, fresh database."""
    other = Database(tmp_path / "other")
    try:
        (tmp_path / "second").mkdir()
        second_app = create_app(
            base_config(other.fresh_url(tmp_path / "second"), tmp_path / "instance2")
        )
        with second_app.app_context():
            build(episodes, seed=seed)
            second = digest()
            db.session.remove()
            db.engine.dispose()
    finally:
        other.drop()
    return second


def test_the_same_seed_gives_the_same_rows(app: Flask, tmp_path: Path) -> None:
    build(seed=11)
    assert digest() == digest_elsewhere(tmp_path, EPISODES, seed=11)


def test_another_seed_gives_other_rows(app: Flask, tmp_path: Path) -> None:
    build(150, seed=11)
    assert digest() != digest_elsewhere(tmp_path, 150, seed=12)


def test_the_command_builds_and_writes_the_accounts(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "scale.json"
    result = app.test_cli_runner().invoke(
        args=["seed-scale", "--episodes", "150", "--workers", "2", "--credentials", str(path)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(path.read_text("utf-8"))
    assert written["episodes"] == 150
    assert set(written["accounts"]) == {"worker", "supervisor", "lead", "admin"}
    assert db.session.scalar(sa.select(sa.func.count(Episode.id))) == 150
    again = app.test_cli_runner().invoke(args=["seed-scale", "--episodes", "10"])
    assert again.exit_code != 0
    assert "empty" in again.output
