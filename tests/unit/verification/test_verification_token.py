"""The token decoder against bad input: each case is malformed, with its reason, and fast."""

from __future__ import annotations

import time
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verification import (
    OUTCOMES,
    MalformedToken,
    decode_token,
    extract_token,
    verify_token,
)
from verification.token import MAX_INPUT_CHARS, digits_decode


def _verify(factory, kit, text: Any):
    return verify_token(text, factory.trust_list(), kit.status_of(), now=kit.NOW)


def _malformed(factory, kit, text: Any, reason: str) -> None:
    started = time.perf_counter()
    result = _verify(factory, kit, text)
    elapsed = time.perf_counter() - started
    assert result.outcome == "malformed", result
    assert result.checks["format"].reason == reason
    assert not any(check.ok for check in result.checks.values())
    assert result.certificate is None
    assert elapsed < 0.5, f"{reason} took {elapsed:.3f}s"


def _wrap(kit, cose_obj: Any) -> str:
    """Any CBOR object as a token (its bytes in the decimal spelling), valid or not."""
    return kit.encode_token(cbor2.dumps(cose_obj))


def _sign1(kit, factory, protected: Any = None, unprotected: Any = None, payload: Any = None,
           signature: Any = None) -> str:
    good = cbor2.loads(kit.token_bytes(factory.token()))
    p, u, pl, sig = good.value
    return _wrap(kit, cbor2.CBORTag(18, [
        p if protected is None else protected,
        dict(u) if unprotected is None else unprotected,
        pl if payload is None else payload,
        sig if signature is None else signature,
    ]))


def test_decode_token_parts(factory, kit):
    decoded = decode_token(factory.url(factory.token()))
    assert decoded.kid == factory.kid
    assert decoded.claims.cti == kit.CTI
    assert decoded.claims.holder_name == "Nguyễn Văn An"
    assert len(decoded.signature) == 64


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "https://ecert.example.vn/"])
def test_empty(factory, kit, text):
    _malformed(factory, kit, text, "empty")


def test_url_without_token(factory, kit):
    assert _verify(factory, kit, "https://ecert.example.vn/v/").outcome == "malformed"


def test_non_string_input(factory, kit):
    for junk in (None, b"bytes", 42):
        assert _verify(factory, kit, junk).outcome == "malformed"


def test_huge_input_is_refused_before_any_work(factory, kit):
    _malformed(factory, kit, "A" * 100_000, "too_long")
    _malformed(factory, kit, "https://x/v/" + "A" * MAX_INPUT_CHARS, "too_long")


@pytest.mark.parametrize("text", ["abc$def", "ab cd", "1234 5678", "12345abc", "äöü", "%41%42%43",
                                  "１２３", "٣٣٣", "+123", "-123", "1_000", "ftp://host/v/123"])
def test_not_digits(factory, kit, text):
    _malformed(factory, kit, text, "not_digits")


def test_digit_groups_follow_the_design(kit):
    # DESIGN §6: 7-byte groups of 17 digits; a last group of k bytes as 3, 5, 8, 10, 13, 15 digits.
    assert [len(kit.encode_token(bytes(k))) for k in range(1, 9)] == [3, 5, 8, 10, 13, 15, 17, 20]
    assert kit.encode_token(b"\xff" * 8) == "72057594037927935" + "255"
    for size in range(1, 40):
        data = bytes(range(200, 200 + size))
        assert digits_decode(kit.encode_token(data)) == data


@pytest.mark.parametrize("length", [1, 2, 4, 6, 7, 9, 11, 12, 14, 16, 18, 17 + 16])
def test_a_length_that_no_group_sizes_give_is_refused(factory, kit, length):
    _malformed(factory, kit, "1" * length, "bad_digit_groups")


@pytest.mark.parametrize("text", ["256", "99999", "65536", "16777216", "4294967296", "1099511627776",
                                  "281474976710656", "72057594037927936", "99999999999999999",
                                  "00000000000000000" + "256"])
def test_a_group_larger_than_its_bytes_is_refused(factory, kit, text):
    # 3 digits hold up to 999 but one byte only 255: "256" is not a spelling of any byte.
    _malformed(factory, kit, text, "bad_digit_groups")
    with pytest.raises(ValueError):
        digits_decode(text)


