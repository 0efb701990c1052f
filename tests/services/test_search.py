"""Finding a client on a real database: the duplicate check, the search's scoping, limited
view and audit, the client page, re-referral and my discharged clients."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from caseload.domain.codes import DischargeReason, EpisodeStatus, ReferralSource, Role
from caseload.extensions import db
from caseload.models import AuditEvent, AuditEventClient, Client, Episode, User
from caseload.services import NotVisible, ServiceError
from caseload.services.clients import add_referral
from caseload.services.episodes import discharge
from caseload.services.search import (
    MIN_NAME_LETTERS,
    RESULT_LIMIT,
    SearchTerms,
    UnclearQuery,
    a_year_before,
    discharged_clients,
    get_client,
    likely_duplicates,
    names_are_similar,
    normalise_name,
    parse_query,
    referral_target,
    search_clients,
)
from tests.services.factories import (
    TODAY,
    VALID_NHS_NUMBER,
    audit_actions,
    client_details,
    referral,
    register,
    row_counts,
)
from tests.services.test_episodes import counting_statements

# People ------------------------------------------------------------------------------


@pytest.fixture
def south_worker(user_factory: Any) -> User:
    """A worker in the South team."""
    return user_factory(Role.WORKER, team="South team")


@pytest.fixture
def north_supervisor(user_factory: Any) -> User:
    """The North team's supervisor."""
    return user_factory(Role.SUPERVISOR, team="North team")


@pytest.fixture
def south_supervisor(user_factory: Any) -> User:
    """The South team's supervisor, with a name the limited view shows."""
    supervisor = user_factory(Role.SUPERVISOR, team="South team")
    supervisor.display_name = "Sue Southern"
    db.session.commit()
    return supervisor


def discharged(worker: User, episode: Episode, on: date = TODAY) -> Episode:
    """Discharge an episode (flushed)."""
    discharge(
        worker,
        episode,
        reason=DischargeReason.COMPLETED,
        discharged_on=on,
        note="",
        today=TODAY,
    )
    return episode


def search_events() -> list[AuditEvent]:
    """The client.search events, oldest first."""
    db.session.flush()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "client.search").order_by(AuditEvent.id)
        )
    )


def listed(event: AuditEvent) -> list[int]:
    """The clients an audit event names."""
    return sorted(
        db.session.scalars(
            select(AuditEventClient.client_id).where(AuditEventClient.audit_event_id == event.id)
        )
    )


# Names -------------------------------------------------------------------------------


def test_names_are_normalised_for_case_accents_spaces_and_punctuation() -> None:
    assert normalise_name("  Zoë   O'Neil-Smith ") == "zoe oneil smith"
    assert names_are_similar("ZOE ONEIL", "Zoë O'Neil")


def test_a_shared_surname_or_a_close_spelling_is_similar_but_a_different_name_is_not() -> None:
    assert names_are_similar("Sam Patel", "Samir Patel")
    assert names_are_similar("Jon Smyth", "John Smyth")
    assert names_are_similar("Catherine Jones", "Katherine Jonse")
    assert not names_are_similar("Alex Example", "Priya Shah")
    assert not names_are_similar("", "Priya Shah")


# The duplicate check -----------------------------------------------------------------


def test_same_nhs_number_is_a_duplicate_whatever_the_name(worker: User) -> None:
    episode = register(worker, details=client_details(nhs_number=VALID_NHS_NUMBER))
    found = likely_duplicates(
        worker, name="Somebody Else", date_of_birth=date(1970, 1, 1), nhs_number="943 476 5919"
    )
    assert [(c.client_id, c.matched_on) for c in found] == [(episode.client_id, "nhs_number")]
    assert found[0].may_open
    assert found[0].episode_open
    assert found[0].open_team == "North team"


