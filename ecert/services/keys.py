"""Document-signer key lifecycle: rotate, retire, revoke. Each change is audited.

A retired key signs nothing new but stays in the trust list, so what it signed keeps verifying;
a revoked key stays listed as revoked, so what it signed verifies as ``signer_revoked``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecert.db import utcnow
from ecert.domain.permissions import Permission
from ecert.domain.states import KeyStatus, move
from ecert.errors import Conflict, NotFound
from ecert.keystore import register_dsc
from ecert.models import SigningKey
from ecert.services.audit import Actor, record
from ecert.services.authorization import authorize
from signing.pki import DscFiles


def list_keys(session: Session) -> list[SigningKey]:
    return list(session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars())


def find_key(session: Session, kid: str) -> SigningKey:
    kid = kid.strip().lower()
    matches = [row for row in list_keys(session) if row.kid.startswith(kid)] if kid else []
    if len(matches) != 1:
        raise NotFound("signing_key_not_found", detail=f"no single key matches {kid!r}")
    return matches[0]


def activate(session: Session, dsc: DscFiles, actor: Actor, now: datetime | None = None) -> SigningKey:
    """Register a new DSC as the active key; the previous active key becomes retired.

    A key already registered is not registered again: the active one stays as it is, and a
    retired or revoked one is refused (a key is never made active again: DESIGN §4's table).
    """
    authorize(session, actor, Permission.MANAGE_KEYS)
    now = now or utcnow()
    known = session.get(SigningKey, dsc.kid_hex)
    if known is not None:
        if known.status != KeyStatus.ACTIVE:
            raise Conflict("signing_key_not_active", detail=f"key {known.kid} is {known.status}; it stays so")
        return known
    active = select(SigningKey).where(SigningKey.status == KeyStatus.ACTIVE).with_for_update()
    for row in session.execute(active).scalars():
        move(row, KeyStatus.RETIRED)
        row.retired_at = now
        record(
            session, actor, "key.retired", target_type="signing_key", target_id=row.kid, details={"reason": "rotation"}
        )
    new = register_dsc(session, dsc, status=KeyStatus.ACTIVE, now=now)
    record(
        session,
        actor,
        "key.activated",
        target_type="signing_key",
        target_id=new.kid,
        details={"not_after": new.not_after.isoformat()},
    )
    return new


def retire(session: Session, kid: str, actor: Actor, now: datetime | None = None) -> SigningKey:
    authorize(session, actor, Permission.MANAGE_KEYS)
    row = find_key(session, kid)
    if row.status != KeyStatus.ACTIVE:
        raise Conflict("signing_key_not_active", detail=f"key {row.kid} is {row.status}")
    move(row, KeyStatus.RETIRED)
    row.retired_at = now or utcnow()
    session.flush()
    record(session, actor, "key.retired", target_type="signing_key", target_id=row.kid)
    return row


def revoke(session: Session, kid: str, actor: Actor, now: datetime | None = None) -> SigningKey:
    """Distrust a key (compromised); revoking it again changes nothing."""
    authorize(session, actor, Permission.MANAGE_KEYS)
    row = find_key(session, kid)
    if row.status == KeyStatus.REVOKED:
        return row
    move(row, KeyStatus.REVOKED)
    row.revoked_at = now or utcnow()
    session.flush()
    record(session, actor, "key.revoked", target_type="signing_key", target_id=row.kid)
    return row
