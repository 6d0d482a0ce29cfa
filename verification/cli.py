"""``python -m verification``: check a certificate from its QR text, a photo of the QR, or its PDF.

    python -m verification <QR text | token | PNG/JPEG | PDF | ->
        (--trust-list FILE | --server URL) [--root ROOT.pem] [--lang vi|en] [--json]

* ``--trust-list FILE``: verify offline against a saved trust list. The signature is checked, the
  revocation status cannot be: the verdict is "signature genuine, revocation status not checked
  (offline)", outcome ``status_unavailable``, exit code 3 — never "valid" (DESIGN §7).
* ``--server URL``: fetch ``{URL}/.well-known/ecert/trust-list.json`` (unless ``--trust-list`` is
  also given), verify the signature locally, and ask ``POST {URL}/api/v1/verifications`` for the
  revocation status (only the token is sent, never the PDF).
* ``--root FILE``: pin the root CA (PEM or DER) instead of trusting the list's own chain.

Exit codes: 0 valid; 1 a definite negative (revoked, tampered, unknown issuer, signer revoked,
malformed, not found); 2 usage errors (bad arguments, unreadable file, no QR in the image, unreadable
trust list file); 3 status could not be checked (offline, server unreachable).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import IO

from . import messages
from .core import verify_token
from .result import CHECK_NAMES, VerificationResult
from .status import StatusLookup
from .token import MAX_INPUT_CHARS
from .trust import TrustList, TrustListError, load_certificate

EXIT_VALID = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")

_OFFLINE_NOTE = {
    "vi": "Chữ ký số là thật, nhưng CHƯA kiểm tra tình trạng thu hồi (kiểm tra ngoại tuyến). "
    "Dùng --server URL để kiểm tra trực tuyến.",
    "en": "Signature genuine, revocation status NOT checked (offline). Use --server URL to check online.",
}
_SERVER_SAYS = {"vi": "Máy chủ trả lời", "en": "The server answered"}
_CHECKS_TITLE = {"vi": "Các bước kiểm tra", "en": "Checks"}
_NO_QR = {"vi": "Không đọc được mã QR nào trong ảnh", "en": "No QR code could be read from the image"}


class UsageError(Exception):
    pass


def exit_code(outcome: str) -> int:
    if outcome == "valid":
        return EXIT_VALID
    if outcome == "status_unavailable":
        return EXIT_UNAVAILABLE
    return EXIT_NEGATIVE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verification",
        description="Verify an ecert judicial-record certificate (Phiếu lý lịch tư pháp).",
    )
    parser.add_argument(
        "target",
        help="QR text or bare token, a PNG/JPEG photo of the QR, a PDF, or - to read the QR text from standard input",
    )
    parser.add_argument("--trust-list", metavar="FILE", help="saved trust-list.json (offline)")
    parser.add_argument(
        "--server", metavar="URL", help="issuing server: fetch its trust list and check revocation status online"
    )
    parser.add_argument("--root", metavar="FILE", help="pin this root CA certificate (PEM or DER)")
    parser.add_argument("--lang", choices=messages.LANGS, default=messages.DEFAULT_LANG)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--timeout", type=float, default=10.0, help="network timeout, seconds")
    return parser


def _read_target(target: str, stdin: IO[str]) -> tuple[str, bytes | str]:
    """("pdf", bytes) | ("image", bytes) | ("text", str) for what the user gave."""
    from .image import MAX_IMAGE_BYTES
    from .pdf import MAX_PDF_BYTES

    if target == "-":
        return "text", stdin.read(MAX_INPUT_CHARS + 1)
    if not os.path.isfile(target):
        if (
            os.sep in target
            and "://" not in target
            and len(target) < 256
            and (target.lower().endswith((".pdf", ".png", ".jpg", ".jpeg")))
        ):
            raise UsageError(f"no such file: {target}")
        return "text", target
    try:
        with open(target, "rb") as fh:
            data = fh.read(max(MAX_PDF_BYTES, MAX_IMAGE_BYTES) + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {target}: {exc}") from None
    if b"%PDF-" in data[:1024]:
        return "pdf", data
    if data.startswith(_IMAGE_MAGIC) or data[8:12] == b"WEBP":
        return "image", data
    if len(data) <= MAX_INPUT_CHARS:
        try:
            return "text", data.decode("utf-8")  # a text file holding the QR text
        except UnicodeDecodeError:
            pass
    raise UsageError(f"not a PDF, an image or a QR text: {target}")


def _trust_list(args: argparse.Namespace) -> TrustList:
    root = None
    if args.root:
        try:
            with open(args.root, "rb") as fh:
                root = load_certificate(fh.read())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read root certificate {args.root}: {exc}") from None
    if args.trust_list:
        try:
            return TrustList.load(args.trust_list, root=root)
        except TrustListError as exc:
            raise UsageError(str(exc)) from None
    return TrustList.fetch(args.server, timeout=args.timeout, root=root)  # TrustListError -> 3


def _print_human(result: VerificationResult, lang: str, out: IO[str], server_outcome: str | None) -> None:
    # A Form 2 shows no birth date: its verdict must not ask the reader to compare one.
    form_type = result.certificate.form_type if result.certificate is not None else None
    text = messages.outcome_text(result.outcome, lang, form_type=form_type)
    mark = "✔" if result.is_valid else ("?" if result.outcome == "status_unavailable" else "✘")
    bar = "═" * 60
    print(bar, file=out)
    print(f"  {mark}  {text['verdict'].upper()}", file=out)
    print(bar, file=out)
    if result.outcome == "status_unavailable" and result.checks["status"].reason == "not_checked":
        print(_OFFLINE_NOTE[lang], file=out)  # says it more precisely than the generic meaning
    else:
        print(text["meaning"], file=out)
    print("→ " + text["next"], file=out)
    if server_outcome and server_outcome != result.outcome:
        server_verdict = messages.outcome_text(server_outcome, lang)["verdict"]
        print(f"{_SERVER_SAYS[lang]}: {server_verdict} ({server_outcome})", file=out)
    if result.certificate is not None:
        print(file=out)
        for name, value in result.certificate.to_dict().items():
            if value is None:
                continue  # hidden on a Form 2 (privacy), not "empty"
            print(f"  {messages.FIELD_LABELS[name][lang]}: {messages.field_value(name, value, lang)}", file=out)
    print(file=out)
    print(f"{_CHECKS_TITLE[lang]}:", file=out)
    for name in CHECK_NAMES:
        check = result.checks[name]
        sign = "✔" if check.ok else "✘"
        print(
            f"  {sign} {messages.CHECK_LABELS[name][lang]}: "
            f"{messages.reason_text(check.reason, lang)} ({check.reason})",
            file=out,
        )
    print(f"{messages.FIELD_LABELS['checked_at'][lang]}: {messages.format_time(result.checked_at, lang)}", file=out)


def run(args: argparse.Namespace, stdin: IO[str], out: IO[str], err: IO[str], now: datetime | None = None) -> int:
    kind, payload = _read_target(args.target, stdin)
    try:
        trust = _trust_list(args)
    except TrustListError as exc:
        print(f"trust list: {exc}", file=err)
        return EXIT_UNAVAILABLE

    token: str | None
    if kind == "image":
        from .image import read_qr_from_image

        token = read_qr_from_image(payload)
        if token is None:
            raise UsageError(_NO_QR[args.lang])
    elif kind == "pdf":
        from .pdf import read_pdf_token

        token = read_pdf_token(payload)  # type: ignore[arg-type]
    else:
        token = payload  # type: ignore[assignment]

    lookup: StatusLookup | None = None
    if args.server and token:
        from .online import ServerStatusLookup

        try:
            lookup = ServerStatusLookup(args.server, token, timeout=args.timeout)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    if kind == "pdf":
        from .pdf import verify_pdf

        result = verify_pdf(payload, trust, lookup, now=now)  # type: ignore[arg-type]
    else:
        result = verify_token(token or "", trust, lookup, now=now)

    server_outcome = None
    server_result = getattr(lookup, "server_result", None)
    if isinstance(server_result, dict):
        server_outcome = server_result.get("outcome")
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        _print_human(result, args.lang, out, server_outcome)
    return exit_code(result.outcome)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    now: datetime | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    # pyHanko logs a traceback for every untrusted chain; the verdict already says it.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    logging.getLogger("verification").setLevel(logging.ERROR)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage
        return EXIT_USAGE if exc.code else EXIT_VALID
    if not args.trust_list and not args.server:
        print(
            "one of --trust-list FILE or --server URL is required: without a trust list nothing can be verified",
            file=err,
        )
        return EXIT_USAGE
    try:
        return run(args, stdin or sys.stdin, out, err, now=now)
    except UsageError as exc:
        print(str(exc), file=err)
        return EXIT_USAGE
