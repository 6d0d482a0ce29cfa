"""What the staff console lists beyond the API's own queries: the review queue filtered by form
and province, a certificate's verification history, and whether an account's authenticator was
confirmed at a first sign-in.

Read-only except :func:`confirm_enrolment`, which writes its audit event; the rules (who may,
what a decision does) stay in ``review``, ``revocation`` and ``staff``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.orm import Session

from ecert.domain import rules
from ecert.models import AuditChainHead, AuditEvent, CertificateRequest, StaffUser, VerificationEvent
from ecert.services.audit import Actor, record
from ecert.services.paging import Page, keyset_page
from ecert.services.review import SOONEST_DUE_FIRST

# The events after which an account's authenticator is unconfirmed (a new secret was printed)
# and the one that confirms it.
ENROLMENT_STARTS = ("staff.created", "staff.totp_reset")
ENROLMENT_CONFIRMED = "staff.totp_confirmed"
# A residence period with no end (the current one) in the province passed as $code.
CURRENT_PROVINCE_PATH = "$[*] ? (@.to == null && @.province_code == $code)"


@dataclass(frozen=True)
class QueueFilter:
    status: str = rules.STATUS_NEEDS_REVIEW
    form_type: int | None = None
    province: str | None = None  # the 2-digit code of the current residence


def _current_province(session: Session, code: str) -> ColumnElement[bool]:
    """The request's current residence (the period with no end) is in province ``code``."""
    if session.get_bind().dialect.name == "postgresql":
        return func.jsonb_path_exists(
            cast(CertificateRequest.residence_history, JSONB),
            cast(literal(CURRENT_PROVINCE_PATH), JSONPATH),
            func.jsonb_build_object("code", code),
        )
    periods = func.json_each(CertificateRequest.residence_history).table_valued("value").alias("period")
    return exists(
        select(1)
        .select_from(periods)
        .where(
            func.json_extract(periods.c.value, "$.to").is_(None),
            func.json_extract(periods.c.value, "$.province_code") == code,
        )
    )


def queue(session: Session, wanted: QueueFilter, *, limit: int, cursor: str | None) -> Page[CertificateRequest]:
    """Requests in a status, optionally of one form and one province of current residence, the
    soonest deadline first (so the overdue ones lead), as the API's queue orders them."""
    query = select(CertificateRequest).where(CertificateRequest.status == wanted.status)
    if wanted.form_type is not None:
        query = query.where(CertificateRequest.form_type == wanted.form_type)
    if wanted.province:
        query = query.where(_current_province(session, wanted.province))
    return keyset_page(session, query, SOONEST_DUE_FIRST, limit=limit, cursor=cursor)


def verification_history(session: Session, certificate_id: str, *, limit: int = 50) -> list[VerificationEvent]:
    """A certificate's most recent verifications, newest first."""
    return list(
        session.execute(
            select(VerificationEvent)
            .where(VerificationEvent.certificate_id == certificate_id)
            .order_by(VerificationEvent.checked_at.desc(), VerificationEvent.id.desc())
            .limit(limit)
        ).scalars()
    )


def verification_count(session: Session, certificate_id: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(VerificationEvent)
            .where(VerificationEvent.certificate_id == certificate_id)
        ).scalar_one()
    )


def needs_enrolment_confirmation(session: Session, user: StaffUser) -> bool:
    """True when the account's latest authenticator event is a new secret (``staff create`` or
    ``reset-totp`` printed it) with no confirmation since. An account with no such event at all
    (made before the console existed) is taken as confirmed: its owner has signed in with it."""
    latest = session.execute(
        select(AuditEvent.action)
        .where(
            AuditEvent.target_type == "staff",
            AuditEvent.target_id == user.id,
            AuditEvent.action.in_((*ENROLMENT_STARTS, ENROLMENT_CONFIRMED)),
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return latest in ENROLMENT_STARTS


def confirm_enrolment(session: Session, user: StaffUser, *, actor: Actor, step: int, now: datetime) -> None:
    """Record that the account's owner showed a second, newer code from their authenticator."""
    details: dict[str, Any] = {"username": user.username, "step": step}
    record(session, actor, ENROLMENT_CONFIRMED, target_type="staff", target_id=user.id, details=details, now=now)


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


def chain_head(session: Session) -> ChainHead | None:
    """The audit chain's tip as its head row has it (cheap; ``audit.verify_chain`` checks it)."""
    head = session.get(AuditChainHead, 1)
    return ChainHead(head.last_seq, head.last_hash) if head is not None and head.last_seq else None
