"""Faults against a real gunicorn and PostgreSQL: the database going away, a worker killed
mid-issuance. Slow-ish (a few seconds each); run on PostgreSQL only (CI sets it)."""
from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from ecert.dev.idp import issue_dev_token
from tests.faults.tcp_proxy import TcpProxy
from tests.support import ON_POSTGRES, TEST_DATABASE_URL, form1_payload, history_since_14

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs ECERT_TEST_DATABASE_URL=postgresql+psycopg://..."),
]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method: str, url: str, body: Any = None, headers: dict | None = None, timeout: float = 10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


class Service:
    """A throwaway database, instance dir and gunicorn, reaching PostgreSQL through a proxy."""

    def __init__(self, tmp: Path, workers: int) -> None:
        base = urlsplit(TEST_DATABASE_URL)
        self.db_name = f"ecert_faults_{secrets.token_hex(4)}"
        admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        admin.dispose()
        self.direct_url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{self.db_name}"
        self.proxy = TcpProxy(base.hostname or "127.0.0.1", base.port or 5432)
        proxied = base._replace(netloc=f"{base.username}@127.0.0.1:{self.proxy.port}" if base.username else f"127.0.0.1:{self.proxy.port}")
        self.proxied_url = proxied._replace(path=f"/{self.db_name}").geturl()
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.instance = tmp / "instance"
        self.env = {
            **os.environ,
            "ECERT_ENV": "development",
            "ECERT_INSTANCE_DIR": str(self.instance),
            "ECERT_DATABASE_URL": self.proxied_url,
            "ECERT_BIND": f"127.0.0.1:{self.port}",
            "ECERT_WORKERS": str(workers),
            "ECERT_RATE_LIMITS": "off",
            "ECERT_PUBLIC_BASE_URL": self.base,
        }
        for command in (["init"], ["seed-demo"]):
            subprocess.run([str(BIN / "flask"), "--app", "wsgi", "ecert", *command], cwd=ROOT, env=self.env,
                           check=True, capture_output=True, timeout=120)
        self.log = open(tmp / "gunicorn.log", "wb")
        self.process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                                        env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if _http("GET", f"{self.base}/readyz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("service not ready in time")

    def token(self, pid: str, birthdate: str) -> str:
        from ecert.config import DEV_IDP_AUDIENCE, DEV_IDP_ISSUER

        return issue_dev_token(self.instance / "idp", issuer=DEV_IDP_ISSUER, audience=DEV_IDP_AUDIENCE,
                               personal_id=pid, name="Đặng Văn Lợi", birthdate=date.fromisoformat(birthdate),
                               gender="male")

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def query(self, sql: str) -> list[tuple]:
        engine = create_engine(self.direct_url)
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text(sql))]
        engine.dispose()
        return rows

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        self.proxy.close()
        admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[Service] = []

    def make(workers: int = 2) -> Service:
        made.append(Service(tmp_path, workers))
        return made[-1]

    yield make
    for service in made:
        service.stop()


def _citizen(serial: int) -> tuple[str, str]:
    return f"001089{serial:06d}", "1989-06-01"


def test_database_outage_gives_503_problems_and_recovers_by_itself(service_factory):
    service = service_factory(workers=2)
    stop = threading.Event()
    seen: list[tuple[str, int, str, bytes]] = []
    serial = iter(range(1, 10_000))

    def load() -> None:
        while not stop.is_set():
            pid, born = _citizen(next(serial))
            headers = {"Authorization": f"Bearer {service.token(pid, born)}"}
            for name, method, path, body in (
                ("readyz", "GET", "/readyz", None),
                ("create", "POST", "/api/v1/requests", form1_payload(residence_history=history_since_14(born))),
                ("list", "GET", "/api/v1/requests", None),
                # fails closed: a verdict that needs the database is status_unavailable, never valid
                ("verify", "POST", "/api/v1/verifications", {"qr": service.base + "/v/not-a-token"}),
            ):
                try:
                    status, ctype, payload = _http(method, service.base + path, body, headers, timeout=15)
                except OSError as exc:
                    seen.append((name, -1, type(exc).__name__, b""))
                    continue
                seen.append((name, status, ctype, payload))

    workers = [threading.Thread(target=load) for _ in range(3)]
    for t in workers:
        t.start()
    time.sleep(1.5)
    service.proxy.cut()
    outage_started = len(seen)
    time.sleep(3)
    during = seen[outage_started:]
    service.proxy.restore()
    time.sleep(1)
    stop.set()
    for t in workers:
        t.join(timeout=30)

    statuses = {status for _, status, _, _ in seen}
    assert 500 not in statuses, [s for s in seen if s[1] == 500][:2]
    assert -1 not in statuses, "the server dropped a connection"
    problems = [s for s in during if s[1] == 503]
    assert problems, "no 503 during the outage"
    for name, _, ctype, payload in problems:
        if name != "readyz":
            assert ctype.startswith("application/problem+json"), (name, ctype)
        assert b"Traceback" not in payload and b"psycopg" not in payload and b"sqlalchemy" not in payload
    assert any(name == "readyz" and status == 503 for name, status, _, _ in during)
    for name, status, _, payload in seen:
        if name == "verify":
            assert status == 200 and json.loads(payload)["outcome"] == "malformed"

    service.wait_ready(timeout=30)  # the pool reconnects by itself
    pid, born = _citizen(99_999)
    status, _, body = _http("POST", service.base + "/api/v1/requests",
                            form1_payload(residence_history=history_since_14(born)),
                            {"Authorization": f"Bearer {service.token(pid, born)}"})
    assert status == 201, body
    assert json.loads(body)["status"] == "issued"


def test_worker_killed_mid_issuance_leaves_no_half_certificate(service_factory):
    service = service_factory(workers=1)
    rng = random.Random(7)
    kills = 0
    for attempt in range(6):
        pid, born = _citizen(500 + attempt)
        headers = {"Authorization": f"Bearer {service.token(pid, born)}"}
        result: dict[str, Any] = {}

        def submit() -> None:
            try:
                result["status"] = _http("POST", service.base + "/api/v1/requests",
                                         form1_payload(residence_history=history_since_14(born)), headers, timeout=20)[0]
            except OSError as exc:
                result["status"] = type(exc).__name__

        thread = threading.Thread(target=submit)
        thread.start()
        time.sleep(rng.uniform(0.02, 0.15))  # somewhere inside validation, rendering or signing
        for worker in service.workers():
            os.kill(worker, signal.SIGKILL)
            kills += 1
        thread.join(timeout=30)
        service.wait_ready(timeout=30)  # the master starts a new worker

    assert kills >= 6
    half = service.query("SELECT count(*) FROM certificates WHERE pdf IS NULL OR length(pdf) = 0")
    stuck = service.query("SELECT count(*) FROM requests WHERE status IN ('submitted', 'processing')")
    orphan = service.query(
        "SELECT count(*) FROM requests r LEFT JOIN certificates c ON c.request_id = r.id "
        "WHERE r.status = 'issued' AND c.id IS NULL")
    assert half == [(0,)]
    assert stuck == [(0,)]
    assert orphan == [(0,)]
    # and the audit chain is whole after the kills
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "ecert", "audit", "verify"], cwd=ROOT,
                            env={**service.env, "ECERT_DATABASE_URL": service.direct_url}, capture_output=True,
                            timeout=60)
    if b"No such command" not in result.stderr:
        assert result.returncode == 0, result.stdout + result.stderr
