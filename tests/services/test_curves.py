"""The expected curves: built from consented finished episodes only, cached, rebuilt when stale
after the transaction that found them stale, and never breaking the page that needed them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from caseload.db import sqlite_begin
from caseload.domain.codes import DischargeReason, Role
from caseload.extensions import db
from caseload.models import Episode, ExpectedCurveCache, User
from caseload.services import curves as curve_service
from caseload.services.clients import set_consent
from caseload.services.curves import (
    CurveStatus,
    current_curves,
    curve_status,
    rebuild_expected_curves,
)
from caseload.services.episodes import cached_curves, discharge
from tests.services.factories import NOW, TODAY, client_details, log_scores, register

CONSENTED_SERIES = [(15, 12), (12, 9), (9, 6)]
OTHER_SERIES = [(24, 21), (24, 21), (23, 20)]


def finished(
    worker: User, name: str, pairs: Sequence[tuple[int, int]], *, consented: bool
) -> Episode:
    """A discharged episode that finished a course of treatment, with these scores."""
    episode = register(
        worker,
        details=client_details(name=name),
        referral_date=TODAY - timedelta(days=40),
        consented=consented,
    )
    log_scores(worker, episode, pairs, start=NOW - timedelta(days=20))
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=TODAY,
        note="Goals met.",
        today=TODAY,
    )
    return episode


def cached() -> dict[str, ExpectedCurveCache]:
    """The cache as the database holds it now."""
    db.session.expire_all()
    return {row.measure_id: row for row in db.session.scalars(select(ExpectedCurveCache))}


@pytest.fixture(autouse=True)
def pinned_clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the app's database, the curves' idea of now is NOW, for the callers that pass
    none (a discharge)."""
    monkeypatch.setattr(curve_service, "utcnow", lambda: NOW)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the builds of the curves (each reads the finished episodes)."""
    calls: list[int] = []
    real = curve_service.build_curves

    def counting(executor: Any, *, min_episodes: int) -> Any:
        calls.append(min_episodes)
        return real(executor, min_episodes=min_episodes)

    monkeypatch.setattr(curve_service, "build_curves", counting)
    return calls


def built_at(when: Any) -> None:
    """Build the cache as of ``when`` and commit it."""
    rebuild_expected_curves(min_episodes=1, now=when)
    db.session.commit()


# Consent -------------------------------------------------------------------------------------


def test_non_consented_finished_episodes_change_neither_the_curves_nor_the_count(
    worker: User,
) -> None:
    for number in range(3):
        finished(worker, f"Consented {number}", CONSENTED_SERIES, consented=True)
    open_case = register(worker, details=client_details(name="Still Open"), consented=True)
    log_scores(worker, open_case, OTHER_SERIES)
    assert rebuild_expected_curves(min_episodes=1) == 3
    db.session.commit()
    before = {m: (row.data, row.episodes_used) for m, row in cached().items()}
    assert before["phq9"][1] == before["gad7"][1] == 3

    hidden = [
        finished(worker, f"Not consented {n}", OTHER_SERIES, consented=False) for n in range(4)
    ]
    assert rebuild_expected_curves(min_episodes=1) == 3
    db.session.commit()
    assert {m: (row.data, row.episodes_used) for m, row in cached().items()} == before

    # Consent read at build time: once given, the episode counts and moves the curves.
    set_consent(worker, hidden[0].client, consented=True, note="Agreed on the phone")
    assert rebuild_expected_curves(min_episodes=1) == 4
    db.session.commit()
    after = cached()
    assert after["phq9"].episodes_used == 4
    assert after["phq9"].data != before["phq9"][0]


# Staleness -----------------------------------------------------------------------------------


def test_missing_curves_are_built_after_the_transaction_not_in_it(
    worker: User, builds: list[int]
) -> None:
    assert curve_status() == CurveStatus(built_at=None, episodes_used=0)
    finished(worker, "Consented", CONSENTED_SERIES, consented=True)
    db.session.commit()  # the discharge's risk check needed the curves: built after it
    assert builds == [10]
    db.session.execute(delete(ExpectedCurveCache))
    db.session.commit()
    builds.clear()
    assert curve_status() == CurveStatus(built_at=None, episodes_used=0)

    assert current_curves(now=NOW) == ()
    assert builds == []  # nothing built or written inside the transaction
    assert db.session.scalar(select(func.count()).select_from(ExpectedCurveCache)) == 0
    db.session.commit()

    assert builds == [10]  # the default least number of episodes per point
    rows = cached()
    assert set(rows) == {"phq9", "gad7"}
    assert {row.built_at for row in rows.values()} == {NOW}
    assert curve_status() == CurveStatus(built_at=NOW, episodes_used=1)


def test_stale_curves_are_rebuilt_exactly_once(worker: User, builds: list[int]) -> None:
    built_at(NOW - timedelta(days=8))  # before any episode finished
    builds.clear()
    # The discharge's risk check reads the curves: they are stale, so a rebuild is due...
    finished(worker, "Consented", CONSENTED_SERIES, consented=True)
    stale = current_curves(now=NOW)
    cached_curves()  # ...and every caller reads the same cache
    assert {c.measure_id for c in stale} == {"phq9", "gad7"}
    assert all(c.points == () for c in stale)
    assert builds == []  # ...once the transaction has ended
    db.session.commit()
    assert builds == [1]  # with the least number of episodes the cache was built with

    fresh = current_curves(now=NOW + timedelta(hours=1))
    assert all(c.points for c in fresh)
    db.session.commit()
    assert builds == [1]
    assert {row.built_at for row in cached().values()} == {NOW}
    assert curve_status() == CurveStatus(built_at=NOW, episodes_used=1)


@pytest.mark.parametrize(
    ("age", "rebuilt"),
    [
        (timedelta(days=1), False),
        (timedelta(days=7), False),
        (timedelta(days=7, seconds=1), True),
    ],
)
def test_curves_are_rebuilt_only_when_older_than_the_setting(
    builds: list[int], age: timedelta, rebuilt: bool
) -> None:
    built_at(NOW - age)
    builds.clear()
    current_curves(now=NOW)
    db.session.commit()
    assert builds == ([1] if rebuilt else [])
    assert {row.built_at for row in cached().values()} == {NOW if rebuilt else NOW - age}


def test_a_failed_rebuild_keeps_the_stale_curves_and_is_logged(
    worker: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for number in range(2):
        finished(worker, f"Consented {number}", CONSENTED_SERIES, consented=True)
    built_at(NOW - timedelta(days=30))

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(curve_service, "build_curves", broken)
    with caplog.at_level(logging.ERROR, logger="caseload.services.curves"):
        stale = current_curves(now=NOW)
        db.session.commit()  # the failure is not raised into the request
    assert all(c.points for c in stale)
    assert "Rebuilding the expected curves failed" in caplog.text
    assert {row.built_at for row in cached().values()} == {NOW - timedelta(days=30)}

    # The next request that needs them tries again.
    monkeypatch.undo()
    current_curves(now=NOW)
    db.session.commit()
    assert {row.built_at for row in cached().values()} == {NOW}


def test_a_rebuild_another_request_already_made_is_skipped(builds: list[int]) -> None:
    built_at(NOW - timedelta(days=8))
    builds.clear()
    with sqlite_begin("DEFERRED"):  # as a read-only request
        current_curves(now=NOW)
        # Meanwhile another request rebuilt them, on its own connection.
        with db.engine.connect() as other, other.begin():
            curve_service.store_curves(
                other, curve_service.build_curves(other, min_episodes=1), built_at=NOW
            )
        db.session.commit()
    assert builds == [1]  # the other request's build only
    assert {row.built_at for row in cached().values()} == {NOW}


def test_two_rebuilds_at_once_both_write_without_a_duplicate_key(worker: User) -> None:
    finished(worker, "Consented", CONSENTED_SERIES, consented=True)
    db.session.commit()
    with db.engine.connect() as conn, conn.begin():
        first = curve_service.build_curves(conn, min_episodes=1)
        curve_service.store_curves(conn, first, built_at=NOW)
        # The second finds the rows the first inserted: it replaces them.
        curve_service.store_curves(conn, first, built_at=NOW + timedelta(seconds=1))
    rows = cached()
    assert {row.built_at for row in rows.values()} == {NOW + timedelta(seconds=1)}
    assert rows["phq9"].episodes_used == 1


# A read-only request -------------------------------------------------------------------------


def test_a_read_only_request_rebuilds_after_its_reads_and_succeeds(
    client: FlaskClient, signed_in: Any
) -> None:
    signed_in(Role.WORKER)
    assert db.session.scalar(select(func.count()).select_from(ExpectedCurveCache)) == 0
    assert client.get("/caseload").status_code == 200
    assert set(cached()) == {"phq9", "gad7"}
