"""Holder control: verifier organisations, share links, and who made each verification

``verifier_organisations`` holds the registered verifiers (their API key only as a SHA-256),
``share_links`` a holder's links to one certificate (the secret only as a SHA-256), and each
verification event may name the organisation or the share link it came through. The index on
``verification_events.checked_at`` serves the retention command, which deletes by age.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_organisations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("quota", sa.String(length=100), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifier_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_verifier_organisations_name")),
    )
    op.create_table(
        "share_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("certificate_id", sa.String(length=36), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("include_pdf", sa.Boolean(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_share_links_certificate_id_certificates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
    )
    op.create_index(op.f("ix_share_links_certificate_id"), "share_links", ["certificate_id"])
    # Batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("verification_events") as batch_op:
        batch_op.add_column(sa.Column("verifier_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("share_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_verification_events_verifier_id_verifier_organisations"),
            "verifier_organisations",
            ["verifier_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            op.f("fk_verification_events_share_id_share_links"), "share_links", ["share_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_verification_events_verifier_id"), ["verifier_id"])
        batch_op.create_index(op.f("ix_verification_events_share_id"), ["share_id"])
        batch_op.create_index(op.f("ix_verification_events_checked_at"), ["checked_at"])


def downgrade() -> None:
    with op.batch_alter_table("verification_events") as batch_op:
        batch_op.drop_index(op.f("ix_verification_events_checked_at"))
        batch_op.drop_index(op.f("ix_verification_events_share_id"))
        batch_op.drop_index(op.f("ix_verification_events_verifier_id"))
        batch_op.drop_constraint(op.f("fk_verification_events_share_id_share_links"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_verification_events_verifier_id_verifier_organisations"), type_="foreignkey")
        batch_op.drop_column("share_id")
        batch_op.drop_column("verifier_id")
    op.drop_index(op.f("ix_share_links_certificate_id"), table_name="share_links")
    op.drop_table("share_links")
    op.drop_table("verifier_organisations")