def test_same_birthday_and_similar_name_is_a_duplicate(worker: User, south_worker: User) -> None:
    mine = register(worker, details=client_details(name="Zoë Brown"))
    theirs = register(south_worker, details=client_details(name="Zoe Browne"))
    register(worker, details=client_details(name="Priya Shah"))  # same birthday, other name
    register(worker, details=client_details(name="Zoe Brown", date_of_birth=date(1991, 4, 1)))
    found = likely_duplicates(
        worker, name="zoe  brown", date_of_birth=date(1990, 4, 1), nhs_number=""
    )
    assert {c.client_id: c.may_open for c in found} == {
        mine.client_id: True,
        theirs.client_id: False,
    }
    other = next(c for c in found if c.client_id == theirs.client_id)
    assert (other.open_team, other.episode_open) == ("South team", True)
    assert other.service_ref == theirs.client.service_ref


def test_a_discharged_duplicate_has_no_open_team_and_the_check_writes_no_audit(
    worker: User,
) -> None:
    episode = discharged(worker, register(worker))
    before = audit_actions()
    (found,) = likely_duplicates(
        worker, name="Alex Example", date_of_birth=date(1990, 4, 1), nhs_number=""
    )
    assert (found.client_id, found.episode_open, found.open_team) == (
        episode.client_id,
        False,
        None,
    )
    assert audit_actions() == before


def test_the_nhs_number_message_at_registration_names_no_one(
    worker: User, south_worker: User
) -> None:
    """It says only what a search by the number would: that the number is registered."""
    theirs = register(
        south_worker, details=client_details(name="Hidden Person", nhs_number=VALID_NHS_NUMBER)
    )
    with pytest.raises(ServiceError) as refused:
        register(worker, details=client_details(name="Someone", nhs_number=VALID_NHS_NUMBER))
    message = refused.value.field_errors["nhs_number"]
    assert "already registered" in message
    assert "Find a client" in message
    for secret in ("Hidden Person", theirs.client.service_ref, "South"):
        assert secret not in message


def test_no_candidates_without_a_match(worker: User) -> None:
    register(worker, details=client_details(nhs_number=VALID_NHS_NUMBER))
    assert (
        likely_duplicates(
            worker, name="Alex Example", date_of_birth=date(1990, 4, 2), nhs_number=""
        )
        == []
    )


# Reading a query ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("943 476 5919", SearchTerms(nhs_number="9434765919")),
        ("9434765919", SearchTerms(nhs_number="9434765919")),
        ("01/04/1990", SearchTerms(date_of_birth=date(1990, 4, 1))),
        ("1/4/1990", SearchTerms(date_of_birth=date(1990, 4, 1))),
        ("1990-04-01", SearchTerms(date_of_birth=date(1990, 4, 1))),
        ("c-7k3m9q", SearchTerms(service_ref="C-7K3M9Q")),
        ("C7K3M9Q", SearchTerms(service_ref="C-7K3M9Q")),
        ("Chapman", SearchTerms(name_words=("Chapman",))),
        ("smith 01/04/1990", SearchTerms(name_words=("smith",), date_of_birth=date(1990, 4, 1))),
        ("Li", SearchTerms(name_words=("Li",))),
    ],
)
def test_a_query_is_read_as_number_reference_date_and_name_words(
    query: str, terms: SearchTerms
) -> None:
    assert parse_query(query) == terms


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("943 476 591", "10 digits"),
        ("31/02/1990", "not a real date"),
        ("1990-13-01", "not a real date"),
        ("01/04/1990 02/04/1990", "one date of birth"),
        ("C-7K3M9Q C-7K3M9R", "one service reference"),
        ("a", f"at least {MIN_NAME_LETTERS} letters"),
        ("%", f"at least {MIN_NAME_LETTERS} letters"),
        ("x" * 101, "at most 100"),
    ],
)
def test_an_unclear_query_says_how_to_fix_it(query: str, message: str) -> None:
    with pytest.raises(UnclearQuery, match=message):
        parse_query(query)


# Searching ---------------------------------------------------------------------------


