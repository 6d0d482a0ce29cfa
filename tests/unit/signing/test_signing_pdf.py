"""The certificate PDF: text, QR, metadata, wrapping, and the PAdES signature."""

from __future__ import annotations

import io
import re
import unicodedata

import pypdfium2
import pytest
import zxingcpp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing import FileSigner, sign_pdf
from signing.pdf import KEYWORDS_TOKEN_PREFIX


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def _validate(pdf: bytes, root) -> object:
    reader = PdfFileReader(io.BytesIO(pdf))
    (sig,) = reader.embedded_signatures
    anchor = asn1_x509.Certificate.load(root.public_bytes(Encoding.DER))
    return validate_pdf_signature(sig, ValidationContext(trust_roots=[anchor]))


# ---------------------------------------------------------------- text


def test_form1_clean_text(issued, pdf_text):
    text, pages = pdf_text(issued["form1_clean"].signed_pdf)
    assert pages == 1
    for s in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Trung tâm Lý lịch tư pháp quốc gia",
        "PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1",
        "LLTP-2026-00000123",
        "Tình trạng án tích: Không có án tích",
        "Mục đích sử dụng:",
        "Bổ sung hồ sơ xin việc",
        "Mã xác thực: K7QM-4XP2-T9AB",
        "001090012345",
        "17/05/1990",
        "Hà Nội, ngày 23 tháng 11 năm 2026",
    ):
        assert s in text, s
    # ban section absent when not asked for; no Form 2 fields on Form 1
    assert "cấm đảm nhiệm" not in text
    assert "Họ và tên cha" not in text


def test_name_with_every_vietnamese_diacritic(issued, pdf_text, contents):
    name = contents["form1_clean"]["holder"]["full_name"]
    marks = {c for ch in name for c in unicodedata.normalize("NFD", ch) if unicodedata.combining(c)}
    # sắc, huyền, hỏi, ngã, nặng + breve (ă), circumflex (â ê ô), horn (ơ ư)
    assert marks >= {"\u0301", "\u0300", "\u0309", "\u0303", "\u0323", "\u0306", "\u0302", "\u031b"}
    assert {"đ", "Đ"} & set(name)
    text, _ = pdf_text(issued["form1_clean"].signed_pdf)
    assert name in text


def test_form1_convicted_text(issued, pdf_text):
    text, _ = pdf_text(issued["form1_convicted"].signed_pdf)
    assert "Tình trạng án tích: Có án tích" in text
    assert "Bản án số 11/2011/HS-ST ngày 02/03/2011 của Tòa án nhân dân quận Hoàn Kiếm" in text
    assert "Trộm cắp tài sản (Điều 173 BLHS)" in text
    assert "Hình phạt chính:" in text and "Hình phạt bổ sung:" in text
    assert "Tình trạng thi hành án: Đã chấp hành xong" in text
    assert "xóa án tích" not in text  # Form 1 never shows expungement


def test_form2_expunged_and_ban_text(issued, pdf_text):
    text, _ = pdf_text(issued["form2_expunged_ban"].signed_pdf)
    for s in (
        "PHIẾU LÝ LỊCH TƯ PHÁP SỐ 2",
        "Họ và tên cha:",
        "Nguyễn Văn Bình",
        "Họ và tên mẹ:",
        "Trần Thị Cúc",
        "Họ và tên vợ/chồng:",
        "Lê Thị Dung",
        "Tình trạng án tích: Không có án tích",
        "Đã được xóa án tích ngày 01/01/2019",
        "Thông tin về việc cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã:",
        "Bị cấm đảm nhiệm chức vụ",
        "05/2020/QĐ-PS",
    ):
        assert s in text, s


def test_ban_section_none(signer, issue, contents, pdf_text):
    content = {**contents["form1_clean"], "ban": {"statement": 1, "bans": []}}
    text, _ = pdf_text(issue(content, signer).pdf)
    assert "Thông tin về việc cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã:" in text
    assert "Không bị cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã." in text


def test_place_of_issue_comes_from_settings(issued, contents, pdf_text):
    from ecert.config import load_settings
    from ecert.domain.content import certificate_wording
    from signing import render_certificate_pdf

    settings = load_settings({"ECERT_PLACE_OF_ISSUE": "Đà Nẵng"})
    item = issued["form1_clean"]
    pdf = render_certificate_pdf(
        contents["form1_clean"],
        wording=certificate_wording(settings.place_of_issue),
        qr_text=item.qr,
        token=item.token,
        verification_code="K7QM4XP2T9AB",
    )
    text, _ = pdf_text(pdf)
    assert "Đà Nẵng, ngày 23 tháng 11 năm 2026" in text
    assert "Hà Nội, ngày" not in text
    assert load_settings({}).place_of_issue == "Hà Nội"


