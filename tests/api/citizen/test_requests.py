"""The citizen's request journey through the HTTP API."""
from __future__ import annotations

import json

import pytest

from ecert.models import AuditEvent, Certificate, CertificateRequest
from tests.support import form1_payload, form2_payload, history_since_14

AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
BINH = {"pid": "079185001234", "name": "Trần Thị Bình", "birthdate": "1985-11-02", "gender": "female"}
CUONG = {"pid": "048088004321", "name": "Lê Văn Cường", "birthdate": "1988-01-23", "gender": "male"}
DUNG = {"pid": "031192007777", "name": "Hoàng Thị Dung", "birthdate": "1992-07-30", "gender": "female"}
PHUC = {"pid": "001203001122", "name": "Đỗ Minh Phúc", "birthdate": "2003-09-09", "gender": "male"}


@pytest.fixture
def seeded(app):
    result = app.test_cli_runner().invoke(args=["ecert", "seed-demo"])
    assert result.exit_code == 0, result.output
    return app


def post(client, headers, payload, **extra_headers):
    return client.post("/api/v1/requests", json=payload, headers={**headers, **extra_headers})


def for_person(person, form=form1_payload, **overrides):
    overrides.setdefault("residence_history", history_since_14(person["birthdate"]))
    return form(**overrides)


def test_clean_form1_is_issued_at_once(client, auth, seeded):
    response = post(client, auth(**AN), for_person(AN))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "issued"
    assert body["certificate_id"]
    assert body["fee_vnd"] == 200_000
    assert body["refusal"] is None
    assert response.headers["Location"] == f"/api/v1/requests/{body['id']}"
    assert set(body) >= {"id", "status", "form_type", "purpose", "copies", "include_ban_section", "fee_vnd",
                         "submitted_at", "due_at", "certificate_id", "refusal"}


def test_expunged_only_person_is_issued_automatically(client, auth, seeded, db):
    response = post(client, auth(**BINH), for_person(BINH, phone="0387654321"))
    assert response.get_json()["status"] == "issued"
    cert = db.get(Certificate, response.get_json()["certificate_id"])
    content = json.loads(cert.content)
    assert content["record"]["statement"] == 0
    assert content["record"]["convictions"] == []


def test_active_conviction_waits_for_review(client, auth, seeded, db):
    response = post(client, auth(**CUONG), for_person(CUONG))
    body = response.get_json()
    assert response.status_code == 201
    assert body["status"] == "needs_review"
    assert body["certificate_id"] is None
    req = db.get(CertificateRequest, body["id"])
    assert "has_unexpunged_conviction" in req.review_reasons


def test_ban_section_request_waits_for_review(client, auth, seeded):
    response = post(client, auth(**DUNG), for_person(DUNG, include_ban_section=True))
    assert response.get_json()["status"] == "needs_review"


def test_form2_always_waits_for_review(client, auth, seeded):
    response = post(client, auth(**AN), for_person(AN, form2_payload))
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["status"] == "needs_review"
    assert body["include_ban_section"] is True


def test_two_province_history_extends_deadline_and_waits(client, auth, seeded):
    history = [
        {"from": "2017-09", "to": "2021-06", "address": "1 Lê Lợi, Quận 1, TP HCM", "province_code": "79"},
        {"from": "2021-07", "to": None, "address": "5 Trần Phú, Hải Châu, Đà Nẵng", "province_code": "48"},
    ]
    response = post(client, auth(**PHUC), for_person(PHUC, residence_history=history))
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["status"] == "needs_review"
    assert body["deadline_extended"] is True


def test_automatic_issuance_can_be_turned_off(make_app, auth):
    app = make_app(auto_issue=False)
    response = post(app.test_client(), auth(**AN), form1_payload())
    assert response.get_json()["status"] == "needs_review"


def test_fee_for_copies_and_reduction(client, auth, seeded):
    body = post(client, auth(**AN), for_person(AN, copies=4, fee_reduction="student")).get_json()
    assert body["fee_vnd"] == 100_000 + 2 * 5_000


def test_one_open_request_per_citizen(client, auth, seeded):
    first = post(client, auth(**CUONG), for_person(CUONG))
    assert first.get_json()["status"] == "needs_review"
    second = post(client, auth(**CUONG), for_person(CUONG, purpose="Khác"))
    assert second.status_code == 409
    problem = second.get_json()
    assert problem["code"] == "open_request_exists"
    assert problem["open_request_id"] == first.get_json()["id"]


