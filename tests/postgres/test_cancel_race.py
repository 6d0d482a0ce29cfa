"""A citizen cancelling while an officer approves the same request, on real PostgreSQL connections.

Each side has its own connection and transaction, as two gunicorn workers would, and commits for
real. Whoever is second must get a 409 problem (never a 500 from the optimistic version check),
and the request ends either cancelled with no certificate or issued with exactly one: nothing
half-written. Thirty races, because a single one may not interleave the way that used to fail.
"""
from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import pyotp
import pytest
from sqlalchemy import delete, func, select

from ecert import create_app, security
from ecert.models import (
    Certificate,
    CertificateRequest,
    StaffSession,
    StaffUser,
    VerificationEvent,
)
from ecert.services import staff as staff_service
from ecert.services.audit import Actor, verify_chain
from ecert.wiring import resources_of
from tests.support import ON_POSTGRES, form1_payload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs ECERT_TEST_DATABASE_URL=postgresql+psycopg://..."),
]

RACES = 30
# Roughly how long an approval (sign, store, commit) takes here; the cancels are spread over it.
APPROVAL_SECONDS = 0.15
HEAD_START = 0.05
durations: list[float] = []
PASSWORD = "cancel race test password"
HISTORY = [{"from": "2002-04", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"}]


@pytest.fixture
def race_app(provisioned: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(security, "SCRYPT_N", 2**10)
    monkeypatch.setattr(security, "SCRYPT_P", 1)
    # Automatic issuance off: every request waits for staff, where both sides can reach it.
    app = create_app({**provisioned, "auto_issue": False, "rate_limits": "off"})
    app.config["TESTING"] = True
    made: dict[str, list[str]] = {"staff": [], "requests": []}
    yield app, made
    with resources_of(app).sessionmaker() as session:
        certificates = select(Certificate.id).where(Certificate.request_id.in_(made["requests"]))
        session.execute(delete(VerificationEvent).where(VerificationEvent.certificate_id.in_(certificates)))
        session.execute(delete(Certificate).where(Certificate.request_id.in_(made["requests"])))
        session.execute(delete(CertificateRequest).where(CertificateRequest.id.in_(made["requests"])))
        session.execute(delete(StaffSession).where(StaffSession.staff_id.in_(made["staff"])))
        session.execute(delete(StaffUser).where(StaffUser.id.in_(made["staff"])))
        session.commit()
    resources_of(app).engine.dispose()


def _officer_token(app: Any, made: dict[str, list[str]]) -> str:
    with resources_of(app).sessionmaker() as session:
        enrolment = staff_service.create_staff(session, f"cancel.race.{secrets.token_hex(4)}", "officer",
                                               password=PASSWORD, actor=Actor("cli", "cli:test"))
        session.commit()
        made["staff"].append(enrolment.user.id)
    login = app.test_client().post("/api/v1/staff/sessions", json={
        "username": enrolment.user.username, "password": PASSWORD, "totp": pyotp.TOTP(enrolment.totp_secret).now()})
    assert login.status_code == 201, login.get_json()
    return login.get_json()["token"]


def _race(app: Any, cancel_headers: dict[str, str], approve_headers: dict[str, str],
          request_id: str, cancel_delay: float) -> dict[str, tuple[int, Any]]:
    """Both at once; a positive ``cancel_delay`` holds the cancel back, a negative one the approval."""
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, Any]] = {}

    def cancel() -> None:
        client = app.test_client()  # its own session and database connection
        barrier.wait(timeout=30)
        time.sleep(max(cancel_delay, 0))
        response = client.post(f"/api/v1/requests/{request_id}/cancel", headers=cancel_headers)
        results["cancel"] = (response.status_code, response.get_json())

    def approve() -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        time.sleep(max(-cancel_delay, 0))
        started = time.perf_counter()
        response = client.post(f"/api/v1/staff/requests/{request_id}/approve", json={}, headers=approve_headers)
        results["approve"] = (response.status_code, response.get_json())
        durations.append(time.perf_counter() - started)

    threads = [threading.Thread(target=cancel), threading.Thread(target=approve)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_cancel_racing_an_approval_gives_one_winner_and_a_409(race_app, token_for):
    app, made = race_app
    client = app.test_client()
    approve_headers = {"Authorization": f"Bearer {_officer_token(app, made)}"}
    outcomes = {"cancel": 0, "approve": 0}
    for race in range(RACES):
        # 001 Hà Nội, 0 = male born 19xx, 88 = 1988, then six random digits: a citizen of this race only.
        pid = f"001088{secrets.randbelow(10**6):06d}"
        headers = {"Authorization": f"Bearer {token_for(pid, 'Vũ Văn Đồng', '1988-04-12', 'male')}"}
        created = client.post("/api/v1/requests", json=form1_payload(residence_history=HISTORY), headers=headers)
        assert created.status_code == 201, created.get_json()
        request_id = created.get_json()["id"]
        made["requests"].append(request_id)
        assert created.get_json()["status"] == "needs_review"

        # The cancel starts a little later each time: some races it is done before the approval
        # starts, some it reads the row while the approval holds the lock, some after it committed.
        delay = APPROVAL_SECONDS * race / RACES - HEAD_START
        results = _race(app, headers, approve_headers, request_id, delay)
        assert set(results) == {"cancel", "approve"}, results
        statuses = {side: status for side, (status, _) in results.items()}
        assert sorted(statuses.values()) == [200, 409], results
        winner = "cancel" if statuses["cancel"] == 200 else "approve"
        outcomes[winner] += 1
        loser_body = results["approve" if winner == "cancel" else "cancel"][1]
        assert loser_body["status"] == 409
        assert loser_body["code"] in ("request_already_decided", "request_not_cancellable", "concurrent_update")

        with resources_of(app).sessionmaker() as session:
            request = session.get(CertificateRequest, request_id)
            certificates = session.execute(
                select(func.count()).select_from(Certificate).where(Certificate.request_id == request_id)
            ).scalar_one()
            if winner == "cancel":
                assert (request.status, certificates) == ("cancelled", 0)
                assert request.cancelled_at is not None and request.open_slot is None
            else:
                assert (request.status, certificates) == ("issued", 1)
                assert request.cancelled_at is None

    with resources_of(app).sessionmaker() as session:
        report = verify_chain(session)
        assert report.ok, report
    print(f"cancel/approve races won: {outcomes}; approvals took {min(durations):.3f}-{max(durations):.3f} s")
