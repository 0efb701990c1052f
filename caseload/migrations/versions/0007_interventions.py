"""Interventions and anxiety disorder specific measures as data.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 05:00:00

``contacts.intervention`` now holds a code from ``seed_data/interventions.json``
instead of one of five enum values. The column was already VARCHAR(32) with no
database constraint (the enum was checked in Python only), so the schema does not
change and every stored value stays a valid code. Downgrading maps the codes the
older release does not know to "other", so it can read every contact again.

The ADSMs (PCL-5, the IAPT phobia scales) are definition files: their scores go in
the existing ``contact_scores`` and ``episode_measure_summaries`` tables.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The intervention values release 0006 and earlier accept.
OLDER_CODES = (
    "guided_self_help",
    "behavioural_activation",
    "psychoeducation",
    "signposting",
    "other",
)


def upgrade() -> None:
    pass


def downgrade() -> None:
    contacts = sa.table("contacts", sa.column("intervention", sa.String(32)))
    op.execute(
        contacts.update()
        .where(contacts.c.intervention.is_not(None), contacts.c.intervention.not_in(OLDER_CODES))
        .values(intervention="other")
    )
