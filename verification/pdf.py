"""verify_pdf: the verdict on an uploaded certificate PDF (PAdES-signed, token in its metadata).

What makes a PDF one of ours: a PAdES signature by a document signer (DSC) in the trust list,
covering the whole file, and the QR token in the document information dictionary under
``/EcertToken``, inside the signed revision. The verdict is then the token's verdict
(:func:`verification.verify_token`), after these PDF-level rules:

* not a PDF, too big (``max_bytes``), unparseable, encrypted → ``malformed``;
* no signature: ``tampered`` (``unsigned_pdf``) when the file carries an ``/EcertToken`` (it
  claims to be ours, and ours are always signed); ``malformed`` otherwise (just some PDF);
* signature not intact (a signed byte changed) → ``tampered`` (``modified_after_signing``); not
  cryptographically valid or broken → ``tampered`` (``pdf_signature_invalid``);
* a PDF is judged by its signed revision only (DESIGN §7): the signature must cover the whole
  file, so ANY revision appended after it → ``tampered`` (``modified_after_signing``), even one
  that only rewrites the document information or the metadata, even one that changes nothing
  visible. Ours are issued as one signed revision and the service adds none. (Should it one day
  add long-term-validation revisions of its own, those become the only accepted kind, recognised
  as its own — not whatever pyHanko's difference analysis would let pass.) The token is read from
  the bytes the signature covers: up to the end of the signature's ``/ByteRange``;
* signer does not chain to our root → ``unknown_issuer`` (``chain_not_to_root``); chains to it
  but is not a DSC in the trust list → ``unknown_issuer`` (``unknown_kid``);
* signed by us but without a token → ``malformed`` (``no_token``);
* the token signed by another DSC than the PDF → ``tampered`` (``signer_mismatch``).

The chain is validated at the token's ``iat`` (the signing time our own signature vouches for)
rather than now, so a certificate signed by a DSC that has since retired and expired still
verifies: DSCs stay in the trust list for exactly this (DESIGN §6). Revocation of a DSC comes
from the trust list (``signer_revoked``), not from CRLs; nothing is fetched from the network.

Hostile PDFs: the size is capped before parsing, pyHanko parses with its limits for untrusted
input, and every step is wrapped so that no exception escapes. Parsing runs in the caller's
thread; a server should still bound it with its worker timeout. pyHanko's validator runs its own
event loop: call this from synchronous code (not inside a running asyncio loop).
"""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.hazmat.primitives import serialization

from .core import utc, verify_token
from .result import OK, Check, Outcome, VerificationResult
from .status import StatusLookup
from .token import KID_LENGTH, DecodedToken, MalformedToken, b64url_encode, decode_token
from .trust import TrustList

log = logging.getLogger(__name__)

MAX_PDF_BYTES: Final = 10 * 1024 * 1024
TOKEN_INFO_KEY: Final = "/EcertToken"
MODIFIED_AFTER_SIGNING: Final = "modified_after_signing"
_TOKEN_MARKER: Final = b"/EcertToken"


def _result(outcome: Outcome, checked_at: datetime, kid: str | None = None, **checks: Check) -> VerificationResult:
    return VerificationResult(outcome=outcome, checks=checks, checked_at=checked_at, kid=kid)


def _info_token(trailer: Any) -> str | None:
    """The ``/EcertToken`` string of a trailer's /Info, or None (never raises)."""
    try:
        info = trailer["/Info"]
        value = info.get(TOKEN_INFO_KEY)
    except Exception:  # noqa: BLE001 - a broken trailer holds no token we can read
        return None
    if value is None:
        return None
    text = str(value)
    return text if text else None


def _is_pdf(data: bytes) -> bool:
    # Readers accept the header anywhere in the first KiB; so do we, no further.
    return b"%PDF-" in data[:1024]


