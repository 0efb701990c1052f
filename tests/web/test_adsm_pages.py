"""Anxiety disorder specific measures and interventions on the worker's pages.

The contact form offers the PCL-5 on a PTSD episode and never on a depression one; the
score it saves is the episode's anxiety measure once it has a first and a last; the
intervention choices come from seed_data/interventions.json.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from caseload.domain.codes import AttendanceCode, ContactMode, ContactType, Role
from caseload.domain.interventions import all_interventions
from caseload.extensions import db
from caseload.models import Contact, ContactScore, Episode
from caseload.services import ServiceError
from caseload.services import contacts as contact_service
from tests.web.helpers import (
    GAD7_MILD,
    PHQ9_MILD,
    checked_value,
    contact_data,
    field_error,
    flash_after,
    make_case,
    page,
    token,
    utc_now,
)

PTSD = "Post-traumatic stress disorder"
PCL5_HEADING = "PTSD Checklist for DSM-5 (PCL-5)"


@pytest.fixture
def worker(signed_in: Any) -> Any:
    return signed_in(Role.WORKER)


@pytest.fixture
def ptsd(worker: Any) -> Episode:
    return make_case(worker, name="Pat Trauma", presenting_problem=PTSD)


@pytest.fixture
def depression(worker: Any) -> Episode:
    return make_case(worker, name="Dee Low", presenting_problem="Depression")


def pcl5_fields(answers: list[int]) -> dict[str, str]:
    return {f"pcl5-{n}": str(a) for n, a in enumerate(answers, start=1)}


def scores_of(episode: Episode, measure_id: str) -> list[ContactScore]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(ContactScore)
            .join(Contact)
            .where(Contact.episode_id == episode.id, ContactScore.measure_id == measure_id)
        )
    )


def log_with_pcl5(worker: Any, episode: Episode, *, days_ago: int, pcl5: list[int]) -> Contact:
    contact = contact_service.log_contact(
        worker,
        episode,
        contact_service.ContactInput(
            occurred_at=utc_now() - timedelta(days=days_ago),
            contact_type=ContactType.TREATMENT,
            mode=ContactMode.TELEPHONE,
            attendance=AttendanceCode.ATTENDED_ON_TIME,
            answers={"phq9": list(PHQ9_MILD), "gad7": list(GAD7_MILD), "pcl5": pcl5},
        ),
    )
    db.session.commit()
    return contact


def test_contact_form_offers_the_pcl5_on_a_ptsd_episode(client: FlaskClient, ptsd: Episode) -> None:
    response = client.get(f"/episodes/{ptsd.id}/contacts/new")
    assert response.status_code == 200
    html = page(response)
    assert PCL5_HEADING in html
    assert 'name="pcl5-20"' in html
    assert "Being \u201csuperalert\u201d or watchful or on guard?" in html
    assert "In the public domain" in html
    # The phobia scales are asked of everyone, the PCL-5 sits before them.
    assert html.index(PCL5_HEADING) < html.index("IAPT phobia scale: social phobia")


def test_contact_form_never_offers_the_pcl5_on_a_depression_episode(
    client: FlaskClient, depression: Episode
) -> None:
    html = page(client.get(f"/episodes/{depression.id}/contacts/new"))
    assert "PHQ-9" in html
    assert "IAPT phobia scale: specific phobia" in html
    assert PCL5_HEADING not in html
    assert 'name="pcl5-1"' not in html


def test_a_pcl5_saves_with_its_total(client: FlaskClient, ptsd: Episode) -> None:
    answers = [2] * 20  # 40
    response = client.post(
        f"/episodes/{ptsd.id}/contacts/new",
        data=contact_data(token(client), **pcl5_fields(answers)),
    )
    assert "PCL-5 40." in flash_after(client, response)
    [saved] = scores_of(ptsd, "pcl5")
    assert saved.total == 40
    assert saved.complete
    assert saved.answers == answers


def test_pcl5_answers_posted_to_a_depression_episode_are_ignored(
    client: FlaskClient, depression: Episode
) -> None:
    response = client.post(
        f"/episodes/{depression.id}/contacts/new",
        data=contact_data(token(client), **pcl5_fields([4] * 20)),
    )
    assert response.status_code == 302
    assert scores_of(depression, "pcl5") == []
    assert len(scores_of(depression, "phq9")) == 1


def test_an_out_of_range_pcl5_answer_is_refused(client: FlaskClient, ptsd: Episode) -> None:
    data = contact_data(token(client), **pcl5_fields([1] * 20))
    data["pcl5-3"] = "5"
    response = client.post(f"/episodes/{ptsd.id}/contacts/new", data=data)
    assert response.status_code == 200
    assert field_error(response, "pcl5-3")
    assert scores_of(ptsd, "pcl5") == []


def test_the_outcome_uses_the_pcl5_once_it_has_a_first_and_a_last(
    client: FlaskClient, worker: Any, ptsd: Episode
) -> None:
    log_with_pcl5(worker, ptsd, days_ago=14, pcl5=[3] * 20)  # 60
    html = page(client.get(f"/episodes/{ptsd.id}/discharge"))
    assert 'id="anxiety-measure"' not in html  # only a first PCL-5 so far: GAD-7
    log_with_pcl5(worker, ptsd, days_ago=2, pcl5=[1] * 20)  # 20
    html = page(client.get(f"/episodes/{ptsd.id}/discharge"))
    assert 'id="anxiety-measure"' in html
    assert "PCL-5 first and last" in html
    assert "instead of GAD-7" in html


def test_correcting_a_contact_keeps_its_pcl5(
    client: FlaskClient, worker: Any, ptsd: Episode
) -> None:
    contact = log_with_pcl5(worker, ptsd, days_ago=3, pcl5=[2] * 20)
    response = client.get(f"/contacts/{contact.id}/correct")
    assert response.status_code == 200
    assert checked_value(response, "pcl5-20") == "2"


def test_intervention_choices_come_from_the_data_file(
    client: FlaskClient, depression: Episode
) -> None:
    html = page(client.get(f"/episodes/{depression.id}/contacts/new"))
    for intervention in all_interventions():
        assert f'value="{intervention.code}"' in html
        assert intervention.label in html


@pytest.mark.parametrize("code", ["computerised_cbt", "structured_physical_activity", "other"])
def test_an_intervention_code_is_saved(client: FlaskClient, depression: Episode, code: str) -> None:
    response = client.post(
        f"/episodes/{depression.id}/contacts/new",
        data=contact_data(token(client), intervention=code),
    )
    assert response.status_code == 302
    db.session.commit()
    saved = db.session.scalars(select(Contact).where(Contact.episode_id == depression.id)).one()
    assert saved.intervention == code


def test_the_service_refuses_an_unknown_intervention(worker: Any, depression: Episode) -> None:
    data = contact_service.ContactInput(
        occurred_at=utc_now() - timedelta(days=1),
        contact_type=ContactType.TREATMENT,
        mode=ContactMode.TELEPHONE,
        attendance=AttendanceCode.ATTENDED_ON_TIME,
        intervention="hypnosis",
        answers={"phq9": list(PHQ9_MILD), "gad7": list(GAD7_MILD)},
    )
    with pytest.raises(ServiceError) as refused:
        contact_service.log_contact(worker, depression, data)
    assert refused.value.field_errors == {"intervention": "Choose the intervention from the list."}
    db.session.rollback()
