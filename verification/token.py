"""Decode a certificate QR token (DESIGN §6) into its parts, refusing anything off-format.

The token is the COSE_Sign1 bytes in decimal digits (not compressed): 7-byte groups, each full
group its big-endian value as exactly 17 digits, a final group of k bytes (1..6) as exactly 3, 5,
8, 10, 13 or 15 digits. Any other length, any other character and any group whose value does not
fit its bytes (e.g. a 3-digit group above 255) is refused, so one certificate has one spelling.

The token is hostile input: it comes from a camera, a pasted string or an uploaded file. Every
stage is capped before it runs, so the worst input costs microseconds:

* the text is at most :data:`MAX_INPUT_CHARS` characters (a real token is ~500 digits);
* ASCII digits only, in whole groups, each value within its bytes;
* CBOR via cbor2 with a depth cap, no indefinite lengths, no duplicate keys (two readers must not
  disagree on which ``alg`` or ``kid`` counts) and cbor2's built-in tag decoders switched off
  (regexes, MIME, shared references, decimal fractions... none belong in our format);
* then the exact COSE_Sign1 shape and the exact claim types.

:func:`decode_token` only decodes: it says nothing about the signature. It raises
:class:`MalformedToken` (with a reason code from ``result.REASON_CODES``) and nothing else.
"""

from __future__ import annotations

import base64
import builtins
import io
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TypeGuard
from urllib.parse import urlsplit

import cbor2

MAX_INPUT_CHARS: Final = 2048
CBOR_MAX_DEPTH: Final = 8

COSE_SIGN1_TAG: Final = 18
HEADER_ALG: Final = 1
HEADER_KID: Final = 4
ALG_ES256: Final = -7
KID_LENGTH: Final = 8
SIGNATURE_LENGTH: Final = 64  # raw r||s for P-256 (RFC 9053 §2.1), never DER

CLAIM_ISS: Final = 1
CLAIM_IAT: Final = 6
CLAIM_CTI: Final = 7
CLAIM_ECERT: Final = -70000
CTI_LENGTH: Final = 16
#: Keys of the -70000 map that a Form 1 token must carry and a Form 2 token must not (DESIGN §6).
FORM1_ONLY_CLAIMS: Final = (4, 5, 6, 7)
DIGEST_LENGTH: Final = 16

# Largest iat that still converts to a datetime (9999-12-31T23:59:59Z); anything beyond is junk.
MAX_IAT: Final = 253402300799

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")
GROUP_BYTES: Final = 7
GROUP_DIGITS: Final = 17
#: Bytes of the final group, by its number of digits (DESIGN §6); no other remainder is a token.
TAIL_BYTES: Final = {0: 0, 3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# cbor2's built-in semantic decoders (found by probing cbor2 6.3). Each is replaced by a decoder
# that refuses: our format uses only tag 18, which cbor2 leaves as a plain CBORTag.
_BUILTIN_TAGS: Final = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004, 55799)


def _refuse_tag(*_args: Any) -> Any:
    raise ValueError("semantic tag not allowed in a certificate token")


_NO_SEMANTIC_TAGS: Final = {tag: _refuse_tag for tag in _BUILTIN_TAGS}

# What cbor2 decodes a CBOR map to: dict, or its frozendict inside a tag (where values must be
# hashable). Concrete types, not typing.Mapping: the ABC check costs more than the rest of a
# claim's validation on this hot path.
_MAPS: Final[tuple[type, ...]] = tuple(
    t for t in (dict, getattr(cbor2, "frozendict", None), getattr(builtins, "frozendict", None)) if isinstance(t, type)
)


def _is_map(value: Any) -> TypeGuard[Mapping[Any, Any]]:
    return isinstance(value, _MAPS)


