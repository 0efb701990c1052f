"""Clinical safety of contacts and discharge.

- ``contact_scores.not_collected_note``: the worker's words when a questionnaire was not
  collected, or left unfinished, for "other" reasons (the reason itself already has a
  column; "other" is a new value of the same non-native enum, so needs no DDL).
- ``episodes.discharge_risk_plan``: the risk plan written when an episode is discharged
  with risk open or a red flag open.
- ``episode_summaries.incomplete_questionnaires`` and ``unanswered_risk_items``: how many
  questionnaires were started and left unfinished at attended contacts, and how many of
  those left the risk item unanswered; filled from the stored answers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 05:00:00

"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: The risk item of each measure stored when this revision was written (PHQ-9 item 9).
RISK_ITEMS = {"phq9": 9}
#: Attended on time (5) and arrived late but seen (6).
ATTENDED = (5, 6)


def upgrade() -> None:
    with op.batch_alter_table("contact_scores") as batch_op:
        batch_op.add_column(sa.Column("not_collected_note", sa.Text(), nullable=True))
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.add_column(
            sa.Column("discharge_risk_plan", sa.Text(), nullable=False, server_default="")
        )
    with op.batch_alter_table("episode_summaries") as batch_op:
        for name in ("incomplete_questionnaires", "unanswered_risk_items"):
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
            )
    _count_incomplete_questionnaires()


def _count_incomplete_questionnaires() -> None:
    """Fill the new summary counts from the questionnaires already stored."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.episode_id, s.measure_id, s.answers, s.complete "
            "FROM contact_scores s JOIN contacts c ON c.id = s.contact_id "
            "WHERE c.status = 'current' AND c.attendance IN (5, 6)"
        ).columns(answers=sa.JSON())
    ).all()
    incomplete: Counter[int] = Counter()
    unanswered: Counter[int] = Counter()
    for row in rows:
        if not _started(row.answers) or row.complete:
            continue
        incomplete[row.episode_id] += 1
        item = RISK_ITEMS.get(row.measure_id)
        if item is not None and len(row.answers) >= item and row.answers[item - 1] is None:
            unanswered[row.episode_id] += 1
    for episode_id, count in incomplete.items():
        bind.execute(
            sa.text(
                "UPDATE episode_summaries SET incomplete_questionnaires = :count, "
                "unanswered_risk_items = :unanswered WHERE episode_id = :episode_id"
            ),
            {"count": count, "unanswered": unanswered[episode_id], "episode_id": episode_id},
        )


def _started(answers: Any) -> bool:
    """A questionnaire with at least one item answered (a not-collected row has none)."""
    return isinstance(answers, list) and any(a is not None for a in answers)


def downgrade() -> None:
    with op.batch_alter_table("episode_summaries") as batch_op:
        batch_op.drop_column("unanswered_risk_items")
        batch_op.drop_column("incomplete_questionnaires")
    with op.batch_alter_table("episodes") as batch_op:
        batch_op.drop_column("discharge_risk_plan")
    with op.batch_alter_table("contact_scores") as batch_op:
        batch_op.drop_column("not_collected_note")
    # Before this revision there was no "other": the code of that time could not read it,
    # and no other reason says the same, so the reason is cleared rather than misstated.
    op.execute(
        "UPDATE contact_scores SET not_collected_reason = NULL WHERE not_collected_reason = 'other'"
    )
