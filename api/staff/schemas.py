"""Marshmallow schemas of the staff API: one per payload. The input schemas check shape (unknown
fields refused, every error a code: api/schemas.py); the numbers and patterns they apply come from
the domain, and the services check the rest (a refusal's note, a revocation's replacement).
"""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, fields
from sqlalchemy import String

from api.deps import db_session
from api.schemas import (
    CertificateBaseSchema,
    DateTime,
    Embedded,
    InputSchema,
    RefusalSchema,
    RequestSchema,
    checked_by,
    enum_of,
    in_range,
    is_refused,
    label_of,
    max_length,
    not_empty,
    one_of,
    page_of,
)
from ecert.domain import rules, validation
from ecert.domain.states import StaffRole
from ecert.models import AuditEvent
from ecert.security import MAX_PASSWORD_LENGTH
from ecert.services import revocation as revocation_service

# For the OpenAPI document; validation.validate_totp_code applies it.
TOTP_PATTERN = f"^{validation.TOTP_CODE_RE.pattern}$"


def _column_length(column: str) -> int:
    """A filter longer than its audit column can match nothing: the column says how long."""
    column_type = AuditEvent.__table__.c[column].type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"audit_events.{column} is not a bounded string")
    return column_type.length


# --- sessions ------------------------------------------------------------------------------------


class LoginSchema(InputSchema):
    username = fields.String(required=True, validate=[not_empty(), max_length(validation.USERNAME_MAX)])
    password = fields.String(required=True, validate=max_length(MAX_PASSWORD_LENGTH))
    totp = fields.String(
        required=True,
        validate=checked_by(validation.validate_totp_code),
        metadata={
            "description": "The current 6-digit code of the authenticator app; each code works once.",
            "pattern": TOTP_PATTERN,
        },
    )


class SessionSchema(Schema):
    token = fields.String(required=True, metadata={"description": "Opaque bearer token; send as Authorization: Bearer"})
    expires_at = DateTime(required=True, metadata={"description": "Absolute end of the session"})
    idle_expires_at = DateTime(metadata={"description": "When the session ends unless used before"})
    idle_timeout_seconds = fields.Integer()
    role = fields.String(required=True, metadata=enum_of(StaffRole))
    username = fields.String()


class StaffMeSchema(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True, metadata=enum_of(StaffRole))
    session_created_at = DateTime()
    expires_at = DateTime()
    idle_expires_at = DateTime()


# --- the review queue --------------------------------------------------------------------------------


class QueueArgsSchema(InputSchema):
    status = fields.String(load_default=rules.STATUS_NEEDS_REVIEW, validate=one_of(rules.REQUEST_STATUSES))
    limit = fields.Integer(load_default=20, validate=in_range(1, validation.PAGE_SIZE_MAX))
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})


class CodeLabelSchema(Schema):
    """A code of the catalogue (dumped from the code itself) and its label."""

    code = fields.Function(lambda code: code, required=True, metadata={"type": "string"})
    label = fields.Function(label_of, metadata={"type": "string"})


class StaffRefusalSchema(RefusalSchema):
    refused_by = fields.String(allow_none=True, attribute="decided_by")


class HolderSchema(Schema):
    """The person a request is about, from the identity token stored with it."""

    personal_id = fields.String(required=True, attribute="sub")
    name = fields.String(required=True)
    birthdate = fields.String(required=True)
    gender = fields.String(dump_default=None)
    nationality = fields.String(allow_none=True, dump_default=None)
    place_of_birth = fields.String(allow_none=True, dump_default=None)
    address = fields.String(allow_none=True, dump_default=None)


class ResidencePeriodOutSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String(allow_none=True)
    address = fields.String()
    province_code = fields.String()


class StaffRequestSchema(RequestSchema):
    """A request as staff see it in the queue; the detail adds the contact details and the record."""

    class Meta:
        exclude = ("submitted", "waiting_reasons")  # the citizen's own view (staff: review_reasons)

    status_label = fields.Function(lambda req: label_of(req.status, "status"), metadata={"type": "string"})
    reduced_fee = fields.Boolean()
    decided_by = fields.String(allow_none=True)
    refusal = Embedded(StaffRefusalSchema, present=is_refused, allow_none=True)
    review_reasons = fields.List(fields.Nested(CodeLabelSchema))
    holder = fields.Nested(HolderSchema)


class StaffRequestDetailSchema(StaffRequestSchema):
    """One request opened by staff (audited): the summary, the contact details and the record."""

    phone = fields.String()
    email = fields.String(allow_none=True)
    father_name = fields.String(allow_none=True)
    mother_name = fields.String(allow_none=True)
    spouse_name = fields.String(allow_none=True)
    residence_history = fields.List(fields.Nested(ResidencePeriodOutSchema))
    record = fields.Dict(
        allow_none=True,
        dump_default=None,
        metadata={
            "description": "The judicial-record store's entry for the person (convictions, bans); "
            "null when the store has none"
        },
    )


