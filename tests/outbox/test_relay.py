"""The relay against a real local HTTP receiver: signed bodies, retries after failures with
growing delays, parking after the 24 h window, leases, and the operators' commands."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from ecert.models import AuditEvent, OutboxEvent
from ecert.relay import Relay, RelayOptions, body_of, signature, signature_ok
from ecert.services import outbox
from ecert.services.outbox import DeliveryState, EventType
from ecert.wiring import resources_of
from tests.outbox.receiver import Receiver

SECRET = b"relay-test-secret-0123456789abcdef-0123"
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver():
    made = Receiver(SECRET)
    made.url = made.start()
    yield made
    made.stop()


@pytest.fixture
def sessions(app):
    return resources_of(app).sessionmaker


def emit_events(sessions, count: int, *, at: datetime = T0, sub: str = "001090012345") -> list[str]:
    with sessions() as session, session.begin():
        events = [outbox.emit(session, EventType.REQUEST_SUBMITTED, sub=sub, request_id=f"req-{n}", now=at)
                  for n in range(count)]
        session.flush()
        return [event.id for event in events]


def states(sessions) -> dict[str, OutboxEvent]:
    with sessions() as session:
        return {event.id: event for event in session.scalars(select(OutboxEvent))}


# One request at a time: these tests share one connection (its transaction is rolled back after
# the test), which threads may not use at once. tests/outbox/test_relay_processes.py runs relays
# with several requests in flight on the real engine.
def make_relay(sessions, receiver, clock, **options) -> Relay:
    return Relay(sessions, RelayOptions(concurrency=1, url=receiver.url, secret=SECRET, timeout=2.0, **options), clock=clock)


def test_each_event_is_delivered_signed_and_marked(sessions, receiver):
    ids = emit_events(sessions, 3)
    report = make_relay(sessions, receiver, Clock()).drain()
    assert sorted(report.delivered) == sorted(ids)
    assert all(item.signature_ok for item in receiver.received)
    assert receiver.ids() == {event_id: 1 for event_id in ids}
    first = receiver.received[0]
    assert set(first.body) == {"id", "type", "at", "sub", "request_id", "certificate_id"}
    assert first.body["at"] == "2026-11-30T08:00:00Z" and first.body["type"] == "request.submitted"
    assert first.headers["Content-Type"] == "application/json"
    rows = states(sessions)
    assert {row.state for row in rows.values()} == {"delivered"}
    assert all(row.attempts == 1 and row.lease_owner is None for row in rows.values())
    # Drained: nothing more to send.
    assert make_relay(sessions, receiver, Clock()).drain().attempted == 0


def test_the_signature_is_the_documented_hmac():
    body = b'{"id":"x"}'
    header = signature(b"k", body, 1764489600)
    import hashlib
    import hmac

    assert header == "t=1764489600,v1=" + hmac.new(b"k", b"1764489600." + body, hashlib.sha256).hexdigest()
    assert signature_ok(b"k", header, body, now=1764489600)
    assert not signature_ok(b"k", header, body + b" ", now=1764489600)  # tampered body
    assert not signature_ok(b"other", header, body, now=1764489600)  # forged with another key
    assert not signature_ok(b"k", header, body, now=1764489600 + 301)  # replayed later
    for junk in ("", "t=x,v1=00", "v1=abc", "t=1764489600", "t=1764489600,v1="):
        assert not signature_ok(b"k", junk, body, now=1764489600)


def test_a_receiver_with_another_secret_refuses_and_the_event_is_retried(sessions, receiver):
    [event_id] = emit_events(sessions, 1)
    relay = Relay(sessions, RelayOptions(concurrency=1, url=receiver.url, secret=b"wrong-secret", timeout=2.0), clock=Clock())
    report = relay.drain()
    assert report.retried == [event_id] and not receiver.received[0].signature_ok
    assert states(sessions)[event_id].last_error == "HTTP 401"


def test_a_500_is_retried_with_growing_delays_then_delivered(sessions, receiver):
    receiver.answer = lambda n: 500 if n < 3 else 200
    [event_id] = emit_events(sessions, 1)
    clock = Clock()
    relay = make_relay(sessions, receiver, clock)
    waits = []
    for _ in range(3):
        assert relay.drain().retried == [event_id]
        row = states(sessions)[event_id]
        assert row.state == "pending" and row.last_error == "HTTP 500"
        waits.append(row.next_attempt_at - clock.now)
        assert relay.drain().attempted == 0  # not due before its time
        clock.now = row.next_attempt_at
    assert relay.drain().delivered == [event_id]
    assert waits[0] < waits[1] < waits[2]
    assert timedelta(seconds=24) <= waits[0] <= timedelta(seconds=30)
    row = states(sessions)[event_id]
    assert (row.state, row.attempts, row.last_error) == ("delivered", 4, None)
    assert receiver.ids()[event_id] == 4


def test_the_delays_grow_to_an_hour_and_give_about_thirty_attempts_a_day():
    delays = [outbox.retry_delay(n) for n in range(1, 60)]
    assert max(delays) <= timedelta(hours=1) and delays[-1] >= timedelta(minutes=48)
    assert outbox.retry_delay(1) <= timedelta(seconds=30)
    elapsed, attempts = timedelta(), 0
    while elapsed < outbox.RETRY_WINDOW:
        attempts += 1
        elapsed += outbox.retry_delay(attempts)
    assert 25 <= attempts <= 45


def test_an_unreachable_gateway_is_retried(sessions):
    [event_id] = emit_events(sessions, 1)
    relay = Relay(sessions, RelayOptions(concurrency=1, url="http://127.0.0.1:9/closed", secret=SECRET, timeout=1.0), clock=Clock())
    assert relay.drain().retried == [event_id]
    assert states(sessions)[event_id].last_error == "ConnectError"


def test_a_slow_gateway_times_out_and_is_retried(sessions, receiver):
    receiver.delay = 1.5
    [event_id] = emit_events(sessions, 1)
    relay = Relay(sessions, RelayOptions(concurrency=1, url=receiver.url, secret=SECRET, timeout=0.5), clock=Clock())
    assert relay.drain().retried == [event_id]
    assert states(sessions)[event_id].last_error == "ReadTimeout"


def test_after_the_window_a_failing_event_is_parked_and_an_operator_requeues_it(app, sessions, receiver):
    receiver.answer = lambda _n: 503
    [event_id] = emit_events(sessions, 1)
    clock = Clock()
    relay = make_relay(sessions, receiver, clock)
    assert relay.drain().retried == [event_id]
    clock.now = T0 + timedelta(hours=23, minutes=59, seconds=30)  # the next try would be past 24 h
    assert relay.drain().parked == [event_id]
    row = states(sessions)[event_id]
    assert row.state == "parked" and row.parked_at == clock.now and row.last_error == "HTTP 503"
    clock.now += timedelta(days=2)
    assert relay.drain().attempted == 0  # parked stays parked

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["ecert", "outbox", "list", "--parked", "--json"])
    assert listed.exit_code == 0, listed.output
    [item] = json.loads(listed.output)
    assert (item["id"], item["state"], item["attempts"], item["last_error"]) == (event_id, "parked", 2, "HTTP 503")
    status = json.loads(runner.invoke(args=["ecert", "outbox", "status", "--json"]).output)
    assert status["parked"] == 1 and status["pending"] == 0

    requeued = runner.invoke(args=["ecert", "outbox", "retry", event_id, "--json"])
    assert requeued.exit_code == 0, requeued.output
    assert json.loads(requeued.output) == [{"id": event_id, "requeued": True}]
    again = json.loads(runner.invoke(args=["ecert", "outbox", "retry", event_id, "--json"]).output)
    assert again == [{"id": event_id, "requeued": False}]  # pending already: nothing changes
    with sessions() as session:
        [audited] = session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.requeued")).all()
        assert audited.target_id == event_id and audited.actor_type == "cli"

    receiver.answer = lambda _n: 200
    clock.now = datetime.now(UTC)
    assert relay.drain().delivered == [event_id]


def test_retry_of_an_unknown_event_fails_and_needs_an_argument(app):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["ecert", "outbox", "retry", "no-such-event"])
    assert unknown.exit_code != 0 and "no such event" in unknown.output
    assert runner.invoke(args=["ecert", "outbox", "retry"]).exit_code == 2


def test_a_lease_keeps_an_event_from_a_second_relay_until_it_expires(sessions, receiver):
    [event_id] = emit_events(sessions, 1)
    clock = Clock()
    with sessions() as session, session.begin():
        [claimed] = outbox.claim(session, "dead-relay", batch=10, lease=timedelta(seconds=60), now=clock.now)
    other = make_relay(sessions, receiver, clock)
    assert other.drain().attempted == 0  # held by the (dead) relay's lease
    clock.now += timedelta(seconds=61)
    assert other.drain().delivered == [event_id]
    # The dead relay comes back and tries to mark what it sent: the row is not its any more.
    with sessions() as session, session.begin():
        assert not outbox.mark_delivered(session, claimed.seq, "dead-relay", clock.now)
        assert not outbox.mark_failed(session, claimed, "dead-relay", "late", clock.now).marked
    row = states(sessions)[event_id]
    assert row.state == "delivered" and row.attempts == 1


def test_a_relay_short_of_lease_time_releases_the_rest_of_its_batch(sessions, receiver):
    ids = emit_events(sessions, 3)
    clock = Clock()
    calls = []

    def slow_clock():  # the claim at T0, then 8 s gone: 2 s of lease left, less than a send may take
        calls.append(1)
        return T0 if len(calls) == 1 else T0 + timedelta(seconds=8)

    relay = Relay(sessions, RelayOptions(concurrency=1, url=receiver.url, secret=SECRET, timeout=2.0,
                                         lease=timedelta(seconds=10)), clock=slow_clock)
    report = relay.run_once()
    assert report.attempted == 0 and report.released == 3
    assert {row.lease_owner for row in states(sessions).values()} == {None}
    assert sorted(make_relay(sessions, receiver, clock).drain().delivered) == sorted(ids)


def test_a_lease_shorter_than_a_send_is_refused(app):
    with pytest.raises(ValueError, match="lease"):
        RelayOptions(url="https://gw.example", secret=SECRET, timeout=10, lease=timedelta(seconds=10))
    with pytest.raises(ValueError, match="concurrency"):
        RelayOptions(url="https://gw.example", secret=SECRET, concurrency=0)
    result = app.test_cli_runner().invoke(args=["ecert", "outbox", "relay", "--once", "--lease", "5"])
    assert result.exit_code == 2 and "lease" in result.output


def test_a_relay_asked_to_stop_releases_what_it_has_not_sent(sessions, receiver):
    emit_events(sessions, 3)
    relay = Relay(sessions, RelayOptions(concurrency=1, url=receiver.url, secret=SECRET), clock=Clock(), should_stop=lambda: True)
    assert relay.run_once().released == 3 and not receiver.received


def test_the_relay_refuses_to_start_without_a_gateway(make_app):
    app = make_app(notify_webhook_url="")
    result = app.test_cli_runner().invoke(args=["ecert", "outbox", "relay", "--once"])
    assert result.exit_code == 1 and "ECERT_NOTIFY_WEBHOOK_URL" in result.output


def test_relay_once_from_the_command_line(make_app, receiver):
    app = make_app(notify_webhook_url=receiver.url, notify_webhook_secret=SECRET.decode())
    ids = emit_events(resources_of(app).sessionmaker, 5, at=datetime.now(UTC))
    result = app.test_cli_runner().invoke(args=["ecert", "outbox", "relay", "--once", "--batch", "2", "--concurrency", "1", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert sorted(sum((line["delivered"] for line in lines), [])) == sorted(ids)
    assert [len(line["delivered"]) for line in lines] == [2, 2, 1]  # quiet: JSON lines only, none idle


def test_an_event_body_never_carries_more_than_the_contract(sessions):
    [event_id] = emit_events(sessions, 1)
    event = states(sessions)[event_id]
    assert set(json.loads(body_of(event))) == {"id", "type", "at", "sub", "request_id", "certificate_id"}


def test_httpx_is_the_client(sessions, receiver):
    relay = make_relay(sessions, receiver, Clock())
    assert isinstance(relay.client, httpx.Client)
    relay.close()
