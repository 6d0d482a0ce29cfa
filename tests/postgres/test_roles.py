"""On PostgreSQL the app runs as a role that owns nothing: it cannot drop, disable or replace
the audit triggers, and cannot UPDATE, DELETE or TRUNCATE audit events, while the app still does
everything it does (a citizen's request, an officer's approval, a supervisor's revocation).

Each forbidden statement is tried on its own connection, as the app role, and must fail with a
privilege error (42501) from PostgreSQL itself: never with the trigger's own message, which would
mean the privilege was there and only the trigger stood in the way.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from ecert import create_app, security
from ecert.db import make_engine
from ecert.models import (
    AuditEvent,
    Certificate,
    CertificateRequest,
    StaffSession,
    StaffUser,
)
from ecert.services import staff as staff_service
from ecert.services.audit import Actor, verify_chain
from ecert.wiring import resources_of
from tests.support import ON_POSTGRES, form1_payload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs ECERT_TEST_DATABASE_URL=postgresql+psycopg://..."),
]

PASSWORD = "roles test password, long enough"

FORBIDDEN = {
    "drop the trigger": "DROP TRIGGER audit_events_append_only ON audit_events",
    "disable the trigger": "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "disable every trigger": "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "replace the trigger function": (
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql"),
    "update an event": "UPDATE audit_events SET action = 'rewritten' WHERE seq = (SELECT max(seq) FROM audit_events)",
    "delete an event": "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
    "truncate the log": "TRUNCATE audit_events",
    "drop the table": "DROP TABLE audit_events",
    "create a table": "CREATE TABLE shadow_audit (id int)",
    "rewrite the migrations' record": "UPDATE alembic_version SET version_num = version_num",
}


@pytest.fixture
def app_role_engine(pg_roles: Any, provisioned: dict[str, Any]) -> Iterator[Any]:
    engine = make_engine(pg_roles.app_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def test_the_suite_runs_the_app_as_the_app_role(pg_roles, provisioned, app):
    assert provisioned["database_url"] == pg_roles.app_url
    with resources_of(app).sessionmaker() as session:
        assert session.execute(text("SELECT current_user")).scalar_one() == pg_roles.app
        owner = session.execute(text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'audit_events'")).scalar_one()
    assert owner == pg_roles.owner


@pytest.mark.parametrize("statement", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_the_app_role_cannot_touch_the_audit_log(app_role_engine, statement):
    with app_role_engine.connect() as connection, pytest.raises(DBAPIError) as info, connection.begin():
        connection.execute(text(statement))
    assert getattr(info.value.orig, "sqlstate", None) == "42501", info.value
    message = str(info.value.orig)
    assert "append-only" not in message  # refused by privileges, not by the trigger
    assert "permission denied" in message or "must be owner" in message


def test_the_owner_can_still_migrate_and_tamper_which_is_why_the_chain_is_keyed(pg_roles, provisioned):
    """The owner role can disable the trigger (as the migrations must): what stops it is the
    keyed chain and the checkpoints (tests/unit/services/test_audit.py), not the database."""
    engine = make_engine(pg_roles.owner_url, poolclass=NullPool)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            connection.execute(text(FORBIDDEN["disable the trigger"]))
            transaction.rollback()
    finally:
        engine.dispose()


@pytest.fixture
def roles_app(provisioned: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, list]]]:
    monkeypatch.setattr(security, "SCRYPT_N", 2**10)
    monkeypatch.setattr(security, "SCRYPT_P", 1)
    app = create_app({**provisioned, "auto_issue": False, "rate_limits": "off"})
    app.config["TESTING"] = True
    made: dict[str, list] = {"staff": [], "requests": []}
    yield app, made
    # Cleaning up as the app role: it may DELETE what the app writes, audit events excepted.
    with resources_of(app).sessionmaker() as session:
        certificates = select(Certificate.id).where(Certificate.request_id.in_(made["requests"]))
        from ecert.models import VerificationEvent

        session.execute(delete(VerificationEvent).where(VerificationEvent.certificate_id.in_(certificates)))
        session.execute(delete(Certificate).where(Certificate.request_id.in_(made["requests"])))
        session.execute(delete(CertificateRequest).where(CertificateRequest.id.in_(made["requests"])))
        session.execute(delete(StaffSession).where(StaffSession.staff_id.in_(made["staff"])))
        session.execute(delete(StaffUser).where(StaffUser.id.in_(made["staff"])))
        session.commit()
    resources_of(app).engine.dispose()


def test_the_app_role_does_everything_the_app_does(roles_app, token_for):
    app, made = roles_app
    client = app.test_client()
    pid = f"001088{secrets.randbelow(10**6):06d}"
    token = token_for(pid, "Vũ Văn Đồng", "1988-04-12", "male")
    history = [{"from": "2002-04", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"}]
    created = client.post("/api/v1/requests", json=form1_payload(residence_history=history),
                          headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.get_json()
    request_id = created.get_json()["id"]
    made["requests"].append(request_id)
    with resources_of(app).sessionmaker() as session:
        first_seq = session.execute(select(func.max(AuditEvent.seq))).scalar_one()

    run = secrets.token_hex(4)
    with resources_of(app).sessionmaker() as session:
        supervisor = staff_service.create_staff(session, f"roles.{run}", "supervisor", password=PASSWORD,
                                                actor=Actor("cli", "cli:test"))
        session.commit()
        made["staff"].append(supervisor.user.id)
    totp = pyotp.TOTP(supervisor.totp_secret)
    login = client.post("/api/v1/staff/sessions", json={
        "username": supervisor.user.username, "password": PASSWORD, "totp": totp.now()})
    assert login.status_code == 201, login.get_json()
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}

    approved = client.post(f"/api/v1/staff/requests/{request_id}/approve", json={}, headers=headers)
    assert approved.status_code == 200, approved.get_json()
    certificate_id = approved.get_json()["certificate_id"]
    # The step-up code must be one not used yet: the next time step (accepted within ±1 step).
    revoked = client.post(f"/api/v1/staff/certificates/{certificate_id}/revoke", headers=headers, json={
        "reason": "issued_in_error", "note": "roles test", "totp": totp.at(time.time() + 30)})
    assert revoked.status_code == 200, revoked.get_json()

    with resources_of(app).sessionmaker() as session:
        assert session.get(Certificate, certificate_id).status == "revoked"
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.seq > first_seq)).scalars())
        assert {"staff.login", "request.approved", "certificate.revoked"} <= actions
        assert verify_chain(session).ok
