"""Never an IP address, not even in the logs (DESIGN §7): a client's address reaches no log record,
whether a rate limit is breached, a login fails or a request is refused."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from ecert.jsonlog import JsonFormatter

ADDRESS = "203.0.113.77"
OTHER = "198.51.100.23"
LIMITS = "verification=2/minute,verification_pdf=1/minute,login=2/minute,request_creation=1/minute"


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, so a record that only shows up when an operator turns logging up
    is caught too (the limiter announces a breach at INFO, with the key it counted under)."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _client_at(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _everything_about(record: logging.LogRecord) -> str:
    return "\n".join([record.getMessage(), repr(record.args), repr(vars(record)), JsonFormatter().format(record)])


def _hit_every_limit(client: Any) -> list[int]:
    statuses = []
    for _ in range(3):
        statuses.append(client.post("/api/v1/verifications", json={"qr": "junk"}).status_code)
        statuses.append(client.get("/v/junk").status_code)
        statuses.append(client.post("/api/v1/verifications/pdf", data={}).status_code)
        statuses.append(client.post("/api/v1/staff/sessions",
                                    json={"username": "nobody", "password": "wrong password", "totp": "000000"}
                                    ).status_code)
        statuses.append(client.post("/api/v1/requests", json={}).status_code)
        statuses.append(client.get("/no/such/page").status_code)
    return statuses


def test_no_client_address_in_any_log_record(make_app, everything_logged):
    app = make_app(rate_limits=LIMITS)
    client = _client_at(app, ADDRESS)
    statuses = _hit_every_limit(client)
    assert statuses.count(429) >= 4, statuses  # the limits were breached, so the limiter spoke

    records = everything_logged.records
    # The test can fail: the limiter does log each breach, with the key it counted under.
    assert any(r.name == "flask-limiter" and "exceeded" in r.getMessage() for r in records), (
        [r.getMessage() for r in records]
    )
    assert any(r.name == "ecert.access" for r in records)
    leaks = [_everything_about(r) for r in records if ADDRESS in _everything_about(r)]
    assert not leaks, leaks[0]


def test_limits_still_count_per_client_address(make_app):
    # The limiter's key is no longer the address itself; each address must keep its own budget.
    app = make_app(rate_limits="verification=2/minute")
    first = _client_at(app, ADDRESS)
    second = _client_at(app, OTHER)
    assert [first.get("/v/junk").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/v/junk").status_code == 200


def test_json_log_line_never_carries_an_address_field():
    record = logging.LogRecord("ecert.access", logging.INFO, __file__, 1, "request", None, None)
    record.remote_addr = ADDRESS
    record.client_address = ADDRESS
    record.route = "/v/<token>"
    line = JsonFormatter().format(record)
    assert ADDRESS not in line and '"route": "/v/<token>"' in line


def test_client_key_is_a_keyed_hash_one_per_client():
    from api.limits import client_key

    secret = b"k" * 32
    key = client_key(ADDRESS, secret)
    assert ADDRESS not in key and len(key) == 32
    assert key == client_key(ADDRESS, secret) != client_key(OTHER, secret)
    assert key != client_key(ADDRESS, b"another deployment's secret")
    assert client_key("::ffff:" + ADDRESS, secret) == key  # one client, however it is written
    # An IPv6 client holds a /64: its addresses share one allowance, the next /64 has its own.
    assert client_key("2001:db8:1:2::1", secret) == client_key("2001:db8:1:2:ffff::9", secret)
    assert client_key("2001:db8:1:2::1", secret) != client_key("2001:db8:1:3::1", secret)
    assert client_key(None, secret) == client_key(None, secret)
