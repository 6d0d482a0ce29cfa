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
    assert result.checks["signature"].reason == "modified_after_signing"


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


# -- revisions appended after the signature (DESIGN §7: judged by the signed revision only) -------

MODIFIED = "modified_after_signing"


def _append(signed: bytes, change) -> bytes:
    """``signed`` plus one incremental update written by pyHanko's own writer."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert data.startswith(signed) and len(data) > len(signed)  # appended; signed bytes intact
    return data


def _info_in_place(**entries: str):
    """Rewrite the signed revision's own /Info object (same object number): the update that used
    to pass as "valid" with the new token's fields."""
    def change(writer) -> None:
        from pyhanko.pdf_utils import generic

        info = writer.trailer["/Info"]
        for key, value in entries.items():
            info[generic.NameObject("/" + key)] = generic.TextStringObject(value)
        writer.update_container(info)

    return change


def _info_new_object(**entries: str):
    """A new /Info dictionary (a new object) in the appended revision."""
    def change(writer) -> None:
        from pyhanko.pdf_utils import generic

        info = generic.DictionaryObject()
        info.update(writer.trailer["/Info"])
        for key, value in entries.items():
            info[generic.NameObject("/" + key)] = generic.TextStringObject(value)
        writer.set_info(info)

    return change


def _annotation(text: str = "Đã xóa án tích", subtype: str = "/FreeText",
                rect: tuple[float, ...] = (72.0, 600.0, 300.0, 640.0)):
    def change(writer) -> None:
        from pyhanko.pdf_utils import generic

        page = writer.root["/Pages"]["/Kids"][0].get_object()
        annot = generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject(subtype),
            generic.NameObject("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in rect]),
            generic.NameObject("/Contents"): generic.TextStringObject(text),
            generic.NameObject("/DA"): generic.pdf_string("/Helv 12 Tf 0 g"),
        })
        existing = page.get("/Annots")
        refs = [existing.raw_get(i) for i in range(len(existing))] if existing else []
        page[generic.NameObject("/Annots")] = generic.ArrayObject([*refs, writer.add_object(annot)])
        writer.update_container(page)

    return change


def _page_content(writer) -> None:
    from pyhanko.pdf_utils import generic

    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 700 Td (Co an tich) Tj ET")
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), writer.add_object(stream)])
    writer.update_container(page)


def _untouched(writer) -> None:
    writer.update_root()  # a revision that rewrites the catalog as it was


def _other_token(factory, kit, cti: bytes = b"\x02" * 16, ours: dict | None = None) -> str:
    """A genuine token of another certificate, signed by the same DSC."""
    claims = kit.default_claims({1: "LLTP-2026-00000999", 3: "Trần Thị Bình", 6: 0, **(ours or {})})
    claims[7] = cti
    return factory.token(claims)


def _assert_modified(result) -> None:
    assert result.outcome == "tampered", result
    assert result.checks["signature"].reason == MODIFIED, result
    assert result.certificate is None  # nothing from an unsigned revision is shown as ours


@pytest.mark.parametrize("make_change", [
    pytest.param(lambda _f, _k: _info_in_place(Title="Phiếu đã sửa"), id="info-only-in-place"),
    pytest.param(lambda _f, _k: _info_new_object(Producer="someone"), id="info-only-new-object"),
    pytest.param(lambda f, k: _info_in_place(EcertToken=_other_token(f, k)), id="token-swap-in-place"),
    pytest.param(lambda f, k: _info_new_object(EcertToken=_other_token(f, k)), id="token-swap-new-object"),
    pytest.param(lambda _f, _k: _annotation(), id="annotation"),
    pytest.param(lambda _f, _k: _page_content, id="page-content"),
    pytest.param(lambda _f, _k: _untouched, id="catalog-rewritten-unchanged"),
])
def test_any_revision_appended_after_the_signature_is_tampered(factory, kit, signed_pdf, make_change):
    assert _verify(factory, kit, signed_pdf).outcome == "valid"  # the file before the update
    _assert_modified(_verify(factory, kit, _append(signed_pdf, make_change(factory, kit))))


def test_revoked_pdf_given_the_holders_newer_valid_token(factory, kit):
    from verification import CertificateStatus

    old_cti, new_cti = b"\x01" * 16, b"\x02" * 16
    claims = kit.default_claims()
    claims[7] = old_cti
    pdf = kit.sign_pdf(kit.make_pdf(), factory.dsc_key, factory.dsc, [factory.root],
                       factory.token(claims))
    newer = _other_token(factory, kit, new_cti, {1: "LLTP-2026-00000123", 3: "Nguyễn Văn An"})

    def lookup(cti: bytes) -> CertificateStatus:
        return CertificateStatus("revoked" if cti == old_cti else "valid")

    trust = factory.trust_list()
    assert verify_pdf(pdf, trust, lookup, now=kit.NOW).outcome == "revoked"
    for change in (_info_in_place, _info_new_object):
        forged = _append(pdf, change(EcertToken=newer, Keywords="ecert-token:" + newer))
        _assert_modified(verify_pdf(forged, trust, lookup, now=kit.NOW))
        assert read_pdf_token(forged) != newer  # the CLI asks a server about the signed token