def test_the_largest_value_of_each_group_is_a_byte_string(kit):
    for size in range(1, 8):
        top = kit.encode_token(b"\xff" * size)
        assert digits_decode(top) == b"\xff" * size


def test_every_single_digit_change_is_refused(factory, kit, our_token):
    # One certificate, one spelling: no other digit string decodes to the same bytes, and a
    # changed digit changes the signed bytes (tampered), breaks a group (malformed) or the key id.
    trust = factory.trust_list()
    original = kit.token_bytes(our_token)
    for at, char in enumerate(our_token):
        changed = our_token[:at] + str((int(char) + 1) % 10) + our_token[at + 1:]
        try:
            assert digits_decode(changed) != original
        except ValueError:
            pass
        result = verify_token(changed, trust, kit.status_of(), now=kit.NOW)
        assert result.outcome in ("malformed", "tampered", "unknown_issuer"), (at, result)


def test_a_digit_more_or_less_is_refused(factory, kit, our_token):
    for changed in (our_token[:-1], our_token + "0", "0" + our_token, our_token[1:]):
        result = _verify(factory, kit, changed)
        assert result.outcome == "malformed", result


@pytest.mark.parametrize("raw", [b"\x1c", b"\xff", b"\x9f\x01\xff", b"\x5f\x41a\xff",
                                 b"\x83\x01\x02", b"\x01\x02"])
def test_not_cbor(factory, kit, raw):
    # reserved, stray break, indefinite lengths (refused), truncated array, trailing item
    _malformed(factory, kit, kit.encode_token(raw), "not_cbor")


def test_deeply_nested_cbor(factory, kit):
    # As deep as the input cap allows (~840 bytes of COSE): refused by the depth cap, quickly.
    _malformed(factory, kit, kit.encode_token(b"\x81" * 800 + b"\x00"), "not_cbor")
    _malformed(factory, kit, kit.encode_token(b"\xd2\x84" + b"\x81" * 780 + b"\x00"), "not_cbor")


@pytest.mark.parametrize("item", [
    cbor2.CBORTag(4, [2**62, 1]),  # decimal fraction with an absurd exponent
    cbor2.CBORTag(35, "(a+)+$"),  # regex
    cbor2.CBORTag(258, [1, 2]),  # set
    cbor2.CBORTag(28, [1]),  # shared reference
    cbor2.CBORTag(0, "2026-01-01T00:00:00Z"),
    cbor2.CBORTag(1, 1e300),
    cbor2.CBORTag(2, b"\x01" * 100),
    cbor2.CBORTag(18, [cbor2.CBORTag(36, "Content-Type: text/plain\n\nhi"), {}, b"", b""]),
])
def test_semantic_tags_are_refused(factory, kit, item):
    _malformed(factory, kit, _wrap(kit, item), "not_cbor")


@pytest.mark.parametrize("item", [
    1, "text", b"bytes", [], {}, None,
    cbor2.CBORTag(17, [b"", {}, b"", b""]),  # COSE_Mac0
    cbor2.CBORTag(98, [b"", {}, b"", []]),  # COSE_Sign (multi-signer)
    cbor2.CBORTag(18, [b"", {}, b""]),
    cbor2.CBORTag(18, [b"", {}, b"", b"", b""]),
    cbor2.CBORTag(18, {}),
    [b"", {}, b"", b""],  # untagged
])
def test_not_cose_sign1(factory, kit, item):
    _malformed(factory, kit, _wrap(kit, item), "not_cose_sign1")


def test_wrong_algorithm(factory, kit):
    es384 = kit.encode_token(kit.cose_sign1(factory.dsc_key, factory.kid,
                                            protected={1: -35, 4: factory.kid}))
    _malformed(factory, kit, es384, "wrong_algorithm")
    hs256 = _sign1(kit, factory, protected=cbor2.dumps({1: 5, 4: factory.kid}))
    _malformed(factory, kit, hs256, "wrong_algorithm")
    text_alg = _sign1(kit, factory, protected=cbor2.dumps({1: "ES256", 4: factory.kid}))
    _malformed(factory, kit, text_alg, "wrong_algorithm")


def test_der_signature_is_bad_signature_length(factory, kit):
    der = factory.token(der=True)
    _malformed(factory, kit, der, "bad_signature_length")
    _malformed(factory, kit, _sign1(kit, factory, signature=b"\x01" * 63), "bad_signature_length")
    _malformed(factory, kit, _sign1(kit, factory, signature="x" * 64), "bad_signature_length")


