"""Letters to the GP from an episode: drafted from a template, edited, saved, never changed.

The templates are data (``seed_data/letters``): Jinja text rendered in Jinja's
sandboxed environment, with autoescaping, from plain values only (strings, numbers,
lists and dicts built by :func:`letter_values`, never a model object), so a template
cannot reach the application or the database, and whatever a record holds (a name
such as ``<script>``) is escaped as it is put in. The draft is then kept as the plain
text it reads as, which the worker edits in a text box; every page that shows a
letter escapes it again, so no record, template or edit can add markup to a page.

A saved letter is a new entry on the episode and is never changed (the model and the
database refuse it); the worker who holds the episode writes it, the worker and
their supervisor read it. Saving is audited as ``letter.save``, opening a saved
letter (to print it) as ``letter.print``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from caseload.config import ROOT
from caseload.domain.dates import format_date, local_date
from caseload.domain.registration import format_nhs_number
from caseload.extensions import db
from caseload.models import Episode, Letter, User
from caseload.policy import can_change_episode, visible_episodes
from caseload.services import NotVisible, ServiceError
from caseload.services.audit import record_event, record_event_now
from caseload.services.client_summary import EpisodeRecord, episode_record
from caseload.services.settings import service_settings

LETTERS_DIR = ROOT / "seed_data" / "letters"

#: The longest letter kept (a long letter is two pages; this is ten times that).
MAX_LETTER_LENGTH = 20_000

#: How a risk item is named in a letter (the measure's item in plain words).
RISK_ITEM_WORDING = "{measure} item {number} (thoughts of being better off dead or of self-harm)"


@dataclass(frozen=True)
class LetterTemplate:
    """One kind of letter: its key, title, when it can be written and its template text."""

    key: str
    title: str
    description: str
    needs_discharge: bool
    text: str

    @property
    def lowercase_title(self) -> str:
        """The title inside a sentence ("the discharge letter to the GP")."""
        return self.title[:1].lower() + self.title[1:]

    def available_for(self, episode: Episode) -> bool:
        """Whether the episode is at a stage this letter is for (a discharge letter once
        the episode is discharged)."""
        return not self.needs_discharge or not episode.is_open


@dataclass(frozen=True)
class LetterDraft:
    """A letter drafted from a template, for the worker to edit before saving."""

    template: LetterTemplate
    text: str


# The templates -------------------------------------------------------------------------


def _environment() -> SandboxedEnvironment:
    """The sandbox letters render in: autoescaping on, unknown names an error."""
    return SandboxedEnvironment(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def load_letter_templates(directory: Path = LETTERS_DIR) -> tuple[LetterTemplate, ...]:
    """Read and check the letter templates in a directory (``index.json`` lists them)."""
    index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    templates = []
    for entry in index["letters"]:
        key = str(entry["key"])
        if not key.isidentifier() or len(key) > 40:
            raise ValueError(f"letter template key {key!r} must be a short identifier")
        text = (directory / str(entry["file"])).read_text(encoding="utf-8")
        _environment().parse(text)  # a syntax error fails here, not in front of a worker
        templates.append(
            LetterTemplate(
                key=key,
                title=str(entry["title"]),
                description=str(entry.get("description", "")),
                needs_discharge=bool(entry.get("needs_discharge", False)),
                text=text,
            )
        )
    if len({t.key for t in templates}) != len(templates):
        raise ValueError("letter template keys must be unique")
    return tuple(templates)


@cache
def letter_templates() -> tuple[LetterTemplate, ...]:
    """The shipped letter templates, in the order they are offered (cached)."""
    return load_letter_templates()


def get_template(key: str) -> LetterTemplate:
    """The template with this key; KeyError when there is none."""
    for template in letter_templates():
        if template.key == key:
            return template
    raise KeyError(key)


@cache
def _compiled(text: str) -> Template:
    return _environment().from_string(text)


def render_letter(template: LetterTemplate, values: dict[str, Any]) -> str:
    """The template filled from plain values in the sandbox (autoescaped as it renders),
    as the plain text the letter reads as."""
    rendered = _compiled(template.text).render(values)
    return html.unescape(rendered).strip() + "\n"


# What a template can use -----------------------------------------------------------------


def _day(value: date | None) -> str | None:
    return None if value is None else format_date(value)


def letter_values(record: EpisodeRecord, *, today: date, writer: User) -> dict[str, Any]:
    """The plain values a letter template reads (documented in docs/exports.md)."""
    episode, client = record.episode, record.client
    first = {s.measure_id: s for s in (episode.summary.measures if episode.summary else [])}
    scores = []
    for measure in record.measures:
        found = first.get(measure.id)
        if found is None or found.first_score is None:
            continue
        last = found.last_score
        first_band = measure.find_band(found.first_score)
        last_band = measure.find_band(last) if last is not None else None
        scores.append(
            {
                "measure": measure.short_name,
                "first": found.first_score,
                "first_band": first_band.label if first_band else None,
                "last": last,
                "last_band": last_band.label if last_band else None,
            }
        )
    first_row = record.score_rows[0] if record.score_rows else None
    assessment_scores = []
    if first_row is not None:
        for measure in record.measures:
            cell = first_row.cells.get(measure.id)
            if cell is not None and cell.total is not None:
                assessment_scores.append(
                    {"measure": measure.short_name, "score": cell.total, "band": cell.band}
                )
    rated, signal = record.latest_risk, record.risk_signal
    return {
        "today": format_date(today),
        "service": {"name": service_settings().service_name},
        "worker": {"name": writer.display_name},
        "client": {
            "name": client.name,
            "service_ref": client.service_ref,
            "date_of_birth": format_date(client.date_of_birth),
            "nhs_number": format_nhs_number(client.nhs_number) if client.nhs_number else None,
            "gp_practice": client.gp_practice,
            "gp_practice_code": client.gp_practice_code,
        },
        "episode": {
            "referral_date": format_date(episode.referral_date),
            "referral_source": episode.referral_source.label,
            "presenting_problem": episode.presenting_problem,
            "step": episode.step,
            "discharged_on": _day(episode.discharged_on),
            "discharge_reason": episode.discharge_reason.label
            if episode.discharge_reason
            else None,
        },
        "assessment": {"on": _day(record.first_attended_on), "scores": assessment_scores},
        "scores": scores,
        "offered": list(record.interventions),
        "contacts": {
            "attended": record.attended,
            "treatment": record.treatment,
            "missed": record.missed,
        },
        "outcome": {
            "finished": record.outcome.finished_treatment,
            "label": record.outcome.category.label,
            "recovered": record.outcome.recovered,
            "reliable_improvement": record.outcome.reliable_improvement,
            "reliable_deterioration": record.outcome.reliable_deterioration,
            "reliable_recovery": record.outcome.reliable_recovery,
        },
        "risk": {
            "level": rated.risk_level.label if rated and rated.risk_level else None,
            "on": _day(local_date(rated.occurred_at)) if rated else None,
            "factors": rated.risk_factors if rated else "",
            "action": rated.risk_action if rated else "",
            "item9": signal.answer if signal else None,
            "item9_on": _day(local_date(signal.at)) if signal else None,
            "item9_label": signal.answer_label if signal else None,
            "item9_question": RISK_ITEM_WORDING.format(
                measure=signal.measure.short_name, number=signal.measure.risk_item
            )
            if signal
            else None,
            "signal": bool(signal and signal.is_signal),
            "plan": episode.discharge_risk_plan,
        },
    }


# Use cases -----------------------------------------------------------------------------


def _template_for(episode: Episode, key: str) -> LetterTemplate:
    try:
        template = get_template(key)
    except KeyError:
        raise ServiceError("There is no such letter.") from None
    if not template.available_for(episode):
        raise ServiceError(
            f"The {template.lowercase_title} can be written once the episode is discharged."
        )
    return template


def draft_letter(asker: User, episode: Episode, key: str, *, today: date) -> LetterDraft:
    """A letter drafted from the episode's record, for the worker who holds the episode to
    edit (the caller loaded the episode through ``get_episode``, which audits the read)."""
    template = _template_for(episode, key)
    record = episode_record(asker, episode, today=today)
    return LetterDraft(
        template, render_letter(template, letter_values(record, today=today, writer=asker))
    )


def save_letter(asker: User, episode: Episode, *, key: str, body: str) -> Letter:
    """Save the worker's letter as a new entry on their episode (never changed later)."""
    if not can_change_episode(asker, episode):
        record_event_now("access.denied", actor=asker, object_type="episode", object_id=episode.id)
        raise NotVisible(episode.id)
    template = _template_for(episode, key)
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ServiceError(
            "Write the letter before saving it.",
            field_errors={"body": "Write the letter before saving it."},
        )
    if len(text) > MAX_LETTER_LENGTH:
        message = f"The letter must be {MAX_LETTER_LENGTH:,} characters or fewer."
        raise ServiceError(message, field_errors={"body": message})
    letter = Letter(
        episode=episode, template=template.key, title=template.title, body=text, created_by=asker
    )
    db.session.add(letter)
    db.session.flush()
    record_event(
        "letter.save",
        actor=asker,
        object_type="letter",
        object_id=letter.id,
        client_id=episode.client_id,
        detail={"episode": episode.id, "template": template.key, "characters": len(text)},
    )
    return letter


