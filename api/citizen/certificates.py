"""The citizen's certificates (PDF, QR) and the public trust material (trust list, root CA)."""

from __future__ import annotations

import hashlib
import json

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.citizen.auth import citizen_required, current_citizen
from api.citizen.schemas import ListArgsSchema
from api.deps import db_session, resources
from api.errors import ProblemSchema, _lang
from api.views_common import json_response
from ecert.domain import rules
from ecert.models import Certificate
from ecert.services import certificates as certificate_service
from signing.qr import qr_png, qr_svg

blp = Blueprint("certificates", __name__, url_prefix="/api/v1/certificates", description="A citizen's certificates")
trust_blp = Blueprint("trust", __name__, url_prefix="/.well-known/ecert", description="Public trust material")


class CertificateLinksSchema(Schema):
    pdf = fields.String(required=True)
    qr_png = fields.String(required=True)
    qr_svg = fields.String(required=True)


class CertificateSchema(Schema):
    id = fields.String(required=True)
    number = fields.String(required=True)
    form_type = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "valid | revoked"})
    issued_at = fields.DateTime(required=True)
    verification_code = fields.String(required=True)
    qr_text = fields.String(required=True)
    request_id = fields.String(required=True)
    revoked_at = fields.DateTime(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    revocation_reason_label = fields.String(allow_none=True)
    superseded_by_id = fields.String(allow_none=True)
    pdf_bytes = fields.Integer()
    links = fields.Nested(CertificateLinksSchema, required=True)


class CertificateListSchema(Schema):
    items = fields.List(fields.Nested(CertificateSchema), required=True)
    next_cursor = fields.String(allow_none=True)


_ONE = CertificateSchema()
_LIST = CertificateListSchema()


def certificate_view(cert: Certificate, lang: str = "vi") -> dict:
    base = f"/api/v1/certificates/{cert.id}"
    reason = rules.REVOCATION_REASONS.get(cert.revocation_reason or "", {})
    return {
        "id": cert.id,
        "number": cert.number,
        "form_type": cert.form_type,
        "status": cert.status,
        "issued_at": cert.issued_at,
        "verification_code": cert.verification_code,
        "qr_text": cert.qr_text,
        "request_id": cert.request_id,
        "revoked_at": cert.revoked_at,
        "revocation_reason": cert.revocation_reason,
        "revocation_reason_label": reason.get(lang) if reason else None,
        "superseded_by_id": cert.superseded_by_id,
        "pdf_bytes": len(cert.pdf or b""),
        "links": {"pdf": f"{base}/pdf", "qr_png": f"{base}/qr.png", "qr_svg": f"{base}/qr.svg"},
    }


def _own(certificate_id: str) -> Certificate:
    return certificate_service.get_for_holder(db_session(), certificate_id, current_citizen().personal_id)


@blp.route("")
@citizen_required
@blp.arguments(ListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CertificateListSchema)
@blp.doc(security=[{"citizen": []}])
def list_certificates(limit, cursor):
    """The citizen's certificates, newest first."""
    page = certificate_service.list_for_holder(db_session(), current_citizen().personal_id, limit=limit, cursor=cursor)
    lang = _lang()
    return json_response(
        _LIST.dump({"items": [certificate_view(c, lang) for c in page.items], "next_cursor": page.next_cursor})
    )


@blp.route("/<string:certificate_id>")
@citizen_required
@blp.response(200, CertificateSchema)
@blp.alt_response(304, description="Not modified (If-None-Match)")
@blp.alt_response(
    404,
    schema=ProblemSchema,
    content_type="application/problem+json",
    description="No such certificate for this citizen",
)
@blp.doc(security=[{"citizen": []}])
def get_certificate(certificate_id):
    """One certificate: number, verification code, QR text, status and links."""
    return json_response(_ONE.dump(certificate_view(_own(certificate_id), _lang())), etag=True)


def _binary(data: bytes, mimetype: str, filename: str | None = None) -> Response:
    response = Response(data, mimetype=mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@blp.route("/<string:certificate_id>/pdf")
@citizen_required
@blp.response(200, description="The signed PDF (PAdES)", content_type="application/pdf")
@blp.alt_response(
    404,
    schema=ProblemSchema,
    content_type="application/problem+json",
    description="No such certificate for this citizen",
)
@blp.doc(security=[{"citizen": []}])
def certificate_pdf(certificate_id):
    """The signed PDF, exactly as stored at issuance (the legal document)."""
    cert = _own(certificate_id)
    return _binary(cert.pdf, "application/pdf", f"phieu-lltp-so-{cert.form_type}-{cert.number}.pdf")


@blp.route("/<string:certificate_id>/qr.png")
@citizen_required
@blp.response(200, description="The QR code as PNG", content_type="image/png")
@blp.alt_response(
    404,
    schema=ProblemSchema,
    content_type="application/problem+json",
    description="No such certificate for this citizen",
)
@blp.doc(security=[{"citizen": []}])
def certificate_qr_png(certificate_id):
    """The QR code (error correction M) to show on the phone's screen."""
    return _binary(qr_png(_own(certificate_id).qr_text), "image/png")


@blp.route("/<string:certificate_id>/qr.svg")
@citizen_required
@blp.response(200, description="The QR code as SVG", content_type="image/svg+xml")
@blp.alt_response(
    404,
    schema=ProblemSchema,
    content_type="application/problem+json",
    description="No such certificate for this citizen",
)
@blp.doc(security=[{"citizen": []}])
def certificate_qr_svg(certificate_id):
    """The QR code as SVG."""
    return _binary(qr_svg(_own(certificate_id).qr_text), "image/svg+xml")


_TRUST_CACHE = "public, max-age=300, must-revalidate"


@trust_blp.route("/trust-list.json")
@trust_blp.response(200, description="The document-signer keys (JWKS-compatible), with status")
def trust_list():
    """Every document-signer key ever used, with its status: verifiers cache this."""
    keystore = resources().keystore
    body = json.dumps(keystore.trust_list(db_session()), sort_keys=True, separators=(",", ":")).encode()
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.headers["Cache-Control"] = _TRUST_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)


@trust_blp.route("/root-ca.pem")
@trust_blp.response(200, description="The root CA certificate", content_type="application/x-pem-file")
def root_ca():
    """The root CA that every document-signer certificate chains to."""
    pem = resources().keystore.root_pem()
    response = Response(pem, mimetype="application/x-pem-file")
    response.set_etag(hashlib.sha256(pem).hexdigest())
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)
