"""The audit trail through real requests: every page that shows a client leaves its read
event, nothing recorded is left uncommitted, and a refusal never loses what came before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from caseload.domain.codes import AttendanceCode, ContactMode, ContactType, ReflectiveTheme, Role
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Contact, Episode, User
from caseload.policy import WORKER, policy
from caseload.services import contacts as contact_service
from caseload.services import episodes as episode_service
from caseload.services.audit import record_event
from caseload.services.letters import save_letter
from caseload.services.notes import write_note
from caseload.services.supervision import start_session
from caseload.web import submit, today_in_london
from tests.conftest import csrf_token
from tests.web.helpers import make_case, token, utc_now

#: Every GET page that shows one client's record or a list of clients, by endpoint:
#: how to build its path from the worker's episode, a booked contact and a held one.
#: A new route that shows a client needs a row here (see the test below).
CLIENT_PAGES: dict[str, Any] = {
    "cases.episode": lambda e, booked, held: [f"/episodes/{e}"],
    "cases.log_contact": lambda e, booked, held: [f"/episodes/{e}/contacts/new"],
    "cases.change_contact": lambda e, booked, held: [
        f"/contacts/{booked}/outcome",
        f"/contacts/{held}/correct",
    ],
    "cases.entered_in_error": lambda e, booked, held: [f"/contacts/{held}/entered-in-error"],
    "cases.discharge": lambda e, booked, held: [f"/episodes/{e}/discharge"],
    "cases.consent": lambda e, booked, held: [f"/episodes/{e}/consent"],
    "cases.episode_entered_in_error": lambda e, booked, held: [f"/episodes/{e}/entered-in-error"],
    "cases.caseload": lambda e, booked, held: ["/caseload"],
    "diary.index": lambda e, booked, held: ["/diary"],
    "diary.book": lambda e, booked, held: [f"/episodes/{e}/book"],
    "notes.index": lambda e, booked, held: ["/notes/"],
    "notes.new": lambda e, booked, held: ["/notes/new"],
    "clients.search": lambda e, booked, held: ["/clients/search?q=jamie"],
    "clients.client": lambda e, booked, held: [f"/clients/{client_of(e)}"],
    # The episode is open: the page shows the client and why it cannot be re-referred.
    "clients.add_referral": lambda e, booked, held: [f"/clients/{client_of(e)}/referrals/new"],
    # Records that leave the screen: the printable summary, the letters, one client's FHIR.
    "exports.summary": lambda e, booked, held: [f"/episodes/{e}/summary"],
    "exports.letters": lambda e, booked, held: [f"/episodes/{e}/letters"],
    "exports.new_letter": lambda e, booked, held: [f"/episodes/{e}/letters/assessment/new"],
    "exports.letter": lambda e, booked, held: [f"/letters/{letter_of(e)}"],
    "exports.episode_fhir": lambda e, booked, held: [f"/episodes/{e}/fhir"],
}

#: The supervisor's GET pages that show a client, walked as the supervisor of the worker who
#: holds the episode: how to build each path from that episode and a supervision session
#: with the worker (its first case is the episode).
SUPERVISOR_CLIENT_PAGES: dict[str, Any] = {
    "supervision.queue": lambda e, session: ["/supervision/"],
    "supervision.review": lambda e, session: [f"/supervision/episodes/{e}/review"],
    "supervision.reassign": lambda e, session: [f"/supervision/episodes/{e}/reassign"],
    "supervision.session": lambda e, session: [f"/supervision/sessions/{session}"],
    "supervision.session_case": lambda e, session: [f"/supervision/sessions/{session}/cases/1"],
    # A shared note linked to the case names its client.
    "supervision.shared_notes": lambda e, session: ["/supervision/notes"],
}

#: GET pages that show no client's record (checked so a new route is a conscious choice).
NO_CLIENT_PAGES = {
    "auth.login",
    "auth.mfa",
    "auth.busy",
    "main.home",
    "supervision.team_load",
    "lead.findings",
    "cases.register_client",
    "about.accessibility",
    "about.privacy",
    "auth.new_passphrase",
    "auth.confirm",
    # Your own account: your sessions and sign-ins, no client.
    "account.index",
    "account.passphrase",
    "admin.accounts",
    "admin.new_account",
    "admin.change_role",
    "admin.teams",
    "admin.new_team",
    "admin.team",
    "admin.settings",
    # The lead's dashboard: consented aggregates only; its CSV is audited as dashboard.export.
    "lead.dashboard",
    "lead.dashboard_csv",
    # The lead's exports page shows counts only; each download is audited with its clients.
    "lead.exports",
}

#: Pages that name clients in a list but are not yet walked above, and why.
NOT_YET_WALKED: dict[str, str] = {
    "clients.discharged": "lists only discharged episodes, so the open case above is not on it; "
    "tests/web/test_client_pages.py checks its event names every client listed",
    "admin.audit": "names clients by service reference in audit events, not their records; "
    "its audit.view event names the client filtered on (tests/web/test_audit_view.py)",
    "admin.audit_csv": "the audit trail's export, audited as audit.export the same way",
    "admin.account": "names clients (by service reference only) for a disabled worker's open "
    "cases alone; tests/services/test_accounts.py checks that event names each of them",
}


def client_of(episode_id: int) -> int:
    """The client of an episode, for pages addressed by client."""
    episode = db.session.get(Episode, episode_id)
    assert episode is not None
    return episode.client_id


def letter_of(episode_id: int) -> int:
    """A letter saved on the episode by its worker (made just before the page is walked)."""
    episode = db.session.get(Episode, episode_id)
    assert episode is not None
    letter = save_letter(episode.worker, episode, key="assessment", body="Dear Doctor,")
    db.session.commit()
    return letter.id


def seen_by(user: User, client_id: int) -> int:
    """How many audit events by the user concern the client: "who saw client X" in one query,
    whether the client was opened or listed."""
    db.session.commit()
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEventClient)
            .join(AuditEvent, AuditEvent.id == AuditEventClient.audit_event_id)
            .where(AuditEventClient.client_id == client_id, AuditEvent.actor_id == user.id)
        )
        or 0
    )


def actions(**where: Any) -> list[str]:
    """The actions of the audit events matching the filters, oldest first."""
    db.session.commit()
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(query))


def contact(
    worker: User, episode: Episode, *, attendance: AttendanceCode, at_offset: timedelta
) -> Contact:
    """A committed contact without questionnaires, made through the service."""
    moment = utc_now() + at_offset
    record = contact_service.log_contact(
        worker,
        episode,
        contact_service.ContactInput(
            occurred_at=moment,
            contact_type=ContactType.TREATMENT,
            mode=ContactMode.TELEPHONE,
            attendance=attendance,
        ),
        now=moment - timedelta(days=1) if attendance is AttendanceCode.BOOKED else None,
    )
    db.session.commit()
    return record


def test_every_client_page_is_listed(app: Flask) -> None:
    """A GET route about an episode or contact, or any new page, must be classified above."""
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in {"static"}:
            continue
        if rule.endpoint.startswith("assets."):
            continue
        walked = CLIENT_PAGES.keys() | SUPERVISOR_CLIENT_PAGES.keys()
        assert rule.endpoint in walked | NO_CLIENT_PAGES | NOT_YET_WALKED.keys(), rule.rule
        if {"episode_id", "contact_id", "session_id"} & set(rule.arguments):
            assert rule.endpoint in walked, rule.rule


def test_every_page_that_shows_a_client_records_its_read(
    client: FlaskClient, signed_in: Any
) -> None:
    me = signed_in(Role.WORKER)
    episode = make_case(me)
    booked = contact(me, episode, attendance=AttendanceCode.BOOKED, at_offset=-timedelta(hours=2))
    held = contact(
        me, episode, attendance=AttendanceCode.DID_NOT_ATTEND, at_offset=-timedelta(days=1)
    )
    write_note(
        me,
        text="Linked to the case.",
        themes=[ReflectiveTheme.RISK_AND_COMPLEXITY],
        episode_id=episode.id,
    )
    db.session.commit()
    for build in CLIENT_PAGES.values():
        for path in build(episode.id, booked.id, held.id):
            before = seen_by(me, episode.client_id)
            response = client.get(path)
            assert response.status_code in (200, 302), path
            assert seen_by(me, episode.client_id) == before + 1, path


def test_every_supervisor_page_that_shows_a_client_records_its_read(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    me = signed_in(Role.SUPERVISOR, team="North team")
    worker = user_factory(Role.WORKER, team="North team")
    episode = make_case(worker, referral_days_ago=40)  # never reviewed: review overdue
    write_note(
        worker,
        text="Shared and linked to the case.",
        themes=[ReflectiveTheme.RISK_AND_COMPLEXITY],
        episode_id=episode.id,
        shared_with_supervisor=True,
    )
    session = start_session(me, worker_id=worker.id, today=today_in_london())
    db.session.commit()
    for endpoint, build in SUPERVISOR_CLIENT_PAGES.items():
        for path in build(episode.id, session.id):
            before = seen_by(me, episode.client_id)
            response = client.get(path)
            assert response.status_code == 200, path
            # A session's case page leaves two: the session's read (naming every case on
            # its list) and the case's own, read again through the supervisor's scope.
            reads = 2 if endpoint == "supervision.session_case" else 1
            assert seen_by(me, episode.client_id) == before + reads, path


def test_the_caseload_lists_its_clients_in_one_event(client: FlaskClient, signed_in: Any) -> None:
    me = signed_in(Role.WORKER)
    first, second = make_case(me, name="First Client"), make_case(me, name="Second Client")
    assert client.get("/caseload").status_code == 200
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "caseload.view")).one()
    listed = db.session.scalars(
        select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event.id)
    ).all()
    assert sorted(listed) == sorted([first.client_id, second.client_id])


def test_a_request_that_ends_with_events_unsaved_fails(
    app: Flask, client: FlaskClient, user_factory: Any
) -> None:
    """An event recorded after the request's commit would be lost: the tests refuse it."""

    @app.teardown_request
    def record_too_late(_error: BaseException | None) -> None:
        record_event("late.event")

    with pytest.raises(RuntimeError, match="late.event"):
        client.get("/login")


