"""The transactional outbox: the change feed's rows, written with each change, and their delivery state.

``emit`` adds an event in the caller's transaction, so an event exists exactly when its change
committed (a rolled-back change leaves no event, a committed one never lacks it). The same row
is read twice:

* by the citizen, as their change feed (:func:`feed`), in an order that never lets an event
  appear behind a cursor already handed out;
* by the relay (``ecert.relay``), which claims due rows under a lease, delivers them and marks
  each one delivered, retried later, or parked (:func:`claim`, :func:`mark_delivered`,
  :func:`mark_failed`). Every mark is conditional on the caller still holding the lease, so an
  event is marked delivered once even when two relays (or a dead one and its successor) sent it.

An event names the citizen (``sub``), the request and the certificate: no names and no record
content ever leave in a notification. Plain functions taking a Session; no flask; never a commit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ecert.db import Base, CursorStatement, UTCDateTime, utcnow
from ecert.errors import InvalidInput, NotFound
from ecert.models import Certificate, OutboxEvent, new_id
from ecert.services.paging import Ordering, Page, decode_cursor, encode_cursor


class EventType(StrEnum):
    """The change feed's event types (DESIGN §11); the feed and the notifications carry these."""

    REQUEST_SUBMITTED = "request.submitted"
    REQUEST_IN_REVIEW = "request.in_review"
    REQUEST_ISSUED = "request.issued"
    REQUEST_REFUSED = "request.refused"
    REQUEST_CANCELLED = "request.cancelled"
    CERTIFICATE_REVOKED = "certificate.revoked"
    CERTIFICATE_VERIFIED = "certificate.verified"
    SHARE_USED = "share.used"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"


# Retries stop this long after an event was written (or requeued by an operator): then it is parked.
RETRY_WINDOW: Final = timedelta(hours=24)
# The n-th failed attempt waits FIRST_RETRY * 2**(n-1), at most MAX_RETRY_DELAY, less up to a
# fifth at random so relays that failed together do not retry together. 30 s, 1 min, 2, 4, ...,
# then hourly: about 30 attempts in 24 h.
FIRST_RETRY: Final = timedelta(seconds=30)
MAX_RETRY_DELAY: Final = timedelta(hours=1)
_ERROR_MAX = 200
_RANDOM = random.Random()


def emit(
    session: Session,
    event_type: EventType,
    *,
    sub: str,
    request_id: str | None = None,
    certificate_id: str | None = None,
    now: datetime | None = None,
) -> OutboxEvent:
    """Add the event of a change to the caller's transaction (not flushed, never committed).

    ``sub`` is the citizen the event is about (a request's ``citizen_pid``, a certificate's
    ``holder_pid``): their feed shows it and the notification names them, nothing more.
    """
    when = now or utcnow()
    event = OutboxEvent(
        type=str(EventType(event_type)),
        sub=sub,
        request_id=request_id,
        certificate_id=certificate_id,
        occurred_at=when,
        next_attempt_at=when,
        retry_window_from=when,
        state=DeliveryState.PENDING,
        attempts=0,
        txid=_transaction_id(session),
    )
    session.add(event)
    return event


_OUTBOX_COLUMNS: Final = [
    "id", "txid", "type", "occurred_at", "sub", "request_id", "certificate_id", "state", "attempts",
    "next_attempt_at", "retry_window_from",
]  # fmt: skip


def _outbox_values(event_id: Any, transaction_id: Any, when: Any) -> tuple[Any, ...]:
    """A pending event's values (in ``_OUTBOX_COLUMNS`` order) about the certificate in the
    statement's FROM: its holder and request are read by the INSERT itself."""
    return (
        event_id,
        transaction_id,
        bindparam("type", type_=String()),
        when,
        Certificate.holder_pid,
        Certificate.request_id,
        Certificate.id,
        literal(str(DeliveryState.PENDING)),
        literal(0),
        when,
        when,
    )


