"""Junk PDF uploads against a real gunicorn (2 sync workers): does ``/healthz`` stay fast?

Before the PDF guard (ecert/pdfcheck.py), 10 MB of junk cost ~3.5 s of CPU in a web worker and
four clients uploading for 15 s took ``/healthz`` from 3 ms to 8 s. Measured here, each run:

* ``/healthz`` p50/p99 idle (one prober, sequential requests) — the baseline of the same run;
* ``/healthz`` p50/p99 while four clients upload 1 MiB junk PDFs back to back; two kinds of junk:
  random bytes behind a ``%PDF-`` header (answered from its bytes: the structure gate), and junk
  that carries the markers of a signed certificate (``/ByteRange``, ``/EcertToken``), which passes
  the structure gate and reaches the bounded child-process check (or a 503 when the slot is busy);
* the cost of one rejected junk upload: median client-side ms of sequential uploads, idle server.

Figures only: nothing here asserts a timing.
"""
from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from bench.common import RUNS, Results, log, percentile, ratios
from bench.server import Server

SECTION = "junk PDF uploads (2 workers)"
UPLOADERS = 4
JUNK_BYTES = 1024 * 1024 - 4096  # under the 1 MiB cap with room for the multipart envelope
BOUNDARY = "ecertbenchboundary7MA4YWxkTrZu0gW"


def junk_pdf(markers: bool) -> bytes:
    body = os.urandom(JUNK_BYTES)
    head = b"%PDF-1.7\n"
    if markers:
        head += b"1 0 obj << /Type /Sig /ByteRange [0 10 20 30] /Contents <00> >> endobj\n" \
                b"2 0 obj << /EcertToken (123) >> endobj\n"
    return head + body + b"\n%%EOF\n"


def multipart(data: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"junk.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


class Client:
    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, float]:
        """(status, seconds). A new connection each time: sync workers close it anyway."""
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            answer.read()
            status = answer.status
        except OSError:
            status = 0
        finally:
            conn.close()
        return status, time.perf_counter() - started

    def upload(self, body: bytes) -> tuple[int, float]:
        return self.request("POST", "/api/v1/verifications/pdf", body,
                            {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def probe_healthz(client: Client, seconds: float, stop: threading.Event | None = None) -> list[float]:
    """Sequential GET /healthz for ``seconds``: latencies in ms."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        status, elapsed = client.request("GET", "/healthz")
        if status == 200:
            latencies.append(elapsed * 1000)
        time.sleep(0.01)  # a sampler, not a load generator
    return latencies


def under_upload_load(client: Client, body: bytes, seconds: float) -> tuple[list[float], Counter, int]:
    """/healthz latencies while UPLOADERS threads upload ``body`` back to back."""
    stop = threading.Event()
    statuses: Counter = Counter()
    lock = threading.Lock()
    uploads = 0

    def uploader() -> None:
        nonlocal uploads
        while not stop.is_set():
            status, _ = client.upload(body)
            with lock:
                statuses[status] += 1
                uploads += 1

    threads = [threading.Thread(target=uploader, daemon=True) for _ in range(UPLOADERS)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let the uploads get going
    latencies = probe_healthz(client, seconds - 0.5)
    stop.set()
    for thread in threads:
        thread.join(70)
    return latencies, statuses, uploads


def junk_figures(server: Server, results: Results, *, seconds: float, setting: str = "") -> None:
    """The figures above; ``setting`` names a server configuration other than the bench's
    default (rate limits off) and prefixes every metric with it."""
    client = Client(server.base)
    bodies = {"plain junk": multipart(junk_pdf(markers=False)), "junk with a signature's markers":
              multipart(junk_pdf(markers=True))}
    # Warm-up: each worker starts its check process on the first upload that needs one.
    for _ in range(4):
        client.upload(bodies["junk with a signature's markers"])
    idle_p50: list[float] = []
    idle_p99: list[float] = []
    loaded: dict[str, dict[str, list[float]]] = {name: {"p50": [], "p99": [], "rate": []} for name in bodies}
    seen: dict[str, Counter] = {name: Counter() for name in bodies}
    cost: dict[str, list[float]] = {name: [] for name in bodies}
    for run_no in range(RUNS):
        log(f"junk uploads run {run_no + 1}/{RUNS}: healthz idle, then {UPLOADERS} uploaders x {seconds:.0f} s "
            f"for each kind of junk")
        idle = probe_healthz(client, min(seconds, 5.0))
        idle_p50.append(percentile(idle, 50))
        idle_p99.append(percentile(idle, 99))
        for name, body in bodies.items():
            latencies, statuses, uploads = under_upload_load(client, body, seconds)
            loaded[name]["p50"].append(percentile(latencies, 50))
            loaded[name]["p99"].append(percentile(latencies, 99))
            loaded[name]["rate"].append(uploads / seconds)
            seen[name].update(statuses)
            single = [client.upload(body)[1] * 1000 for _ in range(15)]
            cost[name].append(statistics.median(single))
    results.add(SECTION, setting + "GET /healthz idle p50 (baseline)", idle_p50, "ms")
    results.add(SECTION, setting + "GET /healthz idle p99 (baseline)", idle_p99, "ms")
    for name in bodies:
        answers = ", ".join(f"{status or 'no answer'}: {count}" for status, count in sorted(seen[name].items()))
        results.add(SECTION, f"{setting}{name}: GET /healthz p50 under {UPLOADERS} uploaders", loaded[name]["p50"], "ms",
                    note=f"1 MiB uploads, {seconds:.0f} s a run; answers {answers}")
        results.add(SECTION, f"{setting}{name}: GET /healthz p99 under {UPLOADERS} uploaders", loaded[name]["p99"], "ms")
        results.add(SECTION, f"{setting}{name}: healthz p99 loaded ÷ idle", ratios(loaded[name]["p99"], idle_p99), "×",
                    digits=1)
        results.add(SECTION, f"{setting}{name}: uploads answered", loaded[name]["rate"], "/s")
        results.add(SECTION, f"{setting}{name}: one upload, idle server (median of 15)", cost[name], "ms",
                    note="client-side: sending 1 MiB over loopback + the answer")
