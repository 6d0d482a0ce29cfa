"""The staff API: sessions, the review queue, revocation and the audit log.

The request is one unit of work (``api.deps``), committed when the view succeeds, except where
a failure is itself a security record (a wrong password, a replayed TOTP code, a lockout, a
wrong role): the view raises ``PersistentFailure`` and the audit row and the failure counter are
committed before the problem document goes out. The action a step-up code authorises runs in a
savepoint, so a failing action never gives the spent code back.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.deps import actor, db_session, resources, settings
from api.errors import documented_problems, problem
from api.idempotency import IdempotencyHeaderSchema, idempotent
from api.limits import rate_limit
from api.metrics import observe_decision
from api.schemas import Annotated
from api.staff.auth import current_staff, current_staff_session, staff_actor, staff_required
from api.staff.schemas import (
    ApproveSchema,
    AuditEventListSchema,
    AuditQuerySchema,
    CertificateQuerySchema,
    LoginSchema,
    QueueArgsSchema,
    RefuseSchema,
    RevokeSchema,
    SessionSchema,
    StaffCertificateListSchema,
    StaffCertificateSchema,
    StaffMeSchema,
    StaffRequestDetailSchema,
    StaffRequestListSchema,
    StaffRequestSchema,
)
from ecert.db import keep_on_failure, utcnow
from ecert.domain.permissions import Permission
from ecert.errors import DomainError, Forbidden, InvalidInput, Locked, PersistentFailure, Unauthorized
from ecert.services import audit as audit_service
from ecert.services import review as review_service
from ecert.services import revocation as revocation_service
from ecert.services import staff as staff_service
from ecert.services.audit import savepoint as audit_savepoint

blp = Blueprint(
    "staff",
    __name__,
    url_prefix="/api/v1/staff",
    description="Agency staff: sign-in (password + TOTP), the review queue, revocation, the audit log",
)

_SECURITY: list[dict[str, list[str]]] = [{"staff": []}]
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}
}


def _staff_doc(view: Any = None, *, forbidden: bool = True) -> Any:
    """OpenAPI for an authenticated view: the staff bearer scheme and its 401 (and 403)."""

    def apply(view: Any) -> Any:
        problems = {
            403: "role_not_allowed (recorded in the audit log)",
            401: "session_invalid / session_expired: no live staff session",
        }
        if not forbidden:
            del problems[403]
        return blp.doc(security=_SECURITY)(documented_problems(blp, problems)(view))

    return apply(view) if view is not None else apply


def _reviewer_lookup(rule: str, schema: type, *, missing: str) -> Any:
    """A reviewer's GET of one thing by id: the route, the review permission, the thing as
    ``schema``, its 404 (``missing``) and the staff session's answers."""
    decorators = (
        blp.route(rule),
        staff_required(Permission.REVIEW),
        blp.response(200, schema),
        documented_problems(blp, {404: missing}),
        _staff_doc,
    )

    def apply(view: Any) -> Any:
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return apply


@blp.errorhandler(Locked)
@blp.errorhandler(staff_service.LoginThrottled)
def _wait_problem(error: DomainError) -> Response:
    return _problem_of(error, utcnow())


def _problem_of(error: DomainError, now: datetime) -> Response:
    """A lockout or throttle answer with Retry-After, so clients and people know how long to wait."""
    headers = {}
    until = error.extra.get("locked_until")
    if isinstance(error, Locked) and until:
        seconds = (datetime.fromisoformat(until) - now).total_seconds()
        headers["Retry-After"] = str(max(1, math.ceil(seconds)))
    if isinstance(error, staff_service.LoginThrottled):
        headers["Retry-After"] = str(error.extra["retry_after"])
    extra = {k: v for k, v in error.extra.items() if isinstance(v, (str, int, bool)) or v is None}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return problem(error.status, error.code, headers=headers, extra=extra)


# --- sessions -----------------------------------------------------------------------------------------