@pytest.mark.parametrize("protected", [
    {1: -7},
    {4: b"\x00" * 8},
    {1: -7, 4: b"\x00" * 7},
    {1: -7, 4: "kid-text"},
    {1: -7, 4: b"\x00" * 8, 2: [1]},  # "crit" or anything else: refused
    [1, -7],
])
def test_bad_protected_header(factory, kit, protected):
    _malformed(factory, kit, _sign1(kit, factory, protected=cbor2.dumps(protected)),
               "bad_protected_header")


def test_protected_header_must_be_bytes_and_without_duplicates(factory, kit):
    _malformed(factory, kit, _sign1(kit, factory, protected={1: -7}), "bad_protected_header")
    duplicate = b"\xa3\x01\x26\x04\x48" + b"\x00" * 8 + b"\x01\x26"
    _malformed(factory, kit, _sign1(kit, factory, protected=duplicate), "bad_protected_header")


def test_bad_unprotected_header(factory, kit):
    _malformed(factory, kit, _sign1(kit, factory, unprotected=[]), "bad_unprotected_header")


@pytest.mark.parametrize("payload", ["text", cbor2.dumps([1, 2]), b"\xff", cbor2.dumps(1) + b"x"])
def test_bad_payload(factory, kit, payload):
    _malformed(factory, kit, _sign1(kit, factory, payload=payload), "bad_payload")


def _claims_with(kit, path: tuple, value: Any) -> dict:
    claims = kit.default_claims()
    target = claims
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return claims


@pytest.mark.parametrize("path,value", [
    ((1,), KeyError), ((1,), 7), ((1,), ""),
    ((6,), KeyError), ((6,), True), ((6,), -1), ((6,), "2026"), ((6,), 2**63),
    ((7,), KeyError), ((7,), b"\x00" * 15), ((7,), "0" * 16),
    ((-70000,), KeyError), ((-70000,), [1]),
    ((-70000, 1), KeyError), ((-70000, 1), 123),
    ((-70000, 2), 3), ((-70000, 2), True), ((-70000, 2), "1"),
    ((-70000, 3), ""), ((-70000, 3), b"name"),
    ((-70000, 4), "17/05/1990"), ((-70000, 4), "1990-02-30"), ((-70000, 4), "19900517"),
    ((-70000, 5), KeyError), ((-70000, 5), 1),
    ((-70000, 6), 2), ((-70000, 6), False),
    ((-70000, 7), 3), ((-70000, 7), None),
    ((-70000, 8), b"\x00" * 32), ((-70000, 8), KeyError),
])
def test_bad_claims(factory, kit, path, value):
    token = factory.token(_claims_with(kit, path, value))
    _malformed(factory, kit, token, "bad_claims")


def _form2_claims(kit) -> dict:
    """A Form 2 token's claims as DESIGN §6 fixes them: -70000 keys 1, 2, 3 and 8 only."""
    claims = kit.default_claims({2: 2})
    for key in (4, 5, 6, 7):
        del claims[-70000][key]
    return claims


def test_form2_token_without_private_claims_decodes(factory, kit):
    decoded = decode_token(factory.token(_form2_claims(kit)))
    claims = decoded.claims
    assert (claims.number, claims.form_type, claims.holder_name) == ("LLTP-2026-00000123", 2, "Nguyễn Văn An")
    assert claims.digest == kit.DIGEST
    assert (claims.holder_birth_date, claims.masked_personal_id, claims.record_statement,
            claims.ban_statement) == (None, None, None, None)


@pytest.mark.parametrize("key,value", [(4, "1990-05-17"), (5, "001******345"), (6, 0), (7, 1),
                                       (4, None), (6, None)])
def test_form2_token_carrying_a_private_claim_is_malformed(factory, kit, key, value):
    # The QR is public: an issuer (or a forger with our key) must not put the record in it,
    # and a verifier must not show it. A null counts as carrying the key.
    claims = _form2_claims(kit)
    claims[-70000][key] = value
    _malformed(factory, kit, factory.token(claims), "bad_claims")


