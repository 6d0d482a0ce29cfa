"""Revocation during a burst of verifications: every verification that starts after the
revocation commits says `revoked` (no cache in front of status)."""
from __future__ import annotations

import secrets
import threading
import time

import pytest
from sqlalchemy import update

from ecert.db import utcnow
from ecert.models import Certificate
from ecert.wiring import resources_of
from tests.support import ON_POSTGRES, form1_payload, history_since_14

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs ECERT_TEST_DATABASE_URL=postgresql+psycopg://..."),
]


def test_every_verification_after_the_revocation_commit_says_revoked(committed_app, token_for):
    app, pids = committed_app
    pid = f"001093{secrets.randbelow(10**6):06d}"
    pids.append(pid)
    token = token_for(pid, "Tạ Văn Hải", "1993-08-08", "male")
    created = app.test_client().post("/api/v1/requests", json=form1_payload(residence_history=history_since_14("1993-08-08")),
                                     headers={"Authorization": f"Bearer {token}"}).get_json()
    assert created["status"] == "issued", created
    with resources_of(app).sessionmaker() as session:
        qr_text = session.get(Certificate, created["certificate_id"]).qr_text

    stop = threading.Event()
    results: list[tuple[float, float, str]] = []
    lock = threading.Lock()

    def verify() -> None:
        client = app.test_client()
        while not stop.is_set():
            started = time.monotonic()
            outcome = client.post("/api/v1/verifications", json={"qr": qr_text}).get_json()["outcome"]
            with lock:
                results.append((started, time.monotonic(), outcome))

    threads = [threading.Thread(target=verify) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    with resources_of(app).sessionmaker() as session:
        session.execute(update(Certificate).where(Certificate.id == created["certificate_id"]).values(
            status="revoked", revoked_at=utcnow(), revocation_reason="issued_in_error"))
        session.commit()
    committed_at = time.monotonic()
    time.sleep(0.8)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    before = [o for s, e, o in results if e < committed_at]
    after = [o for s, e, o in results if s > committed_at]
    assert before and after, (len(before), len(after))
    assert set(before) == {"valid"}
    assert set(after) == {"revoked"}, after
