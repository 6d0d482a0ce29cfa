"""requests.prepare_submission / submit: the read phase decides and signs without writing a request,
a certificate or an event; the write phase stores it and re-checks what may have changed since."""
from __future__ import annotations

import secrets
from datetime import date

import pytest
from sqlalchemy import func, select, update

from ecert.domain.states import KeyStatus, RequestStatus
from ecert.errors import Conflict, InvalidInput
from ecert.identity import CitizenIdentity
from ecert.models import AuditEvent, Certificate, CertificateRequest, SigningKey
from ecert.services import issuance
from ecert.services.audit import Actor
from ecert.services.issuance import AutomaticIssuer
from ecert.services.requests import prepare_submission, submit
from ecert.wiring import resources_of
from tests.support import form1_payload, form2_payload, history_since_14

BIRTHDATE = "1991-03-04"


def _citizen() -> CitizenIdentity:
    # 001 Hà Nội, 0 = male born 19xx, 91 = 1991, then a serial: unique, since on PostgreSQL other
    # tests commit requests whose open slots would refuse ours.
    return CitizenIdentity(f"001091{secrets.randbelow(10**6):06d}", "Lý Văn Bảo", date.fromisoformat(BIRTHDATE),
                           "male", loa=2)


def _clean_payload() -> dict:
    return form1_payload(residence_history=history_since_14(BIRTHDATE))


@pytest.fixture
def issuer(app) -> AutomaticIssuer:
    resources = resources_of(app)
    return AutomaticIssuer(resources.keystore, resources.settings)


def _counts(db, pid: str) -> tuple[int, int]:
    requests = db.scalar(select(func.count()).select_from(CertificateRequest).where(CertificateRequest.citizen_pid == pid))
    certificates = db.scalar(select(func.count()).select_from(Certificate).where(Certificate.holder_pid == pid))
    return requests, certificates


def test_the_read_phase_signs_and_writes_nothing(app, db, issuer):
    citizen = _citizen()
    prepared = prepare_submission(db, citizen, _clean_payload(), settings=issuer.settings, issuer=issuer)
    assert prepared.review_reasons == []
    assert prepared.certificate is not None
    assert prepared.certificate.pdf.startswith(b"%PDF")
    assert prepared.certificate.request_id == prepared.request.id  # the id is chosen before the row exists
    assert prepared.request not in db
    db.flush()
    assert _counts(db, citizen.personal_id) == (0, 0)

    request = submit(db, prepared, actor=Actor("citizen", citizen.personal_id), issuer=issuer)
    assert request.status == RequestStatus.ISSUED
    assert request.open_slot is None
    assert _counts(db, citizen.personal_id) == (1, 1)
    assert request.certificate is prepared.certificate  # the very certificate signed in the read phase
    db.commit()  # the audit events are chained at commit
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.target_id.in_(
        [request.id, request.certificate.id])).order_by(AuditEvent.seq)).all()
    assert actions == ["request.submitted", "certificate.issued"]


def test_a_request_for_review_is_not_signed(app, db, issuer, monkeypatch):
    signed = []
    monkeypatch.setattr(issuance, "sign_pdf", lambda *a, **k: signed.append(1))
    citizen = _citizen()
    payload = form2_payload(residence_history=history_since_14(BIRTHDATE))
    prepared = prepare_submission(db, citizen, payload, settings=issuer.settings, issuer=issuer)
    assert prepared.review_reasons == ["form_2"]
    assert prepared.certificate is None
    request = submit(db, prepared, actor=Actor("citizen", citizen.personal_id), issuer=issuer)
    assert request.status == RequestStatus.NEEDS_REVIEW
    assert request.review_reasons == ["form_2"]
    assert signed == []


def test_the_read_phase_refuses_what_the_rules_refuse(app, db, issuer):
    citizen = _citizen()
    with pytest.raises(InvalidInput):
        prepare_submission(db, citizen, {**_clean_payload(), "phone": "12"}, settings=issuer.settings, issuer=issuer)
    first = prepare_submission(db, citizen, form2_payload(residence_history=history_since_14(BIRTHDATE)),
                               settings=issuer.settings, issuer=issuer)
    submit(db, first, actor=Actor("citizen", citizen.personal_id), issuer=issuer)
    with pytest.raises(Conflict) as refused:
        prepare_submission(db, citizen, _clean_payload(), settings=issuer.settings, issuer=issuer)
    assert refused.value.code == "open_request_exists"


def test_an_open_request_written_between_the_phases_is_409(app, db, issuer):
    """Two submissions of one citizen both pass the read phase; the open slot refuses the second write."""
    citizen = _citizen()
    payload = form2_payload(residence_history=history_since_14(BIRTHDATE))
    first = prepare_submission(db, citizen, payload, settings=issuer.settings, issuer=issuer)
    second = prepare_submission(db, citizen, payload, settings=issuer.settings, issuer=issuer)
    submit(db, first, actor=Actor("citizen", citizen.personal_id), issuer=issuer)
    with pytest.raises(Conflict) as refused:
        submit(db, second, actor=Actor("citizen", citizen.personal_id), issuer=issuer)
    assert refused.value.code == "open_request_exists"
    assert _counts(db, citizen.personal_id) == (1, 0)


@pytest.mark.parametrize("status", [KeyStatus.REVOKED, KeyStatus.RETIRED])
def test_a_key_that_stops_being_active_between_the_phases_writes_no_certificate(app, db, issuer, status):
    citizen = _citizen()
    prepared = prepare_submission(db, citizen, _clean_payload(), settings=issuer.settings, issuer=issuer)
    assert prepared.certificate is not None
    kid = prepared.certificate.kid
    # What `ecert keys revoke` (or a rotation) commits while the PDF is being signed.
    db.execute(update(SigningKey).where(SigningKey.kid == kid).values(status=status))

    request = submit(db, prepared, actor=Actor("citizen", citizen.personal_id), issuer=issuer)
    assert request.status == RequestStatus.NEEDS_REVIEW
    assert request.review_reasons == ["signing_failed"]
    assert request.open_slot == citizen.personal_id  # still open: staff decide it
    assert _counts(db, citizen.personal_id) == (1, 0)
    assert db.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.number == prepared.certificate.number)) == 0


def test_a_signing_failure_sends_the_request_to_review(app, db, issuer, monkeypatch):
    def unplugged(*_args, **_kwargs):
        raise RuntimeError("HSM unplugged")

    monkeypatch.setattr(issuance, "sign_pdf", unplugged)
    citizen = _citizen()
    prepared = prepare_submission(db, citizen, _clean_payload(), settings=issuer.settings, issuer=issuer)
    assert prepared.review_reasons == ["signing_failed"]
    assert prepared.certificate is None
    request = submit(db, prepared, actor=Actor("citizen", citizen.personal_id), issuer=issuer)
    assert request.status == RequestStatus.NEEDS_REVIEW
    assert request.review_reasons == ["signing_failed"]
    assert _counts(db, citizen.personal_id) == (1, 0)


def test_without_an_issuer_every_request_waits_for_staff(app, db, issuer):
    citizen = _citizen()
    prepared = prepare_submission(db, citizen, _clean_payload(), settings=issuer.settings, issuer=None)
    assert prepared.review_reasons == ["signing_unavailable"]
    request = submit(db, prepared, actor=Actor("citizen", citizen.personal_id), issuer=None)
    assert request.status == RequestStatus.NEEDS_REVIEW