def test_a_worker_sees_their_own_clients_in_full_and_others_only_in_the_limited_view(
    worker: User, south_worker: User, south_supervisor: User
) -> None:
    mine = register(worker, details=client_details(name="Jamie Mine", nhs_number=VALID_NHS_NUMBER))
    theirs = register(
        south_worker, details=client_details(name="Jamie Theirs", nhs_number="4010232137")
    )
    found = search_clients(worker, "jamie")
    assert [r.client_id for r in found.results] == [mine.client_id, theirs.client_id]
    own, other = found.results
    assert own.may_open
    assert own.episode is not None
    assert own.episode.episode_id == mine.id
    assert own.nhs_number == VALID_NHS_NUMBER
    assert not other.may_open
    assert other.episode is None
    assert other.nhs_number is None  # the limited view: name, birthday, reference, open team
    assert (other.name, other.service_ref) == ("Jamie Theirs", theirs.client.service_ref)
    assert (other.episode_open, other.open_team, other.open_supervisor) == (
        True,
        "South team",
        "Sue Southern",
    )


def test_a_supervisor_sees_their_teams_clients_in_full(
    worker: User, south_worker: User, north_supervisor: User
) -> None:
    mine = register(worker, details=client_details(name="Jamie North"))
    register(south_worker, details=client_details(name="Jamie South"))
    found = search_clients(north_supervisor, "jamie")
    assert {r.name: r.may_open for r in found.results} == {
        "Jamie North": True,
        "Jamie South": False,
    }
    assert found.results[0].client_id == mine.client_id


def test_a_worker_who_held_an_earlier_episode_keeps_the_relationship(
    worker: User, south_worker: User, south_supervisor: User
) -> None:
    first = discharged(worker, register(worker, details=client_details(name="Robin Held")))
    again = add_referral(south_worker, first.client, referral(), today=TODAY)
    (result,) = search_clients(worker, "robin").results
    assert result.may_open
    assert result.episode is not None
    assert result.episode.episode_id == first.id  # their own (discharged) episode
    assert (result.episode_open, result.open_team) == (True, "South team")
    (theirs,) = search_clients(south_worker, "robin").results
    assert theirs.episode is not None
    assert theirs.episode.episode_id == again.id  # the open one first


def test_search_by_number_reference_and_birthday_and_words_in_any_order(
    worker: User, south_worker: User
) -> None:
    by_number = register(
        worker, details=client_details(name="Ann Number", nhs_number=VALID_NHS_NUMBER)
    )
    other = register(
        south_worker,
        details=client_details(name="Bea Birthday Smith", date_of_birth=date(1975, 12, 31)),
    )
    assert [r.client_id for r in search_clients(worker, "943 476 5919").results] == [
        by_number.client_id
    ]
    ref = other.client.service_ref
    assert [r.client_id for r in search_clients(worker, ref.lower()).results] == [other.client_id]
    assert [r.client_id for r in search_clients(worker, "31/12/1975").results] == [other.client_id]
    assert [r.client_id for r in search_clients(worker, "smith BEA").results] == [other.client_id]
    assert search_clients(worker, "smith 01/04/1990").results == ()
    assert search_clients(worker, "rthday").results[0].client_id == other.client_id


def test_wildcards_in_a_query_are_taken_literally(worker: User) -> None:
    register(worker, details=client_details(name="Jamie Test"))
    assert search_clients(worker, "ja%e").results == ()
    assert search_clients(worker, "ja_ie").results == ()


def test_results_are_limited_and_say_when_more_matched(worker: User, south_worker: User) -> None:
    for number in range(RESULT_LIMIT):
        register(south_worker, details=client_details(name=f"Pat Many {number:02}"))
    mine = register(worker, details=client_details(name="Pat Many Mine"))
    found = search_clients(worker, "many")
    assert found.more
    assert len(found.results) == RESULT_LIMIT
    assert found.results[0].client_id == mine.client_id  # the asker's own first
    (event,) = search_events()
    assert listed(event) == sorted(r.client_id for r in found.results)


