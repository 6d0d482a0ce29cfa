"""The paper channel (issue #10): ``GET /v`` is the form for the number and code printed on the
certificate, its POST answers the verdict page (channel ``code``); ``GET /`` leads a person there;
the PDF prints that address; and every verdict says only what was checked."""
from __future__ import annotations

import io
import re

import pypdfium2
import pytest
from sqlalchemy.exc import OperationalError

from api.public.pages import PAGE_CSP
from ecert.services import verification as verification_service
from tests.api.public.test_verification_api import (  # noqa: F401  (fixtures)
    AN,
    an_cert,
    events,
    issue,
    pdf_of,
    seeded,
)
from tests.api.public.test_verification_page import shown_fields, verdict
from tests.support import PUBLIC_BASE_URL, form2_payload, history_since_14

# What a number+code lookup never checks: it compares with the register, it reads no signature.
SIGNATURE_CLAIMS = ("chữ ký", "signature")
BIRTH_DATE_WORDS = ("ngày sinh", "date of birth", "birth")


def paper(client, number: str, code: str, **kwargs):
    return client.post("/v", data={"number": number, "code": code}, **kwargs)


def page_text(response) -> str:
    return response.get_data(as_text=True).lower()


def words_of(response) -> str:
    html = response.get_data(as_text=True)
    return " ".join(re.findall(r'<p id="(?:meaning|next)">([^<]*)</p>', html)).lower()


def test_the_paper_form(client, db):
    response = client.get("/v")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    [form] = re.findall(r"<form [^>]*>", html)
    assert 'method="post"' in form and 'action="/v"' in form
    assert re.search(r'<input [^>]*name="number"[^>]*required', html)
    assert re.search(r'<input [^>]*name="code"[^>]*required', html)
    assert '<label for="number">Số phiếu</label>' in html
    assert '<label for="code">Mã xác thực</label>' in html
    assert 'name="viewport"' in html
    assert "<script" not in html and "data-outcome" not in html
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert 'href="/v/"' in html  # the PDF upload is one tap away
    assert events(db) == []


def test_the_paper_form_in_english_keeps_its_language(client):
    html = client.get("/v", query_string={"lang": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert 'action="/v?lang=en"' in html
    assert '<label for="number">Certificate number</label>' in html
    assert '<label for="code">Verification code</label>' in html


def test_the_upload_page_links_to_the_paper_form(client):
    html = client.get("/v/").get_data(as_text=True)
    assert 'href="/v"' in html


def test_root_leads_a_person_to_the_form(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] in ("/v", "http://localhost/v")


def test_number_and_code_give_the_valid_page(client, an_cert, db):
    typed = an_cert["verification_code"].lower()
    typed = f"{typed[:4]}-{typed[4:8]} {typed[8:]}"
    response = paper(client, an_cert["number"], typed)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert verdict(response) == ("valid", "Hợp lệ")
    assert shown_fields(response)["number"] == an_cert["number"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    [event] = events(db)
    assert (event.channel, event.outcome, event.certificate_id) == ("code", "valid", an_cert["id"])


def test_english_verdict(client, an_cert):
    response = paper(client, an_cert["number"], an_cert["verification_code"], query_string={"lang": "en"})
    assert verdict(response) == ("valid", "Valid")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_wrong_code_does_not_claim_a_signature_was_checked(client, an_cert, db, lang):
    code = an_cert["verification_code"]
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    for number, typed in ((an_cert["number"], wrong), ("LLTP-1999-00000001", code)):
        response = paper(client, number, typed, query_string={"lang": lang})
        assert response.status_code == 200
        assert verdict(response)[0] == "not_found"
        said = words_of(response)
        assert said and not any(claim in said for claim in SIGNATURE_CLAIMS), said
        api = client.post("/api/v1/verifications", json={"number": number, "code": typed},
                          headers={"Accept-Language": lang}).get_json()
        assert api["outcome"] == "not_found"
        message = (api["message"]["meaning"] + " " + api["message"]["next"]).lower()
        assert not any(claim in message for claim in SIGNATURE_CLAIMS), message
    assert [(e.channel, e.outcome, e.certificate_id) for e in events(db)] == [("code", "not_found", None)] * 4


def test_a_qr_not_found_still_says_the_signature_was_checked():
    # The QR path does verify the signature before asking the register: that text stays.
    from verification.messages import outcome_text

    assert "signature" in outcome_text("not_found", "en")["meaning"].lower()


def test_register_down_does_not_claim_a_signature_was_checked(client, an_cert, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT ...", {}, Exception("connection lost"))

    monkeypatch.setattr(verification_service, "find_by_code", broken)
    for lang in ("vi", "en"):
        response = paper(client, an_cert["number"], an_cert["verification_code"], query_string={"lang": lang})
        assert verdict(response)[0] == "status_unavailable"
        said = words_of(response)
        assert said and not any(claim in said for claim in SIGNATURE_CLAIMS), said


@pytest.mark.parametrize(
    ("number", "code", "status"),
    [("", "", 422), ("LLTP-2026-00000123", "", 422), ("", "K7QM4XP2T9AB", 422), ("LLTP-2026-00000123", "K7QM", 422)],
)
def test_incomplete_or_misshapen_entries_get_the_form_again(client, db, number, code, status):
    response = paper(client, number, code)
    assert response.status_code == status and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "data-outcome" in html  # a notice, never a verdict
    assert 'action="/v"' in html and 'name="number"' in html
    assert re.search(r'<h1 id="verdict" data-outcome="(missing_fields|bad_code)">', html)
    assert events(db) == []


def test_the_typed_number_comes_back_escaped(client):
    html = paper(client, '<b>"x"</b>', "").get_data(as_text=True)
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_form2_verdict_does_not_ask_to_compare_a_hidden_birth_date(seeded, client, auth):
    cert = issue(seeded, client, auth, AN, form2_payload(residence_history=history_since_14(AN["birthdate"])))
    response = paper(client, cert["number"], cert["verification_code"])
    assert verdict(response)[0] == "valid"
    assert "holder_birth_date" not in shown_fields(response)
    for lang in ("vi", "en"):
        response = paper(client, cert["number"], cert["verification_code"], query_string={"lang": lang})
        said = words_of(response)
        assert said and not any(word in said for word in BIRTH_DATE_WORDS), said
        api = client.post("/api/v1/verifications", json={"qr": cert["qr_text"]},
                          headers={"Accept-Language": lang}).get_json()
        assert not any(word in api["message"]["next"].lower() for word in BIRTH_DATE_WORDS)


def test_form1_verdict_still_asks_for_the_birth_date(client, an_cert):
    response = paper(client, an_cert["number"], an_cert["verification_code"], query_string={"lang": "en"})
    assert "date of birth" in words_of(response)


def test_the_pdf_prints_the_paper_form_address(client, an_cert):
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf_of(client, an_cert)))
    try:
        text = "".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()
    squashed = re.sub(r"\s+", "", text)
    assert f"{PUBLIC_BASE_URL}/v" in squashed
    assert f"truycập{PUBLIC_BASE_URL}/vvànhậpsốphiếucùngmãxácthực" in squashed
