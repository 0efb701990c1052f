"""The safety rules of issue 8 through the test client: the contact form with an unfinished
PHQ-9 and an unanswered item 9, the discharge page with open risk and with a booking that
blocks it, the chart table's missed appointments, and the pages' query budgets."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from caseload.domain.codes import AttendanceCode, NotCollectedReason, RiskLevel, Role
from caseload.extensions import db
from caseload.models import Contact, ContactScore, Episode
from tests.services.test_episodes import counting_statements
from tests.web.helpers import (
    GAD7_MILD,
    add_contact,
    checked_value,
    contact_data,
    error_messages,
    field_error,
    flash_after,
    input_value,
    make_case,
    page,
    reload,
    row_counts,
    table_html,
    textarea_value,
    token,
    utc_now,
)

#: PHQ-9 with items 1-8 answered and item 9 left blank.
NO_ITEM_9 = (1, 1, 1, 1, 1, 1, 1, 1)
#: PHQ-9 answered apart from item 8 (item 9 answered 0).
NO_ITEM_8 = (1, 1, 1, 1, 1, 1, 1, "", 0)


@pytest.fixture
def worker(signed_in: Any) -> Any:
    return signed_in(Role.WORKER)


@pytest.fixture
def episode(worker: Any) -> Episode:
    return make_case(worker, name="Sasha Safety", referral_days_ago=20)


def contact_url(episode: Episode) -> str:
    return f"/episodes/{episode.id}/contacts/new"


def post_contact(client: FlaskClient, episode: Episode, **overrides: Any) -> Any:
    data = contact_data(token(client), **overrides)
    return client.post(contact_url(episode), data={k: v for k, v in data.items() if v != ""})


def saved_scores(episode: Episode) -> list[ContactScore]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(ContactScore).join(Contact).where(Contact.episode_id == episode.id)
        )
    )


def has_hidden(html: str, marker: str) -> bool:
    """Whether the first element carrying ``marker`` (an attribute) is rendered hidden."""
    match = re.search(rf"<[^>]*\s{re.escape(marker)}(?=[\s>])[^>]*>", html)
    assert match, marker
    return " hidden" in match.group(0)


# The contact form -----------------------------------------------------------------------


def test_the_reason_fields_wait_until_a_questionnaire_is_unfinished(
    client: FlaskClient, episode: Episode
) -> None:
    html = page(client.get(contact_url(episode)))
    assert 'name="phq9_incomplete_reason"' in html
    assert 'name="gad7_incomplete_reason"' in html
    # Hidden until needed: the script shows them live, the server after a refusal.
    assert has_hidden(html, "data-incomplete")
    assert has_hidden(html, "data-risk-missing")
    options = re.findall(
        r'<option value="(\w*)"',
        html.split('name="phq9_incomplete_reason"')[1].split("</select>")[0],
    )
    assert options == ["", "declined", "no_time", "other"]


def test_item_9_unanswered_is_named_at_the_top_and_nothing_is_saved(
    client: FlaskClient, episode: Episode
) -> None:
    before = row_counts()
    response = post_contact(client, episode, phq9=NO_ITEM_9)
    assert response.status_code == 200
    assert row_counts() == before
    messages = error_messages(response)
    assert messages[0].startswith("PHQ-9 item 9 (\u201cThoughts that you would be better off dead")
    assert (
        "Ask it, or say why the PHQ-9 was not finished and record a risk assessment."
        in (messages[0])
    )
    assert "The PHQ-9 has 8 of 9 items answered" in messages[1]
    html = response.get_data(as_text=True)
    # The summary links to the item, which is on the page with its own message.
    summary = re.search(r'nhsuk-error-summary__list">(.*?)</ul>', html, re.S)
    assert summary
    first_link = re.search(r'href="#([^"]+)"', summary.group(1))
    assert first_link
    assert first_link.group(1) == "phq9-9"
    assert 'id="phq9-9"' in html
    assert field_error(response, "phq9-9").startswith("PHQ-9 item 9")
    # The reason block and the risk section are shown and marked.
    assert not has_hidden(html, "data-incomplete")
    assert not has_hidden(html, "data-risk-missing")
    risk = re.search(r'<div id="risk-assessment"[^>]*class="([^"]+)"', html)
    assert risk
    assert "app-risk--required" in risk.group(1)
    assert "PHQ-9 item 9 is not answered: ask it" in page(response)


def test_item_9_unanswered_saves_with_a_reason_and_a_risk_assessment(
    client: FlaskClient, episode: Episode
) -> None:
    response = post_contact(
        client,
        episode,
        phq9=NO_ITEM_9,
        phq9_incomplete_reason="declined",
        risk_level="low",
        risk_factors="Denied thoughts of self-harm when asked in conversation.",
    )
    assert "Contact saved." in flash_after(client, response)
    phq = next(s for s in saved_scores(episode) if s.measure_id == "phq9")
    assert (phq.total, phq.not_collected_reason) == (None, NotCollectedReason.DECLINED)
    # The episode page now flags the unfinished questionnaire.
    html = page(client.get(f"/episodes/{episode.id}"))
    assert "1 questionnaire was started and left unfinished, so it has no total." in html
    assert "Its risk question (PHQ-9 item 9) was not answered." in html


def test_a_reason_without_a_risk_assessment_is_still_refused(
    client: FlaskClient, episode: Episode
) -> None:
    response = post_contact(client, episode, phq9=NO_ITEM_9, phq9_incomplete_reason="no_time")
    assert response.status_code == 200
    assert error_messages(response) == [
        "PHQ-9 item 9 (\u201cThoughts that you would be better off dead or of hurting yourself "
        "in some way\u201d) was not answered. Ask it, or record a risk assessment below."
    ]
    assert checked_value(response, "phq9-1") == "1"  # the input is kept
    assert saved_scores(episode) == []


def test_an_unfinished_gad7_needs_its_own_reason(client: FlaskClient, episode: Episode) -> None:
    response = post_contact(client, episode, gad7=GAD7_MILD[:6])
    assert response.status_code == 200
    assert field_error(response, "gad7_incomplete_reason").startswith(
        "The GAD-7 has 6 of 7 items answered"
    )
    assert "gad7-7" not in " ".join(error_messages(response))  # GAD-7 has no risk item


def test_other_asks_for_words_and_keeps_them(client: FlaskClient, episode: Episode) -> None:
    response = post_contact(client, episode, phq9=NO_ITEM_8, phq9_incomplete_reason="other")
    assert response.status_code == 200
    assert field_error(response, "phq9_incomplete_note") == (
        "Say in a few words why the PHQ-9 was not finished."
    )
    assert not has_hidden(response.get_data(as_text=True), "data-incomplete-note")
    response = post_contact(
        client,
        episode,
        phq9=NO_ITEM_8,
        phq9_incomplete_reason="other",
        phq9_incomplete_note="Call dropped.",
    )
    assert response.status_code == 302
    phq = next(s for s in saved_scores(episode) if s.measure_id == "phq9")
    assert (phq.not_collected_reason, phq.not_collected_note) == (
        NotCollectedReason.OTHER,
        "Call dropped.",
    )


def test_a_long_reason_note_is_refused_by_the_form(client: FlaskClient, episode: Episode) -> None:
    response = post_contact(
        client,
        episode,
        phq9=NO_ITEM_8,
        phq9_incomplete_reason="other",
        phq9_incomplete_note="x" * 201,
    )
    assert response.status_code == 200
    assert field_error(response, "phq9_incomplete_note")
    assert saved_scores(episode) == []


def test_nothing_collected_for_another_reason(client: FlaskClient, episode: Episode) -> None:
    response = post_contact(
        client,
        episode,
        phq9=None,
        gad7=None,
        measures_not_collected="y",
        not_collected_reason="other",
    )
    assert response.status_code == 200
    assert field_error(response, "not_collected_note") == (
        "Say in a few words why the questionnaires were not collected."
    )
    response = post_contact(
        client,
        episode,
        phq9=None,
        gad7=None,
        measures_not_collected="y",
        not_collected_reason="other",
        not_collected_note="Client in crisis; risk assessed instead.",
        risk_level="moderate",
        risk_action="Crisis line given; supervisor told.",
    )
    assert response.status_code == 302
    assert {(s.not_collected_reason, s.not_collected_note) for s in saved_scores(episode)} == {
        (NotCollectedReason.OTHER, "Client in crisis; risk assessed instead.")
    }


def test_the_correction_form_brings_back_the_reasons(
    client: FlaskClient, worker: Any, episode: Episode
) -> None:
    response = post_contact(
        client,
        episode,
        phq9=NO_ITEM_8,
        gad7=None,
        phq9_incomplete_reason="other",
        phq9_incomplete_note="Call dropped.",
        measures_not_collected="y",
        not_collected_reason="no_time",
    )
    assert response.status_code == 302
    db.session.commit()
    contact = db.session.scalars(select(Contact).where(Contact.episode_id == episode.id)).one()
    form = client.get(f"/contacts/{contact.id}/correct")
    assert re.search(r'<option selected value="other">|<option value="other" selected>', page(form))
    assert input_value(form, "phq9_incomplete_note") == "Call dropped."
    assert not has_hidden(form.get_data(as_text=True), "data-incomplete")
    not_collected = page(form).split('name="not_collected_reason"')[1].split("</select>")[0]
    assert re.search(r'selected value="no_time"|value="no_time" selected', not_collected)


# The discharge page -----------------------------------------------------------------------


def at_risk_case(worker: Any) -> Episode:
    """Two treatment contacts; at the latest, PHQ-9 item 9 was answered 2."""
    episode = make_case(worker, name="Robin Risk", referral_days_ago=40)
    add_contact(worker, episode, at=utc_now() - timedelta(days=20))
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=2),
        phq9=(2, 2, 1, 1, 1, 1, 1, 1, 2),
        risk_level=RiskLevel.MODERATE,
        risk_action="Safety plan agreed.",
    )
    return episode


def discharge_data(csrf: str, episode: Episode, **overrides: Any) -> dict[str, Any]:
    data = {
        "csrf_token": csrf,
        "reason": "completed",
        "discharged_on": (utc_now().date()).isoformat(),
        "note": "Goals met.",
        "version": str(episode.version),
    }
    data.update(overrides)
    return data


def test_open_risk_is_shown_with_a_plan_and_a_confirmation(
    client: FlaskClient, worker: Any
) -> None:
    episode = at_risk_case(worker)
    html = page(client.get(f"/episodes/{episode.id}/discharge"))
    callout = html.split('id="open-risk"')[1].split("</div>")[0]
    assert "Risk is open" in callout
    assert "PHQ-9 item 9 scored 2" in callout
    assert "not yet reviewed in supervision" in callout
    assert 'name="risk_plan"' in html
    assert 'name="risk_confirmed"' in html


def test_discharge_with_open_risk_is_refused_without_both(client: FlaskClient, worker: Any) -> None:
    episode = at_risk_case(worker)
    response = client.post(
        f"/episodes/{episode.id}/discharge", data=discharge_data(token(client), episode)
    )
    assert response.status_code == 200
    assert field_error(response, "risk_confirmed").startswith("Confirm that you have checked")
    assert field_error(response, "risk_plan").startswith("Write the risk plan")
    assert reload(episode).discharged_on is None
    # The input is kept.
    assert checked_value(response, "reason") == "completed"


def test_discharge_with_open_risk_keeps_the_plan(client: FlaskClient, worker: Any) -> None:
    episode = at_risk_case(worker)
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data=discharge_data(
            token(client),
            episode,
            risk_confirmed="y",
            risk_plan="Safety plan reviewed; GP letter sent; can self-refer.",
        ),
    )
    html = flash_after(client, response)
    assert "has been discharged" in html
    assert "Risk plan at discharge" in html
    assert "Safety plan reviewed; GP letter sent; can self-refer." in html
    assert reload(episode).discharge_risk_plan.startswith("Safety plan reviewed")


def test_no_risk_fields_without_open_risk(client: FlaskClient, worker: Any) -> None:
    episode = make_case(worker, name="Casey Calm", referral_days_ago=10)
    add_contact(worker, episode, at=utc_now() - timedelta(days=2))
    html = page(client.get(f"/episodes/{episode.id}/discharge"))
    assert 'id="open-risk"' not in html
    assert 'name="risk_plan"' not in html
    response = client.post(
        f"/episodes/{episode.id}/discharge", data=discharge_data(token(client), reload(episode))
    )
    assert response.status_code == 302


def test_a_blocking_booking_is_named_at_the_top_with_its_links(
    client: FlaskClient, worker: Any
) -> None:
    episode = make_case(worker, name="Blake Booked", referral_days_ago=10)
    add_contact(worker, episode, at=utc_now() - timedelta(days=2))
    booking = add_contact(
        worker, episode, at=utc_now() + timedelta(days=3), attendance=AttendanceCode.BOOKED
    )
    html = page(client.get(f"/episodes/{episode.id}/discharge"))
    callout = html.split('id="booked-contacts"')[1].split("</div>")[0]
    assert "A booked contact needs an outcome first" in callout
    assert "treatment, telephone" in callout
    assert f'href="/contacts/{booking.id}/outcome"' in callout
    assert f'href="/contacts/{booking.id}/entered-in-error"' in callout
    # The callout comes before the form.
    assert html.index('id="booked-contacts"') < html.index('<form method="post"')

    response = client.post(
        f"/episodes/{episode.id}/discharge", data=discharge_data(token(client), reload(episode))
    )
    assert response.status_code == 200
    [message] = error_messages(response)
    assert message.startswith("The booked contact (treatment, telephone, ")
    assert "record what happened, or mark it as entered in error" in message
    assert field_error(response, "reason") == ""
    assert reload(episode).discharged_on is None


# The chart ------------------------------------------------------------------------------


def test_missed_appointments_are_off_the_score_axes_and_in_the_table(
    client: FlaskClient, worker: Any
) -> None:
    episode = make_case(worker, name="Morgan Missed", referral_days_ago=40)
    add_contact(worker, episode, at=utc_now() - timedelta(days=30))
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=23),
        attendance=AttendanceCode.DID_NOT_ATTEND,
    )
    add_contact(
        worker,
        episode,
        at=utc_now() - timedelta(days=16),
        attendance=AttendanceCode.CANCELLED_BY_PATIENT,
    )
    add_contact(worker, episode, at=utc_now() - timedelta(days=2))
    response = client.get(f"/episodes/{episode.id}")
    html = response.get_data(as_text=True)
    figure = json.loads(page(response).split('data-figure="')[1].split('" role="img"')[0])
    missed = {t["name"]: t for t in figure["data"] if t["yaxis"] == "y3"}
    assert set(missed) == {"Did not attend", "Cancelled"}
    assert all(y < 0 for t in missed.values() for y in t["y"])
    assert figure["layout"]["xaxis3"]["type"] == "date"
    table = table_html(response, "scores-table")
    assert "What happened" in table
    assert "Did not attend (a missed appointment: red cross on the chart)" in table
    assert "Cancelled by patient (a cancellation: open triangle on the chart)" in table
    assert table.count("No score") == 4
    assert "1 did not attend and 1 was cancelled" in table
    assert "never as a score" in html


# Query budgets ----------------------------------------------------------------------------


def statements_for(client: FlaskClient, url: str) -> int:
    db.session.commit()
    with counting_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def grown(worker: Any, contacts: int, *, name: str) -> Episode:
    """An at-risk case with ``contacts`` more attended contacts, a DNA and a booking."""
    episode = at_risk_case(worker)
    episode.client.name = name
    for number in range(contacts):
        add_contact(worker, episode, at=utc_now() - timedelta(days=19, hours=number))
    add_contact(
        worker, episode, at=utc_now() - timedelta(days=5), attendance=AttendanceCode.DID_NOT_ATTEND
    )
    add_contact(worker, episode, at=utc_now() + timedelta(days=2), attendance=AttendanceCode.BOOKED)
    return episode


#: Statements per page, whatever the number of contacts: the session and user, the settings
#: revision (issue 10), the episode with its client, summary and complexity, its contacts
#: and their scores, its supervision reviews (issue 9), cached curves, the audit chain's
#: last link and the audit event; the discharge page adds the bookings and the curves for
#: its risk check.
@pytest.mark.parametrize(("page_of", "budget"), [("", 15), ("/discharge", 17)])
def test_page_queries_do_not_grow_with_the_contacts(
    client: FlaskClient, worker: Any, page_of: str, budget: int
) -> None:
    small = grown(worker, 1, name="Small Case")
    large = grown(worker, 8, name="Large Case")
    client.get(f"/episodes/{small.id}")  # warm up: the missing curves are built after it
    counts = [statements_for(client, f"/episodes/{e.id}{page_of}") for e in (small, large)]
    assert counts[0] == counts[1]
    assert counts[0] <= budget


def test_the_discharge_note_fields_keep_their_input_on_refusal(
    client: FlaskClient, worker: Any
) -> None:
    episode = at_risk_case(worker)
    response = client.post(
        f"/episodes/{episode.id}/discharge",
        data=discharge_data(token(client), episode, risk_plan="GP informed."),
    )
    assert response.status_code == 200
    assert textarea_value(response, "risk_plan") == "GP informed."
    assert field_error(response, "risk_plan") == ""
