"""Relays that commit for real: two sharing the work (each event delivered once), and one killed
with SIGKILL mid-batch (nothing lost; what it sent unmarked is sent again and deduped by id)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from ecert import create_app
from ecert.models import OutboxEvent
from ecert.relay import Relay, RelayOptions
from ecert.services import outbox
from ecert.services.outbox import EventType
from ecert.wiring import resources_of
from tests.outbox.receiver import Receiver
from tests.support import ON_POSTGRES

SECRET = "relay-process-secret-0123456789abcdef-01"
ROOT = Path(__file__).resolve().parents[2]
SUB = "001099000001"


@pytest.fixture
def committed(provisioned: dict[str, Any]):
    """The real engine (each relay has its own connections); the outbox table is emptied before
    and after, so rows other tests committed are not in the count."""
    app = create_app(provisioned)
    sessions = resources_of(app).sessionmaker

    def clear() -> None:
        with sessions() as session, session.begin():
            session.execute(delete(OutboxEvent))

    clear()
    yield app, sessions
    clear()
    resources_of(app).engine.dispose()


@pytest.fixture
def receiver():
    made = Receiver(SECRET.encode())
    made.url = made.start()
    yield made
    made.stop()


def emit(sessions, count: int) -> list[str]:
    with sessions() as session, session.begin():
        events = [outbox.emit(session, EventType.CERTIFICATE_VERIFIED, sub=SUB, certificate_id=f"c-{n}")
                  for n in range(count)]
        session.flush()
        return [event.id for event in events]


def rows(sessions) -> dict[str, OutboxEvent]:
    with sessions() as session:
        return {row.id: row for row in session.scalars(select(OutboxEvent))}


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_relays_share_the_work_and_deliver_each_event_once(committed, receiver):
    _app, sessions = committed
    receiver.delay = 0.005
    ids = emit(sessions, 120)
    options = RelayOptions(url=receiver.url, secret=SECRET.encode(), batch=7, timeout=5.0)
    relays = [Relay(sessions, options, owner=f"relay-{n}") for n in range(2)]
    reports: dict[str, Any] = {}
    start = threading.Barrier(2)

    def run(relay: Relay) -> None:
        start.wait()
        reports[relay.owner] = relay.drain()

    threads = [threading.Thread(target=run, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    delivered = [set(report.delivered) for report in reports.values()]
    assert delivered[0].isdisjoint(delivered[1])
    assert delivered[0] | delivered[1] == set(ids)
    assert all(delivered), "both relays took a share"
    assert receiver.ids() == {event_id: 1 for event_id in ids}
    assert all(item.signature_ok for item in receiver.received)
    assert {row.state for row in rows(sessions).values()} == {"delivered"}


def _relay_process(provisioned: dict[str, Any], url: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ECERT_")}
    settings = {
        "DATABASE_URL": provisioned["database_url"],
        "INSTANCE_DIR": provisioned["instance_dir"],
        "PKI_DIR": provisioned["pki_dir"],
        "IDP_JWKS": provisioned["idp_jwks"],
        "IDP_ISSUER": provisioned["idp_issuer"],
        "IDP_AUDIENCE": provisioned["idp_audience"],
        "AUDIT_KEY": provisioned["audit_key"],
        "PUBLIC_BASE_URL": provisioned["public_base_url"],
        "SECRET_KEY": provisioned["secret_key"],
        "RATE_LIMITS": "off",
        "LOG_JSON": "off",
        "NOTIFY_WEBHOOK_URL": url,
        "NOTIFY_WEBHOOK_SECRET": SECRET,
    }
    env |= {f"ECERT_{name}": str(value) for name, value in settings.items()}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "ecert", "outbox", "relay", "--json",
               "--batch", "10", "--concurrency", "4", "--lease", "5", "--timeout", "2", "--interval", "0.1"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _delivered_ids(output: str) -> list[str]:
    return [event_id for line in output.splitlines() if line.startswith("{")
            for event_id in json.loads(line)["delivered"]]


@pytest.mark.slow
def test_a_relay_killed_mid_batch_loses_nothing_and_marks_nothing_twice(committed, receiver, provisioned):
    _app, sessions = committed
    receiver.delay = 0.1  # slow: the kill lands in the middle of a batch
    ids = emit(sessions, 40)
    first = _relay_process(provisioned, receiver.url)
    try:
        wait_for(lambda: len(receiver.received) >= 15, 60, "the first relay to deliver")
    except AssertionError:
        first.kill()
        raise AssertionError(first.communicate(timeout=10)) from None
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    at_kill = rows(sessions)
    marked_by_first = {event_id for event_id, row in at_kill.items() if row.state == "delivered"}
    assert 0 < len(marked_by_first) < len(ids)
    held = {row.lease_owner for row in at_kill.values() if row.state == "pending"} - {None}
    assert len(held) == 1, "the dead relay's lease still holds the rest of its batch"

    second = _relay_process(provisioned, receiver.url)
    try:
        wait_for(lambda: all(row.state == "delivered" for row in rows(sessions).values()), 90, "the second relay")
    finally:
        second.send_signal(signal.SIGTERM)  # a graceful stop: it finishes and exits 0
        output, errors = second.communicate(timeout=30)
    assert second.returncode == 0, errors

    by_second = _delivered_ids(output)
    assert len(by_second) == len(set(by_second))
    assert set(by_second).isdisjoint(marked_by_first), "an event was marked delivered twice"
    assert set(by_second) | marked_by_first == set(ids)
    received = receiver.ids()
    assert set(received) == set(ids), "every event reached the receiver"
    duplicates = {event_id for event_id, count in received.items() if count > 1}
    # Only what was in flight when the relay died (at most --concurrency) is sent again: the
    # receiver dedupes it by id.
    assert len(duplicates) <= 4 and duplicates <= set(by_second)
    assert all(item.signature_ok for item in receiver.received)
    final = rows(sessions)
    assert all(row.delivered_at is not None and row.lease_owner is None for row in final.values())
    assert all(row.delivered_at <= datetime.now(UTC) for row in final.values())


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="transactions commit out of order only with several writers")
def test_the_feed_never_shows_an_event_behind_a_cursor_already_handed_out(committed):
    """T1 writes first and commits last: a reader must not move past T2's event before T1's shows."""
    _app, sessions = committed
    slow, fast = sessions(), sessions()
    slow.begin()
    outbox.emit(slow, EventType.REQUEST_SUBMITTED, sub=SUB, request_id="slow")
    slow.flush()  # T1 has its transaction id and its seq now, but has not committed
    with fast.begin():
        outbox.emit(fast, EventType.REQUEST_SUBMITTED, sub=SUB, request_id="fast")
    fast.close()
    with sessions() as reader:
        page = outbox.feed(reader, SUB, limit=10, after=None)
        assert [event.request_id for event in page.items] == []  # held back until T1 ends
    slow.commit()
    slow.close()
    with sessions() as reader:
        page = outbox.feed(reader, SUB, limit=10, after=None)
        assert [event.request_id for event in page.items] == ["slow", "fast"]
