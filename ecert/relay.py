"""The relay: delivers outbox events to the identity app's notification gateway (DESIGN §11).

Each event is ``POST``ed to ``ECERT_NOTIFY_WEBHOOK_URL`` as the JSON body of
``ecert.services.outbox.notification_body`` with the header
``Ecert-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``.
A 2xx answer delivers it; anything else (another status, a timeout, a refused connection) is
retried with growing delays for 24 h, then the event is parked for an operator.

At least once: an event is marked delivered only after the gateway said 2xx, each in its own
small transaction, so a relay killed at any point leaves the event pending under a lease that
expires, and another relay sends it again (at most the ``concurrency`` requests that were in
flight are sent twice). The receiver dedupes by ``id``; notifications may arrive out of order. Several relays share
the work on PostgreSQL (claims skip rows another relay holds); docs/notifications.md.

HTTP is httpx's (connection reuse, timeouts, a retry of failed connects); the queue is the
outbox table, which no queue library shares with both SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from ecert.db import utcnow
from ecert.models import OutboxEvent
from ecert.services import outbox

log = logging.getLogger(__name__)
# httpx logs every request at INFO: the relay logs what matters (failures, parking) itself.
logging.getLogger("httpx").setLevel(logging.WARNING)

SIGNATURE_HEADER = "Ecert-Signature"
# A receiver should refuse signatures older than this: a captured notification replayed later.
SIGNATURE_TOLERANCE_SECONDS = 300
# An event is sent only while at least its timeout plus this much of the lease is left.
LEASE_MARGIN_SECONDS = 1


def signature(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``Ecert-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signature_ok(
    secret: bytes, header: str, body: bytes, *, now: int, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: a ``v1`` MAC of ``body`` under ``secret`` at a recent ``t``."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


def body_of(event: OutboxEvent) -> bytes:
    return json.dumps(outbox.notification_body(event), separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class RelayOptions:
    url: str
    secret: bytes
    batch: int = 50
    # Requests in flight at once: a gateway 50 ms away takes 20 events a second one by one.
    concurrency: int = 4
    # Longer than a batch can take at ``timeout`` a request: the relay stops short of its lease.
    lease: timedelta = timedelta(seconds=120)
    timeout: float = 10.0
    window: timedelta = outbox.RETRY_WINDOW

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("the concurrency must be at least 1")
        if self.lease.total_seconds() < self.timeout + LEASE_MARGIN_SECONDS:
            # Each send must end inside the lease, or another relay could take the event meanwhile.
            raise ValueError(f"the lease must be at least the timeout + {LEASE_MARGIN_SECONDS} s")


@dataclass
class BatchReport:
    """What one batch did, by event id."""

    delivered: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    parked: list[str] = field(default_factory=list)
    # Another relay took these over (our lease had run out): theirs to mark.
    lost: list[str] = field(default_factory=list)
    released: int = 0

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retried) + len(self.parked) + len(self.lost)

    def as_dict(self) -> dict[str, object]:
        return {
            "delivered": self.delivered,
            "retried": self.retried,
            "parked": self.parked,
            "lost": self.lost,
            "released": self.released,
        }


def new_owner() -> str:
    """A relay's lease name: host, process and a random part (a restarted process is another relay)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Relay:
    """Claims due events, delivers them one by one, and marks each as it goes."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        options: RelayOptions,
        *,
        client: httpx.Client | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sessions = sessions
        self.options = options
        self.owner = owner or new_owner()
        self.clock = clock
        self.should_stop = should_stop
        self.client = client or httpx.Client(
            timeout=options.timeout,
            follow_redirects=False,
            # Retries a connect that failed outright (nothing was sent); any other failure is
            # the outbox's retry, with its growing delay.
            transport=httpx.HTTPTransport(retries=1),
            headers={"User-Agent": "ecert-relay/1"},
            limits=httpx.Limits(max_connections=options.concurrency),
        )
        self.pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="relay")

    def close(self) -> None:
        self.pool.shutdown()
        self.client.close()

    def _claim(self) -> list[OutboxEvent]:
        with self.sessions() as session, session.begin():
            return outbox.claim(
                session, self.owner, batch=self.options.batch, lease=self.options.lease, now=self.clock()
            )

    def run_once(self) -> BatchReport:
        """One batch: claim, deliver and mark (``concurrency`` at a time). Events not sent when the
        lease runs short or the relay is asked to stop are released for the next claim."""
        events = self._claim()
        report = BatchReport()
        left = [event for event in self.pool.map(lambda event: self._attempt(event, report), events) if event]
        if left:
            self._release(left, report)
        return report

    def _attempt(self, event: OutboxEvent, report: BatchReport) -> OutboxEvent | None:
        """Deliver ``event``; or return it, unsent, when there is no time (or will) left to."""
        lease_left = (event.lease_until or self.clock()) - self.clock()
        if self.should_stop() or lease_left.total_seconds() < self.options.timeout + LEASE_MARGIN_SECONDS:
            return event
        self._deliver(event, report)
        return None

    def _release(self, events: list[OutboxEvent], report: BatchReport) -> None:
        with self.sessions() as session, session.begin():
            outbox.release(session, [event.seq for event in events], self.owner)
        report.released += len(events)

    def _post(self, event: OutboxEvent) -> str | None:
        """Send one event; None when the gateway accepted it, else why not."""
        body = body_of(event)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.options.secret, body, int(time.time())),
        }
        try:
            response = self.client.post(self.options.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _deliver(self, event: OutboxEvent, report: BatchReport) -> None:
        error = self._post(event)
        now = self.clock()
        with self.sessions() as session, session.begin():
            if error is None:
                if outbox.mark_delivered(session, event.seq, self.owner, now):
                    report.delivered.append(event.id)
                else:
                    report.lost.append(event.id)
                return
            mark = outbox.mark_failed(session, event, self.owner, error, now, window=self.options.window)
        if not mark.marked:
            report.lost.append(event.id)
        elif mark.parked:
            log.warning(
                "notification %s (%s) parked after %d attempts: %s", event.id, event.type, event.attempts + 1, error
            )
            report.parked.append(event.id)
        else:
            log.info("notification %s failed (%s); next attempt at %s", event.id, error, mark.next_attempt_at)
            report.retried.append(event.id)

    def drain(self, on_batch: Callable[[BatchReport], None] = lambda _report: None) -> BatchReport:
        """Batches until nothing is due (failures wait for their next attempt): ``--once``."""
        total = BatchReport()
        while not self.should_stop():
            report = self.run_once()
            on_batch(report)
            for name in ("delivered", "retried", "parked", "lost"):
                getattr(total, name).extend(getattr(report, name))
            total.released += report.released
            if report.attempted == 0:
                break
        return total
