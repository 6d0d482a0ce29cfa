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


# --- hostile tokens: every one is a 401 problem, never a 500 (DESIGN §5) ----------------------------


def _get_me(client, token):
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
    assert "WWW-Authenticate" in response.headers
    return response.get_json()


def _unsigned(header: dict, claims: dict, signature: str = "c2ln") -> str:
    return f"{_b64(header)}.{_b64(claims)}.{signature}"


def test_rs256_header_against_our_ec_key_is_401(client, instance_dir):
    # Signed by an RSA key but naming the provider's EC key: the algorithm does not fit the key.
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), rsa_key, algorithm="RS256", headers={"kid": _dev_kid(instance_dir)})
    assert _get_me(client, token)["code"] == "token_algorithm_not_allowed"


def test_rs256_header_with_an_ec_signature_is_401(client, instance_dir):
    token = jwt.encode(_claims(), _dev_key(instance_dir), algorithm="ES256", headers={"kid": _dev_kid(instance_dir)})
    header, payload, signature = token.split(".")
    forged = f"{_b64({'alg': 'RS256', 'typ': 'JWT', 'kid': _dev_kid(instance_dir)})}.{payload}.{signature}"
    assert _get_me(client, forged)["code"] == "token_algorithm_not_allowed"


def test_hs256_signed_with_the_public_key_pem_is_401(client, instance_dir):
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = _dev_key(instance_dir).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': _dev_kid(instance_dir)})}.{_b64(_claims())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")
    assert _get_me(client, token)["code"] == "token_algorithm_not_allowed"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS256", "HS512", "ES384", "PS256", "EdDSA", "", None])
def test_algorithms_outside_the_allow_list_are_401(client, instance_dir, alg):
    header = {"typ": "JWT", "kid": _dev_kid(instance_dir)}
    if alg is not None:
        header["alg"] = alg
    assert _get_me(client, _unsigned(header, _claims()))["code"] == "token_algorithm_not_allowed"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "ES256", "kid": ["a", "list"]},
        {"alg": "ES256", "kid": {"an": "object"}},
        {"alg": "ES256", "kid": 12},
        {"alg": "ES256", "kid": "not-in-the-jwks"},
        {"alg": ["ES256"], "kid": "x"},
        {"alg": {"ES256": 1}},
    ],
)
def test_odd_headers_are_401(client, header):
    assert _get_me(client, _unsigned(header, _claims()))["code"] in (
        "token_unknown_key", "token_algorithm_not_allowed", "token_malformed")


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "..",
        "e30.e30.",  # {} . {} . empty signature
        "W10.W10.c2ln",  # [] . [] : JSON, but not objects
        _b64({"alg": "ES256"}) + ".bm90IGpzb24.c2ln",  # payload is not JSON
        _b64({"alg": "ES256"}) + "." + _b64({"a": 1}) + ".!!!",
        "eyJhbGciOiJFUzI1NiJ9.." + "A" * 100,
        "\u00e9\u00e9.\u00e9\u00e9.\u00e9\u00e9",
        "%%%.%%%.%%%",
        # Hostile JSON inside the header: a 5,000-digit number and deep nesting.
        base64.urlsafe_b64encode(b'{"alg":"ES256","x":' + b"9" * 5000 + b"}").decode().rstrip("=") + ".e30.c2ln",
        base64.urlsafe_b64encode(b'{"alg":"ES256","x":' + b"[" * 3000 + b"]" * 3000 + b"}").decode().rstrip("=")
        + ".e30.c2ln",
    ],
    ids=range(11),
)
def test_garbage_segments_are_401(client, token):
    assert _get_me(client, token)["code"] in (
        "token_malformed", "token_algorithm_not_allowed", "token_unknown_key", "token_signature_invalid")


def test_hostile_json_inside_a_signed_payload_is_401(client, instance_dir):
    key, kid = _dev_key(instance_dir), _dev_kid(instance_dir)
    header = _b64({"alg": "ES256", "typ": "JWT", "kid": kid})
    claims = json.dumps(_claims())[1:-1].encode()
    for body in (
        b'{"sub":' + b"1" * 5000 + b"}",
        b'{"x":' + b"[" * 2500 + b"]" * 2500 + b"}",
        b"{" + claims.replace(b'"exp": ', b'"exp": 1e400, "_": ') + b"}",  # float('inf'): int() overflows
        b"{" + claims.replace(b'"exp": ', b'"exp": NaN, "_": ') + b"}",
        b"{" + claims.replace(b'"iat": ', b'"iat": -1e400, "_": ') + b"}",
    ):
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        from jwt.algorithms import ECAlgorithm

        signature = ECAlgorithm(ECAlgorithm.SHA256).sign(f"{header}.{payload}".encode(), key)
        token = f"{header}.{payload}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"
        assert _get_me(client, token)["code"] in ("token_malformed", "token_claims_invalid")


