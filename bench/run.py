"""``python -m bench.run [--quick] [--only NAME] [--full]``: every benchmark, one table.

Starts its own servers (gunicorn, 2 workers, rate limits off) on a throwaway instance under a
temp folder, on SQLite and on PostgreSQL (127.0.0.1:5432, database ecert_bench; skipped with a
line in the table when unreachable), measures, stops them (always), prints the table and writes
it to bench/results/latest.md. Figures are medians of 3 runs with min–max; ratios are taken
against a baseline measured in the same run. Nothing here asserts a timing.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench import e2e, inproc, junk_upload, outbox
from bench.client import CitizenFactory
from bench.common import RUNS, Results, log, ratios
from bench.load import CONNECTIONS, THREADS, LoadGenerator
from bench.server import (
    PG_BENCH_DB,
    PG_BENCH_URL,
    PUBLIC_BASE_URL,
    ROOT,
    Instance,
    Server,
    drop_postgres_data,
    postgres_reason_unavailable,
    reset_postgres,
)

SECTIONS = ("offline", "parts", "outbox", "requests", "http", "junk", "staff", "memory", "console", "scale",
            "profile")
RESULTS_FILE = ROOT / "bench" / "results" / "latest.md"
SECTION_REQUESTS = "requests through the API (2 workers)"
SECTION_HTTP = "verification over HTTP (2 workers)"
SECTION_E2E = "issuance: end to end vs parts"
SECTION_ORDER = [inproc.SECTION_OFFLINE, inproc.SECTION_PARTS, outbox.SECTION, SECTION_REQUESTS, SECTION_E2E,
                 inproc.SECTION_REQUEST_CPU, "sizes", SECTION_HTTP,
                 junk_upload.SECTION, "staff (2 workers)", "memory (2 workers, SQLite)",
                 "staff console (in-process, PostgreSQL)", "scale (PostgreSQL)", "PostgreSQL",
                 "profile (cProfile, in-process, SQLite)"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, 5 s load runs, 1k and 10k rows")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this part (repeatable); 'scale' then includes 1M rows")
    parser.add_argument("--full", action="store_true",
                        help="everything, including 1M rows in PostgreSQL and the profile")
    parser.add_argument("--no-pg", action="store_true", help="skip every PostgreSQL figure")
    parser.add_argument("--scale-pdf", action="store_true",
                        help="bulk rows carry the PDF too (≈60 kB each: 100k rows ≈ 6 GB)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and the ecert_bench data")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown file to write")
    return parser.parse_args(argv)


class Plan:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.only = set(args.only or [])
        self.quick = args.quick
        # Long enough that a run lasts seconds, not one: 40 a run (under a second) moved the rate ±20 %.
        self.requests_per_run = 12 if self.quick else 150  # issued at once
        self.requests_per_run_noissue = 40 if self.quick else 400  # stop at needs_review
        self.load_seconds = 5.0 if self.quick else 10.0
        self.scale_seconds = 3.0 if self.quick else 5.0
        if args.full or "scale" in self.only:
            self.scale_targets = [1_000, 100_000, 1_000_000] if not self.quick else [1_000, 10_000, 100_000]
        else:
            self.scale_targets = [1_000, 10_000] if self.quick else [1_000, 100_000]

    def wants(self, name: str) -> bool:
        if name == "profile":  # not in the default run
            return name in self.only or self.args.full
        return not self.only or name in self.only

    @property
    def needs_sqlite_server(self) -> bool:
        return any(self.wants(n) for n in ("requests", "http", "junk", "staff", "memory"))

    @property
    def needs_pg(self) -> bool:
        return not self.args.no_pg and any(self.wants(n) for n in ("requests", "scale", "console"))


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        nproc = str(os.cpu_count())
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"nproc": nproc, "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "os": platform.platform()}


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return f"{head}{' (with uncommitted changes in the work tree)' if dirty else ''}" if head else "?"


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(args)
    started = time.monotonic()
    when = datetime.now(timezone.utc)
    results = Results()
    info = machine()
    load_before = loadavg()
    settings: dict[str, str] = {
        "runs": f"{RUNS} per figure (median, min–max)",
        "server": "gunicorn -c gunicorn.conf.py wsgi:app, ECERT_WORKERS=2 (sync), ECERT_RATE_LIMITS=off, "
                  "ECERT_LOG_JSON=off (logs to a file)",
        "public base URL in QR texts": PUBLIC_BASE_URL,
        "request creation": f"{plan.requests_per_run} issued / {plan.requests_per_run_noissue} needs_review "
                            f"requests a run, {e2e.CONCURRENCY} client threads, one new citizen each",
        "mode": "quick" if plan.quick else "full" if args.full else "default",
    }
    if plan.only:
        settings["only"] = ", ".join(sorted(plan.only))
    tmp = Path(tempfile.mkdtemp(prefix="ecert-bench-"))
    log(f"work folder {tmp}; machine: {info['nproc']} CPUs, {info['cpu']}; load average {load_before}")
    loadgen = LoadGenerator(tmp)
    failed = None
    pg_used = False
    try:
        if plan.wants("http") or plan.wants("scale"):
            loadgen.ensure_wrk()
            settings["load generator"] = (f"{loadgen.version()}, {THREADS} threads, {CONNECTIONS} connections, "
                                          f"{plan.load_seconds:.0f} s a run")
            if loadgen.note:
                results.note(loadgen.note)

        sqlite = Instance(tmp, "sqlite")
        log("ecert init + seed-demo (SQLite)")
        sqlite.init()
        part_rates = None
        if plan.wants("offline") or plan.wants("parts"):
            ctx = inproc.open_context(sqlite)
            if plan.wants("offline"):
                inproc.offline_verification(ctx, results, quick=plan.quick)
            if plan.wants("parts"):
                part_rates = inproc.issuance_parts(ctx, results, quick=plan.quick)
                parts_ms = [sum(1000.0 / part_rates[key][i] for key, _ in inproc.PATH_PARTS) for i in range(RUNS)]
                inproc.request_cpu(ctx, results, parts_ms, quick=plan.quick)
            ctx.session.close()
        if plan.wants("outbox"):
            outbox.outbox_figures(sqlite, results, quick=plan.quick)

        e2e_rates: dict[str, list[float]] = {}
        noissue_rates: dict[str, list[float]] = {}
        if plan.needs_sqlite_server:
            factory = CitizenFactory(sqlite.idp_dir)
            with Server(sqlite, "sqlite") as server:
                warm = e2e.issue_some(server, factory, 6)
                if plan.wants("requests"):
                    _alive(server, results)
                    e2e_rates["SQLite"], issued = e2e.request_rates(
                        server, factory, results, db="SQLite", count=plan.requests_per_run, section=SECTION_REQUESTS)
                    typical = e2e.document_sizes(server, issued, results)
                    if typical is not None:
                        e2e.qr_image_requests(server, typical, results)
                if plan.wants("http"):
                    _alive(server, results)
                    qr = e2e.certificate_detail(server, warm[0])["qr_text"]
                    e2e.http_verification(server, qr, loadgen, results, seconds=plan.load_seconds,
                                          section=SECTION_HTTP)
                if plan.wants("junk"):
                    _alive(server, results)
                    junk_upload.junk_figures(server, results, seconds=plan.load_seconds)
                    # The same flood against the shipped configuration: the per-address limit on PDF
                    # checks answers 429 before the body is read, so one address cannot tie up workers.
                    with Server(sqlite, "junk-limits", extra_env={"ECERT_RATE_LIMITS": ""}) as limited:
                        junk_upload.junk_figures(limited, results, seconds=plan.load_seconds,
                                                 setting="default rate limits, ")
                if plan.wants("staff"):
                    from bench.staff import staff_figures

                    _alive(server, results)
                    staff_figures(server, factory, results)
            if plan.wants("memory"):
                from bench.memory import memory_figures

                with Server(sqlite, "sqlite-memory") as server:
                    memory_figures(server, factory, results, quick=plan.quick)
            if plan.wants("requests"):
                with Server(sqlite, "sqlite-noissue", auto_issue=False) as server:
                    e2e.issue_some(server, factory, 6)
                    noissue_rates["SQLite"], _ = e2e.request_rates(
                        server, factory, results, db="SQLite", count=plan.requests_per_run_noissue,
                        section=SECTION_REQUESTS)

        if plan.needs_pg:
            reason = postgres_reason_unavailable()
            if reason:
                results.text("PostgreSQL", "every PostgreSQL figure", "skipped", note=reason)
            else:
                pg_used = True
                settings["PostgreSQL"] = f"{reset_postgres()} at 127.0.0.1:5432, database {PG_BENCH_DB} (public schema " \
                                         "dropped first)"
                pg = Instance(tmp, "postgres", PG_BENCH_URL)
                log("ecert init + seed-demo (PostgreSQL)")
                pg.init()
                pg_factory = CitizenFactory(pg.idp_dir)
                with Server(pg, "postgres") as server:
                    warm = e2e.issue_some(server, pg_factory, 6)
                    if plan.wants("requests"):
                        _alive(server, results)
                        e2e_rates["PostgreSQL"], _ = e2e.request_rates(
                            server, pg_factory, results, db="PostgreSQL", count=plan.requests_per_run,
                            section=SECTION_REQUESTS)
                    if plan.wants("scale"):
                        from bench.scale import scale_figures

                        _alive(server, results)
                        detail = e2e.certificate_detail(server, warm[0])
                        real_cti = _cti_of(detail["qr_text"])
                        settings["scale"] = (", ".join(f"{t:,}" for t in plan.scale_targets) + " certificates; "
                                             f"bulk rows {'with' if args.scale_pdf else 'without'} PDF")
                        scale_figures(server, warm[0].certificate_id, real_cti, detail["qr_text"], loadgen, results,
                                      targets=plan.scale_targets, seconds=plan.scale_seconds, keep_pdf=args.scale_pdf)
                if plan.wants("console"):
                    from bench.console import console_figures

                    console_figures(pg, results)
                if plan.wants("requests"):
                    with Server(pg, "postgres-noissue", auto_issue=False) as server:
                        e2e.issue_some(server, pg_factory, 6)
                        noissue_rates["PostgreSQL"], _ = e2e.request_rates(
                            server, pg_factory, results, db="PostgreSQL", count=plan.requests_per_run_noissue,
                            section=SECTION_REQUESTS)

        if plan.wants("profile"):
            from bench.profiling import profile_figures

            profile_figures(sqlite, results, quick=plan.quick)

        _derived(results, part_rates, e2e_rates, noissue_rates)
    except BaseException as exc:  # noqa: BLE001 - report what was measured, then fail
        failed = exc
        results.note(f"the run stopped early: {type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        from bench.server import _cleanup

        _cleanup()
        if pg_used and not args.keep:
            drop_postgres_data()
        if failed is None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"work folder kept: {tmp} (server logs server-*.log)")

    elapsed = time.monotonic() - started
    load_after = loadavg()
    results.note(f"Shared machine: load average {load_before} at the start and {load_after} at the end "
                 f"({info['nproc']} CPUs). Other work was running, so absolute figures are noisy; the ratios "
                 "against a baseline taken in the same run are the point. Client and server share the CPUs.")
    header = {
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{info['nproc']} CPUs ({info['cpu']}), {info['memory']}, {info['os']}",
        "software": f"Python {info['python']}, SQLite {info['sqlite']}",
        "git commit": git_commit(),
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "duration": f"{elapsed / 60:.1f} min",
    }
    header.update(settings)
    print()
    for key, value in header.items():
        print(f"{key}: {value}")
    results.order(SECTION_ORDER)
    print()
    print(results.plain_table())
    print()
    for note in results.notes:
        print(f"- {note}")
    write_markdown(args.output, header, results)
    log(f"wrote {args.output}")
    if failed is not None:
        return 130 if isinstance(failed, KeyboardInterrupt) else 1
    return 0


def _alive(server: Server, results: Results) -> None:
    note = server.ensure_running()
    if note:
        results.note(note)


def _cti_of(qr_text: str) -> bytes:
    from verification.token import decode_token, extract_token

    return decode_token(extract_token(qr_text)).claims.cti


def _derived(results: Results, part_rates: dict[str, list[float]] | None, e2e_rates: dict[str, list[float]],
             noissue_rates: dict[str, list[float]]) -> None:
    serial = None
    if part_rates:
        serial = [1.0 / sum(1.0 / part_rates[key][i] for key, _ in inproc.PATH_PARTS) for i in range(RUNS)]
    for db, rates in e2e_rates.items():
        if serial:
            results.add(SECTION_E2E, f"{db}: end-to-end issued/s ÷ rate the parts allow (1 core)",
                        ratios(rates, serial), "×", digits=2,
                        note="2 workers on 2 cores could reach 2× if nothing else cost anything")
        two_cores = part_rates.get(inproc.TWO_CORES) if part_rates else None
        if two_cores:
            results.add(SECTION_E2E, f"{db}: end-to-end issued/s ÷ what the parts allow on 2 cores",
                        ratios(rates, two_cores), "×", digits=2,
                        note="1× if HTTP, the database and locks cost nothing; the client shares the cores")
        off = noissue_rates.get(db)
        if off:
            per_cert = [(1.0 / a - 1.0 / b) * 1000 for a, b in zip(rates, off) if a and b]
            results.add(SECTION_E2E, f"{db}: issuance cost seen through the API (1/issued − 1/needs_review)",
                        per_cert, "ms", note="wall time per certificate at 2 workers")
            results.add(SECTION_E2E, f"{db}: requests with issuance ÷ without", ratios(rates, off), "×", digits=3)


def write_markdown(path: Path, header: dict[str, str], results: Results) -> None:
    lines = ["# ecert benchmark results", "",
             "Written by `make bench` (`python -m bench.run`). Figures, not pass/fail: each is the median of "
             f"{RUNS} runs with min–max; ratios are taken run by run against a baseline measured in the same run.",
             ""]
    for key, value in header.items():
        lines.append(f"- **{key}**: {value}")
    lines += ["", results.markdown_table(), ""]
    if results.notes:
        lines += ["## Notes", ""]
        lines += [f"- {note}" for note in results.notes]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
