"""The development identity provider: a key in instance/idp/ and tokens for demo citizens.

It stands in for the national identity app so the service can be tried end to end on a laptop.
Production never uses it: ECERT_IDP_JWKS must point at the real provider there.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from pathlib import Path
from typing import NamedTuple

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from ecert.config import Settings

KEY_FILE = "idp-signing.key"
JWKS_FILE = "jwks.json"


class DevCitizen(NamedTuple):
    """Who a development token speaks for."""

    personal_id: str
    name: str
    birthdate: date
    gender: str


def ensure_dev_idp(directory: Path) -> str:
    """Create the key pair and its JWKS if absent; return the kid."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, jwks_path = directory / KEY_FILE, directory / JWKS_FILE
    if key_path.exists() and jwks_path.exists():
        kid: str = json.loads(jwks_path.read_text())["keys"][0]["kid"]
        return kid
    key = ec.generate_private_key(ec.SECP256R1())
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    kid = uuid.uuid4().hex[:16]
    jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
    jwks_path.write_text(json.dumps({"keys": [jwk]}, indent=2))
    return kid


def issue_dev_token(
    directory: Path,
    *,
    issuer: str,
    audience: str,
    personal_id: str,
    name: str,
    birthdate: date,
    gender: str,
    loa: int = 2,
    ttl_seconds: int = 3600,
    extra_claims: dict[str, object] | None = None,
) -> str:
    kid = ensure_dev_idp(directory)
    key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # ensure_dev_idp made it
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": audience,
        "sub": personal_id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "name": name,
        "birthdate": birthdate.isoformat(),
        "gender": gender,
        "loa": loa,
        "nationality": "Việt Nam",
    }
    claims.update(extra_claims or {})
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def dev_token_for(settings: Settings, citizen: DevCitizen, *, loa: int = 2, ttl_seconds: int = 3600) -> str:
    """A token for ``citizen`` from the development provider these settings point at (its key in
    the instance dir, its issuer and audience)."""
    # DevCitizen's fields are named after issue_dev_token's parameters.
    claims = {**citizen._asdict(), "loa": loa, "ttl_seconds": ttl_seconds}
    return issue_dev_token(settings.dev_idp_dir, issuer=settings.idp_issuer, audience=settings.idp_audience, **claims)