def verify_pdf(
    pdf_bytes: bytes,
    trust_list: TrustList,
    status_lookup: StatusLookup | None = None,
    now: datetime | None = None,
    max_bytes: int = MAX_PDF_BYTES,
) -> VerificationResult:
    """Verify a certificate PDF. Never raises; see the module docstring for the rules."""
    checked_at = utc(now)
    try:
        return _verify_pdf(bytes(pdf_bytes), trust_list, status_lookup, checked_at, max_bytes)
    except Exception:
        log.exception("verify_pdf failed unexpectedly")
        return _result("malformed", checked_at, format=Check(False, "internal_error"))


def _verify_pdf(
    data: bytes,
    trust_list: TrustList,
    status_lookup: StatusLookup | None,
    checked_at: datetime,
    max_bytes: int,
) -> VerificationResult:
    if not data:
        return _result("malformed", checked_at, format=Check(False, "empty"))
    if len(data) > max_bytes:
        return _result("malformed", checked_at, format=Check(False, "too_large"))
    if not _is_pdf(data):
        return _result("malformed", checked_at, format=Check(False, "not_pdf"))
    revision = _signed_revision(data, checked_at)
    if isinstance(revision, VerificationResult):
        return revision
    reader, embedded = revision
    # The whole file is the signed revision: the token comes from the signed bytes, nowhere else.
    token = _info_token(reader.trailer_view)
    decoded = _decoded_or_none(token)
    # Validate the chain at the signing time our token vouches for (see module docstring).
    moment = checked_at
    if decoded is not None:
        moment = min(checked_at, datetime.fromtimestamp(decoded.claims.iat, UTC))

    pdf_check = _check_pdf_signature(embedded, trust_list, moment, checked_at)
    if isinstance(pdf_check, VerificationResult):
        return pdf_check
    pdf_kid = pdf_check

    if token is None:
        return _result(
            "malformed", checked_at, b64url_encode(pdf_kid), signature=OK, issuer=OK, format=Check(False, "no_token")
        )
    if decoded is not None and decoded.kid != pdf_kid:
        return _result(
            "tampered",
            checked_at,
            b64url_encode(pdf_kid),
            format=OK,
            issuer=OK,
            signature=Check(False, "signer_mismatch"),
        )
    # The PDF is intact and signed by a trusted DSC; the token, from the signed revision, now
    # decides (format, signature, signer status, issue time, revocation status).
    return verify_token(token, trust_list, status_lookup, now=checked_at)


def _decoded_or_none(token: str | None) -> DecodedToken | None:
    if token is None:
        return None
    try:
        return decode_token(token)
    except MalformedToken:
        return None


def _signed_revision(data: bytes, checked_at: datetime) -> tuple[Any, Any] | VerificationResult:
    """The reader and the one signature of a PDF signed once over all its bytes, or the result
    that refuses the file (unreadable, encrypted, unsigned, or changed after signing)."""
    # A cheap "does it claim to be ours?" for files too broken to parse: ours carry the key.
    claims_ours = _TOKEN_MARKER in data

    # Heavy imports only here: the token path never pays for pyHanko.
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(data))
        if reader.encrypted:
            return _result("malformed", checked_at, format=Check(False, "pdf_encrypted"))
        claims_ours = claims_ours or _info_token(reader.trailer_view) is not None
        # All of them, document timestamps included: ours carry exactly one.
        signatures = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001 - whatever pyHanko trips on, the file is unreadable
        log.info("unreadable PDF: %s: %s", type(exc).__name__, exc)
        if claims_ours:
            # It names our token but its structure (or its signature object) is broken.
            return _result("tampered", checked_at, format=OK, signature=Check(False, "pdf_signature_invalid"))
        return _result("malformed", checked_at, format=Check(False, "pdf_unreadable"))

    if not signatures:
        if claims_ours:
            return _result("tampered", checked_at, format=OK, signature=Check(False, "unsigned_pdf"))
        return _result("malformed", checked_at, format=Check(False, "unsigned_pdf"))

    # Ours carry exactly one signature, and it covers every byte of the file. Anything after its
    # /ByteRange (an incremental update: new /Info, annotation, page, a second signature or a
    # document timestamp) was written by someone else: refuse it before the costly validation.
    embedded = signatures[0]
    signed_end = _signed_end(embedded)
    if signed_end is None or signed_end > len(data):
        return _result("tampered", checked_at, format=OK, signature=Check(False, "pdf_signature_invalid"))
    if signed_end < len(data) or len(signatures) > 1:
        return _result("tampered", checked_at, format=OK, signature=Check(False, MODIFIED_AFTER_SIGNING))
    return reader, embedded


