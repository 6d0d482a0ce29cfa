"""Where the time goes: cProfile of issuance and verification, in-process (Flask test client).

Not part of the default run (``--only profile`` or ``--full``). The same view code as under
gunicorn, without the HTTP server: one process, one core, SQLite. The full listings go to
``bench/results/profile.txt``; the table gets each watched function's share of the wall time.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import time
from typing import Any

from bench.client import CitizenFactory
from bench.common import Results, log
from bench.server import ROOT, Instance

SECTION = "profile (cProfile, in-process, SQLite)"
PROFILE_FILE = ROOT / "bench" / "results" / "profile.txt"

# (label, path suffix of the file, function name): cumulative time of each, as a share of the total.
ISSUANCE_WATCH = [
    ("identity token check (JWT ES256)", "ecert/identity.py", "verify"),
    ("request validation", "ecert/domain/validation.py", "validate_request"),
    ("issue_certificate (all of issuance)", "ecert/services/issuance.py", "issue_certificate"),
    ("PDF render", "signing/pdf.py", "render_certificate_pdf"),
    ("  of which QR symbol (segno build + mask choice)", "signing/qr.py", "_symbol"),
    ("PAdES sign", "signing/pdf.py", "sign_pdf"),
    ("COSE sign", "signing/cose.py", "sign_token"),
    ("content build", "ecert/domain/content.py", "build_content"),
    ("session commit", "sqlalchemy/orm/session.py", "commit"),
    ("audit record", "ecert/services/audit.py", "record"),
]
VERIFICATION_WATCH = [
    ("verify_token (library)", "verification/core.py", "verify_token"),
    ("  of which status lookup (find_status)", "ecert/services/verification.py", "find_status"),
    ("trust list (cache check: keys fingerprint query)", "ecert/services/verification.py", "_trust"),
    ("verification event + commit", "api/public/verifications.py", "record"),
    ("result document + marshmallow dump", "api/public/verifications.py", "result_document"),
    ("request parsing (webargs/marshmallow)", "webargs/core.py", "parse"),
    ("access log line", "api/__init__.py", "_finish"),
]


def _share(stats: pstats.Stats, suffix: str, name: str, total: float) -> float | None:
    best = None
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and filename.replace("\\", "/").endswith(suffix):
            best = max(best or 0.0, ct)
    return None if best is None else 100.0 * best / total


def _listing(stats: pstats.Stats, title: str) -> str:
    out = io.StringIO()
    out.write(f"=== {title} ===\n")
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def _profile(fn: Any, count: int) -> tuple[pstats.Stats, float]:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for i in range(count):
        fn(i)
    profiler.disable()
    return pstats.Stats(profiler), time.perf_counter() - start


def profile_figures(instance: Instance, results: Results, *, quick: bool) -> None:
    import logging

    instance.apply_to_process()
    from ecert import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    client = app.test_client()
    factory = CitizenFactory(instance.idp_dir)
    factory.serial = 700_000  # apart from the server runs' citizens
    n_issue = 8 if quick else 25
    citizens = factory.mint(n_issue + 2)
    for citizen in citizens[:2]:  # warm: fonts, keys, imports
        client.post("/api/v1/requests", json=citizen.request_payload(), headers={"Authorization": f"Bearer {citizen.token}"})
    log(f"profiling {n_issue} issuances (POST /api/v1/requests, in-process)")
    answers: list[Any] = []

    def issue(i: int) -> None:
        c = citizens[2 + i]
        answers.append(client.post("/api/v1/requests", json=c.request_payload(),
                                   headers={"Authorization": f"Bearer {c.token}"}))

    issue_stats, issue_seconds = _profile(issue, n_issue)
    issued = [a.get_json() for a in answers if a.status_code == 201 and a.get_json().get("status") == "issued"]
    results.add(SECTION, "issuance: wall time per POST under the profiler", [1000 * issue_seconds / n_issue], "ms",
                note=f"{len(issued)}/{n_issue} issued; cProfile slows Python code down")
    for label, suffix, name in ISSUANCE_WATCH:
        share = _share(issue_stats, suffix, name, issue_seconds)
        if share is not None:
            results.add(SECTION, f"issuance: {label}", [share], "% of time", digits=1)

    listing = _listing(issue_stats, f"POST /api/v1/requests (issued at once), {n_issue} calls")
    if issued:
        citizen = citizens[2]
        cert = client.get(f"/api/v1/certificates/{issued[0]['certificate_id']}",
                          headers={"Authorization": f"Bearer {citizen.token}"}).get_json()
        qr = cert["qr_text"]
        probe = client.post("/api/v1/verifications", json={"qr": qr})
        if probe.status_code in (404, 405):
            results.text(SECTION, "verification", "not available yet")
        else:
            n_verify = 100 if quick else 400
            log(f"profiling {n_verify} verifications (POST /api/v1/verifications, in-process)")
            verify_stats, verify_seconds = _profile(
                lambda _i: client.post("/api/v1/verifications", json={"qr": qr}), n_verify)
            results.add(SECTION, "verification: wall time per POST under the profiler",
                        [1000 * verify_seconds / n_verify], "ms",
                        note=f"outcome {probe.get_json().get('outcome')!r}")
            for label, suffix, name in VERIFICATION_WATCH:
                share = _share(verify_stats, suffix, name, verify_seconds)
                if share is not None:
                    results.add(SECTION, f"verification: {label}", [share], "% of time", digits=1)
            listing += "\n" + _listing(verify_stats, f"POST /api/v1/verifications (real QR), {n_verify} calls")
    PROFILE_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROFILE_FILE.write_text(listing.replace(str(ROOT) + "/", ""), encoding="utf-8")
    results.note(f"profile listings (cumulative and own time) in {PROFILE_FILE.relative_to(ROOT)}")
