"""Citizen identity: verify the identity app's ID token (a JWT) and read its claims.

Only RS256 and ES256 are accepted (never ``none`` or an HMAC that a public key could forge);
keys come from the provider's JWKS, a file or a URL, cached and refetched when a token names a
``kid`` we do not know (the provider rotated its keys).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWKClient, PyJWKSet
from jwt.exceptions import InvalidSubjectError

from ecert.domain import rules, validation
from ecert.errors import Unauthorized

ALLOWED_ALGORITHMS = ("RS256", "ES256")
# ASCII digits only: \d would let Arabic-Indic or full-width digits through, and "$" a newline.
_PID = re.compile(r"[0-9]{12}")
# DESIGN §5: exp - iat <= 24 h.
MAX_LIFETIME_SECONDS = 24 * 3600


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
        self._keys: dict[str | None, Any] = {}
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
        except jwt.PyJWTError as exc:
            # The provider served a key set we cannot read: not the citizen's fault, still no 500.
            raise Unauthorized("identity_keys_unavailable") from exc


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
        """The citizen the token speaks for, or Unauthorized: whatever the token holds, nothing
        else leaves this method (a hostile header or payload is a 401, never a 500)."""
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            # RecursionError: a header of deeply nested JSON; ValueError: a 5,000-digit number.
            raise Unauthorized("token_malformed") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise Unauthorized("token_algorithm_not_allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized("token_unknown_key")
        key = self._source.key_for(kid)
        if not _algorithm_fits_key(alg, key):
            # An RS256 header on our EC key (or the reverse) is refused here: PyJWT would raise
            # something that is not a PyJWTError when asked to use a key of the wrong type.
            raise Unauthorized("token_algorithm_not_allowed")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError) as error:
            raise _refusal(error) from None
        issued_at, expires = _numeric_date(claims, "iat"), _numeric_date(claims, "exp")
        if issued_at > time.time() + self.leeway:
            raise Unauthorized("token_not_yet_valid")
        if expires - issued_at > MAX_LIFETIME_SECONDS:
            # A stolen long-lived token would work for its whole life: the provider's tokens are
            # short, so one that claims a long life is not one of theirs to trust.
            raise Unauthorized("token_lifetime_too_long")
        return _identity_from_claims(claims, self.min_loa)


# The code for each way PyJWT refuses a token, in this order (some of its errors subclass others).
_TOKEN_FAULTS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid"),
    (jwt.InvalidAudienceError, "token_wrong_audience"),
    (jwt.InvalidIssuerError, "token_wrong_issuer"),
    (jwt.InvalidSignatureError, "token_signature_invalid"),
    (jwt.InvalidAlgorithmError, "token_algorithm_not_allowed"),
)


def _refusal(error: Exception) -> Unauthorized:
    """The 401 for a token jwt.decode refused; anything not named here is a malformed token."""
    code = next((code for kind, code in _TOKEN_FAULTS if isinstance(error, kind)), None)
    if code is not None:
        return Unauthorized(code)
    if isinstance(error, InvalidSubjectError):
        return Unauthorized("token_claims_invalid", claim="sub")
    if isinstance(error, jwt.MissingRequiredClaimError):
        return Unauthorized("token_claims_invalid", claim=error.claim)
    return Unauthorized("token_malformed")


def _algorithm_fits_key(alg: str, jwk: Any) -> bool:
    key = getattr(jwk, "key", None)
    if alg == "RS256":
        return isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey))
    if alg == "ES256":
        return isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) and isinstance(
            key.curve, ec.SECP256R1
        )
    return False


def _numeric_date(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Unauthorized("token_claims_invalid", claim=name)
    return float(value)


def _bad_claim(name: str) -> Unauthorized:
    # The claim is named, never its value: the value may be personal data or an attacker's payload.
    return Unauthorized("token_claims_invalid", claim=name)


def _identity_from_claims(claims: dict[str, Any], min_loa: int) -> CitizenIdentity:
    """The claims, held to the request-field rules (DESIGN §4, §5): what is printed and signed
    later comes from here, so nothing passes unvalidated."""
    loa = claims.get("loa")
    if isinstance(loa, str) and loa.isascii() and loa.isdigit() and len(loa) < 3:
        loa = int(loa)
    if not isinstance(loa, int) or isinstance(loa, bool):
        raise Unauthorized("token_loa_too_low")
    if loa < min_loa:
        raise Unauthorized("token_loa_too_low")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not _PID.fullmatch(sub):
        raise _bad_claim("sub")
    name = claims.get("name")
    if not isinstance(name, str) or validation.validate_name(name):
        raise _bad_claim("name")
    birthdate = validation.parse_date(claims.get("birthdate"))
    if (
        not isinstance(claims.get("birthdate"), str)
        or birthdate is None
        or birthdate.year < validation.MIN_YEAR
        or birthdate > rules.vietnam_date(datetime.now(UTC))
    ):
        raise _bad_claim("birthdate")
    gender = claims.get("gender")
    if not isinstance(gender, str) or gender not in ("male", "female"):
        raise _bad_claim("gender")

    return CitizenIdentity(
        personal_id=sub,
        name=validation.normalize_name(name),
        birthdate=birthdate,
        gender=gender,
        loa=loa,
        nationality=_optional_text(claims, "nationality", 100),
        place_of_birth=_optional_text(claims, "place_of_birth", rules.PLACE_OF_BIRTH_MAX),
        address=_optional_text(claims, "address", rules.ADDRESS_MAX),
        phone_number=_optional(claims, "phone_number", validation.validate_phone),
        email=_optional(claims, "email", validation.validate_email),
    )


def _optional_text(claims: dict[str, Any], name: str, limit: int) -> str | None:
    # An optional claim that breaks the rules is dropped, not truncated nor trusted: the citizen
    # still gets in, and the request form asks for what it needs.
    value = claims.get(name)
    if not isinstance(value, str) or validation.validate_text(value, limit):
        return None
    return validation.normalize_text(value)


def _optional(claims: dict[str, Any], name: str, validator: Callable[[Any], list[str]]) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str) or validator(value):
        return None
    return value
