"""The change feed: every change of DESIGN §11's list writes its event in the same transaction,
and ``GET /api/v1/events`` shows a citizen their own events, oldest first, cursor-paginated."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ecert.models import OutboxEvent
from ecert.services import outbox
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    AN,
    BINH,
    CUONG,
    clock,
    fast_hashes,
    issued_certificate,
    review_request,
    seeded,
    staff,
    submit,
)

EVENTS = "/api/v1/events"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def feed(client, auth, person, **query):
    response = client.get(EVENTS, query_string=query, headers=auth(**person))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def types(page):
    return [item["type"] for item in page["items"]]


def rows(db, **filters):
    db.expire_all()
    query = select(OutboxEvent).order_by(OutboxEvent.seq)
    for key, value in filters.items():
        query = query.where(getattr(OutboxEvent, key) == value)
    return list(db.scalars(query))


def test_an_automatic_issuance_is_submitted_then_issued(client, auth, issued_certificate):
    page = feed(client, auth, AN)
    assert types(page) == ["request.submitted", "request.issued"]
    submitted, issued = page["items"]
    assert set(submitted) == {"id", "type", "at", "request_id", "certificate_id"}
    assert submitted["request_id"] == issued["request_id"] == issued_certificate["id"]
    assert submitted["certificate_id"] is None
    assert issued["certificate_id"] == issued_certificate["certificate_id"]
    assert RFC3339_Z.match(submitted["at"]) and RFC3339_Z.match(issued["at"])
    assert submitted["id"] != issued["id"]


def test_a_request_for_review_is_in_review_then_refused(client, auth, staff, review_request):
    supervisor = staff.signed_in("supervisor", "truong.phong")
    assert types(feed(client, auth, CUONG)) == ["request.submitted", "request.in_review"]
    refused = client.post(f"/api/v1/staff/requests/{review_request['id']}/refuse",
                          json={"reason": "not_entitled", "note": "Không thuộc trường hợp được cấp"},
                          headers=supervisor.headers)
    assert refused.status_code == 200, refused.get_json()
    page = feed(client, auth, CUONG)
    assert types(page) == ["request.submitted", "request.in_review", "request.refused"]
    assert {item["request_id"] for item in page["items"]} == {review_request["id"]}


def test_a_cancel_is_an_event_once_even_when_repeated(client, auth, review_request):
    url = f"/api/v1/requests/{review_request['id']}/cancel"
    assert client.post(url, headers=auth(**CUONG)).status_code == 200
    assert client.post(url, headers=auth(**CUONG)).status_code == 200
    assert types(feed(client, auth, CUONG))[-1:] == ["request.cancelled"]
    assert types(feed(client, auth, CUONG)).count("request.cancelled") == 1


def test_a_revocation_is_an_event_once_and_the_holder_sees_it(client, auth, staff, issued_certificate, db):
    supervisor = staff.signed_in("supervisor", "truong.phong")
    certificate_id = issued_certificate["certificate_id"]
    for _ in range(2):  # the repeat changes nothing, and tells nobody anything new
        response = client.post(f"/api/v1/staff/certificates/{certificate_id}/revoke",
                               json={"reason": "issued_in_error", "totp": staff.fresh_code(supervisor)},
                               headers=supervisor.headers)
        assert response.status_code == 200, response.get_json()
    page = feed(client, auth, AN)
    assert types(page) == ["request.submitted", "request.issued", "certificate.revoked"]
    revoked = page["items"][-1]
    assert (revoked["certificate_id"], revoked["request_id"]) == (certificate_id, issued_certificate["id"])


def test_a_verification_of_a_certificate_is_an_event_and_junk_is_not(client, auth, issued_certificate, db):
    qr = client.get(f"/api/v1/certificates/{issued_certificate['certificate_id']}", headers=auth(**AN)).get_json()
    assert client.post("/api/v1/verifications", json={"qr": qr["qr_text"]}).status_code == 200
    assert client.post("/api/v1/verifications", json={"qr": "HC1:not-a-token"}).status_code == 200
    page = feed(client, auth, AN)
    assert types(page) == ["request.submitted", "request.issued", "certificate.verified"]
    assert page["items"][-1]["certificate_id"] == issued_certificate["certificate_id"]
    assert len(rows(db, type="certificate.verified")) == 1


def test_a_refused_submission_writes_no_event(client, auth, review_request, db):
    """The event is in the change's transaction: a change that does not happen tells no one."""
    before = len(rows(db))
    again = client.post("/api/v1/requests", json={"form_type": 1}, headers=auth(**CUONG))
    assert again.status_code == 422
    assert len(rows(db)) == before


