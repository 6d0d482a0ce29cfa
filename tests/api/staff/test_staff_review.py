"""The review queue: listing, the record behind a request, approval and refusal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from ecert.domain import rules
from ecert.models import Certificate, CertificateRequest
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    AN,
    BINH,
    CUONG,
    DUNG,
    PHUC,
    clock,
    events,
    fast_hashes,
    issued_certificate,
    review_request,
    seeded,
    staff,
    submit,
)
from tests.support import form2_payload

QUEUE = "/api/v1/staff/requests"


def url(request_id: str, action: str = "") -> str:
    return f"{QUEUE}/{request_id}" + (f"/{action}" if action else "")


@pytest.fixture
def officer(staff):
    return staff.signed_in("officer", "can.bo")


@pytest.fixture
def queue(seeded, client, auth, db):
    """Five requests waiting for staff, for five people; Dung's is made overdue."""
    made = {
        "cuong": submit(client, auth, CUONG),
        "dung": submit(client, auth, DUNG, include_ban_section=True),
        "an": submit(client, auth, AN, form=form2_payload),
        "binh": submit(client, auth, BINH, form=form2_payload, phone="0387654321"),
        "phuc": submit(client, auth, PHUC, residence_history=[
            {"from": "2017-09", "to": "2020-08", "address": "1 Lê Lợi, Quận 1, TP Hồ Chí Minh", "province_code": "79"},
            {"from": "2020-09", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"},
        ]),
    }
    assert {body["status"] for body in made.values()} == {"needs_review"}, made
    db.execute(update(CertificateRequest).where(CertificateRequest.id == made["dung"]["id"])
               .values(due_at=datetime.now(timezone.utc) - timedelta(days=1)))
    db.commit()
    return made


def test_queue_is_oldest_due_first_with_overdue_flagged_and_paginated(client, officer, queue, db):
    seen, cursor = [], None
    while True:
        response = client.get(QUEUE, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
                              headers=officer.headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["items"]) <= 2
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(item["id"] for item in seen) == sorted(body["id"] for body in queue.values())
    dues = [item["due_at"] for item in seen]
    assert dues == sorted(dues)
    assert seen[0]["id"] == queue["dung"]["id"]
    assert seen[0]["overdue"] is True
    assert not any(item["overdue"] for item in seen[1:])
    first = seen[0]
    assert first["status"] == "needs_review"
    assert first["holder"]["personal_id"] == DUNG["pid"]
    assert {r["code"] for r in first["review_reasons"]} >= {"ban_section_requested"}
    assert "record" not in first  # the list is a summary; records only in the detail (audited)


def test_queue_by_other_status_and_bad_arguments(client, officer, issued_certificate):
    issued = client.get(QUEUE, query_string={"status": "issued"}, headers=officer.headers).get_json()["items"]
    assert [item["id"] for item in issued] == [issued_certificate["id"]]
    assert issued[0]["overdue"] is False
    for query, field in (({"status": "lost"}, "status"), ({"limit": 0}, "limit"), ({"cursor": "!!"}, "cursor")):
        response = client.get(QUEUE, query_string=query, headers=officer.headers)
        assert response.status_code == 422, query
        assert response.get_json()["errors"][0]["field"] == field


def test_detail_shows_identity_reasons_and_the_record_and_is_audited(client, officer, review_request, db):
    response = client.get(url(review_request["id"]), headers=officer.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["holder"]["personal_id"] == CUONG["pid"]
    assert body["holder"]["name"] == CUONG["name"]
    assert body["holder"]["birthdate"] == CUONG["birthdate"]
    assert body["review_reasons"] == [{"code": "has_unexpunged_conviction",
                                       "label": "Người yêu cầu có án tích chưa được xóa."}]
    record = body["record"]
    assert record["personal_id"] == CUONG["pid"]
    assert any(not c["expunged"] for c in record["convictions"])
    assert body["residence_history"][0]["province_code"] == "01"
    assert body["phone"] == "0912345678"
    [viewed] = events(db, "request.viewed")
    assert viewed.actor_id == officer.id and viewed.target_id == review_request["id"]

    english = client.get(url(review_request["id"]), headers={**officer.headers, "Accept-Language": "en"})
    assert english.get_json()["review_reasons"][0]["label"] == "The person has an unexpunged conviction."


def test_unknown_request_is_404(client, officer):
    for response in (client.get(url("no-such-request"), headers=officer.headers),
                     client.post(url("no-such-request", "approve"), json={}, headers=officer.headers),
                     client.post(url("x" * 40, "refuse"), json={"reason": "not_entitled", "note": "n"},
                                 headers=officer.headers)):
        assert response.status_code == 404
        assert response.get_json()["code"] == "request_not_found"


def test_approve_issues_the_certificate_through_the_same_path(client, officer, review_request, auth, db):
    response = client.post(url(review_request["id"], "approve"), json={}, headers=officer.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "issued"
    assert body["certificate_id"]
    assert body["decided_by"] == officer.id

    cert = db.get(Certificate, body["certificate_id"])
    assert cert.pdf.startswith(b"%PDF")
    assert cert.status == "valid"
    assert cert.holder_pid == CUONG["pid"]
    req = db.get(CertificateRequest, review_request["id"])
    assert req.open_slot is None and req.decided_by == officer.id

    approved = events(db, "request.approved")
    issued = events(db, "certificate.issued", target_id=cert.id)
    assert len(approved) == 1 and len(issued) == 1
    assert approved[0].details["certificate_id"] == cert.id
    assert issued[0].actor_type == "staff" and issued[0].actor_id == officer.id

    citizen = client.get(f"/api/v1/requests/{review_request['id']}", headers=auth(**CUONG)).get_json()
    assert citizen["status"] == "issued" and citizen["certificate_id"] == cert.id


def test_approve_without_a_body_is_fine_and_with_fields_is_422(client, officer, review_request):
    assert client.post(url(review_request["id"], "approve"), json={"note": "x"}, headers=officer.headers).status_code == 422
    assert client.post(url(review_request["id"], "approve"), headers=officer.headers).status_code == 200


def test_second_approval_and_refusal_after_approval_are_409_naming_the_status(client, officer, staff, review_request, db):
    other = staff.signed_in("supervisor", "truong.phong")
    first = client.post(url(review_request["id"], "approve"), json={}, headers=officer.headers).get_json()
    again = client.post(url(review_request["id"], "approve"), json={}, headers=other.headers)
    assert again.status_code == 409
    problem = again.get_json()
    assert problem["code"] == "request_already_decided"
    assert problem["status"] == 409 and problem["request_status"] == "issued"
    refuse = client.post(url(review_request["id"], "refuse"), json={"reason": "not_entitled", "note": "late"},
                         headers=other.headers)
    assert refuse.status_code == 409
    assert refuse.get_json()["code"] == "request_already_decided"
    assert refuse.get_json()["certificate_id"] == first["certificate_id"]
    count = db.execute(select(func.count()).select_from(Certificate)
                       .where(Certificate.request_id == review_request["id"])).scalar_one()
    assert count == 1


def test_conflict_names_the_current_status(client, officer, review_request):
    client.post(url(review_request["id"], "refuse"), json={"reason": "documents_invalid", "note": "Giấy tờ giả"},
                headers=officer.headers)
    response = client.post(url(review_request["id"], "approve"), json={}, headers=officer.headers)
    assert response.status_code == 409
    body = response.get_json()
    # RFC 9457's "status" member is the HTTP status; the request's own status is request_status.
    assert body["request_status"] == "refused"


def test_refusal_is_shown_to_the_citizen_and_frees_the_slot(client, officer, review_request, auth, db):
    note = "Hồ sơ thiếu bản sao giấy tờ tùy thân hợp lệ."
    response = client.post(url(review_request["id"], "refuse"),
                           json={"reason": "documents_invalid", "note": f"  {note}  "}, headers=officer.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "refused"
    assert body["refusal"]["reason"] == "documents_invalid"
    assert body["refusal"]["note"] == note

    citizen = client.get(f"/api/v1/requests/{review_request['id']}", headers=auth(**CUONG)).get_json()
    assert citizen["status"] == "refused"
    assert citizen["refusal"]["reason"] == "documents_invalid"
    assert citizen["refusal"]["note"] == note
    assert citizen["refusal"]["reason_label"] == rules.REFUSAL_REASONS["documents_invalid"]["vi"]
    assert citizen["certificate_id"] is None

    [refused] = events(db, "request.refused")
    assert refused.details == {"reason": "documents_invalid", "note": note}
    assert refused.actor_id == officer.id
    # The citizen may ask again at once.
    assert submit(client, auth, CUONG)["status"] == "needs_review"


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"reason": "bad_mood", "note": "x"}, "reason", "invalid_choice"),
        ({"reason": "not_entitled"}, "note", "required"),
        ({"reason": "not_entitled", "note": ""}, "note", "required"),
        ({"reason": "not_entitled", "note": "   "}, "note", "required"),
        ({"reason": "not_entitled", "note": "x" * (rules.NOTE_MAX + 1)}, "note", "too_long"),
        ({"note": "x"}, "reason", "required"),
        ({"reason": "not_entitled", "note": "x", "extra": 1}, "extra", "unknown_field"),
    ],
)
def test_refusal_input_errors(client, officer, review_request, body, field, code, db):
    response = client.post(url(review_request["id"], "refuse"), json=body, headers=officer.headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in errors]
    db.expire_all()
    assert db.get(CertificateRequest, review_request["id"]).status == "needs_review"


def test_note_at_the_limit_is_accepted(client, officer, review_request):
    response = client.post(url(review_request["id"], "refuse"),
                           json={"reason": "outside_competence", "note": "ý" * rules.NOTE_MAX}, headers=officer.headers)
    assert response.status_code == 200


def test_cancelled_request_cannot_be_decided(client, officer, review_request, auth):
    assert client.post(f"/api/v1/requests/{review_request['id']}/cancel", headers=auth(**CUONG)).status_code == 200
    response = client.post(url(review_request["id"], "approve"), json={}, headers=officer.headers)
    assert response.status_code == 409
    assert response.get_json()["request_status"] == "cancelled"


def test_approval_with_idempotency_key_replays_the_first_answer(client, officer, review_request, db):
    headers = {**officer.headers, "Idempotency-Key": "approve-1"}
    first = client.post(url(review_request["id"], "approve"), json={}, headers=headers)
    second = client.post(url(review_request["id"], "approve"), json={}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json()["certificate_id"] == second.get_json()["certificate_id"]
    assert len(events(db, "request.approved")) == 1
