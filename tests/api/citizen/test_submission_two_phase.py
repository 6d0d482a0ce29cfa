"""POST /api/v1/requests in two phases: no write transaction is open while the PDF is rendered and
signed, so on SQLite two workers sign side by side; a failure after the serial leaves a gap; a
key revoked meanwhile writes no certificate; an idempotent replay signs nothing.

The SQLite tests commit for real, each on a database of its own (the suite's fixture holds one
connection in a transaction, which is exactly the write lock they are about).
"""
from __future__ import annotations

import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import select, update

from api import idempotency
from ecert import create_app
from ecert.models import Certificate, CertificateRequest, SigningKey
from ecert.services import issuance
from ecert.wiring import resources_of
from tests.support import ON_POSTGRES, form1_payload, form2_payload, history_since_14

BIRTHDATE = "1991-03-04"
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="the SQLite write lock")


def _pid() -> str:
    return f"001091{secrets.randbelow(10**6):06d}"  # Hà Nội, male, born 1991


def _headers(token_for: Callable[..., str], pid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(pid, 'Lý Văn Bảo', BIRTHDATE, 'male')}"}


def _clean() -> dict[str, Any]:
    return form1_payload(residence_history=history_since_14(BIRTHDATE))


@pytest.fixture
def sqlite_app(provisioned: dict[str, Any], tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """An app on a fresh SQLite file of its own, its real engine, the suite's PKI and key."""
    if ON_POSTGRES:
        pytest.skip("the SQLite write lock")
    path = tmp_path / "two-phase.sqlite3"
    overrides = {**provisioned, "database_url": f"sqlite:///{path}", "database_owner_url": f"sqlite:///{path}"}
    setup = create_app(overrides)
    result = setup.test_cli_runner().invoke(args=["ecert", "init", "--json"])
    assert result.exit_code == 0, result.output
    resources_of(setup).engine.dispose()
    app = create_app(overrides)  # its keystore sees the key that init registered
    app.config["TESTING"] = True
    yield app, path
    resources_of(app).engine.dispose()


def _numbers(app: Any) -> list[str]:
    with resources_of(app).sessionmaker() as session:
        return list(session.scalars(select(Certificate.number).order_by(Certificate.number)))


@sqlite_only
def test_no_write_transaction_is_open_while_the_pdf_is_signed(sqlite_app, token_for, monkeypatch):
    app, path = sqlite_app
    real = issuance.sign_pdf
    probes: list[str] = []

    def sign_pdf(pdf: bytes, signer: Any) -> bytes:
        # Another worker's connection: BEGIN IMMEDIATE fails at once if anyone holds the write lock.
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            probes.append("free")
        finally:
            other.close()
        return real(pdf, signer)

    monkeypatch.setattr(issuance, "sign_pdf", sign_pdf)
    response = app.test_client().post("/api/v1/requests", json=_clean(), headers=_headers(token_for, _pid()))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "issued"
    assert probes == ["free"]


@sqlite_only
def test_two_workers_sign_side_by_side(sqlite_app, token_for, monkeypatch):
    """Each signing waits until the other one is signing too: that can only happen when neither
    holds the write lock while it signs (before, the second waited for the first's commit)."""
    app, _ = sqlite_app
    real = issuance.sign_pdf
    both_signing = threading.Barrier(2, timeout=15)

    def sign_pdf(pdf: bytes, signer: Any) -> bytes:
        both_signing.wait()
        return real(pdf, signer)

    monkeypatch.setattr(issuance, "sign_pdf", sign_pdf)
    headers = [_headers(token_for, _pid()) for _ in range(2)]
    answers: list[Any] = [None, None]

    def submit(i: int) -> None:
        response = app.test_client().post("/api/v1/requests", json=_clean(), headers=headers[i])
        answers[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in answers] == [201, 201], answers
    assert [body["status"] for _, body in answers] == ["issued", "issued"], answers
    assert not both_signing.broken
    assert len(set(_numbers(app))) == 2


@sqlite_only
def test_a_failed_issuance_leaves_a_gap_in_the_serials(sqlite_app, token_for, monkeypatch):
    """The serial is taken in a transaction of its own before signing (docs/decisions.md)."""
    app, _ = sqlite_app
    client = app.test_client()
    assert client.post("/api/v1/requests", json=_clean(), headers=_headers(token_for, _pid())).status_code == 201

    def unplugged(*_args: Any, **_kwargs: Any) -> bytes:
        raise RuntimeError("HSM unplugged")

    with monkeypatch.context() as patch:
        patch.setattr(issuance, "sign_pdf", unplugged)
        failed = client.post("/api/v1/requests", json=_clean(), headers=_headers(token_for, _pid())).get_json()
    assert failed["status"] == "needs_review"
    assert client.post("/api/v1/requests", json=_clean(), headers=_headers(token_for, _pid())).status_code == 201
    first, second = (int(number.rsplit("-", 1)[1]) for number in _numbers(app))
    assert second == first + 2  # the failed one's serial is a gap


@sqlite_only
def test_a_key_revoked_while_signing_writes_no_certificate(sqlite_app, token_for, monkeypatch):
    """`ecert keys revoke` commits on another connection during the render and signature (it can:
    no lock is held then); the write phase sees it and sends the request to staff."""
    app, _ = sqlite_app
    real = issuance.sign_pdf

    def sign_pdf(pdf: bytes, signer: Any) -> bytes:
        with resources_of(app).sessionmaker() as other:
            other.execute(update(SigningKey).values(status="revoked"))
            other.commit()
        return real(pdf, signer)

    monkeypatch.setattr(issuance, "sign_pdf", sign_pdf)
    pid = _pid()
    body = app.test_client().post("/api/v1/requests", json=_clean(), headers=_headers(token_for, pid)).get_json()
    assert body["status"] == "needs_review"
    assert body["certificate_id"] is None
    with resources_of(app).sessionmaker() as session:
        request = session.scalars(select(CertificateRequest).where(CertificateRequest.citizen_pid == pid)).one()
        assert request.review_reasons == ["signing_failed"]
    assert _numbers(app) == []


# --- Idempotency-Key: replays are answered from a read (the suite's usual app) ------------------


def _count_signatures(monkeypatch) -> list[int]:
    signed: list[int] = []
    real = issuance.sign_pdf
    monkeypatch.setattr(issuance, "sign_pdf", lambda pdf, signer: signed.append(1) or real(pdf, signer))
    return signed


def test_an_idempotent_replay_signs_nothing(client, token_for, monkeypatch):
    signed = _count_signatures(monkeypatch)
    headers = {**_headers(token_for, _pid()), "Idempotency-Key": "sign-once"}
    first = client.post("/api/v1/requests", json=_clean(), headers=headers)
    assert first.status_code == 201
    assert first.get_json()["status"] == "issued"
    assert signed == [1]
    again = client.post("/api/v1/requests", json=_clean(), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    other_body = client.post("/api/v1/requests", json={**_clean(), "purpose": "Du học"}, headers=headers)
    assert other_body.status_code == 409
    assert other_body.get_json()["code"] == "idempotency_key_reused"
    assert signed == [1]


def test_a_retry_that_met_the_first_requests_open_slot_is_replayed(client, token_for, monkeypatch):
    """The retry looked the key up just before the first request committed, then met its open
    request: the key is looked up again and the first answer replayed, not 409."""
    headers = {**_headers(token_for, _pid()), "Idempotency-Key": "slow-first"}
    payload = form2_payload(residence_history=history_since_14(BIRTHDATE))  # stays open (review)
    first = client.post("/api/v1/requests", json=payload, headers=headers)
    assert first.status_code == 201
    real_find = idempotency._find
    calls: list[int] = []

    def find(*args: Any) -> Any:
        calls.append(1)
        return None if len(calls) == 1 else real_find(*args)  # the first look-up is "too early"

    monkeypatch.setattr(idempotency, "_find", find)
    again = client.post("/api/v1/requests", json=payload, headers=headers)
    assert again.status_code == 201, again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]


def test_without_a_key_an_open_request_is_still_409(client, token_for):
    headers = _headers(token_for, _pid())
    payload = form2_payload(residence_history=history_since_14(BIRTHDATE))
    assert client.post("/api/v1/requests", json=payload, headers=headers).status_code == 201
    again = client.post("/api/v1/requests", json=payload, headers=headers)
    assert again.status_code == 409
    assert again.get_json()["code"] == "open_request_exists"