def episode_letters(asker: User, episode: Episode) -> list[Letter]:
    """The letters saved on an episode the asker may see, newest first (none otherwise)."""
    return list(
        db.session.scalars(
            select(Letter)
            .join(Episode, Episode.id == Letter.episode_id)
            .options(joinedload(Letter.created_by))
            .where(Letter.episode_id == episode.id, visible_episodes(asker))
            .order_by(Letter.created_at.desc(), Letter.id.desc())
        )
    )


def get_letter(asker: User, letter_id: int) -> Letter:
    """A saved letter of an episode the asker may see, opened to print (``letter.print``);
    else an audited denial (NotVisible)."""
    letter = db.session.scalar(
        select(Letter)
        .join(Episode, Episode.id == Letter.episode_id)
        .options(
            joinedload(Letter.created_by),
            joinedload(Letter.episode).joinedload(Episode.client),
        )
        .where(Letter.id == letter_id, visible_episodes(asker))
    )
    if letter is None:
        record_event_now("access.denied", actor=asker, object_type="letter", object_id=letter_id)
        raise NotVisible(letter_id)
    record_event(
        "letter.print",
        actor=asker,
        object_type="letter",
        object_id=letter.id,
        client_id=letter.episode.client_id,
        detail={"episode": letter.episode_id, "template": letter.template},
    )
    return letter
