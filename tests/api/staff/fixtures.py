"""Fixtures and helpers shared by the staff API tests (this module holds no tests itself).

Import the fixtures by name into a test module: ``from tests.api.staff.fixtures import ...``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ecert import security
from ecert.db import utcnow
from ecert.models import AuditEvent
from ecert.services import staff as staff_service
from ecert.services.audit import Actor
from ecert.wiring import resources_of
from tests.support import form1_payload, history_since_14

AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
BINH = {"pid": "079185001234", "name": "Trần Thị Bình", "birthdate": "1985-11-02", "gender": "female"}
CUONG = {"pid": "048088004321", "name": "Lê Văn Cường", "birthdate": "1988-01-23", "gender": "male"}
DUNG = {"pid": "031192007777", "name": "Hoàng Thị Dung", "birthdate": "1992-07-30", "gender": "female"}
PHUC = {"pid": "001203001122", "name": "Đỗ Minh Phúc", "birthdate": "2003-09-09", "gender": "male"}

PASSWORD = "correct horse battery staple"
# Documentation addresses (RFC 5737): the owner's office and a stranger elsewhere.
OWNER_ADDRESS = "192.0.2.10"
STRANGER_ADDRESS = "203.0.113.66"
TEST_ACTOR = Actor("cli", "cli:test")


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap scrypt in tests; the cost is self-described in each hash, so nothing else changes."""
    monkeypatch.setattr(security, "SCRYPT_N", 2**10)
    monkeypatch.setattr(security, "SCRYPT_P", 1)


class Clock:
    """The staff API's clock, moved by the test (login codes, lockout windows, idle expiry)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("api.staff.views.utcnow", clock)
    monkeypatch.setattr("api.staff.auth.utcnow", clock)
    return clock


@dataclass
class Member:
    id: str
    username: str
    role: str
    password: str
    secret: str
    last_step: int = 0
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        assert self.token, "not signed in"
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Staff:
    """Make staff accounts and sign them in through the API."""

    app: Any
    client: Any
    clock: Clock
    made: dict[str, Member] = field(default_factory=dict)

    def create(self, role: str, username: str | None = None, password: str = PASSWORD) -> Member:
        username = username or f"{role}{len(self.made) + 1}"
        with resources_of(self.app).sessionmaker() as session:
            enrolment = staff_service.create_staff(session, username, role, password=password, actor=TEST_ACTOR)
            session.commit()
            member = Member(enrolment.user.id, username, role, password, enrolment.totp_secret)
        self.made[username] = member
        return member

    def fresh_code(self, member: Member) -> str:
        """A code for a time-step this member never used: moves the clock on when needed."""
        step = security.totp_step(self.clock.now)
        if step <= member.last_step:
            self.clock.advance(seconds=security.TOTP_INTERVAL * (member.last_step - step + 1))
            step = security.totp_step(self.clock.now)
        member.last_step = step
        return security.totp_code(member.secret, step)

    def login_response(self, member: Member, *, password: str | None = None, code: str | None = None,
                       address: str = OWNER_ADDRESS):
        return self.client.post("/api/v1/staff/sessions", json={
            "username": member.username,
            "password": member.password if password is None else password,
            "totp": code if code is not None else self.fresh_code(member),
        }, environ_base={"REMOTE_ADDR": address})

    def attempt(self, username: str, password: str, *, code: str = "000000", address: str = STRANGER_ADDRESS):
        """A sign-in by someone who is not (necessarily) the account's owner."""
        return self.client.post("/api/v1/staff/sessions", json={
            "username": username, "password": password, "totp": code,
        }, environ_base={"REMOTE_ADDR": address})

    def login(self, member: Member) -> Member:
        response = self.login_response(member)
        assert response.status_code == 201, response.get_json()
        member.token = response.get_json()["token"]
        return member

    def signed_in(self, role: str, username: str | None = None) -> Member:
        return self.login(self.create(role, username))


@pytest.fixture
def staff(app: Any, client: Any, clock: Clock) -> Staff:
    return Staff(app, client, clock)


@pytest.fixture
def seeded(app: Any) -> Any:
    result = app.test_cli_runner().invoke(args=["ecert", "seed-demo"])
    assert result.exit_code == 0, result.output
    return app


def submit(client: Any, auth: Any, person: dict[str, str], form=form1_payload, **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("residence_history", history_since_14(person["birthdate"]))
    response = client.post("/api/v1/requests", json=form(**overrides), headers=auth(**person))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def review_request(seeded: Any, client: Any, auth: Any) -> dict[str, Any]:
    """Cường's Form 1: an unexpunged conviction sends it to staff review."""
    body = submit(client, auth, CUONG)
    assert body["status"] == "needs_review", body
    return body


@pytest.fixture
def issued_certificate(seeded: Any, client: Any, auth: Any) -> dict[str, Any]:
    """An's clean Form 1, issued at once by the automatic path."""
    body = submit(client, auth, AN)
    assert body["status"] == "issued", body
    return body


def events(db: Any, action: str | None = None, **filters: Any) -> list[AuditEvent]:
    db.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action:
        query = query.where(AuditEvent.action == action)
    for key, value in filters.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(db.execute(query).scalars())
