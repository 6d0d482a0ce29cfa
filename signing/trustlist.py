"""The public trust list and root certificate (DESIGN §6, docs/contracts.md).

Verifiers (our own ``verification/`` and third-party apps) look a token's
``kid`` up here, take the P-256 public key from ``x``/``y``, and may check
``x5c`` (DSC then root) against the root they pinned. Key status is given to
us by the application (it lives in the database); this module only shapes it.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .pki import kid_for

__all__ = ["jwk_entry", "build_trust_list", "root_ca_pem", "KEY_STATUSES", "iso_utc"]

KEY_STATUSES = ("active", "retired", "revoked")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def iso_utc(dt: datetime) -> str:
    """ISO 8601 in UTC with a 'Z' and whole seconds: the one timestamp form in the list."""
    if dt.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return dt.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def jwk_entry(
    cert: x509.Certificate,
    root_cert: x509.Certificate,
    status: str,
    revoked_at: datetime | None = None,
) -> dict[str, Any]:
    """One trust-list key: the DSC's public key as a JWK plus our fields.

    ``x5c`` uses standard base64 with padding (RFC 7517 §4.7), unlike the
    base64url fields. ``revoked_at`` only makes sense with status
    ``revoked``; with another status it is an error, not silently dropped.
    """
    if status not in KEY_STATUSES:
        raise ValueError(f"status must be one of {KEY_STATUSES}, not {status!r}")
    if revoked_at is not None and status != "revoked":
        raise ValueError("revoked_at is only allowed with status 'revoked'")
    public_key = cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError("document-signer certificate must hold a P-256 key")
    numbers = public_key.public_numbers()
    der = serialization.Encoding.DER
    return {
        "kid": _b64url(kid_for(cert)),
        "kty": "EC",
        "crv": "P-256",
        # Fixed 32-byte big-endian coordinates (RFC 7518 §6.2.1.2): leading
        # zeros are kept, or some JOSE libraries reject the key.
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
        "x5c": [
            base64.b64encode(cert.public_bytes(der)).decode("ascii"),
            base64.b64encode(root_cert.public_bytes(der)).decode("ascii"),
        ],
        "status": status,
        "not_before": iso_utc(cert.not_valid_before_utc),
        "not_after": iso_utc(cert.not_valid_after_utc),
        "revoked_at": iso_utc(revoked_at) if revoked_at is not None else None,
    }


def build_trust_list(issuer: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The trust-list document: ``{"issuer": ..., "keys": [...]}``.

    Keys keep the caller's order; a duplicate ``kid`` is refused because a
    verifier would pick one at random.
    """
    seen: set[str] = set()
    for entry in entries:
        kid = entry.get("kid")
        if not isinstance(kid, str):
            raise ValueError("every entry needs a 'kid'")
        if kid in seen:
            raise ValueError(f"duplicate kid in trust list: {kid}")
        seen.add(kid)
    return {"issuer": issuer, "keys": list(entries)}


def root_ca_pem(cert: x509.Certificate) -> bytes:
    """The root certificate as PEM, for ``/.well-known/ecert/root-ca.pem``."""
    return cert.public_bytes(serialization.Encoding.PEM)
