"""verify_token: every outcome, the tamper and forgery cases, status handling, privacy."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from verification import (
    OUTCOMES,
    REASON_CODES,
    CertificateStatus,
    StatusUnavailable,
    TrustList,
    VerificationResult,
    verify_token,
)
from verification.result import Check


def _reasons(result: VerificationResult) -> dict[str, str]:
    return {name: check.reason for name, check in result.checks.items()}


def test_valid_token_with_status(factory, kit):
    lookup = kit.status_of("valid")
    result = verify_token(factory.token(), factory.trust_list(), lookup, now=kit.NOW)
    assert result.outcome == "valid"
    assert all(check.ok for check in result.checks.values())
    assert lookup.asked == [kit.CTI]  # status is looked up by the token's cti
    assert result.cti == kit.CTI
    assert result.kid == kit.b64url(factory.kid)
    assert result.certificate is not None
    assert result.certificate.number == "LLTP-2026-00000123"
    assert result.certificate.issued_at == "2026-11-22T09:00:00Z"
    assert result.checked_at == kit.NOW


def test_to_dict_shape(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(), kit.status_of(), now=kit.NOW)
    data = result.to_dict()
    assert set(data) == {"outcome", "checks", "certificate", "checked_at"}
    assert data["checks"] == {name: {"ok": True, "reason": "ok"}
                              for name in ("format", "signature", "issuer", "status")}
    assert data["checked_at"] == "2026-11-23T09:00:00Z"
    assert data["certificate"] == {
        "number": "LLTP-2026-00000123", "form_type": 1, "issued_at": "2026-11-22T09:00:00Z",
        "issuer": "VN-NJRC", "holder_name": "Nguyễn Văn An", "holder_birth_date": "1990-05-17",
        "masked_personal_id": "001******345", "record_statement": 0, "ban_statement": 0,
    }


def test_full_qr_url_and_bare_token_give_the_same_result(factory, kit):
    token = factory.token()
    trust = factory.trust_list()
    variants = [
        token,
        factory.url(token),
        f"  {factory.url(token)}?lang=en#top\n",
        f"http://localhost:8000/v/{token}/",
        f"ecert.example.vn/v/{token}",
    ]
    results = [verify_token(v, trust, kit.status_of(), now=kit.NOW).to_dict() for v in variants]
    assert all(r == results[0] for r in results)
    assert results[0]["outcome"] == "valid"


def test_offline_is_never_valid(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(), None, now=kit.NOW)
    assert result.outcome == "status_unavailable"
    assert _reasons(result) == {"format": "ok", "signature": "ok", "issuer": "ok",
                                "status": "not_checked"}
    assert result.certificate is not None  # the signature is genuine: the fields are the issuer's


def test_flipped_record_statement_keeps_signature_is_tampered(factory, kit):
    # Take a genuine token, change claim -70000/6 from 0 to 1 and keep the original signature.
    genuine = cbor2.loads(kit.token_bytes(factory.token()))
    protected, unprotected, payload, signature = genuine.value
    claims = cbor2.loads(payload)
    assert claims[-70000][6] == 0
    forged_claims = {k: (dict(v) if isinstance(v, dict) else v) for k, v in claims.items()}
    forged_claims[-70000][6] = 1
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected),
                                            cbor2.dumps(forged_claims, canonical=True), signature]))
    result = verify_token(kit.encode_token(forged), factory.trust_list(), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "tampered"
    assert _reasons(result)["signature"] == "signature_mismatch"
    assert result.certificate is None and result.cti is None  # an attacker's words are not shown


def test_foreign_key_under_our_kid_is_tampered(factory, kit):
    foreign = ec.generate_private_key(ec.SECP256R1())
    result = verify_token(factory.token(key=foreign, kid=factory.kid), factory.trust_list(),
                          kit.status_of(), now=kit.NOW)
    assert result.outcome == "tampered"
    assert _reasons(result)["signature"] == "signature_mismatch"


def test_unknown_kid_is_unknown_issuer(factory, kit):
    foreign = ec.generate_private_key(ec.SECP256R1())
    result = verify_token(factory.token(key=foreign, kid=b"\x01" * 8), factory.trust_list(),
                          kit.status_of(), now=kit.NOW)
    assert result.outcome == "unknown_issuer"
    assert _reasons(result)["issuer"] == "unknown_kid"
    assert result.certificate is None


def test_token_from_another_pki_is_unknown_issuer(factory, kit):
    token = kit.encode_token(kit.cose_sign1(factory.other_dsc_key, kit.kid_of(factory.other_dsc)))
    result = verify_token(token, factory.trust_list(), kit.status_of(), now=kit.NOW)
    assert result.outcome == "unknown_issuer"


def test_retired_key_still_valid(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(status="retired"),
                          kit.status_of(), now=kit.NOW)
    assert result.outcome == "valid"


def test_revoked_key_is_signer_revoked(factory, kit):
    lookup = kit.status_of("valid")
    result = verify_token(factory.token(),
                          factory.trust_list(status="revoked", revoked_at="2026-11-23T00:00:00Z"),
                          lookup, now=kit.NOW)
    assert result.outcome == "signer_revoked"
    assert _reasons(result)["issuer"] == "signer_revoked"
    assert result.checks["signature"].ok
    assert result.certificate is None and lookup.asked == []


def test_status_revoked(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(), kit.status_of("revoked"),
                          now=kit.NOW)
    assert result.outcome == "revoked"
    assert result.checks["status"] == Check(False, "revoked")
    assert result.certificate is not None  # a verifier sees which certificate was revoked


def test_status_not_found(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(), kit.status_of("not_found"),
                          now=kit.NOW)
    assert result.outcome == "not_found"
    assert result.checks["status"] == Check(False, "not_found")


@pytest.mark.parametrize("error", [StatusUnavailable("db down"), RuntimeError("bug"),
                                   TimeoutError()])
def test_status_lookup_raising_fails_closed(factory, kit, error):
    def lookup(cti: bytes) -> CertificateStatus:
        raise error

    result = verify_token(factory.token(), factory.trust_list(), lookup, now=kit.NOW)
    assert result.outcome == "status_unavailable"
    assert result.checks["status"] == Check(False, "unavailable")


def test_status_lookup_returning_junk_fails_closed(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(), lambda _cti: "valid",
                          now=kit.NOW)
    assert result.outcome == "status_unavailable"


def test_digest_from_status(factory, kit):
    trust = factory.trust_list()
    full = hashlib.sha256(b'{"schema":1}').digest()
    for digest in (full, full[:16]):
        result = verify_token(factory.token(), trust, kit.status_of("valid", digest=digest),
                              now=kit.NOW)
        assert result.outcome == "valid"
    result = verify_token(factory.token(), trust, kit.status_of("valid", digest=b"\x00" * 32),
                          now=kit.NOW)
    assert result.outcome == "tampered"
    assert result.checks["status"] == Check(False, "digest_mismatch")
    assert result.certificate is None
    short = verify_token(factory.token(), trust, kit.status_of("valid", digest=b"\x00"),
                         now=kit.NOW)
    assert short.outcome == "tampered"


def test_issued_in_future_is_malformed(factory, kit):
    claims = kit.default_claims()
    claims[6] = int((kit.NOW + timedelta(hours=1)).timestamp())
    result = verify_token(factory.token(claims), factory.trust_list(), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "malformed"
    assert _reasons(result)["format"] == "issued_in_future"
    # ...but a few minutes of clock skew are fine
    claims[6] = int((kit.NOW + timedelta(minutes=3)).timestamp())
    assert verify_token(factory.token(claims), factory.trust_list(), kit.status_of(),
                        now=kit.NOW).outcome == "valid"


def test_issued_outside_signer_validity_is_tampered(factory, kit):
    claims = kit.default_claims()
    claims[6] = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())  # before the DSC
    result = verify_token(factory.token(claims), factory.trust_list(), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "tampered"
    assert _reasons(result)["signature"] == "outside_signer_validity"


def test_expired_dsc_still_verifies_what_it_signed(factory, kit):
    later = datetime(2031, 1, 1, tzinfo=UTC)
    result = verify_token(factory.token(), factory.trust_list(status="retired"),
                          kit.status_of(), now=later)
    assert result.outcome == "valid"


def test_issuer_claim_must_match_trust_list(factory, kit):
    claims = kit.default_claims()
    claims[1] = "XX-OTHER"
    result = verify_token(factory.token(claims), factory.trust_list(), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "unknown_issuer"
    assert _reasons(result)["issuer"] == "issuer_mismatch"


def _form2_claims(kit) -> dict:
    claims = kit.default_claims({2: 2})
    for key in (4, 5, 6, 7):
        del claims[-70000][key]
    return claims


def test_form2_public_fields_are_number_form_date_and_name(factory, kit):
    result = verify_token(factory.token(_form2_claims(kit)), factory.trust_list(),
                          kit.status_of(), now=kit.NOW)
    assert result.outcome == "valid"
    shown = {k: v for k, v in result.to_dict()["certificate"].items() if v is not None}
    assert shown == {"number": "LLTP-2026-00000123", "form_type": 2,
                     "issued_at": "2026-11-22T09:00:00Z", "holder_name": "Nguyễn Văn An"}


def test_form2_token_with_the_record_is_malformed_not_shown(factory, kit):
    # Signed by our key, yet it carries what a Form 2 QR must not: refused, nothing shown.
    claims = kit.default_claims({2: 2, 6: 1, 7: 2})
    result = verify_token(factory.token(claims), factory.trust_list(), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "malformed"
    assert _reasons(result)["format"] == "bad_claims"
    assert result.certificate is None and result.cti is None


@pytest.mark.parametrize("key", [4, 5, 6, 7])
def test_form1_token_without_its_claims_is_malformed(factory, kit, key):
    claims = kit.default_claims()
    del claims[-70000][key]
    result = verify_token(factory.token(claims), factory.trust_list(), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "malformed"
    assert _reasons(result)["format"] == "bad_claims"


def test_form1_shows_statements(factory, kit):
    claims = kit.default_claims({6: 1, 7: 2})
    cert = verify_token(factory.token(claims), factory.trust_list(), kit.status_of(),
                        now=kit.NOW).certificate
    assert cert is not None and cert.record_statement == 1 and cert.ban_statement == 2


def test_every_outcome_is_reachable(factory, kit):
    trust = factory.trust_list()
    seen = {
        verify_token(factory.token(), trust, kit.status_of("valid"), now=kit.NOW).outcome,
        verify_token(factory.token(), trust, kit.status_of("revoked"), now=kit.NOW).outcome,
        verify_token(factory.token(), trust, kit.status_of("not_found"), now=kit.NOW).outcome,
        verify_token(factory.token(), trust, None, now=kit.NOW).outcome,
        verify_token(factory.token(key=ec.generate_private_key(ec.SECP256R1())), trust,
                     None, now=kit.NOW).outcome,
        verify_token(factory.token(kid=b"\x02" * 8), trust, None, now=kit.NOW).outcome,
        verify_token(factory.token(), factory.trust_list(status="revoked"), None,
                     now=kit.NOW).outcome,
        verify_token("junk!", trust, None, now=kit.NOW).outcome,
    }
    assert seen == set(OUTCOMES)


def test_results_are_frozen_and_valid_requires_all_checks(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(), kit.status_of(), now=kit.NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcome = "revoked"  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.checks["status"] = Check(False, "x")  # type: ignore[index]
    with pytest.raises(ValueError):
        VerificationResult("valid", {"format": Check(True, "ok")})


def test_all_reason_codes_used_are_declared(factory, kit):
    # A sample of results across the module; every reason they carry must be in REASON_CODES.
    trust = factory.trust_list()
    samples = [
        verify_token(t, trust, kit.status_of(s), now=kit.NOW)
        for t in (factory.token(), "", "a" * 5000, "%%%", factory.token(kid=b"\x03" * 8))
        for s in ("valid", "revoked", "not_found")
    ]
    for result in samples:
        for check in result.checks.values():
            assert check.reason in REASON_CODES


def test_trust_list_with_problem_entry_gives_unknown_issuer(factory, kit):
    data = factory.trust_dict()
    data["keys"][0]["x"] = data["keys"][0]["y"]  # JWK no longer the DSC's key (or on the curve)
    result = verify_token(factory.token(), TrustList.from_json(data), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "unknown_issuer"
    assert result.checks["issuer"].reason in ("key_mismatch", "bad_key_entry")


def test_naive_now_is_utc(factory, kit):
    result = verify_token(factory.token(), factory.trust_list(), kit.status_of(),
                          now=kit.NOW.replace(tzinfo=None))
    assert result.outcome == "valid" and result.checked_at == kit.NOW