@blp.route("/sessions", methods=["POST"])
@rate_limit("login")
@blp.arguments(LoginSchema)
@blp.response(201, SessionSchema)
@documented_problems(
    blp,
    {
        401: "invalid_credentials: the same answer for every wrong part",
        423: {
            "headers": _RETRY_AFTER,
            "description": "account_locked after wrong codes with the right password; locked_until",
        },
        429: {
            "headers": _RETRY_AFTER,
            "description": "login_throttled: wrong passwords for this username from this address, wait "
            "Retry-After seconds (the delay doubles with each failure, up to 15 minutes); "
            "or rate_limited: too many sign-in requests from this address",
        },
    },
)
def login(payload):
    """Sign in with username, password and the authenticator's current code (TOTP)."""
    session = db_session()
    now = utcnow()
    try:
        result = staff_service.login(
            session,
            payload["username"],
            payload["password"],
            payload["totp"],
            settings=settings(),
            actor=actor("staff", None),
            now=now,
            client_address=request.remote_addr,
        )
    except (Unauthorized, Locked, staff_service.LoginThrottled) as error:
        # The throttle count, the failure counter, the lock and their audit rows must survive
        # this answer.
        raise PersistentFailure(error) from error
    staff_session = result.staff_session
    return {
        "token": result.token,
        "expires_at": staff_session.expires_at,
        "idle_expires_at": staff_service.idle_expires_at(staff_session, settings()),
        "idle_timeout_seconds": settings().staff_idle_minutes * 60,
        "role": result.user.role,
        "username": result.user.username,
    }, 201


@blp.route("/sessions/current", methods=["DELETE"])
@staff_required(Permission.OWN_SESSION)
@blp.response(204)
@_staff_doc(forbidden=False)
def logout():
    """Sign out: the token stops working at once."""
    staff_service.logout(db_session(), current_staff_session(), actor=staff_actor(), now=utcnow())


@blp.route("/me")
@staff_required(Permission.OWN_SESSION)
@blp.response(200, StaffMeSchema)
@_staff_doc(forbidden=False)
def me():
    """Who is signed in, with which role, until when."""
    user, staff_session = current_staff(), current_staff_session()
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "session_created_at": staff_session.created_at,
        "expires_at": staff_session.expires_at,
        "idle_expires_at": staff_service.idle_expires_at(staff_session, settings()),
    }


# --- the review queue ---------------------------------------------------------------------------------


@blp.route("/requests")
@staff_required(Permission.REVIEW)
@blp.arguments(QueueArgsSchema, location="query", as_kwargs=True)
@blp.response(200, StaffRequestListSchema)
@_staff_doc
def list_requests(status, limit, cursor):
    """Requests in a status (default needs_review), the soonest deadline first; overdue ones flagged."""
    return review_service.list_queue(db_session(), status=status, limit=limit, cursor=cursor)


@_reviewer_lookup("/requests/<string:request_id>", StaffRequestDetailSchema, missing="No such request")
def get_request(request_id):
    """One request with the holder's identity, why it waits, and the person's judicial record.

    Opening it is recorded in the audit log (request.viewed): it shows a criminal record.
    """
    session = db_session()
    req = review_service.get_request(session, request_id)
    record = (review_service.findings(session, req) or {}).get("record")
    review_service.record_viewed(session, req, actor=staff_actor())
    return Annotated(req, record=record)


def _signer(session, now):
    return resources().keystore.signer_for_issuance(session, now)


def _approval_scope(request_id: str) -> str:
    # Keys are per member of staff and per request; hashed to fit the scope column (80).
    return "staff:approve:" + hashlib.sha256(f"{current_staff().id}:{request_id}".encode()).hexdigest()[:48]


def _decision_doc(view: Any) -> Any:
    """The answers of a decision on a request (approve, refuse): the request as decided, or why not."""
    view = documented_problems(
        blp,
        {
            404: "No such request",
            409: "request_already_decided (with status) or request_not_in_review",
        },
    )(view)
    return blp.response(200, StaffRequestSchema)(view)


@blp.route("/requests/<string:request_id>/approve", methods=["POST"])
@staff_required(Permission.APPROVE)
@blp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
@idempotent(scope=_approval_scope)
@blp.arguments(ApproveSchema)
@_decision_doc
@documented_problems(blp, {503: "No usable signing key"})
@_staff_doc
def approve_request(_payload, request_id):
    """Issue the certificate, through the same issuance path as the automatic decision.

    Two approvals at once give one certificate: the request row is locked and its status read
    under the lock; the second one gets 409 request_already_decided with the certificate_id.
    """
    session = db_session()
    now = utcnow()
    req = review_service.approve(
        session, request_id, signer=_signer(session, now), settings=settings(), actor=staff_actor(), now=now
    )
    observe_decision(req.status, "staff")
    return req


