"""GET /api/v1/reference: the data an app would otherwise hard-code (issue #10), public, with ETag."""
from __future__ import annotations

from ecert.domain import rules


def test_reference_is_public_and_complete(client):
    response = client.get("/api/v1/reference")
    assert response.status_code == 200
    body = response.get_json()
    provinces = {p["code"]: p for p in body["provinces"]}
    assert set(provinces) == set(rules.PROVINCES) | {rules.ABROAD_CODE}
    assert provinces["01"]["name"] == "Hà Nội"
    assert provinces["00"] == {
        "code": "00", "name": "Nước ngoài", "name_en": "Abroad", "abroad": True, "current": True,
        "current_name": "Nước ngoài",
    }
    # Hà Giang merged into Tuyên Quang in 2025: still valid in a residence history, no longer current.
    assert provinces["02"]["current"] is False and provinces["02"]["current_name"] is None
    assert provinces["46"]["current_name"] == "Huế"
    assert [p["code"] for p in body["provinces"]][0] == "00"
    refusal = {r["code"]: r["label"] for r in body["refusal_reasons"]}
    assert set(refusal) == set(rules.REFUSAL_REASONS)
    assert refusal["documents_invalid"]["en"] == rules.REFUSAL_REASONS["documents_invalid"]["en"]
    revocation = {r["code"]: r for r in body["revocation_reasons"]}
    assert set(revocation) == set(rules.REVOCATION_REASONS)
    assert revocation["other"]["note_required"] is True
    assert revocation["superseded"]["note_required"] is False
    assert revocation["court_decision"]["label"]["vi"] == "Theo quyết định của Tòa án"
    fees = body["fees"]
    assert fees == {
        "currency": "VND",
        "standard_vnd": 200_000,
        "reduced_vnd": 100_000,
        "copies_included": 2,
        "extra_copy_vnd": 5_000,
        "reductions": [
            {"code": code, "label": dict(label)} for code, label in rules.FEE_REDUCTIONS.items()
        ],
    }


def test_reference_has_etag_and_may_be_cached(client):
    first = client.get("/api/v1/reference")
    etag = first.headers["ETag"]
    assert etag
    assert "public" in first.headers["Cache-Control"]
    assert "max-age=" in first.headers["Cache-Control"]
    again = client.get("/api/v1/reference", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert again.get_data() == b""


def test_reference_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/reference"]["get"]
    assert "200" in operation["responses"]
    assert "security" not in operation or operation["security"] == []
