"""Errors in the console are pages a person reads, never problem+json or a stack trace.

The handlers are the blueprint's: Flask looks in the blueprint's handlers first (for any class
of the error's MRO) and only then in the app's, so everything raised in a console view is
answered here, ``PersistentFailure`` included (its writes are kept as the API keeps them). The
traceback of an unexpected error goes to the log with the request id, which the page shows.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, NotFound, TooManyRequests

from api.console import bp
from api.console.forms import LoginForm
from api.console.pages import render
from api.deps import db_session
from ecert.db import keep_on_failure
from ecert.domain.i18n import has_message
from ecert.errors import DomainError, PersistentFailure

log = logging.getLogger("ecert.console")

_KNOWN_STATUSES = frozenset({400, 403, 404, 405, 409, 422, 429, 500, 503})


def error_page(status: int, *, code: str | None = None, key: str | None = None, **extra: Any) -> Response:
    shown = status if status in _KNOWN_STATUSES else (500 if status >= 500 else 400)
    return render(
        "error.html",
        status,
        key=key or f"error_{shown}",
        code=code if code and has_message(code) else None,
        **extra,
    )


@bp.errorhandler(PersistentFailure)
def _kept_failure(error: PersistentFailure) -> Any:
    """A refusal that is itself a record (a wrong role): committed with its page."""
    keep_on_failure(db_session())
    return current_app.handle_user_exception(error.cause)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    return error_page(error.status, code=error.code)


@bp.errorhandler(CSRFError)
def _csrf_error(_error: CSRFError) -> Response:
    return error_page(400, key="error_csrf")


@bp.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests) -> Response:
    original = getattr(error, "response", None)
    retry_after = original.headers.get("Retry-After", "60") if original is not None else "60"
    if request.endpoint == "console.login_submit":
        failure = {"key": "login_rate_limited", "seconds": retry_after}
        response = render("login.html", 429, form=LoginForm(formdata=None), failure=failure)
    else:
        response = error_page(429)
    response.headers["Retry-After"] = retry_after
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return error_page(error.code or 500)


@bp.errorhandler(StaleDataError)
def _stale(_error: StaleDataError) -> Response:
    log.warning("concurrent update lost in the console")
    return error_page(409)


def _unavailable(error: Exception) -> Response:
    log.error("database unavailable: %s", type(error).__name__)
    response = error_page(503)
    response.headers["Retry-After"] = "5"
    return response


for _unavailable_class in (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PendingRollbackError,
    PoolTimeoutError,
):
    bp.register_error_handler(_unavailable_class, _unavailable)


@bp.errorhandler(Exception)
def _unexpected(_error: Exception) -> Response:
    log.exception("unhandled error in the console")
    return error_page(500)


@bp.route("/<path:_rest>", methods=["GET", "POST"])
def _unknown(_rest: str) -> Any:
    """Any other path under /staff/ is the console's 404 page, not the API's problem document."""
    raise NotFound()