def test_citizens_see_only_their_own_events(client, auth, issued_certificate, review_request):
    an, cuong = feed(client, auth, AN), feed(client, auth, CUONG)
    assert {item["request_id"] for item in an["items"]} == {issued_certificate["id"]}
    assert {item["request_id"] for item in cuong["items"]} == {review_request["id"]}
    # Someone else's cursor moves a reader only within their own events.
    assert feed(client, auth, BINH, after=an["next_cursor"]) == {"items": [], "next_cursor": an["next_cursor"]}
    assert feed(client, auth, BINH) == {"items": [], "next_cursor": None}


def test_the_feed_pages_forward_and_keeps_a_cursor_at_the_end(client, auth, review_request):
    first = feed(client, auth, CUONG, limit=1)
    assert types(first) == ["request.submitted"]
    second = feed(client, auth, CUONG, limit=1, after=first["next_cursor"])
    assert types(second) == ["request.in_review"]
    end = feed(client, auth, CUONG, limit=1, after=second["next_cursor"])
    assert end == {"items": [], "next_cursor": second["next_cursor"]}
    # Later, the same cursor gives exactly what happened since.
    assert client.post(f"/api/v1/requests/{review_request['id']}/cancel", headers=auth(**CUONG)).status_code == 200
    later = feed(client, auth, CUONG, after=end["next_cursor"])
    assert types(later) == ["request.cancelled"]


def _problem(response):
    assert response.status_code == 422, response.get_json()
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return {(error["field"], error["code"]) for error in response.get_json()["errors"]}


@pytest.mark.parametrize("query", [
    {"after": "garbage"},
    {"after": "v1.WzEsMl0.AAAAAAAA"},
    {"after": "v1." + "A" * 5000 + ".x"},
    {"after": "v1.WyJ4IiwieSJd.AAAAAAAA"},
])
def test_a_bad_cursor_is_a_422_naming_after(client, auth, query, issued_certificate):
    response = client.get(EVENTS, query_string=query, headers=auth(**AN))
    assert _problem(response) == {("after", "invalid_cursor")}


def test_a_cursor_of_bad_bytes_is_a_422(client, auth):
    for raw in ("%FF%FE", "%00", "v1.%E2%80%AE.x"):
        assert _problem(client.get(f"{EVENTS}?after={raw}", headers=auth(**AN))) == {("after", "invalid_cursor")}


def test_another_lists_cursor_is_refused(client, auth, issued_certificate):
    requests_cursor = client.get("/api/v1/requests", query_string={"limit": 1}, headers=auth(**AN)).get_json()
    assert requests_cursor["next_cursor"] is None  # one request: make a cursor of that list by hand
    from ecert.services.paging import encode_cursor
    from ecert.services.requests import NEWEST_FIRST

    foreign = encode_cursor(["2026-11-30T00:00:00+00:00", "x"], context=NEWEST_FIRST.context)
    assert _problem(client.get(EVENTS, query_string={"after": foreign}, headers=auth(**AN))) == {
        ("after", "invalid_cursor")}


@pytest.mark.parametrize(("query", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "x"}, "limit"),
    ({"limit": "9" * 400}, "limit"), ({"limit": "-1"}, "limit"),
])
def test_hostile_query_parameters_are_422(client, auth, query, field):
    assert field in {error_field for error_field, _ in _problem(
        client.get(EVENTS, query_string=query, headers=auth(**AN)))}


def test_the_feed_needs_the_citizens_token(client, staff):
    assert client.get(EVENTS).status_code == 401
    officer = staff.signed_in("officer", "can.bo")
    assert client.get(EVENTS, headers=officer.headers).status_code == 401


def test_the_notification_names_no_one_and_carries_no_record(db, issued_certificate):
    [issued] = rows(db, type="request.issued")
    body = outbox.notification_body(issued)
    assert set(body) == {"id", "type", "at", "sub", "request_id", "certificate_id"}
    assert body["sub"] == AN["pid"] and RFC3339_Z.match(body["at"])
    text = repr(body)
    # The whole birth date: a random UUID in the body may well contain "1990".
    assert AN["name"] not in text and AN["birthdate"] not in text


