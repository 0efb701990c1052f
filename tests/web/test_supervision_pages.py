"""The supervisor's pages through the test client: the exception queue and its filters,
reviews and the case page's "Supervisor notes", sessions, team load, reassignment and
shared notes; with query budgets at two data sizes."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from caseload.domain.codes import ReflectiveTheme, RiskLevel, Role, SupervisionDecision
from caseload.extensions import db
from caseload.models import (
    AuditEventClient,
    Episode,
    EpisodeReassignment,
    SupervisionReview,
    SupervisionSession,
    User,
)
from caseload.services import supervision as supervision_service
from caseload.services.notes import write_note
from caseload.web import today_in_london
from tests.conftest import make_user, sign_in
from tests.web.helpers import (
    add_contact,
    audit_events,
    counting,
    error_messages,
    field_error,
    flash_after,
    make_case,
    page,
    reload,
    table_html,
    token,
    utc_now,
)

#: PHQ-9 answers with item 9 at 2: a risk signal, so a red flag.
PHQ9_ITEM9 = (1, 1, 1, 1, 1, 1, 1, 1, 2)


# The team and its cases -----------------------------------------------------------------


def worker_named(name: str, *, team: str = "North team") -> User:
    """A committed worker with a display name of their own."""
    user = make_user(Role.WORKER, team=team)
    user.display_name = name
    db.session.commit()
    return user


def red_case(worker: User, name: str) -> Episode:
    """An open case whose latest PHQ-9 answered item 9 (risk: red), referred 10 days ago
    (so its review is overdue too: 7 days for a red case)."""
    episode = make_case(worker, name=name, referral_days_ago=10)
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=2),
        phq9=PHQ9_ITEM9,
        risk_level=RiskLevel.MODERATE,
        risk_action="Safety plan agreed.",
    )
    return episode


def amber_case(worker: User, name: str) -> Episode:
    """An open case in treatment, never reviewed and referred 40 days ago: review overdue
    (amber, 28 days), nothing else."""
    episode = make_case(worker, name=name, referral_days_ago=40)
    add_contact(worker, episode, at=utc_now() - timedelta(days=3))
    return episode


def quiet_case(worker: User, name: str) -> Episode:
    """An open case with no flag at all: referred 5 days ago, seen 2 days ago."""
    episode = make_case(worker, name=name, referral_days_ago=5)
    add_contact(worker, episode, at=utc_now() - timedelta(days=2))
    return episode


class Team:
    """The signed-in North supervisor, two of their workers and a South worker."""

    def __init__(self, signed_in: Any) -> None:
        self.supervisor = signed_in(Role.SUPERVISOR, team="North team")
        self.ana = worker_named("Ana Ahmed")
        self.ben = worker_named("Ben Brown")
        self.south = worker_named("Sol South", team="South team")
        make_user(Role.SUPERVISOR, team="South team")  # the South team has its own supervisor


@pytest.fixture
def team(signed_in: Any) -> Team:
    return Team(signed_in)


def ref(episode: Episode) -> str:
    return reload(episode).client.service_ref


def queue_refs(response: Any) -> list[str]:
    """The client references of the queue's rows, in order."""
    table = table_html(response, "queue")
    return re.findall(r'<a href="/episodes/\d+">([^<]+)</a>', table)


def shown_flag_keys(response: Any) -> list[str]:
    """The flag keys a review form carries (one hidden input each)."""
    return [
        html.unescape(key)
        for key in re.findall(r'name="flags_seen" value="([^"]*)"', response.get_data(as_text=True))
    ]


def review_data(response: Any, csrf: str, **overrides: Any) -> dict[str, Any]:
    """A valid review post from the review form's page."""
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "reason": "Item 9 answered at the last contact.",
        "decision": SupervisionDecision.REVIEW_RISK.value,
        "note": "Call the client this week and update the safety plan.",
        "flags_seen": shown_flag_keys(response),
    }
    data.update(overrides)
    return data


# The queue --------------------------------------------------------------------------------


def test_home_sends_a_supervisor_to_the_queue_with_their_menu(
    client: FlaskClient, team: Team
) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/supervision/"
    html_text = page(client.get("/supervision/"))
    assert 'aria-current="page">Exception queue<' in html_text
    for link in (
        'href="/supervision/team">Team load<',
        'href="/supervision/notes">Shared notes<',
        'href="/clients/search">Find a client<',
    ):
        assert link in html_text


