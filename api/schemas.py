"""What the schemas share: input schemas check shape and speak in codes; response schemas dump
the domain's objects (the views return objects, ``@blp.response`` dumps them).

An input schema checks the shape of a body or a query (types, required fields, membership of a
closed list, nesting, no unknown fields); the rules (lengths, patterns, ranges, how fields relate)
are ``ecert.domain.validation``'s, which the services apply or which a field calls through
:func:`checked_by`. Every error is a code of the one catalogue (``ecert.domain.i18n``), never one
of marshmallow's English sentences: :class:`InputSchema` replaces those by their codes when a
field is bound, so no schema repeats ``error_messages``. docs/api-guide.md lists the codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate

from api.errors import _lang
from ecert.db import utcnow
from ecert.domain import rules
from ecert.domain.i18n import message
from ecert.domain.states import CertificateStatus

# marshmallow's reasons (the keys of a field's error_messages) and the code each one becomes.
# Any other reason ("too_large" for a huge integer, "invalid_utf8", ...) is "invalid_value".
_REASON_CODES = {
    "required": "required",
    "null": "null_not_allowed",
    "invalid": "invalid_type",
    "type": "invalid_type",
}


def _code(field: fields.Field, reason: str) -> str:
    if reason == "invalid" and isinstance(field, (fields.Date, fields.DateTime)):
        return "invalid_date"
    return _REASON_CODES.get(reason, "invalid_value")


def _speak_codes(field: fields.Field) -> None:
    """Replace the field's messages, and those of the fields inside it (a list's items), by codes."""
    field.error_messages = {reason: _code(field, reason) for reason in field.error_messages}
    inner = getattr(field, "inner", None)
    if isinstance(inner, fields.Field):
        _speak_codes(inner)


class InputSchema(Schema):
    """The base of every body and query schema: unknown fields refused, every error a code."""

    error_messages = {"unknown": "unknown_field", "type": "invalid_type"}

    class Meta:
        unknown = RAISE
        ordered = True

    def on_bind_field(self, _field_name: str, field_obj: fields.Field) -> None:
        _speak_codes(field_obj)


# --- validators that answer with codes -----------------------------------------------------------


def one_of(choices: Sequence[Any]) -> validate.OneOf:
    """Membership of a closed list (an enum): ``invalid_choice``."""
    return validate.OneOf(list(choices), error="invalid_choice")


def max_length(maximum: int) -> validate.Length:
    """At most ``maximum`` characters (the number comes from the domain; OpenAPI shows it)."""
    return validate.Length(max=maximum, error="too_long")


def not_empty() -> validate.Length:
    """An empty string is as good as a missing one: ``required``."""
    return validate.Length(min=1, error="required")


def in_range(low: int, high: int) -> validate.Range:
    """``low <= value <= high``: ``out_of_range``."""
    return validate.Range(low, high, error="out_of_range")


def checked_by(rule: Callable[[Any], list[str]]) -> Callable[[Any], None]:
    """A field validator that applies a rule of ``ecert.domain.validation`` (value -> codes)."""

    def check(value: Any) -> None:
        codes = rule(value)
        if codes:
            raise ValidationError(codes)

    return check


# --- response schemas ---------------------------------------------------------------------------


class DateTime(fields.DateTime):
    """A moment in JSON: RFC 3339 UTC, whole seconds, ``Z`` (``2026-11-30T08:31:00Z``), the one
    form every answer uses (DESIGN §9). A naive value is UTC (SQLite gives naive datetimes back)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"example": "2026-11-30T08:31:00Z", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:  # noqa: ARG002 - Field._serialize's signature
        if value is None:
            return None
        moment: datetime = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def enum_of(choices: Any) -> dict[str, Any]:
    """The OpenAPI ``enum`` of a response field (a domain StrEnum or a code table), for metadata."""
    return {"enum": sorted(str(choice) for choice in choices)}


class Embedded(fields.Nested):
    """A nested member made of the parent object's own attributes (a request's refusal is its
    ``refusal_reason``, ``refusal_note``, ``decided_at``): the nested schema reads the parent, or
    the member is null when ``present(parent)`` is false. The OpenAPI document shows the nested
    schema, which ``fields.Function`` could not."""

    def __init__(self, nested: type[Schema], *, present: Callable[[Any], bool] | None = None, **kwargs: Any) -> None:
        super().__init__(nested, **kwargs)
        self.present = present

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:  # noqa: ARG002 - Field.get_value's signature
        return obj if self.present is None or self.present(obj) else None


