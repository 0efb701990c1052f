"""Letters to the GP: templates as data in a sandbox, drafts filled from the record,
saving as a new entry that never changes, and who may write and read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from caseload.domain.codes import Role
from caseload.extensions import db
from caseload.models import AuditEvent, Letter, User
from caseload.services import NotVisible, ServiceError
from caseload.services import letters as letter_service
from caseload.services.letters import (
    LetterTemplate,
    draft_letter,
    episode_letters,
    get_letter,
    letter_templates,
    load_letter_templates,
    render_letter,
    save_letter,
)
from tests.services.factories import TODAY, audit_actions, register
from tests.services.records import full_record, nhs_number

HOSTILE = "<script>alert('x')</script> & \"Kim\" O'Neil {{ 7*7 }}"


@pytest.fixture
def supervisor(user_factory: Any) -> User:
    """The North team's supervisor."""
    return user_factory(Role.SUPERVISOR, team="North team")


def _template(tmp_path: Path, text: str) -> LetterTemplate:
    (tmp_path / "index.json").write_text(
        json.dumps({"letters": [{"key": "test", "title": "Test", "file": "t.txt"}]})
    )
    (tmp_path / "t.txt").write_text(text)
    (template,) = load_letter_templates(tmp_path)
    return template


# The templates ------------------------------------------------------------------------


def test_the_shipped_templates_are_the_assessment_and_discharge_letters() -> None:
    templates = {t.key: t for t in letter_templates()}
    assert set(templates) == {"assessment", "discharge"}
    assert not templates["assessment"].needs_discharge
    assert templates["discharge"].needs_discharge


def test_templates_render_in_a_sandbox_that_refuses_python_internals(tmp_path: Path) -> None:
    template = _template(tmp_path, "{{ name.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(SecurityError):
        render_letter(template, {"name": "x"})


def test_values_are_autoescaped_as_they_render_and_kept_as_the_text_they_read_as(
    tmp_path: Path,
) -> None:
    template = _template(tmp_path, "Dear {{ name }}")
    compiled = letter_service._compiled(template.text)  # noqa: SLF001 (the sandbox itself)
    assert compiled.environment.autoescape is True
    assert compiled.render(name="<b>") == "Dear &lt;b&gt;"
    assert render_letter(template, {"name": HOSTILE}) == f"Dear {HOSTILE}\n"


def test_a_template_naming_a_value_that_does_not_exist_fails_loudly(tmp_path: Path) -> None:
    template = _template(tmp_path, "{{ client.nickname }}")
    with pytest.raises(UndefinedError):
        render_letter(template, {"client": {}})


def test_a_template_with_a_syntax_error_is_refused_when_loaded(tmp_path: Path) -> None:
    with pytest.raises(TemplateSyntaxError):
        _template(tmp_path, "{% if %}")


# Drafts -----------------------------------------------------------------------------------


def test_the_assessment_letter_is_filled_from_the_record(worker: User, supervisor: User) -> None:
    number = nhs_number(41)
    record = full_record(worker, nhs=number, supervisor=supervisor, item9_at_end=1)
    draft = draft_letter(worker, record.episode, "assessment", today=TODAY)
    text = draft.text
    for expected in (
        "Morgan Example",
        "9 Mar 1984",
        f"{number[:3]} {number[3:6]} {number[6:]}",
        record.episode.client.service_ref,
        "Riverside Medical Centre (B82005)",
        "depression",
        "PHQ-9: 18 (moderately severe)",
        "GAD-7: 15 (severe)",
        "WSAS: 22 (severe functional impairment)",
        "risk was rated low",
        record.risk_action,
        "On 14 May 2025 the answer to PHQ-9 item 9 (thoughts of being better off dead or of "
        "self-harm) was 1 (several days).",
        "we have agreed a safety plan",
        "(Guided self-help based on CBT (book or workbook); Behavioural activation)",
        "this is not counselling",
        worker.display_name,
        "2 Jun 2025",
    ):
        assert expected in text, expected
    assert "{{" not in text
    assert "{%" not in text


def test_the_discharge_letter_waits_for_the_discharge(worker: User) -> None:
    record = full_record(worker)
    with pytest.raises(ServiceError, match="once the episode is discharged"):
        draft_letter(worker, record.episode, "discharge", today=TODAY)
    with pytest.raises(ServiceError, match="once the episode is discharged"):
        save_letter(worker, record.episode, key="discharge", body="Dear Doctor")


def test_the_discharge_letter_gives_scores_outcome_risk_and_advice(worker: User) -> None:
    record = full_record(worker, discharged=True, item9_at_end=1)
    assert record.risk_plan
    text = draft_letter(worker, record.episode, "discharge", today=TODAY).text
    for expected in (
        "discharged from the service on 1 Jun 2025: completed treatment",
        "attended 3 appointments, 3 of them treatment sessions, and missed 1",
        "PHQ-9: 18 (moderately severe) at the start, 7 (mild) at the end",
        "GAD-7: 15 (severe) at the start, 6 (mild) at the end",
        "WSAS: 22 (severe functional impairment) at the start, 12",
        "Outcome: Reliable recovery.",
        "risk was rated low",
        "has recovered by the national definition",
        "Risk plan agreed at discharge: " + record.risk_plan,
        "NHS 111",
    ):
        assert expected in text, expected


def test_a_letter_for_a_client_with_nothing_recorded_yet_still_drafts(worker: User) -> None:
    episode = register(worker)
    db.session.commit()
    text = draft_letter(worker, episode, "assessment", today=TODAY).text
    assert "We have not yet been able to complete an assessment." in text
    assert "no risk assessment is recorded yet" in text
    assert "the client's GP practice" not in text  # the factory's client has a practice


def test_hostile_text_in_the_record_reads_as_written_in_the_draft(worker: User) -> None:
    record = full_record(worker, name=HOSTILE, risk_action=HOSTILE)
    text = draft_letter(worker, record.episode, "assessment", today=TODAY).text
    assert text.count(HOSTILE) >= 3
    assert "&lt;" not in text
    assert "&amp;" not in text


def test_an_unknown_letter_is_refused(worker: User) -> None:
    record = full_record(worker)
    with pytest.raises(ServiceError, match="no such letter"):
        draft_letter(worker, record.episode, "solicitor", today=TODAY)


# Saving -----------------------------------------------------------------------------------


def test_a_saved_letter_is_a_new_entry_on_the_episode_and_is_audited(worker: User) -> None:
    record = full_record(worker)
    letter = save_letter(
        worker, record.episode, key="assessment", body="  Dear Doctor,\r\n\r\nEdited.\r\n"
    )
    db.session.commit()
    assert letter.body == "Dear Doctor,\n\nEdited."
    assert letter.title == "Assessment letter to the GP"
    assert letter.template == "assessment"
    assert letter.created_by_id == worker.id
    event = db.session.scalars(select_events("letter.save")).one()
    assert event.client_id == record.episode.client_id
    assert event.object_id == str(letter.id)
    assert event.detail == {
        "episode": record.episode.id,
        "template": "assessment",
        "characters": len("Dear Doctor,\n\nEdited."),
    }


def select_events(action: str) -> Any:
    return sa.select(AuditEvent).where(AuditEvent.action == action)


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "Write the letter"), (" \n\t ", "Write the letter"), ("x" * 20_001, "20,000")],
)
def test_an_empty_or_overlong_letter_is_refused(worker: User, body: str, message: str) -> None:
    record = full_record(worker)
    with pytest.raises(ServiceError, match=message) as refused:
        save_letter(worker, record.episode, key="assessment", body=body)
    assert set(refused.value.field_errors) == {"body"}
    assert db.session.scalar(sa.select(sa.func.count(Letter.id))) == 0


