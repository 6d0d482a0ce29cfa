"""ecert.security: scrypt password hashes, session-token digests and TOTP matching."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pyotp
import pytest

from ecert import security

CHEAP = security.ScryptParams(2**10, 8, 1)
NOW = datetime(2026, 11, 23, 8, 15, 7, tzinfo=timezone.utc)


def test_hash_is_self_describing_and_salted():
    first = security.hash_password("correct horse battery", CHEAP)
    second = security.hash_password("correct horse battery", CHEAP)
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "1024", "8", "1")
    assert len(salt) == 22 and len(digest) == 43  # 16 and 32 bytes, base64url without padding
    assert first != second  # a fresh salt each time


def test_verify_accepts_the_password_and_nothing_else():
    stored = security.hash_password("correct horse battery", CHEAP)
    assert security.verify_password("correct horse battery", stored)
    for wrong in ("correct horse batterY", "correct horse battery ", "", "x" * 5000):
        assert not security.verify_password(wrong, stored)


def test_default_cost_is_owasp_grade():
    params = security.current_params()
    # OWASP: N=2^17,r=8,p=1 or an equivalent trade of memory for passes (N=2^14,r=8,p=5).
    assert params.n * params.r * params.p >= 2**14 * 8 * 5
    stored = security.hash_password("correct horse battery")
    assert stored.startswith(f"scrypt${params.n}${params.r}${params.p}$")
    assert security.verify_password("correct horse battery", stored)


def test_stored_parameters_are_used_for_verification(monkeypatch):
    stored = security.hash_password("correct horse battery", CHEAP)
    monkeypatch.setattr(security, "SCRYPT_N", 2**11)
    assert security.verify_password("correct horse battery", stored)
    assert security.needs_rehash(stored)
    assert not security.needs_rehash(security.hash_password("correct horse battery"))


def test_unknown_scheme_is_an_error():
    with pytest.raises(ValueError):
        security.verify_password("x", "bcrypt$12$abc")


def test_dummy_verify_never_matches_and_does_the_same_work(monkeypatch):
    monkeypatch.setattr(security, "SCRYPT_N", 2**10)
    monkeypatch.setattr(security, "SCRYPT_P", 1)
    calls = []
    real = security._derive
    monkeypatch.setattr(security, "_derive", lambda pw, salt, params, length=32: calls.append(params) or real(pw, salt, params, length))
    assert security.dummy_verify("anything at all") is False
    assert calls == [security.current_params()]


def test_password_rules():
    assert security.password_problems("x" * 11) == ["password_too_short"]
    assert security.password_problems("x" * 12) == []
    assert security.password_problems("x" * 2000) == ["too_long"]
    generated = security.generate_password()
    assert len(generated) >= security.MIN_PASSWORD_LENGTH and security.password_problems(generated) == []
    assert generated != security.generate_password()


def test_session_tokens_are_random_and_stored_as_sha256():
    token = security.new_session_token()
    assert len(token) == 43 and token != security.new_session_token()
    assert security.token_digest(token) == hashlib.sha256(token.encode()).hexdigest()


def test_totp_match_returns_the_step_within_one_step_of_now():
    secret = security.new_totp_secret()
    totp = pyotp.TOTP(secret)
    step = security.totp_step(NOW)
    assert step == int(NOW.timestamp()) // 30
    for offset in (-1, 0, 1):
        code = totp.at(NOW + timedelta(seconds=30 * offset))
        assert security.match_totp(secret, code, NOW) == step + offset
    for offset in (-2, 2, 10):
        assert security.match_totp(secret, totp.at(NOW + timedelta(seconds=30 * offset)), NOW) is None


def test_totp_accepts_spaces_and_refuses_malformed_codes():
    secret = security.new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert security.match_totp(secret, f" {code[:3]} {code[3:]} ", NOW) == security.totp_step(NOW)
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦", None):
        assert security.match_totp(secret, bad, NOW) is None


def test_totp_code_matches_pyotp_and_the_provisioning_uri_names_the_issuer():
    secret = security.new_totp_secret()
    assert len(secret) == 32
    assert security.totp_code(secret, security.totp_step(NOW)) == pyotp.TOTP(secret).at(NOW)
    uri = security.provisioning_uri(secret, "nguyen.an")
    assert uri.startswith("otpauth://totp/ecert:nguyen.an?")
    parsed = pyotp.parse_uri(uri)
    assert parsed.issuer == "ecert" and parsed.secret == secret
