"""The audit log: append-only, each event hash-chained to the one before it.

Appends lock the single chain-head row, so concurrent transactions on several workers take
turns and the chain never forks. Append last in a transaction to keep that lock short.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecert.db import utcnow
from ecert.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who does something, and under which HTTP request id (for correlating logs)."""

    type: str  # citizen|staff|system|cli
    id: str | None = None
    request_id: str | None = None


SYSTEM = Actor("system")


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "http_request_id": event.http_request_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    head = session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).scalar_one()
    # Round-trip through JSON now so the hash covers exactly what the database will return.
    clean_details = json.loads(json.dumps(details or {}, default=str))
    occurred_at = now or utcnow()
    event = AuditEvent(
        seq=head.last_seq + 1,
        occurred_at=occurred_at,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        http_request_id=actor.request_id,
        details=clean_details,
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    head.last_seq = event.seq
    head.last_hash = event.hash
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str | None = None


def verify_chain(session: Session, batch_size: int = 1000) -> ChainReport:
    """Walk the whole chain in order; report the first event whose hash or link is wrong."""
    previous = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in _iter_events(session, batch_size):
        if event.seq != expected_seq:
            return ChainReport(False, checked, event.seq, event.id, f"missing event before seq {event.seq}")
        if event.prev_hash != previous:
            return ChainReport(False, checked, event.seq, event.id, "link to the previous event is broken")
        if event_hash(event) != event.hash:
            return ChainReport(False, checked, event.seq, event.id, "content does not match its hash")
        previous = event.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != previous):
        return ChainReport(False, checked, checked + 1, None, "events after the last one are missing")
    return ChainReport(True, checked)


def _iter_events(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    last_seq = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch_size)
        ).scalars().all()
        if not rows:
            return
        for row in rows:
            yield row
        last_seq = rows[-1].seq
        session.expunge_all()