def test_only_the_worker_who_holds_the_episode_writes_its_letters(
    worker: User, supervisor: User, user_factory: Any
) -> None:
    record = full_record(worker)
    colleague = user_factory(Role.WORKER, team="North team")
    for someone in (supervisor, colleague):
        with pytest.raises(NotVisible):
            save_letter(someone, record.episode, key="assessment", body="Dear Doctor")
    db.session.commit()
    assert audit_actions(action="access.denied").count("access.denied") == 2
    assert db.session.scalar(sa.select(sa.func.count(Letter.id))) == 0


def test_a_saved_letter_is_never_changed_by_the_application(worker: User) -> None:
    record = full_record(worker)
    letter = save_letter(worker, record.episode, key="assessment", body="As sent.")
    db.session.commit()
    letter.body = "Rewritten later."
    with pytest.raises(PermissionError, match="never changed"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(Letter, letter.id))
    with pytest.raises(PermissionError, match="never changed"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Letter, letter.id).body == "As sent."


@pytest.mark.parametrize(
    "statement", ["UPDATE letters SET body = 'Rewritten'", "DELETE FROM letters"]
)
def test_the_database_refuses_to_change_a_saved_letter(worker: User, statement: str) -> None:
    record = full_record(worker)
    save_letter(worker, record.episode, key="assessment", body="As sent.")
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="a saved letter is never changed"):
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert db.session.scalars(sa.select(Letter.body)).all() == ["As sent."]


# Reading --------------------------------------------------------------------------------


def test_the_worker_and_their_supervisor_open_a_letter_to_print_it(
    worker: User, supervisor: User, user_factory: Any
) -> None:
    record = full_record(worker)
    first = save_letter(worker, record.episode, key="assessment", body="First.")
    second = save_letter(worker, record.episode, key="assessment", body="Second.")
    db.session.commit()
    assert [x.id for x in episode_letters(worker, record.episode)] == [second.id, first.id]
    assert [x.id for x in episode_letters(supervisor, record.episode)] == [second.id, first.id]
    for reader in (worker, supervisor):
        assert get_letter(reader, first.id).body == "First."
    db.session.commit()
    printed = db.session.scalars(select_events("letter.print")).all()
    assert [(e.actor_id, e.client_id) for e in printed] == [
        (worker.id, record.episode.client_id),
        (supervisor.id, record.episode.client_id),
    ]
    outsider = user_factory(Role.SUPERVISOR, team="South team")
    stranger = user_factory(Role.WORKER, team="South team")
    for someone in (outsider, stranger):
        assert episode_letters(someone, record.episode) == []
        with pytest.raises(NotVisible):
            get_letter(someone, first.id)
    db.session.commit()
    assert audit_actions(action="access.denied") == ["access.denied"] * 2