@pytest.fixture
def refusing_form_route(app: Flask) -> str:
    """A form page that opens the worker's own case, then saves to someone else's: the
    save is refused inside ``submit``'s savepoint."""

    @policy(WORKER)
    def refusing_form(own: int, theirs: int) -> Any:
        episode_service.get_episode(current_user, own)
        outcome = submit(
            FlaskForm(), lambda: episode_service.get_episode(current_user, theirs, for_change=True)
        )
        return "saved" if outcome.saved else "not saved"

    app.add_url_rule(
        "/test/refusing-form/<int:own>/<int:theirs>",
        "refusing_form",
        refusing_form,
        methods=["POST"],
    )
    return "/test/refusing-form"


def test_a_denial_inside_a_save_is_404_and_keeps_the_earlier_events(
    client: FlaskClient, signed_in: Any, user_factory: Any, refusing_form_route: str
) -> None:
    me = signed_in(Role.WORKER)
    mine = make_case(me, name="My Client")
    theirs = make_case(user_factory(Role.WORKER), name="Their Client")
    response = client.post(
        f"{refusing_form_route}/{mine.id}/{theirs.id}", data={"csrf_token": token(client)}
    )
    assert response.status_code == 404
    assert actions(action="episode.view", object_id=str(mine.id)) == ["episode.view"]
    assert actions(actor_id=me.id, object_type="episode", object_id=str(theirs.id)) == [
        "access.denied"
    ]


def test_a_post_to_a_case_that_is_not_yours_is_404_and_the_denial_survives(
    client: FlaskClient, signed_in: Any, user_factory: Any
) -> None:
    me = signed_in(Role.WORKER)
    theirs = make_case(user_factory(Role.WORKER), name="Their Client")
    response = client.post(
        f"/episodes/{theirs.id}/consent",
        data={"csrf_token": token(client), "consent": "yes", "consent_note": "Said yes"},
    )
    assert response.status_code == 404
    assert actions(actor_id=me.id, object_type="episode", object_id=str(theirs.id)) == [
        "access.denied"
    ]
    db.session.refresh(theirs.client)
    assert theirs.client.consent_central_reporting is False


def test_a_failed_sign_in_is_kept_though_nothing_else_is(
    client: FlaskClient, user_factory: Any
) -> None:
    user = user_factory(Role.WORKER)
    response = client.post(
        "/login",
        data={"username": user.username, "password": "wrong", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 200
    assert actions(actor_username=user.username) == ["login.failure"]
