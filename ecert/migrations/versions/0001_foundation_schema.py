"""Foundation schema: record store, requests, certificates, signing keys, staff, audit chain.

Timestamps are stored as naive UTC (ecert.db.UTCDateTime re-attaches the zone).

Revision ID: 0001
Revises:
Create Date: 2026-11-23 14:12:11.510406
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("actor_type", sa.String(length=12), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=30), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("http_request_id", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_events_seq")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index("ix_audit_events_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "certificate_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_certificate_counters")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("personal_id", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("full_name_ascii", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=6), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("personal_id", name=op.f("uq_persons_personal_id")),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_pid", sa.String(length=12), nullable=False),
        sa.Column("open_slot", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("form_type", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("include_ban_section", sa.Boolean(), nullable=False),
        sa.Column("reduced_fee", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("holder", sa.JSON(), nullable=False),
        sa.Column("father_name", sa.String(length=100), nullable=True),
        sa.Column("mother_name", sa.String(length=100), nullable=True),
        sa.Column("spouse_name", sa.String(length=100), nullable=True),
        sa.Column("residence_history", sa.JSON(), nullable=False),
        sa.Column("deadline_extended", sa.Boolean(), nullable=False),
        sa.Column("fee_vnd", sa.Integer(), nullable=False),
        sa.Column("fee_status", sa.String(length=10), nullable=False),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("refusal_reason", sa.String(length=40), nullable=True),
        sa.Column("refusal_note", sa.Text(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("open_slot", name=op.f("uq_requests_open_slot")),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requests_citizen_pid"), ["citizen_pid"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_submitted_at"), ["submitted_at"], unique=False)

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("key_path", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("not_after", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    op.create_table(
        "bans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=300), nullable=False),
        sa.Column("court", sa.String(length=300), nullable=False),
        sa.Column("positions", sa.String(length=500), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_bans_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bans")),
    )
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bans_person_id"), ["person_id"], unique=False)

    op.create_table(
        "certificates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("holder_pid", sa.String(length=12), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("form_type", sa.Integer(), nullable=False),
        sa.Column("cti", sa.LargeBinary(length=16), nullable=False),
        sa.Column("verification_code", sa.String(length=12), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_digest", sa.LargeBinary(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("qr_text", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=40), nullable=True),
        sa.Column("revocation_note", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("superseded_by_id", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["kid"], ["signing_keys.kid"], name=op.f("fk_certificates_kid_signing_keys")),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_certificates_request_id_requests")),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"], ["certificates.id"], name=op.f("fk_certificates_superseded_by_id_certificates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("cti", name=op.f("uq_certificates_cti")),
        sa.UniqueConstraint("number", name=op.f("uq_certificates_number")),
        sa.UniqueConstraint("request_id", name=op.f("uq_certificates_request_id")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_holder_pid"), ["holder_pid"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_kid"), ["kid"], unique=False)

    op.create_table(
        "convictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("court", sa.String(length=300), nullable=False),
        sa.Column("judgment_number", sa.String(length=100), nullable=False),
        sa.Column("judgment_date", sa.Date(), nullable=False),
        sa.Column("offences", sa.JSON(), nullable=False),
        sa.Column("principal_penalty", sa.String(length=500), nullable=False),
        sa.Column("additional_penalties", sa.JSON(), nullable=False),
        sa.Column("serving_status", sa.String(length=100), nullable=False),
        sa.Column("expunged", sa.Boolean(), nullable=False),
        sa.Column("expunged_at", sa.Date(), nullable=True),
        sa.Column("basis", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_convictions_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convictions")),
    )
    with op.batch_alter_table("convictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_convictions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"], name=op.f("fk_staff_sessions_staff_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_staff_sessions_token_sha256")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "verification_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("certificate_id", sa.String(length=36), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_verification_events_certificate_id_certificates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_events")),
    )
    with op.batch_alter_table("verification_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_events_certificate_id"), ["certificate_id"], unique=False)

    # The audit chain starts from a fixed genesis hash; appends lock this one row.
    op.bulk_insert(
        sa.table(
            "audit_chain_head",
            sa.column("id", sa.Integer),
            sa.column("last_seq", sa.BigInteger),
            sa.column("last_hash", sa.String),
        ),
        [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}],
    )


def downgrade() -> None:

    with op.batch_alter_table("verification_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_events_certificate_id"))

    op.drop_table("verification_events")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_staff_id"))

    op.drop_table("staff_sessions")
    with op.batch_alter_table("convictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_convictions_person_id"))

    op.drop_table("convictions")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_kid"))
        batch_op.drop_index(batch_op.f("ix_certificates_holder_pid"))

    op.drop_table("certificates")
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bans_person_id"))

    op.drop_table("bans")
    op.drop_table("staff_users")
    op.drop_table("signing_keys")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requests_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_requests_status"))
        batch_op.drop_index(batch_op.f("ix_requests_due_at"))
        batch_op.drop_index(batch_op.f("ix_requests_citizen_pid"))

    op.drop_table("requests")
    op.drop_table("persons")
    op.drop_table("idempotency_keys")
    op.drop_table("certificate_counters")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_target")
        batch_op.drop_index(batch_op.f("ix_audit_events_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    op.drop_table("audit_chain_head")
