"""The trust list: which document-signer keys (DSC) sign genuine certificates.

Format (docs/contracts.md, served at ``/.well-known/ecert/trust-list.json``)::

    {"issuer": "VN-NJRC",
     "keys": [{"kid": b64url(8 bytes), "kty": "EC", "crv": "P-256", "x": ..., "y": ...,
               "x5c": [b64 DER of DSC, b64 DER of root], "status": "active|retired|revoked",
               "not_before": ISO, "not_after": ISO, "revoked_at": ISO | null}]}

A list is only as trustworthy as the place it came from. Each entry is checked for internal
consistency when the list is built: the kid is SHA-256(DSC DER)[:8] (DESIGN §6), the JWK x/y is
the DSC's public key, and the DSC chains (signature by signature) to the root: the last ``x5c``
element, or better, a root pinned by the caller (``TrustList(..., root=...)``, the CLI's
``--root``), obtained out of band (``/.well-known/ecert/root-ca.pem`` once, then kept).
An entry failing a check stays in the list with a ``problem`` reason code, so a token signed by
it gets ``unknown_issuer`` with that reason rather than a vaguer "unknown kid".
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import _http
from .token import KID_LENGTH, b64url_decode, b64url_encode

TRUST_LIST_PATH: Final = "/.well-known/ecert/trust-list.json"
MAX_TRUST_LIST_BYTES: Final = 1024 * 1024

KeyStatus = Literal["active", "retired", "revoked"]
_STATUSES: Final = ("active", "retired", "revoked")


class TrustListError(ValueError):
    """The trust list as a whole cannot be read (not JSON, no ``keys`` array, cannot fetch)."""


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One document-signer key. ``problem`` is a reason code when the entry cannot be trusted."""

    kid: bytes
    public_key: ec.EllipticCurvePublicKey | None
    chain: tuple[x509.Certificate, ...] = ()
    status: KeyStatus = "active"
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked_at: datetime | None = None
    problem: str | None = None
    # When the key may have signed: the intersection of the DSC's validity and the list's
    # not_before/not_after. Computed once by TrustList (the hot path reads it per token).
    signs_from: datetime | None = None
    signs_until: datetime | None = None

    @property
    def kid_b64(self) -> str:
        return b64url_encode(self.kid)

    @property
    def certificate(self) -> x509.Certificate | None:
        """The DSC (first x5c element)."""
        return self.chain[0] if self.chain else None

    @property
    def usable(self) -> bool:
        return self.problem is None and self.public_key is not None


def kid_of(certificate: x509.Certificate | bytes) -> bytes:
    """DESIGN §6: kid = the first 8 bytes of SHA-256 over the DSC's DER."""
    der = certificate if isinstance(certificate, bytes) else certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).digest()[:KID_LENGTH]


def load_certificate(data: x509.Certificate | bytes | str) -> x509.Certificate:
    """A certificate from an object, PEM text/bytes or DER bytes."""
    if isinstance(data, x509.Certificate):
        return data
    raw = data.encode("ascii") if isinstance(data, str) else bytes(data)
    if b"-----BEGIN" in raw:
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """The issuer is a CA whose name matches and whose key made ``cert``'s signature."""
    if not _is_ca(issuer):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert)


def _same_key(a: ec.EllipticCurvePublicKey, b: Any) -> bool:
    return isinstance(b, ec.EllipticCurvePublicKey) and a.public_numbers() == b.public_numbers()


def _evaluate(key: TrustedKey, root: x509.Certificate | None) -> str | None:
    """Why ``key`` cannot be trusted under ``root`` (a reason code), or None."""
    if key.problem is not None:
        return key.problem
    if key.public_key is None or not key.chain:
        return "chain_not_to_root"
    dsc = key.chain[0]
    if kid_of(dsc) != key.kid or not _same_key(key.public_key, dsc.public_key()):
        return "key_mismatch"
    for cert, issuer in zip(key.chain, key.chain[1:], strict=False):
        if not _issued_by(cert, issuer):
            return "chain_not_to_root"
    top = key.chain[-1]
    if root is not None:
        same_as_root = top.public_bytes(serialization.Encoding.DER) == root.public_bytes(serialization.Encoding.DER)
        if same_as_root:
            return None if _self_signed(root) else "chain_not_to_root"
        return None if _issued_by(top, root) else "chain_not_to_root"
    # No pinned root: the chain must end in a self-signed CA, trusted because the list is.
    return None if len(key.chain) > 1 and _self_signed(top) else "chain_not_to_root"


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("time is not a string")
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _parse_entry(entry: Mapping[str, Any], kid: bytes) -> TrustedKey:
    if entry.get("kty") != "EC" or entry.get("crv") != "P-256":
        raise ValueError("not an EC P-256 key")
    x, y = b64url_decode(entry["x"]), b64url_decode(entry["y"])
    if len(x) != 32 or len(y) != 32:
        raise ValueError("bad coordinate length")
    public_key = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    ).public_key()  # raises ValueError when the point is not on the curve
    x5c = entry.get("x5c") or []
    if not isinstance(x5c, list) or len(x5c) > 8:
        raise ValueError("bad x5c")
    chain = tuple(x509.load_der_x509_certificate(base64.b64decode(item, validate=True)) for item in x5c)
    status = entry.get("status", "active")
    if status not in _STATUSES:
        raise ValueError("unknown key status")  # fail closed rather than guess
    return TrustedKey(
        kid=kid,
        public_key=public_key,
        chain=chain,
        status=status,
        not_before=_parse_time(entry.get("not_before")),
        not_after=_parse_time(entry.get("not_after")),
        revoked_at=_parse_time(entry.get("revoked_at")),
    )


