"""The citizen's request: submission, the automatic decision, listing, cancellation.

A submission runs in two phases. :func:`prepare_submission` does everything that only reads, and
all the CPU work (validation, the open-request check, the judicial record, the automatic
decision, and when it issues: the serial, content, token, PDF render and signature), before the
first write and outside the write transaction. :func:`submit` then writes it all in one short
transaction: the request, the certificate, audit and outbox events, the status moves. On SQLite,
where a transaction holds the one write lock from its first statement, a worker no longer holds
it while it renders and signs, so two workers issue side by side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ecert.config import Settings
from ecert.db import utcnow
from ecert.domain import rules
from ecert.domain.content import needs_review_reasons
from ecert.domain.states import RequestStatus, move
from ecert.domain.validation import clean_request, validate_request
from ecert.errors import Conflict, InvalidInput
from ecert.identity import CitizenIdentity
from ecert.models import Certificate, CertificateRequest, new_id
from ecert.services import outbox, records
from ecert.services.audit import Actor, record
from ecert.services.lookup import certificate_ids, get_or_404, lock_or_404
from ecert.services.paging import Ordering, Page, keyset_page

log = logging.getLogger(__name__)


class Issuer(Protocol):
    """The automatic path's issuance (``ecert.services.issuance.AutomaticIssuer``), a parameter so
    that this module never needs to know how signing works."""

    def sign(
        self, session: Session, request: CertificateRequest, person: dict[str, Any] | None, now: datetime
    ) -> Certificate:
        """Before any write: the signed, unsaved certificate; raises when it cannot be made."""
        ...

    def record(
        self, session: Session, request: CertificateRequest, certificate: Certificate, *, actor: Actor, now: datetime
    ) -> bool:
        """In the write transaction: write the certificate, or answer False when what it was
        signed with may no longer sign (nothing is written then)."""
        ...


@dataclass(frozen=True)
class PreparedSubmission:
    """What the read phase decided, nothing written yet.

    ``request`` is the new row, not added to any session (its id is set: the certificate names
    it). ``review_reasons`` is empty when the request is issued at once, and then ``certificate``
    is the signed, unsaved certificate; a signing failure is the review reason
    ``signing_failed``.
    """

    request: CertificateRequest
    now: datetime
    review_reasons: list[str] = field(default_factory=list)
    certificate: Certificate | None = None


def open_request_for(session: Session, personal_id: str) -> CertificateRequest | None:
    return session.execute(
        select(CertificateRequest).where(CertificateRequest.open_slot == personal_id)
    ).scalar_one_or_none()


def open_request_id(session: Session, personal_id: str) -> str | None:
    """The id of the citizen's open request, if any: one column, no object loaded (a submission
    only needs to know whether the slot is taken and name the request that took it)."""
    return session.execute(
        select(CertificateRequest.id).where(CertificateRequest.open_slot == personal_id)
    ).scalar_one_or_none()


def _new_request(
    identity: CitizenIdentity, clean: dict[str, Any], settings: Settings, now: datetime
) -> CertificateRequest:
    """The row for a valid request: the holder as the identity provider knows them, its fee and deadline."""
    extended = rules.deadline_extended(clean["residence_history"])
    reduced = clean["fee_reduction"] is not None
    holder = identity.as_claims()
    if not holder.get("place_of_birth") and clean["place_of_birth"]:
        holder["place_of_birth"] = clean["place_of_birth"]
    return CertificateRequest(
        # Known to be none: issuing it later then needs no query for a previous certificate.
        certificate=None,
        citizen_pid=identity.personal_id,
        open_slot=identity.personal_id,
        status=RequestStatus.SUBMITTED,
        form_type=clean["form_type"],
        purpose=clean["purpose"],
        copies=clean["copies"],
        include_ban_section=clean["include_ban_section"],
        reduced_fee=reduced,
        phone=clean["phone"],
        email=clean["email"],
        holder=holder,
        residence_history=clean["residence_history"],
        deadline_extended=extended,
        fee_vnd=rules.fee_vnd(clean["copies"], reduced),
        submitted_at=now,
        due_at=rules.due_at(now, extended, settings.extra_holidays),
        father_name=clean["father_name"],
        mother_name=clean["mother_name"],
        spouse_name=clean["spouse_name"],
    )


def prepare_submission(
    session: Session,
    identity: CitizenIdentity,
    payload: dict[str, Any],
    *,
    settings: Settings,
    issuer: Issuer | None,
    now: datetime | None = None,
) -> PreparedSubmission:
    """The read phase of a submission: validate, check the open slot, decide, and sign when the
    rules let the request through. ``session`` is only read (the serial is taken in a
    transaction of its own: a failure after it leaves a gap). ``issuer`` None sends every
    request to staff (signing is not set up)."""
    now = now or utcnow()
    # "This month" and "age 14" are Vietnam's calendar, not UTC's.
    errors = validate_request(payload, identity.as_claims(), rules.vietnam_date(now))
    if errors:
        raise InvalidInput(errors)
    existing = open_request_id(session, identity.personal_id)
    if existing is not None:
        raise Conflict("open_request_exists", open_request_id=existing)
    request = _new_request(identity, clean_request(payload), settings, now)
    request.id = new_id()  # the certificate's content names the request before it is written
    person = records.person_record(session, request.citizen_pid)
    reasons = needs_review_reasons(
        request.form_type, request.include_ban_section, person, request.residence_history, now.date()
    )
    if not settings.auto_issue:
        reasons = [*reasons, "automatic_issuance_off"]
    if issuer is None:
        reasons = [*reasons, "signing_unavailable"]
    if reasons:
        return PreparedSubmission(request, now, reasons)
    assert issuer is not None  # without it, signing_unavailable is among the reasons
    try:
        certificate = issuer.sign(session, request, person, now)
    except Exception:
        log.exception("automatic issuance failed for request %s; sent to review", request.id)
        return PreparedSubmission(request, now, ["signing_failed"])
    return PreparedSubmission(request, now, certificate=certificate)


def submit(
    session: Session,
    prepared: PreparedSubmission,
    *,
    actor: Actor,
    issuer: Issuer | None,
) -> CertificateRequest:
    """The write phase: store the prepared request and its decision in ``session``'s transaction.

    What may have changed since the read phase is checked here: another open request of the
    same citizen (the unique open slot: 409 ``open_request_exists``), and the signing key (a key
    revoked or retired meanwhile sends the request to staff with ``signing_failed``, and no
    certificate is written).
    """
    request, now = prepared.request, prepared.now
    try:
        # Added inside the savepoint: losing the race takes the row out of the session again.
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        # Another submission for the same citizen won the race for the open slot.
        raise Conflict("open_request_exists") from None
    record(
        session,
        actor,
        "request.submitted",
        target_type="request",
        target_id=request.id,
        details={"form_type": request.form_type, "fee_vnd": request.fee_vnd, "due_at": request.due_at.isoformat()},
    )
    outbox.emit(session, outbox.EventType.REQUEST_SUBMITTED, sub=request.citizen_pid, request_id=request.id, now=now)
    move(request, RequestStatus.PROCESSING)
    request.review_reasons = []
    reasons = list(prepared.review_reasons)
    if not reasons:
        issued = (
            issuer is not None
            and prepared.certificate is not None
            and issuer.record(session, request, prepared.certificate, actor=actor, now=now)
        )
        if not issued:
            reasons = ["signing_failed"]
    if reasons:
        send_to_review(session, request, reasons, actor=actor)
    return request


def send_to_review(session: Session, request: CertificateRequest, reasons: list[str], *, actor: Actor) -> None:
    """The request waits for staff: ``reasons`` join its review reasons and the event names them."""
    move(request, RequestStatus.NEEDS_REVIEW)
    request.review_reasons = [*(request.review_reasons or []), *reasons]
    session.flush()
    record(
        session,
        actor,
        "request.needs_review",
        target_type="request",
        target_id=request.id,
        details={"reasons": reasons},
    )
    outbox.emit(session, outbox.EventType.REQUEST_IN_REVIEW, sub=request.citizen_pid, request_id=request.id)


def get_for_citizen(session: Session, request_id: str, personal_id: str) -> CertificateRequest:
    """The citizen's own request; another citizen's is "not found" (services/lookup.py)."""
    return get_or_404(session, CertificateRequest, request_id, owner=personal_id)


def cancel(
    session: Session, request_id: str, identity: CitizenIdentity, actor: Actor, now: datetime | None = None
) -> CertificateRequest:
    """Withdraw a request nobody has decided; an already cancelled one is answered as it is
    (issue #10: a retried call must not look like a failure). The row is locked and its status read under the
    lock, as staff decisions do (services/review.py): a cancel racing an approval waits for it
    and then answers 409 request_not_cancellable, instead of overwriting an issued request or
    failing on the version check."""
    request = lock_or_404(session, CertificateRequest, request_id, owner=identity.personal_id)
    if request.status == RequestStatus.CANCELLED:
        return request  # a retried cancel answers like the first, and changes nothing
    if request.status not in rules.CANCELLABLE_STATUSES:
        raise Conflict("request_not_cancellable", request_status=request.status)
    move(request, RequestStatus.CANCELLED)
    request.cancelled_at = now or utcnow()
    request.open_slot = None
    session.flush()
    record(session, actor, "request.cancelled", target_type="request", target_id=request.id)
    outbox.emit(
        session,
        outbox.EventType.REQUEST_CANCELLED,
        sub=request.citizen_pid,
        request_id=request.id,
        now=request.cancelled_at,
    )
    return request


# Newest first; the id breaks ties between requests submitted in the same microsecond.
NEWEST_FIRST = Ordering([CertificateRequest.submitted_at, CertificateRequest.id], descending=True)


def list_for_citizen(session: Session, personal_id: str, *, limit: int, cursor: str | None) -> Page[CertificateRequest]:
    query = select(CertificateRequest).where(CertificateRequest.citizen_pid == personal_id).options(certificate_ids())
    return keyset_page(session, query, NEWEST_FIRST, limit=limit, cursor=cursor)
