"""Citizens racing each other on real PostgreSQL connections (issue: proof under load).

Each thread has its own client and so its own connection and transaction, as gunicorn workers
would; everything is committed. Rows belong to citizens unique to this run and are deleted at
the end (audit events are append-only and stay).
"""
from __future__ import annotations

import secrets
import threading
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from ecert.models import Certificate, CertificateRequest
from ecert.wiring import resources_of
from tests.support import ON_POSTGRES, form1_payload, history_since_14

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs ECERT_TEST_DATABASE_URL=postgresql+psycopg://..."),
]


def _citizen(serial: int) -> dict[str, str]:
    # 001 Hà Nội, 0 = male born 19xx, 91 = 1991, then a serial unique to this run.
    return {"pid": f"001091{(secrets.randbelow(9000) * 100 + serial) % 10**6:06d}", "name": "Lý Văn Bảo",
            "birthdate": "1991-03-04", "gender": "male"}


def _race(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_fifty_creations_with_one_idempotency_key_make_one_request(committed_app, token_for):
    app, pids = committed_app
    person = _citizen(1)
    pids.append(person["pid"])
    headers = {"Authorization": f"Bearer {token_for(person['pid'], person['name'], person['birthdate'], person['gender'])}",
               "Idempotency-Key": f"race-{secrets.token_hex(6)}"}
    body = form1_payload(residence_history=history_since_14(person["birthdate"]))

    def create(_: int):
        response = app.test_client().post("/api/v1/requests", json=body, headers=headers)
        return response.status_code, response.get_json()

    results = _race(50, create)
    assert all(not isinstance(r, Exception) for r in results), [r for r in results if isinstance(r, Exception)][:3]
    assert {status for status, _ in results} == {201}, {s for s, _ in results}
    assert len({payload["id"] for _, payload in results}) == 1
    with resources_of(app).sessionmaker() as session:
        count = session.scalar(select(func.count()).select_from(CertificateRequest).where(
            CertificateRequest.citizen_pid == person["pid"]))
        certificates = session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.holder_pid == person["pid"]))
    assert count == 1
    assert certificates == 1


def test_twenty_citizens_at_once_lose_and_double_nothing(committed_app, token_for):
    app, pids = committed_app
    people = [_citizen(i) for i in range(20)]
    assert len({p["pid"] for p in people}) == 20
    pids.extend(p["pid"] for p in people)
    tokens = [token_for(p["pid"], p["name"], p["birthdate"], p["gender"]) for p in people]
    body = form1_payload(residence_history=history_since_14(people[0]["birthdate"]))

    def create(i: int):
        response = app.test_client().post("/api/v1/requests", json=body, headers={"Authorization": f"Bearer {tokens[i]}"})
        return response.status_code, response.get_json()

    results = _race(20, create)
    assert all(not isinstance(r, Exception) for r in results)
    assert [status for status, _ in results] == [201] * 20
    assert {payload["status"] for _, payload in results} == {"issued"}
    with resources_of(app).sessionmaker() as session:
        rows = session.execute(select(CertificateRequest.citizen_pid).where(
            CertificateRequest.citizen_pid.in_(pids))).scalars().all()
        numbers = session.execute(select(Certificate.number).where(Certificate.holder_pid.in_(pids))).scalars().all()
    assert sorted(rows) == sorted(pids)
    assert len(numbers) == len(set(numbers)) == 20  # the per-year serial never repeats under load


def test_one_citizen_racing_without_a_key_gets_one_open_request(committed_app, token_for):
    app, pids = committed_app
    person = _citizen(77)
    pids.append(person["pid"])
    headers = {"Authorization": f"Bearer {token_for(person['pid'], person['name'], person['birthdate'], person['gender'])}"}
    # An active conviction is not needed: a two-province history also waits for staff, so the
    # request stays open and every other submission must be refused.
    history = [
        {"from": "2005-03", "to": "2015-12", "address": "1 Lê Lợi, Quận 1, TP HCM", "province_code": "79"},
        {"from": "2016-01", "to": None, "address": "5 Trần Phú, Hải Châu, Đà Nẵng", "province_code": "48"},
    ]
    body = form1_payload(residence_history=history)

    def create(_: int):
        return app.test_client().post("/api/v1/requests", json=body, headers=headers).status_code

    statuses = _race(10, create)
    assert sorted(statuses) == [201] + [409] * 9, statuses
