"""The change feed's outbox: relay throughput, and what writing the outbox row costs.

In-process on the run's SQLite instance (one core):

* relay throughput: events a second delivered to a local receiver (a threaded stdlib HTTP server
  that checks every signature, as a gateway must), by ``ecert.relay.Relay`` in batches of 100,
  each event marked delivered in its own transaction;
* the outbox row's cost on issuance (``POST /api/v1/requests``, issued at once) and on
  verification (``POST /api/v1/verifications`` of a real QR): the same path through the Flask
  test client with the emit replaced by a no-op, runs interleaved, as a ratio of time per call.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

from bench.client import CitizenFactory
from bench.common import RUNS, Results, log, ratios
from bench.server import Instance

SECTION = "outbox and relay (in-process, SQLite)"
SECRET = b"bench-webhook-secret-0123456789abcdef-0123"


class _Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real gateway behind a load balancer
    accepted: Any = None  # a multiprocessing.Value, set by _serve

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        from ecert.relay import SIGNATURE_HEADER, signature_ok

        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = signature_ok(SECRET, self.headers.get(SIGNATURE_HEADER, ""), raw, now=int(time.time()))
        with self.accepted.get_lock():
            self.accepted.value += ok
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def _serve(port: Any, accepted: Any) -> None:
    _Gateway.accepted = accepted
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    port.value = server.server_address[1]
    server.serve_forever()


@contextmanager
def receiver() -> Iterator[tuple[str, Any]]:
    """A local gateway in its own process (as a real one would be: no shared GIL with the relay):
    200 to a good signature, 401 otherwise; counts what it accepted."""
    port, accepted = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    process = multiprocessing.Process(target=_serve, args=(port, accepted), daemon=True)
    process.start()
    try:
        while not port.value:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port.value}/notifications", accepted
    finally:
        process.terminate()
        process.join(5)


def _emit(sessions: Any, count: int) -> None:
    from ecert.services import outbox

    with sessions() as session, session.begin():
        for n in range(count):
            outbox.emit(session, outbox.EventType.CERTIFICATE_VERIFIED, sub="001099000000", certificate_id=f"b-{n}")


def relay_throughput(app: Any, results: Results, *, quick: bool) -> None:
    from ecert.relay import Relay, RelayOptions
    from ecert.wiring import resources_of

    sessions = resources_of(app).sessionmaker
    count = 300 if quick else 1500
    rates = []
    with receiver() as (url, accepted):
        for run in range(RUNS):
            _emit(sessions, count)
            relay = Relay(sessions, RelayOptions(url=url, secret=SECRET, batch=100))
            start = time.perf_counter()
            report = relay.drain()
            elapsed = time.perf_counter() - start
            relay.close()
            rates.append(len(report.delivered) / elapsed)
            log(f"relay run {run + 1}: {len(report.delivered)} delivered in {elapsed:.2f} s")
        note = f"{count} events a run, batches of 100, receiver checks each signature ({accepted.value} accepted)"
    results.add(SECTION, "relay throughput to a local receiver", rates, "events/s", note=note)


def _timed(fn: Callable[[int], Any], count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    return (time.perf_counter() - start) / count


def _paired(
    with_row: Callable[[int], Any], without_row: Callable[[int], Any], count: int, patch_target: str
) -> tuple[list[float], list[float]]:
    """Seconds per call with and without the outbox row, runs interleaved (load drifts cancel)."""
    with_times, without_times = [], []
    for _ in range(RUNS):
        with_times.append(_timed(with_row, count))
        with mock.patch(patch_target, lambda *_args, **_kwargs: None):
            without_times.append(_timed(without_row, count))
    return with_times, without_times


def outbox_cost(app: Any, instance: Instance, results: Results, *, quick: bool) -> None:
    client = app.test_client()
    factory = CitizenFactory(instance.idp_dir)
    factory.serial = 800_000  # apart from every other run's citizens
    n_issue = 6 if quick else 20
    citizens = iter(factory.mint(2 * n_issue * RUNS + 2))

    def issue(_i: int) -> dict[str, Any]:
        citizen = next(citizens)
        answer = client.post(
            "/api/v1/requests", json=citizen.request_payload(), headers={"Authorization": f"Bearer {citizen.token}"}
        )
        return {"body": answer.get_json(), "token": citizen.token}

    first = issue(0)  # warm: fonts, keys, imports
    issue(0)
    with_t, without_t = _paired(issue, issue, n_issue, "ecert.services.outbox.emit")
    results.add(
        SECTION,
        "issuance (POST /api/v1/requests, issued): time with the outbox rows ÷ without",
        ratios(with_t, without_t),
        "×",
        digits=3,
        note=f"two rows a request (submitted, issued); {n_issue} requests a run; "
        f"{1000 * min(without_t):.1f} ms a request without",
    )

    certificate = client.get(
        f"/api/v1/certificates/{first['body']['certificate_id']}", headers={"Authorization": f"Bearer {first['token']}"}
    ).get_json()

    def verify(_i: int) -> None:
        client.post("/api/v1/verifications", json={"qr": certificate["qr_text"]})

    n_verify = 150 if quick else 600
    with_t, without_t = _paired(verify, verify, n_verify, "ecert.services.outbox.emit_for_certificate")
    results.add(
        SECTION,
        "verification (POST /api/v1/verifications): time with the outbox row ÷ without",
        ratios(with_t, without_t),
        "×",
        digits=3,
        note=f"one INSERT … SELECT a verification; {n_verify} a run; "
        f"{1000 * min(without_t):.2f} ms a verification without",
    )


def outbox_figures(instance: Instance, results: Results, *, quick: bool) -> None:
    instance.apply_to_process()
    from ecert import create_app

    app = create_app({"notify_webhook_secret": SECRET.decode()})
    logging.getLogger().setLevel(logging.WARNING)
    relay_throughput(app, results, quick=quick)
    outbox_cost(app, instance, results, quick=quick)