def test_form2_token_in_the_old_layout_is_malformed(factory, kit):
    # Before the fix a Form 2 token carried birth date, masked ID and statements.
    _malformed(factory, kit, factory.token(kit.default_claims({2: 2})), "bad_claims")


@pytest.mark.parametrize("key", [4, 5, 6, 7])
def test_form1_token_without_its_claims_is_malformed(factory, kit, key):
    _malformed(factory, kit, factory.token(_claims_with(kit, (-70000, key), KeyError)), "bad_claims")


def test_bignum_claim_is_refused_as_a_tag(factory, kit):
    _malformed(factory, kit, factory.token(_claims_with(kit, (6,), 2**70)), "bad_payload")


def test_extra_claims_are_tolerated(factory, kit):
    claims = kit.default_claims({9: "future field"})
    claims[4] = 2_000_000_000  # exp, say
    assert _verify(factory, kit, factory.token(claims)).outcome == "valid"


def test_extract_token_variants():
    assert extract_token("https://h/v/abc?x=1#y") == "abc"
    assert extract_token(" HTTPS://h/v/abc/ ") == "abc"
    assert extract_token("abc") == "abc"
    assert extract_token("h/v/abc#frag") == "abc"
    with pytest.raises(MalformedToken) as info:
        extract_token("mailto://x")
    assert info.value.reason in ("empty", "not_digits")


# -- fuzzing: whatever comes in, a verdict comes out ------------------------------------------

_FUZZ = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_cbor_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**64) + 1, max_value=2**64 - 1),
    st.binary(max_size=80), st.text(max_size=40), st.floats(allow_nan=False),
)
_cbor_values = st.recursive(
    _cbor_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.integers(-70001, 10), st.text(max_size=5)), children,
                        max_size=5),
        st.builds(cbor2.CBORTag, st.sampled_from([18, 17, 61, 98, 1000]), children),
    ),
    max_leaves=30,
)


@_FUZZ
@given(text=st.text(max_size=3000))
def test_fuzz_arbitrary_text(factory, kit, text):
    result = _verify(factory, kit, text)
    assert result.outcome in OUTCOMES and result.outcome != "valid"


@_FUZZ
@given(data=st.binary(max_size=800))
def test_fuzz_arbitrary_bytes_as_digits(factory, kit, data):
    result = _verify(factory, kit, kit.encode_token(data))
    assert result.outcome == "malformed"


@_FUZZ
@given(text=st.text(alphabet="0123456789", max_size=2000))
def test_fuzz_arbitrary_digits(factory, kit, text):
    result = _verify(factory, kit, text)
    assert result.outcome in OUTCOMES and result.outcome != "valid"


@_FUZZ
@given(value=_cbor_values)
def test_fuzz_arbitrary_cbor(factory, kit, value):
    result = _verify(factory, kit, _wrap(kit, value))
    assert result.outcome == "malformed"


@_FUZZ
@given(protected=_cbor_values, unprotected=_cbor_values, payload=_cbor_values,
       signature=st.binary(min_size=60, max_size=70), wrap_protected=st.booleans(),
       wrap_payload=st.booleans())
def test_fuzz_cose_shaped(factory, kit, protected, unprotected, payload, signature,
                          wrap_protected, wrap_payload):
    item = cbor2.CBORTag(18, [
        cbor2.dumps(protected) if wrap_protected else protected,
        unprotected,
        cbor2.dumps(payload) if wrap_payload else payload,
        signature,
    ])
    result = _verify(factory, kit, _wrap(kit, item))
    assert result.outcome in ("malformed", "unknown_issuer")


@_FUZZ
@given(ours=st.dictionaries(st.integers(1, 9), _cbor_leaf, max_size=9),
       iat=st.one_of(st.integers(), _cbor_leaf))
def test_fuzz_claims_signed_with_our_key(factory, kit, ours, iat):
    # Correctly signed by our DSC but with arbitrary claim values: never a crash, and never
    # valid unless the claims are exactly well-typed.
    claims = kit.default_claims(ours)
    claims[6] = iat
    try:
        payload = cbor2.dumps(claims)
    except Exception:  # noqa: BLE001 - hypothesis made a value cbor2 cannot encode: nothing to test
        return
    token = kit.encode_token(kit.cose_sign1(factory.dsc_key, factory.kid, payload=payload))
    result = _verify(factory, kit, token)
    assert result.outcome in OUTCOMES
