"""The QR token, checked by a second verifier written from DESIGN §6 alone.

``minimal_verify`` below deliberately imports nothing from signing/: if the
issuer and this verifier agree, the format is what the design says, not
merely what signing/ happens to do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from signing import (
    FileSigner,
    TokenClaims,
    create_dev_pki,
    decode_claims,
    encode_claims,
    kid_for,
    load_certificate,
    load_private_key,
    mask_personal_id,
    qr_text,
    qr_version,
    rotate_document_signer,
    sign_token,
)
from signing.cose import token_claims

_DIGITS = re.compile(r"^[0-9]+$")
# DESIGN §6: the digits of a final group of k bytes; a full group (7 bytes) has 17.
_TAIL_DIGITS_TO_BYTES = {0: 0, 3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6}


class Rejected(Exception):
    pass


def _digits_decode_strict(text: str) -> bytes:
    # Strict: ASCII digits, whole groups, and every group's value within its bytes. Without the
    # last check "256" would be read as some byte, and one token would have several spellings.
    if not _DIGITS.match(text):
        raise Rejected("not decimal digits")
    full, rest = divmod(len(text), 17)
    if rest not in _TAIL_DIGITS_TO_BYTES:
        raise Rejected("not whole digit groups")
    sizes = [7] * full + ([_TAIL_DIGITS_TO_BYTES[rest]] if rest else [])
    out, at = b"", 0
    for size in sizes:
        width = 17 if size == 7 else rest
        value = int(text[at : at + width])
        if value >= 256**size:
            raise Rejected("a digit group does not fit its bytes")
        out += value.to_bytes(size, "big")
        at += width
    return out


def _digits(data: bytes) -> str:
    widths = {1: 3, 2: 5, 3: 8, 4: 10, 5: 13, 6: 15, 7: 17}
    return "".join(
        str(int.from_bytes(data[i : i + 7], "big")).zfill(widths[len(data[i : i + 7])]) for i in range(0, len(data), 7)
    )


def minimal_verify(token: str, keys: dict[bytes, x509.Certificate]) -> dict:
    """Verify a token per DESIGN §6 and return the decoded claims map; raise on any failure."""
    cose = _digits_decode_strict(token)
    try:
        obj = cbor2.loads(cose, allow_duplicate_keys=False)
    except Exception as exc:  # noqa: BLE001 - a verifier rejects whatever cbor2 trips on
        raise Rejected(f"cbor: {exc}") from None
    if not isinstance(obj, cbor2.CBORTag) or obj.tag != 18:
        raise Rejected("not COSE_Sign1 (tag 18)")
    # cbor2 decodes the content of a tag immutably (tuple / frozendict)
    if not isinstance(obj.value, (list, tuple)) or len(obj.value) != 4:
        raise Rejected("COSE_Sign1 must be a 4-array")
    protected, unprotected, payload, signature = obj.value
    if not all(isinstance(v, bytes) for v in (protected, payload, signature)):
        raise Rejected("protected, payload, signature must be byte strings")
    if not isinstance(unprotected, Mapping) or len(unprotected) != 0:
        raise Rejected("unexpected unprotected header")
    try:
        header = cbor2.loads(protected, allow_duplicate_keys=False)
    except Exception as exc:  # noqa: BLE001 - a verifier rejects whatever cbor2 trips on
        raise Rejected(f"protected header: {exc}") from None
    if not isinstance(header, dict) or header.get(1) != -7 or set(header) != {1, 4}:
        raise Rejected("protected header must be {1: -7, 4: kid}")
    kid = header[4]
    if kid not in keys:
        raise Rejected("unknown kid")
    if len(signature) != 64:
        raise Rejected("signature must be 64 bytes r||s")
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public_key = keys[kid].public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    try:
        public_key.verify(der, sig_structure, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Rejected("bad signature") from None
    claims = cbor2.loads(payload, allow_duplicate_keys=False)
    if not isinstance(claims, dict) or not isinstance(claims.get(-70000), dict):
        raise Rejected("claims")
    return claims


# ---------------------------------------------------------------- tests


def test_token_verifies_with_independent_verifier(issued, signer):
    item = issued["form2_expunged_ban"]
    claims = minimal_verify(item.token, {signer.kid: signer.certificate})
    assert claims[1] == "VN-NJRC"
    assert claims[6] == item.claims.issued_at
    assert claims[7] == item.claims.cti and len(claims[7]) == 16
    ours = claims[-70000]
    # A Form 2 token is public: it carries the number, form, name and digest, nothing of the
    # record (DESIGN §6), even though this holder has an expunged conviction and a ban.
    assert ours == {
        1: "LLTP-2026-00000123",
        2: 2,
        3: "Nguyễn Văn An",
        8: item.claims.digest,
    }
    # claim 8 is the digest of the canonical content bytes
    import hashlib

    assert ours[8] == hashlib.sha256(item.canonical).digest()[:16]


def test_token_structure_matches_design(signer, claims_for, contents):
    claims = claims_for(contents["form1_clean"])
    token = sign_token(claims, signer)
    cose = _digits_decode_strict(token)
    assert _digits(cose) == token  # one spelling
    tag = cbor2.loads(cose)
    assert tag.tag == 18
    protected, unprotected, payload, signature = tag.value
    assert protected == cbor2.dumps({1: -7, 4: signer.kid})
    assert unprotected == {}
    assert payload == encode_claims(claims)
    assert len(signature) == 64
    assert _DIGITS.match(token)
    assert signer.kid == kid_for(signer.certificate) and len(signer.kid) == 8


def test_every_flipped_byte_of_cose_is_rejected(issued, signer):
    token = issued["form1_clean"].token
    keys = {signer.kid: signer.certificate}
    raw = _digits_decode_strict(token)
    minimal_verify(token, keys)  # sanity: the original passes
    for i in range(len(raw)):
        tampered = bytearray(raw)
        tampered[i] ^= 0xFF
        with pytest.raises(Rejected):
            minimal_verify(_digits(bytes(tampered)), keys)


def test_every_changed_digit_is_rejected(issued, signer):
    token = issued["form1_convicted"].token
    keys = {signer.kid: signer.certificate}
    for i in range(len(token)):
        changed = token[:i] + str((int(token[i]) + 5) % 10) + token[i + 1 :]
        with pytest.raises(Rejected):
            minimal_verify(changed, keys)


def test_token_from_another_key_is_rejected(signer, other_signer, claims_for, contents):
    token = sign_token(claims_for(contents["form1_clean"]), other_signer)
    with pytest.raises(Rejected, match="unknown kid"):
        minimal_verify(token, {signer.kid: signer.certificate})
    # and same kid slot but wrong key: signature check fails
    with pytest.raises(Rejected, match="bad signature"):
        minimal_verify(token, {other_signer.kid: signer.certificate})


def test_claims_round_trip_and_nfc(claims_for, contents):
    claims = claims_for(contents["form1_clean"])
    assert decode_claims(encode_claims(claims)) == claims
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ngọc Ánh")
    c2 = TokenClaims(**{**claims.__dict__, "holder_name": decomposed})
    assert c2.holder_name == unicodedata.normalize("NFC", decomposed)
    assert encode_claims(c2) == encode_claims(
        TokenClaims(**{**claims.__dict__, "holder_name": "Nguyễn Thị Ngọc Ánh"})
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("cti", b"short"),
        ("digest", b"\x00" * 15),
        ("form_type", 3),
        ("record_statement", 2),
        ("ban_statement", 3),
        ("holder_birth_date", "17/05/1990"),
        ("issued_at", -1),
        ("number", ""),
    ],
)
def test_invalid_claims_refused(claims_for, contents, field, value):
    base = claims_for(contents["form1_clean"]).__dict__
    with pytest.raises(ValueError):
        TokenClaims(**{**base, field: value})


def test_mask_personal_id():
    assert mask_personal_id("001090012345") == "001******345"
    for bad in ("00109001234", "0010900123456", "00109001234x", ""):
        with pytest.raises(ValueError):
            mask_personal_id(bad)


def test_qr_text():
    assert qr_text("https://ecert.example.gov.vn/", "abc") == "https://ecert.example.gov.vn/v/abc"
    assert qr_text("https://ecert.example.gov.vn", "abc") == "https://ecert.example.gov.vn/v/abc"


_LONG_NAME = ("Nguyễn Hoàng Phượng Thị Ngọc Diễm Hương Quỳnh Anh Lê Trần Đặng " * 2)[:100]


@pytest.mark.parametrize(
    "form,name,version",
    [
        # A typical name: version 11 (61x61 modules), against 13 for base64url + zlib in byte mode.
        (1, "Nguyễn Văn Minh", 11),
        (2, "Nguyễn Văn Minh", 11),
        # 30 characters with diacritics (39 UTF-8 bytes): one version more on a Form 1, whose
        # token also carries the birth date, masked ID and statements (docs/signing.md, "QR size").
        (1, "Nguyễn Thị Phương Thảo Hoàng A", 12),
        (2, "Nguyễn Thị Phương Thảo Hoàng A", 11),
        # 100 characters, signed whole (never cut, never transliterated): version <= 15.
        (1, _LONG_NAME, 15),
        (2, _LONG_NAME, 15),
    ],
)
def test_qr_version_for_realistic_claims(signer, claims_for, contents, form, name, version):
    """DESIGN §6, error correction M, base URL https://ecert.example.gov.vn (28 characters)."""
    content = contents["form1_clean" if form == 1 else "form2_expunged_ban"]
    claims = TokenClaims(**{**claims_for(content).__dict__, "holder_name": name})
    text = qr_text("https://ecert.example.gov.vn", sign_token(claims, signer))
    assert qr_version(text) <= version, (name, qr_version(text))
    # the name is in the token whole, as given (NFC), never cut nor transliterated
    assert minimal_verify(text.rsplit("/", 1)[1], {signer.kid: signer.certificate})[-70000][3] == name


