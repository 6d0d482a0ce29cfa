"""GET /v/<token>: the page a phone camera opens. Verdicts, languages, privacy, headers, junk."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re

import pytest
from sqlalchemy.exc import OperationalError

from ecert.services import verification as verification_service
from tests.api.public.test_verification_api import (  # noqa: F401  (fixtures)
    AN,
    CUONG,
    CUONG_CONVICTION,
    FORM2_FAMILY,
    active_kid,
    an_cert,
    events,
    foreign_key,
    issue,
    keys_cli,
    pdf_of,
    plain_pdf,
    resign,
    revoke_in_db,
    seeded,
    tamper_record_statement,
    token_of,
)
from tests.support import form2_payload, history_since_14


def page(client, token: str, **kwargs):
    response = client.get(f"/v/{token}", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/html"
    return response


def verdict(response) -> str:
    match = re.search(r'<h1 id="verdict" data-outcome="([a-z_]+)">([^<]*)</h1>', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:500]
    return match.group(1), match.group(2)


def shown_fields(response) -> dict[str, str]:
    html = response.get_data(as_text=True)
    return dict(re.findall(r'<div data-field="([a-z_]+)"><dt>[^<]*</dt><dd>([^<]*)</dd></div>', html))


def test_valid_page_in_vietnamese(client, an_cert, db):
    response = page(client, token_of(an_cert))
    assert verdict(response) == ("valid", "Hợp lệ")
    assert response.headers["Content-Language"] == "vi"
    html = response.get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert shown_fields(response) == {
        "number": an_cert["number"],
        "form_type": "Phiếu số 1",
        "issued_at": shown_fields(response)["issued_at"],
        "issuer": "Trung tâm Lý lịch tư pháp quốc gia",
        "holder_name": AN["name"],
        "holder_birth_date": "17/05/1990",
        "masked_personal_id": "001******345",
        "record_statement": "Không có án tích",
        "ban_statement": "Không yêu cầu",
        "status": "Hợp lệ",
    }
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", shown_fields(response)["issued_at"])
    assert "Thời điểm kiểm tra" in html and "giờ Việt Nam" in html
    assert "Cần làm gì" in html and "Đối chiếu số phiếu" in html  # what to do next
    assert 'href="?lang=en"' in html
    [event] = events(db)
    assert (event.channel, event.outcome, event.certificate_id) == ("page", "valid", an_cert["id"])


@pytest.mark.parametrize("kwargs", [
    {"query_string": {"lang": "en"}},
    {"headers": {"Accept-Language": "en-US,en;q=0.9"}},
])
def test_valid_page_in_english(client, an_cert, kwargs):
    response = page(client, token_of(an_cert), **kwargs)
    assert verdict(response) == ("valid", "Valid")
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and response.headers["Content-Language"] == "en"
    assert shown_fields(response)["record_statement"] == "No criminal record"
    assert shown_fields(response)["holder_birth_date"] == "1990-05-17"
    assert "What to do next" in html and 'href="?lang=vi"' in html


def test_query_language_beats_the_header(client, an_cert):
    response = page(client, token_of(an_cert), query_string={"lang": "vi"}, headers={"Accept-Language": "en"})
    assert verdict(response)[1] == "Hợp lệ"


def test_full_qr_text_query_and_fragment_free_path(client, an_cert):
    # The QR text is {base}/v/{token}: only the path reaches the server; trailing slash tolerated.
    assert verdict(page(client, token_of(an_cert) + "/"))[0] == "valid"


def test_revoked_page_at_once(seeded, client, an_cert):
    assert verdict(page(client, token_of(an_cert)))[0] == "valid"
    revoke_in_db(seeded, an_cert["id"])
    response = page(client, token_of(an_cert))
    assert verdict(response) == ("revoked", "Đã bị thu hồi")
    assert "Không chấp nhận phiếu này" in response.get_data(as_text=True)
    en = page(client, token_of(an_cert), query_string={"lang": "en"})
    assert verdict(en) == ("revoked", "Revoked")


def test_tampered_page_shows_no_fields(client, an_cert, db):
    response = page(client, tamper_record_statement(token_of(an_cert)))
    assert verdict(response) == ("tampered", "Không hợp lệ — đã bị sửa đổi")
    html = response.get_data(as_text=True)
    assert shown_fields(response) == {}
    assert AN["name"] not in html
    assert "chữ ký không khớp với nội dung" in html  # the failed check, in words
    assert events(db)[0].certificate_id is None


def test_foreign_signatures(seeded, client, an_cert):
    assert verdict(page(client, resign(token_of(an_cert), foreign_key())))[0] == "tampered"
    assert verdict(page(client, resign(token_of(an_cert), foreign_key(), kid=os.urandom(8)))) == (
        "unknown_issuer", "Không rõ cơ quan cấp")
    keys_cli(seeded, "revoke", active_kid(seeded))
    assert verdict(page(client, token_of(an_cert))) == ("signer_revoked", "Khóa ký đã bị thu hồi")


NOT_OURS = "Không phải mã của dịch vụ này"


@pytest.mark.parametrize("path", [
    "/v/hello",
    "/v/" + base64.urlsafe_b64encode(os.urandom(180)).decode().rstrip("="),  # the retired spelling
    "/v/" + str(int.from_bytes(os.urandom(180), "big")),  # random digits
    "/v/" + "12345678901234567" * 20 + "999",  # a group too large for its byte
    "/v/" + "A" * 2048,
    "/v/" + "A" * 5000,  # longer than any token: still the plain page, not a 414 or a 500
    "/v/a/b/c",
    "/v/%00%ff%fe",
    "/v/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/v/https://example.com/x",
])
def test_junk_is_the_plain_not_ours_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert verdict(response) == ("malformed", NOT_OURS)
    assert "<script" not in html
    assert 'id="checks"' not in html and 'id="fields"' not in html
    for word in ("hết hạn", "expired", "Expired", "lỗi", "error", "Error"):
        assert word not in html
    assert [(e.channel, e.outcome, e.certificate_id) for e in events(db)] == [("page", "malformed", None)]


def test_junk_in_english(client):
    response = page(client, "nonsense", query_string={"lang": "en"})
    assert verdict(response) == ("malformed", "Not a certificate from this service")
    assert "expired" not in response.get_data(as_text=True).lower()


def test_status_unavailable_page(client, an_cert, monkeypatch):
    def broken(session, cti):
        raise OperationalError("SELECT ...", {}, Exception("connection lost"))

    monkeypatch.setattr(verification_service, "find_status", broken)
    response = page(client, token_of(an_cert))
    assert verdict(response) == ("status_unavailable", "Không kiểm tra được trạng thái")


def test_headers(client, an_cert):
    response = page(client, token_of(an_cert))
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["img-src"] == "'self' data:"
    # The one inline style is allowed by its hash, and it is exactly the page's style.
    html = response.get_data(as_text=True)
    [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert directives["style-src"] == f"'sha256-{digest}'"
    assert "unsafe-inline" not in csp and "script-src" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "noindex" in response.headers["X-Robots-Tag"]
    # no third-party asset, no script: nothing is loaded from anywhere
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_form1_with_a_conviction_shows_the_statement_only(seeded, client, auth):
    cert = issue(seeded, client, auth, CUONG)
    response = page(client, token_of(cert))
    assert shown_fields(response)["record_statement"] == "Có án tích"
    html = response.get_data(as_text=True)
    assert CUONG["pid"] not in html
    for secret in CUONG_CONVICTION:
        assert secret not in html, secret


def test_form2_page_shows_less(seeded, client, auth):
    cert = issue(seeded, client, auth, AN, form2_payload(residence_history=history_since_14(AN["birthdate"])))
    response = page(client, token_of(cert))
    assert verdict(response)[0] == "valid"
    fields = shown_fields(response)
    assert set(fields) == {"number", "form_type", "issued_at", "holder_name", "status"}
    assert fields["form_type"] == "Phiếu số 2"
    html = response.get_data(as_text=True)
    for secret in (AN["pid"], "001******345", "17/05/1990", *FORM2_FAMILY):
        assert secret not in html, secret


def test_rate_limited_page(make_app):
    app = make_app(rate_limits="verification=2/minute")
    client = app.test_client()
    for _ in range(2):
        assert client.get("/v/junk").status_code == 200
    response = client.get("/v/junk")
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) >= 1
    assert "Quá nhiều lượt kiểm tra" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


# --- the page takes a PDF (GET /v/ form -> POST /v/pdf) -------------------------------------------


def upload_page(client, data: bytes | None, **kwargs):
    form = {} if data is None else {"file": (io.BytesIO(data), "phieu.pdf", "application/pdf")}
    return client.post("/v/pdf", data=form, content_type="multipart/form-data", **kwargs)


def info_only_update(pdf: bytes, **entries: str) -> bytes:
    """An incremental update appended after signing that changes nothing but /Info."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.set_info(generic.DictionaryObject(
        {generic.NameObject(f"/{k}"): generic.TextStringObject(v) for k, v in entries.items()}))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_landing_page_has_a_no_script_upload_form(client, db):
    response = client.get("/v/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    [form] = re.findall(r"<form [^>]*>", html)
    assert 'method="post"' in form and 'action="/v/pdf"' in form
    assert 'enctype="multipart/form-data"' in form
    assert re.search(r'<input type="file" id="file" name="file" accept="application/pdf,.pdf" required>', html)
    assert '<label for="file">Chọn tệp PDF (tối đa 1 MB)</label>' in html
    assert "<script" not in html and "Kiểm tra" in html
    assert 'data-outcome' not in html  # no verdict: nothing was checked
    assert events(db) == []
    directives = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    assert directives["form-action"] == "'self'"
    assert directives["default-src"] == "'none'" and "script-src" not in directives
    # /v (the address printed on paper) reaches it too
    assert client.get("/v", follow_redirects=True).status_code == 200


def test_landing_page_in_english_keeps_the_language_for_the_upload(client):
    html = client.get("/v/", query_string={"lang": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Choose the PDF file (at most 1 MB)" in html
    assert 'action="/v/pdf?lang=en"' in html
    assert "Check a judicial-record certificate" in html
    by_header = client.get("/v/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Check the certificate" in by_header and 'action="/v/pdf"' in by_header


def test_genuine_pdf_upload_gives_the_valid_page(client, an_cert, db):
    response = upload_page(client, pdf_of(client, an_cert))
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert verdict(response) == ("valid", "Hợp lệ")
    assert shown_fields(response)["number"] == an_cert["number"]
    assert response.headers["Cache-Control"] == "no-store"
    [event] = events(db)
    assert (event.channel, event.outcome, event.certificate_id) == ("pdf", "valid", an_cert["id"])


def test_pdf_upload_page_in_english(client, an_cert):
    pdf = pdf_of(client, an_cert)
    assert verdict(upload_page(client, pdf, query_string={"lang": "en"})) == ("valid", "Valid")
    assert verdict(upload_page(client, pdf, headers={"Accept-Language": "en-GB,en;q=0.8"})) == ("valid", "Valid")


@pytest.mark.parametrize("swap_token", [False, True], ids=["same-token", "another-certificate's-token"])
def test_info_only_update_after_signing_is_the_tampered_page(seeded, client, auth, an_cert, db, swap_token):
    # Any revision appended after the signature is "tampered" (DESIGN §7), even one that only
    # rewrites /Info; with another genuine certificate's token it would otherwise show that one.
    token = token_of(issue(seeded, client, auth, CUONG)) if swap_token else token_of(an_cert)
    before = len(events(db))
    tampered = info_only_update(pdf_of(client, an_cert), EcertToken=token, Producer="edited later")
    response = upload_page(client, tampered)
    assert response.status_code == 200
    assert verdict(response)[0] == "tampered"
    assert shown_fields(response) == {}
    assert [(e.channel, e.outcome) for e in events(db)][before:] == [("pdf", "tampered")]


@pytest.mark.parametrize("data", [b"hello, not a PDF", b"%PDF-1.7\n" + os.urandom(2000), plain_pdf()])
def test_junk_upload_is_the_not_ours_page(client, db, data):
    response = upload_page(client, data)
    assert response.status_code == 200
    assert verdict(response) == ("malformed", NOT_OURS)
    assert [(e.channel, e.outcome) for e in events(db)] == [("pdf", "malformed")]


def test_too_big_upload_is_a_page_saying_so(make_app):
    client = make_app(max_pdf_upload_bytes=20_000).test_client()
    for size in (20_001, 200_000):  # just over (read check) and far over (Content-Length check)
        response = upload_page(client, b"%PDF-1.7\n" + b"0" * size)
        assert response.status_code == 413, size
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert 'data-outcome="too_large">Tệp quá lớn<' in html
        assert "vượt quá 19 KB" in html
        assert '<input type="file"' in html  # and the form again
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    english = upload_page(client, b"%PDF-1.7\n" + b"0" * 30_000, query_string={"lang": "en"})
    assert english.status_code == 413 and "The file is too large" in english.get_data(as_text=True)


def test_default_cap_is_one_mib_on_the_page(client, db):
    response = upload_page(client, b"%PDF-1.7\n" + b"0" * (1024 * 1024))
    assert response.status_code == 413
    assert events(db) == []


def test_upload_without_a_file_asks_for_one(client, db):
    for data in (None, b""):
        response = upload_page(client, data)
        assert response.status_code == 422 and response.mimetype == "text/html"
        assert "Chưa chọn tệp" in response.get_data(as_text=True)
    assert events(db) == []


def test_pdf_form_address_answers_get_with_the_form(client):
    # The language link of a verdict page is relative (?lang=en): on /v/pdf it must not be a 405.
    response = client.get("/v/pdf", query_string={"lang": "en"})
    assert response.status_code == 200
    assert '<input type="file"' in response.get_data(as_text=True)
