"""Audit event clients: every client an audit event concerns, indexed by client and time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


#: Append-only like audit_events (0001): the same message, refused by the database too.
AUDIT_GUARD_MESSAGE = "the audit trail is append-only"


def create_audit_guards():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_clients_no_{verb.lower()} "
                f"BEFORE {verb} ON audit_event_clients "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT_GUARD_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        # The function refusing the change was created with audit_events in 0001.
        op.execute(
            "CREATE TRIGGER audit_event_clients_append_only "
            "BEFORE UPDATE OR DELETE ON audit_event_clients "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()"
        )


def drop_audit_guards():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_clients_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_clients_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_clients_append_only ON audit_event_clients")


def upgrade():
    op.create_table(
        "audit_event_clients",
        sa.Column("audit_event_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_event_id"],
            ["audit_events.id"],
            name=op.f("fk_audit_event_clients_audit_event_id_audit_events"),
        ),
        sa.PrimaryKeyConstraint("audit_event_id", "client_id", name=op.f("pk_audit_event_clients")),
    )
    with op.batch_alter_table("audit_event_clients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_event_clients_client_id_at", ["client_id", "at"], unique=False
        )

    create_audit_guards()


def downgrade():
    drop_audit_guards()
    with op.batch_alter_table("audit_event_clients", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_clients_client_id_at")

    op.drop_table("audit_event_clients")
