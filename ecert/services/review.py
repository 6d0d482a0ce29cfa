"""The staff review queue: list the requests the automatic path left, approve or refuse them.

A decision locks the request row first and checks its status after the lock is held: two
officers deciding the same request at once take turns, and the second one sees the first
one's decision (409) instead of issuing a second certificate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecert.config import Settings
from ecert.domain import rules
from ecert.domain.permissions import Permission
from ecert.domain.states import RequestStatus, move
from ecert.errors import Conflict, InvalidInput
from ecert.models import CertificateRequest
from ecert.services import outbox, records
from ecert.services.audit import Actor, record
from ecert.services.authorization import authorize
from ecert.services.issuance import issue_certificate
from ecert.services.lookup import certificate_ids, get_or_404, lock_or_404
from ecert.services.paging import Ordering, Page, keyset_page
from signing.signer import Signer

# Only a request waiting for staff can be decided by staff. ``processing`` exists only inside
# the submitting transaction; the final statuses are somebody's decision already.
REVIEWABLE_STATUSES = frozenset({rules.STATUS_NEEDS_REVIEW})


# The soonest deadline first; the id breaks ties between requests due at the same moment.
SOONEST_DUE_FIRST = Ordering([CertificateRequest.due_at, CertificateRequest.id])


def list_queue(session: Session, *, status: str, limit: int, cursor: str | None) -> Page[CertificateRequest]:
    """Requests in ``status``, the oldest deadline first (what is due soonest is worked first)."""
    query = select(CertificateRequest).where(CertificateRequest.status == status).options(certificate_ids())
    return keyset_page(session, query, SOONEST_DUE_FIRST, limit=limit, cursor=cursor)


def get_request(session: Session, request_id: str) -> CertificateRequest:
    return get_or_404(session, CertificateRequest, request_id)


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
    authorize(session, actor, Permission.APPROVE)
    request = lock_or_404(session, CertificateRequest, request_id)
    _ensure_reviewable(request)
    certificate = issue_certificate(session, request, signer=signer, settings=settings, actor=actor, now=now)
    record(
        session,
        actor,
        "request.approved",
        target_type="request",
        target_id=request.id,
        details={
            "certificate_id": certificate.id,
            "number": certificate.number,
            "review_reasons": list(request.review_reasons or []),
        },
    )
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
    authorize(session, actor, Permission.REFUSE)
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
    request = lock_or_404(session, CertificateRequest, request_id)
    _ensure_reviewable(request)
    move(request, RequestStatus.REFUSED)
    request.open_slot = None  # the citizen may ask again
    request.decided_at = now
    request.decided_by = actor.id
    request.refusal_reason = reason
    request.refusal_note = note
    session.flush()
    record(
        session,
        actor,
        "request.refused",
        target_type="request",
        target_id=request.id,
        details={"reason": reason, "note": note},
    )
    outbox.emit(session, outbox.EventType.REQUEST_REFUSED, sub=request.citizen_pid, request_id=request.id, now=now)
    return request
