"""The QR on the certificate PDF, printed (rasterised) at 100 dpi, read by zbar and by zxing.

DESIGN §6 puts the token in a version-11 QR for a typical name and up to version 15 for a
100-character name; both must be read off a cheap 100 dpi print or scan by the two decoders
most scanning apps are built on. Each case renders the real PDF of a freshly signed token (the
modules differ from token to token, and zbar's misses at small module sizes depend on them),
rasterises the page with pdfium and asks each decoder for the exact QR text.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from ecert.config import DEFAULT_PLACE_OF_ISSUE
from ecert.domain.content import certificate_wording
from signing import FileSigner, TokenClaims, create_dev_pki, qr_text, render_certificate_pdf, sign_token
from signing.qr import qr_version

from tests.interop.conftest import need

pytestmark = pytest.mark.interop

DPI = 100
TOKENS_PER_NAME = 8
LONG_NAME = ("Nguyễn Hoàng Phượng Thị Ngọc Diễm Hương Quỳnh Anh Lê Trần Đặng " * 2)[:100]


@pytest.fixture(scope="module")
def zbar_decode() -> Any:
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError):  # OSError: the package is there, libzbar0 is not
        pyzbar = None
    need(
        "zbar (pyzbar + libzbar0)",
        pyzbar is not None,
        "apt-get install libzbar0; .venv/bin/pip install -r requirements-dev.txt (pyzbar)",
    )
    return pyzbar.decode


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> FileSigner:
    pki = create_dev_pki(Path(tmp_path_factory.mktemp("pki")), "VN-NJRC", "Trung tâm Lý lịch tư pháp quốc gia")
    return FileSigner.from_files(pki.dsc_key_path, pki.dsc_cert_path, pki.root_cert_path)


def _printed(signer: FileSigner, name: str, form_type: int) -> tuple[str, Any]:
    """(QR text, the PDF's first page at 100 dpi in grey) for a fresh token of ``name``."""
    import pypdfium2

    form1 = form_type == 1
    claims = TokenClaims(
        issuer="VN-NJRC",
        issued_at=1795000000,
        cti=secrets.token_bytes(16),
        number="LLTP-2026-00000123",
        form_type=form_type,
        holder_name=name,
        holder_birth_date="1990-01-01" if form1 else None,
        masked_personal_id="001******999" if form1 else None,
        record_statement=0 if form1 else None,
        ban_statement=0 if form1 else None,
        digest=os.urandom(16),
    )
    token = sign_token(claims, signer)
    text = qr_text("https://ecert.example.gov.vn", token)
    content = {
        "schema": 1,
        "number": claims.number,
        "form_type": form_type,
        "issued_at": "2026-11-23T08:15:00Z",
        "issuer": {"id": "VN-NJRC", "authority": "Trung tâm Lý lịch tư pháp quốc gia"},
        "holder": {"full_name": name, "birth_date": "1990-01-01", "gender": "female", "personal_id": "001090999999"},
        "purpose": "Bổ sung hồ sơ xin việc",
        "record": {"statement": 0, "convictions": []},
        "ban": None,
    }
    pdf = render_certificate_pdf(
        content,
        wording=certificate_wording(DEFAULT_PLACE_OF_ISSUE),
        qr_text=text,
        token=token,
        verification_code="ABCDEFGH2345",
    )
    page = pypdfium2.PdfDocument(pdf)[0]
    return text, page.render(scale=DPI / 72, grayscale=True).to_pil()


@pytest.mark.parametrize(
    ("name", "form_type", "version"),
    [
        ("Nguyễn Văn Minh", 1, 11),
        ("Nguyễn Thị Phương Thảo Hoàng A", 1, 12),
        ("Nguyễn Thị Phương Thảo Hoàng A", 2, 11),
        (LONG_NAME, 1, 15),
    ],
)
def test_zbar_and_zxing_read_every_qr_printed_at_100_dpi(signer, zbar_decode, name, form_type, version):
    import zxingcpp

    for _ in range(TOKENS_PER_NAME):
        text, image = _printed(signer, name, form_type)
        assert qr_version(text) <= version
        # QR symbols only, as a verifier app and verification/image.py read: the page's text and
        # rules can pass for a linear barcode (zxing once read "5958" off a page beside the QR).
        qr_codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
        assert [r.text for r in qr_codes] == [text], "zxing"
        assert [r.data.decode("utf-8") for r in zbar_decode(image) if r.type == "QRCODE"] == [text], "zbar"
