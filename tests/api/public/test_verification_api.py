"""POST /api/v1/verifications and /verifications/pdf: every outcome, bad input, privacy, events.

Also home of the helpers the page tests import (issuing certificates of each kind, forging and
tampering tokens): ``from tests.api.public.test_verification_api import ...``.
"""
from __future__ import annotations

import io
import json
import os
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import inspect, select
from sqlalchemy.exc import OperationalError

from ecert.db import utcnow
from ecert.models import Certificate, CertificateRequest, SigningKey, VerificationEvent
from ecert.services import verification as verification_service
from ecert.services.audit import Actor
from ecert.services.issuance import issue_certificate
from ecert.wiring import resources_of
from signing.cose import digits_of
from tests.support import form1_payload, form2_payload, history_since_14
from verification.token import digits_decode

VERIFY = "/api/v1/verifications"
VERIFY_PDF = "/api/v1/verifications/pdf"

AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
BINH = {"pid": "079185001234", "name": "Trần Thị Bình", "birthdate": "1985-11-02", "gender": "female"}
CUONG = {"pid": "048088004321", "name": "Lê Văn Cường", "birthdate": "1988-01-23", "gender": "male"}

# What must never reach a verifier: CUONG's conviction (court, offence, judgment, penalty) and
# the family names a Form 2 carries (tests.support.form2_payload).
CUONG_CONVICTION = ("Hải Châu", "Lừa đảo chiếm đoạt tài sản", "112/2022/HS-ST", "Phạt tù 24 tháng", "174")
FORM2_FAMILY = ("Nguyễn Văn Bình", "Trần Thị Cúc")
TEST_ACTOR = Actor("cli", "cli:test")


# --- issuing what the tests verify ----------------------------------------------------------------


def issue(app: Any, client: Any, auth: Any, person: dict[str, str], payload: dict[str, Any] | None = None) -> dict:
    """Submit a request for ``person`` and make sure it ends issued (by the automatic path, or by
    issuing directly through the service when it waits for staff). Returns the citizen's view of
    the certificate (number, verification_code, qr_text, id...)."""
    headers = auth(**person)
    payload = payload or form1_payload(residence_history=history_since_14(person["birthdate"]))
    body = client.post("/api/v1/requests", json=payload, headers=headers).get_json()
    assert "id" in body, body
    if body["status"] != "issued":
        assert body["status"] == "needs_review", body
        keystore = resources_of(app).keystore
        settings = resources_of(app).settings
        with resources_of(app).sessionmaker() as session:
            request = session.get(CertificateRequest, body["id"])
            now = utcnow()
            cert = issue_certificate(session, request, signer=keystore.signer_for_issuance(session, now),
                                     settings=settings, actor=TEST_ACTOR, now=now)
            cert_id = cert.id
            session.commit()
    else:
        cert_id = body["certificate_id"]
    cert = client.get(f"/api/v1/certificates/{cert_id}", headers=headers).get_json()
    cert["headers"] = headers
    return cert


def token_of(cert: dict) -> str:
    return cert["qr_text"].rsplit("/", 1)[1]


def revoke_in_db(app: Any, cert_id: str, reason: str = "issued_in_error") -> None:
    """Revoke as the staff service would (status, time, reason), committed."""
    with resources_of(app).sessionmaker() as session:
        cert = session.get(Certificate, cert_id)
        cert.status = "revoked"
        cert.revoked_at = utcnow()
        cert.revocation_reason = reason
        session.commit()


def keys_cli(app: Any, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["ecert", "keys", *args])
    assert result.exit_code == 0, result.output
    return result.output


def active_kid(app: Any) -> str:
    with resources_of(app).sessionmaker() as session:
        return session.execute(select(SigningKey.kid).where(SigningKey.status == "active")).scalar_one()


# --- forging ---------------------------------------------------------------------------------------