def test_queue_lists_red_then_amber_cases_with_their_flags_and_counts(
    client: FlaskClient, team: Team
) -> None:
    amber = amber_case(team.ben, "Amber Client")
    red = red_case(team.ana, "Red Client")
    quiet = quiet_case(team.ana, "Quiet Client")
    red_case(team.south, "South Client")
    response = client.get("/supervision/")
    assert response.status_code == 200
    assert queue_refs(response) == [ref(red), ref(amber)]
    table = table_html(response, "queue")
    assert ref(quiet) not in table
    assert "South Client" not in page(response)
    red_row, amber_row = table.split('data-episode="')[1:3]
    # Severity in words as well as colour, and each flag as a sentence.
    assert "nhsuk-tag--red" in red_row
    assert ">Red<" in red_row
    assert "item 9" in red_row
    assert "Ana Ahmed" in red_row
    assert "not reviewed in supervision since referral" in amber_row
    assert ">Amber<" in amber_row
    assert "Ben Brown" in amber_row
    assert "40" in amber_row  # days since review (from the referral: never reviewed)
    assert "10 <span" in red_row
    assert "Moderate" in red_row
    html_text = page(response)
    assert "All practitioners (2)" in html_text
    assert "Ana Ahmed (1)" in html_text
    assert "Ben Brown (1)" in html_text
    assert "Risk (1)" in html_text
    assert "Review overdue (2)" in html_text


def test_queue_filters_by_worker_and_by_flag_kind(client: FlaskClient, team: Team) -> None:
    amber = amber_case(team.ben, "Amber Client")
    red = red_case(team.ana, "Red Client")
    by_worker = client.get(f"/supervision/?worker={team.ben.id}")
    assert queue_refs(by_worker) == [ref(amber)]
    assert "Review overdue (1)" in page(by_worker)  # the kind counts under the worker filter
    assert "Risk (" not in page(by_worker)
    by_kind = client.get("/supervision/?kind=risk")
    assert queue_refs(by_kind) == [ref(red)]
    assert "Ana Ahmed (1)" in page(by_kind)  # the worker counts under the kind filter
    assert "Ben Brown (0)" in page(by_kind)
    both = client.get(f"/supervision/?kind=risk&worker={team.ben.id}")
    assert queue_refs(both) == []
    assert "No cases match these filters." in page(both)


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        ("kind=not-a-kind", "The flag filter was not recognised"),
        ("worker=abc", "The practitioner filter was not recognised"),
        ("worker=99999999999999999999", "The practitioner filter was not recognised"),
        ("worker=-1&kind=%00", None),  # NUL is refused outright (400)
    ],
)
def test_queue_ignores_filters_it_cannot_read(
    client: FlaskClient, team: Team, query: str, notice: str | None
) -> None:
    red = red_case(team.ana, "Red Client")
    response = client.get(f"/supervision/?{query}")
    if notice is None:
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert notice in page(response)
    assert queue_refs(response) == [ref(red)]


def test_queue_for_a_worker_outside_the_team_is_404_and_audited(
    client: FlaskClient, team: Team
) -> None:
    red_case(team.south, "South Client")
    response = client.get(f"/supervision/?worker={team.south.id}")
    assert response.status_code == 404
    assert "South Client" not in page(response)
    assert audit_events("access.denied", actor=team.supervisor)


def test_queue_records_the_clients_it_lists(client: FlaskClient, team: Team) -> None:
    red = red_case(team.ana, "Red Client")
    assert client.get("/supervision/").status_code == 200
    events = audit_events("supervision.queue", actor=team.supervisor)
    assert events
    listed = db.session.scalars(
        select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == events[-1].id)
    ).all()
    assert red.client_id in listed


def listed_clients(event_id: int) -> set[int]:
    """The clients an audit event names."""
    return set(
        db.session.scalars(
            select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event_id)
        )
    )


@pytest.fixture
def pages_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rows a page, so a few cases make several pages."""
    monkeypatch.setattr(supervision_service, "QUEUE_PAGE_SIZE", 2)


def pagination_links(response: Any) -> dict[str, str]:
    """The queue's previous and next links by rel, unescaped."""
    text = response.get_data(as_text=True)
    nav = re.search(r'<nav class="nhsuk-pagination"[^>]*id="queue-pages".*?</nav>', text, re.S)
    assert nav is not None
    return {
        rel: html.unescape(href)
        for href, rel in re.findall(r'href="([^"]+)" rel="(prev|next)"', nav.group(0))
    }


