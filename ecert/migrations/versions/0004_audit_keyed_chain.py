"""The keyed audit chain: every event carries the id of the HMAC key that made its hash.

Events written before this revision were chained with plain SHA-256, which anyone who can
write the database can recompute. If there are any, this migration checks their old chain
(a broken one is refused: re-keying it would launder the tampering), then re-keys the whole
chain under the audit key and appends an ``audit.chain_keyed`` event naming the old head.
The key comes from the caller (``ecert init``), else ECERT_AUDIT_KEY, else the development
key file in the instance dir; without one, an upgrade over existing events stops and says so.

The application role's grants are not made here: ``ecert.migrate.grant_app_role`` runs after
every upgrade (idempotent), see docs/audit.md.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from ecert.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger),
    sa.column("seq", sa.BigInteger),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("actor_type", sa.String),
    sa.column("actor_id", sa.String),
    sa.column("action", sa.String),
    sa.column("target_type", sa.String),
    sa.column("target_id", sa.String),
    sa.column("http_request_id", sa.String),
    sa.column("details", sa.JSON),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
    sa.column("key_id", sa.String),
)
_head = sa.table(
    "audit_chain_head",
    sa.column("id", sa.Integer),
    sa.column("last_seq", sa.BigInteger),
    sa.column("last_hash", sa.String),
)

_SQLITE_TRIGGERS = {
    operation: f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {operation} refused'); END"
    for operation in ("UPDATE", "DELETE")
}


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("key_id", sa.String(16), nullable=True))
    bind = op.get_bind()
    count = bind.execute(sa.select(sa.func.count()).select_from(_events)).scalar_one()
    if count:
        _rekey(bind, count)


def _audit_key() -> Any:
    from ecert.config import load_settings
    from ecert.migrate import AUDIT_KEY_ATTRIBUTE
    from ecert.services import audit

    key = context.config.attributes.get(AUDIT_KEY_ATTRIBUTE)
    if key is not None:
        return key
    settings = load_settings()
    return audit.load_key(settings.audit_key, settings.instance_dir, create=not settings.is_production)


def _rekey(bind: sa.Connection, count: int) -> None:
    from ecert.services import audit

    key = _audit_key()
    if key is None:
        raise RuntimeError(
            f"migration 0004 re-keys the {count} existing audit events and needs the audit key: "
            "set ECERT_AUDIT_KEY (or run `flask --app wsgi ecert init` in development)"
        )
    rows = [dict(row._mapping) for row in bind.execute(sa.select(_events).order_by(_events.c.seq))]
    old_previous, new_previous = audit.GENESIS_HASH, audit.GENESIS_HASH
    updates = []
    for expected_seq, row in enumerate(rows, start=1):
        # The old chain must hold before it is vouched for with the key.
        if row["seq"] != expected_seq or row["prev_hash"] != old_previous or audit.legacy_hash(row) != row["hash"]:
            raise RuntimeError(
                f"the audit chain is already broken at seq {row['seq']} (id {row['id']}); re-keying it would "
                "hide that. Investigate it (`ecert audit verify` on the previous release) before upgrading."
            )
        old_previous = row["hash"]
        row.update(prev_hash=new_previous, key_id=key.key_id)
        row["hash"] = audit.keyed_hash(row, key)
        new_previous = row["hash"]
        updates.append({"b_id": row["id"], "b_prev": row["prev_hash"], "b_hash": row["hash"], "b_key": key.key_id})
    head = bind.execute(sa.select(_head).where(_head.c.id == 1)).one()
    if (head.last_seq, head.last_hash) != (len(rows), old_previous):
        raise RuntimeError(
            "the audit chain head does not match its last event; events are missing. Investigate before upgrading."
        )

    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    bind.execute(
        _events.update()
        .where(_events.c.id == sa.bindparam("b_id"))
        .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash"), key_id=sa.bindparam("b_key")),
        updates,
    )
    if postgres:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
    else:
        op.execute(_SQLITE_TRIGGERS["UPDATE"])

    marker: dict[str, Any] = {
        "seq": len(rows) + 1,
        "occurred_at": datetime.now(UTC).replace(microsecond=0),
        "actor_type": "system",
        "actor_id": "migration:0004",
        "action": "audit.chain_keyed",
        "target_type": None,
        "target_id": None,
        "http_request_id": None,
        "details": {"events_rekeyed": len(rows), "legacy_head_hash": old_previous, "key_id": key.key_id},
        "prev_hash": new_previous,
        "key_id": key.key_id,
    }
    marker["hash"] = audit.keyed_hash(marker, key)
    bind.execute(_events.insert().values(**marker))
    bind.execute(_head.update().where(_head.c.id == 1).values(last_seq=marker["seq"], last_hash=marker["hash"]))


def downgrade() -> None:
    # The hashes stay keyed: the pre-0004 code's `audit verify` will call the chain broken.
    op.execute("ALTER TABLE audit_events DROP COLUMN key_id")
    if op.get_bind().dialect.name == "sqlite":
        # Native DROP COLUMN keeps triggers, but one that names the table is re-checked: be sure.
        for operation, statement in _SQLITE_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{operation.lower()}")
            op.execute(statement)
