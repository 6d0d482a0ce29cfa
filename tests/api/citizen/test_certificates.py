"""The citizen's certificates over HTTP, and the public trust material."""
from __future__ import annotations

import io
import json

import pytest
import zxingcpp
from cryptography import x509
from PIL import Image

from signing.qr import qr_version
from tests.support import PUBLIC_BASE_URL, form1_payload, history_since_14

AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
BINH = {"pid": "079185001234", "name": "Trần Thị Bình", "birthdate": "1985-11-02", "gender": "female"}


@pytest.fixture
def issued(app, client, auth):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    headers = auth(**AN)
    body = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14(AN["birthdate"])),
                       headers=headers).get_json()
    assert body["status"] == "issued", body
    return headers, body["certificate_id"]


def test_certificate_fields(client, issued):
    headers, cert_id = issued
    response = client.get(f"/api/v1/certificates/{cert_id}", headers=headers)
    assert response.status_code == 200
    cert = response.get_json()
    assert cert["status"] == "valid"
    assert cert["number"].startswith("LLTP-")
    assert len(cert["verification_code"]) == 12
    assert cert["qr_text"].startswith(f"{PUBLIC_BASE_URL}/v/")
    assert qr_version(cert["qr_text"]) <= 12
    assert cert["links"]["pdf"] == f"/api/v1/certificates/{cert_id}/pdf"
    assert client.get(f"/api/v1/certificates/{cert_id}", headers={**headers, "If-None-Match": response.headers["ETag"]}).status_code == 304


def test_list_certificates(client, issued):
    headers, cert_id = issued
    listing = client.get("/api/v1/certificates", headers=headers).get_json()
    assert [c["id"] for c in listing["items"]] == [cert_id]
    assert listing["next_cursor"] is None


def test_pdf_download(client, issued):
    headers, cert_id = issued
    response = client.get(f"/api/v1/certificates/{cert_id}/pdf", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]
    assert ".pdf" in response.headers["Content-Disposition"]


def test_qr_png_decodes_to_the_qr_text(client, issued):
    headers, cert_id = issued
    qr_text = client.get(f"/api/v1/certificates/{cert_id}", headers=headers).get_json()["qr_text"]
    png = client.get(f"/api/v1/certificates/{cert_id}/qr.png", headers=headers)
    assert png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [d.text for d in decoded] == [qr_text]
    svg = client.get(f"/api/v1/certificates/{cert_id}/qr.svg", headers=headers)
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_image_is_drawn_once_and_revalidates_with_a_strong_etag(client, issued, auth, kind, monkeypatch):
    from api.citizen import qr_images

    headers, cert_id = issued
    url = f"/api/v1/certificates/{cert_id}/qr.{kind}"
    qr_images._drawn.cache_clear()
    drawn: list[str] = []
    real = qr_images.qr_png if kind == "png" else qr_images.qr_svg
    monkeypatch.setattr(qr_images, f"qr_{kind}", lambda text: drawn.append(text) or real(text))
    first = client.get(url, headers=headers)
    again = client.get(url, headers=headers)
    assert first.status_code == again.status_code == 200 and first.data == again.data
    assert len(drawn) == 1  # the second request was served from the cache
    etag = first.headers["ETag"]
    assert etag == again.headers["ETag"] and not etag.startswith("W/")  # strong, deterministic
    assert first.headers["Cache-Control"] == "private, no-cache"
    # a cold worker gives the same ETag and answers 304 without drawing
    qr_images._drawn.cache_clear()
    not_modified = client.get(url, headers={**headers, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b"" and not_modified.headers["ETag"] == etag
    assert len(drawn) == 1
    # another ETag (an older drawing, a guess) gets the image; someone else's certificate stays 404
    assert client.get(url, headers={**headers, "If-None-Match": '"0123"'}).status_code == 200
    assert client.get(url, headers={**auth(**BINH), "If-None-Match": etag}).status_code == 404


@pytest.mark.parametrize("suffix", ["", "/pdf", "/qr.png", "/qr.svg"])
def test_another_citizens_certificate_is_404(client, issued, auth, suffix):
    _, cert_id = issued
    response = client.get(f"/api/v1/certificates/{cert_id}{suffix}", headers=auth(**BINH))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("suffix", ["", "/pdf", "/qr.png"])
def test_certificates_need_a_citizen(client, issued, suffix):
    _, cert_id = issued
    assert client.get(f"/api/v1/certificates/{cert_id}{suffix}").status_code == 401


def test_trust_list_and_root(client):
    response = client.get("/.well-known/ecert/trust-list.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    trust = response.get_json()
    assert trust["issuer"]
    key = trust["keys"][0]
    assert {"kid", "kty", "crv", "x", "y", "x5c", "status", "not_before", "not_after"} <= set(key)
    assert key["status"] == "active"
    again = client.get("/.well-known/ecert/trust-list.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    pem = client.get("/.well-known/ecert/root-ca.pem")
    root = x509.load_pem_x509_certificate(pem.data)
    import base64

    dsc = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    dsc.verify_directly_issued_by(root)
    assert json.loads(response.data) == trust


def test_a_100_character_name_is_signed_whole_in_a_version_15_qr(app, client, auth, db):
    import json as _json

    from ecert.models import Certificate
    from verification import decode_token

    long_name = "Nguyễn Thị Phương Hoàng Ngọc Diệp Thanh Xuân Quỳnh Hương Khánh Linh Bảo Trâm Mỹ Duyên Thúy Hằng Ánhh"
    assert len(long_name) == 100
    person = {"pid": "001195012340", "name": long_name, "birthdate": "1995-02-03", "gender": "female"}
    body = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14(person["birthdate"])),
                       headers=auth(**person)).get_json()
    assert body["status"] == "issued", body
    cert = db.get(Certificate, body["certificate_id"])
    assert qr_version(cert.qr_text) <= 15  # DESIGN §6
    assert _json.loads(cert.content)["holder"]["full_name"] == long_name  # the document keeps it whole
    # ... and so does the QR: never cut, never transliterated any more
    assert decode_token(cert.token).claims.holder_name == long_name
    assert cert.qr_text == f"{PUBLIC_BASE_URL}/v/{cert.token}" and cert.token.isdigit()
