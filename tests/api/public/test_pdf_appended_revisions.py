"""POST /api/v1/verifications/pdf judges a PDF by its signed revision only (DESIGN §7).

The PDFs here are the service's own (issued through the API, certified with DocMDP P=1); the
forgeries append one incremental update with pyHanko's own writer, as a holder with a PDF library
would. Every one of them must be ``tampered`` with reason ``modified_after_signing``.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from tests.api.public.test_verification_api import (
    AN,
    BINH,
    issue,
    pdf_of,
    revoke_in_db,
    token_of,
    verify_upload,
)

Change = Callable[[IncrementalPdfFileWriter], None]


def append(signed: bytes, change: Change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(signed)
    return out.getvalue()


def info_in_place(**entries: str) -> Change:
    """Rewrite the signed revision's /Info object under its own number."""
    def change(writer: IncrementalPdfFileWriter) -> None:
        info = writer.trailer["/Info"]
        for key, value in entries.items():
            info[generic.NameObject("/" + key)] = generic.TextStringObject(value)
        writer.update_container(info)

    return change


def annotation(writer: IncrementalPdfFileWriter) -> None:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    note = writer.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (60, 500, 400, 540)]),
        generic.NameObject("/Contents"): generic.TextStringObject("Không có án tích"),
        generic.NameObject("/DA"): generic.pdf_string("/Helv 14 Tf 0 g"),
    }))
    existing = page.get("/Annots")
    refs = [existing.raw_get(i) for i in range(len(existing))] if existing else []
    page[generic.NameObject("/Annots")] = generic.ArrayObject([*refs, note])
    writer.update_container(page)


def page_content(writer: IncrementalPdfFileWriter) -> None:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    extra = writer.add_object(generic.StreamObject(stream_data=b"1 1 1 rg 60 400 480 200 re f"))
    contents = page.raw_get("/Contents")
    page[generic.NameObject("/Contents")] = generic.ArrayObject(
        [*(contents if isinstance(contents, generic.ArrayObject) else [contents]), extra])
    writer.update_container(page)


def assert_modified(body: dict[str, Any]) -> None:
    assert body["outcome"] == "tampered", body
    assert body["checks"]["signature"] == {"ok": False, "reason": "modified_after_signing"}, body
    assert body["certificate"] is None


@pytest.fixture
def seeded(app):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    return app


def test_every_appended_revision_is_tampered(seeded, client, auth):
    an = issue(seeded, client, auth, AN)
    binh = issue(seeded, client, auth, BINH)
    pdf = pdf_of(client, an)
    assert verify_upload(client, pdf)["outcome"] == "valid"
    forgeries = {
        "info only": info_in_place(Title="Phiếu lý lịch tư pháp (bản sửa)"),
        "token of another certificate": info_in_place(
            EcertToken=token_of(binh), Keywords="ecert-token:" + token_of(binh)),
        "annotation": annotation,
        "page content": page_content,
    }
    for name, change in forgeries.items():
        body = verify_upload(client, append(pdf, change))
        assert_modified(body)
        assert body["outcome"] == "tampered", name


def test_revoked_pdf_given_the_holders_newer_valid_token(seeded, client, auth):
    old = issue(seeded, client, auth, AN)
    pdf = pdf_of(client, old)
    revoke_in_db(seeded, old["id"])
    newer = issue(seeded, client, auth, AN)
    assert verify_upload(client, pdf)["outcome"] == "revoked"
    assert verify_upload(client, pdf_of(client, newer))["outcome"] == "valid"
    forged = append(pdf, info_in_place(EcertToken=token_of(newer), Keywords="ecert-token:" + token_of(newer)))
    assert_modified(verify_upload(client, forged))