# A field of a plain document: (output key, key in the document, what its value must be: a
# scalar type, or the plan of a nested document).
_PlainStep = tuple[str, str, "type | tuple[_PlainStep, ...]"]
# The field classes whose dump of a value of this exact type is the value itself (marshmallow's
# String: ensure_text_type; Integer: int(); Boolean: the value), and None for None.
_PLAIN_SCALARS: dict[type[fields.Field], type] = {fields.String: str, fields.Integer: int, fields.Boolean: bool}


def _plain_plan(schema: Schema) -> tuple[_PlainStep, ...] | None:
    """How to copy a document by ``schema``'s fields, or None when its dump could be more than a
    copy (a hook, a default, a dotted attribute read from inside another key, a field of another
    kind)."""
    if schema.many or schema._hooks["pre_dump"] or schema._hooks["post_dump"]:  # noqa: SLF001 - marshmallow's own registry
        return None
    steps: list[_PlainStep] = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        if field.dump_default is not missing or hasattr(dict, attribute) or "." in attribute:
            # A default to fill in, a key marshmallow would read as dict's own attribute, or a
            # path ("a.b") it reads from inside another key.
            return None
        kind: type | tuple[_PlainStep, ...] | None = _PLAIN_SCALARS.get(type(field))
        if type(field) is fields.Nested and not field.many and isinstance(field.schema, PlainDumpSchema):
            kind = field.schema.plain_plan
        if kind is None:
            return None
        steps.append((field.data_key or name, attribute, kind))
    return tuple(steps)


