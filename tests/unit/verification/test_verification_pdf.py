"""verify_pdf: PAdES signature by our DSC + the token in /Info, against hostile files."""

from __future__ import annotations

import io
import time

import pytest

from verification import verify_pdf
from verification.pdf import read_pdf_token


def _verify(factory, kit, data: bytes, state: str | None = "valid", **kw):
    lookup = kit.status_of(state) if state else None
    return verify_pdf(data, factory.trust_list(**kw), lookup, now=kit.NOW)


def test_signed_pdf_is_valid(factory, kit, signed_pdf):
    result = _verify(factory, kit, signed_pdf)
    assert result.outcome == "valid", result
    assert result.certificate is not None and result.certificate.number == "LLTP-2026-00000123"
    assert result.kid == kit.b64url(factory.kid)


def test_signed_pdf_with_pinned_root(factory, kit, signed_pdf):
    assert _verify(factory, kit, signed_pdf, root=factory.root).outcome == "valid"


def test_signed_pdf_offline_and_revoked(factory, kit, signed_pdf):
    assert _verify(factory, kit, signed_pdf, state=None).outcome == "status_unavailable"
    assert _verify(factory, kit, signed_pdf, state="revoked").outcome == "revoked"
    assert _verify(factory, kit, signed_pdf, status="revoked").outcome == "signer_revoked"


def test_flipped_byte_in_content_is_tampered(factory, kit, signed_pdf):
    at = signed_pdf.find(b"LLTP-2026")
    assert at > 0
    flipped = signed_pdf[:at] + b"X" + signed_pdf[at + 1:]
    result = _verify(factory, kit, flipped)
    assert result.outcome == "tampered"
    assert result.checks["signature"].reason == "pdf_modified"


def test_flipped_bytes_anywhere_never_valid(factory, kit, signed_pdf):
    # A sweep of single-byte flips over every signed byte (all but the /Contents hex string,
    # whose unsigned parts, such as the certificate bag, may change harmlessly).
    import re

    start, gap_start, gap_end, _ = map(int, re.search(
        rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", signed_pdf).groups())
    assert start == 0
    step = max(1, len(signed_pdf) // 60)
    for at in range(0, len(signed_pdf), step):
        if gap_start <= at < gap_end:
            continue
        flipped = signed_pdf[:at] + bytes([signed_pdf[at] ^ 0x01]) + signed_pdf[at + 1:]
        result = _verify(factory, kit, flipped)
        assert result.outcome in ("tampered", "malformed"), (at, result)


def test_appended_update_changing_the_token_is_tampered(factory, kit, signed_pdf):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    info = generic.DictionaryObject()
    info.update(writer.trailer["/Info"])
    forged = factory.token(kit.default_claims({6: 1}))
    info[generic.NameObject("/EcertToken")] = generic.TextStringObject(forged)
    writer.set_info(info)
    out = io.BytesIO()
    writer.write(out)
    result = _verify(factory, kit, out.getvalue())
    assert result.outcome == "tampered"
    assert result.checks["signature"].reason == "pdf_modified"


def test_appended_page_content_is_tampered(factory, kit, signed_pdf):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 700 Td (Co an tich) Tj ET")
    page["/Contents"] = generic.ArrayObject([page["/Contents"], writer.add_object(stream)])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    assert _verify(factory, kit, out.getvalue()).outcome == "tampered"


def test_signed_by_another_root_is_unknown_issuer(factory, kit):
    pdf = kit.sign_pdf(kit.make_pdf(), factory.other_dsc_key, factory.other_dsc,
                       [factory.other_root], factory.token())
    result = _verify(factory, kit, pdf)
    assert result.outcome == "unknown_issuer"
    assert result.checks["issuer"].reason == "chain_not_to_root"


def test_signed_by_our_root_but_unlisted_dsc_is_unknown_issuer(factory, kit):
    key, dsc = kit.make_dsc(factory.root_key, factory.root, "unlisted DSC")
    pdf = kit.sign_pdf(kit.make_pdf(), key, dsc, [factory.root], factory.token())
    result = _verify(factory, kit, pdf)
    assert result.outcome == "unknown_issuer"
    assert result.checks["issuer"].reason == "unknown_kid"


def test_token_signed_by_another_dsc_than_the_pdf(factory, kit):
    # Both DSCs are ours and listed, but the PDF and its token disagree about who signed.
    key, dsc = kit.make_dsc(factory.root_key, factory.root, "second DSC")
    trust = factory.trust_dict(extra=[kit.jwk_entry(dsc, [factory.root])])
    pdf = kit.sign_pdf(kit.make_pdf(), key, dsc, [factory.root], factory.token())
    from verification import TrustList

    result = verify_pdf(pdf, TrustList.from_json(trust), kit.status_of(), now=kit.NOW)
    assert result.outcome == "tampered"
    assert result.checks["signature"].reason == "signer_mismatch"


def test_unsigned_pdf_claiming_to_be_ours_is_tampered(factory, kit):
    result = _verify(factory, kit, kit.pdf_with_info_token(factory.token()))
    assert result.outcome == "tampered"
    assert result.checks["signature"].reason == "unsigned_pdf"


def test_random_unsigned_pdf_is_malformed(factory, kit):
    result = _verify(factory, kit, kit.make_pdf("just some PDF"))
    assert result.outcome == "malformed"
    assert result.checks["format"].reason == "unsigned_pdf"


def test_signed_by_us_without_token_is_malformed(factory, kit):
    pdf = kit.sign_pdf(kit.make_pdf(), factory.dsc_key, factory.dsc, [factory.root], None)
    result = _verify(factory, kit, pdf)
    assert result.outcome == "malformed"
    assert result.checks["format"].reason == "no_token"
    assert result.checks["signature"].ok


def test_signed_pdf_with_junk_token_is_malformed(factory, kit):
    pdf = kit.sign_pdf(kit.make_pdf(), factory.dsc_key, factory.dsc, [factory.root], "junk!")
    assert _verify(factory, kit, pdf).outcome == "malformed"


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"hello, not a pdf", "not_pdf"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not_pdf"),
    (b"%PDF-1.7\n garbage garbage\n%%EOF", "pdf_unreadable"),
    (b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 3, "pdf_unreadable"),
])
def test_not_a_pdf(factory, kit, data, reason):
    started = time.perf_counter()
    result = _verify(factory, kit, data)
    assert result.outcome == "malformed"
    assert result.checks["format"].reason == reason
    assert time.perf_counter() - started < 2


def test_size_cap(factory, kit, signed_pdf):
    result = verify_pdf(signed_pdf, factory.trust_list(), None, now=kit.NOW, max_bytes=1000)
    assert result.outcome == "malformed" and result.checks["format"].reason == "too_large"


def test_truncated_pdf(factory, kit, signed_pdf):
    for cut in (len(signed_pdf) // 3, len(signed_pdf) // 2, len(signed_pdf) - 10):
        assert _verify(factory, kit, signed_pdf[:cut]).outcome in ("malformed", "tampered")


def test_read_pdf_token(factory, kit, signed_pdf, our_token):
    assert read_pdf_token(signed_pdf) == our_token
    assert read_pdf_token(b"not a pdf") is None
    assert read_pdf_token(kit.make_pdf()) is None
