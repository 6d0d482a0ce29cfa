"""SQLAlchemy 2.x models: the judicial-record store, requests, certificates, keys, staff, audit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecert.db import Base, UTCDateTime, utcnow
from ecert.domain import rules
from ecert.domain.states import CertificateStatus, KeyStatus, RequestStatus, StaffRole


def new_id() -> str:
    return str(uuid.uuid4())


def stored_by_value(states: type[StrEnum], length: int) -> Enum:
    """A status column holding the enum's values as plain strings: VARCHAR(length), no CHECK
    constraint and no database enum type, so the stored strings and the schema stay as they were
    (``alembic check`` finds nothing to migrate) and a new status needs no migration."""
    return Enum(
        states,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


# --- the judicial-record store -------------------------------------------------------------


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    full_name_ascii: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(6))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    convictions: Mapped[list[Conviction]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Conviction.judgment_date"
    )
    bans: Mapped[list[Ban]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Ban.from_date"
    )


class _PersonEntry:
    """A line of a person's record (a conviction, a ban): deleted with the person. (sort_order: these
    columns come first in the table, as the migrations made them.)"""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-2)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True, sort_order=-1)


class Conviction(_PersonEntry, Base):
    __tablename__ = "convictions"

    court: Mapped[str] = mapped_column(String(300))
    judgment_number: Mapped[str] = mapped_column(String(100))
    judgment_date: Mapped[date] = mapped_column(Date)
    offences: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    principal_penalty: Mapped[str] = mapped_column(String(500))
    additional_penalties: Mapped[list[str]] = mapped_column(JSON, default=list)
    serving_status: Mapped[str] = mapped_column(String(100))
    expunged: Mapped[bool] = mapped_column(Boolean, default=False)
    expunged_at: Mapped[date | None] = mapped_column(Date)
    basis: Mapped[str | None] = mapped_column(String(300))

    person: Mapped[Person] = relationship(back_populates="convictions")


class Ban(_PersonEntry, Base):
    __tablename__ = "bans"

    decision: Mapped[str] = mapped_column(String(300))
    court: Mapped[str] = mapped_column(String(300))
    positions: Mapped[str] = mapped_column(String(500))
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="bans")


# --- requests --------------------------------------------------------------------------------


class CertificateRequest(Base):
    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    citizen_pid: Mapped[str] = mapped_column(String(12), index=True)
    # Equal to citizen_pid while the request is open, NULL after: a unique column that makes
    # "one open request per citizen" hold even for two submissions racing on two workers.
    open_slot: Mapped[str | None] = mapped_column(String(12), unique=True)
    status: Mapped[RequestStatus] = mapped_column(stored_by_value(RequestStatus, 20), index=True)
    form_type: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(500))
    copies: Mapped[int] = mapped_column(Integer)
    include_ban_section: Mapped[bool] = mapped_column(Boolean)
    reduced_fee: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    holder: Mapped[dict[str, Any]] = mapped_column(JSON)
    father_name: Mapped[str | None] = mapped_column(String(100))
    mother_name: Mapped[str | None] = mapped_column(String(100))
    spouse_name: Mapped[str | None] = mapped_column(String(100))
    residence_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    deadline_extended: Mapped[bool] = mapped_column(Boolean, default=False)
    fee_vnd: Mapped[int] = mapped_column(Integer)
    fee_status: Mapped[str] = mapped_column(String(10), default=rules.FEE_STATUS_OWED)
    review_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    refusal_reason: Mapped[str | None] = mapped_column(String(40))
    refusal_note: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    certificate: Mapped[Certificate | None] = relationship(back_populates="request", uselist=False)

    __mapper_args__ = {"version_id_col": version}


class IdempotencyRecord(Base):
    """The first answer to a POST carrying an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- certificates and keys -------------------------------------------------------------------