def test_the_queue_shows_fifty_rows_a_page(client: FlaskClient, team: Team) -> None:
    cases = [amber_case(team.ana, f"Amber {number:02}") for number in range(51)]
    first = client.get("/supervision/")
    assert first.status_code == 200
    assert queue_refs(first) == [ref(e) for e in cases[:50]]
    assert "51 cases to discuss" in page(first)
    assert "Page 1 of 2" in page(first)
    last = client.get("/supervision/?page=2")
    assert queue_refs(last) == [ref(cases[50])]
    assert "Page 2 of 2" in page(last)


@pytest.mark.usefixtures("pages_of_two")
def test_queue_pages_keep_the_filters_and_count_the_whole_queue(
    client: FlaskClient, team: Team
) -> None:
    ambers = [amber_case(team.ana, f"Ana Amber {number}") for number in range(3)]
    red = red_case(team.ana, "Ana Red")
    amber_case(team.ben, "Ben Amber")
    first = client.get(f"/supervision/?worker={team.ana.id}&kind=review_overdue")
    assert first.status_code == 200
    # The red case's review is overdue too, and red comes first.
    assert queue_refs(first) == [ref(red), ref(ambers[0])]
    assert "4 cases to discuss (filtered)" in page(first)
    links = pagination_links(first)
    assert set(links) == {"next"}
    assert f"worker={team.ana.id}" in links["next"]
    assert "kind=review_overdue" in links["next"]
    assert "page=2" in links["next"]
    # The counts are over the whole queue, not the page.
    workers = table_html(first, "session-starts")
    assert re.search(r"Ana Ahmed</td>\s*<td[^>]*>4", workers)
    assert re.search(r"Ben Brown</td>\s*<td[^>]*>1", workers)

    second = client.get(links["next"])
    assert queue_refs(second) == [ref(ambers[1]), ref(ambers[2])]
    assert "Page 2 of 2" in page(second)
    back = pagination_links(second)
    assert set(back) == {"prev"}
    assert f"worker={team.ana.id}" in back["prev"]
    assert "kind=review_overdue" in back["prev"]
    assert queue_refs(client.get(back["prev"])) == queue_refs(first)


@pytest.mark.usefixtures("pages_of_two")
def test_the_queue_audit_names_only_the_clients_of_the_page_shown(
    client: FlaskClient, team: Team
) -> None:
    cases = [amber_case(team.ana, f"Amber {number}") for number in range(3)]
    assert client.get("/supervision/").status_code == 200
    [event] = audit_events("supervision.queue", actor=team.supervisor)
    assert listed_clients(event.id) == {cases[0].client_id, cases[1].client_id}
    assert event.detail["rows"] == 2
    assert event.detail["matching"] == 3
    assert event.detail["page"] == 1
    assert client.get("/supervision/?page=2").status_code == 200
    latest = audit_events("supervision.queue", actor=team.supervisor)[-1]
    assert listed_clients(latest.id) == {cases[2].client_id}
    assert latest.detail["page"] == 2


@pytest.mark.usefixtures("pages_of_two")
@pytest.mark.parametrize(
    ("asked", "shown"),
    [
        ("0", 1),
        ("-1", 1),
        ("abc", 1),
        ("1.5", 1),
        ("", 1),
        ("٣", 1),
        ("2", 2),
        ("3", 2),
        ("99999999999", 2),
        ("9" * 400, 1),
    ],
)
def test_a_queue_page_out_of_range_shows_the_first_or_the_last(
    client: FlaskClient, team: Team, asked: str, shown: int
) -> None:
    cases = [amber_case(team.ana, f"Amber {number}") for number in range(3)]
    response = client.get(f"/supervision/?page={asked}")
    assert response.status_code == 200
    expected = cases[:2] if shown == 1 else cases[2:]
    assert queue_refs(response) == [ref(e) for e in expected]
    assert f"Page {shown} of 2" in page(response)


# Reviews ------------------------------------------------------------------------------------


