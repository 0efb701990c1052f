"""Measures as data in storage; summary columns reports group by; child tables; indexes.

- Scores move from per-measure contact columns (phq9_answers, phq9_total ...) to one
  measure-agnostic table, ``contact_scores`` (one row per contact and measure). The
  reason for not collecting questionnaires becomes a row per missing every-contact
  measure (PHQ-9, GAD-7) carrying the reason.
- The episode summary keeps first, last and latest scores per measure in
  ``episode_measure_summaries``, and gains the columns central reports count by
  (active, finished treatment, caseness at start, paired, recovery and reliable
  change, open risk, first and second treatment dates, days to first treatment).
- Complexity factors and note themes move from JSON lists to child tables.
- Indexes for the queries to come.

The data move recomputes every summary with the pure domain rules
(``caseload.domain``), the same functions the app uses when a contact is saved.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 04:40:00

"""
# The only SQL built from strings below interpolates column and table names from this
# file's own constants and the stored measure ids (phq9, gad7, wsas), never user input.
# ruff: noqa: S608

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from caseload.domain.codes import AttendanceCode, ContactType, EpisodeStatus, RiskLevel
from caseload.domain.dates import local_date
from caseload.domain.episodes import (
    ContactFacts,
    episode_outcome_from_summary,
    episode_status,
    summarise_episode,
)
from caseload.domain.flags import has_open_risk
from caseload.domain.outcomes import wait_days

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOT_COLLECTED = sa.Enum(
    "declined",
    "not_appropriate",
    "no_time",
    name="notcollectedreason",
    native_enum=False,
    length=32,
)
COMPLEXITY = sa.Enum(
    "bereavement",
    "relationship_breakdown",
    "housing",
    "debt",
    "drugs_alcohol",
    "trauma",
    "safeguarding",
    "long_term_condition",
    "previous_secondary_care",
    "other",
    name="complexityfactor",
    native_enum=False,
    length=32,
)
THEMES = sa.Enum(
    "new_role",
    "training_intensity",
    "recognition",
    "training_vs_complexity",
    "clinical_confidence",
    "emotional_impact",
    "risk_and_complexity",
    "role_confusion",
    "data_collection",
    "supervision_support",
    "career_progression",
    name="reflectivetheme",
    native_enum=False,
    length=32,
)
#: The PHQ-9's risk item and the measures asked at every contact, as they stood when the
#: scores lived in columns.
PHQ9_RISK_ITEM = 9
EVERY_CONTACT = ("phq9", "gad7")
OLD_MEASURES = ("phq9", "gad7", "wsas")
OLD_SUMMARY_SCORES = tuple(
    f"{when}_{m}" for m in OLD_MEASURES for when in ("first", "last", "latest")
)

NEW_SUMMARY_FLAGS = (
    "is_active",
    "finished_treatment",
    "caseness_at_start",
    "paired",
    "recovered",
    "reliably_improved",
    "reliably_deteriorated",
    "reliably_recovered",
    "risk_open",
)


