"""The staff console's queue page against the JSON queue, with 10,000 requests waiting.

In-process (Flask's test client, no network or worker in between, so the difference is the work
of each: the HTML page renders 50 rows with Jinja2; the JSON answer dumps 50 requests with
marshmallow), on the run's PostgreSQL database: 10,000 ``needs_review`` requests bulk-inserted
(copies of one real request with their own id, person and deadline, a tenth of them overdue),
then, interleaved, the console's ``GET /staff/queue`` (50 rows), the same page filtered by
province (a JSON-path condition PostgreSQL evaluates row by row), the overview page (its
aggregates over the 10,000), and ``GET /api/v1/staff/requests?limit=50``. Each figure is the
p50 or p99 of REQUESTS_PER_RUN requests, median of RUNS runs.
"""
from __future__ import annotations

import re
import secrets
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from bench.common import RUNS, Results, log, percentile
from bench.server import Instance

SECTION = "staff console (in-process, PostgreSQL)"
WAITING = 10_000
REQUESTS_PER_RUN = 40
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def _bulk_waiting(app: Any, count: int) -> None:
    """``count`` needs_review requests, one citizen each, deadlines spread over -2..+14 days."""
    from sqlalchemy import insert

    from ecert.models import CertificateRequest
    from ecert.wiring import resources_of

    now = datetime.now(timezone.utc)
    rows = []
    for i in range(count):
        # Province 079: the request-creation runs (bench.client.CitizenFactory) mint 001 IDs, and
        # one citizen in five of theirs would otherwise already have one of these open requests.
        pid = f"0790{90 + i % 10:02d}{i:06d}"
        rows.append({
            "id": str(uuid.uuid4()), "citizen_pid": pid, "open_slot": pid, "status": "needs_review",
            "form_type": 1 + (i % 4 == 0), "purpose": "Bổ sung hồ sơ xin việc", "copies": 1,
            "include_ban_section": False, "reduced_fee": False, "phone": "0912345678", "email": None,
            "holder": {"sub": pid, "name": f"Nguyễn Văn Bench {i}", "birthdate": "1990-01-01", "gender": "male"},
            "residence_history": [{"from": "2004-01", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm",
                                   "province_code": "01" if i % 3 else "79"}],
            "deadline_extended": False, "fee_vnd": 200_000, "fee_status": "owed",
            "review_reasons": ["has_unexpunged_conviction"],
            "submitted_at": now - timedelta(days=14), "due_at": now + timedelta(hours=(i % 400) - 48),
            "version": 1, "updated_at": now,
        })
    with resources_of(app).sessionmaker() as session:
        for start in range(0, count, 2000):
            session.execute(insert(CertificateRequest), rows[start:start + 2000])
        session.commit()


def _member(app: Any, username: str) -> tuple[str, str]:
    from ecert.services import staff as staff_service
    from ecert.services.audit import Actor
    from ecert.wiring import resources_of

    password = secrets.token_urlsafe(18)
    with resources_of(app).sessionmaker() as session:
        enrolment = staff_service.create_staff(session, username, "officer", password=password,
                                               actor=Actor("cli", "cli:bench"))
        session.commit()
    return password, enrolment.totp_secret


def _signed_in(app: Any) -> tuple[Any, dict[str, str]]:
    """A console client (cookie, first-sign-in confirmed) and an API bearer header, on two
    accounts so that each uses its own TOTP steps (s and s+1 for the console, s for the API)."""
    from bench.staff import _step_with_margin, _totp

    step = _step_with_margin()
    password, secret = _member(app, "bench-console")
    console = app.test_client()
    token = CSRF.search(console.get("/staff/login").get_data(as_text=True)).group(1)
    answer = console.post("/staff/login", data={"username": "bench-console", "password": password,
                                                "totp": _totp(secret, step), "csrf_token": token})
    assert answer.status_code == 303, answer.status_code
    token = CSRF.search(console.get("/staff/confirm").get_data(as_text=True)).group(1)
    answer = console.post("/staff/confirm", data={"totp": _totp(secret, step + 1), "csrf_token": token})
    assert answer.status_code == 303, answer.status_code
    password, secret = _member(app, "bench-api")
    body = app.test_client().post("/api/v1/staff/sessions", json={"username": "bench-api", "password": password,
                                                                   "totp": _totp(secret, step)}).get_json()
    return console, {"Authorization": f"Bearer {body['token']}"}


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed


def console_figures(instance: Instance, results: Results, *, waiting: int = WAITING) -> None:
    import logging

    instance.apply_to_process()
    from ecert import create_app
    from ecert.wiring import resources_of

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    log(f"console: {waiting:,} waiting requests into PostgreSQL")
    _bulk_waiting(app, waiting)
    console, bearer = _signed_in(app)
    api = app.test_client()
    targets: dict[str, Callable[[], Any]] = {
        "queue page (HTML, 50 rows)": lambda: console.get("/staff/queue"),
        "queue page filtered by province (HTML)": lambda: console.get("/staff/queue?province=79&form=1"),
        "overview page (aggregates, SVG)": lambda: console.get("/staff/"),
        "JSON queue (GET /api/v1/staff/requests?limit=50)": lambda: api.get("/api/v1/staff/requests?limit=50",
                                                                              headers=bearer),
    }
    for call in targets.values():  # warm the caches (templates, statements)
        _timed(call)
    p50: dict[str, list[float]] = {name: [] for name in targets}
    p99: dict[str, list[float]] = {name: [] for name in targets}
    for run in range(RUNS):
        log(f"console run {run + 1}/{RUNS}")
        samples: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(REQUESTS_PER_RUN):
            for name, call in targets.items():  # interleaved: the same moment for each
                samples[name].append(_timed(call))
        for name, values in samples.items():
            p50[name].append(statistics.median(values))
            p99[name].append(percentile(values, 99))
    for name in targets:
        results.add(SECTION, f"{name} p50", p50[name], "ms", note=f"{waiting:,} waiting")
        results.add(SECTION, f"{name} p99", p99[name], "ms")
    json_name = "JSON queue (GET /api/v1/staff/requests?limit=50)"
    ratios = [page / data for page, data in zip(p50["queue page (HTML, 50 rows)"], p50[json_name])]
    results.add(SECTION, "queue page ÷ JSON queue (p50)", ratios, "×", note="run by run", digits=2)
    resources_of(app).engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.console --database-url URL``: this part alone, on a PostgreSQL database of
    one's own (emptied first: its public schema is dropped), without the rest of ``make bench``."""
    import argparse
    import shutil
    import tempfile
    from pathlib import Path

    import psycopg

    parser = argparse.ArgumentParser(prog="python -m bench.console", description=main.__doc__)
    parser.add_argument("--database-url", required=True, help="postgresql+psycopg://... (its data is dropped)")
    parser.add_argument("--waiting", type=int, default=WAITING)
    args = parser.parse_args(argv)
    with psycopg.connect(args.database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    tmp = Path(tempfile.mkdtemp(prefix="ecert-bench-console-"))
    try:
        instance = Instance(tmp, "postgres", args.database_url)
        instance.flask("init")
        results = Results()
        console_figures(instance, results, waiting=args.waiting)
        print(results.plain_table())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
