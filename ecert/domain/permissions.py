"""Who may do what, as one table: checked by the services and, earlier, at the HTTP edge.

A permission names an action, never a role, so a view or a service says what it does
(``Permission.REVOKE``) and this table alone says who may. DESIGN §8: officers review,
approve and refuse; supervisors also revoke and manage staff; auditors read the audit log.
Accounts and keys are managed from the server's console (the ``cli`` actor): whoever runs it
already holds the database and key files, and nothing else may.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from ecert.domain.states import StaffRole


class Permission(StrEnum):
    """What an actor may be allowed to do; a string literal in its place would be a typo waiting."""

    OWN_SESSION = "own_session"  # see who one is, sign out
    REVIEW = "review"  # the queue, a request with its record, certificates
    APPROVE = "approve"
    REFUSE = "refuse"
    REVOKE = "revoke"
    READ_AUDIT = "read_audit"
    MANAGE_STAFF = "manage_staff"
    MANAGE_KEYS = "manage_keys"
    READ_KEYS = "read_keys"  # the signing keys' state (the staff console's keys page)


_REVIEWING = frozenset({Permission.OWN_SESSION, Permission.REVIEW, Permission.APPROVE, Permission.REFUSE})

ROLE_PERMISSIONS: Mapping[StaffRole, frozenset[Permission]] = {
    StaffRole.OFFICER: _REVIEWING,
    StaffRole.SUPERVISOR: _REVIEWING
    | {Permission.REVOKE, Permission.READ_AUDIT, Permission.MANAGE_STAFF, Permission.READ_KEYS},
    StaffRole.AUDITOR: frozenset({Permission.OWN_SESSION, Permission.READ_AUDIT}),
}

# Actors that are not a member of staff (``Actor.type``). Citizens and the automatic path act
# only on what they own, through rules that need no permission.
OPERATOR_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "cli": frozenset({Permission.MANAGE_STAFF, Permission.MANAGE_KEYS}),
}


def role_allows(role: str, permission: Permission) -> bool:
    """True when staff with ``role`` hold ``permission`` (an unknown role holds nothing)."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())  # type: ignore[call-overload]


def roles_with(permission: Permission) -> frozenset[StaffRole]:
    """The staff roles holding ``permission``: what the edge lists, and the audit row records."""
    return frozenset(role for role, held in ROLE_PERMISSIONS.items() if permission in held)