def _insert_for_certificate(transaction_id: ColumnElement[Any]) -> Any:
    """``INSERT INTO outbox_events SELECT … FROM certificates WHERE id = :certificate_id``."""
    source = select(
        *_outbox_values(bindparam("event_id", type_=String()), transaction_id, bindparam("now", type_=UTCDateTime()))
    ).where(Certificate.id == bindparam("certificate_id"))
    return insert(Base.metadata.tables[OutboxEvent.__tablename__]).from_select(_OUTBOX_COLUMNS, source)


# Built once: this runs on every verification, where the ORM's per-statement work would cost
# more than the row itself (Core on the session's connection, as services.verification does).
_PG_TXID: Final = cast(cast(func.pg_current_xact_id(), Text), BigInteger)
_INSERT_FOR_CERTIFICATE: Final = {
    "postgresql": _insert_for_certificate(_PG_TXID),
    "other": _insert_for_certificate(literal(0, BigInteger())),
}
# The same for a batch (the verification log's), on the session's cursor. SQLite: one
# executemany (run in C, in-process).
_INSERT_FOR_CERTIFICATES: Final = CursorStatement(_INSERT_FOR_CERTIFICATE["other"])


def _insert_for_certificates_from_arrays() -> Any:
    """PostgreSQL: ``INSERT INTO outbox_events SELECT … FROM unnest(arrays) WITH ORDINALITY JOIN
    certificates``, one statement for the whole batch, its events in the batch's order (the
    feed's ``seq``)."""
    occurrences = (
        func.unnest(
            bindparam("event_ids", type_=ARRAY(String())),
            bindparam("certificate_ids", type_=ARRAY(String())),
            bindparam("moments", type_=ARRAY(UTCDateTime())),
        )
        .table_valued("event_id", "certificate_id", "at", with_ordinality="position")
        .render_derived()
    )
    source = (
        select(*_outbox_values(occurrences.c.event_id, _PG_TXID, occurrences.c.at))
        .join_from(occurrences, Certificate, Certificate.id == occurrences.c.certificate_id)
        .order_by(occurrences.c.position)
    )
    return insert(Base.metadata.tables[OutboxEvent.__tablename__]).from_select(_OUTBOX_COLUMNS, source)


_INSERT_FOR_CERTIFICATES_FROM_ARRAYS: Final = CursorStatement(_insert_for_certificates_from_arrays())


def emit_for_certificate(
    session: Session, event_type: EventType, certificate_id: str, *, now: datetime | None = None
) -> None:
    """``emit`` for an event about a certificate known by id only (a verification, a share used):
    its holder and request are read by the INSERT itself, one statement on the hot path. Executed
    at once; nothing is written when no such certificate exists."""
    connection = session.connection()
    kind = "postgresql" if connection.dialect.name == "postgresql" else "other"
    parameters = {
        "event_id": new_id(),
        "type": str(EventType(event_type)),
        "now": now or utcnow(),
        "certificate_id": certificate_id,
    }
    connection.execute(_INSERT_FOR_CERTIFICATE[kind], parameters)


def emit_for_certificates(session: Session, event_type: EventType, occurrences: Sequence[tuple[str, datetime]]) -> None:
    """``emit_for_certificate`` for many (certificate id, time) pairs at once, in their order
    (a batch of the verification log writes its events this way)."""
    if not occurrences:
        return
    type_name = str(EventType(event_type))
    if session.get_bind().dialect.name == "postgresql":
        _INSERT_FOR_CERTIFICATES_FROM_ARRAYS.execute(
            session,
            event_ids=[new_id() for _ in occurrences],
            certificate_ids=[certificate_id for certificate_id, _ in occurrences],
            moments=[moment for _, moment in occurrences],
            type=type_name,
        )
        return
    _INSERT_FOR_CERTIFICATES.execute_many(
        session,
        [
            {"event_id": new_id(), "type": type_name, "now": moment, "certificate_id": certificate_id}
            for certificate_id, moment in occurrences
        ],
    )