class SigningKey(Base):
    """A document-signer certificate (DSC). The private key stays in a file (later an HSM)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(16), primary_key=True)  # hex of the 8-byte kid
    certificate_pem: Mapped[str] = mapped_column(Text)
    key_path: Mapped[str] = mapped_column(String(500))
    status: Mapped[KeyStatus] = mapped_column(stored_by_value(KeyStatus, 10), default=KeyStatus.ACTIVE)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CertificateCounter(Base):
    """Per-year serial for readable certificate numbers; the row is locked while one is taken."""

    __tablename__ = "certificate_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), unique=True)
    holder_pid: Mapped[str] = mapped_column(String(12), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    form_type: Mapped[int] = mapped_column(Integer)
    cti: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    verification_code: Mapped[str] = mapped_column(String(12))
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the canonical JSON bytes, exactly
    content_digest: Mapped[bytes] = mapped_column(LargeBinary(16))
    token: Mapped[str] = mapped_column(Text)
    qr_text: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[CertificateStatus] = mapped_column(
        stored_by_value(CertificateStatus, 10), default=CertificateStatus.VALID
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(40))
    revocation_note: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    superseded_by_id: Mapped[str | None] = mapped_column(ForeignKey("certificates.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    request: Mapped[CertificateRequest] = relationship(back_populates="certificate")

    __mapper_args__ = {"version_id_col": version}


class VerificationEvent(Base):
    """One verification: which certificate, when, through which channel, with what outcome.

    No verifier IP or user agent is kept (DESIGN §7).
    """

    __tablename__ = "verification_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    certificate_id: Mapped[str | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(10))  # qr|page|code|pdf|share
    outcome: Mapped[str] = mapped_column(String(20))
    # Who checked, when known: a registered verifier organisation (X-Api-Key) or the holder's
    # share link the check came through. Never an address.
    verifier_id: Mapped[str | None] = mapped_column(ForeignKey("verifier_organisations.id"), index=True)
    share_id: Mapped[str | None] = mapped_column(ForeignKey("share_links.id"), index=True)

    verifier: Mapped[VerifierOrganisation | None] = relationship(lazy="joined")


# --- staff -----------------------------------------------------------------------------------


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[StaffRole] = mapped_column(stored_by_value(StaffRole, 12))
    password_hash: Mapped[str] = mapped_column(String(300))
    totp_secret: Mapped[str] = mapped_column(String(64))
    # The highest TOTP time-step ever accepted: any code at or below it is refused, which makes a
    # code single-use across every worker without a separate table.
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Wrong step-up codes sent with this session: a stolen token gets a few guesses, then ends.
    step_up_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    staff: Mapped[StaffUser] = relationship()


# --- audit -----------------------------------------------------------------------------------


class AuditEvent(Base):
    """An append-only, hash-chained record of every change that matters."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(12))  # citizen|staff|system|cli
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str | None] = mapped_column(String(30))
    target_id: Mapped[str | None] = mapped_column(String(64))
    http_request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Which audit key made ``hash`` (HMAC-SHA256); the key itself is never in the database.
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditChainHead(Base):
    """A single row holding the chain's tip; locking it serialises appends across workers."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class LoginThrottle(Base):
    """Wrong passwords per (username, client address): the growing delay of DESIGN §8.

    Keyed by the normalised username (known or not) and a keyed hash of the address, never the
    address itself. Shared by every worker and host through the database.
    """

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- holder control: verifier organisations, share links (issue 11) ---------------------------


class VerifierOrganisation(Base):
    """A registered verifier (an employer, a bank, an embassy): its checks send ``X-Api-Key``,
    are named to the holder and spend the organisation's own quota.

    The key is ``ev_<id>_<secret>``: looked up by id, then the secret's SHA-256 compared in
    constant time; the secret itself is shown once, at creation, and never stored.
    """

    __tablename__ = "verifier_organisations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    quota: Mapped[str] = mapped_column(String(100))  # a flask-limiter limit, e.g. "600/minute"
    key_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShareLink(Base):
    """A holder's link to one certificate's verdict page, on their terms: an expiry, optionally
    the PDF, optionally a maximum number of uses; revocable at once. Only the secret's SHA-256
    is kept, so the link's URL is shown once, when it is made."""

    __tablename__ = "share_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    include_pdf: Mapped[bool] = mapped_column(Boolean, default=False)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- the change feed and its outbox ------------------------------------------------------------


class OutboxEvent(Base):
    """One change a citizen is told about (DESIGN §11), written in the change's own transaction.

    The same row is the citizen's feed item (``GET /api/v1/events``) and the notification the
    relay delivers to the identity app's gateway (``ecert.services.outbox``). It names the
    citizen (``sub``), the request and the certificate only: no names, no record content.
    No foreign keys: the feed outlives nothing it points at, and it is written on hot paths.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        # The citizen's feed: their events in feed order.
        Index("ix_outbox_events_sub_feed", "sub", "txid", "seq"),
        # The relay's claim: pending events by due time.
        Index("ix_outbox_events_due", "state", "next_attempt_at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The id receivers dedupe on: a UUID, stable across redeliveries.
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    # The writing transaction's id on PostgreSQL (0 on SQLite, whose writers take turns): the
    # feed shows an event only once every older transaction has ended, so no event can appear
    # behind a cursor a reader already holds (services.outbox.feed).
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sub: Mapped[str] = mapped_column(String(12))
    request_id: Mapped[str | None] = mapped_column(String(36))
    certificate_id: Mapped[str | None] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending|delivered|parked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Retries stop this long after this moment (the event's time, or an operator's requeue).
    retry_window_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