def test_signature_is_fresh_per_token_but_always_verifies(signer, claims_for, contents):
    claims = claims_for(contents["form1_clean"])
    keys = {signer.kid: signer.certificate}
    tokens = {sign_token(claims, signer) for _ in range(5)}
    # ECDSA is randomised: different tokens, all valid
    assert len(tokens) == 5
    for t in tokens:
        minimal_verify(t, keys)


def test_rotation_keeps_old_tokens_verifiable(tmp_path: Path, claims_for, contents):
    pki = create_dev_pki(tmp_path, "VN-NJRC", "Trung tâm Lý lịch tư pháp quốc gia")
    old = FileSigner.from_files(pki.dsc_key_path, pki.dsc_cert_path, pki.root_cert_path)
    claims = claims_for(contents["form1_clean"])
    old_token = sign_token(claims, old)

    root_key = load_private_key(pki.root_key_path)
    root_cert = load_certificate(pki.root_cert_path)
    new_files = rotate_document_signer(tmp_path, root_key, root_cert)
    assert new_files.kid != old.kid
    assert new_files.kid == kid_for(load_certificate(new_files.cert_path))
    assert pki.dsc_key_path.exists() and pki.dsc_cert_path.exists()  # old pair kept
    new = FileSigner.from_files(new_files.key_path, new_files.cert_path, pki.root_cert_path)

    keys = {old.kid: old.certificate, new.kid: new.certificate}
    assert minimal_verify(old_token, keys)[-70000][1] == claims.number
    assert minimal_verify(sign_token(claims, new), keys)[-70000][1] == claims.number
    with pytest.raises(Rejected):
        minimal_verify(old_token, {old.kid: new.certificate})  # new key cannot pass as old


