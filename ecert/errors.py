"""Domain exceptions. The HTTP edge (api/errors.py) turns them into problem documents.

Each carries a machine-readable ``code`` (localised at the edge through ecert.domain.i18n) and,
for invalid input, per-field error codes.
"""

from __future__ import annotations

from typing import Any


class ConfigurationError(RuntimeError):
    """The service cannot start: a setting or a key file is missing or wrong."""


class DomainError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, code: str | None = None, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or code or self.code)
        if code:
            self.code = code
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    code = "validation_failed"

    def __init__(self, errors: dict[str, list[str]], code: str | None = None) -> None:
        super().__init__(code)
        self.errors = errors


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Locked(DomainError):
    status = 423
    code = "account_locked"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"


class PersistentFailure(DomainError):
    """A refusal whose writes are records of it (a wrong password and its throttle row, a
    lockout, a wrong role, a failed step-up code and its count): the unit of work commits them,
    then the refusal goes out exactly as ``cause`` would.

    Raise it at the HTTP edge around the service call that failed: ``raise
    PersistentFailure(error) from error``.
    """

    def __init__(self, cause: DomainError) -> None:
        super().__init__(cause.code, cause.detail, **cause.extra)
        self.status = cause.status
        self.cause = cause
