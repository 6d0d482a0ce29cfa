"""Ten officers approving the same request at the same moment, on real PostgreSQL connections.

Not inside the per-test rolled-back transaction: each thread has its own connection and its
own transaction, as gunicorn workers would, and everything is committed. The rows made here
belong to a citizen and staff unique to this run and are deleted at the end (audit events are
append-only and stay: the chain must still verify with them in it).
"""
from __future__ import annotations

import secrets
import threading
from typing import Any

import pyotp
import pytest
from sqlalchemy import delete, func, select

from ecert import create_app, security
from ecert.models import Certificate, CertificateRequest, StaffSession, StaffUser
from ecert.services import staff as staff_service
from ecert.services.audit import Actor, verify_chain
from ecert.wiring import resources_of
from tests.support import ON_POSTGRES, form1_payload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs ECERT_TEST_DATABASE_URL=postgresql+psycopg://..."),
]

THREADS = 50
PASSWORD = "concurrency test password"


def _unique_citizen() -> dict[str, str]:
    # 001 = Hà Nội, 0 = male born 19xx, 88 = born 1988, then six random digits.
    return {"pid": f"001088{secrets.randbelow(10**6):06d}", "name": "Vũ Văn Đồng", "birthdate": "1988-04-12",
            "gender": "male"}


@pytest.fixture
def committed_app(provisioned: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(security, "SCRYPT_N", 2**10)
    monkeypatch.setattr(security, "SCRYPT_P", 1)
    # Automatic issuance off: this person's request waits for staff whatever their record.
    app = create_app({**provisioned, "auto_issue": False, "rate_limits": "off"})
    app.config["TESTING"] = True
    made: dict[str, list[str]] = {"staff": [], "requests": []}
    yield app, made
    sessionmaker = resources_of(app).sessionmaker
    with sessionmaker() as session:
        session.execute(delete(Certificate).where(Certificate.request_id.in_(made["requests"])))
        session.execute(delete(CertificateRequest).where(CertificateRequest.id.in_(made["requests"])))
        session.execute(delete(StaffSession).where(StaffSession.staff_id.in_(made["staff"])))
        session.execute(delete(StaffUser).where(StaffUser.id.in_(made["staff"])))
        session.commit()
    resources_of(app).engine.dispose()


def test_concurrent_approvals_issue_exactly_one_certificate(committed_app, token_for):
    app, made = committed_app
    citizen = _unique_citizen()
    client = app.test_client()
    token = token_for(citizen["pid"], citizen["name"], citizen["birthdate"], citizen["gender"])
    history = [{"from": "2002-04", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"}]
    created = client.post("/api/v1/requests", json=form1_payload(residence_history=history),
                          headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.get_json()
    request_id = created.get_json()["id"]
    made["requests"].append(request_id)
    assert created.get_json()["status"] == "needs_review"

    run = secrets.token_hex(4)
    tokens = []
    with resources_of(app).sessionmaker() as session:
        enrolments = [
            staff_service.create_staff(session, f"race.{run}.{i}", "officer", password=PASSWORD,
                                       actor=Actor("cli", "cli:test"))
            for i in range(THREADS)
        ]
        session.commit()
        made["staff"] += [e.user.id for e in enrolments]
    for enrolment in enrolments:
        login = client.post("/api/v1/staff/sessions", json={
            "username": enrolment.user.username, "password": PASSWORD, "totp": pyotp.TOTP(enrolment.totp_secret).now(),
        })
        assert login.status_code == 201, login.get_json()
        tokens.append(login.get_json()["token"])

    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def approve(bearer: str) -> None:
        own_client = app.test_client()  # its own client, session and database connection
        barrier.wait()
        response = own_client.post(f"/api/v1/staff/requests/{request_id}/approve", json={},
                                   headers={"Authorization": f"Bearer {bearer}"})
        with lock:
            results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=approve, args=(bearer,)) for bearer in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == THREADS

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (THREADS - 1), results
    [winner] = [body for status, body in results if status == 200]
    losers = [body for status, body in results if status == 409]
    assert all(b["code"] == "request_already_decided" and b["request_status"] == "issued" for b in losers)
    assert all(b["certificate_id"] == winner["certificate_id"] for b in losers)

    with resources_of(app).sessionmaker() as session:
        count = session.execute(
            select(func.count()).select_from(Certificate).where(Certificate.request_id == request_id)
        ).scalar_one()
        assert count == 1
        assert session.get(CertificateRequest, request_id).status == "issued"
        # Ten transactions appended to the audit chain at once; it must not have forked.
        report = verify_chain(session)
        assert report.ok, report
