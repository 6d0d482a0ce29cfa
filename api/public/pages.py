"""The page a phone camera opens: ``GET /v/<token>`` (the QR text is ``{base}/v/{token}``).

``GET /v/`` is the page to check a certificate without a QR: a plain HTML form (no script)
uploading the PDF to ``POST /v/pdf``, which answers the same verdict page through the same guarded
check as ``POST /api/v1/verifications/pdf`` (size cap, structure first, time limit, host-wide
slots; channel ``pdf``). A file too big, no file, or every check slot busy get a page that says so
(413, 422, 503 with Retry-After) with the form again.

Server-rendered (Jinja), no script, no third-party asset; Vietnamese by default, English by
``?lang=en`` or Accept-Language. Every answer is a 200 page with a verdict — junk, a random QR
or an overlong path included: those say plainly "not a certificate from this service" (never
"expired", never an error page; see docs/verification-service.md for why 200, not 404).

The style sheet is inlined and allowed by its SHA-256 in the Content-Security-Policy: one
round trip on a slow phone connection, and still no inline style an attacker could add.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from flask import Blueprint, Response, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from api.deps import db_session, settings
from api.limits import rate_limit
from api.public.messages import PAGE_TEXT
from api.public.verifications import MULTIPART_SLACK, check_pdf, record, trust_lists
from ecert.domain.i18n import negotiate_language
from ecert.pdfcheck import CheckBusy
from ecert.services import verification as verification_service
from verification import CHECK_NAMES
from verification.messages import (
    CHECK_LABELS,
    FIELD_LABELS,
    field_value,
    format_time,
    outcome_text,
    reason_text,
)

bp = Blueprint("public", __name__, template_folder="templates")

_TEMPLATES: Final = Path(__file__).parent / "templates"
# Read once: the CSP hash must be of exactly the bytes between <style> and </style>.
_CSS: Final = (_TEMPLATES / "verify_style.css").read_text(encoding="utf-8")
_CSS_HASH: Final = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
PAGE_CSP: Final = (
    "default-src 'none'; "
    f"style-src 'sha256-{_CSS_HASH}'; "
    "img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# The words of the upload form and its notices (the verdict words come from verification.messages).
FORM_TEXT: Final[Mapping[str, Mapping[str, str]]] = {
    "vi": {
        "landing_heading": "Kiểm tra Phiếu lý lịch tư pháp",
        "qr_heading": "Có phiếu giấy hoặc ảnh phiếu?",
        "qr_text": "Quét mã QR in trên phiếu bằng camera điện thoại: trang kết quả sẽ tự mở.",
        "upload_heading": "Kiểm tra tệp PDF của phiếu điện tử",
        "upload_label": "Chọn tệp PDF (tối đa {size})",
        "upload_button": "Kiểm tra",
        "too_large_heading": "Tệp quá lớn",
        "too_large_text": "Tệp gửi lên vượt quá {size}. Phiếu lý lịch tư pháp điện tử chỉ khoảng vài chục KB: "
        "hãy chọn đúng tệp PDF của phiếu.",
        "busy_heading": "Hệ thống đang bận",
        "busy_text": "Đang có nhiều tệp PDF được kiểm tra cùng lúc. Vui lòng thử lại sau {seconds} giây, "
        "hoặc quét mã QR in trên phiếu.",
        "no_file_heading": "Chưa chọn tệp",
        "no_file_text": "Hãy chọn tệp PDF của phiếu rồi bấm Kiểm tra.",
    },
    "en": {
        "landing_heading": "Check a judicial-record certificate",
        "qr_heading": "Have the paper certificate or a photo of it?",
        "qr_text": "Scan the QR code printed on it with a phone camera: the result page opens by itself.",
        "upload_heading": "Check the certificate's PDF file",
        "upload_label": "Choose the PDF file (at most {size})",
        "upload_button": "Check",
        "too_large_heading": "The file is too large",
        "too_large_text": "The uploaded file is larger than {size}. An electronic judicial-record certificate is a "
        "few tens of KB: choose the certificate's PDF file.",
        "busy_heading": "The service is busy",
        "busy_text": "Many PDF files are being checked right now. Please try again in {seconds} seconds, or scan the "
        "QR code printed on the certificate.",
        "no_file_heading": "No file chosen",
        "no_file_text": "Choose the certificate's PDF file, then press Check.",
    },
}

# Shown for a Form 1; a Form 2 carries only the first four and the name (PublicFields does that).
_FIELD_ORDER: Final = (
    "number",
    "form_type",
    "issued_at",
    "issuer",
    "holder_name",
    "holder_birth_date",
    "masked_personal_id",
    "record_statement",
    "ban_statement",
)

# The colour and icon of each verdict: green only for valid; amber where trying again or asking
# the issuer may still end well; red for the rest; grey for "not ours".
_TONE: Final = {
    "valid": "ok",
    "revoked": "bad",
    "tampered": "bad",
    "unknown_issuer": "bad",
    "signer_revoked": "bad",
    "not_found": "warn",
    "status_unavailable": "warn",
    "malformed": "none",
}


def _fields(certificate: dict[str, Any] | None, lang: str) -> list[dict[str, str]]:
    if certificate is None:
        return []
    rows = []
    for name in _FIELD_ORDER:
        value = certificate.get(name)
        if value is None:
            continue
        if name == "issuer":
            text = certificate.get("issuing_authority") or str(value)
        else:
            text = field_value(name, value, lang)
        rows.append({"name": name, "label": FIELD_LABELS[name][lang], "value": text})
    return rows


def _checks(checks: dict[str, dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    # A check never reached (an earlier one failed) is neither passed nor failed: shown as such.
    return [
        {
            "label": CHECK_LABELS[name][lang],
            "state": "pass" if checks[name]["ok"] else ("skip" if checks[name]["reason"] == "not_checked" else "fail"),
            "text": reason_text(checks[name]["reason"], lang),
        }
        for name in CHECK_NAMES
    ]


def _size_text(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:g} MB" if mib >= 1 else f"{size // 1024} KB"


def _page(context: dict[str, Any], status: int, lang: str) -> Response:
    form = {
        key: value.format(size=_size_text(settings().max_pdf_upload_bytes)) if "{size}" in value else value
        for key, value in FORM_TEXT[lang].items()
    }
    # The upload keeps the page's language when it was chosen by ?lang= (a header would still apply).
    chosen = request.args.get("lang")
    action = url_for("public.verify_pdf_page", lang=lang) if chosen else url_for("public.verify_pdf_page")
    html = render_template(
        "verify.html", css=Markup(_CSS), text=PAGE_TEXT[lang], lang=lang, form=form, upload_action=action, **context
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    # A verdict is true at one moment only, and the URL carries the token: keep no copy anywhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _lang() -> str:
    return negotiate_language(request.headers.get("Accept-Language"), request.args.get("lang"))


@bp.route("/v/")
@bp.route("/v/pdf", methods=["GET"], endpoint="pdf_form")
def landing() -> Response:
    """How to check a certificate without its QR: the PDF upload form. Checks nothing."""
    lang = _lang()
    context = {"landing": True, "authority": settings().authority_name}
    return _page(context, 200, lang)


@bp.route("/v/<path:token>")
@rate_limit("verification")
def verify_page(token: str) -> Response:
    """The verdict on the token in the path, as a page for people."""
    lang = _lang()
    session = db_session()
    verification = verification_service.verify_text(session, trust_lists(), token)
    record(session, verification, "page")
    return _verdict_page(verification, lang)


@bp.before_request
def _upload_cap() -> None:
    # The app caps every body at max_body_bytes; the upload needs the PDF cap (plus the
    # multipart envelope), and no more, so a bigger body is refused before it is read.
    if request.endpoint == "public.verify_pdf_page":
        request.max_content_length = settings().max_pdf_upload_bytes + MULTIPART_SLACK


@bp.route("/v/pdf", methods=["POST"])
@rate_limit("verification_pdf")
def verify_pdf_page() -> Response:
    """The verdict on an uploaded PDF, as a page: the form of ``GET /v/`` posts here."""
    lang = _lang()
    upload = request.files.get("file")
    cap = settings().max_pdf_upload_bytes
    data = upload.stream.read(cap + 1) if upload is not None else b""
    if len(data) > cap:
        return _too_large_page(lang)
    if not data:
        return _notice_page("no_file", lang, 422)
    try:
        verification = check_pdf(data)
    except CheckBusy as busy:
        response = _notice_page("busy", lang, 503, seconds=busy.retry_after)
        response.headers["Retry-After"] = str(busy.retry_after)
        return response
    record(db_session(), verification, "pdf")
    return _verdict_page(verification, lang)


def _notice_page(kind: str, lang: str, status: int, **values: Any) -> Response:
    words = FORM_TEXT[lang]
    text = words[f"{kind}_text"]
    values.setdefault("size", _size_text(settings().max_pdf_upload_bytes))
    context = {
        "notice": kind,
        "tone": "warn",
        "notice_heading": words[f"{kind}_heading"],
        "page_title": words[f"{kind}_heading"],
        "notice_text": text.format(**values),
        "authority": settings().authority_name,
    }
    return _page(context, status, lang)


def _too_large_page(lang: str) -> Response:
    return _notice_page("too_large", lang, 413)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Response:
    return _too_large_page(_lang())


def _verdict_page(verification: verification_service.Verification, lang: str) -> Response:
    result = verification.result.to_dict()
    certificate = result["certificate"]
    if certificate is not None and certificate.get("issuer") == settings().issuer_id:
        certificate["issuing_authority"] = settings().authority_name
    outcome = result["outcome"]
    context = {
        "outcome": outcome,
        "tone": _TONE.get(outcome, "bad"),
        "words": outcome_text(outcome, lang),
        "fields": _fields(certificate, lang),
        "checks": _checks(result["checks"], lang),
        "checked_at": format_time(verification.result.checked_at, lang),
        "checked_at_label": FIELD_LABELS["checked_at"][lang],
        "authority": settings().authority_name,
        "not_ours": outcome == "malformed",
    }
    return _page(context, 200, lang)


@bp.errorhandler(TooManyRequests)
def _rate_limited(error: TooManyRequests) -> Response:
    """The limiter's 429 as a page: a person scanned too often, not an app reading JSON."""
    lang = _lang()
    retry_after = "60"
    original = getattr(error, "response", None)
    if original is not None and original.headers.get("Retry-After"):
        retry_after = original.headers["Retry-After"]
    context = {
        "outcome": "rate_limited",
        "tone": "warn",
        "retry_after": retry_after,
        "authority": settings().authority_name,
        "rate_limited": True,
    }
    response = _page(context, 429, lang)
    response.headers["Retry-After"] = retry_after
    return response
