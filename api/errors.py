"""RFC 9457 problem documents: the only place where errors become HTTP.

Domain exceptions carry codes; here they get a status, a localised title and detail, and
per-field reasons. Nothing from an exception's text or a traceback reaches the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, Response, g, json, request
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ecert.domain.i18n import DEFAULT_LANGUAGE, choose_language, has_message, message
from ecert.errors import DomainError, InvalidInput

log = logging.getLogger("ecert.api")


# The problem document's shape, for the OpenAPI document (every error response refers to it).


class ProblemFieldSchema(Schema):
    field = fields.String()
    code = fields.String()
    detail = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem document. Problems may carry extension members (open_request_id,
    request_status, locked_until, ...), so other properties are allowed."""

    class Meta:
        unknown = INCLUDE

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String()
    trace_id = fields.String(metadata={"description": "The X-Request-ID of this answer, to quote to support"})
    errors = fields.List(fields.Nested(ProblemFieldSchema))


def documented_problems(blp: Any, problems: Mapping[int, str | Mapping[str, Any]]) -> Callable[[Any], Any]:
    """A decorator giving a view the problem answers in ``problems`` in the OpenAPI document:
    ``{404: "No such certificate"}``, or ``{503: {"description": ..., "headers": ...}}`` for the
    other ``alt_response`` arguments; each one's body is a ``ProblemSchema``. The table reads
    like the stack of decorators it replaces: the first entry is applied last."""

    def apply(view: Any) -> Any:
        for status, doc in reversed(list(problems.items())):
            options = {"description": doc} if isinstance(doc, str) else dict(doc)
            view = blp.alt_response(status, schema=ProblemSchema, **options)(view)
        return view

    return apply


PROBLEM_BASE = "https://ecert.gov.vn/problems/"

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def _lang() -> str:
    """The language of this request's answer ("vi" outside a request)."""
    try:
        # Most API clients send neither: skip parsing the query string and the header.
        if "lang" not in request.query_string.decode("latin-1") and "Accept-Language" not in request.headers:
            return DEFAULT_LANGUAGE
        return choose_language(request.accept_languages, request.args.get("lang"))
    except RuntimeError:
        return DEFAULT_LANGUAGE


def _field_code(reason: Any) -> str:
    # The input schemas speak in codes (api/schemas.py); anything else, which the catalogue test
    # keeps from happening, is shown as the generic code rather than as a sentence.
    if isinstance(reason, str) and has_message(reason):
        return reason
    log.warning("a field error without a catalogued code")
    return "invalid_value"


def flatten_errors(messages: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """webargs nests errors by location and field; give back (dotted field, code) pairs."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "headers", "files", "form") and not prefix:
                yield from flatten_errors(value, "")
            elif key == "_schema":
                yield from flatten_errors(value, prefix.rstrip("."))
            else:
                yield from flatten_errors(value, f"{prefix}{key}.")
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, (dict, list)):
                yield from flatten_errors(item, prefix)
            else:
                yield (prefix.rstrip(".") or "body", _field_code(item))
    else:
        yield (prefix.rstrip(".") or "body", _field_code(messages))


def problem(
    status: int,
    code: str,
    *,
    field_errors: Iterable[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    lang = _lang()
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": message(code, lang),
        "status": status,
        "detail": message(f"{code}.detail" if has_message(f"{code}.detail") else code, lang),
        "code": code,
    }
    errors = [{"field": f, "code": c, "detail": message(c, lang)} for f, c in field_errors]
    if errors:
        body["errors"] = errors
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    trace_id = getattr(g, "request_id", None)
    if trace_id:
        body["trace_id"] = trace_id
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    response.headers["Content-Language"] = lang
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _domain_error(error: DomainError) -> Response:
    field_errors: list[tuple[str, str]] = []
    if isinstance(error, InvalidInput):
        field_errors = [(f, c) for f, codes in error.errors.items() for c in codes]
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    extra = _public_extra(error.extra)
    return problem(error.status, error.code, field_errors=field_errors, headers=headers, extra=extra)


def _public_extra(extra: dict[str, Any]) -> dict[str, Any]:
    # Only simple identifiers and states travel to the client (e.g. the open request's id).
    return {k: v for k, v in extra.items() if isinstance(v, (str, int, bool)) or v is None}


def http_error(error: HTTPException) -> Response:
    ready = getattr(error, "response", None)
    if isinstance(ready, Response):
        return ready  # built by us already (e.g. the rate limiter's 429 with Retry-After)
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    field_errors = list(flatten_errors(data.get("messages", {}))) if data.get("messages") else []
    code = _STATUS_CODES.get(status, "http_error")
    if status == 400 and field_errors and any(c == "invalid_json" for _, c in field_errors):
        code = "invalid_json"
    if status == 422:
        code = "validation_failed"
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if status >= 500:
        log.error("http error %s", status)
    return problem(status, code, field_errors=field_errors, headers=headers)


def database_error(error: Exception) -> Response:
    # The database went away (or the pool is exhausted): a temporary condition the client may
    # retry, never a 500. Logged without the statement, which may carry personal data.
    log.error("database unavailable: %s", type(error).__name__)
    return problem(503, "database_unavailable", headers={"Retry-After": "5"})


def stale_data(error: StaleDataError) -> Response:
    # Another transaction changed the row between our read and our write (the version column saw
    # it). The services lock the rows they decide on; this is the backstop: the client's view is
    # out of date, which is a conflict to re-read and retry, not a server error.
    log.warning("concurrent update lost: %s", type(error).__name__)
    return problem(409, "concurrent_update")


def unexpected(_error: Exception) -> Response:
    log.exception("unhandled error")  # the traceback goes to the log, never to the client
    return problem(500, "internal_error")


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(StaleDataError, stale_data)
    for unavailable in (OperationalError, InterfaceError, DisconnectionError, PendingRollbackError, PoolTimeoutError):
        app.register_error_handler(unavailable, database_error)
    app.register_error_handler(Exception, unexpected)
