"""Rate limits per user on abusable signed-in actions.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 10:00:00

A new table, ``rate_limit_counts``: one row per (user, action, fixed window) with the
number of times the user did the action in that window, incremented by one atomic
upsert (caseload/services/ratelimit.py). Nothing existing changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_rate_limit_counts_user_id_users")
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "action", "window_start", name=op.f("pk_rate_limit_counts")
        ),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_counts")
