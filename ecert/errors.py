"""Domain exceptions. The HTTP edge (api/errors.py) turns them into problem documents.

Each carries a machine-readable ``code`` (localised at the edge through ecert.domain.i18n) and,
for invalid input, per-field error codes.
"""

from __future__ import annotations

from typing import Any


class ConfigurationError(RuntimeError):
    """The service cannot start: a setting or a key file is missing or wrong."""


class DomainError(Exception):
    """A refusal the client can act on: an HTTP ``status`` and a stable ``code``. A subclass names
    its own in the class line: ``class NotFound(DomainError, status=404, code="not_found")``."""

    status = 400
    code = "invalid_request"

    def __init_subclass__(cls, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, code: str | None = None, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or code or self.code)
        if code:
            self.code = code
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError, status=422, code="validation_failed"):
    """Per-field error codes: ``{field: [code, ...]}``."""

    def __init__(self, errors: dict[str, list[str]], code: str | None = None) -> None:
        super().__init__(code)
        self.errors = errors


class NotFound(DomainError, status=404, code="not_found"):
    """No such thing, or not the caller's (the same answer: existence is not disclosed)."""


class Conflict(DomainError, status=409, code="conflict"):
    """The thing's state forbids the change."""


class Unauthorized(DomainError, status=401, code="unauthorized"):
    """No credentials, or credentials that do not prove who the caller is."""


class Forbidden(DomainError, status=403, code="forbidden"):
    """The caller is known but may not do this."""


class Locked(DomainError, status=423, code="account_locked"):
    """The staff account is locked after too many failed logins."""


class ServiceUnavailable(DomainError, status=503, code="service_unavailable"):
    """A dependency (the database, a key, a check slot) is not there now: try again later."""


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