def test_every_search_is_audited_with_its_terms_and_every_client_shown(
    worker: User, south_worker: User
) -> None:
    mine = register(worker, details=client_details(name="Jamie Mine"))
    theirs = register(south_worker, details=client_details(name="Jamie Theirs"))
    search_clients(worker, "  Jamie  ")
    search_clients(worker, "nobody")
    search_clients(worker, "31/02/1990")
    assert search_clients(worker, "   ").query == ""  # nothing asked: nothing recorded
    found, nothing, refused = search_events()
    assert found.actor_id == worker.id
    assert found.detail == {"terms": "Jamie", "results": 2, "more": False}
    assert listed(found) == sorted([mine.client_id, theirs.client_id])
    assert nothing.detail == {"terms": "nobody", "results": 0, "more": False}
    assert listed(nothing) == []
    assert refused.detail is not None
    assert refused.detail["terms"] == "31/02/1990"
    assert "not a real date" in refused.detail["refused"]


def test_search_reads_a_fixed_number_of_statements(
    worker: User, south_worker: User, south_supervisor: User
) -> None:
    def statements(prefix: str, clients: int) -> int:
        for number in range(clients):
            holder = worker if number % 2 else south_worker
            episode = register(holder, details=client_details(name=f"{prefix} {number}"))
            if number % 3 == 0:
                discharged(holder, episode)
        db.session.commit()
        db.session.expire_all()
        assert worker.role is Role.WORKER  # loaded before counting
        with counting_statements() as seen:
            found = search_clients(worker, prefix)
        assert len(found.results) == clients
        db.session.commit()
        return len(seen)

    small, large = statements("Smallset", 3), statements("Largeset", 12)
    assert small == large
    # BEGIN, the matching clients, their open episodes, the asker's episodes of them (the
    # audit event is written with the request's commit)
    assert small <= 4


# The client page ---------------------------------------------------------------------


def test_the_client_page_lists_every_episode_newest_first(worker: User, south_worker: User) -> None:
    first = discharged(worker, register(worker, referral_date=TODAY - timedelta(days=60)))
    second = add_referral(south_worker, first.client, referral(), today=TODAY)
    record = get_client(worker, first.client_id)
    assert [e.episode_id for e in record.episodes] == [second.id, first.id]
    assert [e.may_open for e in record.episodes] == [False, True]
    assert [e.status for e in record.episodes] == [
        EpisodeStatus.WAITING,
        EpisodeStatus.DISCHARGED,
    ]
    assert record.open_episode is not None
    assert record.open_episode.episode_id == second.id
    assert record.open_team == "South team"
    assert audit_actions(action="client.view", client_id=first.client_id) == ["client.view"]


def test_the_client_page_is_open_to_the_team_supervisor_only(
    worker: User, south_worker: User, north_supervisor: User, south_supervisor: User
) -> None:
    episode = register(worker)
    assert get_client(north_supervisor, episode.client_id).client.id == episode.client_id
    for outsider in (south_worker, south_supervisor):
        with pytest.raises(NotVisible):
            get_client(outsider, episode.client_id)
    db.session.commit()
    denials = audit_actions(action="access.denied", object_type="client")
    assert denials == ["access.denied", "access.denied"]


def test_an_unknown_client_is_not_visible(worker: User) -> None:
    with pytest.raises(NotVisible):
        get_client(worker, 999_999)
    with pytest.raises(NotVisible):
        referral_target(worker, 999_999)


# Re-referral -------------------------------------------------------------------------


