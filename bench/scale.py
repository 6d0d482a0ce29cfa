"""Verification latency with 1k, 100k (and 1M) certificates in PostgreSQL (issue 6).

The rows are made in bulk (INSERT ... SELECT generate_series), not through the API: each is a
copy of one certificate issued through the API (same content, token and QR text bytes, so the
same row size) with its own id, request, number, cti, code and digest. The PDF column of bulk
rows is NULL unless --scale-pdf: a PDF (tens of kB, in TOAST) per row would make 1M rows tens of
GB; the status lookup never reads it. The certificate whose QR is verified over HTTP is a real
one, PDF included.
"""
from __future__ import annotations

import hashlib
import random
import time

from bench.common import RUNS, Results, log, percentile
from bench.e2e import http_verification, verification_available
from bench.load import LoadGenerator
from bench.server import PG_BENCH_DSN, Server

SECTION = "scale (PostgreSQL)"
BATCH = 50_000
LOOKUPS = 2000  # status lookups per run

# The columns ecert.services.verification.find_status reads (never the PDF).
STATUS_QUERY = ("SELECT id, status, content_digest, revoked_at, revocation_reason FROM certificates "
                "WHERE cti = %s")


def _pid(alias: str) -> str:
    return f"'9' || lpad({alias}::text, 11, '0')"


def _overrides(keep_pdf: bool) -> tuple[dict[str, str], dict[str, str]]:
    request = {
        "id": "md5('bench-req-' || g)::uuid::text",
        "citizen_pid": _pid("g"),
        "open_slot": "NULL",
        "status": "'issued'",
    }
    certificate = {
        "id": "md5('bench-cert-' || g)::uuid::text",
        "request_id": "md5('bench-req-' || g)::uuid::text",
        "holder_pid": _pid("g"),
        "number": "'BENCH-' || lpad(g::text, 10, '0')",
        "cti": "decode(md5('bench-cti-' || g), 'hex')",
        "verification_code": "upper(substr(md5('bench-code-' || g), 1, 12))",
        "content_digest": "decode(md5('bench-digest-' || g), 'hex')",
        "issued_at": "t.issued_at - make_interval(secs => g)",
        "status": "'valid'",
        "revoked_at": "NULL",
        "revocation_reason": "NULL",
        "revocation_note": "NULL",
        "revoked_by": "NULL",
        "superseded_by_id": "NULL",
    }
    if not keep_pdf:
        certificate["pdf"] = "NULL"
    return request, certificate


def bulk_cti(g: int) -> bytes:
    return hashlib.md5(f"bench-cti-{g}".encode()).digest()