def test_statement_wording_is_the_rules_text(issued, pdf_text):
    from ecert.domain import rules

    def vi(table, code):
        return table[code]["vi"]

    clean, _ = pdf_text(issued["form1_clean"].signed_pdf)
    convicted, _ = pdf_text(issued["form1_convicted"].signed_pdf)
    banned, _ = pdf_text(issued["form2_expunged_ban"].signed_pdf)
    assert f"Tình trạng án tích: {vi(rules.RECORD_STATEMENT_TEXT, rules.RECORD_STATEMENT_NONE)}" in clean
    assert f"Tình trạng án tích: {vi(rules.RECORD_STATEMENT_TEXT, rules.RECORD_STATEMENT_HAS)}" in convicted
    assert rules.FORM_NAMES[rules.FORM_2].upper() in banned
    assert f"{rules.BAN_SECTION_HEADING}:" in banned
    assert f"{vi(rules.BAN_STATEMENT_TEXT, rules.BAN_STATEMENT_HAS)}:" in banned
    assert rules.SERVING_STATUS_TEXT["completed"] in convicted


def test_longest_values_wrap_and_stay_on_the_page(issued, pdf_text, contents):
    item = issued["longest"]
    text, pages = pdf_text(item.signed_pdf)
    assert pages >= 2
    squashed = _squash(text)
    content = contents["longest"]
    for value in (
        content["holder"]["full_name"],
        content["holder"]["residence"],
        content["purpose"],
        content["ban"]["bans"][0]["positions"],
        content["record"]["convictions"][9]["court"],
    ):
        assert _squash(value) in squashed
    assert squashed.count("Bảnánsố") == 10
    assert squashed.count("Đãđượcxóaántíchngày") == 5
    _assert_all_glyphs_inside_page(item.signed_pdf)


def test_unbreakable_long_value_wraps(signer, issue, contents, pdf_text, vietnamese_letters):
    # 500 characters without a space: must still be wrapped inside the page
    blob = (vietnamese_letters * 4)[:500]
    content = {**contents["form1_clean"], "purpose": blob}
    item = issue(content, signer)
    text, _ = pdf_text(item.pdf)
    assert _squash(blob) in _squash(text)
    _assert_all_glyphs_inside_page(item.pdf)


def _assert_all_glyphs_inside_page(pdf: bytes) -> None:
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        for page in doc:
            width, height = page.get_size()
            tp = page.get_textpage()
            for i in range(tp.count_chars()):
                left, bottom, right, top = tp.get_charbox(i)
                if right == left == 0:
                    continue  # generated characters (line breaks) have no box
                assert 0 <= left and right <= width, (i, left, right, width)
                assert 0 <= bottom and top <= height
    finally:
        doc.close()


def test_markup_characters_are_escaped(signer, issue, contents, pdf_text):
    content = {**contents["form1_clean"], "purpose": "Hồ sơ <b>A & B</b> > C"}
    text, _ = pdf_text(issue(content, signer).pdf)
    assert "Hồ sơ <b>A & B</b> > C" in text


def test_concurrent_renders_in_threads(issued, contents, pdf_text, wording):
    # gthread workers may render in parallel: every PDF must come out whole
    from concurrent.futures import ThreadPoolExecutor

    from signing import render_certificate_pdf

    names = ["form1_clean", "form1_convicted", "form2_expunged_ban", "form1_clean"]

    def render(name: str) -> bytes:
        item = issued[name]
        return render_certificate_pdf(
            contents[name], wording=wording, qr_text=item.qr, token=item.token, verification_code="K7QM4XP2T9AB"
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(render, names))
    for name, pdf in zip(names, pdfs, strict=True):
        text, _ = pdf_text(pdf)
        assert contents[name]["holder"]["full_name"] in text


# ---------------------------------------------------------------- QR and metadata


def test_qr_decodes_from_rendered_page(issued):
    item = issued["form1_clean"]
    doc = pypdfium2.PdfDocument(io.BytesIO(item.signed_pdf))
    try:
        image = doc[0].render(scale=150 / 72).to_pil()
    finally:
        doc.close()
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode] == [item.qr]


def test_token_in_metadata(issued):
    item = issued["form2_expunged_ban"]
    info = PdfFileReader(io.BytesIO(item.signed_pdf)).trailer["/Info"]
    assert str(info["/EcertToken"]) == item.token
    assert str(info["/Keywords"]) == KEYWORDS_TOKEN_PREFIX + item.token
    # and before signing too
    info = PdfFileReader(io.BytesIO(item.pdf)).trailer["/Info"]
    assert str(info["/EcertToken"]) == item.token


# ---------------------------------------------------------------- PAdES


