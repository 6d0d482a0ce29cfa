"""A live ecert server on 127.0.0.1:<free port>, for the browser and the CLI.

Unlike the API tests (one rolled-back transaction each), a real client talks to a real server
here, so the server gets a real committed database of its own: a fresh SQLite file, migrated by
``upgrade_head``, then ``ecert init`` and ``ecert seed-demo`` through the CLI runner, in its own
instance directory (its own PKI and identity provider). SQLite even when the suite runs on
PostgreSQL: the PostgreSQL test database belongs to the rolled-back tests.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

from ecert import create_app
from ecert.db import utcnow
from ecert.dev.idp import issue_dev_token
from ecert.migrate import upgrade_head
from ecert.models import Certificate
from ecert.wiring import resources_of
from tests.support import IDP_AUDIENCE, IDP_ISSUER, PUBLIC_BASE_URL, form1_payload, history_since_14

AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
BINH = {"pid": "079185001234", "name": "Trần Thị Bình", "birthdate": "1985-11-02", "gender": "female"}


@dataclass
class LiveServer:
    url: str
    app: Any
    certificates: dict[str, dict[str, Any]] = field(default_factory=dict)


def _issue(app: Any, instance: Path, person: dict[str, str]) -> dict[str, Any]:
    token = issue_dev_token(instance / "idp", issuer=IDP_ISSUER, audience=IDP_AUDIENCE, personal_id=person["pid"],
                            name=person["name"], birthdate=date.fromisoformat(person["birthdate"]),
                            gender=person["gender"])
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    body = client.post("/api/v1/requests", headers=headers,
                       json=form1_payload(residence_history=history_since_14(person["birthdate"]))).get_json()
    assert body.get("status") == "issued", body
    return client.get(f"/api/v1/certificates/{body['certificate_id']}", headers=headers).get_json()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("live-instance")
    database_url = f"sqlite:///{instance / 'live.sqlite3'}"
    upgrade_head(database_url)
    overrides = {
        "env": "development",
        "database_url": database_url,
        "instance_dir": instance,
        "pki_dir": instance / "pki",
        "idp_jwks": str(instance / "idp" / "jwks.json"),
        "idp_issuer": IDP_ISSUER,
        "idp_audience": IDP_AUDIENCE,
        "public_base_url": PUBLIC_BASE_URL,
        "secret_key": "live-server-secret-key-that-is-long-enough-0123456789",
        "rate_limits": "off",
        "auto_issue": True,
        "log_json": False,
    }
    result = create_app(overrides).test_cli_runner().invoke(args=["ecert", "init"])
    assert result.exit_code == 0, result.output
    app = create_app(overrides)  # after init: the keystore loads the PKI it made
    result = app.test_cli_runner().invoke(args=["ecert", "seed-demo"])
    assert result.exit_code == 0, result.output

    live = LiveServer(url="", app=app)
    live.certificates["valid"] = _issue(app, instance, AN)
    live.certificates["revoked"] = _issue(app, instance, BINH)
    with resources_of(app).sessionmaker() as session:
        cert = session.get(Certificate, live.certificates["revoked"]["id"])
        cert.status, cert.revoked_at, cert.revocation_reason = "revoked", utcnow(), "issued_in_error"
        session.commit()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    live.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-ecert", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        resources_of(app).engine.dispose()
