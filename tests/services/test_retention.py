"""Entered in error: a record made by mistake leaves every list and report, and stays in
the database and the audit trail (caseload.services.retention, caseload.policy)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from caseload.domain.codes import DischargeReason, Role
from caseload.extensions import db
from caseload.models import AuditEvent, Client, Episode, User
from caseload.reporting.base import consented_client_ids, reportable_episodes
from caseload.services import Conflict, NotVisible, ServiceError
from caseload.services.clients import add_referral
from caseload.services.episodes import (
    CaseloadView,
    discharge,
    get_episode,
    worker_caseload,
)
from caseload.services.retention import mark_entered_in_error
from caseload.services.search import get_client, likely_duplicates, search_clients
from tests.services.factories import TODAY, client_details, referral, register


def mark(worker: User, episode: Episode, **kwargs: Any) -> list[Episode]:
    record = get_episode(worker, episode.id, for_change=True)
    values: dict[str, Any] = {
        "reason": "Registered twice.",
        "whole_client": False,
        "expected_version": record.version,
    } | kwargs
    return mark_entered_in_error(worker, record, **values)


def caseload_ids(worker: User) -> set[int]:
    listed = worker_caseload(worker, worker=worker, today=TODAY, view=CaseloadView())
    return {row.episode.id for row in listed.active + listed.waiting}


def test_an_episode_in_error_leaves_the_caseload_search_and_reports(
    worker: User, user_factory: Any
) -> None:
    kept = register(worker, details=client_details(name="Kept Client"), consented=True)
    wrong = register(worker, details=client_details(name="Wrong Client"), consented=True)
    supervisor = user_factory(Role.SUPERVISOR, team="North team")
    db.session.flush()
    assert caseload_ids(worker) == {kept.id, wrong.id}

    marked = mark(worker, wrong, reason="  Opened for the wrong person.  ")
    assert marked == [wrong]
    assert wrong.entered_in_error_reason == "Opened for the wrong person."
    assert wrong.entered_in_error_by_id == worker.id
    assert wrong.entered_in_error_at is not None

    assert caseload_ids(worker) == {kept.id}
    for asker in (worker, supervisor):
        with pytest.raises(NotVisible):
            get_episode(asker, wrong.id)
    # The client has no other episode in force: nobody may open them, and the search
    # shows them (the person was not the mistake) without the episode.
    with pytest.raises(NotVisible):
        get_client(worker, wrong.client_id)
    found = {r.client_id: r for r in search_clients(worker, "client").results}
    assert found[kept.client_id].episode is not None
    assert found[wrong.client_id].episode is None
    assert not found[wrong.client_id].episode_open
    reported = {e.id for e, _summary in db.session.execute(reportable_episodes())}
    assert reported == {kept.id}
    # Kept in the database and in the audit trail.
    assert db.session.get(Episode, wrong.id) is not None
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "episode.entered_in_error")
    )
    assert event.client_id == wrong.client_id
    assert event.object_id == str(wrong.id)
    assert event.detail == {"reason": "Opened for the wrong person.", "episodes": [wrong.id]}


def test_a_client_registered_twice_is_marked_whole(worker: User, user_factory: Any) -> None:
    twin = register(worker, details=client_details(name="Sam Twin"), consented=True)
    discharge(
        worker,
        twin,
        reason=DischargeReason.COMPLETED,
        discharged_on=TODAY,
        note="",
        today=TODAY,
    )
    again = add_referral(worker, twin.client, referral(), today=TODAY)
    db.session.flush()
    marked = mark(worker, again, whole_client=True)
    assert {e.id for e in marked} == {twin.id, again.id}
    client = db.session.get(Client, twin.client_id)
    assert client is not None
    assert client.entered_in_error_at is not None
    assert search_clients(worker, "Sam Twin").results == ()
    assert (
        likely_duplicates(
            worker, name="Sam Twin", date_of_birth=client.date_of_birth, nhs_number=""
        )
        == []
    )
    assert twin.client_id not in set(db.session.scalars(consented_client_ids()))
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "client.entered_in_error")
    )
    assert event.object_id == str(client.id)
    assert event.client_id == client.id


def test_a_client_with_another_workers_open_episode_is_not_marked_whole(
    worker: User, user_factory: Any
) -> None:
    other = user_factory(Role.WORKER, team="North team")
    mine = register(worker, details=client_details(name="Shared Client"))
    discharge(
        worker, mine, reason=DischargeReason.COMPLETED, discharged_on=TODAY, note="", today=TODAY
    )
    add_referral(other, mine.client, referral(), today=TODAY)
    db.session.flush()
    with pytest.raises(ServiceError, match="another practitioner") as refused:
        mark(worker, mine, whole_client=True)
    assert "scope" in refused.value.field_errors
    assert mine.entered_in_error_at is None
    # This episode alone may be marked; the other worker's stays.
    mark(worker, mine)
    assert mine.entered_in_error_at is not None
    assert mine.client.entered_in_error_at is None


def test_an_episode_in_error_no_longer_blocks_a_new_referral(worker: User) -> None:
    wrong = register(worker)
    mark(worker, wrong)
    episode = add_referral(worker, wrong.client, referral(), today=TODAY)
    assert episode.id != wrong.id


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_reason_is_required(worker: User, reason: str) -> None:
    episode = register(worker)
    with pytest.raises(ServiceError) as refused:
        mark(worker, episode, reason=reason)
    assert "reason" in refused.value.field_errors
    assert episode.entered_in_error_at is None


def test_a_stale_form_is_a_conflict(worker: User) -> None:
    episode = register(worker)
    with pytest.raises(Conflict):
        mark(worker, episode, expected_version=episode.version + 1)


def test_only_the_worker_holding_the_episode_may_mark_it(worker: User, user_factory: Any) -> None:
    episode = register(worker)
    supervisor = user_factory(Role.SUPERVISOR, team="North team")
    colleague = user_factory(Role.WORKER, team="North team")
    db.session.flush()
    for asker in (supervisor, colleague):
        with pytest.raises(NotVisible):
            get_episode(asker, episode.id, for_change=True)
    assert (
        db.session.scalar(
            select(func.count(Episode.id)).where(Episode.entered_in_error_at.is_not(None))
        )
        == 0
    )
