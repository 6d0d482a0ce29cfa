"""``python -m bench.issuance_profile [--output FILE] [--count N]``: the signing half of issuance,
profiled with pyinstrument, plus the medians of its parts.

In-process, one core, no database or server: a throwaway dev PKI, the bench's typical Form 1
content, fresh tokens (so no QR is remembered from an earlier text). Parts: the QR symbol alone,
the PDF render with its QR, the same render again (symbol remembered: the render without the
QR), the PAdES signature, and the signed PDF's size. Only signing/ APIs that the earlier token
spelling had too are used, so the same file profiles the code before and after a change.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_URL = "https://ecert.example.gov.vn"


def _content(number: int, name: str) -> dict[str, Any]:
    return {
        "schema": 1, "number": f"LLTP-2026-{number:08d}", "form_type": 1, "issued_at": "2026-11-23T08:15:00Z",
        "issuer": {"id": "VN-NJRC", "authority": "Trung tâm Lý lịch tư pháp quốc gia"},
        "holder": {"full_name": name, "full_name_ascii": "Nguyen Van Minh", "birth_date": "1990-01-01",
                   "gender": "male", "personal_id": "001090999999", "nationality": "Việt Nam",
                   "place_of_birth": None, "residence": "12 Hàng Bài, Hoàn Kiếm, Hà Nội",
                   "father_name": None, "mother_name": None, "spouse_name": None},
        "purpose": "Bổ sung hồ sơ xin việc", "request_id": f"bench-{number}",
        "record": {"statement": 0, "convictions": []}, "ban": None,
    }


def _median_ms(fn: Callable[[Any], Any], items: list[Any]) -> float:
    # CPU time of this process: on a shared machine, wall time counts the waits for a core too.
    times = []
    for item in items:
        started = time.process_time()
        fn(item)
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="write the report here too")
    parser.add_argument("--count", type=int, default=30, help="certificates per part (default 30)")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler

    from ecert.config import DEFAULT_PLACE_OF_ISSUE
    from ecert.domain.content import certificate_wording
    from signing import FileSigner, create_dev_pki, qr_text, render_certificate_pdf, sign_pdf, sign_token
    from signing.cose import token_claims
    from signing.qr import qr_matrix, qr_version

    pki = create_dev_pki(Path(tempfile.mkdtemp(prefix="ecert-profile-")), "VN-NJRC", "Trung tâm Lý lịch tư pháp")
    signer = FileSigner.from_files(pki.dsc_key_path, pki.dsc_cert_path, pki.root_cert_path)
    wording = certificate_wording(DEFAULT_PLACE_OF_ISSUE)
    serial = iter(range(1, 10**6))

    def fresh(count: int, name: str = "Nguyễn Văn Minh") -> list[tuple[dict[str, Any], str, str]]:
        out = []
        for _ in range(count):
            content = _content(next(serial), name)
            token = sign_token(token_claims(content, issued_at=int(time.time()), cti=secrets.token_bytes(16)), signer)
            out.append((content, token, qr_text(BASE_URL, token)))
        return out

    def render(item: tuple[dict[str, Any], str, str]) -> bytes:
        content, token, text = item
        return render_certificate_pdf(content, wording=wording, qr_text=text, token=token,
                                      verification_code="ABCDEFGH2345")

    sign_pdf(render(fresh(1)[0]), signer)  # warm: fonts, key, imports
    items = fresh(args.count)
    figures = {"QR symbol (fresh text)": _median_ms(lambda item: qr_matrix(item[2]), fresh(args.count))}
    figures["PDF render incl. QR (fresh text)"] = _median_ms(render, items)
    # The same texts again: each QR symbol (version and mask) is remembered per text by now.
    figures["PDF render, QR symbol remembered"] = _median_ms(render, items)
    pdfs = [render(item) for item in items]
    figures["PAdES sign"] = _median_ms(lambda pdf: sign_pdf(pdf, signer), pdfs)
    signed = sign_pdf(pdfs[0], signer)
    long_name = ("Nguyễn Hoàng Phượng Thị Ngọc Diễm Hương Quỳnh Anh Lê Trần Đặng " * 2)[:100]
    lines = [f"{label:<40} {value:8.1f} ms CPU (median of {args.count})" for label, value in figures.items()]
    lines += [
        f"{'signed PDF size':<40} {len(signed):8d} B",
        f"{'QR version, typical name':<40} {qr_version(items[0][2]):8d}",
        f"{'QR version, 100-character name':<40} {qr_version(fresh(1, long_name)[0][2]):8d}",
        f"{'token length, typical name':<40} {len(items[0][1]):8d} chars",
    ]

    profiler = Profiler(interval=0.0005)
    with profiler:
        for item in fresh(args.count):
            sign_pdf(render(item), signer)
    report = "\n".join(lines) + "\n\n" + profiler.output_text(unicode=True, color=False, show_all=False)
    print(report)
    if args.output:
        args.output.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
