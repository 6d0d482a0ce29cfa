"""Fixtures for tests that commit for real (racing threads need their own transactions)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from sqlalchemy import delete, select

from ecert import create_app
from ecert.models import (
    Certificate,
    CertificateRequest,
    IdempotencyRecord,
    OutboxEvent,
    ShareLink,
    VerificationEvent,
)
from ecert.wiring import resources_of


@pytest.fixture
def committed_app(provisioned: dict[str, Any]) -> Iterator[tuple[Any, list[str]]]:
    """An app on the real engine, and a list the test fills with the personal IDs it used:
    their requests, certificates, events and idempotency keys are deleted afterwards (audit events
    are append-only and stay; the chain still verifies with them)."""
    app = create_app({**provisioned, "rate_limits": "off"})
    app.config["TESTING"] = True
    pids: list[str] = []
    yield app, pids
    with resources_of(app).sessionmaker() as session:
        request_ids = select(CertificateRequest.id).where(CertificateRequest.citizen_pid.in_(pids))
        cert_ids = select(Certificate.id).where(Certificate.request_id.in_(request_ids))
        session.execute(delete(VerificationEvent).where(VerificationEvent.certificate_id.in_(cert_ids)))
        session.execute(delete(ShareLink).where(ShareLink.certificate_id.in_(cert_ids)))
        session.execute(delete(OutboxEvent).where(OutboxEvent.sub.in_(pids)))
        session.execute(delete(Certificate).where(Certificate.request_id.in_(request_ids)))
        session.execute(delete(CertificateRequest).where(CertificateRequest.citizen_pid.in_(pids)))
        session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.scope.in_([f"citizen:{p}:requests" for p in pids])))
        session.commit()
    resources_of(app).engine.dispose()
