"""Staff authentication: an opaque session token in ``Authorization: Bearer``, and permissions.

``@staff_required(Permission.REVIEW)`` goes directly under ``@blp.route``: the session is
checked before the body is parsed, so an anonymous caller learns nothing from validation.
Which roles hold a permission is the table in ``ecert.domain.permissions``; the services check
it again (``ecert.services.authorization``), so no other caller skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from api.deps import actor, bearer_token, db_session, settings
from ecert.db import utcnow
from ecert.domain.permissions import Permission, roles_with
from ecert.errors import Forbidden, PersistentFailure
from ecert.models import StaffSession, StaffUser
from ecert.services import staff as staff_service
from ecert.services.audit import Actor
from ecert.services.authorization import record_forbidden

F = TypeVar("F", bound=Callable[..., Any])


def current_staff() -> StaffUser:
    user: StaffUser = g.staff  # set by staff_required
    return user


def current_staff_session() -> StaffSession:
    staff_session: StaffSession = g.staff_session  # set by staff_required
    return staff_session


def staff_actor() -> Actor:
    return actor("staff", g.staff.id)


def staff_required(permission: Permission) -> Callable[[F], F]:
    """Require a live staff session whose role holds ``permission``.

    Anonymous, citizen (identity token), unknown, logged-out or expired -> 401.
    A valid session with another role -> 403, written to the audit log (a security event).
    Each authenticated call moves the idle expiry forward, in the request's one unit of
    work (committed with what the view does, when it succeeds).
    """
    allowed = roles_with(Permission(permission))

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token()
            session = db_session()
            now = utcnow()
            staff_session = staff_service.session_for_token(session, token, settings=settings(), now=now)
            user = staff_session.staff
            g.staff, g.staff_session = user, staff_session
            if user.role not in allowed:
                record_forbidden(
                    session,
                    user,
                    actor=staff_actor(),
                    permission=permission,
                    method=request.method,
                    route=request.url_rule.rule if request.url_rule is not None else request.path,
                )
                # A wrong role is a security event: its audit row outlives the refusal.
                raise PersistentFailure(Forbidden("role_not_allowed", role=user.role))
            staff_service.touch(staff_session, now)
            return view(*args, **kwargs)

        wrapper._staff_roles = allowed  # type: ignore[attr-defined]  # noqa: SLF001 - read by the permission-matrix test
        return wrapper  # type: ignore[return-value]

    return decorate
