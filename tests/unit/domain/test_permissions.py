"""The role -> permission table, written out as DESIGN §8 and the staff matrix test have it."""
from __future__ import annotations

from itertools import product

import pytest

from ecert.domain.permissions import OPERATOR_PERMISSIONS, Permission, role_allows, roles_with
from ecert.domain.states import StaffRole

P = Permission
EXPECTED = {
    "officer": {P.OWN_SESSION, P.REVIEW, P.APPROVE, P.REFUSE},
    "supervisor": {P.OWN_SESSION, P.REVIEW, P.APPROVE, P.REFUSE, P.REVOKE, P.READ_AUDIT, P.MANAGE_STAFF,
                   P.READ_KEYS},
    "auditor": {P.OWN_SESSION, P.READ_AUDIT},
}


@pytest.mark.parametrize("role, permission", list(product(StaffRole, Permission)),
                         ids=lambda value: str(value))
def test_every_role_and_permission(role, permission):
    assert role_allows(role, permission) is (permission in EXPECTED[role.value])
    assert role_allows(role.value, permission) is (permission in EXPECTED[role.value])


def test_roles_with_each_permission():
    assert roles_with(P.REVOKE) == {"supervisor"}
    assert roles_with(P.READ_AUDIT) == {"auditor", "supervisor"}
    assert roles_with(P.APPROVE) == roles_with(P.REFUSE) == roles_with(P.REVIEW) == {"officer", "supervisor"}
    assert roles_with(P.OWN_SESSION) == set(StaffRole)
    # Keys are managed from the server's console only.
    assert roles_with(P.MANAGE_KEYS) == set()
    # Supervisors see the keys' state in the staff console; nobody changes them over HTTP.
    assert roles_with(P.READ_KEYS) == {"supervisor"}


def test_an_unknown_role_holds_nothing():
    assert not any(role_allows("admin", permission) for permission in Permission)


def test_the_console_operator_manages_accounts_and_keys_only():
    assert OPERATOR_PERMISSIONS == {"cli": {P.MANAGE_STAFF, P.MANAGE_KEYS}}
    assert "citizen" not in OPERATOR_PERMISSIONS and "system" not in OPERATOR_PERMISSIONS
