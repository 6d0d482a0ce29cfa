"""The citizen API's marshmallow schemas: one per payload. The input schemas check shape only;
the rules of a request are ``ecert.domain.validation.validate_request``'s (the numbers in the
OpenAPI document come from ``ecert.domain.rules``)."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.schemas import InputSchema, in_range, one_of
from ecert.domain import rules, validation


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


class ResidencePeriodSchema(InputSchema):
    from_ = fields.String(required=True, data_key="from", attribute="from", metadata={"format": "YYYY-MM"})
    to = fields.String(
        required=True, allow_none=True, metadata={"format": "YYYY-MM", "description": "null: lives there now"}
    )
    address = fields.String(required=True, metadata={"maxLength": rules.ADDRESS_MAX})
    province_code = fields.String(required=True)


class RequestCreateSchema(InputSchema):
    form_type = fields.Integer(required=True, strict=True, validate=one_of(rules.FORM_TYPES))
    purpose = fields.String(required=True, metadata={"maxLength": rules.PURPOSE_MAX})
    place_of_birth = fields.String(load_default=None, allow_none=True, metadata={"maxLength": rules.PLACE_OF_BIRTH_MAX})
    copies = fields.Integer(
        load_default=1, strict=True, metadata={"minimum": rules.MIN_COPIES, "maximum": rules.MAX_COPIES}
    )
    include_ban_section = fields.Boolean(load_default=False)
    phone = fields.String(required=True, metadata={"pattern": f"^{validation.PHONE_RE.pattern}$"})
    email = fields.String(load_default=None, allow_none=True, metadata={"maxLength": rules.EMAIL_MAX})
    residence_history = fields.List(
        fields.Nested(ResidencePeriodSchema),
        required=True,
        metadata={"minItems": 1, "maxItems": rules.RESIDENCE_PERIODS_MAX},
    )
    father_name = fields.String(load_default=None, allow_none=True, metadata={"maxLength": rules.NAME_MAX})
    mother_name = fields.String(load_default=None, allow_none=True, metadata={"maxLength": rules.NAME_MAX})
    spouse_name = fields.String(load_default=None, allow_none=True, metadata={"maxLength": rules.NAME_MAX})
    fee_reduction = fields.String(
        load_default=None,
        allow_none=True,
        validate=one_of(list(rules.FEE_REDUCTIONS)),
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


class ListArgsSchema(InputSchema):
    limit = fields.Integer(load_default=20, validate=in_range(1, validation.PAGE_SIZE_MAX))
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})