def cose_parts(token: str) -> list:
    tag = cbor2.loads(digits_decode(token))
    assert tag.tag == 18
    return list(tag.value)


def encode(parts: list) -> str:
    return digits_of(cbor2.dumps(cbor2.CBORTag(18, parts)))


def tamper_record_statement(token: str) -> str:
    """Flip the record statement 0 -> 1, keeping the original signature."""
    protected, unprotected, payload, signature = cose_parts(token)
    claims = cbor2.loads(payload)
    assert claims[-70000][6] == 0
    claims[-70000][6] = 1
    return encode([protected, unprotected, cbor2.dumps(claims, canonical=True), signature])


def resign(token: str, key: ec.EllipticCurvePrivateKey, kid: bytes | None = None, der: bool = False) -> str:
    """The same claims signed by ``key``, under ``kid`` (default: the token's own, i.e. ours)."""
    protected, unprotected, payload, _ = cose_parts(token)
    if kid is not None:
        protected = cbor2.dumps({1: -7, 4: kid}, canonical=True)
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    der_sig = key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    if der:
        signature = der_sig
    else:
        r, s = decode_dss_signature(der_sig)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return encode([protected, unprotected, payload, signature])


def foreign_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def seeded(app):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    return app


@pytest.fixture
def an_cert(seeded, client, auth):
    return issue(seeded, client, auth, AN)


