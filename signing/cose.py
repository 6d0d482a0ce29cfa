"""The QR token: CWT claims in a COSE_Sign1, written in decimal digits (DESIGN §6).

Layout, byte for byte (so a third party can write a verifier from this alone)::

    payload   = CBOR map (canonical encoding)
                {1: iss (text), 6: iat (int, seconds UTC), 7: cti (16 bytes),
                 -70000: {1: number (text), 2: form (1|2), 3: holder name (NFC),
                          4: birth date "YYYY-MM-DD", 5: masked personal ID,
                          6: record statement (0|1), 7: ban statement (0|1|2),
                          8: digest (16 bytes)}}
                A Form 2 map holds keys 1, 2, 3 and 8 only: the QR is public, the
                record is not, and a Form 2 verifier shows nothing more.
    protected = bstr(CBOR {1: -7, 4: kid})          # alg ES256, kid 8 bytes
    to_sign   = CBOR ["Signature1", protected, h'', payload]
    signature = ES256 over to_sign, raw r||s (64 bytes)
    cose      = CBOR tag 18 [protected, {}, payload, signature]
    token     = cose in decimal digits, not compressed: the bytes in 7-byte groups, each
                full group its big-endian value as exactly 17 digits, a final group of
                k bytes (1..6) as exactly 3, 5, 8, 10, 13 or 15 digits (zero-padded)
    qr text   = f"{base_url}/v/{token}"   # QR: byte-mode prefix + numeric-mode digits

Digits, because a QR holds them in numeric mode at 3.33 bits a digit: 8.1 bits a byte of
COSE, against 10.7 for base64url in byte mode. Not compressed, because deflate does not
shrink signed random bytes, and its padding bits let one token be spelt several ways.

Built from cbor2 and our Signer only (no COSE library): the format is small
and fixed, and every byte here is one a verifier must agree with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cbor2

from .canonical import canonical_json, content_digest
from .signer import Signer

__all__ = [
    "ALG_ES256",
    "CLAIMS_KEY",
    "COSE_SIGN1_TAG",
    "TokenClaims",
    "decode_claims",
    "digits_of",
    "encode_claims",
    "mask_personal_id",
    "qr_text",
    "sign_token",
    "token_claims",
]

COSE_SIGN1_TAG = 18
ALG_ES256 = -7
# Private-use CWT claim key (negative, < -65536) carrying our own map.
CLAIMS_KEY = -70000
_HDR_ALG = 1
_HDR_KID = 4
_CWT_ISS, _CWT_IAT, _CWT_CTI = 1, 6, 7
# Keys of our map that only a Form 1 token carries (DESIGN §6).
_FORM1_ONLY = (4, 5, 6, 7)
_PRIVATE_FIELDS = ("holder_birth_date", "masked_personal_id", "record_statement", "ban_statement")

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PID_RE = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class TokenClaims:
    """What the QR token says about one certificate.

    Strings are NFC-normalised on construction so that two equal names always
    encode to the same bytes. Values are checked: a malformed token must never
    be signed, because once printed it cannot be recalled. A Form 1 carries the
    birth date, masked ID and both statements; a Form 2 carries none of them
    (they are None), and is refused if given any.
    """

    issuer: str
    issued_at: int
    cti: bytes
    number: str
    form_type: int
    holder_name: str
    holder_birth_date: str | None
    masked_personal_id: str | None
    record_statement: int | None
    ban_statement: int | None
    digest: bytes

    def __post_init__(self) -> None:
        if self.form_type not in (1, 2) or isinstance(self.form_type, bool):
            raise ValueError("form_type must be 1 or 2")
        if self.form_type == 2:
            given = [name for name in _PRIVATE_FIELDS if getattr(self, name) is not None]
            if given:
                raise ValueError(f"a Form 2 token carries no {', '.join(given)}")
        texts: tuple[str, ...] = ("issuer", "number", "holder_name")
        if self.form_type == 1:
            texts += ("holder_birth_date", "masked_personal_id")
        for name in texts:
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string")
            # frozen dataclass: normalising needs object.__setattr__.
            object.__setattr__(self, name, unicodedata.normalize("NFC", value))
        if isinstance(self.issued_at, bool) or not isinstance(self.issued_at, int) or self.issued_at < 0:
            raise ValueError("issued_at must be a non-negative int (seconds since the epoch)")
        if not isinstance(self.cti, bytes) or len(self.cti) != 16:
            raise ValueError("cti must be 16 bytes")
        if not isinstance(self.digest, bytes) or len(self.digest) != 16:
            raise ValueError("digest must be 16 bytes")
        if self.form_type == 2:
            return
        if self.record_statement not in (0, 1) or isinstance(self.record_statement, bool):
            raise ValueError("record_statement must be 0 or 1")
        if self.ban_statement not in (0, 1, 2) or isinstance(self.ban_statement, bool):
            raise ValueError("ban_statement must be 0, 1 or 2")
        if not _DATE_RE.match(self.holder_birth_date or ""):
            raise ValueError("holder_birth_date must be YYYY-MM-DD")


def encode_claims(claims: TokenClaims) -> bytes:
    """The CWT payload bytes (canonical CBOR, so the same claims give the same bytes)."""
    ours: dict[int, Any] = {1: claims.number, 2: claims.form_type, 3: claims.holder_name, 8: claims.digest}
    if claims.form_type == 1:
        ours.update(
            {
                4: claims.holder_birth_date,
                5: claims.masked_personal_id,
                6: claims.record_statement,
                7: claims.ban_statement,
            }
        )
    return cbor2.dumps(
        {_CWT_ISS: claims.issuer, _CWT_IAT: claims.issued_at, _CWT_CTI: claims.cti, CLAIMS_KEY: ours},
        canonical=True,
    )


def decode_claims(payload: bytes) -> TokenClaims:
    """Inverse of :func:`encode_claims` (no signature check: that is verification/'s job).

    Raises ValueError for anything that is not exactly our claim layout.
    """
    try:
        obj: Any = cbor2.loads(payload, allow_duplicate_keys=False)
    except Exception as exc:  # noqa: BLE001 - cbor2 raises several decoder error types
        raise ValueError(f"payload is not CBOR: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get(CLAIMS_KEY), dict):
        raise ValueError("payload is not an ecert claims map")
    ours = obj[CLAIMS_KEY]
    # Form 2: TokenClaims refuses the private keys when present, so a Form 2 payload that
    # carries them is refused rather than silently read.
    optional = ours.get if ours.get(2) == 2 else ours.__getitem__
    try:
        return TokenClaims(
            issuer=obj[_CWT_ISS],
            issued_at=obj[_CWT_IAT],
            cti=obj[_CWT_CTI],
            number=ours[1],
            form_type=ours[2],
            holder_name=ours[3],
            holder_birth_date=optional(4),
            masked_personal_id=optional(5),
            record_statement=optional(6),
            ban_statement=optional(7),
            digest=ours[8],
        )
    except KeyError as exc:
        raise ValueError(f"claim {exc} missing") from None


def token_claims(content: Mapping[str, Any], *, issued_at: int, cti: bytes) -> TokenClaims:
    """The claims to sign for a certificate's canonical content: the one place that decides
    what the public QR says. A Form 2 token gets no birth date, masked ID or statements."""
    holder = content["holder"]
    claims: dict[str, Any] = {name: None for name in _PRIVATE_FIELDS}
    if content["form_type"] == 1:
        ban = content.get("ban")
        claims = {
            "holder_birth_date": holder["birth_date"],
            "masked_personal_id": mask_personal_id(holder["personal_id"]),
            "record_statement": content["record"]["statement"],
            # 0: the Form 1 ban section was not requested
            "ban_statement": 0 if ban is None else ban["statement"],
        }
    return TokenClaims(
        issuer=content["issuer"]["id"],
        issued_at=issued_at,
        cti=cti,
        number=content["number"],
        form_type=content["form_type"],
        holder_name=holder["full_name"],
        digest=content_digest(canonical_json(content)),
        **claims,
    )


# Decimal digits of a group of k bytes (index k, 1..7): the fewest that hold any k-byte value.
GROUP_DIGITS: Final = (0, 3, 5, 8, 10, 13, 15, 17)
GROUP_BYTES: Final = 7


def digits_of(data: bytes) -> str:
    """``data`` in the token's decimal spelling (DESIGN §6): one spelling for each byte string."""
    groups = (data[i : i + GROUP_BYTES] for i in range(0, len(data), GROUP_BYTES))
    return "".join(str(int.from_bytes(group, "big")).zfill(GROUP_DIGITS[len(group)]) for group in groups)


def sign_token(claims: TokenClaims, signer: Signer) -> str:
    """Sign ``claims`` as COSE_Sign1 with ``signer`` and return the QR token text."""
    payload = encode_claims(claims)
    protected = cbor2.dumps({_HDR_ALG: ALG_ES256, _HDR_KID: signer.kid}, canonical=True)
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    signature = signer.sign(to_sign)
    if len(signature) != 64:
        raise ValueError("ES256 signature must be raw r||s, 64 bytes")
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return digits_of(cose)


def qr_text(base_url: str, token: str) -> str:
    """The text encoded in the QR: a link a phone camera opens, ending in the token."""
    return f"{base_url.rstrip('/')}/v/{token}"


def mask_personal_id(pid: str) -> str:
    """Show the first 3 and last 3 digits of a 12-digit personal ID: ``001******345``.

    Three leading digits are the province code and three trailing digits are
    enough to match a card in hand; the middle (century/gender and birth
    year) is hidden because it is personal data the QR need not reveal.
    """
    if not isinstance(pid, str) or not _PID_RE.match(pid):
        raise ValueError("personal ID must be exactly 12 digits")
    return pid[:3] + "*" * 6 + pid[-3:]