def _aware(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands back naive UTC text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    bind = op.get_bind()

    old_contacts = bind.execute(
        sa.text(
            "SELECT id, episode_id, occurred_at, contact_type, attendance, status, risk_level, "
            "phq9_answers, phq9_total, phq9_item9, phq9_difficulty, gad7_answers, gad7_total, "
            "wsas_answers, wsas_total, not_collected_reason FROM contacts"
        ).columns(phq9_answers=sa.JSON(), gad7_answers=sa.JSON(), wsas_answers=sa.JSON())
    ).all()
    complexity = bind.execute(
        sa.text("SELECT id, complexity_factors FROM episodes").columns(complexity_factors=sa.JSON())
    ).all()
    themes = bind.execute(
        sa.text("SELECT id, themes FROM reflective_notes").columns(themes=sa.JSON())
    ).all()

    _create_tables()
    _move_scores(old_contacts)
    _move_lists(complexity, themes)

    with op.batch_alter_table("contacts") as batch_op:
        for measure in OLD_MEASURES:
            batch_op.drop_column(f"{measure}_answers")
            batch_op.drop_column(f"{measure}_total")
        batch_op.drop_column("phq9_item9")
        batch_op.drop_column("phq9_difficulty")
        batch_op.drop_column("not_collected_reason")
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.drop_column("complexity_factors")
        batch_op.create_index("ix_episodes_worker_discharged", ["worker_id", "discharged_on"])
        batch_op.create_index("ix_episodes_discharged_on", ["discharged_on"])
    with op.batch_alter_table("reflective_notes") as batch_op:
        batch_op.drop_column("themes")
    with op.batch_alter_table("episode_summaries") as batch_op:
        for name in OLD_SUMMARY_SCORES:
            batch_op.drop_column(name)
        batch_op.drop_column("latest_item9")
        batch_op.drop_column("latest_item9_at")
        batch_op.drop_column("phq9_series")
        batch_op.drop_column("gad7_series")
        batch_op.add_column(sa.Column("latest_risk_answer", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("latest_risk_answer_measure", sa.String(20), nullable=True))
        batch_op.add_column(
            sa.Column("latest_risk_answer_at", sa.DateTime(timezone=True), nullable=True)
        )
        for name in NEW_SUMMARY_FLAGS:
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch_op.add_column(sa.Column("first_treatment_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("second_treatment_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("days_to_first_treatment", sa.Integer(), nullable=True))
        batch_op.create_index("ix_episode_summaries_is_active", ["is_active"])
        batch_op.create_index("ix_episode_summaries_risk_open", ["risk_open"])

    _recompute_summaries(old_contacts)


def _create_tables() -> None:
    op.create_table(
        "contact_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("risk_answer", sa.Integer(), nullable=True),
        sa.Column("difficulty", sa.Integer(), nullable=True),
        sa.Column("not_collected_reason", NOT_COLLECTED, nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_scores_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_scores")),
        sa.UniqueConstraint("contact_id", "measure_id", name=op.f("uq_contact_scores_contact_id")),
    )
    op.create_index(op.f("ix_contact_scores_contact_id"), "contact_scores", ["contact_id"])
    op.create_index(op.f("ix_contact_scores_measure_id"), "contact_scores", ["measure_id"])
    op.create_table(
        "episode_measure_summaries",
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.String(length=20), nullable=False),
        sa.Column("first_score", sa.Integer(), nullable=True),
        sa.Column("first_contact_id", sa.Integer(), nullable=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_score", sa.Integer(), nullable=True),
        sa.Column("last_contact_id", sa.Integer(), nullable=True),
        sa.Column("latest_score", sa.Integer(), nullable=True),
        sa.Column("latest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode_summaries.episode_id"],
            name=op.f("fk_episode_measure_summaries_episode_id_episode_summaries"),
        ),
        sa.PrimaryKeyConstraint(
            "episode_id", "measure_id", name=op.f("pk_episode_measure_summaries")
        ),
    )
    op.create_table(
        "episode_complexity_factors",
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("factor", COMPLEXITY, nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_episode_complexity_factors_episode_id_episodes"),
        ),
        sa.PrimaryKeyConstraint("episode_id", "factor", name=op.f("pk_episode_complexity_factors")),
    )
    op.create_index(
        op.f("ix_episode_complexity_factors_factor"), "episode_complexity_factors", ["factor"]
    )
    op.create_table(
        "note_themes",
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("theme", THEMES, nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["reflective_notes.id"],
            name=op.f("fk_note_themes_note_id_reflective_notes"),
        ),
        sa.PrimaryKeyConstraint("note_id", "theme", name=op.f("pk_note_themes")),
    )
    op.create_index(op.f("ix_note_themes_theme"), "note_themes", ["theme"])


def _score_table() -> sa.TableClause:
    return sa.table(
        "contact_scores",
        sa.column("contact_id", sa.Integer),
        sa.column("measure_id", sa.String),
        sa.column("answers", sa.JSON),
        sa.column("total", sa.Integer),
        sa.column("complete", sa.Boolean),
        sa.column("risk_answer", sa.Integer),
        sa.column("difficulty", sa.Integer),
        sa.column("not_collected_reason", sa.String),
    )


def _move_scores(contacts: list[Any]) -> None:
    rows: list[dict[str, Any]] = []
    for c in contacts:
        given = set()
        for measure in OLD_MEASURES:
            answers = getattr(c, f"{measure}_answers")
            if answers is None:
                continue
            given.add(measure)
            total = getattr(c, f"{measure}_total")
            rows.append(
                {
                    "contact_id": c.id,
                    "measure_id": measure,
                    "answers": answers,
                    "total": total,
                    "complete": all(a is not None for a in answers),
                    "risk_answer": c.phq9_item9 if measure == "phq9" else None,
                    "difficulty": c.phq9_difficulty if measure == "phq9" else None,
                    "not_collected_reason": None,
                }
            )
        attended = int(c.attendance) in (5, 6)
        if c.not_collected_reason and attended:
            rows += [
                {
                    "contact_id": c.id,
                    "measure_id": measure,
                    "answers": None,
                    "total": None,
                    "complete": False,
                    "risk_answer": None,
                    "difficulty": None,
                    "not_collected_reason": c.not_collected_reason,
                }
                for measure in EVERY_CONTACT
                if measure not in given
            ]
    if rows:
        op.bulk_insert(_score_table(), rows)


def _move_lists(complexity: list[Any], themes: list[Any]) -> None:
    factor_rows = [
        {"episode_id": e.id, "factor": f}
        for e in complexity
        for f in sorted(set(e.complexity_factors or []))
    ]
    if factor_rows:
        op.bulk_insert(
            sa.table("episode_complexity_factors", sa.column("episode_id"), sa.column("factor")),
            factor_rows,
        )
    theme_rows = [
        {"note_id": n.id, "theme": t} for n in themes for t in sorted(set(n.themes or []))
    ]
    if theme_rows:
        op.bulk_insert(
            sa.table("note_themes", sa.column("note_id"), sa.column("theme")), theme_rows
        )


def _recompute_summaries(old_contacts: list[Any]) -> None:
    """Every summary row again from its contacts in force, by the domain rules."""
    bind = op.get_bind()
    scores = defaultdict(list)
    for s in bind.execute(
        sa.text(
            "SELECT contact_id, measure_id, total, risk_answer, not_collected_reason "
            "FROM contact_scores"
        )
    ):
        scores[s.contact_id].append(s)
    by_episode = defaultdict(list)
    for c in old_contacts:
        if c.status != "current":
            continue
        own = scores[c.id]
        by_episode[c.episode_id].append(
            ContactFacts(
                contact_id=c.id,
                occurred_at=_aware(c.occurred_at),
                contact_type=ContactType(c.contact_type),
                attendance=AttendanceCode(int(c.attendance)),
                totals={s.measure_id: s.total for s in own if s.total is not None},
                risk_answers={
                    s.measure_id: s.risk_answer for s in own if s.risk_answer is not None
                },
                risk_level=None if c.risk_level is None else RiskLevel(c.risk_level),
                measures_not_collected=any(s.not_collected_reason for s in own),
            )
        )
    episodes = bind.execute(sa.text("SELECT id, referral_date, discharged_on FROM episodes")).all()
    measure_rows: list[dict[str, Any]] = []
    for episode in episodes:
        facts = summarise_episode(by_episode.get(episode.id, []))
        ended = episode.discharged_on is not None
        outcome = episode_outcome_from_summary(facts, ended=ended)
        first_on = (
            None if facts.first_treatment_at is None else local_date(facts.first_treatment_at)
        )
        second_on = (
            None if facts.second_treatment_at is None else local_date(facts.second_treatment_at)
        )
        status = episode_status(discharged=ended, treatment_contacts=facts.treatment_contacts)
        bind.execute(
            sa.text(
                "UPDATE episode_summaries SET latest_risk_answer = :answer, "
                "latest_risk_answer_measure = :measure, latest_risk_answer_at = :answer_at, "
                "is_active = :is_active, finished_treatment = :finished, "
                "caseness_at_start = :caseness, paired = :paired, recovered = :recovered, "
                "reliably_improved = :improved, reliably_deteriorated = :deteriorated, "
                "reliably_recovered = :reliably_recovered, risk_open = :risk_open, "
                "first_treatment_on = :first_on, second_treatment_on = :second_on, "
                "days_to_first_treatment = :days WHERE episode_id = :episode_id"
            ).bindparams(
                sa.bindparam("answer_at", type_=sa.DateTime(timezone=True)),
                sa.bindparam("first_on", type_=sa.Date()),
                sa.bindparam("second_on", type_=sa.Date()),
            ),
            {
                "answer": facts.latest_risk_answer,
                "measure": facts.latest_risk_answer_measure,
                "answer_at": _stored_time(facts.latest_risk_answer_at),
                "is_active": status is EpisodeStatus.IN_TREATMENT,
                "finished": outcome.finished_treatment,
                "caseness": outcome.caseness_at_start,
                "paired": outcome.paired,
                "recovered": outcome.recovered,
                "improved": outcome.reliable_improvement,
                "deteriorated": outcome.reliable_deterioration,
                "reliably_recovered": outcome.reliable_recovery,
                "risk_open": has_open_risk(facts),
                "first_on": first_on,
                "second_on": second_on,
                "days": wait_days(_date(episode.referral_date), first_on),
                "episode_id": episode.id,
            },
        )
        measure_rows += [
            {
                "episode_id": episode.id,
                "measure_id": s.measure_id,
                "first_score": s.first,
                "first_contact_id": s.first_contact_id,
                "first_at": _stored_time(s.first_at),
                "last_score": s.last,
                "last_contact_id": s.last_contact_id,
                "latest_score": s.latest,
                "latest_at": _stored_time(s.latest_at),
                "totals": list(s.totals),
            }
            for s in facts.measures
        ]
    if measure_rows:
        present = {
            row.episode_id
            for row in bind.execute(sa.text("SELECT episode_id FROM episode_summaries"))
        }
        op.bulk_insert(
            sa.table(
                "episode_measure_summaries",
                sa.column("episode_id"),
                sa.column("measure_id"),
                sa.column("first_score"),
                sa.column("first_contact_id"),
                sa.column("first_at", sa.DateTime(timezone=True)),
                sa.column("last_score"),
                sa.column("last_contact_id"),
                sa.column("latest_score"),
                sa.column("latest_at", sa.DateTime(timezone=True)),
                sa.column("totals", sa.JSON),
            ),
            [row for row in measure_rows if row["episode_id"] in present],
        )


def _stored_time(value: datetime | None) -> datetime | None:
    """An aware time as this database stores it (SQLite: naive UTC, as the app writes it)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if _is_sqlite() else value


def downgrade() -> None:
    bind = op.get_bind()
    scores = bind.execute(
        sa.text(
            "SELECT contact_id, measure_id, answers, total, risk_answer, difficulty, "
            "not_collected_reason FROM contact_scores"
        ).columns(answers=sa.JSON())
    ).all()
    factors = bind.execute(
        sa.text("SELECT episode_id, factor FROM episode_complexity_factors")
    ).all()
    themes = bind.execute(sa.text("SELECT note_id, theme FROM note_themes")).all()
    measures = bind.execute(
        sa.text(
            "SELECT episode_id, measure_id, first_score, last_score, latest_score, totals "
            "FROM episode_measure_summaries"
        ).columns(totals=sa.JSON())
    ).all()
    risk = bind.execute(
        sa.text(
            "SELECT episode_id, latest_risk_answer, latest_risk_answer_measure, "
            "latest_risk_answer_at FROM episode_summaries"
        )
    ).all()

    op.drop_table("episode_measure_summaries")
    op.drop_index(op.f("ix_note_themes_theme"), table_name="note_themes")
    op.drop_table("note_themes")
    op.drop_index(
        op.f("ix_episode_complexity_factors_factor"), table_name="episode_complexity_factors"
    )
    op.drop_table("episode_complexity_factors")
    op.drop_index(op.f("ix_contact_scores_measure_id"), table_name="contact_scores")
    op.drop_index(op.f("ix_contact_scores_contact_id"), table_name="contact_scores")
    op.drop_table("contact_scores")

    with op.batch_alter_table("episode_summaries") as batch_op:
        batch_op.drop_index("ix_episode_summaries_risk_open")
        batch_op.drop_index("ix_episode_summaries_is_active")
        for name in (
            "days_to_first_treatment",
            "second_treatment_on",
            "first_treatment_on",
            *reversed(NEW_SUMMARY_FLAGS),
            "latest_risk_answer_at",
            "latest_risk_answer_measure",
            "latest_risk_answer",
        ):
            batch_op.drop_column(name)
        for name in OLD_SUMMARY_SCORES:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("latest_item9", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("latest_item9_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("phq9_series", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("gad7_series", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("reflective_notes") as batch_op:
        batch_op.add_column(sa.Column("themes", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.drop_index("ix_episodes_discharged_on")
        batch_op.drop_index("ix_episodes_worker_discharged")
        batch_op.add_column(
            sa.Column("complexity_factors", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("contacts") as batch_op:
        for measure in OLD_MEASURES:
            batch_op.add_column(sa.Column(f"{measure}_answers", sa.JSON(), nullable=True))
            batch_op.add_column(sa.Column(f"{measure}_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("phq9_item9", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("phq9_difficulty", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("not_collected_reason", NOT_COLLECTED, nullable=True))

    json_param = sa.bindparam("answers", type_=sa.JSON())
    for s in scores:
        if s.answers is not None:
            bind.execute(
                sa.text(
                    f"UPDATE contacts SET {s.measure_id}_answers = :answers, "
                    f"{s.measure_id}_total = :total WHERE id = :id"
                ).bindparams(json_param),
                {"answers": s.answers, "total": s.total, "id": s.contact_id},
            )
            if s.measure_id == "phq9":
                bind.execute(
                    sa.text(
                        "UPDATE contacts SET phq9_item9 = :item9, "
                        "phq9_difficulty = :difficulty WHERE id = :id"
                    ),
                    {"item9": s.risk_answer, "difficulty": s.difficulty, "id": s.contact_id},
                )
        if s.not_collected_reason is not None:
            bind.execute(
                sa.text("UPDATE contacts SET not_collected_reason = :reason WHERE id = :id"),
                {"reason": s.not_collected_reason, "id": s.contact_id},
            )
    _restore_lists("episodes", factors, "complexity_factors")
    _restore_lists("reflective_notes", themes, "themes")
    series_param = [sa.bindparam(n, type_=sa.JSON()) for n in ("phq9_series", "gad7_series")]
    for m in measures:
        columns = {
            f"first_{m.measure_id}": m.first_score,
            f"last_{m.measure_id}": m.last_score,
            f"latest_{m.measure_id}": m.latest_score,
        }
        sets = ", ".join(f"{name} = :{name}" for name in columns)
        statement = sa.text(f"UPDATE episode_summaries SET {sets} WHERE episode_id = :id")
        if m.measure_id in ("phq9", "gad7"):
            name = f"{m.measure_id}_series"
            statement = sa.text(
                f"UPDATE episode_summaries SET {sets}, {name} = :{name} WHERE episode_id = :id"
            ).bindparams(next(p for p in series_param if p.key == name))
            columns[name] = list(m.totals or [])
        if m.measure_id in OLD_MEASURES:
            bind.execute(statement, {**columns, "id": m.episode_id})
    for r in risk:
        if r.latest_risk_answer_measure == "phq9":
            bind.execute(
                sa.text(
                    "UPDATE episode_summaries SET latest_item9 = :answer, "
                    "latest_item9_at = :at WHERE episode_id = :id"
                ),
                {"answer": r.latest_risk_answer, "at": r.latest_risk_answer_at, "id": r.episode_id},
            )


def _restore_lists(table: str, rows: list[Any], column: str) -> None:
    bind = op.get_bind()
    grouped: dict[int, list[str]] = defaultdict(list)
    for key, value in rows:
        grouped[key].append(value)
    for key, values in grouped.items():
        bind.execute(
            sa.text(f"UPDATE {table} SET {column} = :values WHERE id = :id").bindparams(
                sa.bindparam("values", type_=sa.JSON())
            ),
            {"values": sorted(values), "id": key},
        )