def _copy(plan: tuple[_PlainStep, ...], document: dict[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key, attribute, kind in plan:
        if attribute not in document:
            continue  # marshmallow leaves a missing value out
        value = document[attribute]
        if value is not None:
            if type(kind) is tuple:
                value = _copy(kind, value) if type(value) is dict else None
                if value is None:
                    return None
            elif type(value) is not kind:
                return None
        out[key] = value
    return out


class PlainDumpSchema(Schema):
    """A response schema for documents the answering code already builds from plain JSON values
    (str, int, bool, None and nested dicts of them): ``dump`` copies such a document by the
    declared fields, which is what marshmallow's dump of it returns (undeclared keys left out),
    at a fraction of the cost; anything else goes through marshmallow's dump. Used where the
    dump was a measurable share of a hot answer (a verification, issue 13);
    tests/api/test_plain_dump.py holds the two to the same output."""

    @cached_property
    def plain_plan(self) -> tuple[_PlainStep, ...] | None:
        return _plain_plan(self)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if not (self.many if many is None else many) and type(obj) is dict:
            plan = self.plain_plan
            copied = _copy(plan, obj) if plan is not None else None
            if copied is not None:
                return copied
        return super().dump(obj, many=many)


class Annotated:
    """An object with members added for one answer (``already_revoked`` of a repeated revocation,
    the judicial record shown with a request): a schema reads the added members first, then the
    object's own."""

    def __init__(self, subject: object, **members: Any) -> None:
        self._subject = subject
        self.__dict__.update(members)

    def __getattr__(self, name: str) -> Any:  # only for names not added above
        return getattr(self._subject, name)


def page_of(item: type[Schema], name: str, *, cursor: bool = True) -> type[Schema]:
    """The schema of a page of items (``ecert.services.paging.Page`` or any object with
    ``items`` and ``next_cursor``), named ``name`` in the OpenAPI document."""
    members: dict[str, fields.Field] = {"items": fields.List(fields.Nested(item), required=True)}
    if cursor:
        members["next_cursor"] = fields.String(allow_none=True)
    return Schema.from_dict(members, name=name)


def label_of(code: str | None, kind: str | None = None) -> str | None:
    """The label of a code (of ``kind``: refusal, revocation, status) in the answer's language."""
    if not code:
        return None
    return message(f"{kind}.{code}" if kind else code, _lang())


class RefusalSchema(Schema):
    """A refused request's reason and note (read from the request's own columns)."""

    reason = fields.String(required=True, attribute="refusal_reason", metadata=enum_of(rules.REFUSAL_REASONS))
    reason_label = fields.Function(lambda req: label_of(req.refusal_reason, "refusal"), metadata={"type": "string"})
    note = fields.String(attribute="refusal_note")
    refused_at = DateTime(attribute="decided_at")


def is_refused(req: Any) -> bool:
    return bool(req.status == rules.STATUS_REFUSED and req.refusal_reason)


class Computed(fields.Nested):
    """A member computed from the object (``compute(obj)``: an object or, with ``many=True``, a
    list) and dumped by a nested schema, so the OpenAPI document shows its shape
    (``fields.Function`` could not)."""

    def __init__(self, compute: Callable[[Any], Any], nested: type[Schema], **kwargs: Any) -> None:
        super().__init__(nested, **kwargs)
        self.compute = compute

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:  # noqa: ARG002 - Field.get_value's signature
        return self.compute(obj)


class FeeBreakdownSchema(Schema):
    """How the fee is made (``ecert.domain.rules.fee_breakdown``): total = base - reduction + surcharge."""

    base_vnd = fields.Integer(required=True)
    reduction_vnd = fields.Integer(required=True)
    extra_copies = fields.Integer(required=True, metadata={"description": "Copies from the 3rd on"})
    copies_surcharge_vnd = fields.Integer(required=True)
    total_vnd = fields.Integer(required=True)


class TimelineStepSchema(Schema):
    """A status the request reached, when, and its label in the answer's language."""

    status = fields.String(required=True, metadata=enum_of(rules.REQUEST_STATUSES))
    at = DateTime(required=True)
    label = fields.Function(lambda step: label_of(step["status"], "status"), metadata={"type": "string"})


def _timeline(req: Any) -> list[dict[str, Any]]:
    return [{"status": status, "at": at} for status, at in rules.request_timeline(req)]


_WAITING_CODES = sorted({*rules.WAITING_REASONS.values(), rules.WAITING_REASON_OTHERWISE})


class WaitingReasonSchema(Schema):
    """Why a request waits for staff, in the citizen's words (never what the record holds)."""

    code = fields.Function(lambda code: code, required=True, metadata={"type": "string", "enum": _WAITING_CODES})
    label = fields.Function(lambda code: label_of(code, "waiting"), metadata={"type": "string"})


def _waiting(req: Any) -> list[str]:
    return rules.waiting_reasons(req.review_reasons or []) if req.status == rules.STATUS_NEEDS_REVIEW else []


class SubmittedPeriodSchema(Schema):
    from_ = fields.String(required=True, data_key="from", attribute="from")
    to = fields.String(required=True, allow_none=True)
    address = fields.String(required=True)
    province_code = fields.String(required=True)


class SubmittedSchema(Schema):
    """What the citizen sent (as stored: trimmed, names normalised), to correct and send again."""

    phone = fields.String(required=True)
    email = fields.String(allow_none=True)
    residence_history = fields.List(fields.Nested(SubmittedPeriodSchema), required=True)
    father_name = fields.String(allow_none=True)
    mother_name = fields.String(allow_none=True)
    spouse_name = fields.String(allow_none=True)


class RequestSchema(Schema):
    """A certificate request as its citizen sees it; staff see more (``StaffRequestSchema``)."""

    id = fields.String(required=True)
    status = fields.String(required=True, metadata=enum_of(rules.REQUEST_STATUSES))
    form_type = fields.Integer(required=True, metadata={"enum": list(rules.FORM_TYPES)})
    purpose = fields.String(required=True, metadata={"maxLength": rules.PURPOSE_MAX})
    copies = fields.Integer(required=True)
    include_ban_section = fields.Boolean(required=True)
    fee_vnd = fields.Integer(required=True)
    fee_status = fields.Function(
        lambda req: rules.fee_status(req.status),
        metadata={"type": "string", "enum": [rules.FEE_STATUS_OWED, rules.FEE_STATUS_NOT_DUE]},
    )
    submitted_at = DateTime(required=True)
    due_at = DateTime(required=True)
    overdue = fields.Function(
        lambda req: req.status in rules.OPEN_STATUSES and rules.is_overdue(req.due_at, utcnow()),
        metadata={"type": "boolean"},
    )
    deadline_extended = fields.Boolean()
    decided_at = DateTime(allow_none=True)
    cancelled_at = DateTime(allow_none=True)
    certificate_id = fields.String(allow_none=True, attribute="certificate.id", dump_default=None)
    refusal = Embedded(RefusalSchema, present=is_refused, allow_none=True)
    status_label = fields.Function(lambda req: label_of(req.status, "status"), metadata={"type": "string"})
    fee_breakdown = Computed(lambda req: rules.fee_breakdown(req.copies, req.reduced_fee), FeeBreakdownSchema)
    timeline = Computed(_timeline, TimelineStepSchema, many=True, required=True)
    waiting_reasons = Computed(_waiting, WaitingReasonSchema, many=True, required=True)
    submitted = Embedded(SubmittedSchema, required=True, metadata={"description": "Citizens only"})


class CertificateBaseSchema(Schema):
    """What citizens and staff both see of a certificate."""

    id = fields.String(required=True)
    number = fields.String(required=True)
    form_type = fields.Integer(required=True, metadata={"enum": list(rules.FORM_TYPES)})
    status = fields.String(required=True, metadata=enum_of(CertificateStatus))
    issued_at = DateTime(required=True)
    request_id = fields.String(required=True)
    superseded_by_id = fields.String(allow_none=True)
