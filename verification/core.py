"""verify_token: the verdict on one QR token, from format to revocation status.

Checks run in this order, and the first failure decides the outcome:

1. **format** — :func:`verification.token.decode_token`; anything off-format is ``malformed``.
2. **issuer** — the protected ``kid`` is in the trust list and its entry is sound (DSC key equals
   the JWK, DSC chains to the root); otherwise ``unknown_issuer``.
3. **signature** — ES256 over the COSE Sig_structure with that key. A mismatch is ``tampered``:
   the kid is ours, so either the content was changed or someone signed with another key under
   our kid. Then the token's ``iss`` must be the trust list's issuer (else ``unknown_issuer``),
   the signing key must not be revoked (else ``signer_revoked``; a *retired* key still verifies
   what it signed while it was active), ``iat`` must not be in the future (more than
   :data:`CLOCK_SKEW`: ``malformed``/``issued_in_future``) and must lie inside the signing key's
   validity (else ``tampered``/``outside_signer_validity``: a genuine key never signs outside it).
4. **status** — ``status_lookup(cti)``: ``valid``, ``revoked`` or ``not_found``; an optional digest
   from the issuer must equal claim 8 (else ``tampered``/``digest_mismatch``).

Offline verification (``status_lookup=None``) is **never** ``valid``: a verifier must never see
"valid" unless every check passed (DESIGN §7), and with no status source the revocation check was
not made. The outcome is then ``status_unavailable`` with ``checks.status = {ok: false, reason:
"not_checked"}`` while ``checks.signature`` and ``checks.issuer`` are ``ok``: "the signature is
genuine, the revocation status was not checked". The CLI prints exactly that and exits 3.
A lookup that raises (``StatusUnavailable`` or anything else) is also ``status_unavailable``
(reason ``unavailable``): the verifier fails closed.

``verify_token`` never raises: hostile input must give a verdict, never crash a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .result import OK, Check, Outcome, PublicFields, VerificationResult, isoformat_z
from .status import CertificateStatus, StatusLookup
from .token import Claims, DecodedToken, MalformedToken, decode_token
from .trust import TrustedKey, TrustList

log = logging.getLogger(__name__)

#: How far in the future an ``iat`` may lie (clocks of issuer and verifier differ a little).
CLOCK_SKEW: Final = timedelta(minutes=5)

_ECDSA_SHA256: Final = ec.ECDSA(hashes.SHA256())


def utc(now: datetime | None) -> datetime:
    """``now`` as an aware UTC datetime (naive means UTC); the current time when None."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def public_fields(claims: Claims) -> PublicFields:
    """What a verifier may see (DESIGN §7): a Form 2 shows only number, form, date and name."""
    issued_at = isoformat_z(datetime.fromtimestamp(claims.iat, UTC))
    if claims.form_type == 2:
        return PublicFields(number=claims.number, form_type=2, issued_at=issued_at, holder_name=claims.holder_name)
    return PublicFields(
        number=claims.number,
        form_type=claims.form_type,
        issued_at=issued_at,
        issuer=claims.iss,
        holder_name=claims.holder_name,
        holder_birth_date=claims.holder_birth_date,
        masked_personal_id=claims.masked_personal_id,
        record_statement=claims.record_statement,
        ban_statement=claims.ban_statement,
    )


def signature_matches(decoded: DecodedToken, key: ec.EllipticCurvePublicKey) -> bool:
    """ES256 with the raw r||s signature of COSE (RFC 9053 §2.1), converted for cryptography."""
    r = int.from_bytes(decoded.signature[:32], "big")
    s = int.from_bytes(decoded.signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), decoded.sig_structure(), _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


def _within_signer_validity(iat: datetime, key: TrustedKey) -> bool:
    # The DSC's own validity and the list's not_before/not_after (TrustList intersects them).
    # The start gets the clock-skew allowance: a key may sign in the minute its certificate
    # was made, by a clock slightly ahead.
    if key.signs_from is not None and iat < key.signs_from - CLOCK_SKEW:
        return False
    return key.signs_until is None or iat <= key.signs_until


def _result(
    outcome: Outcome,
    checked_at: datetime,
    checks: Mapping[str, Check],
    kid: str | None = None,
    certificate: PublicFields | None = None,
    cti: bytes | None = None,
) -> VerificationResult:
    # The result's fields in their declared order (result.VerificationResult).
    return VerificationResult(outcome, checks, certificate, checked_at, kid, cti)