def test_a_review_saves_and_the_case_leaves_the_queue(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    red = red_case(team.ana, "Red Client")
    amber = amber_case(team.ben, "Amber Client")
    form = client.get(f"/supervision/episodes/{red.id}/review")
    assert form.status_code == 200
    html_text = page(form)
    assert "Review this case" in html_text
    assert "Red Client" in html_text
    keys = shown_flag_keys(form)
    assert any(key.startswith("risk") for key in keys)
    response = client.post(
        f"/supervision/episodes/{red.id}/review", data=review_data(form, token(client))
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/supervision/"
    assert "Review saved" in flash_after(client, response)
    review = db.session.scalars(select(SupervisionReview)).one()
    assert (review.episode_id, review.decision) == (red.id, SupervisionDecision.REVIEW_RISK)
    assert {flag.flag_key for flag in review.flags_seen} <= set(keys)
    assert reload(red).summary.last_review_on == today_in_london()
    assert queue_refs(client.get("/supervision/")) == [ref(amber)]

    # The worker sees the decision on the case page, and no review form.
    worker_client = app.test_client()
    sign_in(worker_client, team.ana)
    case_page = worker_client.get(f"/episodes/{red.id}")
    assert case_page.status_code == 200
    notes = page(case_page).split('id="supervisor-notes-heading"')[1]
    assert "Supervisor notes" in page(case_page)
    assert SupervisionDecision.REVIEW_RISK.label in notes
    assert "Item 9 answered at the last contact." in notes
    assert "Call the client this week" in notes
    assert "Review this case" not in page(case_page)
    assert 'name="decision"' not in page(case_page)
    assert "/supervision/" not in page(case_page)
    assert worker_client.get(f"/supervision/episodes/{red.id}/review").status_code == 403


def test_supervisor_notes_are_newest_first(client: FlaskClient, team: Team) -> None:
    red = red_case(team.ana, "Red Client")
    for reason in ("FIRST-REVIEW", "SECOND-REVIEW"):
        form = client.get(f"/supervision/episodes/{red.id}/review")
        data = review_data(
            form, token(client), reason=reason, decision=SupervisionDecision.CONTINUE.value
        )
        assert client.post(f"/supervision/episodes/{red.id}/review", data=data).status_code == 302
    case_page = page(client.get(f"/episodes/{red.id}"))
    assert case_page.index("SECOND-REVIEW") < case_page.index("FIRST-REVIEW")
    # The supervisor is offered the review and the move; never the worker's own forms.
    assert f'href="/supervision/episodes/{red.id}/review"' in case_page
    assert f'href="/supervision/episodes/{red.id}/reassign"' in case_page
    assert "Log a contact" not in case_page


def test_a_new_flag_after_a_review_brings_the_case_back(client: FlaskClient, team: Team) -> None:
    red = red_case(team.ana, "Red Client")
    form = client.get(f"/supervision/episodes/{red.id}/review")
    client.post(f"/supervision/episodes/{red.id}/review", data=review_data(form, token(client)))
    assert queue_refs(client.get("/supervision/")) == []
    # New evidence: item 9 answered again at a later contact.
    add_contact(
        team.ana,
        reload(red),
        at=utc_now() - timedelta(hours=2),
        phq9=PHQ9_ITEM9,
        risk_level=RiskLevel.MODERATE,
        risk_action="Crisis line given.",
    )
    assert queue_refs(client.get("/supervision/")) == [ref(red)]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reason": "  "}, "reason", "Give the reason"),
        ({"decision": ""}, "decision", "Choose what was decided"),
        ({"decision": "promote"}, "decision", "Not a valid choice"),
        ({"decision": "other", "note": ""}, "note", ""),
        ({"next_review_on": "2001-01-01"}, "next_review_on", ""),
        (
            {
                "next_review_on-day": "31",
                "next_review_on-month": "2",
                "next_review_on-year": "2030",
            },
            "next_review_on",
            "real date",
        ),
        ({"note": "x" * 5001}, "note", ""),
    ],
)
def test_a_review_with_problems_is_refused_and_saves_nothing(
    client: FlaskClient, team: Team, overrides: dict[str, str], field: str, message: str
) -> None:
    red = red_case(team.ana, "Red Client")
    form = client.get(f"/supervision/episodes/{red.id}/review")
    response = client.post(
        f"/supervision/episodes/{red.id}/review", data=review_data(form, token(client), **overrides)
    )
    assert response.status_code == 200
    assert "There is a problem" in page(response)
    shown = field_error(response, field)
    assert shown, error_messages(response)
    assert message in shown
    assert db.session.scalar(select(func.count()).select_from(SupervisionReview)) == 0
    assert reload(red).summary.last_review_on is None
    # What was typed is kept, and the form still carries the flags on the page.
    assert shown_flag_keys(response) == shown_flag_keys(form)