StaffRequestListSchema = page_of(StaffRequestSchema, "StaffRequestListSchema")


class ApproveSchema(InputSchema):
    """An approval carries nothing: the request is issued as submitted."""


class RefuseSchema(InputSchema):
    reason = fields.String(
        required=True,
        validate=one_of(sorted(rules.REFUSAL_REASON_CODES)),
        metadata={"description": "outside_competence | not_entitled | documents_invalid (Law 28/2009 art. 49)"},
    )
    note = fields.String(
        required=True,
        metadata={"description": "Shown to the citizen with the reason", "maxLength": rules.NOTE_MAX},
    )


# --- certificates ----------------------------------------------------------------------------------


class CertificateQuerySchema(InputSchema):
    number = fields.String(required=True, validate=[not_empty(), max_length(validation.CERTIFICATE_NUMBER_MAX)])


class RevocationOutSchema(Schema):
    """A revoked certificate's revocation (read from the certificate's own columns)."""

    reason = fields.String(attribute="revocation_reason", metadata=enum_of(rules.REVOCATION_REASONS))
    reason_label = fields.Function(
        lambda cert: label_of(cert.revocation_reason, "revocation"), metadata={"type": "string"}
    )
    note = fields.String(allow_none=True, attribute="revocation_note")
    revoked_at = DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class CertificateHolderSchema(Schema):
    personal_id = fields.String(required=True, attribute="holder_pid")
    full_name = fields.Function(revocation_service.holder_name, allow_none=True, metadata={"type": "string"})


class StaffCertificateSchema(CertificateBaseSchema):
    """A certificate as staff see it: its holder, revocation and replacements.

    Dumps a ``Certificate``, or an ``Annotated`` one with ``already_revoked`` (a repeated revocation).
    """

    kid = fields.String()
    holder = Embedded(CertificateHolderSchema)
    revocation = Embedded(
        RevocationOutSchema, present=lambda cert: cert.status == revocation_service.STATUS_REVOKED, allow_none=True
    )
    supersedes = fields.Function(
        lambda cert: revocation_service.supersedes(db_session(), cert),
        metadata={"type": "array", "items": {"type": "string"}, "description": "The certificates this one replaced"},
    )
    already_revoked = fields.Boolean(dump_default=False)


StaffCertificateListSchema = page_of(StaffCertificateSchema, "StaffCertificateListSchema", cursor=False)


class RevokeSchema(InputSchema):
    reason = fields.String(
        required=True,
        validate=one_of(sorted(rules.REVOCATION_REASON_CODES)),
        metadata={
            "description": "issued_in_error | wrong_subject | fraudulent_request | superseded | court_decision | other"
        },
    )
    note = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Required when the reason is other", "maxLength": rules.NOTE_MAX},
    )
    totp = fields.String(
        required=True,
        validate=checked_by(validation.validate_totp_code),
        metadata={"description": "Step-up: a fresh authenticator code, never used before", "pattern": TOTP_PATTERN},
    )
    replacement_certificate_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "Required with the reason superseded: the corrected certificate"},
    )


# --- the audit log ---------------------------------------------------------------------------------


class AuditQuerySchema(InputSchema):
    action = fields.String(
        load_default=None,
        validate=max_length(_column_length("action")),
        metadata={"description": "An action (staff.login), or a family ending in a dot (staff.)"},
    )
    actor_id = fields.String(load_default=None, validate=max_length(_column_length("actor_id")))
    target_type = fields.String(load_default=None, validate=max_length(_column_length("target_type")))
    target_id = fields.String(load_default=None, validate=max_length(_column_length("target_id")))
    since = fields.AwareDateTime(
        load_default=None,
        default_timezone=UTC,
        metadata={"description": "ISO 8601, inclusive; without an offset it is UTC"},
    )
    until = fields.AwareDateTime(
        load_default=None, default_timezone=UTC, metadata={"description": "ISO 8601, exclusive"}
    )
    order = fields.String(load_default="desc", validate=one_of(["desc", "asc"]))
    limit = fields.Integer(load_default=50, validate=in_range(1, validation.AUDIT_PAGE_SIZE_MAX))
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    occurred_at = DateTime(required=True)
    actor_type = fields.String(required=True)
    actor_id = fields.String(allow_none=True)
    action = fields.String(required=True)
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True, attribute="http_request_id")
    details = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


AuditEventListSchema = page_of(AuditEventSchema, "AuditEventListSchema")
