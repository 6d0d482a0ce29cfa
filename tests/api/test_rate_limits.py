"""A limit belongs to whoever acts (DESIGN §9, issue #10): creation per citizen, staff work per
member, login per username and address, anonymous checks per client address (after
ECERT_TRUSTED_PROXIES hops); a 422 and an idempotent replay spend nothing; the limits are
published in RateLimit-Policy / RateLimit and declared in the OpenAPI document."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.staff.fixtures import clock, fast_hashes, staff  # noqa: F401  (fixtures)
from tests.support import form1_payload, history_since_14

NAT = "203.0.113.77"
AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
BINH = {"pid": "079185001234", "name": "Trần Thị Bình", "birthdate": "1985-11-02", "gender": "female"}
REQUESTS = "/api/v1/requests"


@pytest.fixture
def app(make_app):
    return make_app(rate_limits="request_creation=2/minute,staff=3/minute,verification=3/minute")


def _behind_nat(app: Any, address: str = NAT) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _valid(person: dict[str, str]) -> dict[str, Any]:
    return form1_payload(residence_history=history_since_14(person["birthdate"]))


def _remaining(response: Any) -> int:
    match = re.search(r'"request_creation-60s";r=(\d+);t=(\d+)', response.headers["RateLimit"])
    assert match, response.headers.get("RateLimit")
    return int(match.group(1))


def test_two_citizens_behind_one_address_each_get_their_own_budget(app, auth):
    client = _behind_nat(app)
    an = [client.post(REQUESTS, json={"form_type": 9}, headers=auth(**AN)) for _ in range(2)]
    # 422s spend nothing, so An sends twice more, each refused as invalid, then for real.
    an_statuses = [r.status_code for r in an]
    assert an_statuses == [422, 422]
    first = client.post(REQUESTS, json=_valid(AN), headers=auth(**AN))
    assert first.status_code == 201, first.get_json()
    binh = client.post(REQUESTS, json=_valid(BINH), headers=auth(**BINH))
    assert binh.status_code == 201, binh.get_json()  # An's requests spent An's budget only


def test_invalid_requests_do_not_spend_the_budget(app, auth):
    client = _behind_nat(app)
    statuses = [client.post(REQUESTS, json={"form_type": 9}, headers=auth(**AN)).status_code for _ in range(5)]
    assert statuses == [422] * 5
    assert client.post(REQUESTS, json=_valid(AN), headers=auth(**AN)).status_code == 201


def test_an_idempotent_replay_does_not_spend(app, auth):
    client = _behind_nat(app)
    headers = {**auth(**AN), "Idempotency-Key": "same-key-1"}
    first = client.post(REQUESTS, json=_valid(AN), headers=headers)
    assert first.status_code == 201
    replays = [client.post(REQUESTS, json=_valid(AN), headers=headers) for _ in range(3)]
    assert [r.headers.get("Idempotent-Replayed") for r in replays] == ["true"] * 3
    assert {_remaining(r) for r in replays} == {1}


def test_the_headers_count_down(app, auth):
    client = _behind_nat(app)
    first = client.post(REQUESTS, json=_valid(AN), headers=auth(**AN))
    assert first.status_code == 201
    assert '"request_creation-60s";q=2;w=60' in first.headers["RateLimit-Policy"]
    assert _remaining(first) == 1
    second = client.post(REQUESTS, json=_valid(AN), headers=auth(**AN))
    assert second.status_code in (201, 409)  # issued at once, or an open request: either spends
    assert _remaining(second) == 0
    third = client.post(REQUESTS, json=_valid(AN), headers=auth(**AN))
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) >= 1
    assert _remaining(third) == 0
    seconds = int(re.search(r'"request_creation-60s";r=0;t=(\d+)', third.headers["RateLimit"]).group(1))
    assert 0 < seconds <= 60


def test_staff_actions_are_limited_per_member(app, staff):  # noqa: F811
    first = staff.signed_in("officer")
    second = staff.signed_in("officer")
    queue = "/api/v1/staff/requests"
    statuses = [staff.client.get(queue, headers=first.headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert staff.client.get(queue, headers=second.headers).status_code == 200


@pytest.mark.parametrize(("hops", "counted"), [(1, "198.51.100.1"), (0, NAT)])
def test_trusted_proxies_choose_which_address_is_counted(make_app, hops, counted):
    app = make_app(rate_limits="verification=2/minute", trusted_proxies=hops)
    client = _behind_nat(app)

    def check(forwarded_for: str) -> int:
        return client.get("/v/junk", headers={"X-Forwarded-For": forwarded_for}).status_code

    # The client's real address is the last entry the trusted proxy appended; what came before
    # it is whatever the client wrote.
    assert [check(f"10.9.9.{n}, 198.51.100.1") for n in range(3)] == [200, 200, 429]
    other = check("198.51.100.2")
    # With one hop a different client gets its own budget; with none every request is NAT's.
    assert other == (200 if counted != NAT else 429)


def test_every_limited_operation_declares_429_and_the_headers(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, method in [
        ("/api/v1/requests", "post"),
        ("/api/v1/verifications", "post"),
        ("/api/v1/staff/sessions", "post"),
        ("/api/v1/staff/requests", "get"),
    ]:
        responses = spec["paths"][path][method]["responses"]
        assert "429" in responses, (path, method)
        assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(responses["429"]["headers"]), path
        assert "application/problem+json" in responses["429"]["content"], path
        ok = next(code for code in responses if code.startswith("2"))
        assert {"RateLimit", "RateLimit-Policy"} <= set(responses[ok]["headers"]), path
    create = spec["paths"]["/api/v1/requests"]["post"]["responses"]["429"]
    assert '"request_creation-60s";q=2;w=60' in create["headers"]["RateLimit-Policy"]["description"]


def test_memory_counts_are_said_to_be_per_worker(make_app, caplog):
    make_app(rate_limits="")
    assert any("per worker" in r.getMessage() or "each worker" in r.getMessage() for r in caplog.records)


def test_login_is_limited_per_username_and_address(make_app):
    client = _behind_nat(make_app(rate_limits="login=2/minute"))

    def attempt(username: str) -> int:
        body = {"username": username, "password": "whatever password", "totp": "123456"}
        return client.post("/api/v1/staff/sessions", json=body).status_code

    assert [attempt("first.user") for _ in range(3)] == [401, 401, 429]
    assert attempt("second.user") == 401  # another account from the same address: its own budget


def test_trusted_proxies_is_a_setting():
    from ecert.config import ConfigurationError, load_settings

    assert load_settings({}).trusted_proxies == 0
    assert load_settings({"ECERT_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigurationError):
        load_settings({"ECERT_TRUSTED_PROXIES": "-1"})
