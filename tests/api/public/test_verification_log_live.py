"""The batched verification log under a real gunicorn: events wait for their batch, and a graceful
stop (SIGTERM) writes every one of them before the workers exit."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from ecert.config import DEV_IDP_AUDIENCE, DEV_IDP_ISSUER
from ecert.dev.idp import issue_dev_token
from tests.support import ON_POSTGRES, TEST_DATABASE_URL, form1_payload

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _get(url: str, headers: dict | None = None) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[tuple[str, Callable[[], int]]]:
    """(ECERT_DATABASE_URL, a count of verification events): a file, or a throwaway database."""
    if request.param == "sqlite":
        path = tmp_path / "events.sqlite3"

        def count_sqlite() -> int:
            with sqlite3.connect(path) as conn:
                return conn.execute("SELECT count(*) FROM verification_events").fetchone()[0]

        yield f"sqlite:///{path}", count_sqlite
        return
    if not ON_POSTGRES:
        pytest.skip("needs PostgreSQL (ECERT_TEST_DATABASE_URL)")
    name = f"ecert_vlog_{secrets.token_hex(4)}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)

    def count_postgres() -> int:
        engine = create_engine(url)
        with engine.connect() as conn:
            found = conn.execute(text("SELECT count(*) FROM verification_events")).scalar_one()
        engine.dispose()
        return found

    yield url, count_postgres
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _wait_ready(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn stopped"
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn not ready in time")


def test_sigterm_writes_every_queued_verification_event(tmp_path, database):
    database_url, events = database
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECERT_")}
    env.update(
        ECERT_ENV="development",
        ECERT_INSTANCE_DIR=str(instance),
        ECERT_BIND=f"127.0.0.1:{port}",
        ECERT_WORKERS="2",
        ECERT_RATE_LIMITS="off",
        ECERT_PUBLIC_BASE_URL=base,
        ECERT_LOG_JSON="off",
        ECERT_VERIFICATION_LOG_SECONDS="5",
        ECERT_DATABASE_URL=database_url,
    )
    for command in (["init"], ["seed-demo"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "ecert", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(base, process)
        token = issue_dev_token(
            instance / "idp",
            issuer=DEV_IDP_ISSUER,
            audience=DEV_IDP_AUDIENCE,
            personal_id="001090012345",
            name="Nguyễn Văn An",
            birthdate=date(1990, 5, 17),
            gender="male",
        )
        headers = {"Authorization": f"Bearer {token}"}
        created = _post(f"{base}/api/v1/requests", form1_payload(), headers)
        assert created["status"] == "issued", created
        qr = _get(f"{base}/api/v1/certificates/{created['certificate_id']}", headers)["qr_text"]
        started = time.monotonic()
        for _ in range(30):
            assert _post(f"{base}/api/v1/verifications", {"qr": qr})["outcome"] == "valid"
        if time.monotonic() - started < 4:
            assert events() == 0  # queued for their batch (one every 5 s)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        assert events() == 30
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
