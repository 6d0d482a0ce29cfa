"""Citizen identity: verify the identity app's ID token (a JWT) and read its claims.

Only RS256 and ES256 are accepted (never ``none`` or an HMAC that a public key could forge);
keys come from the provider's JWKS, a file or a URL, cached and refetched when a token names a
``kid`` we do not know (the provider rotated its keys).
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet

from ecert.errors import Unauthorized

ALLOWED_ALGORITHMS = ("RS256", "ES256")
_PID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class CitizenIdentity:
    personal_id: str
    name: str
    birthdate: date
    gender: str
    loa: int
    nationality: str | None = None
    place_of_birth: str | None = None
    address: str | None = None
    phone_number: str | None = None
    email: str | None = None

    def as_claims(self) -> dict[str, Any]:
        return {
            "sub": self.personal_id,
            "name": self.name,
            "birthdate": self.birthdate.isoformat(),
            "gender": self.gender,
            "nationality": self.nationality,
            "place_of_birth": self.place_of_birth,
            "address": self.address,
        }


class _FileJwks:
    """A JWKS on disk, re-read when a token names a kid we have not seen (after rotation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._mtime: float | None = None

    def _load(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self._mtime:
                return
            data = json.loads(self.path.read_text())
            keyset = PyJWKSet.from_dict(data)
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise Unauthorized("identity_keys_unavailable") from exc
        self._keys = {k.key_id: k for k in keyset.keys}
        self._mtime = mtime

    def key_for(self, kid: str | None) -> Any:
        with self._lock:
            if kid not in self._keys:
                self._load()
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            if kid not in self._keys:
                raise Unauthorized("token_unknown_key")
            return self._keys[kid]


class _UrlJwks:
    def __init__(self, url: str) -> None:
        # PyJWKClient caches the set and refetches it once on an unknown kid.
        self._client = PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=5)

    def key_for(self, kid: str | None) -> Any:
        try:
            if kid is None:
                raise Unauthorized("token_unknown_key")
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthorized("identity_keys_unavailable") from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthorized("token_unknown_key") from exc


class IdentityVerifier:
    def __init__(self, jwks: str, issuer: str, audience: str, leeway: int = 60, min_loa: int = 2) -> None:
        self._source: _FileJwks | _UrlJwks
        if jwks.startswith(("https://", "http://")):
            self._source = _UrlJwks(jwks)
        else:
            self._source = _FileJwks(Path(jwks))
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.min_loa = min_loa

    def verify(self, token: str) -> CitizenIdentity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("token_malformed") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthorized("token_algorithm_not_allowed")
        key = self._source.key_for(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token_expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("token_not_yet_valid") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("token_wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("token_wrong_issuer") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("token_signature_invalid") from None
        except jwt.InvalidAlgorithmError:
            raise Unauthorized("token_algorithm_not_allowed") from None
        except jwt.MissingRequiredClaimError:
            raise Unauthorized("token_claims_invalid") from None
        except jwt.PyJWTError:
            raise Unauthorized("token_malformed") from None
        if claims["iat"] > time.time() + self.leeway:
            raise Unauthorized("token_not_yet_valid")
        return _identity_from_claims(claims, self.min_loa)


def _identity_from_claims(claims: dict[str, Any], min_loa: int) -> CitizenIdentity:
    loa = claims.get("loa")
    if isinstance(loa, str) and loa.isdigit():
        loa = int(loa)
    if not isinstance(loa, int) or isinstance(loa, bool):
        raise Unauthorized("token_loa_too_low")
    if loa < min_loa:
        raise Unauthorized("token_loa_too_low")
    sub, name = claims.get("sub"), claims.get("name")
    gender = claims.get("gender")
    if not isinstance(sub, str) or not _PID.match(sub):
        raise Unauthorized("token_claims_invalid")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise Unauthorized("token_claims_invalid")
    if gender not in ("male", "female"):
        raise Unauthorized("token_claims_invalid")
    try:
        birthdate = date.fromisoformat(claims.get("birthdate", ""))
    except (TypeError, ValueError):
        raise Unauthorized("token_claims_invalid") from None

    def optional(name: str, limit: int = 300) -> str | None:
        value = claims.get(name)
        return value[:limit] if isinstance(value, str) and value.strip() else None

    return CitizenIdentity(
        personal_id=sub,
        name=name.strip(),
        birthdate=birthdate,
        gender=gender,
        loa=loa,
        nationality=optional("nationality", 100),
        place_of_birth=optional("place_of_birth"),
        address=optional("address"),
        phone_number=optional("phone_number", 20),
        email=optional("email", 254),
    )
