"""The verdict a verifier gets: outcomes, reason codes and frozen result objects.

Everything here is plain data so that the web page, the JSON API and the CLI render the same
verdict. ``VerificationResult.to_dict()`` is the JSON shape of DESIGN §11:
``{"outcome", "checks": {"format", "signature", "issuer", "status"}, "certificate", "checked_at"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

Outcome = Literal[
    "valid",
    "revoked",
    "tampered",
    "unknown_issuer",
    "signer_revoked",
    "malformed",
    "not_found",
    "status_unavailable",
]

# The same names as a tuple, in the same order, for code that iterates over them.
OUTCOMES: Final[tuple[str, ...]] = get_args(Outcome)

#: The checks every result carries, in the order they are made.
CHECK_NAMES: Final[tuple[str, ...]] = ("format", "signature", "issuer", "status")

#: Every reason code a :class:`Check` may carry, with a one-line English meaning. Codes are part
#: of the public surface (the API returns them, the page translates them via ``messages``):
#: add codes freely, never rename one.
REASON_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # any check
        "ok": "the check passed",
        "not_checked": "the check was not made (an earlier check failed, or no status source)",
        # format: the QR text / token
        "empty": "nothing to verify",
        "too_long": "the input is longer than any certificate token",
        "not_digits": "the token is not decimal digits",
        "bad_digit_groups": "the digits are not whole 7-byte groups (17 digits; a last group of 3, 5, 8, 10, "
        "13 or 15) each within its bytes",
        # retired with the base64url + zlib spelling (DESIGN §6 changed); kept, since codes are never reused
        "not_base64": "the token is not base64url (no padding)",
        "not_zlib": "the token is not a complete zlib stream",
        "too_large_decompressed": "the token decompresses to more than the size cap",
        "not_cbor": "the token's bytes are not CBOR",
        "not_cose_sign1": "not a COSE_Sign1 structure (tag 18, four elements)",
        "wrong_algorithm": "the signature algorithm is not ES256",
        "bad_protected_header": "the protected header is not {alg: ES256, kid: 8 bytes}",
        "bad_unprotected_header": "the unprotected header is not a map",
        "bad_payload": "the payload is not a CBOR map in a byte string",
        "bad_claims": "the claims are missing or of the wrong type",
        "bad_signature_length": "the signature is not a raw 64-byte r||s (e.g. DER)",
        "issued_in_future": "the token claims an issue time in the future",
        # format: the PDF
        "not_pdf": "the file is not a PDF",
        "too_large": "the file is larger than the size cap",
        "pdf_unreadable": "the PDF could not be parsed",
        "pdf_encrypted": "the PDF is encrypted",
        "pdf_too_complex": "the PDF could not be checked within the time limit (ours take a fraction of it)",
        "unsigned_pdf": "the PDF carries no signature",
        "no_token": "the PDF carries no certificate token",
        # signature
        "signature_mismatch": "the signature does not match the signed content",
        "outside_signer_validity": "the issue time lies outside the signing key's validity",
        "modified_after_signing": "the PDF was changed after it was signed",
        "pdf_signature_invalid": "the PDF signature is not a valid PAdES signature",
        "signer_mismatch": "the PDF and its token were signed by different keys",
        # issuer
        "unknown_kid": "the signing key is not in the trust list",
        "key_mismatch": "the trust list's key does not match its certificate",
        "chain_not_to_root": "the signing certificate does not chain to the trusted root",
        "issuer_mismatch": "the token names another issuer than the trust list",
        "bad_key_entry": "the trust list's entry for this key is unusable",
        "signer_revoked": "the signing key has been revoked",
        # status
        "revoked": "the certificate has been revoked",
        "not_found": "the issuer does not know this certificate",
        "unavailable": "the revocation status could not be obtained",
        "digest_mismatch": "the issuer's record of the content differs from the token",
        # safety net: a bug in the verifier must still produce a verdict, never a crash
        "internal_error": "the verifier failed unexpectedly",
    }
)


@dataclass(frozen=True, slots=True)
class Check:
    """One check of the four: whether it passed and a reason code from :data:`REASON_CODES`."""

    ok: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason}


OK: Final[Check] = Check(True, "ok")
NOT_CHECKED: Final[Check] = Check(False, "not_checked")


@dataclass(frozen=True, slots=True)
class PublicFields:
    """What a verifier may see of a certificate (DESIGN §7 privacy), nothing more.

    Form 1: number, form, issue time, issuer, holder name and birth date, masked personal ID,
    record and ban statements. Form 2 (it lists every conviction and family names, so it is
    more sensitive): only number, form, issue time and holder name; the rest stay ``None``.
    """

    number: str
    form_type: int
    issued_at: str  # ISO 8601 UTC, "2026-11-23T08:15:00Z", from the signed iat
    holder_name: str
    issuer: str | None = None
    holder_birth_date: str | None = None  # "YYYY-MM-DD"
    masked_personal_id: str | None = None  # "001******345"
    record_statement: int | None = None  # 0 no criminal record, 1 has one
    ban_statement: int | None = None  # 0 not requested, 1 none, 2 has a ban

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "form_type": self.form_type,
            "issued_at": self.issued_at,
            "issuer": self.issuer,
            "holder_name": self.holder_name,
            "holder_birth_date": self.holder_birth_date,
            "masked_personal_id": self.masked_personal_id,
            "record_statement": self.record_statement,
            "ban_statement": self.ban_statement,
        }


def _empty_checks() -> Mapping[str, Check]:
    return MappingProxyType({name: NOT_CHECKED for name in CHECK_NAMES})


def isoformat_z(moment: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, seconds precision: the one time format of the result."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # isoformat() rather than strftime(): same text, and this runs once per verification.
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict. ``outcome == "valid"`` only when all four checks passed.

    ``kid`` (base64url) is set once the token's format was readable; ``cti`` (the
    certificate's public id) only once its signature was verified, so an attacker-made token
    can never make a caller log a verification against someone else's certificate.
    ``certificate`` is only shown when the signature is genuine and the signing key trusted:
    the claims of a tampered token are the attacker's words.
    """

    outcome: Outcome
    checks: Mapping[str, Check] = field(default_factory=_empty_checks)
    certificate: PublicFields | None = None
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    kid: str | None = None
    cti: bytes | None = None

    def __post_init__(self) -> None:
        # Freeze the checks mapping and make every result carry exactly the four checks, so a
        # renderer can index them without guarding.
        merged = {name: self.checks.get(name, NOT_CHECKED) for name in CHECK_NAMES}
        object.__setattr__(self, "checks", MappingProxyType(merged))
        if self.outcome == "valid" and not all(c.ok for c in merged.values()):
            # The one rule that must never break (DESIGN §7), enforced where results are made.
            raise ValueError("a valid outcome requires every check to pass")

    @property
    def is_valid(self) -> bool:
        return self.outcome == "valid"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "checks": {name: self.checks[name].to_dict() for name in CHECK_NAMES},
            "certificate": self.certificate.to_dict() if self.certificate else None,
            "checked_at": isoformat_z(self.checked_at),
        }