def test_reviewing_another_teams_case_is_404_and_audited(client: FlaskClient, team: Team) -> None:
    theirs = red_case(team.south, "South Client")
    csrf = token(client)
    assert client.get(f"/supervision/episodes/{theirs.id}/review").status_code == 404
    posted = client.post(
        f"/supervision/episodes/{theirs.id}/review",
        data={"csrf_token": csrf, "reason": "x", "decision": "continue"},
    )
    assert posted.status_code == 404
    assert "South Client" not in page(posted)
    assert audit_events("access.denied", object_id=theirs.id, actor=team.supervisor)
    assert db.session.scalar(select(func.count()).select_from(SupervisionReview)) == 0


# Sessions -----------------------------------------------------------------------------------


def start(client: FlaskClient, worker: User) -> Any:
    return client.post(
        "/supervision/sessions", data={"csrf_token": token(client), "worker_id": str(worker.id)}
    )


def test_a_session_runs_through_a_workers_cases_and_ends(client: FlaskClient, team: Team) -> None:
    first = red_case(team.ana, "First Client")
    second = amber_case(team.ana, "Second Client")
    amber_case(team.ben, "Ben's Client")
    response = start(client, team.ana)
    assert response.status_code == 302
    session = db.session.scalars(select(SupervisionSession)).one()
    assert response.headers["Location"] == f"/supervision/sessions/{session.id}/cases/1"

    case_one = client.get(response.headers["Location"])
    assert case_one.status_code == 200
    text = page(case_one)
    assert "Case 1 of 2" in text
    assert ref(first) in text
    assert "Next case" in text
    assert "Previous case" not in text
    assert "Ben's Client" not in text
    assert 'name="session_id"' in text  # the review form posts back into the session

    csrf = token(client)
    moved = client.post(
        f"/supervision/sessions/{session.id}/move", data={"csrf_token": csrf, "position": "2"}
    )
    assert moved.status_code == 302
    assert moved.headers["Location"] == f"/supervision/sessions/{session.id}/cases/2"
    case_two = page(client.get(moved.headers["Location"]))
    assert "Case 2 of 2" in case_two
    assert ref(second) in case_two
    assert "Previous case" in case_two
    assert "Next case" not in case_two
    assert reload(session).current_position == 2

    # A review made in the session comes back to the session's case.
    form = client.get(f"/supervision/sessions/{session.id}/cases/2")
    data = review_data(
        form, csrf, session_id=str(session.id), decision=SupervisionDecision.CONTINUE.value
    )
    reviewed = client.post(f"/supervision/episodes/{second.id}/review", data=data)
    assert reviewed.status_code == 302
    assert reviewed.headers["Location"] == f"/supervision/sessions/{session.id}/cases/2"
    assert db.session.scalars(select(SupervisionReview)).one().session_id == session.id

    back = client.post(
        f"/supervision/sessions/{session.id}/move", data={"csrf_token": csrf, "position": "1"}
    )
    assert back.headers["Location"] == f"/supervision/sessions/{session.id}/cases/1"
    ended = client.post(f"/supervision/sessions/{session.id}/end", data={"csrf_token": csrf})
    assert ended.status_code == 302
    assert ended.headers["Location"] == f"/supervision/sessions/{session.id}"
    assert reload(session).ended_at is not None
    summary = client.get(ended.headers["Location"])
    summary_text = page(summary)
    assert "Session ended" in summary_text
    assert "2 of 2" in summary_text  # both cases discussed
    assert "End session" not in summary_text
    rows = table_html(summary, "session-cases")
    assert ref(first) in rows
    assert ref(second) in rows
    assert SupervisionDecision.CONTINUE.label in rows