def test_after_issuance_a_new_request_is_allowed(client, auth, seeded):
    assert post(client, auth(**AN), for_person(AN)).get_json()["status"] == "issued"
    assert post(client, auth(**AN), for_person(AN)).status_code == 201


def test_idempotency_key_replays_first_answer(client, auth, seeded, db):
    headers = auth(**CUONG)
    first = post(client, headers, for_person(CUONG), **{"Idempotency-Key": "abc-123"})
    again = post(client, headers, for_person(CUONG), **{"Idempotency-Key": "abc-123"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert db.query(CertificateRequest).filter_by(citizen_pid=CUONG["pid"]).count() == 1


def test_idempotency_key_with_other_body_is_409(client, auth, seeded):
    headers = auth(**CUONG)
    post(client, headers, for_person(CUONG), **{"Idempotency-Key": "k1"})
    other = post(client, headers, for_person(CUONG, purpose="Du học"), **{"Idempotency-Key": "k1"})
    assert other.status_code == 409
    assert other.get_json()["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_citizen(client, auth, seeded):
    a = post(client, auth(**CUONG), for_person(CUONG), **{"Idempotency-Key": "shared"})
    b = post(client, auth(**AN), for_person(AN), **{"Idempotency-Key": "shared"})
    assert a.get_json()["id"] != b.get_json()["id"]


def test_get_with_etag_and_304(client, auth, seeded):
    headers = auth(**CUONG)
    created = post(client, headers, for_person(CUONG)).get_json()
    first = client.get(f"/api/v1/requests/{created['id']}", headers=headers)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1/requests/{created['id']}", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers)
    changed = client.get(f"/api/v1/requests/{created['id']}", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["status"] == "cancelled"


def test_another_citizens_request_is_404(client, auth, seeded):
    created = post(client, auth(**CUONG), for_person(CUONG)).get_json()
    other = auth(**AN)
    assert client.get(f"/api/v1/requests/{created['id']}", headers=other).status_code == 404
    assert client.post(f"/api/v1/requests/{created['id']}/cancel", headers=other).status_code == 404
    listing = client.get("/api/v1/requests", headers=other).get_json()
    assert listing["items"] == []
    # and the owner's request is untouched
    assert client.get(f"/api/v1/requests/{created['id']}", headers=auth(**CUONG)).get_json()["status"] == "needs_review"


def test_unknown_id_is_404(client, auth):
    assert client.get("/api/v1/requests/does-not-exist", headers=auth()).status_code == 404
    assert client.get("/api/v1/requests/" + "x" * 300, headers=auth()).status_code == 404


def test_cancel_open_request_frees_the_slot(client, auth, seeded, db):
    headers = auth(**CUONG)
    created = post(client, headers, for_person(CUONG)).get_json()
    cancelled = client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers)
    assert again.status_code == 200  # issue #10: a retried cancel is not a failure
    assert post(client, headers, for_person(CUONG)).status_code == 201
    actions = [e.action for e in db.query(AuditEvent).order_by(AuditEvent.seq)]
    assert "request.cancelled" in actions


def test_issued_request_cannot_be_cancelled(client, auth, seeded):
    headers = auth(**AN)
    created = post(client, headers, for_person(AN)).get_json()
    response = client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers)
    assert response.status_code == 409


def test_cursor_pagination(client, auth, seeded):
    headers = auth(**CUONG)
    ids = []
    for _ in range(5):
        created = post(client, headers, for_person(CUONG)).get_json()
        ids.append(created["id"])
        client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers)
    seen, cursor = [], None
    while True:
        url = "/api/v1/requests?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "cursor=%%%", "cursor=bm90LWpzb24"])
def test_bad_list_arguments(client, auth, query):
    response = client.get(f"/api/v1/requests?{query}", headers=auth())
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def _codes(response):
    return {(e["field"], e["code"]) for e in response.get_json().get("errors", [])}


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"form_type": 3}, "form_type"),
        ({"form_type": "1"}, "form_type"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "x" * 501}, "purpose"),
        ({"copies": 0}, "copies"),
        ({"copies": 11}, "copies"),
        ({"phone": "0123456789"}, "phone"),
        ({"phone": "+8491234567"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"residence_history": []}, "residence_history"),
        ({"residence_history": [{"from": "2030-01", "to": None, "address": "x", "province_code": "01"}]}, None),
        ({"residence_history": [{"from": "2004-05", "to": None, "address": "x", "province_code": "99"}]}, None),
        ({"residence_history": [
            {"from": "2004-05", "to": "2012-01", "address": "a", "province_code": "01"},
            {"from": "2010-01", "to": None, "address": "b", "province_code": "01"}]}, None),
        ({"residence_history": [{"from": "2010-05", "to": "2009-01", "address": "x", "province_code": "01"}]}, None),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_field_rules(client, auth, db, overrides, field):
    before = db.query(AuditEvent).count()
    response = post(client, auth(), form1_payload(**overrides))
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert problem["errors"]
    if field:
        assert field in {e["field"].split(".")[0] for e in problem["errors"]}
    for error in problem["errors"]:
        assert error["detail"]
    assert db.query(CertificateRequest).count() == 0
    assert db.query(AuditEvent).count() == before


