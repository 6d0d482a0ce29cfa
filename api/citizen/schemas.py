"""The citizen API's marshmallow schemas: one per payload. The input schemas check shape only;
the rules of a request are ``ecert.domain.validation.validate_request``'s (the numbers in the
OpenAPI document come from ``ecert.domain.rules``). A request's answer is ``api.schemas.RequestSchema``,
which staff's extends."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from api.errors import _lang
from api.public.downloads import download_url
from api.schemas import (
    CertificateBaseSchema,
    DateTime,
    Embedded,
    InputSchema,
    RequestSchema,
    enum_of,
    in_range,
    label_of,
    one_of,
    page_of,
)
from ecert.db import utcnow
from ecert.domain import rules, validation
from ecert.domain.i18n import message
from ecert.domain.states import KeyStatus
from ecert.services import shares as share_rules
from ecert.services.outbox import EventType
from ecert.services.verification import CHANNELS
from verification import OUTCOMES


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


# Form 2's parents and spouse: required there (``validation._check_family_names``), which one
# OpenAPI 3.0 schema cannot say without a oneOf that generators type poorly; the text says it.
_FORM_2_NAME = {"maxLength": rules.NAME_MAX, "description": "Required on Form 2 (form_type 2); ignored on Form 1"}


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
    father_name = fields.String(load_default=None, allow_none=True, metadata=_FORM_2_NAME)
    mother_name = fields.String(load_default=None, allow_none=True, metadata=_FORM_2_NAME)
    spouse_name = fields.String(load_default=None, allow_none=True, metadata=_FORM_2_NAME)
    fee_reduction = fields.String(
        load_default=None,
        allow_none=True,
        validate=one_of(list(rules.FEE_REDUCTIONS)),
        metadata={"description": "Reduced fee (100,000 VND) for students or people with merit; checked by staff."},
    )


RequestListSchema = page_of(RequestSchema, "RequestListSchema")


class ListArgsSchema(InputSchema):
    limit = fields.Integer(load_default=20, validate=in_range(1, validation.PAGE_SIZE_MAX))
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})


class CertificateLinksSchema(Schema):
    pdf = fields.Function(lambda cert: f"{_certificate_url(cert)}/pdf", required=True, metadata={"type": "string"})
    qr_png = fields.Function(
        lambda cert: f"{_certificate_url(cert)}/qr.png", required=True, metadata={"type": "string"}
    )
    qr_svg = fields.Function(
        lambda cert: f"{_certificate_url(cert)}/qr.svg", required=True, metadata={"type": "string"}
    )
    pdf_download = fields.Function(
        lambda cert: download_url(cert.id),
        required=True,
        metadata={
            "type": "string",
            "format": "uri",
            "description": "An absolute URL of the PDF that works without the identity token (for the phone's "
            "viewer or share sheet): signed, valid for a few minutes (ECERT_DOWNLOAD_LINK_MINUTES); then 410, "
            "and 403 when altered. Fetch the certificate again for a fresh one.",
        },
    )


def _certificate_url(cert: Any) -> str:
    return f"/api/v1/certificates/{cert.id}"


class CertificateSchema(CertificateBaseSchema):
    """A certificate as its holder sees it: what to show, print or download."""

    verification_code = fields.String(required=True)
    qr_text = fields.String(required=True)
    revoked_at = DateTime(allow_none=True)
    revocation_reason = fields.String(allow_none=True, metadata=enum_of(rules.REVOCATION_REASONS))
    revocation_reason_label = fields.Function(
        lambda cert: label_of(cert.revocation_reason, "revocation"), allow_none=True, metadata={"type": "string"}
    )
    pdf_bytes = fields.Function(lambda cert: len(cert.pdf or b""), metadata={"type": "integer"})
    links = Embedded(CertificateLinksSchema, required=True)


CertificateListSchema = page_of(CertificateSchema, "CertificateListSchema")


# signing.trustlist writes its moments as RFC 3339 UTC, whole seconds, Z (as api.schemas.DateTime).
_MOMENT = {"format": "date-time"}

# One document-signer key (``signing.trustlist.jwk_entry``): the JWK of an EC P-256 key
# (RFC 7517 members, all strings), its certificate chain, and our status and validity.
TrustKeySchema = Schema.from_dict(
    {
        **{member: fields.String(required=True) for member in ("kid", "kty", "crv", "x", "y")},
        "x5c": fields.List(
            fields.String(), required=True, metadata={"description": "The key's certificate, then the root"}
        ),
        "status": fields.String(required=True, metadata=enum_of(KeyStatus)),
        **{moment: fields.String(required=True, metadata=_MOMENT) for moment in ("not_before", "not_after")},
        "revoked_at": fields.String(allow_none=True, metadata=_MOMENT),
    },
    name="TrustKeySchema",
)


class TrustListSchema(Schema):
    issuer = fields.String(required=True)
    keys = fields.List(fields.Nested(TrustKeySchema), required=True)


# --- holder control: who checked the certificate, share links ---------------------------------


class VerifierRefSchema(Schema):
    """A registered verifier organisation, as its holder sees it named."""

    id = fields.String(required=True)
    name = fields.String(required=True)


class VerificationLogItemSchema(Schema):
    """One logged check of the holder's certificate. Never an address."""

    checked_at = DateTime(required=True)
    channel = fields.String(
        required=True,
        metadata={
            **enum_of(CHANNELS),
            "description": "qr (a verifier app, online), page (the QR opened in a browser), code (number and "
            "code from paper), pdf (an uploaded PDF), share (one of the holder's share links)",
        },
    )
    outcome = fields.String(required=True, metadata=enum_of(OUTCOMES))
    verifier = fields.Nested(
        VerifierRefSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The registered organisation that checked, when known; null: anonymous"},
    )
    share_id = fields.String(allow_none=True, metadata={"description": "The share link the check came through"})


