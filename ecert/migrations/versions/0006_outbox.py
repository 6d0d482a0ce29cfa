"""The change feed and its outbox: one row per change a citizen is told about

Written in the same transaction as the change (services/outbox.emit); read by the citizen's
feed (GET /api/v1/events) and by the relay that delivers each row to the identity app's
notification gateway (docs/notifications.md). The app role gets its privileges on the new
table from ``ecert.migrate.grant_app_role``, which runs after every upgrade.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("sub", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("certificate_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("retry_window_from", sa.DateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("parked_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_events_id")),
    )
    op.create_index("ix_outbox_events_sub_feed", "outbox_events", ["sub", "txid", "seq"])
    op.create_index("ix_outbox_events_due", "outbox_events", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_events_due", table_name="outbox_events")
    op.drop_index("ix_outbox_events_sub_feed", table_name="outbox_events")
    op.drop_table("outbox_events")