def _signed_end(embedded: Any) -> int | None:
    """Where the bytes the signature covers end (``/ByteRange [0 a b c]`` -> b + c), or None when
    the range is not the one shape a PAdES signature has."""
    try:
        byte_range = [int(v) for v in embedded.sig_object.raw_get("/ByteRange")]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if len(byte_range) != 4 or byte_range[0] != 0 or min(byte_range) < 0:
        return None
    _, first_len, second_start, second_len = byte_range
    if second_start <= first_len:
        return None
    return second_start + second_len


def _check_pdf_signature(
    embedded: Any, trust_list: TrustList, moment: datetime, checked_at: datetime
) -> bytes | VerificationResult:
    """The kid of the signing DSC when the signature is intact, covers the whole file and is
    ours; else the verdict."""
    from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = [
        asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER)) for root in trust_list.trust_roots()
    ]
    try:
        context = ValidationContext(trust_roots=roots, moment=moment, allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(
            embedded,
            context,
            # DSCs carry digitalSignature + nonRepudiation; either is enough for a document.
            key_usage_settings=KeyUsageConstraints(
                key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
            ),
        )
    except Exception as exc:  # noqa: BLE001 - bad SubFilter, broken CMS...: a signature we cannot accept
        log.info("PDF signature validation error: %s: %s", type(exc).__name__, exc)
        return _result("tampered", checked_at, format=OK, signature=Check(False, "pdf_signature_invalid"))

    if not status.intact:
        # The signed byte ranges no longer hash to the signed digest: bytes were changed.
        return _result("tampered", checked_at, format=OK, signature=Check(False, MODIFIED_AFTER_SIGNING))
    if not status.valid:
        return _result("tampered", checked_at, format=OK, signature=Check(False, "pdf_signature_invalid"))
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        # Our own /ByteRange check already demands this; pyHanko's view must agree.
        return _result("tampered", checked_at, format=OK, signature=Check(False, MODIFIED_AFTER_SIGNING))

    kid = hashlib.sha256(status.signing_cert.dump()).digest()[:KID_LENGTH]
    kid_b64 = b64url_encode(kid)
    if not status.trusted:
        return _result(
            "unknown_issuer", checked_at, kid_b64, format=OK, signature=OK, issuer=Check(False, "chain_not_to_root")
        )
    key = trust_list.get(kid)
    if key is None:
        return _result(
            "unknown_issuer", checked_at, kid_b64, format=OK, signature=OK, issuer=Check(False, "unknown_kid")
        )
    if not key.usable:
        return _result(
            "unknown_issuer",
            checked_at,
            kid_b64,
            format=OK,
            signature=OK,
            issuer=Check(False, key.problem or "bad_key_entry"),
        )
    return kid


def read_pdf_token(pdf_bytes: bytes, max_bytes: int = MAX_PDF_BYTES) -> str | None:
    """The ``/EcertToken`` a PDF carries (from the bytes its first signature covers when signed),
    or None.

    Only reads: it proves nothing. Used to ask a server about the token (the CLI's ``--server``);
    :func:`verify_pdf` does the proving. Never raises.
    """
    data = bytes(pdf_bytes)
    if not data or len(data) > max_bytes or not _is_pdf(data):
        return None
    try:
        from pyhanko.pdf_utils.reader import PdfFileReader

        reader = PdfFileReader(io.BytesIO(data))
        signatures = list(reader.embedded_signatures)
        if not signatures:
            return _info_token(reader.trailer_view)
        end = _signed_end(signatures[0])
        if end is None or end > len(data):
            return None
        if end < len(data):
            # Read the signed revision as a file of its own: what came after is not ours.
            reader = PdfFileReader(io.BytesIO(data[:end]))
        return _info_token(reader.trailer_view)
    except Exception:  # noqa: BLE001 - documented: never raises, None when unreadable
        return None
