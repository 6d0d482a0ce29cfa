"""Fixtures for signing/ tests: a throwaway PKI per session and sample certificate content.

Helpers are exposed as fixtures (not an importable module) because tests/
has no __init__.py files: a helper module name could clash with another
test directory's.
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecert.domain.content import certificate_wording
from signing import (
    FileSigner,
    TokenClaims,
    canonical_json,
    create_dev_pki,
    qr_text,
    render_certificate_pdf,
    sign_pdf,
    sign_token,
)

BASE_URL = "https://ecert.example.gov.vn"
ISSUER_ID = "VN-NJRC"
AUTHORITY = "Trung tâm Lý lịch tư pháp quốc gia"
# The words the PDF takes from the rules, as issuance passes them (the default place of issue).
WORDING = certificate_wording("Hà Nội")

# Every precomposed Vietnamese letter: 12 vowels x 6 tones, plus đ, both cases.
_VOWELS = "aăâeêioôơuưy"
_TONES = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]  # sắc huyền hỏi ngã nặng
VIETNAMESE_LOWER = "".join(
    unicodedata.normalize("NFC", v + t) for v in _VOWELS for t in _TONES
) + "đ"
VIETNAMESE_LETTERS = VIETNAMESE_LOWER + VIETNAMESE_LOWER.upper()

# A plausible name carrying every tone mark and every modified letter
# (ă â ê ô ơ ư đ); test_signing_pdf checks that claim on the data itself.
DIACRITIC_NAME = "Đặng Lữ Thị Ẩn Hoàng Ưng Ơn Phượng Tuyết Ễ Ổ Ỷ Ằng Ấu Ốc"


@pytest.fixture(scope="session")
def vietnamese_letters() -> str:
    """All 134 precomposed Vietnamese letters (both cases), NFC."""
    return VIETNAMESE_LETTERS


@dataclass(frozen=True)
class Issued:
    content: dict[str, Any]
    canonical: bytes
    claims: TokenClaims
    token: str
    qr: str
    pdf: bytes
    signed_pdf: bytes


def _conviction(i: int, *, expunged: bool = False, long: bool = False) -> dict[str, Any]:
    filler = (" " + VIETNAMESE_LETTERS[: 40 + i]) if long else ""
    return {
        "court": f"Tòa án nhân dân quận Hoàn Kiếm, thành phố Hà Nội{filler}",
        "judgment_number": f"{10 + i}/201{i % 10}/HS-ST",
        "judgment_date": f"201{i % 10}-03-0{1 + i % 9}",
        "offences": [
            {"article": "173", "name": f"Trộm cắp tài sản{filler}"},
            {"article": "134", "name": "Cố ý gây thương tích hoặc gây tổn hại cho sức khỏe của người khác"},
        ],
        "principal_penalty": f"0{1 + i % 9} năm tù{filler}",
        "additional_penalties": ["Phạt tiền 5.000.000 đồng", f"Cấm cư trú 02 năm{filler}"],
        "serving_status": "completed",
        "expunged": expunged,
        "expunged_at": "2019-01-01" if expunged else None,
        "basis": None,
    }


def _content(
    form_type: int,
    *,
    number: str = "LLTP-2026-00000123",
    full_name: str = "Nguyễn Văn An",
    convictions: list[dict[str, Any]] | None = None,
    ban: dict[str, Any] | None = None,
    residence: str = "12 Hàng Bài, Hoàn Kiếm, Hà Nội",
    purpose: str = "Bổ sung hồ sơ xin việc",
    statement: int | None = None,
) -> dict[str, Any]:
    convictions = convictions or []
    if statement is None:
        statement = 1 if any(not c["expunged"] for c in convictions) else 0
    holder: dict[str, Any] = {
        "full_name": full_name,
        "full_name_ascii": "Nguyen Van An",
        "birth_date": "1990-05-17",
        "gender": "male",
        "personal_id": "001090012345",
        "nationality": "Việt Nam",
        "place_of_birth": "Hà Nội",
        "residence": residence,
        "father_name": None,
        "mother_name": None,
        "spouse_name": None,
    }
    if form_type == 2:
        holder.update(father_name="Nguyễn Văn Bình", mother_name="Trần Thị Cúc", spouse_name="Lê Thị Dung")
    return {
        "schema": 1,
        "number": number,
        "form_type": form_type,
        "issued_at": "2026-11-23T08:15:00Z",
        "issuer": {"id": ISSUER_ID, "authority": AUTHORITY},
        "holder": holder,
        "purpose": purpose,
        "request_id": "8d7f1c52-3c1e-4b7e-9b4a-0c6a0f1f2e3d",
        "record": {"statement": statement, "convictions": convictions},
        "ban": ban,
    }


@pytest.fixture(scope="session")
def contents() -> dict[str, dict[str, Any]]:
    """The sample certificates the tests render, by name."""
    long_name = " ".join(VIETNAMESE_LETTERS[i : i + 9] for i in range(0, 90, 9))[:100]
    long_text = " ".join(VIETNAMESE_LETTERS[i % 120 : i % 120 + 8] for i in range(0, 500, 8))[:500]
    return {
        "form1_clean": _content(1, full_name=DIACRITIC_NAME),
        "form1_convicted": _content(1, convictions=[_conviction(1)]),
        "form2_expunged_ban": _content(
            2,
            convictions=[_conviction(1, expunged=True)],
            ban={
                "statement": 2,
                "bans": [
                    {
                        "decision": "05/2020/QĐ-PS",
                        "court": "Tòa án nhân dân thành phố Hà Nội",
                        "positions": "Giám đốc, thành viên Hội đồng quản trị doanh nghiệp",
                        "from": "2020-01-01",
                        "to": "2025-01-01",
                    }
                ],
            },
        ),
        "longest": _content(
            2,
            number="LLTP-2026-99999999",
            full_name=long_name,
            residence=long_text,
            purpose=long_text[::-1].strip(),
            convictions=[_conviction(i, expunged=i % 2 == 0, long=True) for i in range(10)],
            ban={
                "statement": 2,
                "bans": [
                    {
                        "decision": f"0{i}/2020/QĐ-PS",
                        "court": "Tòa án nhân dân thành phố Hồ Chí Minh",
                        "positions": long_text[:200],
                        "from": "2020-01-01",
                        "to": None,
                    }
                    for i in range(5)
                ],
            },
        ),
    }


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="session")
def dev_pki(pki_dir: Path):
    return create_dev_pki(pki_dir, ISSUER_ID, AUTHORITY)


@pytest.fixture(scope="session")
def signer(dev_pki) -> FileSigner:
    return FileSigner.from_files(dev_pki.dsc_key_path, dev_pki.dsc_cert_path, dev_pki.root_cert_path)


@pytest.fixture(scope="session")
def other_signer(tmp_path_factory: pytest.TempPathFactory) -> FileSigner:
    """A signer under a different, untrusted root (a forger's PKI)."""
    p = create_dev_pki(tmp_path_factory.mktemp("other-pki"), "XX-FORGED", "Cơ quan giả mạo")
    return FileSigner.from_files(p.dsc_key_path, p.dsc_cert_path, p.root_cert_path)


@pytest.fixture(scope="session")
def claims_for() -> Callable[[dict[str, Any]], TokenClaims]:
    def make(content: dict[str, Any], cti: bytes | None = None) -> TokenClaims:
        from signing.cose import token_claims

        issued_at = int(datetime(2026, 11, 23, 8, 15, tzinfo=UTC).timestamp())
        return token_claims(content, issued_at=issued_at, cti=cti or os.urandom(16))

    return make


@pytest.fixture(scope="session")
def issue(claims_for) -> Callable[..., Issued]:
    """Run the whole issuance pipeline for ``content`` with ``signer``."""

    def run(content: dict[str, Any], signer: FileSigner) -> Issued:
        claims = claims_for(content)
        token = sign_token(claims, signer)
        qr = qr_text(BASE_URL, token)
        pdf = render_certificate_pdf(
            content, wording=WORDING, qr_text=qr, token=token, verification_code="K7QM4XP2T9AB"
        )
        return Issued(content, canonical_json(content), claims, token, qr, pdf, sign_pdf(pdf, signer))

    return run


@pytest.fixture(scope="session")
def wording():
    """The certificate wording issuance hands to the PDF (rules' statements, place "Hà Nội")."""
    return WORDING


@pytest.fixture(scope="session")
def issued(contents, signer, issue) -> dict[str, Issued]:
    """Every sample content issued once per session (rendering is the slow part)."""
    return {name: issue(content, signer) for name, content in contents.items()}


@pytest.fixture(scope="session")
def pdf_text() -> Callable[[bytes], tuple[str, int]]:
    """All text of a PDF (NFC) and its page count, via pypdfium2."""
    import pypdfium2

    def extract(pdf: bytes) -> tuple[str, int]:
        doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
        try:
            texts = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
            return unicodedata.normalize("NFC", "\n".join(texts)), len(doc)
        finally:
            doc.close()

    return extract