def _transaction_id(session: Session) -> Any:
    """The writing transaction's id, computed by the INSERT itself on PostgreSQL (no extra round
    trip); 0 on SQLite, where one writer at a time makes the row id the commit order."""
    if session.get_bind().dialect.name == "postgresql":
        return _PG_TXID
    return 0


def notification_body(event: OutboxEvent) -> dict[str, Any]:
    """The webhook body (DESIGN §11): ids, type, time and the citizen's ``sub``; nothing else."""
    return {
        "id": event.id,
        "type": event.type,
        "at": rfc3339(event.occurred_at),
        "sub": event.sub,
        "request_id": event.request_id,
        "certificate_id": event.certificate_id,
    }


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC, whole seconds, Z (DESIGN §9)."""
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the citizen's feed ------------------------------------------------------------------------

# Oldest first: a feed is read forward from the last cursor. The transaction id comes first
# because on PostgreSQL rows commit out of seq order (see _settled).
FEED_ORDER = Ordering([OutboxEvent.txid, OutboxEvent.seq])


def _settled(session: Session) -> ColumnElement[bool] | None:
    """On PostgreSQL: events whose transaction is older than every transaction still running.

    A row's seq is taken at INSERT, its visibility comes at COMMIT: a reader could otherwise see
    seq 11, move its cursor past it, and never see seq 10 committed a moment later. Rows of
    transactions older than the snapshot's xmin are all final, and any later row has a larger
    transaction id, so ordering by (txid, seq) and showing only those never skips an event.
    """
    if session.get_bind().dialect.name != "postgresql":
        return None
    horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
    # The reader's own writes, too: NULL (so nothing) in the feed's read-only request, whose
    # transaction has no id; a test running in one transaction sees what it wrote.
    own = cast(cast(func.pg_current_xact_id_if_assigned(), Text), BigInteger)
    return or_(OutboxEvent.txid < horizon, OutboxEvent.txid == own)


def feed(session: Session, sub: str, *, limit: int, after: str | None) -> Page[OutboxEvent]:
    """The citizen's events after the cursor ``after``, oldest first.

    Unlike other lists, ``next_cursor`` is set on the last page too (it is the position of the
    last event shown, or ``after`` itself when nothing is new): the app keeps it and asks again
    later for what happened since.
    """
    query = select(OutboxEvent).where(OutboxEvent.sub == sub)
    settled = _settled(session)
    if settled is not None:
        query = query.where(settled)
    if after:
        try:
            values = decode_cursor(after, FEED_ORDER.kinds(), context=FEED_ORDER.context)
        except InvalidInput:
            # The feed's cursor is the ``after`` parameter: the error names it.
            raise InvalidInput({"after": ["invalid_cursor"]}) from None
        query = query.where(FEED_ORDER.after(values))
    rows = session.scalars(query.order_by(*FEED_ORDER.order_by()).limit(limit)).all()
    if not rows:
        return Page(rows, after)
    return Page(rows, encode_cursor(FEED_ORDER.position_of(rows[-1]), context=FEED_ORDER.context))


# --- the relay's side --------------------------------------------------------------------------


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(
        OutboxEvent.state == DeliveryState.PENDING,
        OutboxEvent.next_attempt_at <= now,
        or_(OutboxEvent.lease_until.is_(None), OutboxEvent.lease_until <= now),
    )


def backlog(session: Session, now: datetime | None = None) -> int:
    """How many events are due for delivery now (progress bars, metrics)."""
    now = now or utcnow()
    return session.scalar(select(func.count()).select_from(OutboxEvent).where(_due(now))) or 0


def claim(session: Session, owner: str, *, batch: int, lease: timedelta, now: datetime) -> list[OutboxEvent]:
    """Take up to ``batch`` due events for ``owner`` until ``now + lease``; the caller commits.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several relays claim at once without taking
    the same rows or waiting for each other; the lease then keeps the rows theirs after the
    commit. SQLite takes one writer at a time (``BEGIN IMMEDIATE``), so the claim is atomic there.
    A relay that dies leaves its lease to expire: the rows become due again for any relay.
    """
    rows = list(
        session.scalars(
            select(OutboxEvent)
            .where(_due(now))
            .order_by(OutboxEvent.next_attempt_at, OutboxEvent.seq)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.lease_owner = owner
        row.lease_until = now + lease
    session.flush()
    return rows


def _mine(event_seq: int, owner: str) -> ColumnElement[bool]:
    return and_(
        OutboxEvent.seq == event_seq,
        OutboxEvent.lease_owner == owner,
        OutboxEvent.state == DeliveryState.PENDING,
    )


def mark_delivered(session: Session, event_seq: int, owner: str, now: datetime) -> bool:
    """Delivered, if ``owner`` still holds the event; False when another relay took it over."""
    result = session.execute(
        update(OutboxEvent)
        .where(_mine(event_seq, owner))
        .values(
            state=DeliveryState.DELIVERED,
            delivered_at=now,
            attempts=OutboxEvent.attempts + 1,
            lease_owner=None,
            lease_until=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based): doubling, capped, jittered."""
    exponent = min(max(attempts, 1) - 1, 20)
    base: timedelta = min(FIRST_RETRY * (2**exponent), MAX_RETRY_DELAY)
    draw: float = (rng or _RANDOM).random()
    return base * (1 - 0.2 * draw)


