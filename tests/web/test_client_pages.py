"""Finding a client through the test client: search, the client page, re-referral, my
discharged clients, the header menu, and each page's query budget."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from caseload.domain.codes import DischargeReason, EpisodeStatus, Role
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Episode, User
from caseload.services import episodes as episode_service
from caseload.services.clients import Referral, add_referral
from caseload.services.search import RESULT_LIMIT
from caseload.web import today_in_london
from tests.services.test_episodes import counting_statements
from tests.web.helpers import (
    add_contact,
    audit_events,
    error_messages,
    field_error,
    flash_after,
    make_case,
    page,
    reload,
    row_counts,
    table_html,
    token,
    utc_now,
)


def discharge(worker: User, episode: Episode, *, days_ago: int = 0) -> Episode:
    """Discharge an episode, committed."""
    today = today_in_london()
    episode_service.discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=today - timedelta(days=days_ago),
        note="",
        today=today,
    )
    db.session.commit()
    return episode


def listed_in(event: AuditEvent) -> list[int]:
    """The clients an audit event names."""
    return sorted(
        db.session.scalars(
            select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event.id)
        )
    )


@pytest.fixture
def south(user_factory: Any) -> User:
    """A worker in the South team, whose supervisor has a name the search shows."""
    supervisor = user_factory(Role.SUPERVISOR, team="South team")
    supervisor.display_name = "Sue Southern"
    db.session.commit()
    return user_factory(Role.WORKER, team="South team")


def referral_post(csrf: str, **overrides: str) -> dict[str, Any]:
    """A valid re-referral form post, referred yesterday."""
    day = today_in_london() - timedelta(days=1)
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "referral_date-day": str(day.day),
        "referral_date-month": str(day.month),
        "referral_date-year": str(day.year),
        "referral_source": "self",
        "referrer_expectation": "Counselling",
        "presenting_problem": "Panic disorder",
        "step": "2",
        "complexity_factors": ["housing"],
        "complexity_note": "",
    }
    data.update(overrides)
    return data


# The header menu ---------------------------------------------------------------------


def test_the_worker_menu_finds_clients_and_lists_discharged_ones(
    client: FlaskClient, signed_in: Any
) -> None:
    signed_in(Role.WORKER)
    html = page(client.get("/caseload"))
    assert 'href="/clients/search">Find a client<' in html
    assert 'href="/clients/discharged">Discharged clients<' in html


def test_the_supervisor_menu_finds_clients(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.SUPERVISOR)
    html = page(client.get("/clients/search"))
    assert 'aria-current="page">Find a client<' in html
    assert "Discharged clients" not in html


# Search ------------------------------------------------------------------------------


def test_search_shows_own_clients_in_full_and_others_only_in_the_limited_view(
    client: FlaskClient, signed_in: Any, south: User
) -> None:
    me = signed_in(Role.WORKER)
    mine = make_case(me, name="Jamie Mine")
    theirs = make_case(south, name="Jamie Theirs")
    ended = discharge(south, make_case(south, name="Jamie Ended"))
    response = client.get("/clients/search?q=jamie")
    assert response.status_code == 200
    results = table_html(response, "search-results")
    assert f'href="/clients/{mine.client_id}">Jamie Mine</a>' in results
    assert f'href="/episodes/{mine.id}"' in results
    # Others: name, birthday, reference and where the episode is open; no link to the record.
    assert "Jamie Theirs" in results
    assert theirs.client.service_ref in results
    assert f"/clients/{theirs.client_id}" not in results
    assert f"/episodes/{theirs.id}" not in results
    assert "Open" in results
    assert "with South team (supervisor: Sue Southern)" in results
    assert "Ask the case holder's supervisor, Sue Southern (South team)." in results
    assert f'href="/clients/{ended.client_id}/referrals/new"' in results
    assert f"/episodes/{ended.id}" not in results
    assert results.index("Jamie Mine") < results.index("Jamie Ended")  # own first
    assert "3 clients match" in page(response)
    (event,) = audit_events("client.search", actor=me)
    assert event.detail == {"terms": "jamie", "results": 3, "more": False}
    assert listed_in(event) == sorted([mine.client_id, theirs.client_id, ended.client_id])


def test_a_supervisor_sees_the_team_in_full_and_is_offered_no_referral(
    client: FlaskClient, signed_in: Any, user_factory: Any, south: User
) -> None:
    supervisor = signed_in(Role.SUPERVISOR, team="North team")
    north = user_factory(Role.WORKER, team="North team")
    ours = make_case(north, name="Jamie North")
    ended = discharge(south, make_case(south, name="Jamie South"))
    results = table_html(client.get("/clients/search?q=jamie"), "search-results")
    assert f'href="/clients/{ours.client_id}">Jamie North</a>' in results
    assert f"/clients/{ended.client_id}" not in results  # no referral link for a supervisor
    assert "Register a new client" not in page(client.get("/clients/search?q=jamie"))
    assert audit_events("client.search", actor=supervisor)


def test_search_says_when_more_matched_than_are_shown(client: FlaskClient, signed_in: Any) -> None:
    me = signed_in(Role.WORKER)
    for number in range(RESULT_LIMIT + 1):
        make_case(me, name=f"Many Client {number:02}")
    html = page(client.get("/clients/search?q=many"))
    assert f"More than {RESULT_LIMIT} clients match" in html
    assert html.count("/referrals/new") + html.count('href="/episodes/') == RESULT_LIMIT


def test_no_match_offers_registration(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    html = page(client.get("/clients/search?q=Nobody+Here"))
    assert 'No client of the service matches "Nobody Here"' in html
    assert 'href="/clients/new">Register a new client' in html


def test_the_empty_search_page_records_nothing(client: FlaskClient, signed_in: Any) -> None:
    me = signed_in(Role.WORKER)
    assert client.get("/clients/search").status_code == 200
    assert client.get("/clients/search?q=+++").status_code == 200
    assert audit_events("client.search", actor=me) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("31/02/1990", "31/02/1990 is not a real date. Write a date of birth as DD/MM/YYYY."),
        ("12345", "An NHS number has 10 digits, for example 943 476 5919."),
        ("x", "Enter at least 2 letters of the name, or add a date of birth."),
        ("x" * 5000, "Search for at most 100 characters."),
    ],
)
def test_an_unclear_search_is_shown_beside_the_box(
    client: FlaskClient, signed_in: Any, query: str, message: str
) -> None:
    me = signed_in(Role.WORKER)
    response = client.get("/clients/search", query_string={"q": query})
    assert response.status_code == 200
    assert error_messages(response) == [message]
    assert field_error(response, "q") == message
    (event,) = audit_events("client.search", actor=me)
    assert event.detail is not None
    assert event.detail["refused"] == message


@pytest.mark.parametrize(
    "query",
    ["<script>alert(1)</script>", "' OR '1'='1' --", "%%%%", "__", "{{7*7}}", "\u202e", "😀😀"],
)
def test_hostile_searches_are_harmless(client: FlaskClient, signed_in: Any, query: str) -> None:
    me = signed_in(Role.WORKER)
    make_case(me, name="Jamie Test")
    response = client.get("/clients/search", query_string={"q": query})
    assert response.status_code == 200
    assert "Jamie Test" not in table_html(response, "search-results")
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_a_nul_in_the_query_is_refused(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    assert client.get("/clients/search", query_string={"q": "a\x00b"}).status_code == 400


# The client page ---------------------------------------------------------------------


def test_the_client_page_lists_every_episode_and_links_only_the_visible_ones(
    client: FlaskClient, signed_in: Any, south: User
) -> None:
    me = signed_in(Role.WORKER)
    first = discharge(me, make_case(me, name="Robin Twice", referral_days_ago=60))
    again = add_referral(
        south,
        first.client,
        Referral(
            referral_date=today_in_london(),
            referral_source=first.referral_source,
            referrer_expectation="Counselling",
            presenting_problem="Panic disorder",
        ),
        today=today_in_london(),
    )
    db.session.commit()
    response = client.get(f"/clients/{first.client_id}")
    assert response.status_code == 200
    episodes = table_html(response, "episodes")
    assert episodes.index("Panic disorder") < episodes.index("Depression")  # newest first
    assert f'href="/episodes/{first.id}"' in episodes
    assert f"/episodes/{again.id}" not in episodes
    assert "Not open to you" in episodes
    assert "Waiting" in episodes
    assert "Discharged" in episodes
    html = page(response)
    assert "with South team (supervisor: Sue Southern)" in html
    assert "Add a new referral" not in html  # open elsewhere
    assert [e.client_id for e in audit_events("client.view", actor=me)] == [first.client_id]


def test_the_client_page_of_someone_elses_client_is_404_and_audited(
    client: FlaskClient, signed_in: Any, south: User
) -> None:
    me = signed_in(Role.WORKER)
    theirs = make_case(south, name="Not Mine")
    assert client.get(f"/clients/{theirs.client_id}").status_code == 404
    assert client.get("/clients/999999").status_code == 404
    denials = audit_events("access.denied", actor=me)
    assert [(e.object_type, e.object_id) for e in denials] == [
        ("client", str(theirs.client_id)),
        ("client", "999999"),
    ]


def test_a_discharged_client_page_offers_a_new_referral(
    client: FlaskClient, signed_in: Any
) -> None:
    me = signed_in(Role.WORKER)
    ended = discharge(me, make_case(me, name="Ended Client"))
    html = page(client.get(f"/clients/{ended.client_id}"))
    assert f'href="/clients/{ended.client_id}/referrals/new"' in html
    assert "No open episode" in html


# Re-referral -------------------------------------------------------------------------


def test_re_referring_a_discharged_client_opens_a_waiting_episode_for_the_worker(
    client: FlaskClient, signed_in: Any, south: User
) -> None:
    me = signed_in(Role.WORKER)
    ended = discharge(south, make_case(south, name="Back Again"))
    form = client.get(f"/clients/{ended.client_id}/referrals/new")
    assert form.status_code == 200
    assert "Back Again" in page(form)
    before = row_counts()
    response = client.post(
        f"/clients/{ended.client_id}/referrals/new", data=referral_post(token(client))
    )
    html = flash_after(client, response)
    assert f"Added a new referral for {reload(ended).client.service_ref}." in html
    assert "Back Again" in html  # the page names the client; the flash does not
    after = row_counts()
    assert after["episodes"] == before["episodes"] + 1
    assert after["clients"] == before["clients"]
    new = db.session.scalars(
        select(Episode).where(Episode.client_id == ended.client_id, Episode.id != ended.id)
    ).one()
    assert response.headers["Location"].endswith(f"/episodes/{new.id}")
    assert new.worker_id == me.id
    assert new.status is EpisodeStatus.WAITING
    assert new.presenting_problem == "Panic disorder"
    assert reload(ended).discharged_on is not None
    # The new holder now opens the client page, which lists both episodes.
    episodes = table_html(client.get(f"/clients/{ended.client_id}"), "episodes")
    assert f'href="/episodes/{new.id}"' in episodes
    assert "Not open to you" in episodes


def test_a_refused_re_referral_saves_nothing_and_says_why(
    client: FlaskClient, signed_in: Any
) -> None:
    me = signed_in(Role.WORKER)
    ended = discharge(me, make_case(me))
    before = row_counts()
    response = client.post(
        f"/clients/{ended.client_id}/referrals/new",
        data=referral_post(
            token(client),
            **{"referral_date-day": "", "referral_date-month": "", "referral_date-year": ""},
            presenting_problem="",
        ),
    )
    assert response.status_code == 200
    assert error_messages(response) == [
        "Enter referral date",
        "Choose the presenting problem.",
    ]
    future = today_in_london() + timedelta(days=3)
    response = client.post(
        f"/clients/{ended.client_id}/referrals/new",
        data=referral_post(
            token(client),
            **{
                "referral_date-day": str(future.day),
                "referral_date-month": str(future.month),
                "referral_date-year": str(future.year),
            },
        ),
    )
    assert response.status_code == 200
    assert field_error(response, "referral_date") == "The referral date cannot be in the future."
    assert row_counts() == before


def test_a_client_open_elsewhere_cannot_be_re_referred(
    client: FlaskClient, signed_in: Any, south: User
) -> None:
    signed_in(Role.WORKER)
    theirs = make_case(south, name="Open Elsewhere")
    form = client.get(f"/clients/{theirs.client_id}/referrals/new")
    assert form.status_code == 200
    html = page(form)
    assert "This client already has an open episode" in html
    assert "Ask the case holder's supervisor, Sue Southern (South team)." in html
    assert 'name="referral_source"' not in html  # no form to fill in
    before = row_counts()
    response = client.post(
        f"/clients/{theirs.client_id}/referrals/new", data=referral_post(token(client))
    )
    assert response.status_code == 200
    assert error_messages(response) == [
        "Open Elsewhere already has an open episode. A new referral can be added only after "
        "that episode is discharged."
    ]
    assert row_counts() == before


def test_the_referral_page_of_a_client_with_my_open_episode_links_to_it(
    client: FlaskClient, signed_in: Any
) -> None:
    me = signed_in(Role.WORKER)
    mine = make_case(me)
    html = page(client.get(f"/clients/{mine.client_id}/referrals/new"))
    assert f'href="/episodes/{mine.id}">Go to the open episode' in html


# My discharged clients ---------------------------------------------------------------


def test_my_discharged_clients_are_the_last_twelve_months_newest_first(
    client: FlaskClient, signed_in: Any, south: User
) -> None:
    me = signed_in(Role.WORKER)
    old = discharge(me, make_case(me, name="Long Gone", referral_days_ago=500), days_ago=400)
    earlier = discharge(me, make_case(me, name="Earlier End", referral_days_ago=90), days_ago=30)
    latest = discharge(me, make_case(me, name="Latest End"))
    make_case(me, name="Still Open")
    discharge(south, make_case(south, name="Their End"))
    add_referral(
        south,
        earlier.client,
        Referral(
            referral_date=today_in_london(),
            referral_source=earlier.referral_source,
            referrer_expectation="Counselling",
            presenting_problem="Depression",
        ),
        today=today_in_london(),
    )
    db.session.commit()
    response = client.get("/clients/discharged")
    assert response.status_code == 200
    rows = table_html(response, "discharged")
    assert rows.index("Latest End") < rows.index("Earlier End")
    for absent in ("Long Gone", "Still Open", "Their End"):
        assert absent not in rows
    assert f'href="/episodes/{latest.id}"' in rows
    assert f'href="/clients/{latest.client_id}/referrals/new"' in rows
    assert "Re-referred" in rows  # Earlier End is open again, with South team
    assert f'href="/clients/{earlier.client_id}/referrals/new"' not in rows
    (event,) = audit_events("discharged.view", actor=me)
    assert listed_in(event) == sorted([latest.client_id, earlier.client_id])
    assert old.client_id not in listed_in(event)


def test_a_discharged_episode_stays_open_for_corrections(
    client: FlaskClient, signed_in: Any
) -> None:
    me = signed_in(Role.WORKER)
    episode = make_case(me)
    held = add_contact(me, episode)
    discharge(me, episode)
    assert client.get(f"/episodes/{episode.id}").status_code == 200
    assert client.get(f"/contacts/{held.id}/correct").status_code == 200


def test_no_discharged_clients_says_so(client: FlaskClient, signed_in: Any) -> None:
    signed_in(Role.WORKER)
    assert "You have discharged no one since" in page(client.get("/clients/discharged"))


# Query budgets -----------------------------------------------------------------------


#: What every signed-in GET sends besides its page's own reads: BEGIN, the session and the
#: user, the settings revision (the session's idle limit is a setting, issue 10); then the
#: held audit event, written at the end (BEGIN IMMEDIATE, the audit chain's last link, the
#: event and the clients it names).
REQUEST_OVERHEAD = 8


def request_statements(client: FlaskClient, path: str) -> int:
    """How many SQL statements one request sends, the session check and audit included."""
    db.session.commit()
    with counting_statements() as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(statements)


def build(worker: User, other: User, prefix: str, clients: int) -> list[Episode]:
    """Clients of the worker and of another, half of them discharged, some re-referred."""
    episodes = []
    for number in range(clients):
        holder = worker if number % 2 else other
        episode = make_case(holder, name=f"{prefix} {number}", referral_days_ago=40)
        add_contact(holder, episode, at=utc_now() - timedelta(days=20))
        if number % 4 < 2:
            discharge(holder, episode, days_ago=number % 7)
            if number % 4 == 1:
                add_referral(
                    other,
                    episode.client,
                    Referral(
                        referral_date=today_in_london(),
                        referral_source=episode.referral_source,
                        referrer_expectation="Counselling",
                        presenting_problem="Depression",
                    ),
                    today=today_in_london(),
                )
                db.session.commit()
        episodes.append(episode)
    return episodes


def test_the_pages_read_a_fixed_number_of_statements(
    client: FlaskClient, signed_in: Any, south: User, user_factory: Any
) -> None:
    me = signed_in(Role.WORKER)
    small = build(me, south, "Smallset", 4)
    large = build(me, south, "Largeset", 16)
    mine_small = next(e for e in small if e.worker_id == me.id)
    mine_large = next(e for e in large if e.worker_id == me.id)
    pages = {
        "search": ("/clients/search?q=smallset", "/clients/search?q=largeset"),
        "client": (f"/clients/{mine_small.client_id}", f"/clients/{mine_large.client_id}"),
        "referral": (
            f"/clients/{mine_small.client_id}/referrals/new",
            f"/clients/{mine_large.client_id}/referrals/new",
        ),
    }
    # search: the matching clients, their open episodes, the asker's episodes of them;
    # client: the client, its episodes, its open episode's team; referral: the client, its
    # open episode's team, the asker's open episode of it, the asker's relationship.
    # The search is rate limited (caseload/services/ratelimit.py): BEGIN IMMEDIATE, the
    # count's upsert and the clean-up of older windows, on a connection of its own.
    budgets = {"search": 3 + 3, "client": 3, "referral": 4}
    counts = {
        name: (request_statements(client, a), request_statements(client, b))
        for name, (a, b) in pages.items()
    }
    for name, (few, many) in counts.items():
        assert few == many, (name, counts)
        assert few <= REQUEST_OVERHEAD + budgets[name], (name, counts)


def test_the_discharged_list_reads_a_fixed_number_of_statements(
    client: FlaskClient, signed_in: Any, south: User
) -> None:
    me = signed_in(Role.WORKER)
    build(me, south, "Smallset", 4)
    few = request_statements(client, "/clients/discharged")
    build(me, south, "Largeset", 16)
    many = request_statements(client, "/clients/discharged")
    assert few == many
    # the worker's discharged episodes with their clients, and which are open again
    assert few <= REQUEST_OVERHEAD + 2