# --- bounded lifetime ---------------------------------------------------------------------------------


def _signed(instance_dir, claims):
    return jwt.encode(claims, _dev_key(instance_dir), algorithm="ES256", headers={"kid": _dev_kid(instance_dir)})


def test_lifetime_over_24_hours_is_401(client, instance_dir):
    now = int(time.time())
    body = _get_me(client, _signed(instance_dir, _claims(iat=now - 60, exp=now + 24 * 3600)))
    assert body["code"] == "token_lifetime_too_long"


def test_lifetime_of_exactly_24_hours_is_accepted(client, instance_dir):
    now = int(time.time())
    token = _signed(instance_dir, _claims(iat=now, exp=now + 24 * 3600))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_without_iat_is_401(client, instance_dir):
    body = _get_me(client, _signed(instance_dir, _claims(iat=None)))
    assert body["code"] == "token_claims_invalid"
    assert body["claim"] == "iat"


@pytest.mark.parametrize("claims", [{"iat": "yesterday"}, {"exp": "tomorrow"}, {"iat": True}, {"exp": 10**30}])
def test_time_claims_of_the_wrong_type_are_401(client, instance_dir, claims):
    _get_me(client, _signed(instance_dir, _claims(**claims)))


# --- claims held to the request-field rules (DESIGN §4, §5) -----------------------------------------


@pytest.mark.parametrize(
    "claims, claim",
    [
        ({"sub": "001090012345\n"}, "sub"),
        ({"sub": "\u0660\u0660\u0661\u0660\u0669\u0660\u0660\u0661\u0662\u0663\u0664\u0665"}, "sub"),  # Arabic-Indic
        ({"sub": "\uff10\uff10\uff11\uff10\uff19\uff10\uff10\uff11\uff12\uff13\uff14\uff15"}, "sub"),  # full-width
        ({"sub": "\u0966\u0966\u0967\u0966\u096f\u0966\u0966\u0967\u0968\u0969\u096a\u096b"}, "sub"),  # Devanagari
        ({"sub": 1090012345}, "sub"),
        ({"sub": " 001090012345"}, "sub"),
        ({"name": "<script>alert(1)</script>"}, "name"),
        ({"name": "<b>Nguyễn Văn An</b>"}, "name"),
        ({"name": "Nguyễn Văn An\n"}, "name"),
        ({"name": "Nguyễn\u0000Văn An"}, "name"),
        ({"name": "Nguyễn\u202eVăn An"}, "name"),
        ({"name": "N\u0301\u0302\u0303\u0304\u0305guyễn"}, "name"),  # zalgo: a flood of marks on one base
        ({"name": "Z" + "\u0336" * 50 + "alg" + "\u0489" * 30 + "o"}, "name"),
        ({"name": "\uff2e\uff47\uff55\uff59\uff45\uff4e V\u0103n An"}, "name"),  # full-width Latin
        ({"name": "Nguyễn Văn An 2"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": ""}, "name"),
        ({"name": ["Nguyễn"]}, "name"),
        ({"name": None}, "name"),
        ({"birthdate": "1990-02-30"}, "birthdate"),
        ({"birthdate": "2990-01-01"}, "birthdate"),
        ({"birthdate": "1800-01-01"}, "birthdate"),
        ({"birthdate": "1990-05-17T00:00:00"}, "birthdate"),
        ({"birthdate": "\uff11\uff19\uff19\uff10-05-17"}, "birthdate"),
        ({"birthdate": 19900517}, "birthdate"),
        ({"birthdate": None}, "birthdate"),
        ({"gender": "Male"}, "gender"),
        ({"gender": ["male"]}, "gender"),
        ({"gender": None}, "gender"),
    ],
)
def test_bad_claims_name_the_claim_not_its_value(client, instance_dir, claims, claim):
    body = _get_me(client, _signed(instance_dir, _claims(**claims)))
    assert body["code"] == "token_claims_invalid"
    assert body["claim"] == claim
    value = claims[claim]
    if isinstance(value, str) and value.strip():
        assert value.strip() not in json.dumps(body, ensure_ascii=False)


def test_markup_in_the_name_never_reaches_a_certificate(client, db, instance_dir):
    from tests.support import form1_payload

    token = _signed(instance_dir, _claims(name="<img src=x onerror=alert(1)>"))
    response = client.post("/api/v1/requests", json=form1_payload(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert db.query(CertificateRequest).count() == 0


@pytest.mark.parametrize("name", ["Nguyễn Văn An", "H'Hen Niê", "Y-Ngông Niê Kdăm", "Đặng Thị Ngọc Hà"])
def test_real_names_pass(client, instance_dir, name):
    import unicodedata

    token = _signed(instance_dir, _claims(name=unicodedata.normalize("NFD", name)))
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["name"] == unicodedata.normalize("NFC", name)
