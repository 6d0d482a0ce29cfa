"""Prometheus metrics at /metrics: request counts and latency, issuance and verification outcomes.

Under gunicorn every worker is a process; with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py
sets it) the figures of all workers are summed at scrape time.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from api.deps import settings as app_settings
from api.errors import problem

REQUESTS = Counter("ecert_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "ecert_http_request_duration_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ISSUANCES = Counter("ecert_issuances_total", "Certificates issued, by path", ["path"])
DECISIONS = Counter("ecert_request_decisions_total", "Request decisions", ["status"])
VERIFICATIONS = Counter("ecert_verifications_total", "Verifications", ["channel", "outcome"])


def observe_decision(status: str, path: str = "automatic") -> None:
    DECISIONS.labels(status).inc()
    if status == "issued":
        ISSUANCES.labels(path).inc()


def observe_verification(channel: str, outcome: str) -> None:
    VERIFICATIONS.labels(channel, outcome).inc()


def _after(response: Response) -> Response:
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    started = g.get("metrics_started")
    REQUESTS.labels(request.method, rule, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(rule).observe(time.perf_counter() - started)
    return response


def _before() -> None:
    g.metrics_started = time.perf_counter()


def metrics_view() -> Response:
    """Open in development; in production only with ``Authorization: Bearer ECERT_METRICS_TOKEN``
    (the configuration refuses to start without one; without it here, nobody gets in)."""
    settings = app_settings()
    expected = settings.metrics_token
    if expected or settings.is_production:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not expected or not hmac.compare_digest(supplied.encode(), expected.encode()):
            return problem(401, "unauthorized")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    response = Response(body, mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
    app.add_url_rule("/metrics", "metrics", metrics_view)
