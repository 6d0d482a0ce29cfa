"""The audit log: append-only, each event chained to the one before it with a keyed hash.

Events are queued during the transaction and chained at commit, under the single chain-head
row's lock, so concurrent transactions on several workers take turns only for their commits and
the chain never forks.

Each event's ``hash`` is HMAC-SHA256 under the audit key over the event and its ``prev_hash``.
The key never lives in the database, so someone who can write the database (triggers dropped,
rows edited) cannot recompute a chain that verifies. Deleting the newest events leaves a shorter
chain that is still valid: signed checkpoints of the head, kept outside the database, catch
that (``make_checkpoint`` / ``verify_chain(..., checkpoint=...)``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from ecert.db import utcnow
from ecert.models import AuditChainHead, AuditEvent
from ecert.services.paging import Ordering, Page, keyset_page

GENESIS_HASH = "0" * 64
KEY_FILE_NAME = "audit.key"
CHECKPOINT_FORMAT = "ecert-audit-checkpoint/1"
# Checkpoint MACs are computed over this prefix + JSON, events over bare JSON (which starts
# with "{"): one key, two kinds of message that can never be confused.
_CHECKPOINT_DOMAIN = CHECKPOINT_FORMAT.encode() + b"\n"


class AuditKeyMissing(RuntimeError):
    """An audit event was to be written, or the chain checked, with no audit key configured."""


class CheckpointInvalid(ValueError):
    """A checkpoint file that is unreadable, forged, or made under another key."""


@dataclass(frozen=True)
class AuditKey:
    """The chain's HMAC key. ``key_id`` names it in every event, so a later rotation can tell
    which key made which event; it is derived from the key and reveals nothing usable."""

    secret: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"ecert-audit-key-id\n" + self.secret).hexdigest()[:16]

    @classmethod
    def from_text(cls, text: str) -> AuditKey:
        return cls(text.strip().encode())

    def __repr__(self) -> str:  # never print the secret in a traceback or a log
        return f"AuditKey(key_id={self.key_id!r})"


def key_file_path(instance_dir: Path) -> Path:
    return instance_dir / KEY_FILE_NAME


def ensure_dev_key_file(instance_dir: Path) -> tuple[Path, bool]:
    """Create the development key file (0600) unless it exists; returns (path, created).

    Created with O_EXCL, so workers starting at once never overwrite each other's key.
    """
    path = key_file_path(instance_dir)
    instance_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path, False
    with os.fdopen(fd, "w") as stream:
        stream.write(secrets.token_hex(32) + "\n")
    return path, True


def load_key(configured: str, instance_dir: Path, *, create: bool) -> AuditKey | None:
    """The configured key (ECERT_AUDIT_KEY), else the key file in the instance dir.

    ``create`` makes the development key file when it is absent; production passes False (its
    key is required by the settings, so this is never reached without one there).
    """
    if configured:
        return AuditKey.from_text(configured)
    path = key_file_path(instance_dir)
    if create:
        ensure_dev_key_file(instance_dir)
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    if not text:
        raise AuditKeyMissing(f"the audit key file {path} is empty")
    return AuditKey.from_text(text)


# The key travels with the engine, not the session: services get plain Sessions and must not
# know where the key lives; every session made on the app's engine (or a connection of it)
# finds it here. Weak, so a disposed test app's engine does not linger.
_KEYS: weakref.WeakKeyDictionary[Engine, AuditKey] = weakref.WeakKeyDictionary()


def use_key(engine: Engine, key: AuditKey) -> None:
    _KEYS[engine] = key


def key_for(session: Session) -> AuditKey:
    key = _KEYS.get(session.get_bind().engine)
    if key is None:
        raise AuditKeyMissing("no audit key is configured for this database (ECERT_AUDIT_KEY or the instance key file)")
    return key


@dataclass(frozen=True)
class Actor:
    """Who does something, and under which HTTP request id (for correlating logs)."""

    type: str  # citizen|staff|system|cli
    id: str | None = None
    request_id: str | None = None


def event_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "http_request_id": event.http_request_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "key_id": event.key_id,
    }


def _canonical(fields: Mapping[str, Any], *, keyed: bool) -> bytes:
    body = {
        name: fields[name]
        for name in (
            "seq",
            "actor_type",
            "actor_id",
            "action",
            "target_type",
            "target_id",
            "http_request_id",
            "details",
            "prev_hash",
        )
    }
    body["occurred_at"] = fields["occurred_at"].isoformat()
    if keyed:
        body["key_id"] = fields["key_id"]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def keyed_hash(fields: Mapping[str, Any], key: AuditKey) -> str:
    """HMAC-SHA256 of the event (its key id and prev_hash included) under the audit key."""
    return hmac.new(key.secret, _canonical(fields, keyed=True), hashlib.sha256).hexdigest()


def legacy_hash(fields: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 of events written before migration 0004 (which re-keys them)."""
    return hashlib.sha256(_canonical(fields, keyed=False)).hexdigest()


