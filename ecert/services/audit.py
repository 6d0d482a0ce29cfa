"""The audit log: append-only, each event hash-chained to the one before it.

Events are queued during the transaction and chained at commit, under the single chain-head
row's lock, so concurrent transactions on several workers take turns only for their commits and
the chain never forks.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import event, select
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


_PENDING = "ecert.audit.pending"


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
    """Queue an audit event; it is chained and written when the session commits.

    Appending takes the chain head's row lock. Taking it here would hold it through whatever
    the transaction does next (an issuance renders and signs a PDF), making every audited change
    on every worker wait; taking it in ``before_commit`` holds it for the commit only. The event
    still commits with the change or not at all. Its seq and hashes are set at commit.
    """
    event = AuditEvent(
        occurred_at=now or utcnow(),
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        http_request_id=actor.request_id,
        # Round-trip through JSON now so the hash covers exactly what the database returns.
        details=json.loads(json.dumps(details or {}, default=str)),
    )
    if not session.in_transaction():
        # Tie the queue to a transaction (no connection is taken yet), so that a rollback before
        # any other statement still drops it.
        session.begin()
    session.info.setdefault(_PENDING, []).append(event)
    return event


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """``session.begin_nested()`` that also drops the audit events queued inside it when it
    rolls back (they are not rows yet, so the database cannot do it for us)."""
    queued = session.info.setdefault(_PENDING, [])
    mark = len(queued)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        del queued[mark:]
        raise


def _append_pending(session: Session) -> None:
    queued = session.info.pop(_PENDING, None)
    if not queued:
        return
    head = session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).scalar_one()
    for queued_event in queued:
        queued_event.seq = head.last_seq + 1
        queued_event.prev_hash = head.last_hash
        queued_event.hash = event_hash(queued_event)
        head.last_seq, head.last_hash = queued_event.seq, queued_event.hash
        session.add(queued_event)
    session.flush()


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # before_commit also fires when a SAVEPOINT is released; the queue belongs to the outermost
    # commit (written inside a savepoint, it would vanish if an enclosing one rolled back).
    if session.in_nested_transaction():
        return
    _append_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    # The outermost transaction ended without a commit (a commit has already taken the queue):
    # whatever was queued belonged to changes that were rolled back.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


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
    for stored in _iter_events(session, batch_size):
        if stored.seq != expected_seq:
            return ChainReport(False, checked, stored.seq, stored.id, f"missing event before seq {stored.seq}")
        if stored.prev_hash != previous:
            return ChainReport(False, checked, stored.seq, stored.id, "link to the previous event is broken")
        if event_hash(stored) != stored.hash:
            return ChainReport(False, checked, stored.seq, stored.id, "content does not match its hash")
        previous = stored.hash
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
