"""Statuses, staff roles, and the one gate every status change goes through.

The statuses are ``StrEnum``s stored by value (``ecert.models`` maps them with
``native_enum=False``), so the database holds exactly the strings it always did and a member
compares equal to its string. ``move(entity, new)`` is how a service changes a status: it
checks the transition table of DESIGN §4 and raises ``IllegalTransition`` otherwise, so a
certificate cannot be un-revoked nor a refused request issued by any path, present or future.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol, TypeVar

from ecert.errors import Conflict


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    NEEDS_REVIEW = "needs_review"
    ISSUED = "issued"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    REVOKED = "revoked"


class StaffRole(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"


REQUEST_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.SUBMITTED: frozenset({RequestStatus.PROCESSING, RequestStatus.CANCELLED}),
    RequestStatus.PROCESSING: frozenset({RequestStatus.ISSUED, RequestStatus.REFUSED, RequestStatus.NEEDS_REVIEW}),
    # A request waiting for staff is not decided yet: the citizen may still withdraw it
    # (requests are decided at submission, so "submitted" alone would never be cancellable).
    RequestStatus.NEEDS_REVIEW: frozenset({RequestStatus.ISSUED, RequestStatus.REFUSED, RequestStatus.CANCELLED}),
    RequestStatus.ISSUED: frozenset(),
    RequestStatus.REFUSED: frozenset(),
    RequestStatus.CANCELLED: frozenset(),
}

# Revoked stays revoked (DESIGN §4): nothing sets a certificate back to valid.
CERTIFICATE_TRANSITIONS: Mapping[CertificateStatus, frozenset[CertificateStatus]] = {
    CertificateStatus.VALID: frozenset({CertificateStatus.REVOKED}),
    CertificateStatus.REVOKED: frozenset(),
}

# A retired key signs nothing new but may still be found compromised; a revoked one is final.
KEY_TRANSITIONS: Mapping[KeyStatus, frozenset[KeyStatus]] = {
    KeyStatus.ACTIVE: frozenset({KeyStatus.RETIRED, KeyStatus.REVOKED}),
    KeyStatus.RETIRED: frozenset({KeyStatus.REVOKED}),
    KeyStatus.REVOKED: frozenset(),
}

TRANSITIONS: Mapping[type[StrEnum], Mapping] = {
    RequestStatus: REQUEST_TRANSITIONS,
    CertificateStatus: CERTIFICATE_TRANSITIONS,
    KeyStatus: KEY_TRANSITIONS,
}


class IllegalTransition(Conflict):
    """A status change the transition table forbids: a bug or a race the caller did not check."""

    code = "invalid_transition"  # its text is in ecert.domain.i18n


def can_move(current: str, new: StrEnum) -> bool:
    """True when the table of ``new``'s kind allows ``current`` -> ``new``."""
    # A StrEnum member hashes as its string: a stored string finds its row in the table.
    return new in TRANSITIONS[type(new)].get(current, frozenset())


S = TypeVar("S", bound=StrEnum)


class HasStatus(Protocol[S]):
    status: S


def move(entity: HasStatus[S], new: S) -> None:
    """Set ``entity.status`` to ``new`` if the transition table allows it; otherwise raise
    ``IllegalTransition`` (409) and leave the entity as it was."""
    current = entity.status
    if not can_move(current, new):
        raise IllegalTransition(kind=type(new).__name__, from_status=str(current), to_status=str(new))
    entity.status = new
