"""The signer interface, the file-key implementation, and the pyHanko adapter.

Everything in :mod:`signing` that needs a signature (the QR token's COSE_Sign1
and the PDF's CMS SignedData) calls :meth:`Signer.sign`. Nothing else touches
a private key, so a PKCS#11 / HSM signer only has to implement this Protocol
to replace :class:`FileSigner`.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Protocol, runtime_checkable

from asn1crypto import algos as asn1_algos  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from pyhanko.sign import signers as pyhanko_signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import SignerUnusable, SigningError, SigningSetupError
from .pki import check_key_matches_certificate, kid_for, load_certificate, load_private_key

__all__ = ["Signer", "FileSigner", "PyHankoSignerAdapter", "ensure_usable"]

# ES256: P-256 coordinates are 32 bytes, so r||s is 64 bytes (RFC 9053 §2.1).
_COORD = 32
# Largest DER ECDSA-P256 signature: SEQUENCE(2+) of two INTEGERs of up to 33
# bytes (a leading 0x00 when the high bit is set) each with 2 header bytes.
_MAX_DER_P256_SIG = 72


@runtime_checkable
class Signer(Protocol):
    """Where the document-signer key lives is the implementation's business.

    ``sign`` returns the raw ES256 signature r||s (64 bytes) over
    SHA-256(``data``): the format COSE wants. The PDF adapter re-encodes it
    as DER for CMS.
    """

    @property
    def kid(self) -> bytes:
        """First 8 bytes of SHA-256 over the DSC's DER."""
        ...

    @property
    def certificate(self) -> x509.Certificate:
        """The document-signer certificate."""
        ...

    @property
    def certificate_chain(self) -> list[x509.Certificate]:
        """DSC first, then the root CA."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Raw r||s ES256 signature over SHA-256(data)."""
        ...


def ensure_usable(certificate: x509.Certificate, now: datetime, revoked: bool = False) -> None:
    """Raise SignerUnusable if ``certificate`` must not sign at ``now``.

    Shared by every Signer implementation so an HSM signer refuses in exactly
    the same cases. ``revoked`` comes from the application's key table:
    signing/ does not keep key status.
    """
    if now.tzinfo is None:
        # A naive datetime compared with UTC bounds would silently be off by
        # the server's offset; make the caller say what it means.
        raise ValueError("now must be timezone-aware")
    subject = certificate.subject.rfc4514_string()
    if revoked:
        raise SignerUnusable(f"document-signer certificate is revoked: {subject}")
    if now < certificate.not_valid_before_utc:
        raise SignerUnusable(
            f"document-signer certificate is not valid before {certificate.not_valid_before_utc.isoformat()}: {subject}"
        )
    if now >= certificate.not_valid_after_utc:
        raise SignerUnusable(
            f"document-signer certificate expired at {certificate.not_valid_after_utc.isoformat()}: {subject}"
        )


class FileSigner:
    """A Signer whose P-256 key is held in memory (loaded from a PEM file)."""

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        root_certificate: x509.Certificate,
    ) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            # The QR token's header says ES256; any other curve would make a
            # token no verifier accepts.
            raise SigningSetupError(f"document-signer key must be P-256 (ES256), got {private_key.curve.name}")
        check_key_matches_certificate(private_key, certificate, None)
        self._key = private_key
        self._certificate = certificate
        self._root = root_certificate
        self._kid = kid_for(certificate)

    @classmethod
    def from_files(
        cls,
        key_path: str | os.PathLike[str],
        cert_path: str | os.PathLike[str],
        root_path: str | os.PathLike[str],
        passphrase: bytes | None = None,
    ) -> FileSigner:
        """Load a DSC key, its certificate and the root; check they belong together.

        Errors name the file at fault (SigningSetupError).
        """
        key = load_private_key(key_path, passphrase)
        cert = load_certificate(cert_path)
        root = load_certificate(root_path)
        check_key_matches_certificate(key, cert, key_path)
        try:
            cert.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            # A DSC from another root would sign fine and then fail every
            # verification; refuse at start-up instead.
            raise SigningSetupError(f"certificate was not issued by the root CA in {root_path}", cert_path) from None
        if not isinstance(key.curve, ec.SECP256R1):
            raise SigningSetupError("document-signer key must be P-256 (ES256)", key_path)
        return cls(key, cert, root)

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def root_certificate(self) -> x509.Certificate:
        return self._root

    @property
    def certificate_chain(self) -> list[x509.Certificate]:
        return [self._certificate, self._root]

    def sign(self, data: bytes) -> bytes:
        der = self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")

    def ensure_usable(self, now: datetime, revoked: bool = False) -> None:
        """Raise SignerUnusable if this DSC is outside its validity or revoked."""
        ensure_usable(self._certificate, now, revoked)

    def __repr__(self) -> str:  # never show key material
        return f"<FileSigner kid={self._kid.hex()} subject={self._certificate.subject.rfc4514_string()!r}>"


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class PyHankoSignerAdapter(pyhanko_signers.Signer):
    """Lets pyHanko build a CMS/PAdES signature while our Signer does the crypto.

    pyHanko hands ``async_sign_raw`` the DER of the signed attributes and
    expects the signature in the encoding of the mechanism (for ECDSA: a DER
    SEQUENCE of r, s), which is what pyHanko's own PKCS#11 signer returns too.
    Our ``sign`` hashes with SHA-256 itself, so only ``sha256`` is accepted.
    """

    def __init__(self, signer: Signer) -> None:
        chain = signer.certificate_chain
        super().__init__(
            # Pin the mechanism instead of letting pyHanko derive it from the
            # certificate: the raw signature is ES256 whatever the CA used.
            signature_mechanism=asn1_algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            signing_cert=_to_asn1(signer.certificate),
            # pyHanko embeds the signing certificate and then everything in the registry: the
            # registry gets the rest of the chain only, so the CMS carries each certificate once.
            cert_registry=SimpleCertificateStore.from_certs([_to_asn1(c) for c in chain if c != signer.certificate]),
            # Embed the root too: some validators only build paths from
            # what is in the file (DESIGN: "embed the chain DSC+root").
            embed_roots=True,
        )
        self._ecert_signer = signer

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm.lower() != "sha256":
            raise SigningError(f"ES256 signer cannot sign with digest {digest_algorithm}")
        if dry_run:
            # Size estimate only: never spend an HSM operation on it.
            return b"\x00" * _MAX_DER_P256_SIG
        # Synchronous call inside the coroutine on purpose: pyHanko runs one
        # signing task per event loop here, and a PKCS#11 signer is blocking too.
        raw = self._ecert_signer.sign(data)
        if len(raw) != 2 * _COORD:
            raise SigningError(f"signer returned {len(raw)} bytes, expected 64 (r||s)")
        r = int.from_bytes(raw[:_COORD], "big")
        s = int.from_bytes(raw[_COORD:], "big")
        return encode_dss_signature(r, s)