@blp.route("/requests/<string:request_id>/refuse", methods=["POST"])
@staff_required(Permission.REFUSE)
@blp.arguments(RefuseSchema)
@_decision_doc
@documented_problems(blp, {422: "Unknown reason code, missing note or note too long"})
@_staff_doc
def refuse_request(payload, request_id):
    """Refuse with a legal reason and a note; the citizen sees both on their request."""
    session = db_session()
    now = utcnow()
    req = review_service.refuse(
        session, request_id, reason=payload["reason"], note=payload["note"], actor=staff_actor(), now=now
    )
    observe_decision(req.status, "staff")
    return req


# --- certificates ---------------------------------------------------------------------------------


@blp.route("/certificates")
@staff_required(Permission.REVIEW)
@blp.arguments(CertificateQuerySchema, location="query", as_kwargs=True)
@blp.response(200, StaffCertificateListSchema)
@_staff_doc
def find_certificates(number):
    """Find a certificate by its printed number (items: none or one)."""
    found = revocation_service.find_by_number(db_session(), number)
    return {"items": [found] if found else []}


@_reviewer_lookup("/certificates/<string:certificate_id>", StaffCertificateSchema, missing="No such certificate")
def get_certificate(certificate_id):
    """One certificate's status and revocation."""
    return revocation_service.get_certificate(db_session(), certificate_id)


@blp.route("/certificates/<string:certificate_id>/revoke", methods=["POST"])
@staff_required(Permission.REVOKE)
@blp.arguments(RevokeSchema)
@blp.response(200, StaffCertificateSchema)
@documented_problems(
    blp,
    {
        401: "session_invalid / session_expired, or step_up_exhausted: too many wrong codes "
        "with this session, which has ended (sign in again)",
        403: "role_not_allowed, or step_up_failed (wrong or reused TOTP)",
        404: "No such certificate (the code is spent all the same)",
        422: "Unknown reason, missing note (other), bad replacement (a code that was checked is spent all the same)",
    },
)
@blp.doc(security=_SECURITY)
def revoke_certificate(payload, certificate_id):
    """Revoke (supervisor, with a fresh TOTP code). Revoking again answers 200 with already_revoked.

    The code is single-use even when the revocation then fails (unknown certificate, a note
    missing...): send a new code with the corrected request.
    """
    session = db_session()
    now = utcnow()
    try:
        step = staff_service.step_up(
            session,
            current_staff_session(),
            payload["totp"],
            settings=settings(),
            actor=staff_actor(),
            now=now,
            action="certificate.revoke",
            target_id=certificate_id[:64],
        )
    except (Forbidden, Unauthorized) as error:
        # The failed step-up, its count and an ended session are security records.
        raise PersistentFailure(error) from error
    with _code_stays_spent(session):
        errors = revocation_service.check_input(
            payload["reason"], payload.get("note"), payload.get("replacement_certificate_id")
        )
        if errors:
            raise InvalidInput(errors)
        result = revocation_service.revoke(
            session,
            certificate_id,
            reason=payload["reason"],
            note=payload.get("note"),
            replacement_certificate_id=payload.get("replacement_certificate_id"),
            actor=staff_actor(),
            now=now,
            step_up_step=step,
        )
    return Annotated(result.certificate, already_revoked=result.already_revoked)


@contextmanager
def _code_stays_spent(session: Session) -> Iterator[None]:
    """The action a step-up code authorises, in a savepoint: whatever happens to it (a refusal, a
    conflict, a crash), only its own writes are undone, and the spent code is committed all the
    same, so it is never accepted again."""
    try:
        with audit_savepoint(session):
            yield
    except BaseException:
        keep_on_failure(session)
        raise


# --- the audit log ---------------------------------------------------------------------------------


@blp.route("/audit-events")
@staff_required(Permission.READ_AUDIT)
@blp.arguments(AuditQuerySchema, location="query", as_kwargs=True)
@blp.response(200, AuditEventListSchema)
@_staff_doc
def list_audit_events(**filters):
    """The hash-chained audit log, newest first (order=asc for chain order), with filters.

    Read-only: no endpoint edits or deletes an event.
    """
    return audit_service.search_events(db_session(), **filters)
