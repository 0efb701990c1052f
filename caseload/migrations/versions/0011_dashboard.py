"""The lead's dashboard: summary columns for hidden waits and the DNA rate.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 07:45:00

``episode_summaries`` gets, kept by ``refresh_summary`` with every contact change:

- ``second_treatment_gap_days``: first to second attended treatment contact in days
  (the hidden waits over 28 and 90 days);
- ``contacts_with_outcome``: contacts in force whose outcome was recorded (any
  attendance code but 0, booked);
- ``dna_contacts``: of those, the client's non-attendances (codes 3 and 7).

Existing rows are filled from the contacts and the stored treatment dates, so the
dashboard is right from the first request after the upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("episode_summaries") as batch_op:
        batch_op.add_column(sa.Column("second_treatment_gap_days", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("contacts_with_outcome", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("dna_contacts", sa.Integer(), nullable=False, server_default="0")
        )
    # Contacts in force with an outcome (any code but 0, booked), and of those the DNAs
    # (3, did not attend; 7, arrived late and not seen).
    op.execute(
        "UPDATE episode_summaries SET "
        "contacts_with_outcome = (SELECT COUNT(*) FROM contacts "
        "WHERE contacts.episode_id = episode_summaries.episode_id "
        "AND contacts.status = 'current' AND contacts.attendance <> 0), "
        "dna_contacts = (SELECT COUNT(*) FROM contacts "
        "WHERE contacts.episode_id = episode_summaries.episode_id "
        "AND contacts.status = 'current' AND contacts.attendance IN (3, 7))"
    )
    bind = op.get_bind()
    treated = bind.execute(
        sa.text(
            "SELECT episode_id, first_treatment_on, second_treatment_on FROM episode_summaries "
            "WHERE first_treatment_on IS NOT NULL AND second_treatment_on IS NOT NULL"
        ).columns(
            sa.column("episode_id", sa.Integer()),
            sa.column("first_treatment_on", sa.Date()),
            sa.column("second_treatment_on", sa.Date()),
        )
    ).all()
    for row in treated:
        bind.execute(
            sa.text(
                "UPDATE episode_summaries SET second_treatment_gap_days = :days "
                "WHERE episode_id = :episode_id"
            ),
            {
                "days": (row.second_treatment_on - row.first_treatment_on).days,
                "episode_id": row.episode_id,
            },
        )


def downgrade() -> None:
    with op.batch_alter_table("episode_summaries") as batch_op:
        batch_op.drop_column("dna_contacts")
        batch_op.drop_column("contacts_with_outcome")
        batch_op.drop_column("second_treatment_gap_days")
