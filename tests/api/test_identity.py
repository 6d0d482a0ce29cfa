"""The identity token: every way it can be wrong gets a 401 problem, and nothing is written."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ecert.models import AuditEvent, CertificateRequest


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _claims(**overrides):
    from tests.support import IDP_AUDIENCE, IDP_ISSUER

    now = int(time.time())
    claims = {
        "iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "sub": "001090012345", "iat": now, "nbf": now, "exp": now + 600,
        "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male", "loa": 2,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_me_returns_the_identity(client, auth):
    response = client.get("/api/v1/me", headers=auth())
    assert response.status_code == 200
    body = response.get_json()
    assert body["personal_id"] == "001090012345"
    assert body["name"] == "Nguyễn Văn An"
    assert body["open_request_id"] is None


def test_missing_token_is_401_problem(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "token_missing"
    assert body["status"] == 401
    assert "WWW-Authenticate" in response.headers


def _dev_key(instance_dir):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key((instance_dir / "idp" / "idp-signing.key").read_bytes(), None)


def _dev_kid(instance_dir):
    return json.loads((instance_dir / "idp" / "jwks.json").read_text())["keys"][0]["kid"]


@pytest.mark.parametrize(
    "claims, code",
    [
        ({"exp": int(time.time()) - 3600}, "token_expired"),
        ({"nbf": int(time.time()) + 3600}, "token_not_yet_valid"),
        ({"iat": int(time.time()) + 3600}, "token_not_yet_valid"),
        ({"aud": "someone-else"}, "token_wrong_audience"),
        ({"iss": "https://evil.example"}, "token_wrong_issuer"),
        ({"loa": 1}, "token_loa_too_low"),
        ({"loa": None}, "token_loa_too_low"),
        ({"sub": "12345"}, "token_claims_invalid"),
        ({"gender": "other"}, "token_claims_invalid"),
        ({"birthdate": "17/05/1990"}, "token_claims_invalid"),
        ({"exp": None}, "token_claims_invalid"),
    ],
)
def test_bad_claims_are_rejected(client, instance_dir, claims, code):
    token = jwt.encode(_claims(**claims), _dev_key(instance_dir), algorithm="ES256", headers={"kid": _dev_kid(instance_dir)})
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == code


def test_leeway_of_sixty_seconds_is_allowed(client, instance_dir):
    token = jwt.encode(_claims(exp=int(time.time()) - 30), _dev_key(instance_dir), algorithm="ES256",
                       headers={"kid": _dev_kid(instance_dir)})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_signed_by_another_key_under_our_kid(client, instance_dir):
    foreign = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(), foreign, algorithm="ES256", headers={"kid": _dev_kid(instance_dir)})
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_signature_invalid"


def test_token_with_unknown_kid(client):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), foreign, algorithm="RS256", headers={"kid": "not-ours"})
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_unknown_key"


def test_alg_none_is_refused(client, instance_dir):
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': _dev_kid(instance_dir)})}.{_b64(_claims())}."
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_algorithm_not_allowed"


def test_hs256_with_public_key_as_secret_is_refused(client, instance_dir):
    jwks = (instance_dir / "idp" / "jwks.json").read_text()
    header = {"alg": "HS256", "typ": "JWT", "kid": _dev_kid(instance_dir)}
    import hashlib
    import hmac

    signing_input = f"{_b64(header)}.{_b64(_claims())}"
    sig = hmac.new(jwks.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(sig).decode().rstrip("=")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_algorithm_not_allowed"


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer " + "a" * 9000, "Bearer abc"])
def test_garbage_authorization_headers(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_rejected_token_writes_nothing(client, db, instance_dir):
    before = db.query(AuditEvent).count()
    token = jwt.encode(_claims(loa=1), _dev_key(instance_dir), algorithm="ES256", headers={"kid": _dev_kid(instance_dir)})
    response = client.post("/api/v1/requests", json={"form_type": 1}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert db.query(CertificateRequest).count() == 0
    assert db.query(AuditEvent).count() == before


def test_localised_problem(client):
    vi = client.get("/api/v1/me").get_json()
    en = client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.9"}).get_json()
    assert vi["title"] != en["title"]
    assert "token" in en["title"].lower()
