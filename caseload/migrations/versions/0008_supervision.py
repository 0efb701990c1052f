"""Case-management supervision: sessions, reviews with the flags they saw, reassignments.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 06:35:23

New tables only; nothing existing changes. ``episode_summaries.last_review_on``
(0002) is now written by a review.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supervision_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_position", sa.Integer(), nullable=True),
        sa.Column("current_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supervisor_id"],
            ["users.id"],
            name=op.f("fk_supervision_sessions_supervisor_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["users.id"], name=op.f("fk_supervision_sessions_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_sessions")),
    )
    with op.batch_alter_table("supervision_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supervision_sessions_supervisor_ended", ["supervisor_id", "ended_at"], unique=False
        )
        batch_op.create_index(
            "ix_supervision_sessions_worker_started", ["worker_id", "started_at"], unique=False
        )

    op.create_table(
        "episode_reassignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("from_worker_id", sa.Integer(), nullable=False),
        sa.Column("to_worker_id", sa.Integer(), nullable=False),
        sa.Column("reassigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_episode_reassignments_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_episode_reassignments_episode_id_episodes"),
        ),
        sa.ForeignKeyConstraint(
            ["from_worker_id"],
            ["users.id"],
            name=op.f("fk_episode_reassignments_from_worker_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["to_worker_id"], ["users.id"], name=op.f("fk_episode_reassignments_to_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode_reassignments")),
    )
    with op.batch_alter_table("episode_reassignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_episode_reassignments_episode_at", ["episode_id", "reassigned_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_episode_reassignments_from_worker_id"), ["from_worker_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_episode_reassignments_to_worker_id"), ["to_worker_id"], unique=False
        )

    op.create_table(
        "supervision_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "continue",
                "change_intervention",
                "step_up",
                "signpost",
                "discharge",
                "review_risk",
                "other",
                name="supervisiondecision",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_supervision_reviews_episode_id_episodes")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["supervision_sessions.id"],
            name=op.f("fk_supervision_reviews_session_id_supervision_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["users.id"], name=op.f("fk_supervision_reviews_supervisor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_reviews")),
    )
    with op.batch_alter_table("supervision_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_supervision_reviews_episode_created", ["episode_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supervision_reviews_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supervision_reviews_supervisor_id"), ["supervisor_id"], unique=False
        )

    op.create_table(
        "supervision_session_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("first_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_supervision_session_cases_episode_id_episodes"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["supervision_sessions.id"],
            name=op.f("fk_supervision_session_cases_session_id_supervision_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_session_cases")),
        sa.UniqueConstraint(
            "session_id", "episode_id", name="uq_supervision_session_cases_episode"
        ),
        sa.UniqueConstraint("session_id", "position", name="uq_supervision_session_cases_position"),
    )
    with op.batch_alter_table("supervision_session_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervision_session_cases_episode_id"), ["episode_id"], unique=False
        )

    op.create_table(
        "supervision_review_flags",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("flag_key", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "risk",
                "severe_at_entry",
                "deterioration",
                "not_on_track",
                "complexity",
                "disengaging",
                "long_treatment",
                "incomplete_questionnaires",
                "missing_measures",
                "review_overdue",
                "over_capacity",
                "risk_share",
                name="flagkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum("red", "amber", "info", name="severity", native_enum=False, length=32),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["supervision_reviews.id"],
            name=op.f("fk_supervision_review_flags_review_id_supervision_reviews"),
        ),
        sa.PrimaryKeyConstraint("review_id", "flag_key", name=op.f("pk_supervision_review_flags")),
    )


def downgrade():
    op.drop_table("supervision_review_flags")
    with op.batch_alter_table("supervision_session_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_session_cases_episode_id"))

    op.drop_table("supervision_session_cases")
    with op.batch_alter_table("supervision_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_reviews_supervisor_id"))
        batch_op.drop_index(batch_op.f("ix_supervision_reviews_session_id"))
        batch_op.drop_index("ix_supervision_reviews_episode_created")

    op.drop_table("supervision_reviews")
    with op.batch_alter_table("episode_reassignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episode_reassignments_to_worker_id"))
        batch_op.drop_index(batch_op.f("ix_episode_reassignments_from_worker_id"))
        batch_op.drop_index("ix_episode_reassignments_episode_at")

    op.drop_table("episode_reassignments")
    with op.batch_alter_table("supervision_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_sessions_worker_started")
        batch_op.drop_index("ix_supervision_sessions_supervisor_ended")

    op.drop_table("supervision_sessions")
