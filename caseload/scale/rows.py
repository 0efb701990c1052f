"""One planned episode as table rows: its client, consent, episode, contacts, scores,
summary rows and the audit events of its contacts.

Pure apart from reading the measure definitions: every row is a plain dict for a Core
insert. Questionnaires are scored by the real scoring (``caseload.domain.scoring``), each
contact is read by the contacts service's own ``contact_facts``, and the summary row and
its measure rows come from the same pure summary (``summarise_episode``) and reporting
columns (``_store_reporting_columns``) that ``refresh_summary`` uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any, cast

from caseload.demo.draws import weighted
from caseload.demo.records import PlannedContact, PlannedEpisode
from caseload.demo.tables import REVIEW_DECISIONS
from caseload.demo.text import demo_text
from caseload.domain.codes import AttendanceCode, ConsentState, EntryStatus, NotCollectedReason
from caseload.domain.dates import LONDON, local_date
from caseload.domain.episodes import is_unfinished, summarise_episode
from caseload.domain.flags import FlagKind
from caseload.domain.measures import every_contact_measures, get_measure
from caseload.domain.registration import normalise_gp_practice_code, normalise_postcode
from caseload.domain.scoring import Score, risk_answer, score
from caseload.models import Contact, Episode, EpisodeSummary
from caseload.services.clients import normalise_nhs_number
from caseload.services.contacts import ContactInput
from caseload.services.episodes import (
    SUMMARY_FIELDS,
    _store_reporting_columns,
    contact_facts,
)

#: Crockford's base32 without I, L, O, U: the alphabet of service references.
REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: Flags a routine review discusses when the case has no open risk.
ROUTINE_KINDS = (
    FlagKind.NOT_ON_TRACK,
    FlagKind.DISENGAGING,
    FlagKind.COMPLEXITY,
    FlagKind.LONG_TREATMENT,
    FlagKind.REVIEW_OVERDUE,
)

#: The reporting columns ``_store_reporting_columns`` sets on a summary row.
REPORTING_FIELDS = (
    "is_active",
    "finished_treatment",
    "caseness_at_start",
    "paired",
    "recovered",
    "reliably_improved",
    "reliably_deteriorated",
    "reliably_recovered",
    "risk_open",
    "first_treatment_on",
    "second_treatment_on",
    "days_to_first_treatment",
    "second_treatment_gap_days",
)


@dataclass
class Counters:
    """The next id of every table the load writes, so rows can refer to each other
    before they are inserted (and PostgreSQL's sequences are moved on afterwards)."""

    client: int = 1
    consent: int = 1
    episode: int = 1
    contact: int = 1
    score: int = 1
    review: int = 1
    note: int = 1


@dataclass
class Batch:
    """The rows of a batch of episodes, by table name, in insert order."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: The audit events of the batch's contacts, before they are put in the chain.
    events: list[tuple[dict[str, Any], list[int]]] = field(default_factory=list)
    episodes: int = 0
    contacts: int = 0

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Add one row of ``table``."""
        self.rows.setdefault(table, []).append(row)


@dataclass(frozen=True)
class Staff:
    """Who a planned episode's worker index stands for: user id, username, supervisor."""

    user_id: int
    username: str
    supervisor_id: int


class _ScoreView:
    """A score row as ``contact_facts`` reads it."""

    __slots__ = ("answers", "measure_id", "not_collected_reason", "risk_answer", "total")

    def __init__(self, row: dict[str, Any]) -> None:
        self.measure_id = row["measure_id"]
        self.total = row["total"]
        self.risk_answer = row["risk_answer"]
        self.answers = row["answers"]
        self.not_collected_reason = row["not_collected_reason"]


class _ContactView:
    """A contact row and its score rows as ``contact_facts`` reads them."""

    __slots__ = ("attendance", "contact_type", "id", "occurred_at", "risk_level", "scores")

    def __init__(self, row: dict[str, Any], scores: list[dict[str, Any]]) -> None:
        self.id = row["id"]
        self.occurred_at = row["occurred_at"]
        self.contact_type = row["contact_type"]
        self.attendance = row["attendance"]
        self.risk_level = row["risk_level"]
        self.scores = [_ScoreView(s) for s in scores]

    @property
    def not_collected_reason(self) -> NotCollectedReason | None:
        """As ``Contact.not_collected_reason``: the first score row's reason."""
        return next((s.not_collected_reason for s in self.scores if s.not_collected_reason), None)


def service_ref(rng: random.Random, taken: set[str]) -> str:
    """A fresh client reference such as ``C-7K3M9Q``, drawn from ``rng``."""
    while True:
        ref = "C-" + "".join(rng.choice(REF_ALPHABET) for _ in range(6))
        if ref not in taken:
            taken.add(ref)
            return ref


def score_rows(data: ContactInput, contact_id: int, counters: Counters) -> list[dict[str, Any]]:
    """The contact's questionnaire rows, as the contacts service saves them: one per
    questionnaire asked (scored by ``caseload.domain.scoring``), and at an attended contact
    with a reason, one per every-contact measure not collected."""
    scores: dict[str, Score] = {
        measure_id: score(get_measure(measure_id), answers)
        for measure_id, answers in data.answers.items()
        if answers is not None and not all(a is None for a in answers)
    }
    rows = []
    for measure_id, result in sorted(scores.items()):
        reason = (
            data.incomplete_reasons.get(result.measure_id)
            if data.incomplete_reasons and is_unfinished(result.answers)
            else None
        )
        rows.append(
            {
                "contact_id": contact_id,
                "measure_id": measure_id,
                "answers": [
                    a if isinstance(a, int) or a is None else "n/a" for a in result.answers
                ],
                "total": result.total,
                "complete": result.complete,
                "risk_answer": risk_answer(get_measure(measure_id), result.answers),
                "difficulty": data.difficulty.get(measure_id),
                "not_collected_reason": reason,
                "not_collected_note": _reason_note(
                    reason, data.incomplete_notes.get(measure_id, "")
                ),
            }
        )
    if data.attendance.attended and data.not_collected_reason is not None:
        rows += [
            {
                "contact_id": contact_id,
                "measure_id": m,
                "answers": None,
                "total": None,
                "complete": False,
                "risk_answer": None,
                "difficulty": None,
                "not_collected_reason": data.not_collected_reason,
                "not_collected_note": _reason_note(
                    data.not_collected_reason, data.not_collected_note
                ),
            }
            for m in every_contact_measures()
            if m not in scores
        ]
    for row in rows:
        row["id"] = counters.score
        counters.score += 1
    return rows


def _reason_note(reason: NotCollectedReason | None, note: str) -> str | None:
    """The note kept with a reason: the worker's words for "other", nothing otherwise."""
    if reason is None or not reason.needs_note:
        return None
    return note.strip() or None


def _optional(text: str) -> str | None:
    return text.strip() or None


def _morning(day: date) -> datetime:
    """Nine in the morning, UK time, on ``day``, as aware UTC."""
    return datetime.combine(day, time(9, 0), tzinfo=LONDON).astimezone(UTC)


def _written_at(planned: PlannedContact, now: datetime) -> datetime:
    """When the contact was saved: a booking some days before it, a held contact an hour
    after it (never after ``now``)."""
    if planned.attendance is AttendanceCode.BOOKED:
        booked = planned.booked_at or planned.at - timedelta(days=14)
        return min(booked, now - timedelta(hours=1))
    return min(planned.at + timedelta(hours=1), now)


class RowBuilder:
    """Turns planned episodes into rows, keeping the id counters and the unique draws."""

    def __init__(self, *, rng: random.Random, now: datetime, staff: list[Staff]) -> None:
        self.rng = rng
        self.now = now
        self.today = local_date(now)
        self.staff = staff
        self.counters = Counters()
        self.refs: set[str] = set()

    def episode(self, batch: Batch, plan: PlannedEpisode) -> dict[str, Any]:
        """Add the rows of one planned episode to ``batch``; returns its summary row."""
        text = demo_text()
        counters = self.counters
        who = self.staff[plan.worker]
        details, demographics, referral = plan.details, plan.demographics, plan.referral
        created = _morning(referral.referral_date)
        client_id, episode_id = counters.client, counters.episode
        counters.client += 1
        counters.episode += 1
        state = plan.consent_first
        consents = [(state, plan.consent_note, referral.referral_date, created)]
        if plan.consent_change is not None:
            first_seen = next((c.at for c in plan.contacts if c.attendance.attended), None)
            changed_at = first_seen or created + timedelta(days=7)
            if changed_at < self.now:
                consents.append((*plan.consent_change, local_date(changed_at), changed_at))
                state = plan.consent_change[0]
        batch.add(
            "clients",
            {
                "id": client_id,
                "service_ref": service_ref(self.rng, self.refs),
                "name": details.name.strip(),
                "date_of_birth": details.date_of_birth,
                "nhs_number": normalise_nhs_number(details.nhs_number) or None,
                "phone": _optional(details.phone),
                "may_leave_message": details.may_leave_message,
                "sms_allowed": details.sms_allowed,
                "gp_practice": _optional(details.gp_practice),
                "gp_practice_code": normalise_gp_practice_code(details.gp_practice_code),
                "postcode": normalise_postcode(details.postcode),
                "gender_identity": demographics.gender_identity,
                "ethnic_category": demographics.ethnic_category,
                "employment_status": demographics.employment_status,
                "long_term_condition": demographics.long_term_condition,
                "disability": demographics.disability,
                "sexual_orientation": demographics.sexual_orientation,
                "preferred_language": _optional(demographics.preferred_language),
                "interpreter_needed": demographics.interpreter_needed,
                "emergency_contact_name": _optional(details.emergency_contact_name),
                "emergency_contact_relationship": _optional(details.emergency_contact_relationship),
                "emergency_contact_phone": _optional(details.emergency_contact_phone),
                "consent_state": state,
                "consent_central_reporting": ConsentState(state).reportable,
                "created_at": created,
                "created_by_id": who.user_id,
                "entered_in_error_reason": "",
                "version": 1,
            },
        )
        for consent_state, note, answered_on, recorded_at in consents:
            batch.add(
                "consent_records",
                {
                    "id": counters.consent,
                    "client_id": client_id,
                    "consent_state": consent_state,
                    "consented": ConsentState(consent_state).reportable,
                    "answered_on": answered_on,
                    "recorded_at": recorded_at,
                    "recorded_by_id": who.user_id,
                    "note": note.strip(),
                },
            )
            counters.consent += 1
        discharge = plan.discharge
        episode_row = {
            "id": episode_id,
            "client_id": client_id,
            "worker_id": who.user_id,
            "referral_date": referral.referral_date,
            "referral_source": referral.referral_source,
            "referrer_expectation": referral.referrer_expectation.strip(),
            "presenting_problem": referral.presenting_problem.strip(),
            "step": referral.step,
            "complexity_note": referral.complexity_note.strip(),
            "discharged_on": None if discharge is None else discharge[0],
            "discharge_reason": None if discharge is None else discharge[1],
            "discharge_note": "" if discharge is None else text.discharge_notes[discharge[1]],
            "discharge_risk_plan": "",
            "created_at": created,
            "entered_in_error_reason": "",
            "version": 1,
        }
        batch.add("episodes", episode_row)
        for factor in sorted(referral.complexity_factors):
            batch.add("episode_complexity_factors", {"episode_id": episode_id, "factor": factor})
        views = []
        for planned in plan.contacts:
            contact_id = counters.contact
            counters.contact += 1
            data = planned.as_input()
            written = _written_at(planned, self.now)
            row = {
                "id": contact_id,
                "episode_id": episode_id,
                "occurred_at": data.occurred_at,
                "contact_type": data.contact_type,
                "mode": data.mode,
                "attendance": data.attendance,
                "duration_minutes": data.duration_minutes,
                "intervention": data.intervention,
                "note": data.note.strip(),
                "risk_level": data.risk_level,
                "risk_factors": data.risk_factors.strip(),
                "risk_action": data.risk_action.strip(),
                "status": EntryStatus.CURRENT,
                "supersedes_id": None,
                "status_reason": "",
                "status_changed_at": None,
                "created_at": written,
                "created_by_id": who.user_id,
                "version": 1,
            }
            scores = score_rows(data, contact_id, counters)
            batch.add("contacts", row)
            for score_row in scores:
                batch.add("contact_scores", score_row)
            views.append(_ContactView(row, scores))
            batch.events.append(
                (
                    {
                        "at": written,
                        "action": "contact.book"
                        if data.attendance is AttendanceCode.BOOKED
                        else "contact.create",
                        "actor_id": who.user_id,
                        "actor_username": who.username,
                        "object_type": "contact",
                        "object_id": str(contact_id),
                        "client_id": client_id,
                        "ip": None,
                        "request_id": None,
                        "detail": None,
                    },
                    [client_id],
                )
            )
        batch.episodes += 1
        batch.contacts += len(views)
        summary = self.summary(batch, views, episode_row)
        if discharge is not None and summary["risk_open"]:
            episode_row["discharge_risk_plan"] = text.risk_discharge_plan
        return summary

    def summary(
        self, batch: Batch, views: list[_ContactView], episode_row: dict[str, Any]
    ) -> dict[str, Any]:
        """The episode's summary row and measure rows, as ``refresh_summary`` writes them."""
        facts = summarise_episode(contact_facts(cast(Contact, view)) for view in views)
        episode_id = episode_row["id"]
        row: dict[str, Any] = {"episode_id": episode_id}
        for name in SUMMARY_FIELDS:
            row[name] = getattr(facts, name)
        booked = [v.occurred_at for v in views if v.attendance is AttendanceCode.BOOKED]
        row["earliest_booked_at"] = min(booked) if booked else None
        row["booked_contacts"] = len(booked)
        row["contacts_with_outcome"] = len(views) - len(booked)
        row["dna_contacts"] = sum(1 for v in views if v.attendance.is_dna)
        columns = SimpleNamespace()
        episode = SimpleNamespace(
            is_open=episode_row["discharged_on"] is None,
            presenting_problem=episode_row["presenting_problem"],
            referral_date=episode_row["referral_date"],
        )
        _store_reporting_columns(cast(EpisodeSummary, columns), cast(Episode, episode), facts)
        for name in REPORTING_FIELDS:
            row[name] = getattr(columns, name)
        row["last_review_on"] = None
        row["updated_at"] = self.now
        batch.add("episode_summaries", row)
        for series in facts.measures:
            batch.add(
                "episode_measure_summaries",
                {
                    "episode_id": episode_id,
                    "measure_id": series.measure_id,
                    "first_score": series.first,
                    "first_contact_id": series.first_contact_id,
                    "first_at": series.first_at,
                    "last_score": series.last,
                    "last_contact_id": series.last_contact_id,
                    "latest_score": series.latest,
                    "latest_at": series.latest_at,
                    "totals": list(series.totals),
                },
            )
        return row

    def review(
        self, batch: Batch, summary: dict[str, Any], episode_row: dict[str, Any], worker: int
    ) -> None:
        """A supervisor's review of a case in treatment, on a day between its first treatment
        contact and its discharge (or a week ago), kept as the summary's last review."""
        rng = self.rng
        start = summary["first_treatment_on"]
        end = episode_row["discharged_on"] or self.today - timedelta(days=7)
        if start is None or end <= start:
            return
        text = demo_text()
        day = start + timedelta(days=rng.randint(0, (end - start).days))
        kind = FlagKind.RISK if summary["risk_open"] else rng.choice(ROUTINE_KINDS)
        decision = weighted(rng, REVIEW_DECISIONS[kind])
        batch.add(
            "supervision_reviews",
            {
                "id": self.counters.review,
                "episode_id": episode_row["id"],
                "supervisor_id": self.staff[worker].supervisor_id,
                "session_id": None,
                "reviewed_on": day,
                "reason": rng.choice(text.review_reasons[kind]),
                "decision": decision,
                "note": rng.choice(text.review_notes[decision]),
                "next_review_on": day + timedelta(days=28),
                "created_at": _morning(day) + timedelta(hours=rng.randint(1, 7)),
            },
        )
        self.counters.review += 1
        summary["last_review_on"] = day
