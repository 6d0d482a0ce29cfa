"""The page a phone camera opens: ``GET /v/<token>`` (the QR text is ``{base}/v/{token}``).

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
from pathlib import Path
from typing import Any, Final

from flask import Blueprint, Flask, Response, render_template, request
from flask_smorest import Api
from markupsafe import Markup
from werkzeug.exceptions import TooManyRequests

from api.deps import db_session, settings
from api.limits import rate_limit
from api.verification_messages import PAGE_TEXT
from api.verifications import record, trust_lists
from ecert.i18n import negotiate_language
from ecert.services import verification as verification_service
from verification.messages import (
    CHECK_LABELS,
    FIELD_LABELS,
    field_value,
    format_time,
    outcome_text,
    reason_text,
)
from verification import CHECK_NAMES

bp = Blueprint("public", __name__, template_folder="templates")

_TEMPLATES: Final = Path(__file__).parent / "templates"
# Read once: the CSP hash must be of exactly the bytes between <style> and </style>.
_CSS: Final = (_TEMPLATES / "verify_style.css").read_text(encoding="utf-8")
_CSS_HASH: Final = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
PAGE_CSP: Final = (
    "default-src 'none'; "
    f"style-src 'sha256-{_CSS_HASH}'; "
    "img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

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


def _page(context: dict[str, Any], status: int, lang: str) -> Response:
    html = render_template("verify.html", css=Markup(_CSS), text=PAGE_TEXT[lang], lang=lang, **context)
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


@bp.route("/v/", defaults={"token": ""})
@bp.route("/v/<path:token>")
@rate_limit("verification")
def verify_page(token: str) -> Response:
    """The verdict on the token in the path, as a page for people."""
    lang = _lang()
    session = db_session()
    verification = verification_service.verify_text(session, trust_lists(), token)
    record(session, verification, "page")
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
    context = {"outcome": "rate_limited", "tone": "warn", "retry_after": retry_after,
               "authority": settings().authority_name, "rate_limited": True}
    response = _page(context, 429, lang)
    response.headers["Retry-After"] = retry_after
    return response


def register(app: Flask, api: Api) -> None:
    app.register_blueprint(bp)
