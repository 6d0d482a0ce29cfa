"""Signing-key lifecycle through the state machine: active -> retired -> revoked, never back."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecert.domain.states import KeyStatus
from ecert.errors import Conflict, PersistentFailure
from ecert.models import AuditEvent, SigningKey
from ecert.services import keys
from ecert.services.audit import Actor
from signing.pki import DscFiles

CONSOLE = Actor("cli", "cli:test")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _active(db: Session) -> SigningKey:
    return db.execute(select(SigningKey).where(SigningKey.status == KeyStatus.ACTIVE)).scalar_one()


def test_retire_then_revoke_and_never_back(db):
    row = _active(db)
    assert keys.retire(db, row.kid, CONSOLE, NOW).status is KeyStatus.RETIRED
    with pytest.raises(Conflict) as raised:
        keys.retire(db, row.kid, CONSOLE, NOW)
    assert raised.value.code == "signing_key_not_active"
    assert keys.revoke(db, row.kid, CONSOLE, NOW).status is KeyStatus.REVOKED
    assert keys.revoke(db, row.kid, CONSOLE, NOW).status is KeyStatus.REVOKED  # again: unchanged


def test_a_member_of_staff_cannot_manage_keys(db):
    row = _active(db)
    with pytest.raises(PersistentFailure) as raised:
        keys.revoke(db, row.kid, Actor("staff", "someone"), NOW)
    assert raised.value.code == "role_not_allowed"
    assert db.get(SigningKey, row.kid).status == KeyStatus.ACTIVE


def test_a_retired_key_is_never_made_active_again(db):
    row = _active(db)
    keys.retire(db, row.kid, CONSOLE, NOW)
    dsc = _dsc_of(row)
    with pytest.raises(Conflict):
        keys.activate(db, dsc, CONSOLE, NOW)
    assert db.get(SigningKey, row.kid).status == KeyStatus.RETIRED


def test_activating_the_active_key_again_changes_nothing(db):
    row = _active(db)
    assert keys.activate(db, _dsc_of(row), CONSOLE, NOW) is row
    assert row.status is KeyStatus.ACTIVE
    actions = db.execute(select(AuditEvent.action).where(AuditEvent.target_id == row.kid)).scalars().all()
    assert "key.retired" not in actions


def _dsc_of(row: SigningKey):
    cert = x509.load_pem_x509_certificate(row.certificate_pem.encode())
    return DscFiles(bytes.fromhex(row.kid), Path(row.key_path), Path(row.key_path), cert)
