"""The staff review queue: list the requests the automatic path left, approve or refuse them.

A decision locks the request row first and checks its status after the lock is held: two
officers deciding the same request at once take turns, and the second one sees the first
one's decision (409) instead of issuing a second certificate.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ecert.config import Settings
from ecert.domain import rules
from ecert.errors import Conflict, InvalidInput, NotFound
from ecert.models import CertificateRequest
from ecert.services import records
from ecert.services.audit import Actor, record
from ecert.services.issuance import issue_certificate
from ecert.services.requests import decode_cursor, encode_cursor
from signing.signer import Signer

# Only a request waiting for staff can be decided by staff. ``processing`` exists only inside
# the submitting transaction; the final statuses are somebody's decision already.
REVIEWABLE_STATUSES = frozenset({rules.STATUS_NEEDS_REVIEW})


@dataclass(frozen=True)
class QueuePage:
    items: Sequence[CertificateRequest]
    next_cursor: str | None


def list_queue(session: Session, *, status: str, limit: int, cursor: str | None) -> QueuePage:
    """Requests in ``status``, the oldest deadline first (what is due soonest is worked first)."""
    query = select(CertificateRequest).where(CertificateRequest.status == status)
    if cursor:
        due, item_id = decode_cursor(cursor)
        query = query.where(
            or_(
                CertificateRequest.due_at > due,
                and_(CertificateRequest.due_at == due, CertificateRequest.id > item_id),
            )
        )
    rows = session.execute(
        query.order_by(CertificateRequest.due_at.asc(), CertificateRequest.id.asc()).limit(limit + 1)
    ).scalars().all()
    next_cursor = encode_cursor(rows[limit - 1].due_at, rows[limit - 1].id) if len(rows) > limit else None
    return QueuePage(rows[:limit], next_cursor)


def get_request(session: Session, request_id: str) -> CertificateRequest:
    request = session.get(CertificateRequest, request_id) if 0 < len(request_id or "") <= 36 else None
    if request is None:
        raise NotFound("request_not_found")
    return request


def findings(session: Session, request: CertificateRequest) -> dict[str, Any]:
    """Why the request waits for staff, and the judicial record it was decided on.

    Staff see conviction details: weighing them is their job. The record is read live, so a
    reviewer sees an import that happened after submission.
    """
    return {
        "review_reasons": list(request.review_reasons or []),
        "record": records.person_record(session, request.citizen_pid),
    }


def record_viewed(session: Session, request: CertificateRequest, *, actor: Actor) -> None:
    """Opening a request shows a person's criminal record: who looked, and when, is kept."""
    record(session, actor, "request.viewed", target_type="request", target_id=request.id)


def _lock(session: Session, request_id: str) -> CertificateRequest:
    if not 0 < len(request_id or "") <= 36:
        raise NotFound("request_not_found")
    # populate_existing: if this session loaded the row before the lock, the locked read must
    # replace that stale copy with what the previous lock holder committed.
    request = session.execute(
        select(CertificateRequest)
        .where(CertificateRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None:
        raise NotFound("request_not_found")
    return request


def _ensure_reviewable(request: CertificateRequest) -> None:
    if request.status in rules.FINAL_STATUSES:
        # "status" in a problem document is the HTTP status (RFC 9457): the request's is request_status.
        raise Conflict(
            "request_already_decided",
            request_status=request.status,
            certificate_id=request.certificate.id if request.certificate is not None else None,
            decided_at=request.decided_at.isoformat() if request.decided_at else None,
        )
    if request.status not in REVIEWABLE_STATUSES:
        raise Conflict("request_not_in_review", request_status=request.status)


def approve(
    session: Session,
    request_id: str,
    *,
    signer: Signer,
    settings: Settings,
    actor: Actor,
    now: datetime,
) -> CertificateRequest:
    """Issue the certificate through the same path as the automatic decision."""
    request = _lock(session, request_id)
    _ensure_reviewable(request)
    certificate = issue_certificate(session, request, signer=signer, settings=settings, actor=actor, now=now)
    record(session, actor, "request.approved", target_type="request", target_id=request.id,
           details={"certificate_id": certificate.id, "number": certificate.number,
                    "review_reasons": list(request.review_reasons or [])})
    return request


def refuse(
    session: Session,
    request_id: str,
    *,
    reason: str,
    note: str,
    actor: Actor,
    now: datetime,
) -> CertificateRequest:
    """Refuse with a legal reason (Law 28/2009 art. 49) and a written note the citizen reads."""
    errors: dict[str, list[str]] = {}
    if reason not in rules.REFUSAL_REASON_CODES:
        errors["reason"] = ["invalid_choice"]
    note = (note or "").strip()
    if not note:
        errors["note"] = ["required"]
    elif len(note) > rules.NOTE_MAX:
        errors["note"] = ["too_long"]
    if errors:
        raise InvalidInput(errors)
    request = _lock(session, request_id)
    _ensure_reviewable(request)
    request.status = rules.STATUS_REFUSED
    request.open_slot = None  # the citizen may ask again
    request.decided_at = now
    request.decided_by = actor.id
    request.refusal_reason = reason
    request.refusal_note = note
    session.flush()
    record(session, actor, "request.refused", target_type="request", target_id=request.id,
           details={"reason": reason, "note": note})
    return request
