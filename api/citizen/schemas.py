"""The citizen API's marshmallow schemas: one per payload. Validators speak in codes that
ecert.domain.i18n localises."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from ecert.domain import rules


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class MeSchema(Schema):
    personal_id = fields.String(required=True)
    name = fields.String(required=True)
    birthdate = fields.Date(required=True)
    gender = fields.String(required=True)
    nationality = fields.String(allow_none=True)
    place_of_birth = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    phone_number = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    open_request_id = fields.String(allow_none=True)


class ResidencePeriodSchema(StrictSchema):
    from_ = fields.String(required=True, data_key="from", attribute="from", validate=validate.Length(max=7, error="invalid_month"))
    to = fields.String(required=True, allow_none=True, validate=validate.Length(max=7, error="invalid_month"))
    address = fields.String(required=True, validate=validate.Length(max=4 * rules.ADDRESS_MAX, error="too_long"))
    province_code = fields.String(required=True, validate=validate.Length(max=3, error="unknown_province"))


class RequestCreateSchema(StrictSchema):
    form_type = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2], error="invalid_choice"))
    # Lengths here only bound the work; the real limits apply after NFC in ecert.domain.validation.
    purpose = fields.String(required=True, validate=validate.Length(max=4 * rules.PURPOSE_MAX, error="too_long"))
    place_of_birth = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=4 * rules.PLACE_OF_BIRTH_MAX, error="too_long")
    )
    copies = fields.Integer(
        load_default=1, strict=True, validate=validate.Range(1, rules.MAX_COPIES, error="out_of_range")
    )
    include_ban_section = fields.Boolean(load_default=False)
    phone = fields.String(required=True, validate=validate.Length(max=20, error="invalid_phone"))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=254, error="too_long"))
    residence_history = fields.List(
        fields.Nested(ResidencePeriodSchema),
        required=True,
        validate=validate.Length(min=1, max=50, error="out_of_range"),
    )
    father_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=400, error="too_long"))
    mother_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=400, error="too_long"))
    spouse_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=400, error="too_long"))
    fee_reduction = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["student", "merit"], error="invalid_choice"),
        metadata={"description": "Reduced fee (100,000 VND) for students or people with merit; checked by staff."},
    )


class RefusalSchema(Schema):
    reason = fields.String(required=True)
    reason_label = fields.String()
    note = fields.String()
    refused_at = fields.DateTime()


class RequestSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    form_type = fields.Integer(required=True)
    purpose = fields.String(required=True)
    copies = fields.Integer(required=True)
    include_ban_section = fields.Boolean(required=True)
    fee_vnd = fields.Integer(required=True)
    fee_status = fields.String()
    submitted_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    overdue = fields.Boolean()
    deadline_extended = fields.Boolean()
    decided_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    certificate_id = fields.String(allow_none=True)
    refusal = fields.Nested(RefusalSchema, allow_none=True)


class RequestListSchema(Schema):
    items = fields.List(fields.Nested(RequestSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class ListArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100, error="out_of_range"))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200, error="invalid_cursor"))