def event_hash(event: AuditEvent, key: AuditKey) -> str:
    return keyed_hash(event_fields(event), key)


_PENDING = "ecert.audit.pending"
_ATTACHED = "_ecert_audit_attached"


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
    # Before the lock: a missing key fails the commit (never an unkeyed event) without waiting.
    key = key_for(session)
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).scalar_one()
    for queued_event in queued:
        queued_event.seq = head.last_seq + 1
        queued_event.prev_hash = head.last_hash
        queued_event.key_id = key.key_id
        queued_event.hash = event_hash(queued_event, key)
        head.last_seq, head.last_hash = queued_event.seq, queued_event.hash
        session.add(queued_event)
    session.flush()


def _before_commit(session: Session) -> None:
    # before_commit also fires when a SAVEPOINT is released; the queue belongs to the outermost
    # commit (written inside a savepoint, it would vanish if an enclosing one rolled back).
    if session.in_nested_transaction():
        return
    _append_pending(session)


def _after_transaction_end(session: Session, transaction: Any) -> None:
    # The outermost transaction ended without a commit (a commit has already taken the queue):
    # whatever was queued belonged to changes that were rolled back.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def attach(sessions: sessionmaker[Session]) -> None:
    """Chain the audit events queued in the sessions ``sessions`` makes, at their commit.

    Only the app's sessionmaker (``ecert.wiring``), not every Session in the process: a session
    made elsewhere (a test's, a tool's) is left alone. Attaching twice is harmless.
    """
    # Marked on the sessionmaker itself, not asked of ``event.contains``: SQLAlchemy's event
    # registry keys targets by id(), so a new sessionmaker whose class reuses the id of a
    # collected one "already has" the listeners while it has none (its commits then wrote no
    # audit events at all; seen as rare test flakes).
    if getattr(sessions, _ATTACHED, False):
        return
    for name, listener in (("before_commit", _before_commit), ("after_transaction_end", _after_transaction_end)):
        event.listen(sessions, name, listener)
    setattr(sessions, _ATTACHED, True)


