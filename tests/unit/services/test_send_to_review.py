"""requests.send_to_review: the one way a request goes to staff (the rules' reasons at submission,
or a signing failure on the automatic path): its status, its reasons and the audit event together."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ecert.domain.states import IllegalTransition, RequestStatus
from ecert.models import AuditEvent, CertificateRequest
from ecert.services.audit import Actor
from ecert.services.requests import send_to_review

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SYSTEM = Actor("system")


def _request(db, status: RequestStatus, reasons: list[str]) -> CertificateRequest:
    request = CertificateRequest(
        citizen_pid="001090012345",
        open_slot="001090012345",
        status=status,
        form_type=1,
        purpose="Bổ sung hồ sơ xin việc",
        copies=1,
        include_ban_section=False,
        reduced_fee=False,
        phone="0912345678",
        email=None,
        holder={"name": "Nguyễn Văn An"},
        residence_history=[],
        deadline_extended=False,
        fee_vnd=200000,
        submitted_at=NOW,
        due_at=NOW,
        review_reasons=reasons,
    )
    db.add(request)
    db.flush()
    return request


def _events(db, request: CertificateRequest) -> list[AuditEvent]:
    # This request's events only: on PostgreSQL the committed tests leave audit events behind
    # (the table is append-only).
    db.flush()
    query = select(AuditEvent).where(AuditEvent.action == "request.needs_review", AuditEvent.target_id == request.id)
    return list(db.execute(query).scalars())


def test_the_request_waits_with_its_reasons_added_and_recorded(db):
    request = _request(db, RequestStatus.PROCESSING, ["form_2"])
    send_to_review(db, request, ["signing_failed"], actor=SYSTEM)
    assert request.status == RequestStatus.NEEDS_REVIEW
    assert request.review_reasons == ["form_2", "signing_failed"]
    db.commit()
    [event] = _events(db, request)
    assert (event.target_type, event.target_id) == ("request", request.id)
    assert event.details == {"reasons": ["signing_failed"]}


def test_a_request_already_decided_cannot_be_sent_to_review(db):
    request = _request(db, RequestStatus.CANCELLED, [])
    with pytest.raises(IllegalTransition):
        send_to_review(db, request, ["signing_failed"], actor=SYSTEM)
    assert request.review_reasons == []
