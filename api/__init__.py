"""HTTP: blueprints, schemas, authentication, problem+json, logs and headers.

The request is the unit of work: one session, opened on first use (``api.deps.db_session``),
committed when the answer is below 400 and rolled back otherwise (``api.deps.end_unit_of_work``);
a ``PersistentFailure`` keeps what its refusal wrote.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api, Blueprint
from flask_smorest.exceptions import NotModified
from flask_smorest.utils import get_appcontext
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from api import errors, json_guard, limits, metrics, openapi_hooks
from api.deps import EDGE_EXTENSION_KEY, Edge, close_session, db_session, end_unit_of_work, settings
from ecert.db import keep_on_failure
from ecert.errors import PersistentFailure
from ecert.wiring import resources_of

log = logging.getLogger("ecert.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


PROBLEM_CONTENT_TYPE = "application/problem+json"


class EcertApi(Api):
    """flask-smorest, with its JSON errors replaced by our problem documents (also in the spec)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ERROR_SCHEMA = errors.ProblemSchema
        super().__init__(*args, **kwargs)

    def handle_http_exception(self, error: HTTPException) -> Response:
        return errors.http_error(error)

    def _register_responses(self) -> None:
        # smorest documents its default error responses as application/json; ours are
        # application/problem+json, and the spec must say so for clients and schemathesis.
        default: str = Api.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_CONTENT_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default


def _not_modified(_error: NotModified) -> Response:
    """``@blp.etag`` raises ``NotModified`` when If-None-Match holds the answer's ETag: a bare 304
    that carries the ETag (RFC 9110 §15.4.5), never a problem document. smorest computed the tag
    from the dumped answer, which it keeps in the app context; the same computation gives it back."""
    response = Response(status=304)
    dumped = get_appcontext().get("result_dump")
    if dumped is not None:
        response.set_etag(Blueprint._generate_etag(dumped))  # noqa: SLF001 - smorest's own ETag function
    return response


def register(app: Flask) -> None:
    app.config.update(
        API_TITLE="ecert — Phiếu lý lịch tư pháp điện tử",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = EcertApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Judicial-record certificates for citizens, verifiable by anyone. "
                "Errors are application/problem+json (RFC 9457).",
            },
        },
    )
    api.spec.components.security_scheme(
        "citizen", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "Identity app ID token"}
    )
    api.spec.components.security_scheme(
        "staff", {"type": "http", "scheme": "bearer", "description": "Staff session token"}
    )
    api.spec.components.security_scheme(
        "verifier",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-Api-Key",
            "description": "A registered verifier organisation's key (ecert verifiers create): its checks are "
            "named to the holder and spend its own quota. Optional: checks without it are anonymous.",
        },
    )
    _register_blueprints(app, api)
    _problems_are_problem_json(api)
    app_settings = resources_of(app).settings
    rate_limits = limits.parse_limits(app_settings.rate_limits)
    limiter = limits.init_app(app, app_settings)
    # Before openapi_hooks.finish: the 429s it declares get the common headers too.
    limits.document(api, app, rate_limits)
    openapi_hooks.finish(app, api)
    app.extensions[EDGE_EXTENSION_KEY] = Edge(openapi=api, limiter=limiter, rate_limits=rate_limits)
    if app_settings.trusted_proxies:
        # The client address (rate limits, the login throttle) is the X-Forwarded-For entry this
        # many hops from the right; nothing else reads that header (DESIGN §3).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app_settings.trusted_proxies)  # type: ignore[method-assign]

    errors.register(app)
    app.register_error_handler(NotModified, _not_modified)
    metrics.init_app(app)
    app.before_request(_start)
    # After _start: the body cap it sets applies while the guard reads the body.
    json_guard.init_app(app)
    app.after_request(_finish)
    # Registered last, so it runs first: the commit decides the status that _finish logs.
    app.after_request(end_unit_of_work)
    app.register_error_handler(PersistentFailure, _kept_failure)
    app.teardown_request(close_session)


def _kept_failure(error: PersistentFailure) -> ResponseReturnValue:
    """The refusal's writes are records of it: the request's unit of work commits them, and the
    refusal is answered as its cause would be (through the handler the cause would get)."""
    keep_on_failure(db_session())
    return current_app.handle_user_exception(error.cause)


def _problems_are_problem_json(api: Api) -> None:
    """Every documented response carrying the Problem schema is application/problem+json.

    Views document error responses with ``alt_response(schema=ProblemSchema)``; smorest files
    them under application/json, which is not what the edge sends.
    """
    for operations in api.spec._paths.values():  # noqa: SLF001 - apispec keeps paths only here
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                content = response.get("content", {}) if isinstance(response, dict) else {}
                body = content.get("application/json")
                if body and "Problem" in str(body.get("schema", "")):
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")


def _register_blueprints(app: Flask, api: Api) -> None:
    """Every blueprint, by name. A renamed or missing module fails the start with an ImportError
    (never skipped in silence). JSON APIs go through smorest, so they are in the OpenAPI
    document; the HTML pages (docs, verification page) are plain Flask blueprints."""
    from api import console, docs, health, reference
    from api.citizen import certificate_checks, certificates, events, me, requests, shares
    from api.public import downloads, pages, share_pages, verifications
    from api.staff import views as staff

    for blueprint in (health.blp, me.blp, requests.blp, events.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    for blueprint in (certificates.blp, certificates.trust_blp, verifications.blp):
        api.register_blueprint(blueprint)
    for blueprint in (certificate_checks.blp, shares.blp, downloads.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(pages.bp)
    app.register_blueprint(share_pages.bp)
    api.register_blueprint(staff.blp)
    api.register_blueprint(reference.blp)
    # The staff console: HTML pages with a cookie session, so its errors are pages too.
    console.auth.configure(app)
    app.register_blueprint(console.bp)


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()
    # JSON bodies are small; only the PDF upload (which sets its own cap) needs the app-wide
    # MAX_CONTENT_LENGTH. A smaller cap here means a huge body is refused before it is read.
    request.max_content_length = settings().max_body_bytes


_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    for key, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    response.headers.setdefault("Content-Security-Policy", _API_CSP)
    if settings().public_base_url.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
        # Personal data: no shared cache may keep it; the app revalidates with ETags.
        response.headers["Cache-Control"] = "no-store" if request.method != "GET" else "private, no-cache"
    started = g.get("started")
    rule = request.url_rule.rule if request.url_rule is not None else None
    log.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            # The route, not the path: paths carry tokens and ids that do not belong in logs.
            "route": rule or "<unmatched>",
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "bytes": response.calculate_content_length(),
        },
    )
    return response
