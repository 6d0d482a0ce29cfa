"""The permission check every sensitive service makes, whoever calls it (a view, a command,
a job): the role is read from the staff row in this session, never taken from the caller.

A refusal is a security event: ``staff.forbidden`` is written before the refusal is raised,
and the refusal is a ``PersistentFailure`` so the unit of work keeps that record while it
rolls back everything else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ecert.domain.permissions import OPERATOR_PERMISSIONS, Permission, role_allows, roles_with
from ecert.errors import Forbidden, PersistentFailure
from ecert.models import StaffUser
from ecert.services.audit import Actor, record


def authorize(session: Session, actor: Actor, permission: Permission) -> None:
    """Return if ``actor`` holds ``permission``; otherwise record the attempt and raise 403
    ``role_not_allowed``, as the HTTP edge does for a wrong role."""
    if actor.type != "staff":
        if permission in OPERATOR_PERMISSIONS.get(actor.type, frozenset()):
            return
        record(session, actor, "actor.forbidden", details={"actor_type": actor.type, "permission": permission})
        raise PersistentFailure(Forbidden("role_not_allowed", role=None))
    user = session.get(StaffUser, actor.id) if actor.id else None
    if user is not None and not user.disabled and role_allows(user.role, permission):
        return
    if user is not None:
        record_forbidden(session, user, actor=actor, permission=permission)
    raise PersistentFailure(Forbidden("role_not_allowed", role=user.role if user is not None else None))


def record_forbidden(
    session: Session,
    user: StaffUser,
    *,
    actor: Actor,
    permission: Permission,
    method: str | None = None,
    route: str | None = None,
) -> None:
    """A signed-in member of staff tried something outside their role: a security event.

    ``method`` and ``route`` say where, when the attempt came through HTTP."""
    details: dict[str, Any] = {
        "username": user.username,
        "role": user.role,
        "permission": permission,
        "allowed_roles": sorted(roles_with(permission)),
    }
    if method is not None:
        details.update(method=method, route=route)
    record(session, actor, "staff.forbidden", target_type="staff", target_id=user.id, details=details)
