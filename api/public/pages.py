"""The page a phone camera opens: ``GET /v/<token>`` (the QR text is ``{base}/v/{token}``).

``GET /v`` is the paper channel, the address the PDF prints: a plain form for the certificate
number and verification code, posting to ``POST /v``, which answers the verdict page through the
same check as ``POST /api/v1/verifications`` with ``{"number", "code"}`` (channel ``code``); a
blank or misshapen entry gets the form again (422). ``GET /`` redirects a person there.

``GET /v/`` is the page to check a certificate's PDF without its QR: a plain HTML form (no script)
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

from flask import Blueprint, Response, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests
from werkzeug.wrappers import Response as WerkzeugResponse

from api.deps import db_session, settings
from api.limits import rate_limit
from api.public.messages import PAGE_TEXT
from api.public.verifications import (
    MULTIPART_SLACK,
    VerificationRequestSchema,
    check_pdf,
    checking_session,
    record,
    trust_lists,
    verdict_words,
)
from ecert.domain.i18n import negotiate_language
from ecert.pdfcheck import CheckBusy
from ecert.services import verification as verification_service
from verification import CHECK_NAMES
from verification.messages import (
    CHECK_LABELS,
    FIELD_LABELS,
    field_value,
    format_time,
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
        "paper_heading": "Nhập số phiếu và mã xác thực in trên phiếu",
        "number_label": "Số phiếu",
        "code_label": "Mã xác thực",
        "paper_hint": "Mã xác thực gồm 12 chữ và số, in cạnh mã QR; không cần gõ dấu gạch, "
        "chữ hoa hay thường đều được.",
        "paper_button": "Kiểm tra",
        "upload_link": "Có tệp PDF của phiếu điện tử? Kiểm tra tệp PDF",
        "paper_link": "Chỉ có bản giấy? Nhập số phiếu và mã xác thực",
        "missing_fields_heading": "Chưa nhập đủ",
        "missing_fields_text": "Hãy nhập cả số phiếu và mã xác thực in trên phiếu rồi bấm Kiểm tra.",
        "bad_code_heading": "Mã xác thực chưa đúng dạng",
        "bad_code_text": "Mã xác thực gồm 12 chữ và số, in trên phiếu cạnh mã QR (ví dụ K7QM-4XP2-T9AB). "
        "Hãy kiểm tra lại rồi nhập lại.",
        "bad_number_heading": "Số phiếu chưa đúng dạng",
        "bad_number_text": "Hãy nhập số phiếu đúng như in trên phiếu (ví dụ LLTP-2026-00000123).",
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
        "paper_heading": "Enter the number and verification code printed on the certificate",
        "number_label": "Certificate number",
        "code_label": "Verification code",
        "paper_hint": "The verification code is 12 letters and digits, printed next to the QR code; dashes and "
        "upper or lower case do not matter.",
        "paper_button": "Check",
        "upload_link": "Have the certificate's PDF file? Check the PDF",
        "paper_link": "Only have the paper copy? Enter its number and verification code",
        "missing_fields_heading": "Something is missing",
        "missing_fields_text": "Enter both the certificate number and the verification code printed on it, then "
        "press Check.",
        "bad_code_heading": "That is not a verification code",
        "bad_code_text": "The verification code is 12 letters and digits, printed next to the QR code (for example "
        "K7QM-4XP2-T9AB). Check it and enter it again.",
        "bad_number_heading": "That is not a certificate number",
        "bad_number_text": "Enter the number exactly as printed on the certificate (for example LLTP-2026-00000123).",
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
# A typed entry longer than this is cut before it is checked or shown again (the longest valid
# number is far shorter; the API refuses it by its schema).
_TYPED_MAX: Final = 64

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


def _links(lang: str) -> dict[str, str]:
    """Where the forms post and the pages link, keeping the page's language when it was chosen
    by ?lang= (a header would still apply)."""
    keep: dict[str, Any] = {"lang": lang} if request.args.get("lang") else {}
    return {
        "upload_action": url_for("public.verify_pdf_page", **keep),
        "paper_action": url_for("public.verify_paper_page", **keep),
        "upload_page": url_for("public.landing", **keep),
        "paper_page": url_for("public.paper_form", **keep),
    }


def _page(context: dict[str, Any], status: int, lang: str) -> Response:
    form = {
        key: value.format(size=_size_text(settings().max_pdf_upload_bytes)) if "{size}" in value else value
        for key, value in FORM_TEXT[lang].items()
    }
    context.setdefault("typed_number", "")
    context.setdefault("typed_code", "")
    html = render_template(
        "verify.html", css=Markup(_CSS), text=PAGE_TEXT[lang], lang=lang, form=form, **_links(lang), **context
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


@bp.route("/")
def home() -> WerkzeugResponse:
    """A person who types the bare address wants to check a certificate: send them to the form
    (302: a home page may take this address one day)."""
    keep: dict[str, Any] = {"lang": request.args["lang"]} if request.args.get("lang") else {}
    return redirect(url_for("public.paper_form", **keep), code=302)


@bp.route("/v", methods=["GET"], strict_slashes=True)
def paper_form() -> Response:
    """The paper channel, the address printed on the PDF: a form for the certificate number and
    verification code (posts to ``POST /v``). Checks nothing."""
    lang = _lang()
    return _page({"landing": True, "paper": True, "authority": settings().authority_name}, 200, lang)


@bp.route("/v", methods=["POST"], strict_slashes=True)
@rate_limit("verification")
def verify_paper_page() -> Response:
    """The verdict on a number and code typed from paper: the same check as ``POST
    /api/v1/verifications`` with ``{"number", "code"}`` (channel ``code``), as a page. An entry
    that is blank or not shaped like one gets the form again (422) and is not recorded."""
    lang = _lang()
    typed = {name: request.form.get(name, "").strip()[:_TYPED_MAX] for name in ("number", "code")}
    problem = _paper_entry_problem(typed)
    if problem is not None:
        return _notice_page(problem, lang, 422, paper=True, typed_number=typed["number"], typed_code=typed["code"])
    session = checking_session()
    verification = verification_service.verify_number_code(session, trust_lists(), typed["number"], typed["code"])
    record(session, verification, "code")
    return _verdict_page(verification, lang)


def _paper_entry_problem(typed: dict[str, str]) -> str | None:
    """None when the entry has the API's shape (VerificationRequestSchema), else the notice."""
    if not typed["number"] or not typed["code"]:
        return "missing_fields"
    try:
        VerificationRequestSchema().load(typed)
    except ValidationError as error:
        return "bad_code" if "code" in error.messages_dict else "bad_number"
    return None


@bp.route("/v/<path:token>")
@rate_limit("verification")
def verify_page(token: str) -> Response:
    """The verdict on the token in the path, as a page for people."""
    lang = _lang()
    session = checking_session()
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


def _notice_page(
    kind: str,
    lang: str,
    status: int,
    *,
    paper: bool = False,
    typed_number: str = "",
    typed_code: str = "",
    **values: Any,
) -> Response:
    words = FORM_TEXT[lang]
    text = words[f"{kind}_text"]
    values.setdefault("size", _size_text(settings().max_pdf_upload_bytes))
    context = {
        "paper": paper,
        "typed_number": typed_number,
        "typed_code": typed_code,
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
        "words": verdict_words(result, lang),
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