def _status(decoded: DecodedToken, status_lookup: StatusLookup | None) -> tuple[Outcome, Check]:
    if status_lookup is None:
        return "status_unavailable", Check(False, "not_checked")
    try:
        status = status_lookup(decoded.claims.cti)
    except Exception as exc:  # noqa: BLE001 - StatusUnavailable or a bug in the lookup: fail closed
        log.warning("status lookup failed: %s: %s", type(exc).__name__, exc)
        return "status_unavailable", Check(False, "unavailable")
    if not isinstance(status, CertificateStatus):
        return "status_unavailable", Check(False, "unavailable")
    if status.state == "not_found":
        return "not_found", Check(False, "not_found")
    if status.digest is not None:
        # The issuer may send the full SHA-256 or the 16 bytes of claim 8: compare the prefix.
        if len(status.digest) < len(decoded.claims.digest) or (
            status.digest[: len(decoded.claims.digest)] != decoded.claims.digest
        ):
            return "tampered", Check(False, "digest_mismatch")
    if status.state == "revoked":
        return "revoked", Check(False, "revoked")
    if status.state == "valid":
        return "valid", OK
    return "status_unavailable", Check(False, "unavailable")


def _refused_by_signer(
    claims: Claims, key: TrustedKey, issuer: str | None, checked_at: datetime
) -> tuple[Outcome, dict[str, Check]] | None:
    """After a good signature: the outcome and checks when the signer may not vouch for these
    claims (another issuer, a revoked key, a date in the future or outside the key's life)."""
    if issuer is not None and claims.iss != issuer:
        return "unknown_issuer", {"format": OK, "signature": OK, "issuer": Check(False, "issuer_mismatch")}
    if key.status == "revoked":
        # Even tokens dated before revoked_at: whoever holds a compromised key can backdate iat.
        return "signer_revoked", {"format": OK, "signature": OK, "issuer": Check(False, "signer_revoked")}
    issued = datetime.fromtimestamp(claims.iat, UTC)
    if issued > checked_at + CLOCK_SKEW:
        return "malformed", {"format": Check(False, "issued_in_future"), "signature": OK, "issuer": OK}
    if not _within_signer_validity(issued, key):
        return "tampered", {"format": OK, "issuer": OK, "signature": Check(False, "outside_signer_validity")}
    return None


def _verify(
    token: str,
    trust_list: TrustList,
    status_lookup: StatusLookup | None,
    checked_at: datetime,
) -> VerificationResult:
    try:
        decoded = decode_token(token)
    except MalformedToken as exc:
        return _result("malformed", checked_at, {"format": Check(False, exc.reason)})
    kid = decoded.kid_b64

    key = trust_list.get(decoded.kid)
    if key is None or not key.usable or key.public_key is None:
        reason = "unknown_kid" if key is None else (key.problem or "bad_key_entry")
        return _result("unknown_issuer", checked_at, {"format": OK, "issuer": Check(False, reason)}, kid)

    if not signature_matches(decoded, key.public_key):
        return _result(
            "tampered",
            checked_at,
            {"format": OK, "issuer": OK, "signature": Check(False, "signature_mismatch")},
            kid,
        )

    claims = decoded.claims
    refusal = _refused_by_signer(claims, key, trust_list.issuer, checked_at)
    if refusal is not None:
        return _result(refusal[0], checked_at, refusal[1], kid)

    outcome, status_check = _status(decoded, status_lookup)
    checks = {"format": OK, "signature": OK, "issuer": OK, "status": status_check}
    # The claims are shown only while they are trustworthy: not when the issuer's record
    # contradicts them (digest mismatch).
    certificate = None if outcome == "tampered" else public_fields(claims)
    return _result(outcome, checked_at, checks, kid, certificate, claims.cti)


def verify_token(
    token: str,
    trust_list: TrustList,
    status_lookup: StatusLookup | None = None,
    now: datetime | None = None,
) -> VerificationResult:
    """Verify a QR text or bare token. Never raises; see the module docstring for the rules."""
    checked_at = utc(now)
    try:
        return _verify(token, trust_list, status_lookup, checked_at)
    except Exception:  # a verifier bug must still give a (negative) verdict, not a 500
        log.exception("verify_token failed unexpectedly")
        return _result("malformed", checked_at, {"format": Check(False, "internal_error")})
