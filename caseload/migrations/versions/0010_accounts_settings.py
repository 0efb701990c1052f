"""Accounts and settings run by an administrator; records entered in error.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 09:00:00

- ``users.must_change_password``: a temporary passphrase must be replaced at the next
  sign-in (existing accounts: false).
- ``user_sessions.authenticated_at``: when the passphrase and code were last given in
  the session (existing sessions: their start).
- ``clients`` and ``episodes`` get ``entered_in_error_at``, ``entered_in_error_by_id``
  and ``entered_in_error_reason``: a record made by mistake leaves every list and
  report but stays in the database.
- ``setting_values`` (what an administrator changed) and ``settings_revision`` (one
  row, counting changes, so every app server knows when to reload).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

IN_ERROR_TABLES = ("clients", "episodes")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("user_sessions") as batch_op:
        batch_op.add_column(
            sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE user_sessions SET authenticated_at = created_at")
    with op.batch_alter_table("user_sessions") as batch_op:
        batch_op.alter_column(
            "authenticated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
    for table in IN_ERROR_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("entered_in_error_at", sa.DateTime(timezone=True), nullable=True)
            )
            batch_op.add_column(sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column("entered_in_error_reason", sa.Text(), nullable=False, server_default="")
            )
            batch_op.create_foreign_key(
                op.f(f"fk_{table}_entered_in_error_by_id_users"),
                "users",
                ["entered_in_error_by_id"],
                ["id"],
            )

    op.create_table(
        "setting_values",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["users.id"], name=op.f("fk_setting_values_changed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_setting_values")),
    )
    revision_table = op.create_table(
        "settings_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_revision")),
    )
    op.bulk_insert(revision_table, [{"id": 1, "revision": 0, "changed_at": None}])


def downgrade() -> None:
    op.drop_table("settings_revision")
    op.drop_table("setting_values")
    for table in reversed(IN_ERROR_TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(
                op.f(f"fk_{table}_entered_in_error_by_id_users"), type_="foreignkey"
            )
            batch_op.drop_column("entered_in_error_reason")
            batch_op.drop_column("entered_in_error_by_id")
            batch_op.drop_column("entered_in_error_at")
    with op.batch_alter_table("user_sessions") as batch_op:
        batch_op.drop_column("authenticated_at")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("must_change_password")
