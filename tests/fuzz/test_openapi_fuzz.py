"""Schemathesis against /api/v1/openapi.json on a live server, citizen and staff auth supplied,
then the hostile shapes schemathesis never generates (huge numbers, deep nesting, lone
surrogates, JWTs whose algorithm does not fit the key) on every operation.

Every generated request must get no 5xx and a response that matches what the spec documents
(status, content type, schema). ECERT_FUZZ_EXAMPLES sets the examples per operation (CI: the
default, which gives well over 1,000 cases across all operations).
"""
from __future__ import annotations

import json
import os
import threading
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from werkzeug.serving import make_server

from ecert import create_app
from ecert.config import DEV_IDP_AUDIENCE, DEV_IDP_ISSUER
from ecert.dev.idp import issue_dev_token
from ecert.wiring import resources_of

EXAMPLES = int(os.environ.get("ECERT_FUZZ_EXAMPLES", "40"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    instance = tmp_path_factory.mktemp("fuzz-instance")
    overrides = {
        "env": "development",
        "instance_dir": instance,
        "pki_dir": instance / "pki",
        "database_url": f"sqlite:///{instance / 'fuzz.sqlite3'}",
        "idp_jwks": str(instance / "idp" / "jwks.json"),
        "idp_issuer": DEV_IDP_ISSUER,
        "idp_audience": DEV_IDP_AUDIENCE,
        "rate_limits": "off",
        "log_json": False,
    }
    from ecert.dev.idp import ensure_dev_idp

    ensure_dev_idp(instance / "idp")
    setup = create_app(overrides)
    runner = setup.test_cli_runner()
    for args in (["ecert", "init"], ["ecert", "seed-demo"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    staff = runner.invoke(args=["ecert", "staff", "create", "--username", "fuzz.supervisor", "--role", "supervisor",
                                "--json"])
    assert staff.exit_code == 0, staff.output
    enrolment = json.loads(staff.output)
    resources_of(setup).engine.dispose()

    app = create_app({**overrides, "public_base_url": "http://127.0.0.1"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    client = app.test_client()
    login = client.post("/api/v1/staff/sessions", json={
        "username": enrolment["username"], "password": enrolment["password"],
        "totp": pyotp.TOTP(enrolment["totp_secret"]).now()})
    assert login.status_code == 201, login.get_json()
    citizen = issue_dev_token(instance / "idp", issuer=DEV_IDP_ISSUER, audience=DEV_IDP_AUDIENCE,
                              personal_id="048088004321", name="Lê Văn Cường", birthdate=date(1988, 1, 23),
                              gender="male", ttl_seconds=3600)
    yield {"base": base, "citizen": citizen, "staff": login.get_json()["token"], "instance": Path(instance)}
    server.shutdown()
    resources_of(app).engine.dispose()


def _operations(live: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{live['base']}/api/v1/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_no_5xx_and_responses_match_the_spec(live, mode):
    """One test walking every operation: schemathesis's pytest plugin does not run on pytest 9."""
    operations = _operations(live)
    assert len(operations) >= 20
    counted = {"cases": 0}
    failures: list[str] = []
    for operation in operations:
        staff = operation.path.startswith("/api/v1/staff/")
        token = live["staff"] if staff else live["citizen"]

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case):
            headers = {"Authorization": f"Bearer {token}"}
            # Keep the supervisor's session alive: fuzzing logout would end it for later cases.
            if case.method == "DELETE" and case.path == "/api/v1/staff/sessions/current":
                headers = {"Authorization": "Bearer not-a-session"}
            counted["cases"] += 1
            case.call_and_validate(base_url=live["base"], headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid (no parameters, no body)
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    print(f"schemathesis {mode.value}: {counted['cases']} cases over {len(operations)} operations")
    assert not failures, "\n\n".join(failures)


# --- hostile shapes schemathesis does not generate (DESIGN §5, §9) ------------------------------------
#
# Schemathesis builds bodies from the schema, as Python objects: it never sends a 5,000-digit
# number, JSON nested 50,000 deep, a lone "\ud800" escape or NaN, and never a JWT whose algorithm
# does not fit the provider's key. Those shapes once gave 500s; every operation gets them here.

DEEP = 50_000
HOSTILE_BODIES: dict[str, bytes] = {
    "huge_int": b'{"a": ' + b"9" * 5000 + b"}",
    "huge_float": b'{"a": 1e400}',
    "deep_list": b"[" * DEEP + b"]" * DEEP,
    "deep_object": b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
    "lone_surrogate": b'{"a": "\\ud800"}',
    "lone_surrogate_key": b'{"\\udfff": 1}',
    "nan": b'{"a": NaN}',
    "duplicate_keys": b'{"a": 1, "a": 2}',
    "invalid_utf8": b'{"a": "\xff\xfe"}',
    "top_level_array": b"[1]",
    "empty": b"",
}


def _b64url(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _hostile_tokens(live: dict[str, Any]) -> dict[str, str]:
    """Bearer tokens that must each be a 401: wrong algorithm for the key, none, HS256 keyed with the
    public key, an unknown or odd kid, hostile JSON in the header, bad claims."""
    import hashlib
    import hmac

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    jwks = json.loads((live["instance"] / "idp" / "jwks.json").read_text())
    kid = jwks["keys"][0]["kid"]
    good = live["citizen"]
    _, payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})

    def header(h: dict[str, Any]) -> str:
        return _b64url(json.dumps(h).encode())

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    hs_input = f"{header({'alg': 'HS256', 'kid': kid})}.{payload}"
    huge_header = b'{"alg":"ES256","x":' + b"9" * 5000 + b"}"
    deep_header = b'{"alg":"ES256","x":' + b"[" * 2000 + b"]" * 2000 + b"}"
    hs_sig = _b64url(hmac.new(json.dumps(jwks["keys"][0]).encode(), hs_input.encode(), hashlib.sha256).digest())
    return {
        "rs256_on_ec_key": jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": kid}),
        "rs256_header_ec_signature": f"{header({'alg': 'RS256', 'kid': kid})}.{payload}.{signature}",
        "none": f"{header({'alg': 'none', 'kid': kid})}.{payload}.",
        "hs256_public_key": f"{hs_input}.{hs_sig}",
        "unknown_kid": f"{header({'alg': 'ES256', 'kid': 'not-ours'})}.{payload}.{signature}",
        "list_kid": f"{header({'alg': 'ES256', 'kid': ['x']})}.{payload}.{signature}",
        "huge_int_header": f"{_b64url(huge_header)}.{payload}.{signature}",
        "deep_header": f"{_b64url(deep_header)}.{payload}.{signature}",
        "garbage": "a.b.c",
    }


def _concrete_path(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.mark.slow
def test_hostile_bodies_and_tokens_are_4xx_on_every_operation(live):
    import time

    import requests

    started = time.perf_counter()
    operations = _operations(live)
    tokens = _hostile_tokens(live)
    session = requests.Session()
    failures: list[str] = []
    sent = 0

    def check(method: str, path: str, label: str, response: requests.Response) -> None:
        if response.status_code >= 500 or not 400 <= response.status_code < 500:
            failures.append(f"{method} {path} [{label}]: {response.status_code} {response.text[:200]}")
        elif response.headers.get("Content-Type", "").split(";")[0] != "application/problem+json":
            failures.append(f"{method} {path} [{label}]: 4xx without a problem document")

    for operation in operations:
        method, path = operation.method.upper(), _concrete_path(operation.path)
        url = live["base"] + path
        staff = operation.path.startswith("/api/v1/staff/")
        token = live["staff"] if staff else live["citizen"]
        takes_json = "application/json" in (operation.definition.raw.get("requestBody") or {}).get("content", {})
        if takes_json:
            for kind, body in HOSTILE_BODIES.items():
                response = session.request(method, url, data=body, timeout=30, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                    "Idempotency-Key": f"hostile-{kind}"})
                sent += 1
                if kind == "empty" and response.status_code < 400:
                    continue  # a body with no required field (an approval) may be empty
                check(method, path, kind, response)
        secured = bool(operation.definition.raw.get("security"))
        if secured and not (method == "DELETE" and path == "/api/v1/staff/sessions/current"):
            for kind, bad in tokens.items():
                response = session.request(method, url, timeout=30, headers={"Authorization": f"Bearer {bad}"},
                                           **({"json": {}} if takes_json else {}))
                sent += 1
                check(method, path, f"token:{kind}", response)
    print(f"hostile shapes: {sent} requests over {len(operations)} operations in "
          f"{time.perf_counter() - started:.1f} s")
    assert sent > 100
    assert not failures, "\n".join(failures)


def _hostile_json() -> Any:
    """JSON texts (as bytes) built from ordinary values with hostile leaves planted anywhere in
    them: numbers past the int-str limit, non-finite literals, lone surrogate escapes, duplicate
    keys, and nesting past the guard's depth."""
    from hypothesis import strategies as st

    hostile_leaf = st.sampled_from([
        b"9" * 4301, b"-" + b"1" * 5000, b"1e400", b"NaN", b"-Infinity", b'"\\ud800"', b'"a\\udfffb"',
        b"[" * 3000 + b"]" * 3000,
    ])
    plain_leaf = st.one_of(
        st.integers(-(10**6), 10**6).map(lambda i: str(i).encode()),
        st.text(max_size=10).map(lambda t: json.dumps(t).encode()),
        st.sampled_from([b"true", b"false", b"null"]),
    )

    def array(items: list[bytes]) -> bytes:
        return b"[" + b",".join(items) + b"]"

    def obj(pairs: list[tuple[str, bytes]]) -> bytes:
        return b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in pairs) + b"}"

    tree = st.recursive(
        st.one_of(plain_leaf, hostile_leaf),
        lambda children: st.one_of(
            st.lists(children, max_size=4).map(array),
            st.lists(st.tuples(st.sampled_from(["form_type", "qr", "a", "a", "reason"]), children),
                      max_size=4).map(obj),  # "a" twice: duplicate keys happen
        ),
        max_leaves=8,
    )
    return tree.filter(lambda body: any(mark in body for mark in (b"9" * 4301, b"1" * 5000, b"1e400", b"NaN",
                                                                    b"Infinity", b"\\ud", b"[" * 3000)))


def _send_hostile_json(session: Any, method: str, url: str, token: str) -> Any:
    @given(body=_hostile_json())
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def run(body: bytes) -> None:
        response = session.request(method, url, data=body, timeout=30, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
        assert response.headers["Content-Type"].startswith("application/problem+json")

    return run


@pytest.mark.slow
def test_generated_hostile_json_is_4xx_on_every_json_operation(live):
    import requests

    session = requests.Session()
    failures: list[str] = []
    for operation in _operations(live):
        if "application/json" not in (operation.definition.raw.get("requestBody") or {}).get("content", {}):
            continue
        method, url = operation.method.upper(), live["base"] + _concrete_path(operation.path)
        token = live["staff"] if operation.path.startswith("/api/v1/staff/") else live["citizen"]
        try:
            _send_hostile_json(session, method, url, token)()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
            failures.append(f"{method} {operation.path}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