def test_starting_again_carries_on_the_open_session(client: FlaskClient, team: Team) -> None:
    red_case(team.ana, "First Client")
    amber_case(team.ana, "Second Client")
    first = start(client, team.ana)
    session = db.session.scalars(select(SupervisionSession)).one()
    client.post(
        f"/supervision/sessions/{session.id}/move",
        data={"csrf_token": token(client), "position": "2"},
    )
    again = start(client, team.ana)
    assert again.headers["Location"] == f"/supervision/sessions/{session.id}/cases/2"
    assert first.headers["Location"] != again.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(SupervisionSession)) == 1


def test_a_session_with_nothing_flagged_is_refused_with_a_message(
    client: FlaskClient, team: Team
) -> None:
    quiet_case(team.ben, "Quiet Client")
    response = start(client, team.ben)
    assert response.status_code == 302
    assert response.headers["Location"] == "/supervision/"
    assert "Warning" in flash_after(client, response)
    assert db.session.scalar(select(func.count()).select_from(SupervisionSession)) == 0


def test_session_routes_refuse_what_the_buttons_never_send(client: FlaskClient, team: Team) -> None:
    red_case(team.ana, "First Client")
    csrf = token(client)
    assert client.post("/supervision/sessions", data={"csrf_token": csrf}).status_code == 400
    for worker_id in ("abc", "0", "99999999999999999999"):
        posted = client.post(
            "/supervision/sessions", data={"csrf_token": csrf, "worker_id": worker_id}
        )
        assert posted.status_code == 400, worker_id
    start(client, team.ana)
    session = db.session.scalars(select(SupervisionSession)).one()
    for position in ("", "x", "-1"):
        moved = client.post(
            f"/supervision/sessions/{session.id}/move",
            data={"csrf_token": csrf, "position": position},
        )
        assert moved.status_code == 400, position
    too_far = client.post(
        f"/supervision/sessions/{session.id}/move", data={"csrf_token": csrf, "position": "9"}
    )
    assert too_far.status_code == 302  # refused by the service, with its reason
    assert "Warning" in flash_after(client, too_far)
    assert client.get(f"/supervision/sessions/{session.id}/cases/9").status_code == 404
    assert reload(session).current_position == 1