def test_form2_needs_parents_and_spouse(client, auth):
    response = post(client, auth(), form2_payload(father_name=None, spouse_name=None))
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert {"father_name", "spouse_name"} <= fields


def test_errors_in_english_and_vietnamese(client, auth):
    vi = post(client, auth(), form1_payload(phone="123")).get_json()
    en = post(client, auth(), form1_payload(phone="123"), **{"Accept-Language": "en"}).get_json()
    assert vi["errors"][0]["detail"] != en["errors"][0]["detail"]


def test_personal_id_inconsistent_with_birthdate(client, auth):
    headers = auth(pid="001090012345", birthdate="1991-05-17")
    response = post(client, headers, for_person(CUONG))
    assert response.status_code == 422
    assert any(e["field"].startswith("identity") for e in response.get_json()["errors"])


@pytest.mark.parametrize(
    "data, content_type",
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"null", "application/json"),
        (b"form_type=1", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_malformed_bodies(client, auth, data, content_type):
    response = client.post("/api/v1/requests", data=data, content_type=content_type, headers=auth())
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert "Traceback" not in response.get_data(as_text=True)


def test_huge_body_is_413(client, auth):
    response = client.post("/api/v1/requests", data=b"{" + b" " * (11 * 1024 * 1024) + b"}",
                           content_type="application/json", headers=auth())
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_security_headers_and_request_id(client):
    response = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert response.headers["X-Request-ID"] == "trace-42"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["X-Request-ID"] != "bad id with spaces"


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "signing": "ok"}


def test_openapi_and_docs(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/requests" in spec["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_unknown_route_and_method(client):
    assert client.get("/api/v1/nothing-here").mimetype == "application/problem+json"
    response = client.delete("/api/v1/requests")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_request_creation_is_rate_limited(make_app, auth):
    # Issue #10 changed this: a 422 spends nothing (it used to count), a request that is taken does.
    app = make_app(rate_limits="request_creation=2/minute")
    client = app.test_client()
    statuses = [post(client, auth(), {"form_type": 9}).status_code for _ in range(3)]
    assert statuses == [422, 422, 422]
    statuses = [post(client, auth(**AN), for_person(AN)).status_code for _ in range(3)]
    assert statuses[:2] != [429, 429]
    assert statuses[2] == 429
    limited = post(client, auth(**AN), for_person(AN))
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) >= 1


def test_metrics_count_requests_and_decisions(client, auth, seeded):
    post(client, auth(**AN), for_person(AN))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ecert_http_requests_total{method="POST",route="/api/v1/requests",status="201"}' in text
    assert 'ecert_request_decisions_total{status="issued"}' in text
    assert "ecert_http_request_duration_seconds_bucket" in text


def test_metrics_token_is_enforced_when_set(make_app):
    client = make_app(metrics_token="s3cret-token").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


# --- the citizen reads their own request (issue #10) -------------------------------------------


def test_status_label_follows_the_language(client, auth, seeded):
    headers = auth(**CUONG)
    created = post(client, headers, for_person(CUONG)).get_json()
    assert created["status_label"] == "Chờ cán bộ xem xét"
    url = f"/api/v1/requests/{created['id']}"
    assert client.get(url, headers={**headers, "Accept-Language": "en"}).get_json()["status_label"] == \
        "Awaiting staff review"
    assert client.get(url + "?lang=en", headers=headers).get_json()["status_label"] == "Awaiting staff review"


