"""GET /v/<token>: the page a phone camera opens. Verdicts, languages, privacy, headers, junk."""
from __future__ import annotations

import base64
import hashlib
import os
import re

import pytest
from sqlalchemy.exc import OperationalError

from ecert.services import verification as verification_service
from tests.api.test_verification_api import (  # noqa: F401  (fixtures)
    AN,
    CUONG,
    CUONG_CONVICTION,
    FORM2_FAMILY,
    an_cert,
    events,
    foreign_key,
    issue,
    keys_cli,
    active_kid,
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
    "/v/",
    "/v/hello",
    "/v/" + base64.urlsafe_b64encode(os.urandom(180)).decode().rstrip("="),  # a random "token"
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