class VerificationLogSchema(Schema):
    """A page of the log, newest first, and what the holder must know about it."""

    items = fields.List(fields.Nested(VerificationLogItemSchema), required=True)
    next_cursor = fields.String(allow_none=True)
    notice = fields.Function(
        lambda _page: message("verifications.offline_notice", _lang()),
        required=True,
        metadata={"type": "string", "description": "Offline QR checks cannot appear here (in the answer's language)"},
    )
    retention_days = fields.Integer(
        required=True, metadata={"description": "Checks older than this many days are deleted"}
    )


class ShareCreateSchema(InputSchema):
    expires_in_hours = fields.Integer(
        required=True, strict=True, validate=in_range(share_rules.MIN_HOURS, share_rules.MAX_HOURS)
    )
    include_pdf = fields.Boolean(load_default=False, metadata={"description": "Whether the page offers the PDF"})
    max_uses = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=in_range(1, share_rules.MAX_USES),
        metadata={"description": "How many times the page may be opened; null: until it expires"},
    )


_SHARE_STATES = ["expired", "live", "revoked", "used_up"]


class ShareSchema(Schema):
    """A share link. Its ``url`` holds the secret, which is stored only hashed: it is in the answer
    that creates the link and null ever after."""

    id = fields.String(required=True)
    certificate_id = fields.String(required=True)
    url = fields.String(
        required=True,
        allow_none=True,
        dump_default=None,
        metadata={"format": "uri", "description": "The link to send; only in the creation answer"},
    )
    expires_at = DateTime(required=True)
    include_pdf = fields.Boolean(required=True)
    max_uses = fields.Integer(required=True, allow_none=True)
    uses = fields.Integer(required=True)
    created_at = DateTime(required=True)
    revoked_at = DateTime(required=True, allow_none=True)
    state = fields.Function(
        lambda share: share_rules.state_of(share, utcnow()),
        required=True,
        metadata={"type": "string", "enum": _SHARE_STATES},
    )


ShareListSchema = page_of(ShareSchema, "ShareListSchema")
# --- the change feed (GET /api/v1/events) --------------------------------------------------------


class EventArgsSchema(InputSchema):
    limit = fields.Integer(load_default=20, validate=in_range(1, validation.PAGE_SIZE_MAX))
    after = fields.String(
        load_default=None,
        metadata={
            "description": "next_cursor of the previous answer: only events after it. Absent: from the first event."
        },
    )


class EventSchema(Schema):
    """A change in one of the citizen's requests or certificates (no names, no record content)."""

    id = fields.String(required=True, metadata={"description": "Stable: the same event always has the same id"})
    type = fields.String(required=True, metadata=enum_of(EventType))
    at = DateTime(required=True, attribute="occurred_at")
    request_id = fields.String(required=True, allow_none=True)
    certificate_id = fields.String(required=True, allow_none=True)


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True, metadata={"description": "Oldest first"})
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Send as `after` for the next page, and later for what happened since; "
            "null only while the citizen has no event"
        },
    )
