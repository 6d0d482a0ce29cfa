"""Public verification API: a scanned QR, a number + code from paper, or an uploaded PDF.

Every verdict is a 200 with the result document of DESIGN §11 — ``malformed`` included: a
verifier app branches on ``outcome``, never on the HTTP status. A 4xx problem is only for a
request that is not one of the documented shapes (422), too big (413) or too frequent (429).
Each verification writes one VerificationEvent (channel, outcome, certificate once the
signature verified; no IP) and the view commits once.

A registered verifier organisation sends ``X-Api-Key`` (DESIGN §7): its checks are named in the
event (so the holder sees who checked) and spend the organisation's own quota (``api.limits``).
A wrong key, or a disabled organisation's, is a 401 before anything is checked; without the
header a check is anonymous, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, after_this_request, g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validates_schema
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from api.deps import db_session, resources, settings
from api.errors import _lang, documented_problems, problem
from api.limits import rate_limit
from api.metrics import observe_verification
from api.schemas import InputSchema, PlainDumpSchema, enum_of, max_length, not_empty
from ecert.db import commit_is_best_effort, discard
from ecert.domain.rules import FORM_TYPES
from ecert.domain.validation import CERTIFICATE_NUMBER_MAX
from ecert.errors import InvalidInput, Unauthorized
from ecert.pdfcheck import CheckBusy, PdfChecker
from ecert.services import verification as verification_service
from ecert.services import verifiers as verifier_service
from ecert.services.issuance import CODE_ALPHABET, CODE_LENGTH, normalise_code
from verification import OUTCOMES, REASON_CODES
from verification.messages import outcome_text

log = logging.getLogger(__name__)

blp = Blueprint(
    "verifications",
    __name__,
    url_prefix="/api/v1/verifications",
    description="Public verification of a certificate: QR text, number + code, or the PDF (no sign-in)",
)

#: Cap on the JSON body of POST /verifications. A real QR text is ~320 characters and the
#: verifier refuses anything over 2,048 in microseconds; this only bounds JSON parsing, while
#: leaving room for a pasted oversized text to get its "malformed" verdict rather than a 413.
JSON_BODY_CAP = 256 * 1024
#: Room for the multipart envelope around the PDF (boundaries, part headers).
MULTIPART_SLACK = 16 * 1024

_CODE_CHARS = frozenset(CODE_ALPHABET)
_TOO_MANY = "Too many verifications from this client, or of this organisation's quota (Retry-After)"

API_KEY_HEADER = "X-Api-Key"
# The OpenAPI security of a verification: anonymous ({}) or a registered organisation's key.
VERIFIER_SECURITY: list[dict[str, list[str]]] = [{}, {"verifier": []}]
_BAD_KEY = {
    "description": "X-Api-Key was sent but is not a registered organisation's key (api_key_invalid) "
    "or its organisation is disabled (api_key_disabled); leave it out to check anonymously",
    "headers": {"WWW-Authenticate": {"description": 'ApiKey realm="ecert"', "schema": {"type": "string"}}},
}


@dataclass(frozen=True)
class VerifierCaller:
    """The organisation a check is made for: kept as plain values, so a rollback of the request's
    session (a failed status read) cannot expire them."""

    id: str
    quota: str


def current_verifier() -> VerifierCaller | None:
    """The organisation whose X-Api-Key this request carried (set before the view), or None."""
    caller: VerifierCaller | None = g.get("verifier")
    return caller


# --- payloads ----------------------------------------------------------------------------------------


def _code_shape(value: str) -> None:
    cleaned = normalise_code(value)
    if len(cleaned) != CODE_LENGTH or not set(cleaned) <= _CODE_CHARS:
        raise ValidationError("invalid_code")


class VerificationRequestSchema(InputSchema):
    """Exactly one of ``{"qr"}`` or ``{"number", "code"}``."""

    qr = fields.String(
        metadata={"description": "The scanned QR text (https://…/v/<token>) or the bare token"},
    )
    number = fields.String(
        validate=[not_empty(), max_length(CERTIFICATE_NUMBER_MAX)],
        metadata={"description": "The certificate number printed on paper, e.g. LLTP-2026-00000123"},
    )
    code = fields.String(
        validate=_code_shape,
        metadata={
            "description": "The 12-character verification code printed on paper (dashes, spaces and case do not matter)"
        },
    )

    @validates_schema
    def one_shape(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "qr" in data:
            errors = {name: ["not_with_qr"] for name in ("number", "code") if name in data}
            if errors:
                raise ValidationError(errors)
        elif "number" in data or "code" in data:
            errors = {name: ["required"] for name in ("number", "code") if name not in data}
            if errors:
                raise ValidationError(errors)
        else:
            raise ValidationError("qr_or_number_and_code")


class PdfUploadSchema(InputSchema):
    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "The certificate PDF"},
    )


class CheckSchema(PlainDumpSchema):
    ok = fields.Boolean(required=True)
    reason = fields.String(
        required=True, metadata={"description": "A reason code (docs/verification.md)", **enum_of(REASON_CODES)}
    )


class ChecksSchema(PlainDumpSchema):
    format = fields.Nested(CheckSchema, required=True)
    signature = fields.Nested(CheckSchema, required=True)
    issuer = fields.Nested(CheckSchema, required=True)
    status = fields.Nested(CheckSchema, required=True)


class PublicCertificateSchema(PlainDumpSchema):
    """Only what the document itself shows (DESIGN §7). Form 2: number, form, date, name."""

    number = fields.String(required=True)
    form_type = fields.Integer(required=True, metadata={"enum": list(FORM_TYPES)})
    issued_at = fields.String(
        required=True, metadata={"format": "date-time", "description": "RFC 3339 UTC, from the signed token"}
    )
    issuer = fields.String(allow_none=True, metadata={"description": "Issuer id (Form 1)"})
    issuing_authority = fields.String(allow_none=True, metadata={"description": "Issuing authority's name (Form 1)"})
    holder_name = fields.String(required=True)
    holder_birth_date = fields.String(allow_none=True)
    masked_personal_id = fields.String(allow_none=True, metadata={"description": "e.g. 001******345"})
    record_statement = fields.Integer(allow_none=True, metadata={"description": "0 no criminal record, 1 has one"})
    ban_statement = fields.Integer(allow_none=True, metadata={"description": "0 not requested, 1 none, 2 banned"})


class VerdictTextSchema(PlainDumpSchema):
    verdict = fields.String(required=True)
    meaning = fields.String(required=True)
    next = fields.String(required=True)


class VerificationResultSchema(PlainDumpSchema):
    outcome = fields.String(
        required=True,
        metadata={
            **enum_of(OUTCOMES),
            "description": "valid | revoked | tampered | unknown_issuer | signer_revoked | "
            "malformed | not_found | status_unavailable. valid only when every check passed.",
        },
    )
    checks = fields.Nested(ChecksSchema, required=True)
    certificate = fields.Nested(PublicCertificateSchema, allow_none=True, required=True)
    checked_at = fields.String(required=True, metadata={"format": "date-time", "description": "RFC 3339 UTC"})
    message = fields.Nested(
        VerdictTextSchema, metadata={"description": "The verdict in words (vi, or en by Accept-Language)"}
    )


# --- shared with the public page ---------------------------------------------------------------------


def trust_lists() -> verification_service.TrustListCache:
    return resources().trust_lists


def pdf_checker() -> PdfChecker:
    return resources().pdf_checker


def check_pdf(data: bytes) -> verification_service.Verification:
    """The guarded PDF check shared by the API and the page (raises CheckBusy); records nothing."""
    return verification_service.verify_pdf_bytes(
        db_session(), trust_lists(), pdf_checker(), data, max_bytes=settings().max_pdf_upload_bytes
    )


def busy_problem(error: CheckBusy) -> Response:
    return problem(
        503, error.code, headers={"Retry-After": str(error.retry_after)}, extra={"retry_after": error.retry_after}
    )


def result_document(verification: verification_service.Verification, lang: str) -> dict[str, Any]:
    body = verification.result.to_dict()
    certificate = body["certificate"]
    if certificate is not None:
        issuer = certificate.get("issuer")
        certificate["issuing_authority"] = (
            settings().authority_name if issuer is not None and issuer == settings().issuer_id else None
        )
    body["message"] = dict(verdict_words(body, lang))
    return body


def verdict_words(result: dict[str, Any], lang: str) -> Mapping[str, str]:
    """The verdict in words, saying only what was checked: no signature is spoken of when none
    was read (a number and code matched nothing, or the register did not answer), and a Form 2,
    which shows no date of birth, is not to be compared by one."""
    certificate = result.get("certificate") or {}
    return outcome_text(
        result["outcome"],
        lang,
        signature_checked=result["checks"]["signature"]["reason"] != "not_checked",
        form_type=certificate.get("form_type"),
    )


def checking_session() -> Session:
    """The request's session for a check. With the batched verification log a check writes
    nothing in its request: it reads through the thread's kept reads-only session
    (``ecert.db.ReadingSessions``), released when the answer is made. Without it, the request's
    own unit of work (the event is written there). Idempotent (the X-Api-Key check opens it
    before the view)."""
    session: Session | None = g.get("checking_session")
    if session is not None:
        return session
    readers = resources().reading_sessions
    if resources().verification_log is None or readers is None:
        session = db_session()
    else:
        session = readers.get()
        after_this_request(_release_reading_session)
    g.checking_session = session
    return session


def _release_reading_session(response: Response) -> Response:
    readers = resources().reading_sessions
    if readers is not None:
        readers.release(failed=response.status_code >= 500 or bool(g.get("checking_database_failed")))
    return response


def record(session: Session, verification: verification_service.Verification, channel: str) -> None:
    """Log the verification, naming the organisation when one made the check: queued for the
    worker's batch writer (``ECERT_VERIFICATION_LOG_SECONDS``), or written in the request's unit
    of work. A failure to log never withholds the verdict: the request's commit is best effort,
    and the batches retry."""
    observe_verification(channel, verification.result.outcome)
    if verification.database_failed:
        g.checking_database_failed = True
    caller = current_verifier()
    entry = verification_service.CheckRecord.of(
        verification,
        channel,  # type: ignore[arg-type]
        verifier_id=caller.id if caller is not None else None,
    )
    batches = resources().verification_log
    if batches is not None:
        batches.submit(entry)
        return
    commit_is_best_effort(session)
    try:
        if verification.database_failed:
            # On PostgreSQL a failed statement aborts the transaction: start a clean one.
            session.rollback()
        verification_service.record_checks(session, [entry])
    except SQLAlchemyError as exc:
        discard(session)
        log.error(
            "verification event not recorded (%s, %s): %s", channel, verification.result.outcome, type(exc).__name__
        )


# --- views -------------------------------------------------------------------------------------------


@blp.before_request
def _body_caps() -> None:
    # Per-view caps: the app-wide MAX_CONTENT_LENGTH fits the PDF upload, far too big for JSON.
    if request.endpoint == "verifications.verify_pdf":
        request.max_content_length = settings().max_pdf_upload_bytes + MULTIPART_SLACK
    else:
        request.max_content_length = JSON_BODY_CAP


@blp.before_request
def _verifier_key() -> Response | None:
    """Authenticate X-Api-Key before the rate limiter runs (it then counts the organisation's
    quota, not the address's). The organisation is read on every request, so a disabled one is
    refused from the next request on, on every worker."""
    api_key = request.headers.get(API_KEY_HEADER)
    if api_key is None:
        return None
    try:
        organisation = verifier_service.authenticate(checking_session(), api_key.strip())
    except Unauthorized as error:
        return problem(401, error.code, headers={"WWW-Authenticate": 'ApiKey realm="ecert"'})
    g.verifier = VerifierCaller(organisation.id, organisation.quota)
    return None


@blp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Response:
    if request.endpoint == "verifications.verify_pdf":
        return _file_too_large()
    return problem(413, "payload_too_large", extra={"max_bytes": JSON_BODY_CAP})


def _file_too_large() -> Response:
    return problem(413, "file_too_large", extra={"max_bytes": settings().max_pdf_upload_bytes})


@blp.route("", methods=["POST"])
@rate_limit("verification")
@blp.arguments(VerificationRequestSchema())
@blp.response(200, VerificationResultSchema)
@blp.doc(security=VERIFIER_SECURITY)
@documented_problems(
    blp,
    {
        401: _BAD_KEY,
        413: "Body over 256 KiB",
        422: "Neither (or both) of {qr} and {number, code}",
        429: _TOO_MANY,
    },
)
def verify(payload: dict[str, Any]) -> dict[str, Any]:
    """Verify a scanned QR (``{"qr"}``) or the number and code printed on paper (``{"number", "code"}``).

    Always 200 with a verdict, including ``malformed`` for anything that is not one of our
    codes. A wrong code and an unknown number give the same ``not_found``.
    """
    session = checking_session()
    if "qr" in payload:
        verification = verification_service.verify_text(session, trust_lists(), payload["qr"])
        channel = "qr"
    else:
        verification = verification_service.verify_number_code(
            session, trust_lists(), payload["number"], payload["code"]
        )
        channel = "code"
    body = result_document(verification, _lang())
    record(session, verification, channel)
    return body


@blp.route("/pdf", methods=["POST"])
@rate_limit("verification_pdf")
@blp.arguments(PdfUploadSchema, location="files")
@blp.response(200, VerificationResultSchema)
@blp.doc(security=VERIFIER_SECURITY)
@documented_problems(
    blp,
    {
        401: _BAD_KEY,
        413: "File over the size cap (max_bytes)",
        422: "No file field, or an empty file",
        429: _TOO_MANY,
        503: {
            "description": "Every PDF check slot is busy: try again after Retry-After seconds (code verification_busy)",
            "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
        },
    },
)
def verify_pdf(files: dict[str, Any]) -> dict[str, Any] | Response:
    """Verify an uploaded certificate PDF (multipart field ``file``, at most 1 MiB): its PAdES
    signature against our root, the token it carries, and the certificate's status.

    A file that is not structurally one of ours is answered at once; the others are checked
    with a time limit (a file that exceeds it is ``malformed``, reason ``pdf_too_complex``) and
    a bounded number of checks at once on the host (503 ``verification_busy`` with
    ``Retry-After`` when all are taken)."""
    cap = settings().max_pdf_upload_bytes
    data = files["file"].stream.read(cap + 1)
    if len(data) > cap:
        return _file_too_large()
    if not data:
        raise InvalidInput({"file": ["empty_file"]})
    try:
        verification = check_pdf(data)
    except CheckBusy as busy:
        return busy_problem(busy)
    body = result_document(verification, _lang())
    record(db_session(), verification, "pdf")
    return body