class BulkFiller:
    def __init__(self, template_certificate_id: str, keep_pdf: bool) -> None:
        import psycopg

        self.conn = psycopg.connect(PG_BENCH_DSN, connect_timeout=5)
        self.conn.execute("SET synchronous_commit = off")
        row = self.conn.execute("SELECT request_id FROM certificates WHERE id = %s",
                                (template_certificate_id,)).fetchone()
        self.template_certificate = template_certificate_id
        self.template_request = row[0]
        self.bulk = self.conn.execute("SELECT count(*) FROM certificates WHERE number LIKE 'BENCH-%%'").fetchone()[0]
        self.conn.commit()
        self.real = self.total() - self.bulk
        self.baseline = self.sizes()
        req_over, cert_over = _overrides(keep_pdf)
        self.insert_requests = self._statement("requests", req_over, self.template_request)
        self.insert_certificates = self._statement("certificates", cert_over, self.template_certificate)

    def _statement(self, table: str, overrides: dict[str, str], _template: str) -> str:
        columns = [r[0] for r in self.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "ORDER BY ordinal_position", (table,)).fetchall()]
        exprs = [overrides.get(c, f't."{c}"') for c in columns]
        cols = ", ".join(f'"{c}"' for c in columns)
        return (f"INSERT INTO {table} ({cols}) SELECT {', '.join(exprs)} FROM {table} t "
                f"CROSS JOIN generate_series(%(a)s::bigint, %(b)s::bigint) AS g WHERE t.id = %(tid)s")

    def total(self) -> int:
        return self.conn.execute("SELECT count(*) FROM certificates").fetchone()[0]

    def fill_to(self, target: int) -> tuple[int, float]:
        """Add bulk rows until the table holds ``target`` certificates; (rows added, seconds)."""
        start = time.perf_counter()
        missing = added = target - self.total()
        while missing > 0:
            n = min(BATCH, missing)
            a, b = self.bulk + 1, self.bulk + n
            self.conn.execute(self.insert_requests, {"a": a, "b": b, "tid": self.template_request})
            self.conn.execute(self.insert_certificates, {"a": a, "b": b, "tid": self.template_certificate})
            self.conn.commit()
            self.bulk = b
            missing -= n
            log(f"bulk rows: {self.bulk:,} (+{n:,})")
        self.conn.execute("ANALYZE requests")
        self.conn.execute("ANALYZE certificates")
        self.conn.commit()
        return max(0, added), time.perf_counter() - start

    def sizes(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT pg_total_relation_size('certificates'), pg_relation_size('certificates'), "
            "pg_total_relation_size('requests'), "
            "(SELECT pg_relation_size(indexrelid) FROM pg_index i JOIN pg_attribute a "
            "   ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "   WHERE i.indrelid = 'certificates'::regclass AND a.attname = 'cti' LIMIT 1)"
        ).fetchone()
        self.conn.commit()
        return {"certificates_total": row[0], "certificates_heap": row[1], "requests_total": row[2],
                "cti_index": row[3] or 0}

    def plan(self) -> str:
        rows = self.conn.execute("EXPLAIN " + STATUS_QUERY, (bulk_cti(1),)).fetchall()
        self.conn.commit()
        return rows[0][0].split("  (")[0].strip() if rows else "?"

    def lookup_latencies(self, count: int, real_cti: bytes) -> tuple[list[float], list[float]]:
        """Latency (ms) of the status query by cti: random bulk rows (hits), and unknown ctis."""
        hits, misses = [], []
        rng = random.Random(count)
        with self.conn.cursor() as cur:
            for i in range(count):
                cti = bulk_cti(rng.randint(1, self.bulk)) if self.bulk and i % 10 else real_cti
                t0 = time.perf_counter()
                cur.execute(STATUS_QUERY, (cti,), prepare=True)
                found = cur.fetchone()
                hits.append((time.perf_counter() - t0) * 1000)
                if found is None:
                    raise RuntimeError("a bulk certificate was not found by its cti")
            for _ in range(max(1, count // 10)):
                t0 = time.perf_counter()
                cur.execute(STATUS_QUERY, (rng.randbytes(16),), prepare=True)
                cur.fetchone()
                misses.append((time.perf_counter() - t0) * 1000)
        self.conn.commit()
        return hits, misses

    def close(self) -> None:
        self.conn.close()


def scale_figures(server: Server, real_certificate_id: str, real_cti: bytes, qr_text: str,
                  loadgen: LoadGenerator, results: Results, *, targets: list[int], seconds: float,
                  keep_pdf: bool) -> None:
    available, _ = verification_available(server, qr_text)
    if not available:
        results.text(SECTION, "POST /api/v1/verifications at scale", "not available yet",
                     note="the endpoint answers 404; the status query below is what it will run")
    filler = BulkFiller(real_certificate_id, keep_pdf)
    try:
        for target in targets:
            label = f"{target:,} certificates".replace(",000,000 ", "M ").replace(",000 ", "k ")
            added, took = filler.fill_to(target)
            count = filler.total()
            log(f"{count:,} certificates in PostgreSQL (bulk fill took {took:.1f} s)")
            sizes = filler.sizes()
            bulk = filler.bulk
            if bulk:
                grown = {k: sizes[k] - filler.baseline.get(k, 0) for k in sizes}
                results.add(SECTION, f"{label}: certificates table bytes per bulk row",
                            [grown["certificates_total"] / bulk], "B",
                            note=f"heap+TOAST+indexes, {'with' if keep_pdf else 'without'} the PDF; requests "
                                 f"+{grown['requests_total'] / bulk:,.0f} B/row; cti index "
                                 f"{sizes['cti_index'] / 1e6:.1f} MB; {filler.real} real certificates besides",
                            digits=0)
            if added >= 1000:
                results.add(SECTION, f"{label}: bulk insert rate", [added / took], "rows/s",
                            note=f"{added:,} rows in {took:.0f} s: INSERT ... SELECT generate_series, "
                                 "requests + certificates, one run", digits=0)
            p50, p99, miss99 = [], [], []
            for run_no in range(RUNS):
                hits, misses = filler.lookup_latencies(LOOKUPS, real_cti)
                p50.append(percentile(hits, 50))
                p99.append(percentile(hits, 99))
                miss99.append(percentile(misses, 99))
            plan = filler.plan()
            results.add(SECTION, f"{label}: status lookup by cti, p50", p50, "ms",
                        note=f"{LOOKUPS} random lookups a run from the bench process; {plan}", digits=3)
            results.add(SECTION, f"{label}: status lookup by cti, p99", p99, "ms", digits=3)
            results.add(SECTION, f"{label}: lookup of an unknown cti, p99", miss99, "ms", digits=3)
            if available:
                http_verification(server, qr_text, loadgen, results, seconds=seconds, section=SECTION, label=label)
    finally:
        filler.close()