class TrustList:
    """Keys by kid, each evaluated against the (optionally pinned) root at construction."""

    def __init__(
        self,
        keys: Iterable[TrustedKey],
        issuer: str | None = None,
        root: x509.Certificate | bytes | str | None = None,
    ) -> None:
        self.issuer = issuer
        self.root: x509.Certificate | None = None if root is None else load_certificate(root)
        evaluated: dict[bytes, TrustedKey] = {}
        for key in keys:
            if key.kid in evaluated:
                # Two entries for one kid: which one would a verifier pick? Neither.
                evaluated[key.kid] = replace(key, problem="bad_key_entry")
                continue
            starts = [t for t in (key.not_before,) if t is not None]
            ends = [t for t in (key.not_after,) if t is not None]
            if key.certificate is not None:
                starts.append(key.certificate.not_valid_before_utc)
                ends.append(key.certificate.not_valid_after_utc)
            evaluated[key.kid] = replace(
                key,
                problem=_evaluate(key, self.root),
                signs_from=max(starts, default=None),
                signs_until=min(ends, default=None),
            )
        self._keys = evaluated

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any] | bytes | str,
        root: x509.Certificate | bytes | str | None = None,
    ) -> TrustList:
        if isinstance(data, (bytes, bytearray, str)):
            if len(data) > MAX_TRUST_LIST_BYTES:
                raise TrustListError("trust list too large")
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise TrustListError(f"trust list is not JSON: {exc}") from None
        if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
            raise TrustListError('trust list must be an object with a "keys" array')
        issuer = data.get("issuer")
        keys: list[TrustedKey] = []
        for entry in data["keys"]:
            if not isinstance(entry, Mapping):
                continue
            try:
                kid = b64url_decode(entry.get("kid", ""))
            except (ValueError, TypeError):
                continue  # an entry without a readable kid can never match a token
            if len(kid) != KID_LENGTH:
                continue
            try:
                keys.append(_parse_entry(entry, kid))
            except Exception:  # noqa: BLE001 - any malformed field: keep the kid, mark it unusable
                keys.append(TrustedKey(kid=kid, public_key=None, problem="bad_key_entry"))
        return cls(keys, issuer=issuer if isinstance(issuer, str) else None, root=root)

    @classmethod
    def load(cls, path: str | Path, root: x509.Certificate | bytes | str | None = None) -> TrustList:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_TRUST_LIST_BYTES + 1)
        except OSError as exc:
            raise TrustListError(f"cannot read trust list {path}: {exc}") from None
        return cls.from_json(raw, root=root)

    @classmethod
    def fetch(
        cls,
        server_url: str,
        timeout: float = 10.0,
        root: x509.Certificate | bytes | str | None = None,
    ) -> TrustList:
        """From ``{server_url}/.well-known/ecert/trust-list.json`` (or a full ``.json`` URL)."""
        url = server_url if server_url.endswith(".json") else server_url.rstrip("/") + TRUST_LIST_PATH
        try:
            data = _http.request_json(url, timeout=timeout)
        except (_http.HttpError, ValueError) as exc:
            raise TrustListError(str(exc)) from None
        return cls.from_json(data, root=root)

    # -- queries ------------------------------------------------------------------------------

    def get(self, kid: bytes) -> TrustedKey | None:
        return self._keys.get(kid)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def trust_roots(self) -> list[x509.Certificate]:
        """The root(s) a PDF validator should trust: the pinned one, else those of good keys."""
        if self.root is not None:
            return [self.root]
        roots: dict[bytes, x509.Certificate] = {}
        for key in self._keys.values():
            if key.usable and key.chain:
                top = key.chain[-1]
                roots.setdefault(top.public_bytes(serialization.Encoding.DER), top)
        return list(roots.values())
