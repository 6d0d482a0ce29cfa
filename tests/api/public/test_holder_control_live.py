"""Issue 11 under a real gunicorn with the batched verification log on (SQLite and PostgreSQL):
an organisation's key is checked in the request's reading session, its checks reach the log
through the batch writer still naming it, and a share link's use is counted and logged in its
own transaction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from ecert.config import DEV_IDP_AUDIENCE, DEV_IDP_ISSUER
from ecert.dev.idp import issue_dev_token
from tests.api.public.test_verification_log_live import BIN, ROOT, _free_port, _get, _post, _wait_ready
from tests.api.public.test_verification_log_live import database  # noqa: F401 - the fixture
from tests.support import form1_payload

pytestmark = pytest.mark.slow


def _status(url: str, body: dict, headers: dict) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_organisations_and_share_links_live(tmp_path, database):
    database_url, _events = database
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECERT_")}
    env.update(ECERT_ENV="development", ECERT_INSTANCE_DIR=str(instance), ECERT_BIND=f"127.0.0.1:{port}",
               ECERT_WORKERS="2", ECERT_RATE_LIMITS="off", ECERT_PUBLIC_BASE_URL=base, ECERT_LOG_JSON="off",
               ECERT_VERIFICATION_LOG_SECONDS="5", ECERT_DATABASE_URL=database_url)

    def flask(*args: str) -> str:
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "ecert", *args], cwd=ROOT, env=env, check=True,
                              capture_output=True, timeout=120, text=True)
        return done.stdout

    flask("init")
    flask("seed-demo")
    org = json.loads(flask("verifiers", "create", "--name", "Live Bank", "--json"))
    process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(base, process)
        token = issue_dev_token(instance / "idp", issuer=DEV_IDP_ISSUER, audience=DEV_IDP_AUDIENCE,
                                personal_id="001090012345", name="Nguyễn Văn An", birthdate=date(1990, 5, 17),
                                gender="male")
        headers = {"Authorization": f"Bearer {token}"}
        created = _post(f"{base}/api/v1/requests", form1_payload(), headers)
        cert_id = created["certificate_id"]
        qr = _get(f"{base}/api/v1/certificates/{cert_id}", headers)["qr_text"]
        for _ in range(3):
            assert _status(f"{base}/api/v1/verifications", {"qr": qr}, {"X-Api-Key": org["api_key"]}) == 200
        assert _status(f"{base}/api/v1/verifications", {"qr": qr}, {"X-Api-Key": org["api_key"] + "x"}) == 401
        share = _post(f"{base}/api/v1/certificates/{cert_id}/shares", {"expires_in_hours": 1, "max_uses": 1}, headers)
        with urllib.request.urlopen(share["url"], timeout=30) as page:
            assert page.status == 200
        with pytest.raises(urllib.error.HTTPError) as gone:
            urllib.request.urlopen(share["url"], timeout=30)
        assert gone.value.code == 410
        process.send_signal(signal.SIGTERM)  # a graceful stop writes the queued batch
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, verifier_id, share_id FROM verification_events")).all()
    engine.dispose()
    assert sorted((r.channel, r.verifier_id, r.share_id) for r in rows) == sorted(
        [("qr", org["id"], None)] * 3 + [("share", None, share["id"])]
    )