def test_token_is_read_from_the_signed_bytes(factory, kit, signed_pdf, our_token):
    swapped = _append(signed_pdf, _info_in_place(EcertToken=_other_token(factory, kit)))
    assert read_pdf_token(swapped) == our_token


def test_cli_says_tampered_for_an_appended_revision(factory, kit, signed_pdf, tmp_path,
                                                   fake_server, our_token):
    import json

    from verification.cli import main

    trust_file = tmp_path / "trust-list.json"
    trust_file.write_text(json.dumps(factory.trust_dict()))
    forged = tmp_path / "phieu.pdf"
    forged.write_bytes(_append(signed_pdf, _info_in_place(EcertToken=_other_token(factory, kit))))
    for extra in (["--trust-list", str(trust_file)], ["--server", fake_server.url]):
        out = io.StringIO()
        code = main([str(forged), "--json", *extra], stdout=out, stderr=io.StringIO(), now=kit.NOW)
        body = json.loads(out.getvalue())
        assert (code, body["outcome"]) == (1, "tampered"), body
        assert body["checks"]["signature"]["reason"] == MODIFIED
    # The server (which says "valid" to anything here) is never asked about the swapped token.
    assert all(posted == {"qr": our_token} for posted in fake_server.posted)


# Hypothesis: whatever revision is appended after the signature, the verdict is never "valid".

def _raw_update(signed: bytes, junk: bytes, objects: dict[int, bytes]) -> bytes:
    """``signed`` + ``junk`` + a hand-written classic xref section adding ``objects``: the update
    a forger writes without any PDF library."""
    import re

    from pyhanko.pdf_utils.reader import PdfFileReader

    trailer = PdfFileReader(io.BytesIO(signed)).trailer
    root = trailer.raw_get("/Root")
    info = trailer.raw_get("/Info")
    size = int(trailer["/Size"])
    prev = int(re.findall(rb"startxref\s+(\d+)", signed)[-1])
    out = bytearray(signed + junk)
    out += b"\n"
    offsets: dict[int, int] = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n"
    for number in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    new_size = max([size, *(n + 1 for n in offsets)])
    out += (b"trailer\n<< /Size %d /Root %d %d R /Info %d %d R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (new_size, root.idnum, root.generation, info.idnum, info.generation, prev, xref_at))
    return bytes(out)


def _pdf_hex(value: bytes) -> bytes:
    return b"<" + value.hex().encode() + b">"


def test_property_nothing_appended_after_the_signature_is_ever_valid(factory, kit, signed_pdf):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from pyhanko.pdf_utils.reader import PdfFileReader

    other = _other_token(factory, kit)
    trust = factory.trust_list()
    lookup = kit.status_of("valid")
    info_ref = PdfFileReader(io.BytesIO(signed_pdf)).trailer.raw_get("/Info")

    names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,11}", fullmatch=True)
    texts = st.one_of(st.text(max_size=60), st.just(other))
    info_changes = st.builds(
        lambda entries, in_place: (_info_in_place if in_place else _info_new_object)(**entries),
        st.dictionaries(st.one_of(names, st.just("EcertToken")), texts, min_size=1, max_size=4),
        st.booleans(),
    )

    def add_objects(values: list[dict[str, str]]):
        def change(writer) -> None:
            from pyhanko.pdf_utils import generic

            for entries in values:
                writer.add_object(generic.DictionaryObject({
                    generic.NameObject("/" + k): generic.TextStringObject(v)
                    for k, v in entries.items()}))
            writer.update_root()

        return change

    object_changes = st.builds(
        add_objects, st.lists(st.dictionaries(names, st.text(max_size=30), max_size=3),
                              min_size=1, max_size=3))
    coords = st.floats(min_value=-1000, max_value=2000, allow_nan=False, allow_infinity=False)
    annotation_changes = st.builds(
        _annotation, st.text(max_size=80),
        st.sampled_from(["/Text", "/FreeText", "/Square", "/Link", "/Stamp"]),
        st.tuples(coords, coords, coords, coords))
    raw_updates = st.builds(
        lambda junk, bodies, override_info, token: _raw_update(
            signed_pdf, junk,
            {**{info_ref.idnum + 1000 + i: b for i, b in enumerate(bodies)},
             **({info_ref.idnum: b"<< /EcertToken %s >>" % _pdf_hex(token.encode())}
                if override_info else {})}),
        st.binary(max_size=300),
        st.lists(st.one_of(
            st.integers().map(lambda n: str(n).encode()),
            st.binary(max_size=40).map(_pdf_hex),
            st.dictionaries(names, st.binary(max_size=20), max_size=3).map(
                lambda d: b"<< " + b" ".join(b"/" + k.encode() + b" " + _pdf_hex(v)
                                             for k, v in d.items()) + b" >>"),
        ), max_size=3),
        st.booleans(),
        st.sampled_from([other, "junk"]),
    )
    updates = st.one_of(
        st.builds(lambda change: _append(signed_pdf, change),
                  st.one_of(info_changes, object_changes, annotation_changes)),
        raw_updates,
    )

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(updates)
    def check(data: bytes) -> None:
        result = verify_pdf(data, trust, lookup, now=kit.NOW)
        assert result.outcome == "tampered", result
        assert result.checks["signature"].reason in (MODIFIED, "pdf_signature_invalid"), result

    check()


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
