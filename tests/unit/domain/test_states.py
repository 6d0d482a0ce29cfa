"""The state machine: every (from, to) pair of every status kind, legal or not, and move()."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import product

import pytest

from ecert.domain import rules
from ecert.domain.states import (
    CertificateStatus,
    IllegalTransition,
    KeyStatus,
    RequestStatus,
    StaffRole,
    can_move,
    move,
)

# Written out by hand from DESIGN §4 (not derived from the code's table), as "from -> to".
LEGAL = {
    "submitted -> processing", "submitted -> cancelled",
    "processing -> issued", "processing -> refused", "processing -> needs_review",
    "needs_review -> issued", "needs_review -> refused",
    # Not in DESIGN's sketch but kept since before this table: the citizen may withdraw a
    # request still waiting for staff (docs/domain-rules.md).
    "needs_review -> cancelled",
    "valid -> revoked",
    "active -> retired", "active -> revoked", "retired -> revoked",
}

KINDS: list[type[StrEnum]] = [RequestStatus, CertificateStatus, KeyStatus]
PAIRS = [
    pytest.param(kind, current, new, id=f"{kind.__name__}: {current} -> {new}")
    for kind in KINDS
    for current, new in product(kind, kind)
]


@dataclass
class Thing:
    status: StrEnum


def test_the_stored_strings_are_unchanged():
    assert [s.value for s in RequestStatus] == [
        "submitted", "processing", "needs_review", "issued", "refused", "cancelled"]
    assert [s.value for s in CertificateStatus] == ["valid", "revoked"]
    assert [s.value for s in KeyStatus] == ["active", "retired", "revoked"]
    assert [r.value for r in StaffRole] == ["officer", "supervisor", "auditor"]


@pytest.mark.parametrize("kind, current, new", PAIRS)
def test_every_pair_is_legal_or_not_as_designed(kind, current, new):
    legal = f"{current} -> {new}" in LEGAL
    assert can_move(current, new) is legal
    # A stored plain string reads the same as its member.
    assert can_move(str(current.value), new) is legal
    thing = Thing(current)
    if legal:
        move(thing, new)
        assert thing.status is new
    else:
        with pytest.raises(IllegalTransition) as raised:
            move(thing, new)
        assert thing.status is current
        assert raised.value.status == 409
        assert raised.value.code == "invalid_transition"
        assert raised.value.extra == {"kind": kind.__name__, "from_status": current.value, "to_status": new.value}


def test_every_legal_pair_is_in_the_table():
    found = {f"{a} -> {b}" for kind in KINDS for a, b in product(kind, kind) if can_move(a, b)}
    assert found == LEGAL


def test_an_unknown_stored_status_moves_nowhere():
    assert not can_move("archived", RequestStatus.CANCELLED)
    with pytest.raises(IllegalTransition):
        move(Thing("archived"), RequestStatus.CANCELLED)  # type: ignore[arg-type]


def test_a_status_of_another_kind_is_not_a_move():
    # "revoked" is a key status and a certificate status; a request never becomes one.
    assert not can_move(RequestStatus.ISSUED, CertificateStatus.REVOKED)


def test_rules_read_the_same_table():
    assert rules.ALLOWED_TRANSITIONS is not None
    for current, new in product(RequestStatus, RequestStatus):
        assert rules.can_transition(current, new) is can_move(current, new)
    assert rules.CANCELLABLE_STATUSES == {"submitted", "needs_review"}