# ---------------------------------------------------------------- what a token carries, by form

_PRIVATE = ("holder_birth_date", "masked_personal_id", "record_statement", "ban_statement")
_PRIVATE_VALUES = {"holder_birth_date": "1990-05-17", "masked_personal_id": "001******345",
                   "record_statement": 0, "ban_statement": 1}


def test_form1_token_carries_every_public_claim(issued, signer):
    item = issued["form1_convicted"]
    ours = minimal_verify(item.token, {signer.kid: signer.certificate})[-70000]
    assert set(ours) == {1, 2, 3, 4, 5, 6, 7, 8}
    assert ours[2] == 1 and ours[4] == "1990-05-17" and ours[5] == "001******345" and ours[6] == 1


def test_token_claims_from_content_by_form(contents):
    one = token_claims(contents["form1_convicted"], issued_at=1_790_000_000, cti=b"\x01" * 16)
    assert (one.form_type, one.holder_birth_date, one.masked_personal_id) == (1, "1990-05-17", "001******345")
    assert (one.record_statement, one.ban_statement) == (1, 0)
    two = token_claims(contents["form2_expunged_ban"], issued_at=1_790_000_000, cti=b"\x01" * 16)
    assert two.form_type == 2
    assert all(getattr(two, name) is None for name in _PRIVATE)
    assert set(cbor2.loads(encode_claims(two))[-70000]) == {1, 2, 3, 8}


@pytest.mark.parametrize("field", _PRIVATE)
def test_form2_claims_with_a_private_field_are_refused(claims_for, contents, field):
    base = claims_for(contents["form2_expunged_ban"]).__dict__
    with pytest.raises(ValueError, match="Form 2"):
        TokenClaims(**{**base, field: _PRIVATE_VALUES[field]})


@pytest.mark.parametrize("field", _PRIVATE)
def test_form1_claims_without_a_public_field_are_refused(claims_for, contents, field):
    base = claims_for(contents["form1_clean"]).__dict__
    with pytest.raises(ValueError):
        TokenClaims(**{**base, field: None})


def test_form2_claims_round_trip(claims_for, contents):
    claims = claims_for(contents["form2_expunged_ban"])
    assert decode_claims(encode_claims(claims)) == claims


@pytest.mark.parametrize("key,value", [(4, "1990-05-17"), (5, "001******345"), (6, 0), (7, 1)])
def test_decode_refuses_form2_payload_with_private_claims(claims_for, contents, key, value):
    payload = cbor2.loads(encode_claims(claims_for(contents["form2_expunged_ban"])))
    payload[-70000][key] = value
    with pytest.raises(ValueError):
        decode_claims(cbor2.dumps(payload, canonical=True))


@pytest.mark.parametrize("key", [4, 5, 6, 7])
def test_decode_refuses_form1_payload_without_its_claims(claims_for, contents, key):
    payload = cbor2.loads(encode_claims(claims_for(contents["form1_clean"])))
    del payload[-70000][key]
    with pytest.raises(ValueError):
        decode_claims(cbor2.dumps(payload, canonical=True))