class MalformedToken(ValueError):
    """The input is not a certificate token of ours; ``reason`` is a format reason code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Claims:
    """The CWT claims of a token (DESIGN §6), typed. Nothing here is trusted until verified.

    A Form 1 token carries the birth date, masked ID and both statements; a Form 2 token
    carries none of them (they are None here): its QR is public, its record is not.
    """

    iss: str
    iat: int
    cti: bytes
    number: str
    form_type: int
    holder_name: str
    holder_birth_date: str | None
    masked_personal_id: str | None
    record_statement: int | None
    ban_statement: int | None
    digest: bytes


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """A token that has the right shape. ``protected`` and ``payload`` are the exact signed bytes."""

    token: str
    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes
    claims: Claims

    @property
    def kid_b64(self) -> str:
        return b64url_encode(self.kid)

    def sig_structure(self) -> bytes:
        """The bytes ES256 signed: Sig_structure1 of RFC 9052 §4.4, empty external_aad."""
        return cbor2.dumps(["Signature1", self.protected, b"", self.payload])


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict, canonical base64url without padding; ValueError otherwise.

    Canonical: the unused low bits of the last character must be zero (re-encoding gives the
    same text), so one token has exactly one spelling and every changed character is refused.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def extract_token(text: str) -> str:
    """The bare token from what a scanner gives: ``https://host/v/<token>?x#y``, or the token.

    A verifier app takes the last path segment (DESIGN §6); the host is deliberately not
    checked, since trust comes from the signature and the trust list, not from the URL.
    """
    if not isinstance(text, str):
        raise MalformedToken("empty" if not text else "not_digits")
    if len(text) > MAX_INPUT_CHARS:
        raise MalformedToken("too_long")
    text = text.strip()
    if not text:
        raise MalformedToken("empty")
    if "://" in text:
        try:
            parts = urlsplit(text)
        except ValueError:
            raise MalformedToken("not_digits") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise MalformedToken("not_digits")
        path = parts.path
    else:
        path = re.split(r"[?#]", text, maxsplit=1)[0]
    token = path.rstrip("/").rsplit("/", 1)[-1]
    if not token:
        raise MalformedToken("empty")
    return token


def digits_decode(text: str) -> bytes:
    """The bytes a token's digits spell (DESIGN §6); ValueError for anything else.

    Strict: ASCII digits only, a length of whole groups, and each group's value below 256**k for
    its k bytes, so every changed length or out-of-range group is refused, not read another way.
    """
    if not _DIGITS.fullmatch(text):
        raise ValueError("not decimal digits")
    full, rest = divmod(len(text), GROUP_DIGITS)
    tail = TAIL_BYTES.get(rest)
    if tail is None:
        raise ValueError("not a whole number of digit groups")
    # The full groups at once: each value as an 8-byte big-endian word, whose top byte must be 0
    # (7 bytes hold up to 2**56 - 1; 17 digits up to 10**17 - 1), then dropped. Same bytes as a
    # group at a time, a third of the time on the verification path.
    values = [int(text[start : start + GROUP_DIGITS]) for start in range(0, full * GROUP_DIGITS, GROUP_DIGITS)]
    words = bytearray(struct.pack(f">{full}Q", *values))
    if any(words[:: GROUP_BYTES + 1]):
        raise ValueError("a digit group's value does not fit its bytes")
    del words[:: GROUP_BYTES + 1]
    if tail:
        words += _group(text[full * GROUP_DIGITS :], tail)
    return bytes(words)


def _group(digits: str, size: int) -> bytes:
    value = int(digits)
    if value >> (8 * size):
        raise ValueError("a digit group's value does not fit its bytes")
    return value.to_bytes(size, "big")


def _cbor(data: bytes, reason: str) -> Any:
    """Exactly one CBOR item filling ``data``: trailing bytes are refused, not ignored, so two
    readers of one token cannot disagree about where it ends."""
    stream = io.BytesIO(data)
    # cbor2 raises CBORDecodeError, but also ValueError/TypeError/OverflowError/MemoryError
    # from its decoders on hostile input; the catch is broad and wraps only the decoding call.
    try:
        item = cbor2.CBORDecoder(
            stream,
            max_depth=CBOR_MAX_DEPTH,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            semantic_decoders=_NO_SEMANTIC_TAGS,
        ).decode()
    except Exception:  # noqa: BLE001 - whatever the decoder trips on, the token is malformed
        raise MalformedToken(reason) from None
    if stream.tell() != len(data):
        raise MalformedToken(reason)
    return item


def _is_int(value: Any) -> TypeGuard[int]:
    return type(value) is int  # bool is an int subclass; CBOR true is not a number


def _text(value: Any, max_len: int) -> str:
    if type(value) is not str or not 0 < len(value) <= max_len:
        raise MalformedToken("bad_claims")
    return value


def _choice(value: Any, allowed: tuple[int, ...]) -> int:
    if not _is_int(value) or value not in allowed:
        raise MalformedToken("bad_claims")
    return value


def _bstr(value: Any, length: int) -> bytes:
    if type(value) is not bytes or len(value) != length:
        raise MalformedToken("bad_claims")
    return value


def _birth_date(value: Any) -> str:
    text = _text(value, 10)
    if not _ISO_DATE.fullmatch(text):
        raise MalformedToken("bad_claims")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise MalformedToken("bad_claims") from None
    return text


def _claims(payload: bytes) -> Claims:
    claims = _cbor(payload, "bad_payload")
    if not _is_map(claims):
        raise MalformedToken("bad_payload")
    ours = claims.get(CLAIM_ECERT)
    iat = claims.get(CLAIM_IAT)
    if not _is_map(ours) or not _is_int(iat) or not 0 <= iat <= MAX_IAT:
        raise MalformedToken("bad_claims")
    # Unknown extra claims are tolerated (forward compatibility); known ones must be exact.
    form_type = _choice(ours.get(2), (1, 2))
    if form_type == 2:
        # Present at all (even null) is refused: a Form 2 token that carries the record is
        # not one we issue, and a verifier must never show it.
        if any(key in ours for key in FORM1_ONLY_CLAIMS):
            raise MalformedToken("bad_claims")
        birth_date = masked_id = record = ban = None
    else:
        birth_date = _birth_date(ours.get(4))
        masked_id = _text(ours.get(5), 32)
        record = _choice(ours.get(6), (0, 1))
        ban = _choice(ours.get(7), (0, 1, 2))
    return Claims(
        iss=_text(claims.get(CLAIM_ISS), 100),
        iat=iat,
        cti=_bstr(claims.get(CLAIM_CTI), CTI_LENGTH),
        number=_text(ours.get(1), 64),
        form_type=form_type,
        holder_name=_text(ours.get(3), 200),
        holder_birth_date=birth_date,
        masked_personal_id=masked_id,
        record_statement=record,
        ban_statement=ban,
        digest=_bstr(ours.get(8), DIGEST_LENGTH),
    )


def _protected_kid(protected: Any) -> bytes:
    if type(protected) is not bytes:
        raise MalformedToken("bad_protected_header")
    header = _cbor(protected, "bad_protected_header")
    if not _is_map(header):
        raise MalformedToken("bad_protected_header")
    alg = header.get(HEADER_ALG)
    if alg is not None and alg != ALG_ES256:
        raise MalformedToken("wrong_algorithm")
    kid = header.get(HEADER_KID)
    # Exactly {alg, kid}: an extra protected label (e.g. "crit") could change the meaning of
    # the signature for another reader, so nothing else is accepted.
    if (
        not _is_int(alg)
        or set(header.keys()) != {HEADER_ALG, HEADER_KID}
        or type(kid) is not bytes
        or len(kid) != KID_LENGTH
    ):
        raise MalformedToken("bad_protected_header")
    return kid


def decode_token(text: str) -> DecodedToken:
    """Parse the QR text or bare token. Raises :class:`MalformedToken` only."""
    token = extract_token(text)
    if not _DIGITS.fullmatch(token):
        raise MalformedToken("not_digits")
    try:
        raw = digits_decode(token)
    except ValueError:
        raise MalformedToken("bad_digit_groups") from None
    cose = _cbor(raw, "not_cbor")
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != COSE_SIGN1_TAG:
        raise MalformedToken("not_cose_sign1")
    parts = cose.value
    if not isinstance(parts, (list, tuple)) or len(parts) != 4:
        raise MalformedToken("not_cose_sign1")
    protected, unprotected, payload, signature = parts
    kid = _protected_kid(protected)
    # The unprotected header is not signed, so nothing is read from it; it must still be a map.
    if not _is_map(unprotected):
        raise MalformedToken("bad_unprotected_header")
    if type(payload) is not bytes:
        raise MalformedToken("bad_payload")
    if type(signature) is not bytes or len(signature) != SIGNATURE_LENGTH:
        raise MalformedToken("bad_signature_length")
    return DecodedToken(
        token=token,
        protected=protected,
        kid=kid,
        payload=payload,
        signature=signature,
        claims=_claims(payload),
    )