def test_another_supervisors_session_is_404_and_audited(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    red_case(team.south, "South Client")
    south_boss = db.session.scalars(
        select(User).where(User.role == Role.SUPERVISOR, User.id != team.supervisor.id)
    ).one()
    other = app.test_client()
    sign_in(other, south_boss)
    assert start(other, team.south).status_code == 302
    session = db.session.scalars(select(SupervisionSession)).one()
    csrf = token(client)
    paths = [f"/supervision/sessions/{session.id}", f"/supervision/sessions/{session.id}/cases/1"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "South Client" not in page(response)
    for path, data in (
        (f"/supervision/sessions/{session.id}/move", {"position": "1"}),
        (f"/supervision/sessions/{session.id}/end", {}),
    ):
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 404, path
    assert reload(session).ended_at is None
    assert audit_events("access.denied", actor=team.supervisor)
    assert start(client, team.south).status_code == 404  # not my worker


# Team load ----------------------------------------------------------------------------------


def test_team_load_shows_a_chart_per_worker_with_the_cap_and_a_table(
    client: FlaskClient, team: Team
) -> None:
    red_case(team.ana, "Red Client")
    amber_case(team.ana, "Amber Client")
    amber_case(team.ben, "Ben Client")
    response = client.get("/supervision/team")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    rows = table_html(response, "team-load")
    assert "Ana Ahmed" in rows
    assert "Ben Brown" in rows
    assert "Sol South" not in page(response)
    assert "175–250" in page(response)
    for worker, active in ((team.ana, 2), (team.ben, 1)):
        figure_attr = re.search(rf'id="load-chart-{worker.id}" data-figure="([^"]+)"', text)
        assert figure_attr, f"no chart for {worker.display_name}"
        figure = json.loads(html.unescape(figure_attr.group(1)))
        caps = [s for s in figure["layout"]["shapes"] if s.get("name") == "cap"]
        assert [(c["y0"], c["y1"]) for c in caps] == [(45, 45)]
        weekly = figure["data"][0]["y"]
        assert len(weekly) == 26
        assert weekly[-1] == active  # this week: both cases are in treatment
        table = (
            table_html(response, f"load-table-{worker.id}")
            or text.split(f'id="load-table-{worker.id}"')[1].split("</details>")[0]
        )
        assert table.count("<tr>") == 26 + 1  # a row per week, and the header
        assert re.search(rf'role="img" aria-label="[^"]*{worker.display_name}', html.unescape(text))
    ana_row = rows.split(f'data-worker="{team.ana.id}"')[1].split("</tr>")[0]
    assert "1 red" in ana_row
    assert "1 amber" in ana_row
    assert "1 with risk" in ana_row
    assert "2 in 7 days" in ana_row  # an attended contact on each case this week


# Reassignment ------------------------------------------------------------------------------


def test_reassign_moves_the_case_to_another_worker(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    red = red_case(team.ana, "Moving Client")
    form = client.get(f"/supervision/episodes/{red.id}/reassign")
    assert form.status_code == 200
    options = re.findall(r'<option value="(\d+)"', form.get_data(as_text=True))
    assert options == [str(team.ben.id)]  # the same team, not the current worker
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form.get_data(as_text=True))
    assert version
    response = client.post(
        f"/supervision/episodes/{red.id}/reassign",
        data={
            "csrf_token": token(client),
            "to_worker_id": str(team.ben.id),
            "reason": "Ana's caseload is above the cap.",
            "version": version.group(1),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/episodes/{red.id}"
    assert "moved to Ben Brown" in flash_after(client, response)
    assert reload(red).worker_id == team.ben.id
    move = db.session.scalars(select(EpisodeReassignment)).one()
    assert (move.from_worker_id, move.to_worker_id) == (team.ana.id, team.ben.id)
    assert audit_events("episode.reassign", actor=team.supervisor)

    ana, ben = app.test_client(), app.test_client()
    sign_in(ana, team.ana)
    sign_in(ben, team.ben)
    assert ana.get(f"/episodes/{red.id}").status_code == 404
    assert ben.get(f"/episodes/{red.id}").status_code == 200
    assert "Moving Client" in page(ben.get("/caseload"))


def test_reassign_refuses_problems_and_stale_versions(client: FlaskClient, team: Team) -> None:
    red = red_case(team.ana, "Moving Client")
    csrf = token(client)
    base = {"csrf_token": csrf, "to_worker_id": str(team.ben.id), "reason": "Cap.", "version": "1"}
    base["version"] = str(reload(red).version)
    for overrides, field in (
        ({"to_worker_id": ""}, "to_worker_id"),
        ({"to_worker_id": str(team.south.id)}, "to_worker_id"),
        ({"to_worker_id": str(team.ana.id)}, "to_worker_id"),
        ({"reason": " "}, "reason"),
    ):
        response = client.post(
            f"/supervision/episodes/{red.id}/reassign", data={**base, **overrides}
        )
        assert response.status_code == 200, overrides
        assert field_error(response, field), (overrides, error_messages(response))
    stale = client.post(
        f"/supervision/episodes/{red.id}/reassign",
        data={**base, "version": str(int(base["version"]) + 5)},
    )
    assert stale.status_code == 409
    assert "Someone else saved this record" in page(stale)
    assert "Cap." in page(stale)  # the reason typed is kept
    assert reload(red).worker_id == team.ana.id
    assert db.session.scalar(select(func.count()).select_from(EpisodeReassignment)) == 0


# Shared notes ------------------------------------------------------------------------------


def test_shared_notes_show_what_was_shared_and_never_private_notes(
    client: FlaskClient, team: Team
) -> None:
    linked = red_case(team.ana, "Linked Client")
    write_note(
        team.ana,
        text="SHARED-BY-ANA about a hard week.",
        themes=[ReflectiveTheme.RISK_AND_COMPLEXITY],
        episode_id=linked.id,
        shared_with_supervisor=True,
        manageability=2,
    )
    write_note(team.ana, text="PRIVATE-BY-ANA", themes=[ReflectiveTheme.RECOGNITION])
    write_note(
        team.ben,
        text="SHARED-BY-BEN",
        themes=[ReflectiveTheme.DATA_COLLECTION],
        shared_with_supervisor=True,
    )
    write_note(
        team.south,
        text="SHARED-BY-SOUTH",
        themes=[ReflectiveTheme.DATA_COLLECTION],
        shared_with_supervisor=True,
    )
    db.session.commit()
    everything = page(client.get("/supervision/notes"))
    assert "SHARED-BY-ANA" in everything
    assert "SHARED-BY-BEN" in everything
    assert "PRIVATE-BY-ANA" not in everything
    assert "SHARED-BY-SOUTH" not in everything
    assert everything.index("SHARED-BY-BEN") < everything.index("SHARED-BY-ANA")  # newest first
    assert ref(linked) in everything
    by_worker = page(client.get(f"/supervision/notes?worker={team.ben.id}"))
    assert "SHARED-BY-BEN" in by_worker
    assert "SHARED-BY-ANA" not in by_worker
    by_theme = page(client.get("/supervision/notes?theme=risk_and_complexity"))
    assert "SHARED-BY-ANA" in by_theme
    assert "SHARED-BY-BEN" not in by_theme
    odd = client.get("/supervision/notes?theme=gossip&worker=x")
    assert odd.status_code == 200
    assert "The theme filter was not recognised" in page(odd)
    assert "SHARED-BY-BEN" in page(odd)
    outside = client.get(f"/supervision/notes?worker={team.south.id}")
    assert outside.status_code == 404
    assert "SHARED-BY-SOUTH" not in page(outside)


# Query budgets -----------------------------------------------------------------------------


def grow(team: Team, count: int, start_at: int) -> None:
    """More flagged cases for both workers, and shared notes linked to them."""
    for number in range(start_at, start_at + count):
        worker = team.ana if number % 2 else team.ben
        episode = red_case(worker, f"Budget Client {number:02d}")
        if number % 3 == 0:
            amber_case(worker, f"Budget Amber {number:02d}")
        write_note(
            worker,
            text=f"Budget note {number}",
            themes=[ReflectiveTheme.RISK_AND_COMPLEXITY, ReflectiveTheme.RECOGNITION],
            episode_id=episode.id,
            shared_with_supervisor=True,
        )
    db.session.commit()


def test_supervision_pages_queries_do_not_grow_with_the_data(
    client: FlaskClient, team: Team
) -> None:
    def measure(path: str) -> int:
        with counting() as statements:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return len(statements)

    def measured(session_path: str, review_path: str) -> dict[str, int]:
        paths = {
            "queue": "/supervision/",
            "queue filtered": f"/supervision/?worker={team.ana.id}&kind=risk",
            "team load": "/supervision/team",
            "shared notes": "/supervision/notes",
            "shared notes filtered": f"/supervision/notes?theme=recognition&worker={team.ben.id}",
            "session case": session_path,
            "review form": review_path,
        }
        return {name: measure(path) for name, path in paths.items()}

    def session_paths() -> tuple[str, str]:
        """A fresh session with Ana (ending any open one) and the review of its first case."""
        for open_session in db.session.scalars(
            select(SupervisionSession).where(SupervisionSession.ended_at.is_(None))
        ):
            client.post(
                f"/supervision/sessions/{open_session.id}/end", data={"csrf_token": token(client)}
            )
        location = start(client, team.ana).headers["Location"]
        session = db.session.scalars(
            select(SupervisionSession).order_by(SupervisionSession.id.desc())
        ).first()
        assert session is not None
        episode_id = session.cases[0].episode_id
        return location, f"/supervision/episodes/{episode_id}/review"

    grow(team, 3, 1)
    client.get("/supervision/")  # warm up
    small = measured(*session_paths())
    grow(team, 17, 4)
    large = measured(*session_paths())
    assert page(client.get("/supervision/")).count('data-episode="') == 20 + 20 // 3
    assert large == small
    # Each: the session, its user and the settings; the page's own queries; and the audit
    # event with its clients. The queue reads the workers, the episodes (with their
    # complexity and measure summaries), the cached curves and the keys the reviews saw;
    # team load adds the contact counts, the sessions and the weekly series with its
    # reassignments; a session's case reads the session with its cases (and their
    # episodes), the case again through the asker's scope, then its flags and reviews;
    # the review form reads the episode, its flags and reviews.
    budgets = {
        "queue": 14,
        "queue filtered": 14,
        "team load": 17,
        "shared notes": 11,
        "shared notes filtered": 11,
        "session case": 17,
        "review form": 15,
    }
    assert small.keys() == budgets.keys()
    for name, statements in small.items():
        assert statements <= budgets[name], (name, statements, small)
