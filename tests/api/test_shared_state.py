"""State a second host needs lives in Redis or PostgreSQL, never in one process's memory."""
from __future__ import annotations

import os
import secrets

import pytest

from api.deps import edge_of

REDIS_URL = os.environ.get("ECERT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no Redis here"
        return False


@pytest.mark.skipif(not _redis_available(), reason=f"no Redis at {REDIS_URL}")
def test_rate_limit_counts_are_shared_across_hosts_through_redis(provisioned, make_app):
    from ecert import create_app

    # Two apps = two hosts behind a load balancer. These requests carry no token: refused (401)
    # before they touch the database, so host B needs no test transaction of its own, and they
    # spend the address's budget (a 422 would spend nothing, issue #10).
    limits = "request_creation=3/minute"
    host_b = create_app({**provisioned, "redis_url": REDIS_URL, "rate_limits": limits})
    host_a = make_app(redis_url=REDIS_URL, rate_limits=limits)
    # A prefix unique to this run keeps earlier runs' counts out.
    prefix = f"ecert-test-{secrets.token_hex(4)}"
    edge_of(host_a).limiter._key_prefix = prefix
    edge_of(host_b).limiter._key_prefix = prefix
    a, b = host_a.test_client(), host_b.test_client()
    statuses = [
        a.post("/api/v1/requests", json={}).status_code,
        b.post("/api/v1/requests", json={}).status_code,
        a.post("/api/v1/requests", json={}).status_code,
        b.post("/api/v1/requests", json={}).status_code,
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429  # host B saw host A's requests


def test_without_redis_limits_fall_back_to_process_memory(make_app):
    app = make_app(rate_limits="request_creation=3/minute")
    assert edge_of(app).limiter._storage_uri == "memory://"


def test_page_and_api_share_one_verification_budget(make_app):
    client = make_app(rate_limits="verification=3/minute").test_client()
    statuses = [
        client.post("/api/v1/verifications", json={"qr": "junk"}).status_code,
        client.get("/v/junk").status_code,
        client.post("/api/v1/verifications", json={"qr": "junk"}).status_code,
        client.get("/v/junk").status_code,
    ]
    assert statuses == [200, 200, 200, 429]


def test_metrics_count_verification_outcomes(client):
    from prometheus_client import REGISTRY

    def count(channel: str) -> float:
        return REGISTRY.get_sample_value(
            "ecert_verifications_total", {"channel": channel, "outcome": "malformed"}) or 0.0

    before = count("qr"), count("page")
    client.post("/api/v1/verifications", json={"qr": "junk"})
    client.get("/v/junk")
    assert (count("qr"), count("page")) == (before[0] + 1, before[1] + 1)
