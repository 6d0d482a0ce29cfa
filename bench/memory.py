"""Worker memory: RSS of the gunicorn workers after the first 100 verifications and issuances,
and again after 10,000 verifications and 1,000 issuances (issue 13: within 10%).

RSS is read from /proc/<pid>/status (VmRSS) of each worker (the master's children); the figure is
their sum. A leak per request shows as growth between the two readings; caches that fill once
(the trust list, fonts, the PDF checker's fork server) are filled by the first 100.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from bench.client import CitizenFactory, call, create_requests
from bench.common import Results, log
from bench.e2e import certificate_detail, issue_some
from bench.server import Server

SECTION = "memory (2 workers, SQLite)"
FIRST = 100
VERIFICATIONS = 10_000
ISSUANCES = 1_000
THREADS = 4


def worker_pids(server: Server) -> list[int]:
    assert server.proc is not None
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _verify_many(server: Server, qr_texts: list[str], count: int) -> int:
    """``count`` verifications from THREADS threads, cycling over the certificates; errors counted."""
    errors = [0]
    lock = threading.Lock()
    per_thread = count // THREADS

    def run(offset: int) -> None:
        for i in range(per_thread):
            answer = call(server.base, "POST", "/api/v1/verifications", {"qr": qr_texts[(offset + i) % len(qr_texts)]})
            if answer.status != 200:
                with lock:
                    errors[0] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors[0]


def memory_figures(server: Server, factory: CitizenFactory, results: Results, *, quick: bool) -> None:
    scale = 10 if quick else 1
    logged_before = _events_logged(server)
    issued = issue_some(server, factory, FIRST)
    qr_texts = [certificate_detail(server, one)["qr_text"] for one in issued[:20]]
    first_errors = _verify_many(server, qr_texts, FIRST)
    pids = worker_pids(server)
    first = sum(rss_kib(pid) for pid in pids)
    verifications, issuances = VERIFICATIONS // scale, ISSUANCES // scale
    log(f"memory: {verifications:,} verifications and {issuances:,} issuances")
    run = create_requests(server.base, factory.mint(issuances - FIRST), concurrency=THREADS, time_cap=600)
    errors = _verify_many(server, qr_texts, verifications - FIRST)
    if worker_pids(server) != pids:
        results.note("memory: a worker was replaced during the run (its figures are not comparable)")
    last = sum(rss_kib(pid) for pid in pids)
    results.add(SECTION, f"worker RSS after the first {FIRST} verifications and issuances (sum of workers)",
                [first / 1024], "MiB", digits=1)
    results.add(SECTION, f"worker RSS after {verifications:,} verifications and {issuances:,} issuances",
                [last / 1024], "MiB", digits=1,
                note=f"{run.sent} requests sent, {errors} verification errors")
    results.add(SECTION, "growth (after ÷ first)", [last / first if first else float("nan")], "×", digits=2,
                note="issue 13: within 1.10")
    time.sleep(1.0)  # one batch interval and more: every answered check is written by now
    _logged_figure(results, logged=_events_logged(server) - logged_before, answered=verifications - errors - first_errors)


def _events_logged(server: Server) -> int:
    with sqlite3.connect(server.instance.sqlite_path) as conn:
        return int(conn.execute("SELECT count(*) FROM verification_events").fetchone()[0])


def _logged_figure(results: Results, *, logged: int, answered: int) -> None:
    """Every verification answered is in the log once its batch is written (DESIGN §7)."""
    results.add(SECTION, "verification events logged ÷ verifications answered", [logged / answered], "×",
                digits=3, note=f"{logged:,} events for {answered:,} answers (batched writes)")
