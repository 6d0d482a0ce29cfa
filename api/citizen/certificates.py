"""The citizen's certificates (PDF, QR) and the public trust material (trust list, root CA)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from flask_smorest.utils import get_appcontext

from api.citizen.auth import CITIZEN_SECURITY, citizen_required, current_citizen
from api.citizen.qr_images import qr_image_response
from api.citizen.schemas import CertificateListSchema, CertificateSchema, ListArgsSchema, TrustListSchema
from api.deps import db_session, resources
from api.errors import documented_problems
from ecert.models import Certificate
from ecert.services import certificates as certificate_service
from ecert.services.paging import Page

blp = Blueprint("certificates", __name__, url_prefix="/api/v1/certificates", description="A citizen's certificates")
trust_blp = Blueprint("trust", __name__, url_prefix="/.well-known/ecert", description="Public trust material")


def _own(certificate_id: str) -> Certificate:
    return certificate_service.get_for_holder(db_session(), certificate_id, current_citizen().personal_id)


def _certificate_route(rule: str, *responses: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``blp.route(rule)`` for a view of one of the signed-in citizen's certificates, with its
    ``responses`` and the 404 every one of them answers for someone else's certificate."""
    decorators = (
        blp.route(rule),
        citizen_required,
        *responses,
        documented_problems(blp, {404: "No such certificate for this citizen"}),
        blp.doc(security=CITIZEN_SECURITY),
    )

    def apply(view: Any) -> Any:
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return apply


@blp.route("")
@citizen_required
@blp.arguments(ListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CertificateListSchema)
@blp.doc(security=CITIZEN_SECURITY)
def list_certificates(limit: int, cursor: str | None) -> Page[Certificate]:
    """The citizen's certificates, newest first."""
    return certificate_service.list_for_holder(db_session(), current_citizen().personal_id, limit=limit, cursor=cursor)


@_certificate_route("/<string:certificate_id>", blp.etag, blp.response(200, CertificateSchema))
def get_certificate(certificate_id: str) -> Certificate:
    """One certificate: number, verification code, QR text, status and links.

    Send If-None-Match with the last ETag: 304 until its status changes."""
    cert = _own(certificate_id)
    # links.pdf_download is signed afresh on every read: the ETag covers everything else, or
    # every poll would see a "change". A 304 is tagged from the same data (api._not_modified).
    stable = CertificateSchema(exclude=("links.pdf_download",)).dump(cert)
    get_appcontext()["result_dump"] = stable
    blp.set_etag(stable)
    return cert


def _download(data: bytes, mimetype: str, *, cache: str, filename: str | None = None) -> Response:
    """A file, with a strong ETag over its bytes (the client revalidates and gets 304)."""
    response = Response(data, mimetype=mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = cache
    response.make_conditional(request)
    return response


_PRIVATE = "private, no-cache"


def _file_response(bp: Blueprint, media_type: str, description: str) -> Callable[[Any], Any]:
    """A 200 that is a file of ``media_type``, in the document as binary (generated clients read
    bytes); ``api.openapi_hooks`` adds its ETag and 304."""
    binary = {"schema": {"type": "string", "format": "binary"}}

    def apply(view: Any) -> Any:
        view = bp.doc(responses={"200": {"description": description, "content": {media_type: binary}}})(view)
        return bp.response(200, description=description, content_type=media_type)(view)

    return apply


@_certificate_route(
    "/<string:certificate_id>/pdf",
    _file_response(blp, "application/pdf", "The signed PDF (PAdES)"),
)
def certificate_pdf(certificate_id: str) -> Response:
    """The signed PDF, exactly as stored at issuance (the legal document)."""
    cert = _own(certificate_id)
    filename = f"phieu-lltp-so-{cert.form_type}-{cert.number}.pdf"
    return _download(cert.pdf or b"", "application/pdf", cache=_PRIVATE, filename=filename)


@_certificate_route("/<string:certificate_id>/qr.png", _file_response(blp, "image/png", "The QR code as PNG"))
def certificate_qr_png(certificate_id: str) -> Response:
    """The QR code (error correction M) to show on the phone's screen."""
    return qr_image_response("png", _own(certificate_id).qr_text, cache=_PRIVATE)


@_certificate_route(
    "/<string:certificate_id>/qr.svg",
    _file_response(blp, "image/svg+xml", "The QR code as SVG"),
)
def certificate_qr_svg(certificate_id: str) -> Response:
    """The QR code as SVG."""
    return qr_image_response("svg", _own(certificate_id).qr_text, cache=_PRIVATE)


# Verifiers anywhere fetch the trust material (any origin), and may cache it: the trust list for
# five minutes (a revoked key shows soon), the root for a day. Set after the view, so a 304 says
# the same.
_TRUST_CACHE = {"trust.trust_list": "public, max-age=300, must-revalidate", "trust.root_ca": "public, max-age=86400"}


@trust_blp.after_request
def _public_and_cached(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    cache = _TRUST_CACHE.get(request.endpoint or "")
    if cache and response.status_code in (200, 304):
        response.headers["Cache-Control"] = cache
    return response


@trust_blp.route("/trust-list.json")
@trust_blp.etag
@trust_blp.response(200, TrustListSchema, description="The document-signer keys (JWKS-compatible), with status")
def trust_list() -> dict[str, Any]:
    """Every document-signer key ever used, with its status: verifiers cache this."""
    return resources().keystore.trust_list(db_session())


@trust_blp.route("/root-ca.pem")
@_file_response(trust_blp, "application/x-pem-file", "The root CA certificate")
def root_ca() -> Response:
    """The root CA that every document-signer certificate chains to."""
    return _download(resources().keystore.root_pem(), "application/x-pem-file", cache=_TRUST_CACHE["trust.root_ca"])
