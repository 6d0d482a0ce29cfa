"""Openings of one share link racing for its last use, on real PostgreSQL connections: exactly
``max_uses`` of them see the certificate, every other one gets the 410 "used up" page, and the
holder's log holds exactly one ``share`` check per counted use (ecert.services.shares.record_share_use's
conditional UPDATE; a read-then-write would let several through)."""
from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from ecert.models import ShareLink, VerificationEvent
from ecert.wiring import resources_of
from tests.support import ON_POSTGRES, PUBLIC_BASE_URL, form1_payload, history_since_14

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs ECERT_TEST_DATABASE_URL=postgresql+psycopg://..."),
]

OPENINGS = 12
MAX_USES = 2


def test_racing_openings_never_exceed_max_uses(committed_app, token_for):
    app, pids = committed_app
    pid = f"001091{secrets.randbelow(10**6):06d}"
    pids.append(pid)
    headers = {"Authorization": f"Bearer {token_for(pid, 'Lý Văn Bảo', '1991-03-04', 'male')}"}
    client = app.test_client()
    created = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14("1991-03-04")),
                          headers=headers).get_json()
    assert created["status"] == "issued", created
    shared = client.post(f"/api/v1/certificates/{created['certificate_id']}/shares",
                         json={"expires_in_hours": 1, "max_uses": MAX_USES}, headers=headers).get_json()
    path = shared["url"][len(PUBLIC_BASE_URL):]

    barrier = threading.Barrier(OPENINGS)
    statuses: list[Any] = [None] * OPENINGS

    def open_page(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            statuses[i] = app.test_client().get(path).status_code
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            statuses[i] = exc

    threads = [threading.Thread(target=open_page, args=(i,)) for i in range(OPENINGS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses) == [200] * MAX_USES + [410] * (OPENINGS - MAX_USES), statuses
    with resources_of(app).sessionmaker() as session:
        assert session.get(ShareLink, shared["id"]).uses == MAX_USES
        logged = session.scalar(select(func.count()).select_from(VerificationEvent).where(
            VerificationEvent.share_id == shared["id"]))
        assert logged == MAX_USES
