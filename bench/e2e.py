"""Through the API: request creation (and issuance), sizes per certificate, HTTP verification."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.client import NAMES, Citizen, CitizenFactory, call, create_requests
from bench.common import RUNS, Results, log, ratios
from bench.load import LoadGenerator
from bench.server import Server, pg_sizes, sqlite_bytes

CONCURRENCY = 4  # client threads posting requests: keeps both sync workers busy


@dataclass
class Issued:
    """A certificate issued through the API, with its holder's token."""

    citizen: Citizen
    certificate_id: str
    request_id: str
    detail: dict[str, Any] = field(default_factory=dict)


def issued_of(bodies: list[tuple[Citizen, dict]]) -> list[Issued]:
    return [Issued(c, b["certificate_id"], b["id"]) for c, b in bodies
            if b.get("status") == "issued" and b.get("certificate_id")]


def certificate_detail(server: Server, issued: Issued) -> dict[str, Any]:
    if not issued.detail:
        answer = call(server.base, "GET", f"/api/v1/certificates/{issued.certificate_id}", token=issued.citizen.token)
        if answer.status != 200:
            raise RuntimeError(f"GET certificate: HTTP {answer.status} {answer.body[:200]!r}")
        issued.detail = answer.json()
    return issued.detail


def issue_some(server: Server, factory: CitizenFactory, count: int) -> list[Issued]:
    """Issue ``count`` certificates through the API (also the workers' warm-up)."""
    run = create_requests(server.base, factory.mint(count), concurrency=min(count, 6), time_cap=120)
    issued = issued_of(run.bodies)
    if server.auto_issue and len(issued) < count:
        raise RuntimeError(f"warm-up issued {len(issued)} of {count}: statuses {dict(run.statuses)} "
                           f"outcomes {dict(run.outcomes)} {run.errors[:2]}\n{server.tail()}")
    return issued


