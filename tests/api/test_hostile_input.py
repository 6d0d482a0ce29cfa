"""Hostile JSON bodies are a 4xx problem, never a 500, and never an ERROR log line (DESIGN §9).

Every JSON operation is tried, anonymous ones (verification, staff login) and authenticated
ones (request creation, staff decisions), because the body is read before or after the
credentials depending on the operation.
"""
from __future__ import annotations

import logging

import pytest

from ecert.models import AuditEvent, CertificateRequest
from tests.api.staff.fixtures import AN, clock, fast_hashes, staff  # noqa: F401 - fixtures
from tests.support import form1_payload

DEEP = 50_000

HOSTILE_BODIES: dict[str, bytes] = {
    "huge_int": b'{"form_type": ' + b"9" * 5000 + b"}",
    "huge_int_in_list": b'{"x": [1, 2, ' + b"1" * 4301 + b"]}",
    "huge_negative_int": b'{"copies": -' + b"9" * 5000 + b"}",
    "huge_float": b'{"copies": 1' + b"0" * 5000 + b".5}",
    "overflowing_exponent": b'{"copies": 1e400}',
    "deep_list": b'{"x": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "deep_object": b'{"a":' * 40_000 + b"1" + b"}" * 40_000,  # under the 256 KiB cap
    "deep_unclosed": b"[" * DEEP,
    "invalid_utf8": b'{"purpose": "\xff\xfe\xfa"}',
    "overlong_utf8": b'{"purpose": "\xc0\xaf"}',
    "encoded_surrogate": b'{"purpose": "\xed\xa0\x80"}',
    "lone_surrogate": b'{"purpose": "\\ud800"}',
    "lone_low_surrogate_in_key": b'{"\\udc00": 1}',
    "lone_surrogate_deep_in_list": b'{"residence_history": [{"address": "a\\udbffb"}]}',
    "nan": b'{"copies": NaN}',
    "infinity": b'{"copies": Infinity}',
    "negative_infinity": b'{"copies": -Infinity}',
    "duplicate_keys": b'{"form_type": 1, "form_type": 2}',
    "top_level_array": b"[1, 2, 3]",
    "top_level_string": b'"hello"',
    "top_level_number": b"12",
    "empty": b"",
    "whitespace": b"   \n",
    "truncated": b'{"form_type": 1',
    "trailing_garbage": b'{"form_type": 1} x',
    "null": b"null",
}


def _assert_clean_4xx(response, caplog):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == response.status_code
    assert "Traceback" not in response.get_data(as_text=True)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
def quiet(caplog):
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.parametrize("kind", list(HOSTILE_BODIES))
def test_anonymous_verification_refuses_hostile_json(client, quiet, kind):
    response = client.post("/api/v1/verifications", data=HOSTILE_BODIES[kind], content_type="application/json")
    _assert_clean_4xx(response, quiet)


@pytest.mark.parametrize("kind", list(HOSTILE_BODIES))
def test_staff_login_refuses_hostile_json(client, quiet, kind):
    response = client.post("/api/v1/staff/sessions", data=HOSTILE_BODIES[kind], content_type="application/json")
    _assert_clean_4xx(response, quiet)


@pytest.mark.parametrize("kind", list(HOSTILE_BODIES))
def test_request_creation_refuses_hostile_json_and_writes_nothing(client, db, auth, quiet, kind):
    before = db.query(AuditEvent).count()
    response = client.post("/api/v1/requests", data=HOSTILE_BODIES[kind], content_type="application/json",
                           headers={**auth(), "Idempotency-Key": f"hostile-{kind}"})
    _assert_clean_4xx(response, quiet)
    assert db.query(CertificateRequest).count() == 0
    assert db.query(AuditEvent).count() == before


@pytest.mark.parametrize("kind", ["huge_int", "deep_list", "lone_surrogate", "nan"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_hostile_bodies_under_another_content_type(client, auth, quiet, kind, content_type):
    # The Idempotency-Key fingerprint reads the body whatever its declared type.
    response = client.post("/api/v1/requests", data=HOSTILE_BODIES[kind], content_type=content_type,
                           headers={**auth(), "Idempotency-Key": f"ct-{kind}"})
    _assert_clean_4xx(response, quiet)


@pytest.mark.parametrize("content_type", ["application/problem+json", "application/merge-patch+json",
                                          "application/json; charset=latin-1", "APPLICATION/JSON"])
def test_json_flavoured_content_types_are_guarded_too(client, quiet, content_type):
    response = client.post("/api/v1/verifications", data=HOSTILE_BODIES["deep_list"], content_type=content_type)
    _assert_clean_4xx(response, quiet)


@pytest.mark.parametrize("kind", ["huge_int", "deep_list", "lone_surrogate", "duplicate_keys", "nan", "invalid_utf8"])
def test_staff_decisions_refuse_hostile_json(app, client, staff, quiet, kind):  # noqa: F811
    supervisor = staff.signed_in("supervisor")
    for path in ("/api/v1/staff/requests/x/approve", "/api/v1/staff/requests/x/refuse",
                 "/api/v1/staff/certificates/x/revoke"):
        response = client.post(path, data=HOSTILE_BODIES[kind], content_type="application/json",
                               headers=supervisor.headers)
        _assert_clean_4xx(response, quiet)


def test_refusals_say_invalid_json(client):
    for kind in ("huge_int", "deep_list", "deep_object", "lone_surrogate", "nan", "duplicate_keys", "invalid_utf8",
                 "overflowing_exponent", "huge_float"):
        response = client.post("/api/v1/verifications", data=HOSTILE_BODIES[kind], content_type="application/json")
        assert response.status_code == 400, kind
        assert response.get_json()["code"] == "invalid_json", kind


def test_the_body_cap_still_holds(client, quiet):
    big = b'{"token": "' + b"a" * (300 * 1024) + b'"}'
    response = client.post("/api/v1/verifications", data=big, content_type="application/json")
    assert response.status_code == 413
    _assert_clean_4xx(response, quiet)


def test_ordinary_bodies_still_work(client, auth):
    # Nesting as deep as a real request (body -> residence_history -> period), unicode escapes for
    # real characters, surrogate PAIRS (an emoji) and plain numbers all pass the guard.
    created = client.post("/api/v1/requests", json=form1_payload(purpose="Xin vi\u1ec7c \u2014 b\u1ed5 sung"),
                          headers=auth(**AN))
    assert created.status_code == 201, created.get_json()
    raw = b'{"qr": "\\ud83d\\ude00 \\u1ec7 1.5e3"}'
    response = client.post("/api/v1/verifications", data=raw, content_type="application/json")
    assert response.status_code != 400 or response.get_json()["code"] != "invalid_json"


# --- the guard itself, at its limits ---------------------------------------------------------------


def test_guard_limits():
    from api.json_guard import MAX_DEPTH, MAX_NUMBER_CHARS, HostileJson, strict_loads

    assert strict_loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    with pytest.raises(HostileJson, match="too_deep"):
        strict_loads(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    # Brackets inside strings are text, not nesting.
    assert strict_loads('{"a": "' + "[" * 1000 + '\\"{{{"}') == {"a": "[" * 1000 + '"{{{'}
    assert strict_loads("1" * MAX_NUMBER_CHARS) == int("1" * MAX_NUMBER_CHARS)
    with pytest.raises(HostileJson, match="number_too_long"):
        strict_loads("1" * (MAX_NUMBER_CHARS + 1))
    assert strict_loads('"\\ud83d\\ude00"') == "\U0001F600"  # a surrogate PAIR is one character
    with pytest.raises(HostileJson, match="lone_surrogate"):
        strict_loads('["ok", {"k": ["\\ude00"]}]')
    with pytest.raises(HostileJson, match="duplicate_key"):
        strict_loads('{"a": {"b": 1, "b": 1}}')
    for text in ("NaN", "-Infinity", "1e999"):
        with pytest.raises(HostileJson, match="number_not_finite"):
            strict_loads(text)
    with pytest.raises(HostileJson, match="invalid_utf8"):
        strict_loads(b'"\xed\xa0\x80"')
    assert isinstance(HostileJson("x"), ValueError)  # every caller that catches ValueError is covered


def test_guard_is_cheap_on_a_full_size_body():
    import time

    from api.json_guard import HostileJson, strict_loads

    for body in (b"[" * 250_000, b'["' + b"\\\\" * 120_000 + b'"]', b"[" + b"1," * 120_000 + b"1]"):
        started = time.perf_counter()
        try:
            strict_loads(body)
        except HostileJson:
            pass
        assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("kind", ["huge_int", "deep_list", "deep_unclosed"])
def test_idempotency_fingerprint_of_a_non_json_body(client, staff, quiet, kind):  # noqa: F811
    # text/plain: webargs ignores the body (an approval needs none), but the Idempotency-Key
    # fingerprint still reads it as JSON if it can.
    supervisor = staff.signed_in("supervisor")
    response = client.post("/api/v1/staff/requests/no-such-request/approve", data=HOSTILE_BODIES[kind],
                           content_type="text/plain", headers={**supervisor.headers, "Idempotency-Key": f"fp-{kind}"})
    _assert_clean_4xx(response, quiet)


# --- a lost optimistic update is a conflict, not a server error ---------------------------------------


def test_stale_data_is_a_409_problem(client, auth, quiet, monkeypatch):
    """Backstop for any write that loses to a concurrent one on the version column (the services
    lock rows first; see tests/postgres/test_cancel_race.py for the race itself)."""
    from sqlalchemy.orm.exc import StaleDataError

    def lost(*_args, **_kwargs):
        raise StaleDataError("UPDATE statement on table 'requests' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr("ecert.services.requests.cancel", lost)
    response = client.post("/api/v1/requests/some-id/cancel", headers=auth())
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "concurrent_update"
    assert "requests" not in response.get_data(as_text=True)  # no SQL internals
    _assert_clean_4xx(response, quiet)
