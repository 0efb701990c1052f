"""Security and reliability: used form keys; TOTP secrets encrypted at rest.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 09:00:00

- ``form_submissions``: the idempotency key of every form submission that saved (its
  primary key), who sent it and where its response redirected, so a repeat of the same
  submission saves nothing and is sent where the first one went.
- ``users.totp_secret`` widens to 255 characters and every existing secret is encrypted
  with the configured keys (caseload/models/encrypted.py). The downgrade decrypts them.
"""

import sqlalchemy as sa
from alembic import op

from caseload.models.encrypted import PREFIX, decrypt, encrypt

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_form_submissions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_form_submissions")),
    )
    op.create_index(op.f("ix_form_submissions_user_id"), "form_submissions", ["user_id"])
    op.create_index(op.f("ix_form_submissions_at"), "form_submissions", ["at"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    _rewrite_secrets(lambda value: value if value.startswith(PREFIX) else encrypt(value))


def downgrade() -> None:
    _rewrite_secrets(decrypt)
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
    op.drop_index(op.f("ix_form_submissions_at"), table_name="form_submissions")
    op.drop_index(op.f("ix_form_submissions_user_id"), table_name="form_submissions")
    op.drop_table("form_submissions")


def _rewrite_secrets(change: object) -> None:
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.isnot(None))
    )
    for user_id, secret in rows.fetchall():
        conn.execute(
            users.update().where(users.c.id == user_id).values(totp_secret=change(secret))  # type: ignore[operator]
        )
