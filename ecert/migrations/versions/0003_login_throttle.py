"""Staff login throttling per username and client address; step-up failures per session

Wrong passwords no longer count towards the account lockout (a stranger who knows a username
could lock its owner out): they are counted per (username, keyed hash of the client address) in
``login_throttles``, which every worker and host shares. Wrong step-up codes are counted per
session (``staff_sessions.step_up_failures``), so a stolen session token ends after a few
guesses without locking the account.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("username", "address_hash", name=op.f("pk_login_throttles")),
    )
    # Pruning deletes by age on every recorded failure: it must not scan the table.
    op.create_index(op.f("ix_login_throttles_last_failure_at"), "login_throttles", ["last_failure_at"])
    # A plain ADD COLUMN (no batch mode) on both backends: existing sessions start at 0.
    op.add_column(
        "staff_sessions",
        sa.Column("step_up_failures", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.drop_column("step_up_failures")
    op.drop_index(op.f("ix_login_throttles_last_failure_at"), table_name="login_throttles")
    op.drop_table("login_throttles")
