"""The audit trail's hash chain: prev_hash and hash on every event, existing events chained.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:00:00

Each event stores the hash of the event before it (in id order) and the SHA-256 of
its own content and that link (caseload.services.audit). The events already stored
are chained here, in id order. The append-only triggers (0001, 0003) refuse the
UPDATE that chaining needs, and a batch table rebuild on SQLite drops them: they
are dropped first and created again at the end, on both tables.
"""

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


#: The same message as 0001 and 0003.
AUDIT_GUARD_MESSAGE = "the audit trail is append-only"
GUARDED_TABLES = ("audit_events", "audit_event_clients")


def create_audit_guards():
    dialect = op.get_bind().dialect.name
    for table in GUARDED_TABLES:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_GUARD_MESSAGE}'); END"
                )
        elif dialect == "postgresql":
            # The function refusing the change was created in 0001 and stays.
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()"
            )


def drop_audit_guards():
    dialect = op.get_bind().dialect.name
    for table in GUARDED_TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


# A frozen copy of caseload.services.audit.event_hash as it was at this revision: a
# migration must not change when the application does. tests/test_migrations.py
# checks that the chain written here verifies with the application's code.
GENESIS = "0" * 64
CHAINED_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "client_id",
    "ip",
    "request_id",
    "detail",
)


def event_hash(content, client_ids, prev_hash):
    at = content["at"]
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    record = {name: content.get(name) for name in CHAINED_COLUMNS}
    record["at"] = at.isoformat(timespec="microseconds")
    record["clients"] = sorted(client_ids)
    record["prev_hash"] = prev_hash
    text = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer()),
    sa.column("actor_username", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("client_id", sa.Integer()),
    sa.column("ip", sa.String()),
    sa.column("request_id", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
event_clients = sa.table(
    "audit_event_clients",
    sa.column("audit_event_id", sa.Integer()),
    sa.column("client_id", sa.Integer()),
)

#: Events read and chained per round trip; memory stays flat however long the trail.
BATCH = 1000


def chain_existing_events():
    """Chain the stored events in id order, a batch at a time."""
    bind = op.get_bind()
    after, prev_hash = 0, GENESIS
    update = (
        events.update()
        .where(events.c.id == sa.bindparam("event_id"))
        .values(prev_hash=sa.bindparam("new_prev_hash"), hash=sa.bindparam("new_hash"))
    )
    while True:
        batch = bind.execute(
            sa.select(*(events.c[name] for name in CHAINED_COLUMNS))
            .where(events.c.id > after)
            .order_by(events.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        first, last = batch[0].id, batch[-1].id
        listed = {}
        for event_id, client_id in bind.execute(
            sa.select(event_clients.c.audit_event_id, event_clients.c.client_id).where(
                event_clients.c.audit_event_id.between(first, last)
            )
        ):
            listed.setdefault(event_id, []).append(client_id)
        links = []
        for row in batch:
            own = event_hash(row._mapping, listed.get(row.id, []), prev_hash)
            links.append({"event_id": row.id, "new_prev_hash": prev_hash, "new_hash": own})
            prev_hash = own
        bind.execute(update, links)
        after = last


def upgrade():
    drop_audit_guards()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_audit_events_actor_username"), ["actor_username"], unique=False
        )
    chain_existing_events()
    create_audit_guards()


def downgrade():
    drop_audit_guards()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_username"))
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    create_audit_guards()
