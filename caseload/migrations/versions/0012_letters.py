"""Letters to the GP, saved on an episode and never changed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 10:30:00

A new table, ``letters``; nothing existing changes. Triggers refuse an UPDATE or a
DELETE of a saved letter on SQLite and PostgreSQL, as the ORM does
(``caseload.models.letters``), so a letter sent to a GP stays as it was sent.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The same message as caseload.models.letters.LETTER_GUARD_MESSAGE (frozen here).
LETTER_GUARD_MESSAGE = "a saved letter is never changed"


def create_letter_guards():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER letters_no_{verb.lower()} BEFORE {verb} ON letters "
                f"BEGIN SELECT RAISE(ABORT, '{LETTER_GUARD_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION letters_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{LETTER_GUARD_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER letters_never_changed BEFORE UPDATE OR DELETE ON letters "
            "FOR EACH ROW EXECUTE FUNCTION letters_refuse_change()"
        )


def drop_letter_guards():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS letters_no_update")
        op.execute("DROP TRIGGER IF EXISTS letters_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS letters_never_changed ON letters")
        op.execute("DROP FUNCTION IF EXISTS letters_refuse_change()")


def upgrade():
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_letters_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_letters_episode_id_episodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letters")),
    )
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.create_index(
            "ix_letters_episode_created", ["episode_id", "created_at"], unique=False
        )
    create_letter_guards()


def downgrade():
    drop_letter_guards()
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_index("ix_letters_episode_created")
    op.drop_table("letters")