@dataclass(frozen=True)
class FailureMark:
    marked: bool  # False: another relay holds the event now
    parked: bool
    next_attempt_at: datetime | None


def mark_failed(
    session: Session, event: OutboxEvent, owner: str, error: str, now: datetime, *, window: timedelta = RETRY_WINDOW
) -> FailureMark:
    """A failed attempt: due again after a growing delay, or parked once the retry window is over."""
    attempts = event.attempts + 1
    next_at = now + retry_delay(attempts)
    park = next_at >= event.retry_window_from + window
    values: dict[str, Any] = {
        "attempts": OutboxEvent.attempts + 1,
        "lease_owner": None,
        "lease_until": None,
        "last_error": error[:_ERROR_MAX],
    }
    if park:
        values |= {"state": DeliveryState.PARKED, "parked_at": now}
    else:
        values["next_attempt_at"] = next_at
    result = session.execute(
        update(OutboxEvent).where(_mine(event.seq, owner)).values(**values).execution_options(synchronize_session=False)
    )
    marked = bool(getattr(result, "rowcount", 0))
    return FailureMark(marked, park and marked, None if park else next_at)


def release(session: Session, event_seqs: list[int], owner: str) -> None:
    """Give back claimed events not attempted (a relay stopping, or out of lease time)."""
    if event_seqs:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.seq.in_(event_seqs), OutboxEvent.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


# --- operators ---------------------------------------------------------------------------------


def undelivered(session: Session, state: DeliveryState, *, limit: int = 10_000) -> list[OutboxEvent]:
    """Pending or parked events, oldest first (parked: what the gateway never accepted in time)."""
    query = select(OutboxEvent).where(OutboxEvent.state == state).order_by(OutboxEvent.seq)
    return list(session.scalars(query.limit(limit)))


def counts(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Events by delivery state, and how many of the pending ones are due now."""
    grouped = session.execute(select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state))
    by_state = {state: number for state, number in grouped}
    result = {str(state): int(by_state.get(str(state), 0)) for state in DeliveryState}
    return result | {"due": backlog(session, now)}


def requeue(session: Session, event_id: str, now: datetime) -> bool:
    """Send a parked event again, with a fresh retry window; False (and nothing changed) when the
    event is not parked (a delivered one stays delivered; a pending one is queued already)."""
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.id == event_id).with_for_update()).one_or_none()
    if event is None:
        raise NotFound()
    if event.state != DeliveryState.PARKED:
        return False
    event.state = DeliveryState.PENDING
    event.parked_at = None
    event.next_attempt_at = now
    event.retry_window_from = now
    session.flush()
    return True