def test_waiting_reasons_speak_to_the_citizen_without_record_details(client, auth, seeded):
    body = post(client, auth(**CUONG), for_person(CUONG), **{"Accept-Language": "en"}).get_json()
    codes = [reason["code"] for reason in body["waiting_reasons"]]
    assert codes == ["record_check"]
    label = body["waiting_reasons"][0]["label"]
    assert label and "conviction" not in label.lower()
    text = json.dumps(body, ensure_ascii=False)
    assert "has_unexpunged_conviction" not in text and "173" not in text


def test_waiting_reasons_name_several_provinces_and_abroad(client, auth, seeded):
    history = [
        {"from": "2017-09", "to": "2019-06", "address": "1 Lê Lợi, Quận 1, TP HCM", "province_code": "79"},
        {"from": "2019-07", "to": "2021-06", "address": "Tokyo", "province_code": "00"},
        {"from": "2021-07", "to": None, "address": "5 Trần Phú, Hải Châu, Đà Nẵng", "province_code": "48"},
    ]
    body = post(client, auth(**PHUC), for_person(PHUC, residence_history=history)).get_json()
    assert [r["code"] for r in body["waiting_reasons"]] == ["several_provinces", "abroad"]
    assert all(r["label"] for r in body["waiting_reasons"])


def test_an_issued_request_waits_for_nothing(client, auth, seeded):
    body = post(client, auth(**AN), for_person(AN)).get_json()
    assert body["waiting_reasons"] == []
    assert [step["status"] for step in body["timeline"]] == ["submitted", "issued"]
    assert all(step["at"] and step["label"] for step in body["timeline"])


def test_timeline_of_a_cancelled_request(client, auth, seeded):
    headers = auth(**CUONG)
    created = post(client, headers, for_person(CUONG)).get_json()
    assert [step["status"] for step in created["timeline"]] == ["submitted", "needs_review"]
    cancelled = client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers).get_json()
    assert [step["status"] for step in cancelled["timeline"]] == ["submitted", "needs_review", "cancelled"]
    assert cancelled["timeline"][-1]["at"] == cancelled["cancelled_at"]
    assert cancelled["waiting_reasons"] == []


def test_submitted_holds_what_the_citizen_sent(client, auth, seeded):
    payload = for_person(AN, form2_payload, email="an@example.vn")
    body = post(client, auth(**AN), payload).get_json()
    submitted = body["submitted"]
    assert submitted["phone"] == payload["phone"]
    assert submitted["email"] == "an@example.vn"
    assert submitted["residence_history"] == payload["residence_history"]
    for name in ("father_name", "mother_name", "spouse_name"):
        assert submitted[name]


def test_fee_breakdown_adds_up(client, auth, seeded):
    body = post(client, auth(**CUONG), for_person(CUONG, copies=4, fee_reduction="student")).get_json()
    breakdown = body["fee_breakdown"]
    assert breakdown == {"base_vnd": 200_000, "reduction_vnd": 100_000, "extra_copies": 2,
                         "copies_surcharge_vnd": 10_000, "total_vnd": 110_000}
    assert breakdown["total_vnd"] == body["fee_vnd"]


def test_fee_is_not_due_once_cancelled(client, auth, seeded):
    headers = auth(**CUONG)
    created = post(client, headers, for_person(CUONG)).get_json()
    assert created["fee_status"] == "owed"
    cancelled = client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers).get_json()
    assert cancelled["fee_status"] == "not_due"


def test_a_second_cancel_answers_like_the_first(client, auth, seeded, db):
    headers = auth(**CUONG)
    created = post(client, headers, for_person(CUONG)).get_json()
    first = client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers)
    second = client.post(f"/api/v1/requests/{created['id']}/cancel", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.get_json() == first.get_json()
    events = db.query(AuditEvent).filter_by(action="request.cancelled", target_id=created["id"]).count()
    assert events == 1


def test_problems_carry_the_trace_id(client, auth):
    response = client.get("/api/v1/requests/does-not-exist", headers={**auth(), "X-Request-ID": "trace-77"})
    problem = response.get_json()
    assert problem["trace_id"] == "trace-77"
    assert "request_id" not in problem
