"""The OpenAPI document follows DESIGN §9's rules for client generators, one by one (the
generated client's journey is tests/client/test_generated_client.py)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.schemas import DateTime
from ecert.domain import rules

OPERATIONS = {
    ("get", "/api/v1/me"): "me",
    ("post", "/api/v1/requests"): "create_request",
    ("get", "/api/v1/requests"): "list_requests",
    ("get", "/api/v1/requests/{request_id}"): "get_request",
    ("post", "/api/v1/requests/{request_id}/cancel"): "cancel_request",
    ("get", "/api/v1/certificates/{certificate_id}/pdf"): "certificate_pdf",
    ("post", "/api/v1/verifications"): "verify",
    ("get", "/api/v1/staff/me"): "staff_me",
    ("get", "/api/v1/staff/requests/{request_id}"): "staff_get_request",
    ("post", "/api/v1/staff/requests/{request_id}/refuse"): "staff_refuse_request",
}


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    return dict(client.get("/api/v1/openapi.json").get_json())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items() if isinstance(op, dict) and "responses" in op]


def test_every_operation_has_a_unique_operation_id(spec: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _m, _p, op in _operations(spec)]
    assert None not in ids
    assert len(ids) == len(set(ids))
    found = {(m, p): op["operationId"] for m, p, op in _operations(spec)}
    # A renamed view renames a generated client's method: these are part of the contract.
    assert {key: found.get(key) for key in OPERATIONS} == OPERATIONS


def test_a_nullable_nested_object_is_typed(spec: dict[str, Any]) -> None:
    refusal = spec["components"]["schemas"]["Request"]["properties"]["refusal"]
    assert refusal == {"allOf": [{"$ref": "#/components/schemas/Refusal"}], "nullable": True}
    assert "anyOf" not in str(spec["components"]["schemas"])


def test_responses_are_open_and_inputs_closed(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("Request", "Refusal", "Certificate", "VerificationResult", "Problem"):
        assert schemas[name].get("additionalProperties", True) is not False, name
    for name in ("RequestCreate", "ResidencePeriod", "VerificationRequest"):
        assert schemas[name]["additionalProperties"] is False, name


def test_statuses_and_reasons_are_enums(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["Request"]["properties"]["status"]["enum"]) == set(rules.REQUEST_STATUSES)
    assert set(schemas["Refusal"]["properties"]["reason"]["enum"]) == set(rules.REFUSAL_REASONS)
    assert set(schemas["Certificate"]["properties"]["status"]["enum"]) == {"valid", "revoked"}
    revocation = schemas["Certificate"]["properties"]["revocation_reason"]
    assert set(revocation["enum"]) == {*rules.REVOCATION_REASONS, None}  # nullable: null is a value


def test_limits_are_the_servers(spec: dict[str, Any]) -> None:
    create = spec["components"]["schemas"]["RequestCreate"]["properties"]
    assert create["purpose"]["maxLength"] == rules.PURPOSE_MAX


def test_downloads_declare_binary_bodies_their_etag_and_304(spec: dict[str, Any]) -> None:
    for path, media in (("/api/v1/certificates/{certificate_id}/pdf", "application/pdf"),
                        ("/api/v1/certificates/{certificate_id}/qr.png", "image/png"),
                        ("/.well-known/ecert/root-ca.pem", "application/x-pem-file")):
        responses = spec["paths"][path]["get"]["responses"]
        assert responses["200"]["content"] == {media: {"schema": {"type": "string", "format": "binary"}}}
        assert "ETag" in responses["200"]["headers"]
        assert "304" in responses


def test_headers_are_declared(spec: dict[str, Any]) -> None:
    assert {"X-Request-ID", "Content-Language", "Retry-After", "Location", "Idempotent-Replayed"} <= set(
        spec["components"]["headers"])
    create = spec["paths"]["/api/v1/requests"]["post"]["responses"]
    assert {"Location", "Idempotent-Replayed", "X-Request-ID"} <= set(create["201"]["headers"])
    assert "Content-Language" in create["409"]["headers"]
    poll = spec["paths"]["/api/v1/requests/{request_id}"]["get"]["responses"]
    assert "ETag" in poll["200"]["headers"] and "304" in poll


@pytest.mark.parametrize("moment", [
    datetime(2026, 11, 30, 8, 31, 0, 123456, tzinfo=UTC),
    datetime(2026, 11, 30, 15, 31, 0, tzinfo=rules.VIETNAM_TZ),
    datetime(2026, 11, 30, 8, 31, 0, 999999),  # naive: UTC, as SQLite gives it back
])
def test_timestamps_are_rfc3339_utc_whole_seconds(moment: datetime) -> None:
    assert DateTime().serialize("at", {"at": moment}) == "2026-11-30T08:31:00Z"


def test_a_request_answer_uses_that_form(client: Any, auth: Any) -> None:
    from tests.support import form1_payload

    body = client.post("/api/v1/requests", json=form1_payload(), headers=auth()).get_json()
    for name in ("submitted_at", "due_at"):
        assert body[name].endswith("Z") and len(body[name]) == len("2026-11-30T08:31:00Z"), body[name]


def test_verification_and_trust_list_moments_and_codes(spec: dict[str, Any]) -> None:
    from ecert.domain.states import KeyStatus
    from verification import OUTCOMES, REASON_CODES

    schemas = spec["components"]["schemas"]
    result = schemas["VerificationResult"]["properties"]
    assert set(result["outcome"]["enum"]) == set(OUTCOMES)
    assert set(schemas["Check"]["properties"]["reason"]["enum"]) == set(REASON_CODES)
    assert result["checked_at"]["format"] == "date-time"
    assert schemas["PublicCertificate"]["properties"]["issued_at"]["format"] == "date-time"
    key = schemas["TrustKey"]["properties"]
    assert set(key["status"]["enum"]) == set(KeyStatus)
    assert {key[name].get("format") for name in ("not_before", "not_after", "revoked_at")} == {"date-time"}


def test_examples_are_answers_the_server_accepts(spec: dict[str, Any], client: Any, auth: Any) -> None:
    create = spec["paths"]["/api/v1/requests"]["post"]["requestBody"]["content"]["application/json"]
    response = client.post("/api/v1/requests", json=create["example"], headers=auth())
    assert response.status_code == 201, response.get_json()
    submitted = spec["components"]["schemas"]["Request"]["properties"]["submitted_at"]
    assert submitted["example"] == "2026-11-30T08:31:00Z"


def test_roles_revocation_reasons_and_public_forms_are_enums(spec: dict[str, Any]) -> None:
    from ecert.domain.states import StaffRole

    schemas = spec["components"]["schemas"]
    for name in ("Session", "StaffMe"):
        assert set(schemas[name]["properties"]["role"]["enum"]) == set(StaffRole), name
    assert set(schemas["RevocationOut"]["properties"]["reason"]["enum"]) == set(rules.REVOCATION_REASONS)
    assert schemas["PublicCertificate"]["properties"]["form_type"]["enum"] == list(rules.FORM_TYPES)