def verify(client, **body) -> Any:
    response = client.post(VERIFY, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def events(db) -> list[VerificationEvent]:
    db.expire_all()
    return list(db.execute(select(VerificationEvent).order_by(VerificationEvent.id)).scalars())


# --- valid, revoked ------------------------------------------------------------------------------


def test_valid_qr_text_and_bare_token(client, an_cert, db):
    for qr in (an_cert["qr_text"], token_of(an_cert)):
        body = verify(client, qr=qr)
        assert body["outcome"] == "valid"
        assert body["checks"] == {name: {"ok": True, "reason": "ok"}
                                  for name in ("format", "signature", "issuer", "status")}
        cert = body["certificate"]
        assert cert["number"] == an_cert["number"]
        assert cert["form_type"] == 1
        assert cert["holder_name"] == AN["name"]
        assert cert["holder_birth_date"] == AN["birthdate"]
        assert cert["masked_personal_id"] == "001******345"
        assert cert["record_statement"] == 0 and cert["ban_statement"] == 0
        assert cert["issuer"] == "VN-NJRC"
        assert cert["issuing_authority"] == "Trung tâm Lý lịch tư pháp quốc gia"
        assert body["checked_at"].endswith("Z")
        assert body["message"]["verdict"] == "Hợp lệ"
    recorded = events(db)
    assert [(e.channel, e.outcome, e.certificate_id) for e in recorded] == [("qr", "valid", an_cert["id"])] * 2


def test_english_verdict_by_accept_language(client, an_cert):
    body = client.post(VERIFY, json={"qr": an_cert["qr_text"]}, headers={"Accept-Language": "en-GB,en;q=0.9"}).get_json()
    assert body["message"]["verdict"] == "Valid"


def test_revoked_in_the_database_is_revoked_at_once(seeded, client, an_cert, db):
    assert verify(client, qr=an_cert["qr_text"])["outcome"] == "valid"
    revoke_in_db(seeded, an_cert["id"])
    body = verify(client, qr=an_cert["qr_text"])
    assert body["outcome"] == "revoked"
    assert body["checks"]["status"] == {"ok": False, "reason": "revoked"}
    assert body["checks"]["signature"]["ok"] and body["checks"]["issuer"]["ok"]
    assert body["certificate"]["number"] == an_cert["number"]
    assert [(e.outcome, e.certificate_id) for e in events(db)] == [("valid", an_cert["id"]), ("revoked", an_cert["id"])]


def test_revoked_through_the_staff_api(seeded, client, an_cert, monkeypatch):
    """The staff revocation endpoint, end to end: the next verification says revoked."""
    from ecert import security
    from ecert.services import staff as staff_service

    monkeypatch.setattr(security, "SCRYPT_N", 2**10)
    monkeypatch.setattr(security, "SCRYPT_P", 1)
    clock = {"now": utcnow()}
    monkeypatch.setattr("api.staff.views.utcnow", lambda: clock["now"])
    monkeypatch.setattr("api.staff.auth.utcnow", lambda: clock["now"])
    with resources_of(seeded).sessionmaker() as session:
        enrolment = staff_service.create_staff(session, "truong.phong", "supervisor",
                                               password="correct horse battery staple", actor=TEST_ACTOR)
        secret = enrolment.totp_secret
        session.commit()
    login = client.post("/api/v1/staff/sessions", json={
        "username": "truong.phong", "password": "correct horse battery staple",
        "totp": security.totp_code(secret, security.totp_step(clock["now"]))})
    assert login.status_code == 201, login.get_json()
    clock["now"] += timedelta(seconds=security.TOTP_INTERVAL)  # a code is used once: take the next
    revoked = client.post(f"/api/v1/staff/certificates/{an_cert['id']}/revoke",
                          headers={"Authorization": f"Bearer {login.get_json()['token']}"},
                          json={"reason": "issued_in_error",
                                "totp": security.totp_code(secret, security.totp_step(clock["now"]))})
    assert revoked.status_code == 200, revoked.get_json()
    assert verify(client, qr=an_cert["qr_text"])["outcome"] == "revoked"


# --- tampered, unknown issuer, keys ---------------------------------------------------------------


def test_flipped_record_statement_is_tampered(client, an_cert, db):
    body = verify(client, qr=tamper_record_statement(token_of(an_cert)))
    assert body["outcome"] == "tampered"
    assert body["checks"]["signature"] == {"ok": False, "reason": "signature_mismatch"}
    assert body["certificate"] is None  # an altered token's claims are the forger's words
    [event] = events(db)
    assert (event.channel, event.outcome, event.certificate_id) == ("qr", "tampered", None)


def test_foreign_key_under_our_kid_is_tampered(client, an_cert):
    body = verify(client, qr=resign(token_of(an_cert), foreign_key()))
    assert body["outcome"] == "tampered"
    assert body["checks"]["signature"]["reason"] == "signature_mismatch"


def test_unknown_kid_is_unknown_issuer(client, an_cert, db):
    body = verify(client, qr=resign(token_of(an_cert), foreign_key(), kid=os.urandom(8)))
    assert body["outcome"] == "unknown_issuer"
    assert body["checks"]["issuer"] == {"ok": False, "reason": "unknown_kid"}
    assert body["certificate"] is None
    assert events(db)[0].certificate_id is None


def test_retired_key_still_verifies_and_revoked_key_does_not(seeded, client, an_cert):
    old_kid = active_kid(seeded)
    keys_cli(seeded, "rotate")
    assert active_kid(seeded) != old_kid
    assert verify(client, qr=an_cert["qr_text"])["outcome"] == "valid"  # retired: still valid

    keys_cli(seeded, "revoke", old_kid)
    body = verify(client, qr=an_cert["qr_text"])  # the very next verification sees it
    assert body["outcome"] == "signer_revoked"
    assert body["checks"]["issuer"] == {"ok": False, "reason": "signer_revoked"}


def test_trust_list_is_parsed_once_per_key_change(seeded, client, an_cert):
    cache = resources_of(seeded).trust_lists
    for _ in range(3):
        verify(client, qr=an_cert["qr_text"])
    assert cache.rebuilds == 1
    keys_cli(seeded, "rotate")
    verify(client, qr=an_cert["qr_text"])
    verify(client, qr=an_cert["qr_text"])
    assert cache.rebuilds == 2


# --- number + code ---------------------------------------------------------------------------------


def test_number_and_code(client, an_cert, db):
    code = an_cert["verification_code"]
    typed = f"{code[:4]}-{code[4:8]} {code[8:]}".lower()  # as a person types it off paper
    body = verify(client, number=an_cert["number"].lower(), code=typed)
    assert body["outcome"] == "valid"
    assert body["certificate"]["number"] == an_cert["number"]
    [event] = events(db)
    assert (event.channel, event.outcome, event.certificate_id) == ("code", "valid", an_cert["id"])


def test_wrong_code_and_unknown_number_are_the_same_not_found(client, an_cert, db):
    code = an_cert["verification_code"]
    wrong = ("0" if code[0] != "0" else "1") + code[1:]
    wrong_code = verify(client, number=an_cert["number"], code=wrong)
    unknown = verify(client, number="LLTP-1999-00000001", code=code)
    assert wrong_code["outcome"] == unknown["outcome"] == "not_found"
    for body in (wrong_code, unknown):
        body.pop("checked_at")
    assert wrong_code == unknown  # nothing says the number exists
    assert wrong_code["certificate"] is None
    assert [(e.channel, e.outcome, e.certificate_id) for e in events(db)] == [("code", "not_found", None)] * 2


# A lone surrogate ("\ud800") never gets this far: the edge refuses it as invalid JSON (400), see
# tests/api/test_hostile_input.py.
@pytest.mark.parametrize("number", ["LLTP\u0000", "LLTP-2026-" + "9" * 40, "\n"])
def test_implausible_numbers_are_not_found(client, an_cert, number):
    body = client.post(VERIFY, data=json.dumps({"number": number, "code": an_cert["verification_code"]}),
                       content_type="application/json")
    assert body.status_code == 200
    assert body.get_json()["outcome"] == "not_found"


def test_number_and_code_of_a_revoked_certificate(seeded, client, an_cert):
    revoke_in_db(seeded, an_cert["id"])
    assert verify(client, number=an_cert["number"], code=an_cert["verification_code"])["outcome"] == "revoked"


# --- bad input -------------------------------------------------------------------------------------


def _cose_der_signature(token: str) -> str:
    return resign(token, foreign_key(), der=True)


MALFORMED = {
    "empty": ("", "empty"),
    "blank": ("   ", "empty"),
    "huge": ("A" * 100_000, "too_long"),
    "not_digits": ("!!!not a token***", "not_digits"),
    "base64url_spelling": ("2BKEQ6EBJgRI", "not_digits"),  # the retired spelling is not read
    "short_group": ("12345678901234567" + "1234", "bad_digit_groups"),
    "group_too_large": ("999", "bad_digit_groups"),
    "not_cbor": (digits_of(b"\xff\xfe\xfd not cbor"), "not_cbor"),
    "wrong_shape": (digits_of(cbor2.dumps([1, 2, 3])), "not_cose_sign1"),
    "url_of_another_site": ("https://example.com/hello", "not_digits"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_is_a_200_verdict(client, db, name):
    text, reason = MALFORMED[name]
    body = verify(client, qr=text)
    assert body["outcome"] == "malformed"
    assert body["checks"]["format"] == {"ok": False, "reason": reason}
    assert body["certificate"] is None
    assert body["message"]["verdict"] == "Không phải mã của dịch vụ này"
    [event] = events(db)
    assert (event.channel, event.outcome, event.certificate_id) == ("qr", "malformed", None)


def test_der_signature_and_wrong_algorithm_are_malformed(client, an_cert):
    body = verify(client, qr=_cose_der_signature(token_of(an_cert)))
    assert (body["outcome"], body["checks"]["format"]["reason"]) == ("malformed", "bad_signature_length")
    protected, unprotected, payload, signature = cose_parts(token_of(an_cert))
    kid = cbor2.loads(protected)[4]
    es384 = encode([cbor2.dumps({1: -35, 4: kid}, canonical=True), unprotected, payload, signature])
    body = verify(client, qr=es384)
    assert (body["outcome"], body["checks"]["format"]["reason"]) == ("malformed", "wrong_algorithm")


@pytest.mark.parametrize("body, fields", [
    ({}, {"body": "qr_or_number_and_code"}),
    ({"qr": "x", "number": "LLTP-2026-00000001"}, {"number": "not_with_qr"}),
    ({"qr": "x", "code": "ABCDEFGHJKMN"}, {"code": "not_with_qr"}),
    ({"number": "LLTP-2026-00000001"}, {"code": "required"}),
    ({"code": "ABCDEFGHJKMN"}, {"number": "required"}),
    ({"number": "", "code": "ABCDEFGHJKMN"}, {"number": "required"}),
    ({"number": "LLTP-2026-00000001", "code": "ABC"}, {"code": "invalid_code"}),
    ({"number": "LLTP-2026-00000001", "code": "ABCD-EFGH-JKM!"}, {"code": "invalid_code"}),
    ({"qr": None}, {"qr": "null_not_allowed"}),
    ({"qr": 12345}, {"qr": "invalid_type"}),
    ({"qr": "x", "name": "Nguyễn Văn An"}, {"name": "unknown_field"}),
    ({"personal_id": "001090012345"}, {"personal_id": "unknown_field"}),
])
def test_a_body_of_another_shape_is_422(client, body, fields):
    response = client.post(VERIFY, json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    got = {e["field"]: e["code"] for e in problem["errors"]}
    for field, code in fields.items():
        assert got.get(field) == code, problem
    assert all(e["detail"] for e in problem["errors"])


@pytest.mark.parametrize("data, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b'"just a string"', "application/json"),
    (b"qr=abc", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_a_json_object_is_4xx(client, data, content_type):
    response = client.post(VERIFY, data=data, content_type=content_type)
    assert response.status_code in (400, 415, 422)
    assert response.mimetype == "application/problem+json"


def test_json_body_is_capped(client):
    response = client.post(VERIFY, json={"qr": "A" * (300 * 1024)})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


# --- PDF -------------------------------------------------------------------------------------------


def pdf_of(client, cert: dict) -> bytes:
    response = client.get(f"/api/v1/certificates/{cert['id']}/pdf", headers=cert["headers"])
    assert response.status_code == 200
    return response.data


def upload(client, data: bytes | None, name: str = "phieu.pdf", field: str = "file") -> Any:
    form = {} if data is None else {field: (io.BytesIO(data), name, "application/pdf")}
    return client.post(VERIFY_PDF, data=form, content_type="multipart/form-data")


def verify_upload(client, data: bytes) -> dict:
    response = upload(client, data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def plain_pdf(text: str = "Just some PDF") -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _throwaway_ca() -> tuple[Any, x509.Certificate, Any, x509.Certificate]:
    from signing.pki import generate_root_ca, issue_document_signer

    root_key, root = generate_root_ca("Throwaway Root", "Not the agency")
    dsc_key, dsc = issue_document_signer(root_key, root, "Throwaway DSC", "Not the agency")
    return root_key, root, dsc_key, dsc


def sign_with_pyhanko(pdf: bytes, key: Any, cert: x509.Certificate, chain: list[x509.Certificate],
                      token: str | None) -> bytes:
    """A PAdES signature by pyHanko's SimpleSigner, with ``token`` in /Info like ours."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigFieldSpec
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if token is not None:
        info = generic.DictionaryObject()
        info[generic.NameObject("/EcertToken")] = generic.TextStringObject(token)
        writer.set_info(info)
    der = serialization.Encoding.DER
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(der)) for c in chain]),
    )
    out = io.BytesIO()
    signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Signature1"), signer=signer,
                     new_field_spec=SigFieldSpec("Signature1"), output=out)
    return out.getvalue()


def test_issued_pdf_is_valid(client, an_cert, db):
    body = verify_upload(client, pdf_of(client, an_cert))
    assert body["outcome"] == "valid", body
    assert body["certificate"]["number"] == an_cert["number"]
    [event] = events(db)
    assert (event.channel, event.outcome, event.certificate_id) == ("pdf", "valid", an_cert["id"])


def test_pdf_of_a_revoked_certificate(seeded, client, an_cert):
    pdf = pdf_of(client, an_cert)
    revoke_in_db(seeded, an_cert["id"])
    assert verify_upload(client, pdf)["outcome"] == "revoked"


def test_pdf_with_a_flipped_byte_is_tampered(client, an_cert):
    pdf = bytearray(pdf_of(client, an_cert))
    # A byte inside the first page's content, well within the signed range.
    at = pdf.index(b"stream", len(pdf) // 4) + 20
    pdf[at] ^= 0x01
    body = verify_upload(client, bytes(pdf))
    assert body["outcome"] == "tampered", body
    assert body["certificate"] is None


def test_unsigned_pdfs(client, an_cert):
    plain = verify_upload(client, plain_pdf())
    assert (plain["outcome"], plain["checks"]["format"]["reason"]) == ("malformed", "unsigned_pdf")
    # An unsigned PDF that carries our token claims to be ours: ours are always signed.
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(plain_pdf()))
    writer.set_info(generic.DictionaryObject({generic.NameObject("/EcertToken"): generic.TextStringObject(token_of(an_cert))}))
    out = io.BytesIO()
    writer.write(out)
    claims_ours = verify_upload(client, out.getvalue())
    assert (claims_ours["outcome"], claims_ours["checks"]["signature"]["reason"]) == ("tampered", "unsigned_pdf")


@pytest.mark.parametrize("data", [b"hello, not a PDF", b"\x89PNG\r\n\x1a\n" + os.urandom(200), b"%PDF-1.7\n" + os.urandom(500)])
def test_not_a_pdf_is_malformed(client, data):
    body = verify_upload(client, data)
    assert body["outcome"] == "malformed"


def test_pdf_signed_under_another_root_is_unknown_issuer(client, an_cert):
    _, root, dsc_key, dsc = _throwaway_ca()
    pdf = sign_with_pyhanko(plain_pdf("PHIEU LY LICH TU PHAP"), dsc_key, dsc, [root], token_of(an_cert))
    body = verify_upload(client, pdf)
    assert body["outcome"] == "unknown_issuer", body
    assert body["checks"]["issuer"]["reason"] == "chain_not_to_root"


@pytest.mark.parametrize("field, expected", [("file", "empty_file"), ("document", "required")])
def test_empty_or_missing_upload_is_422(client, field, expected):
    response = upload(client, b"" if field == "file" else b"%PDF-1.7", field=field)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert ("file", expected) in {(e["field"], e["code"]) for e in response.get_json()["errors"]}


def test_no_body_at_all_is_422(client):
    response = client.post(VERIFY_PDF)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "file"


def test_upload_over_the_cap_is_413(make_app):
    app = make_app(max_pdf_upload_bytes=20_000)
    client = app.test_client()
    for size in (20_001, 200_000):  # just over (read check) and far over (Content-Length check)
        response = upload(client, b"%PDF-1.7\n" + b"0" * size)
        assert response.status_code == 413, size
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["code"] == "file_too_large" and problem["max_bytes"] == 20_000
    assert upload(client, plain_pdf()).status_code == 200


# --- failures of the database ----------------------------------------------------------------------


def test_status_lookup_failure_is_status_unavailable(client, an_cert, db, monkeypatch):
    def broken(session, cti):
        raise OperationalError("SELECT ...", {}, Exception("connection lost"))

    monkeypatch.setattr(verification_service, "find_status", broken)
    body = verify(client, qr=an_cert["qr_text"])
    assert body["outcome"] == "status_unavailable"
    assert body["checks"]["status"] == {"ok": False, "reason": "unavailable"}
    assert body["checks"]["signature"]["ok"]
    # never valid on any channel
    assert verify(client, number=an_cert["number"], code=an_cert["verification_code"])["outcome"] == "status_unavailable"
    assert verify_upload(client, pdf_of(client, an_cert))["outcome"] == "status_unavailable"
    # the verifications are still recorded, after the failed statement was rolled back
    assert [e.outcome for e in events(db)] == ["status_unavailable"] * 3


def test_keys_table_failure_never_gives_valid(seeded, client, an_cert, monkeypatch):
    verify(client, qr=an_cert["qr_text"])  # a list is cached now
    resources_of(seeded).trust_lists.max_age = 0  # and older than a second: the keys are read again

    def broken(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, Exception("connection lost"))

    monkeypatch.setattr(verification_service, "_keys_fingerprint", broken)
    assert verify(client, qr=an_cert["qr_text"])["outcome"] == "status_unavailable"
    assert verify(client, qr=tamper_record_statement(token_of(an_cert)))["outcome"] == "tampered"
    # and with nothing cached at all: junk is still junk, a genuine token is not confirmed
    resources_of(seeded).trust_lists._entry = None
    assert verify(client, qr="junk!")["outcome"] == "malformed"
    assert verify(client, qr=an_cert["qr_text"])["outcome"] == "status_unavailable"


# --- rate limit ------------------------------------------------------------------------------------


def test_rate_limit_is_429_with_retry_after(make_app):
    app = make_app(rate_limits="verification=2/minute")
    client = app.test_client()
    for _ in range(2):
        assert client.post(VERIFY, json={"qr": "junk"}).status_code == 200
    response = client.post(VERIFY, json={"qr": "junk"})
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1


# --- privacy ---------------------------------------------------------------------------------------


def assert_private(text: str, pid: str, extra: tuple[str, ...] = ()) -> None:
    assert pid not in text
    for secret in extra:
        assert secret not in text, secret


def test_form1_with_a_conviction_shows_the_statement_only(seeded, client, auth):
    cert = issue(seeded, client, auth, CUONG)
    response = client.post(VERIFY, json={"qr": cert["qr_text"]})
    body = response.get_json()
    assert body["outcome"] == "valid"
    assert body["certificate"]["record_statement"] == 1
    assert_private(response.get_data(as_text=True), CUONG["pid"], CUONG_CONVICTION)


def test_form2_shows_less(seeded, client, auth):
    cert = issue(seeded, client, auth, AN, form2_payload(residence_history=history_since_14(AN["birthdate"])))
    response = client.post(VERIFY, json={"qr": cert["qr_text"]})
    body = response.get_json()
    assert body["outcome"] == "valid"
    shown = {k for k, v in body["certificate"].items() if v is not None}
    assert shown == {"number", "form_type", "issued_at", "holder_name"}
    assert_private(response.get_data(as_text=True), AN["pid"], FORM2_FAMILY + (AN["birthdate"], "001******345"))


def test_every_answer_keeps_the_personal_id_out(seeded, client, auth, an_cert):
    pdf_answer = upload(client, pdf_of(client, an_cert)).get_data(as_text=True)
    code_answer = client.post(VERIFY, json={"number": an_cert["number"], "code": an_cert["verification_code"]})
    for text in (pdf_answer, code_answer.get_data(as_text=True)):
        assert_private(text, AN["pid"])


def test_events_keep_no_ip():
    # Who checked is a registered organisation or the holder's share link, never an address.
    columns = {c.key for c in inspect(VerificationEvent).columns}
    assert columns == {"id", "certificate_id", "checked_at", "channel", "outcome", "verifier_id", "share_id"}


def test_openapi_documents_both_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/verifications"]
    assert "post" in spec["paths"]["/api/v1/verifications/pdf"]
    assert "multipart/form-data" in spec["paths"]["/api/v1/verifications/pdf"]["post"]["requestBody"]["content"]
