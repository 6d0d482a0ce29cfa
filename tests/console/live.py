"""A live ecert server for the console's browser tests, with staff, requests and certificates.

Like tests/e2e/conftest.py: a fresh SQLite instance, ``ecert init`` and ``seed-demo`` through
the CLI runner, served by werkzeug on a free 127.0.0.1 port in a thread. The console's clock is
the tests' (``api.console.auth.utcnow`` patched), so authenticator codes are computed, never
waited for, and a session can be made to expire.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import update
from werkzeug.serving import make_server

from ecert import create_app, security
from ecert.dev.idp import issue_dev_token
from ecert.migrate import upgrade_head
from ecert.models import Certificate, CertificateRequest
from ecert.services import staff as staff_service
from ecert.wiring import resources_of
from tests.api.staff.fixtures import AN, BINH, CUONG, DUNG, PASSWORD, PHUC, TEST_ACTOR, Clock, Member
from tests.support import IDP_AUDIENCE, IDP_ISSUER, form1_payload, form2_payload, history_since_14


@dataclass
class Live:
    url: str
    app: Any
    clock: Clock
    members: dict[str, Member] = field(default_factory=dict)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    certificates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def code(self, member: Member) -> str:
        """A code for a time-step this member never used (the clock moves on when needed)."""
        step = security.totp_step(self.clock.now)
        if step <= member.last_step:
            self.clock.advance(seconds=security.TOTP_INTERVAL * (member.last_step - step + 1))
            step = security.totp_step(self.clock.now)
        member.last_step = step
        return security.totp_code(member.secret, step)


def _submit(app: Any, instance: Path, person: dict[str, str], form: Any = form1_payload, **extra: Any) -> dict:
    token = issue_dev_token(instance / "idp", issuer=IDP_ISSUER, audience=IDP_AUDIENCE, personal_id=person["pid"],
                            name=person["name"], birthdate=date.fromisoformat(person["birthdate"]),
                            gender=person["gender"])
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    extra.setdefault("residence_history", history_since_14(person["birthdate"]))
    body = client.post("/api/v1/requests", headers=headers, json=form(**extra)).get_json()
    if body.get("certificate_id"):
        body["certificate"] = client.get(f"/api/v1/certificates/{body['certificate_id']}", headers=headers).get_json()
    return body


def _populate(live: Live, instance: Path) -> None:
    app = live.app
    live.requests["cuong"] = _submit(app, instance, CUONG)
    live.requests["dung"] = _submit(app, instance, DUNG, include_ban_section=True)
    live.requests["phuc"] = _submit(app, instance, PHUC, form=form2_payload)
    for key, person in (("an", AN), ("binh", BINH)):
        live.certificates[key] = _submit(app, instance, person)["certificate"]
    client = app.test_client()
    for _ in range(3):
        client.post("/api/v1/verifications", json={"qr": live.certificates["an"]["qr_text"]})
    with resources_of(app).sessionmaker() as session:
        session.execute(update(CertificateRequest).where(CertificateRequest.id == live.requests["dung"]["id"])
                        .values(due_at=datetime.now(timezone.utc) - timedelta(days=2)))
        for role, username in (("officer", "can.bo"), ("supervisor", "giam.sat"), ("auditor", "kiem.toan")):
            enrolment = staff_service.create_staff(session, username, role, password=PASSWORD, actor=TEST_ACTOR)
            live.members[role] = Member(enrolment.user.id, username, role, PASSWORD, enrolment.totp_secret)
        session.commit()
        assert session.get(Certificate, live.certificates["binh"]["id"]).status == "valid"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    patch = pytest.MonkeyPatch()
    patch.setattr(security, "SCRYPT_N", 2**10)
    patch.setattr(security, "SCRYPT_P", 1)
    clock = Clock()
    patch.setattr("api.console.auth.utcnow", clock)
    instance = tmp_path_factory.mktemp("console-live")
    database_url = f"sqlite:///{instance / 'live.sqlite3'}"
    upgrade_head(database_url)
    overrides = {
        "env": "development", "database_url": database_url, "instance_dir": instance, "pki_dir": instance / "pki",
        "idp_jwks": str(instance / "idp" / "jwks.json"), "idp_issuer": IDP_ISSUER, "idp_audience": IDP_AUDIENCE,
        # http: the browser talks plain HTTP to 127.0.0.1, so the cookie is not marked Secure here
        # (tests/console/test_console_signin.py checks that it is behind https).
        "public_base_url": "http://127.0.0.1", "secret_key": "console-live-secret-key-long-enough-0123456789",
        "rate_limits": "off", "auto_issue": True, "log_json": False,
    }
    result = create_app(overrides).test_cli_runner().invoke(args=["ecert", "init"])
    assert result.exit_code == 0, result.output
    app = create_app(overrides)
    result = app.test_cli_runner().invoke(args=["ecert", "seed-demo"])
    assert result.exit_code == 0, result.output
    live = Live(url="", app=app, clock=clock)
    _populate(live, instance)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    live.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-console", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        resources_of(app).engine.dispose()
        patch.undo()
