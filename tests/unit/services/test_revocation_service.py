"""Revocation and the staff decisions check the actor's permission themselves, whoever calls.

A new endpoint or a command that calls ``revocation.revoke`` with an officer is refused and
audited exactly like a wrong role at the HTTP edge (``staff.forbidden``), and nothing changes.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from ecert.domain.states import CertificateStatus, IllegalTransition, RequestStatus, move
from ecert.errors import Forbidden, PersistentFailure
from ecert.models import AuditEvent, Certificate, CertificateRequest, StaffUser
from ecert.services import review, revocation
from ecert.services import staff as staff_service
from ecert.services.audit import Actor
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    TEST_ACTOR,
    fast_hashes,
    issued_certificate,
    review_request,
    seeded,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _member(db, role: str) -> Actor:
    user = staff_service.create_staff(db, f"{role}.svc", role, actor=TEST_ACTOR).user
    db.flush()
    return Actor("staff", user.id, "req-test")


def _forbidden_events(db) -> list[AuditEvent]:
    db.commit()  # the refusal is a persistent failure: its record is what the unit of work keeps
    return list(db.execute(select(AuditEvent).where(AuditEvent.action.like("%.forbidden"))).scalars())


def _revoke(db, certificate_id: str, actor: Actor):
    return revocation.revoke(db, certificate_id, reason="issued_in_error", note=None, actor=actor, now=NOW)


def test_an_officer_cannot_revoke_and_the_attempt_is_audited(db, issued_certificate):
    officer = _member(db, "officer")
    certificate_id = issued_certificate["certificate_id"]
    with pytest.raises(PersistentFailure) as raised:
        _revoke(db, certificate_id, officer)
    assert isinstance(raised.value.cause, Forbidden)
    assert (raised.value.status, raised.value.code) == (403, "role_not_allowed")
    assert raised.value.extra == {"role": "officer"}

    [event] = _forbidden_events(db)
    assert (event.action, event.actor_type, event.actor_id) == ("staff.forbidden", "staff", officer.id)
    assert (event.target_type, event.target_id) == ("staff", officer.id)
    assert event.details == {"username": "officer.svc", "role": "officer", "permission": "revoke",
                             "allowed_roles": ["supervisor"]}
    assert db.get(Certificate, certificate_id).status == CertificateStatus.VALID


def test_a_supervisor_revokes_and_the_stored_status_is_the_plain_string(db, issued_certificate):
    supervisor = _member(db, "supervisor")
    certificate_id = issued_certificate["certificate_id"]
    result = _revoke(db, certificate_id, supervisor)
    assert not result.already_revoked
    assert result.certificate.status is CertificateStatus.REVOKED
    db.commit()
    stored = db.execute(text("SELECT status FROM certificates WHERE id = :id"), {"id": certificate_id}).scalar_one()
    assert stored == "revoked"
    assert _revoke(db, certificate_id, supervisor).already_revoked
    assert _forbidden_events(db) == []


@pytest.mark.parametrize("actor", [Actor("cli", "cli"), Actor("citizen", "001090012345"), Actor("system")],
                         ids=["cli", "citizen", "system"])
def test_no_actor_outside_staff_revokes(db, issued_certificate, actor):
    with pytest.raises(PersistentFailure):
        _revoke(db, issued_certificate["certificate_id"], actor)
    [event] = _forbidden_events(db)
    assert (event.action, event.actor_type) == ("actor.forbidden", actor.type)
    assert event.details == {"actor_type": actor.type, "permission": "revoke"}


def test_a_disabled_supervisor_cannot_revoke(db, issued_certificate):
    supervisor = _member(db, "supervisor")
    db.get(StaffUser, supervisor.id).disabled = True
    with pytest.raises(PersistentFailure):
        _revoke(db, issued_certificate["certificate_id"], supervisor)
    [event] = _forbidden_events(db)
    assert event.details["role"] == "supervisor"


def test_the_role_is_read_from_the_database_not_from_the_caller(db, issued_certificate):
    # An actor naming a staff id that does not exist holds nothing.
    with pytest.raises(PersistentFailure):
        _revoke(db, issued_certificate["certificate_id"], Actor("staff", "no-such-id"))


def test_an_auditor_cannot_refuse_and_an_officer_can(db, review_request):
    auditor, officer = _member(db, "auditor"), _member(db, "officer")
    with pytest.raises(PersistentFailure):
        review.refuse(db, review_request["id"], reason="not_entitled", note="Không có quyền", actor=auditor, now=NOW)
    assert db.get(CertificateRequest, review_request["id"]).status == RequestStatus.NEEDS_REVIEW
    refused = review.refuse(db, review_request["id"], reason="not_entitled", note="Không có quyền",
                            actor=officer, now=NOW)
    assert refused.status is RequestStatus.REFUSED


def test_a_refused_request_can_never_be_issued(db, review_request):
    officer = _member(db, "officer")
    request = review.refuse(db, review_request["id"], reason="not_entitled", note="Không có quyền",
                            actor=officer, now=NOW)
    with pytest.raises(IllegalTransition):
        move(request, RequestStatus.ISSUED)
    assert request.status is RequestStatus.REFUSED


def test_staff_accounts_are_made_from_the_console_or_by_a_supervisor(db):
    officer = _member(db, "officer")
    with pytest.raises(PersistentFailure):
        staff_service.create_staff(db, "new.one", "officer", actor=officer)
    supervisor = _member(db, "supervisor")
    assert staff_service.create_staff(db, "new.two", "auditor", actor=supervisor).user.role == "auditor"