# --- checkpoints -----------------------------------------------------------------------------


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _checkpoint_mac(body: Mapping[str, Any], key: AuditKey) -> str:
    unsigned = {name: value for name, value in body.items() if name != "mac"}
    message = _CHECKPOINT_DOMAIN + json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head as it was at ``made_at``: event ``seq`` had ``hash``; ``count`` events."""

    seq: int
    hash: str
    count: int
    event_at: str | None
    made_at: str
    key_id: str

    def as_dict(self, key: AuditKey) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "count": self.count,
            "event_at": self.event_at,
            "made_at": self.made_at,
            "key_id": self.key_id,
        }
        body["mac"] = _checkpoint_mac(body, key)
        return body


def parse_checkpoint(data: Any, key: AuditKey) -> Checkpoint:
    """Check a checkpoint's MAC and shape; a forged or foreign one raises CheckpointInvalid."""
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointInvalid(f"not an {CHECKPOINT_FORMAT} document")
    if data.get("key_id") != key.key_id:
        raise CheckpointInvalid(f"made under audit key {data.get('key_id')!r}, not the configured {key.key_id!r}")
    mac = data.get("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _checkpoint_mac(data, key)):
        raise CheckpointInvalid("its signature does not match (edited, or not made with this audit key)")
    seq, count, digest = data.get("seq"), data.get("count"), data.get("hash")
    if not (isinstance(seq, int) and isinstance(count, int) and isinstance(digest, str) and seq >= 0):
        raise CheckpointInvalid("seq, count or hash is missing or malformed")
    return Checkpoint(seq, digest, count, data.get("event_at"), str(data.get("made_at")), key.key_id)


def load_checkpoint(path: Path, key: AuditKey) -> Checkpoint:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointInvalid(f"cannot read {path}: {exc}") from None
    return parse_checkpoint(data, key)


class ChainBroken(RuntimeError):
    def __init__(self, report: ChainReport) -> None:
        super().__init__(report.reason)
        self.report = report


def make_checkpoint(session: Session, *, key: AuditKey | None = None, now: datetime | None = None) -> Checkpoint:
    """Verify the whole chain, then describe its head. A broken chain raises ChainBroken: a
    checkpoint over tampered history would vouch for it."""
    key = key or key_for(session)
    report = verify_chain(session, key=key)
    if not report.ok:
        raise ChainBroken(report)
    last = session.execute(select(AuditEvent).where(AuditEvent.seq == report.events_checked)).scalar_one_or_none()
    return Checkpoint(
        seq=report.events_checked,
        hash=last.hash if last is not None else GENESIS_HASH,
        count=report.events_checked,
        event_at=_rfc3339(last.occurred_at) if last is not None else None,
        made_at=_rfc3339(now or utcnow()),
        key_id=key.key_id,
    )


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str | None = None
    checkpoint_seq: int | None = None


def chain_length(session: Session) -> int:
    """The head's idea of the chain's length (for a progress bar; not trusted)."""
    head = session.get(AuditChainHead, 1)
    return head.last_seq if head is not None else session.execute(select(func.count(AuditEvent.id))).scalar_one()


def verify_chain(
    session: Session,
    batch_size: int = 1000,
    *,
    key: AuditKey | None = None,
    checkpoint: Checkpoint | None = None,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Walk the whole chain in order; report the first event whose key, hash or link is wrong.

    With a checkpoint, also report an event at the checkpoint's seq that no longer has the
    checkpoint's hash, and a chain that has become shorter than the checkpoint saw.
    """
    key = key or key_for(session)
    cp_seq = checkpoint.seq if checkpoint is not None else None
    previous = GENESIS_HASH
    expected_seq = 1
    checked = 0

    def broken(stored: AuditEvent | None, seq: int, reason: str) -> ChainReport:
        return ChainReport(False, checked, seq, stored.id if stored is not None else None, reason, cp_seq)

    for stored in _iter_events(session, batch_size):
        if stored.seq != expected_seq:
            return broken(stored, stored.seq, f"missing event before seq {stored.seq}")
        if stored.prev_hash != previous:
            return broken(stored, stored.seq, "link to the previous event is broken")
        if stored.key_id != key.key_id:
            what = "no key (written before the chain was keyed)" if stored.key_id is None else f"key {stored.key_id}"
            return broken(stored, stored.seq, f"keyed with {what}, not the configured audit key {key.key_id}")
        if not hmac.compare_digest(event_hash(stored, key), stored.hash):
            return broken(stored, stored.seq, "content does not match its hash")
        if checkpoint is not None and stored.seq == checkpoint.seq and stored.hash != checkpoint.hash:
            return broken(stored, stored.seq, "not the event the checkpoint recorded at this seq")
        previous = stored.hash
        expected_seq += 1
        checked += 1
        if progress is not None:
            progress(1)
    if checkpoint is not None and checked < checkpoint.seq:
        return broken(
            None,
            checked + 1,
            f"events from seq {checked + 1} on are missing: the checkpoint of "
            f"{checkpoint.made_at} saw {checkpoint.count} events",
        )
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != previous):
        return broken(None, checked + 1, "events after the last one are missing")
    return ChainReport(True, checked, checkpoint_seq=cp_seq)


def _iter_events(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    last_seq = 0
    while True:
        rows = (
            session.execute(
                select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].seq
        session.expunge_all()


# --- searching, as staff and the CLI read the log ---------------------------------------------

# Chain order is the order events happened in (seq is unique, so it alone is a total order).
NEWEST_FIRST = Ordering([AuditEvent.seq], descending=True)
OLDEST_FIRST = Ordering([AuditEvent.seq])


def _aware(moment: datetime) -> datetime:
    # A naive bound (an auditor's "2024-05-01T00:00") is read as UTC, the log's own zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def search_events(
    session: Session,
    *,
    action: str | None = None,
    actor_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    order: str = "desc",
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditEvent]:
    """Filtered events in chain order (``seq``), newest first unless ``order`` is "asc"."""
    query = select(AuditEvent)
    if action:
        # "staff." lists every staff.* action: auditors think in families of actions.
        family = action.endswith(".")
        query = query.where(
            AuditEvent.action.startswith(action, autoescape=True) if family else AuditEvent.action == action
        )
    for column, wanted in (
        (AuditEvent.actor_id, actor_id),
        (AuditEvent.target_type, target_type),
        (AuditEvent.target_id, target_id),
    ):
        if wanted:
            query = query.where(column == wanted)
    if since:
        query = query.where(AuditEvent.occurred_at >= _aware(since))
    if until:
        query = query.where(AuditEvent.occurred_at < _aware(until))
    ordering = NEWEST_FIRST if order == "desc" else OLDEST_FIRST
    return keyset_page(session, query, ordering, limit=limit, cursor=cursor)