def request_rates(server: Server, factory: CitizenFactory, results: Results, *, db: str, count: int,
                  section: str) -> tuple[list[float], list[Issued]]:
    """POST /api/v1/requests, ``count`` distinct citizens per run; RUNS runs."""
    expected = "issued" if server.auto_issue else "needs_review"
    rates: list[float] = []
    p50s: list[float] = []
    db_bytes: list[float] = []
    table_bytes: list[float] = []
    issued_all: list[Issued] = []
    for run_no in range(RUNS):
        citizens = factory.mint(count)
        before = _size(server)
        log(f"{db}: {count} requests, auto-issue {'on' if server.auto_issue else 'off'}, run {run_no + 1}/{RUNS}")
        run = create_requests(server.base, citizens, concurrency=CONCURRENCY, time_cap=180)
        after = _size(server)
        unexpected = {k: v for k, v in run.outcomes.items() if k != expected}
        if run.created < len(citizens) or unexpected:
            results.note(f"{db} run {run_no + 1}: {run.created}/{len(citizens)} created, statuses "
                         f"{dict(run.statuses)}, outcomes {dict(run.outcomes)} {run.errors[:2]}")
        rates.append(run.rate)
        p50s.append(sorted(run.latencies)[len(run.latencies) // 2] * 1000 if run.latencies else float("nan"))
        issued = issued_of(run.bodies)
        issued_all += issued
        if server.auto_issue and issued:
            db_bytes.append((after["database"] - before["database"]) / len(issued))
            if "certificates" in after:
                table_bytes.append((after["certificates"] - before["certificates"]) / len(issued))
    what = "requests issued at once" if server.auto_issue else "requests created (stop at needs_review)"
    results.add(section, f"{db}: {what}", rates, "/s",
                note=f"{count} per run, {CONCURRENCY} client threads, 2 workers")
    results.add(section, f"{db}: latency p50 of one POST ({'issued' if server.auto_issue else 'needs_review'})",
                p50s, "ms")
    if db_bytes:
        label = "whole SQLite file" if db == "SQLite" else "pg_database_size"
        results.add("sizes", f"{db}: database bytes per issued certificate ({label})", db_bytes, "B",
                    note="request + certificate (PDF inside) + audit rows", digits=0)
    if table_bytes:
        results.add("sizes", f"{db}: certificates table bytes per certificate (pg_total_relation_size)",
                    table_bytes, "B", note="heap + TOAST (PDF) + indexes", digits=0)
    return rates, issued_all


def _size(server: Server) -> dict[str, int]:
    if server.instance.is_sqlite:
        return {"database": sqlite_bytes(server.instance.sqlite_path)}
    return pg_sizes()


def document_sizes(server: Server, issued: list[Issued], results: Results) -> Issued | None:
    """PDF bytes per certificate; QR text length and version for a typical name."""
    from signing.qr import qr_version

    sample = issued[: 3 * RUNS]
    if not sample:
        return None
    pdf_sizes = [certificate_detail(server, i).get("pdf_bytes") or 0 for i in sample]
    first = sample[0]
    answer = call(server.base, "GET", f"/api/v1/certificates/{first.certificate_id}/pdf", token=first.citizen.token)
    if answer.status != 200 or not answer.body.startswith(b"%PDF"):
        results.note(f"GET .../pdf answered HTTP {answer.status}")
    elif len(answer.body) != pdf_sizes[0]:
        results.note(f"pdf_bytes {pdf_sizes[0]} differs from the downloaded PDF ({len(answer.body)} B)")
    results.add("sizes", "PDF bytes per certificate (signed, Form 1, clean record)", pdf_sizes, "B",
                note=f"{len(pdf_sizes)} certificates", digits=0)
    typical = next((i for i in sample if i.citizen.name == NAMES[0]), first)
    text = certificate_detail(server, typical)["qr_text"]
    token = text.rsplit("/", 1)[-1]
    results.add("sizes", "QR text length", [len(text)], "chars",
                note=f"holder “{typical.citizen.name}”, base URL of {len(text) - len(token) - 3} chars; "
                     f"{len(text.encode())} bytes; token {len(token)} chars", digits=0)
    results.add("sizes", "QR version (error correction M, byte + numeric segments)", [qr_version(text)], "",
                note="DESIGN §6: a typical name gives version ≤ 11", digits=0)
    return typical


def qr_image_requests(server: Server, issued: Issued, results: Results, *, count: int = 30) -> None:
    """GET .../qr.png one after another (drawn once per worker, then cached), against GET of the
    certificate itself (same login and row lookup, no image) in the same run: p50 of each."""
    base = f"/api/v1/certificates/{issued.certificate_id}"
    token = issued.citizen.token
    png, detail, revalidate = [], [], []
    etag = ""
    for run_no in range(RUNS):
        log(f"qr.png requests, run {run_no + 1}/{RUNS}")
        times: dict[str, list[float]] = {"png": [], "detail": [], "304": []}
        for _ in range(count):
            answer = call(server.base, "GET", f"{base}/qr.png", token=token)
            etag = answer.headers.get("etag", etag)
            times["png"].append(answer.seconds)
            times["detail"].append(call(server.base, "GET", base, token=token).seconds)
            times["304"].append(call(server.base, "GET", f"{base}/qr.png", token=token,
                                     headers={"If-None-Match": etag}).seconds)
        png.append(_p50_ms(times["png"]))
        detail.append(_p50_ms(times["detail"]))
        revalidate.append(_p50_ms(times["304"]))
    section = "QR image requests (client-side, one at a time)"
    results.add(section, "GET .../{id} (baseline: login + row, no image)", detail, "ms", note=f"p50 of {count}")
    results.add(section, "GET .../qr.png", png, "ms", note=f"p50 of {count}; drawn once per worker, then cached")
    results.add(section, "GET .../qr.png with If-None-Match (304)", revalidate, "ms", note=f"p50 of {count}")
    results.add(section, "qr.png − baseline", [a - b for a, b in zip(png, detail)], "ms",
                note="what the image adds to a request")


def _p50_ms(seconds: list[float]) -> float:
    return sorted(seconds)[len(seconds) // 2] * 1000


# --- verification over HTTP ------------------------------------------------------------------------


def verification_available(server: Server, qr_text: str) -> tuple[bool, str]:
    answer = call(server.base, "POST", "/api/v1/verifications", {"qr": qr_text})
    if answer.status in (404, 405):
        return False, ""
    body = answer.json() or {}
    return answer.status == 200, f"HTTP {answer.status}, outcome {body.get('outcome')!r}"


def http_verification(server: Server, qr_text: str, loadgen: LoadGenerator, results: Results, *,
                      seconds: float, section: str, label: str = "") -> None:
    """POST /api/v1/verifications (real QR) against GET /healthz, same server, interleaved runs."""
    available, detail = verification_available(server, qr_text)
    prefix = f"{label}: " if label else ""
    if not available and not detail:
        results.text(section, f"{prefix}POST /api/v1/verifications", "not available yet",
                     note="the endpoint answers 404 (api/public/verifications.py is being written)")
    elif not available:
        results.text(section, f"{prefix}POST /api/v1/verifications", "failed", note=detail)
        available = False
    health, verify = [], []
    for run_no in range(RUNS):
        log(f"{prefix}HTTP load run {run_no + 1}/{RUNS} ({loadgen.tool}, {seconds:.0f} s each)")
        health.append(loadgen.run(server.base, "/healthz", seconds=seconds))
        if available:
            verify.append(loadgen.run(server.base, "/api/v1/verifications", seconds=seconds, method="POST",
                                      body={"qr": qr_text}))
    for name, runs in (("GET /healthz (baseline)", health), ("POST /api/v1/verifications (real QR)", verify)):
        if not runs:
            continue
        errors = sum(r.errors for r in runs)
        note = f"{runs[0].tool}, {seconds:.0f} s a run" + (f"; {errors} errors/non-2xx" if errors else "")
        if runs is verify:
            note += f"; probe: {detail}"
        results.add(section, f"{prefix}{name} requests/s", [r.rps for r in runs], "/s", note=note)
        results.add(section, f"{prefix}{name} p50", [r.p50_ms for r in runs], "ms")
        results.add(section, f"{prefix}{name} p99", [r.p99_ms for r in runs], "ms")
    if verify:
        results.add(section, f"{prefix}verifications/s ÷ healthz/s", ratios([r.rps for r in verify],
                                                                           [r.rps for r in health]), "×", digits=2)
        results.add(section, f"{prefix}verification p99 ÷ healthz p99", ratios([r.p99_ms for r in verify],
                                                                              [r.p99_ms for r in health]), "×",
                    digits=1)
        _at_32_connections(server, qr_text, loadgen, results, seconds=seconds, section=section, prefix=prefix)


def _at_32_connections(server: Server, qr_text: str, loadgen: LoadGenerator, results: Results, *,
                       seconds: float, section: str, prefix: str) -> None:
    """The tail under twice the load: p99 at 32 connections, verification against healthz."""
    health, verify = [], []
    for run_no in range(RUNS):
        log(f"{prefix}HTTP load run at 32 connections {run_no + 1}/{RUNS}")
        health.append(loadgen.run(server.base, "/healthz", seconds=seconds, connections=32))
        verify.append(loadgen.run(server.base, "/api/v1/verifications", seconds=seconds, method="POST",
                                  body={"qr": qr_text}, connections=32))
    errors = sum(r.errors for r in verify)
    results.add(section, f"{prefix}32 connections: GET /healthz p99", [r.p99_ms for r in health], "ms")
    results.add(section, f"{prefix}32 connections: POST /api/v1/verifications p99", [r.p99_ms for r in verify], "ms",
                note=f"{errors} errors/non-2xx" if errors else "0 errors")
    results.add(section, f"{prefix}32 connections: verifications/s ÷ healthz/s",
                ratios([r.rps for r in verify], [r.rps for r in health]), "×", digits=2)
    results.add(section, f"{prefix}32 connections: verification p99 ÷ healthz p99",
                ratios([r.p99_ms for r in verify], [r.p99_ms for r in health]), "×", digits=1)
