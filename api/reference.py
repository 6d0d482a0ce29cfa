"""``GET /api/v1/reference``: the reference data an app would otherwise hard-code.

Provinces with their codes (abroad included, and whether each code still names a province after
the 2025 merger), refusal and revocation reasons with their vi/en labels, and the fee table. All
of it comes from ``ecert.domain.rules``, so the API cannot drift from the rules it serves.
Public, the same for everyone: any cache may keep it for an hour and revalidate with its ETag.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ecert.domain import rules

blp = Blueprint(
    "reference",
    __name__,
    url_prefix="/api/v1/reference",
    description="Reference data: provinces, refusal and revocation reasons, fees (public)",
)

CACHE_CONTROL = "public, max-age=3600"


class LabelSchema(Schema):
    vi = fields.String(required=True)
    en = fields.String(required=True)


class ProvinceSchema(Schema):
    code = fields.String(required=True, metadata={"description": "2-digit code for province_code; 00 is abroad"})
    name = fields.String(required=True, metadata={"description": "Vietnamese name (before the 2025 merger)"})
    name_en = fields.String(allow_none=True, metadata={"description": "English name where it differs (abroad)"})
    abroad = fields.Boolean(required=True)
    current = fields.Boolean(
        required=True, metadata={"description": "The code still names a province after the 2025 merger"}
    )
    current_name = fields.String(allow_none=True, metadata={"description": "Its name since the 2025 merger"})


class ReasonSchema(Schema):
    code = fields.String(required=True)
    label = fields.Nested(LabelSchema, required=True)


class RevocationReasonSchema(ReasonSchema):
    note_required = fields.Boolean(required=True, metadata={"description": "Revoking for it needs a note"})


class FeesSchema(Schema):
    currency = fields.String(required=True)
    standard_vnd = fields.Integer(required=True)
    reduced_vnd = fields.Integer(required=True)
    copies_included = fields.Integer(required=True, metadata={"description": "Copies the base fee covers"})
    extra_copy_vnd = fields.Integer(required=True, metadata={"description": "Per copy beyond copies_included"})
    reductions = fields.List(
        fields.Nested(ReasonSchema),
        required=True,
        metadata={"description": "Values of fee_reduction that claim the reduced fee"},
    )


class ReferenceSchema(Schema):
    provinces = fields.List(fields.Nested(ProvinceSchema), required=True)
    refusal_reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    revocation_reasons = fields.List(fields.Nested(RevocationReasonSchema), required=True)
    fees = fields.Nested(FeesSchema, required=True)


def _provinces() -> list[dict[str, Any]]:
    abroad = {
        "code": rules.ABROAD_CODE,
        "name": rules.ABROAD_NAME["vi"],
        "name_en": rules.ABROAD_NAME["en"],
        "abroad": True,
        "current": True,
        "current_name": rules.ABROAD_NAME["vi"],
    }
    return [abroad] + [
        {
            "code": code,
            "name": name,
            "name_en": None,
            "abroad": False,
            "current": code in rules.MERGED_2025,
            "current_name": rules.MERGED_2025.get(code),
        }
        for code, name in sorted(rules.PROVINCES.items())
    ]


def _labelled(table: Any) -> list[dict[str, Any]]:
    return [{"code": code, "label": dict(label)} for code, label in table.items()]


def reference_data() -> dict[str, Any]:
    return {
        "provinces": _provinces(),
        "refusal_reasons": _labelled(rules.REFUSAL_REASONS),
        "revocation_reasons": [
            {**reason, "note_required": reason["code"] in rules.REVOCATION_NOTE_REQUIRED}
            for reason in _labelled(rules.REVOCATION_REASONS)
        ],
        "fees": {
            "currency": "VND",
            "standard_vnd": rules.STANDARD_FEE_VND,
            "reduced_vnd": rules.REDUCED_FEE_VND,
            "copies_included": rules.COPIES_INCLUDED,
            "extra_copy_vnd": rules.EXTRA_COPY_FEE_VND,
            "reductions": _labelled(rules.FEE_REDUCTIONS),
        },
    }


@blp.after_request
def _cacheable(response: Response) -> Response:
    # Set after the view so that a 304 says the same as the 200 it stands for.
    if request.endpoint == "reference.reference" and response.status_code in (200, 304):
        response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@blp.route("")
@blp.etag
@blp.response(200, ReferenceSchema)
def reference() -> dict[str, Any]:
    """Provinces (with abroad, code 00), refusal and revocation reasons, and the fee table.

    The same for everyone: cache it and revalidate with If-None-Match."""
    return reference_data()