def test_a_re_referral_keeps_the_history_and_starts_waiting(
    worker: User, south_worker: User
) -> None:
    first = register(worker, details=client_details(phone="01632 960001"))
    discharged(worker, first)
    client = first.client
    details_before = (client.name, client.date_of_birth, client.phone, client.service_ref)
    counts = row_counts()
    new = add_referral(
        south_worker,
        client,
        referral(referral_source=ReferralSource.SELF, presenting_problem="Panic disorder"),
        today=TODAY,
    )
    db.session.commit()
    db.session.expire_all()
    assert row_counts()["clients"] == counts["clients"]
    assert row_counts()["episodes"] == counts["episodes"] + 1
    client = db.session.get(Client, first.client_id)
    assert client is not None
    assert (client.name, client.date_of_birth, client.phone, client.service_ref) == details_before
    assert {e.id for e in client.episodes} == {new.id, first.id}
    assert new.worker_id == south_worker.id
    assert new.status is EpisodeStatus.WAITING
    assert new.summary is not None
    assert new.referral_source is ReferralSource.SELF
    old = db.session.get(Episode, first.id)
    assert old is not None
    assert old.discharged_on == TODAY
    assert audit_actions(action="episode.create", client_id=client.id) == ["episode.create"]
    # The new holder now has a relationship with the client.
    assert get_client(south_worker, client.id).client.id == client.id


def test_a_client_with_an_open_episode_cannot_be_re_referred(
    worker: User, south_worker: User
) -> None:
    episode = register(worker, details=client_details(name="Open Client"))
    db.session.commit()
    before = row_counts()
    with pytest.raises(ServiceError, match="already has an open episode"):
        add_referral(south_worker, episode.client, referral(), today=TODAY)
    db.session.rollback()
    assert row_counts() == before
    target = referral_target(south_worker, episode.client_id)
    assert (target.episode_open, target.open_team, target.open_episode_id) == (
        True,
        "North team",
        None,
    )
    assert not target.may_open
    assert referral_target(worker, episode.client_id).open_episode_id == episode.id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"referral_date": TODAY + timedelta(days=1)}, "referral_date"),
        ({"referral_date": date(1980, 1, 1)}, "referral_date"),  # before the date of birth
        ({"presenting_problem": " "}, "presenting_problem"),
        ({"step": 4}, "step"),
    ],
)
def test_a_re_referral_is_checked_like_a_first_referral(
    worker: User, overrides: dict[str, Any], field: str
) -> None:
    episode = discharged(worker, register(worker))
    db.session.commit()
    with pytest.raises(ServiceError) as caught:
        add_referral(worker, episode.client, referral(**overrides), today=TODAY)
    assert field in caught.value.field_errors


# My discharged clients ---------------------------------------------------------------


def test_discharged_clients_are_the_last_twelve_months_newest_first(
    worker: User, south_worker: User
) -> None:
    long_ago = TODAY - timedelta(days=500)

    def ended(name: str, on: date) -> Episode:
        episode = register(worker, details=client_details(name=name), referral_date=long_ago)
        return discharged(worker, episode, on)

    edge = ended("Year Edge", a_year_before(TODAY))
    ended("Too Old", a_year_before(TODAY) - timedelta(days=1))
    recent = ended("Recent", TODAY - timedelta(days=3))
    today = ended("Today", TODAY)
    register(worker, details=client_details(name="Still Open"))
    theirs = register(south_worker, details=client_details(name="Not Mine"))
    discharged(south_worker, theirs)
    add_referral(south_worker, recent.client, referral(), today=TODAY)

    rows = discharged_clients(worker, worker=worker, today=TODAY)
    assert [r.episode.id for r in rows] == [today.id, recent.id, edge.id]
    assert [(r.open_again, r.open_team) for r in rows] == [
        (False, None),
        (True, "South team"),
        (False, None),
    ]
    assert audit_actions(action="discharged.view") == ["discharged.view"]


def test_discharged_clients_of_another_worker_are_refused(worker: User, south_worker: User) -> None:
    with pytest.raises(NotVisible):
        discharged_clients(worker, worker=south_worker, today=TODAY)


def test_a_year_before_a_leap_day_is_the_28th_of_february() -> None:
    assert a_year_before(date(2024, 2, 29)) == date(2023, 2, 28)
    assert a_year_before(date(2025, 6, 2)) == date(2024, 6, 2)
