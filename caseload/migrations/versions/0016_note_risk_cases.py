"""Reflective notes keep the author's open risk cases when written.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 10:30:00

``risk_cases_at_writing`` is counted when a note is written, as ``caseload_at_writing``
is, so the findings view reads it instead of rebuilding every author's past caseload and
every contact's risk answers on each view. Notes written before this column have none;
the findings view rebuilds theirs from the history, as it did for every note before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reflective_notes") as batch:
        batch.add_column(sa.Column("risk_cases_at_writing", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reflective_notes") as batch:
        batch.drop_column("risk_cases_at_writing")