def test_the_spec_declares_the_feed_with_enums(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"][EVENTS]["get"]
    assert operation["operationId"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"after", "limit"}
    item = spec["components"]["schemas"]["Event"]
    assert set(item["properties"]["type"]["enum"]) == {str(kind) for kind in outbox.EventType}


def test_another_citizens_sub_in_the_query_changes_nothing(client, auth, issued_certificate):
    """Like every list, unknown query parameters are ignored: the token alone says whose feed."""
    assert feed(client, auth, BINH, sub=AN["pid"]) == {"items": [], "next_cursor": None}


def test_a_share_link_opened_is_share_used_not_certificate_verified(client, auth, issued_certificate, db):
    certificate_id = issued_certificate["certificate_id"]
    created = client.post(f"/api/v1/certificates/{certificate_id}/shares", json={"expires_in_hours": 2},
                          headers=auth(**AN))
    assert created.status_code == 201, created.get_json()
    path = "/" + created.get_json()["url"].split("/", 3)[3]
    assert client.get(path).status_code == 200
    page = feed(client, auth, AN)
    assert types(page) == ["request.submitted", "request.issued", "share.used"]
    assert page["items"][-1]["certificate_id"] == certificate_id
    assert rows(db, type="certificate.verified") == []


def test_a_batch_of_checks_writes_one_event_per_certificate_named(client, auth, issued_certificate, db):
    """The batch writer's path (ecert.batched -> record_checks): each check that names a certificate
    gets its certificate.verified in the batch's transaction; junk and share uses do not."""
    from datetime import UTC, datetime

    from ecert.services.verification import CheckRecord, record_checks

    certificate_id = issued_certificate["certificate_id"]
    moment = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    record_checks(db, [
        CheckRecord(certificate_id, moment, "qr", "valid"),
        CheckRecord(None, moment, "qr", "malformed"),
        CheckRecord(certificate_id, moment, "page", "valid"),
        CheckRecord(certificate_id, moment, "share", "valid"),
    ])
    verified = rows(db, type="certificate.verified")
    assert [(row.certificate_id, row.occurred_at) for row in verified] == [(certificate_id, moment)] * 2
    assert {row.sub for row in verified} == {AN["pid"]}


def test_a_batch_is_written_in_its_order_with_every_value(client, auth, issued_certificate, db):
    """A batch of checks (on PostgreSQL one INSERT … FROM unnest for all of them) keeps each
    check's values and the batch's order: the feed's seq follows the checks, not their times."""
    from datetime import UTC, datetime, timedelta

    from ecert.models import VerificationEvent
    from ecert.services.verification import CheckRecord, record_checks

    certificate_id = issued_certificate["certificate_id"]
    start = datetime(2026, 11, 30, 8, 0, 0, 123456, tzinfo=UTC)
    # Times out of order on purpose; every third check names no certificate.
    checks = [
        CheckRecord(
            certificate_id if i % 3 else None,
            start + timedelta(seconds=(i * 7) % 11, microseconds=i),
            ("qr", "page", "code", "pdf")[i % 4],
            ("valid", "malformed", "not_found")[i % 3],
        )
        for i in range(30)
    ]
    record_checks(db, checks)

    db.expire_all()
    logged = db.scalars(
        select(VerificationEvent).where(VerificationEvent.checked_at >= start).order_by(VerificationEvent.id)
    ).all()
    assert [
        (event.certificate_id, event.checked_at, event.channel, event.outcome, event.verifier_id, event.share_id)
        for event in logged
    ] == [(c.certificate_id, c.checked_at, c.channel, c.outcome, None, None) for c in checks]
    verified = rows(db, type="certificate.verified")
    assert [row.occurred_at for row in verified] == [c.checked_at for c in checks if c.certificate_id]
    assert {(row.sub, row.certificate_id, row.state, row.attempts) for row in verified} == {
        (AN["pid"], certificate_id, "pending", 0)
    }
    assert all(row.next_attempt_at == row.retry_window_from == row.occurred_at for row in verified)
    assert len({row.id for row in verified}) == len(verified)
