"""Indexes for pages that start from a worker's (or a team's) open episodes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 10:00:00

``ix_contacts_episode_status_attendance`` (episode_id, status, attendance, occurred_at)
finds an episode's current bookings, or its attended contacts in a period, in one index
range, so the caseload, the diary and the team load read only the contacts of the
episodes they show. ``ix_contacts_status`` goes: nearly every contact is current, so the
index narrowed nothing, yet without statistics SQLite's planner took it for every query
on current contacts and walked every contact in the database.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_episode_status_attendance",
        "contacts",
        ["episode_id", "status", "attendance", "occurred_at"],
    )
    op.drop_index("ix_contacts_status", table_name="contacts")


def downgrade() -> None:
    op.create_index("ix_contacts_status", "contacts", ["status"])
    op.drop_index("ix_contacts_episode_status_attendance", table_name="contacts")