def test_signed_pdf_is_intact_valid_trusted(issued, signer):
    status = _validate(issued["form1_clean"].signed_pdf, signer.root_certificate)
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    # the embedded chain is DSC + root
    reader = PdfFileReader(io.BytesIO(issued["form1_clean"].signed_pdf))
    certs = reader.embedded_signatures[0].signed_data["certificates"]
    ders = {c.chosen.dump() for c in certs}
    assert ders == {c.public_bytes(Encoding.DER) for c in signer.certificate_chain}


def test_cms_carries_each_certificate_once(issued, signer):
    reader = PdfFileReader(io.BytesIO(issued["form1_clean"].signed_pdf))
    certs = reader.embedded_signatures[0].signed_data["certificates"]
    ders = sorted(c.chosen.dump() for c in certs)
    assert ders == sorted(c.public_bytes(Encoding.DER) for c in signer.certificate_chain)


def test_multi_page_pdf_validates(issued, signer):
    status = _validate(issued["longest"].signed_pdf, signer.root_certificate)
    assert status.bottom_line


def test_flipped_byte_in_signed_range_breaks_signature(issued, signer):
    signed = issued["form1_clean"].signed_pdf
    reader = PdfFileReader(io.BytesIO(signed))
    byte_range = list(reader.embedded_signatures[0].sig_object["/ByteRange"])
    # a byte of the token in the Info dictionary: inside the first signed range
    pos = signed.index(issued["form1_clean"].token.encode()) + 10
    assert byte_range[0] <= pos < byte_range[0] + byte_range[1]
    tampered = bytearray(signed)
    tampered[pos] ^= 0x01
    status = _validate(bytes(tampered), signer.root_certificate)
    assert not status.intact
    assert not status.bottom_line


def test_flipped_byte_in_page_content_breaks_signature(issued, signer):
    signed = issued["form1_convicted"].signed_pdf
    reader = PdfFileReader(io.BytesIO(signed))
    start, length = list(reader.embedded_signatures[0].sig_object["/ByteRange"])[:2]
    tampered = bytearray(signed)
    tampered[start + length // 2] ^= 0x01  # somewhere inside the first range
    try:
        status = _validate(bytes(tampered), signer.root_certificate)
    except Exception:  # noqa: BLE001 - the PDF no longer even parses: also a failure to validate
        return
    assert not status.intact


def test_pdf_signed_under_other_root_is_not_trusted(signer, other_signer, issue, contents):
    item = issue(contents["form1_clean"], other_signer)
    status = _validate(item.signed_pdf, signer.root_certificate)
    assert status.intact  # cryptographically fine...
    assert not status.trusted  # ...but not by our root
    assert not status.bottom_line


def test_pdf_signing_goes_through_signer_protocol_once(signer, issued):
    class CountingSigner:
        """Stand-in for an HSM signer: only the Protocol, no key access."""

        def __init__(self, inner: FileSigner) -> None:
            self.inner = inner
            self.calls = 0

        @property
        def kid(self) -> bytes:
            return self.inner.kid

        @property
        def certificate(self):
            return self.inner.certificate

        @property
        def certificate_chain(self):
            return self.inner.certificate_chain

        def sign(self, data: bytes) -> bytes:
            self.calls += 1
            return self.inner.sign(data)

    counting = CountingSigner(signer)
    signed = sign_pdf(issued["form1_clean"].pdf, counting)
    assert counting.calls == 1  # no dry-run signature spent on size estimation
    assert _validate(signed, signer.root_certificate).bottom_line


@pytest.mark.parametrize("code,shown", [("K7QM4XP2T9AB", "K7QM-4XP2-T9AB"), ("ABC", "ABC")])
def test_verification_code_format(code, shown):
    from signing import format_verification_code

    assert format_verification_code(code) == shown


def test_signed_pdf_is_small_and_declares_nothing_unused(issued):
    """Issue 13: <= 40 KB (was 58 KB). Subsets of the glyphs drawn, two fonts, no Helvetica, the
    Info dictionary (with the token) written once, the CMS carrying each certificate once."""
    from asn1crypto import cms
    from pyhanko.pdf_utils.reader import PdfFileReader

    pdf = issued["form1_clean"].signed_pdf
    assert len(pdf) <= 40_000, len(pdf)
    assert pdf.count(b"/FontFile2") == 2
    assert b"/Helvetica" not in pdf and b"Semibold" not in pdf
    assert pdf.count(b"/EcertToken") == 1  # pyHanko's signing revision did not copy /Info
    assert b"/Subject" not in pdf and b"/Trapped" not in pdf and b"/ModDate" not in pdf.split(b"%%EOF")[0]
    [signature] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    certificates = signature.signed_data["certificates"]
    subjects = [c.chosen.subject.dump() for c in certificates]
    assert len(subjects) == len(set(subjects)) == 2  # DSC and root, each once
    assert isinstance(signature.signed_data, cms.SignedData)
