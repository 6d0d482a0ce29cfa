"""api/schemas.py: every input schema answers in codes of the one catalogue, never in sentences."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError, fields

from api.citizen.schemas import RequestCreateSchema
from api.schemas import InputSchema, checked_by, in_range, max_length, not_empty, one_of
from api.staff.schemas import AuditQuerySchema, LoginSchema
from ecert.domain import validation
from ecert.domain.i18n import has_message


class Sample(InputSchema):
    name = fields.String(required=True, validate=[not_empty(), max_length(5)])
    count = fields.Integer(strict=True, validate=in_range(1, 3))
    colour = fields.String(validate=one_of(["red", "blue"]))
    day = fields.Date()
    tags = fields.List(fields.String())
    flag = fields.Boolean()
    totp = fields.String(validate=checked_by(validation.validate_totp_code))


def errors_of(schema: InputSchema, data: object) -> dict:
    with pytest.raises(ValidationError) as caught:
        schema.load(data)  # type: ignore[arg-type]
    return caught.value.messages  # type: ignore[return-value]


@pytest.mark.parametrize(
    "data, expected",
    [
        ({}, {"name": ["required"]}),
        ({"name": None}, {"name": ["null_not_allowed"]}),
        ({"name": 5}, {"name": ["invalid_type"]}),
        ({"name": ""}, {"name": ["required"]}),
        ({"name": "abcdef"}, {"name": ["too_long"]}),
        ({"name": "a", "count": "2"}, {"count": ["invalid_type"]}),
        ({"name": "a", "count": 4}, {"count": ["out_of_range"]}),
        ({"name": "a", "count": 10**400}, {"count": ["out_of_range"]}),
        ({"name": "a", "colour": "green"}, {"colour": ["invalid_choice"]}),
        ({"name": "a", "day": "yesterday"}, {"day": ["invalid_date"]}),
        ({"name": "a", "tags": "x"}, {"tags": ["invalid_type"]}),
        ({"name": "a", "tags": ["x", 3]}, {"tags": {1: ["invalid_type"]}}),
        ({"name": "a", "flag": "maybe"}, {"flag": ["invalid_type"]}),
        ({"name": "a", "totp": "12345"}, {"totp": ["totp_format"]}),
        ({"name": "a", "extra": 1}, {"extra": ["unknown_field"]}),
    ],
)
def test_errors_are_codes(data, expected):
    assert errors_of(Sample(), data) == expected


def test_a_body_that_is_not_an_object():
    assert errors_of(Sample(), [1, 2]) == {"_schema": ["invalid_type"]}


def _leaves(messages: object) -> list[str]:
    if isinstance(messages, dict):
        return [leaf for value in messages.values() for leaf in _leaves(value)]
    if isinstance(messages, list):
        return [leaf for value in messages for leaf in _leaves(value)]
    return [str(messages)]


@pytest.mark.parametrize(
    "schema, data",
    [
        (RequestCreateSchema(), {"form_type": "x", "copies": 1.5, "residence_history": [{"from": 1, "x": 2}, 7],
                                 "include_ban_section": "yes", "phone": None}),
        (LoginSchema(), {"username": ["a"], "password": {}, "totp": None, "role": "supervisor"}),
        (AuditQuerySchema(), {"since": "not a date", "limit": 0, "order": "sideways", "action": "x" * 61}),
    ],
)
def test_the_api_schemas_answer_only_catalogued_codes(schema, data):
    leaves = _leaves(errors_of(schema, data))
    assert leaves and all(has_message(code) for code in leaves), leaves


def test_the_request_schema_leaves_the_rules_to_the_domain():
    # Shape only: a wrong phone, 0 copies, an empty history and a long purpose pass the schema;
    # validate_request answers them with its codes (phone_format, out_of_range, required, too_long).
    body = {"form_type": 1, "purpose": "x" * 5000, "copies": 0, "phone": "123", "residence_history": []}
    loaded = RequestCreateSchema().load(body)
    assert loaded["copies"] == 0 and loaded["phone"] == "123"
