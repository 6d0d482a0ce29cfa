"""Signed download links: a certificate's PDF outside the app (``links.pdf_download``).

The phone's PDF viewer or share sheet cannot send the identity token, so the link carries its
own proof: ``{ECERT_PUBLIC_BASE_URL}/api/v1/downloads/<signed certificate id>``, valid for
ECERT_DOWNLOAD_LINK_MINUTES. An altered link is a 403 (``link_invalid``), an expired one a 410
(``link_expired``): the app fetches the certificate again for a fresh one. Signing and the key
rotation are ``ecert.services.download_links``'.
"""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from api.deps import db_session, settings
from api.errors import documented_problems
from ecert.models import Certificate
from ecert.services.download_links import LinkSigner, link_keys
from ecert.services.lookup import get_or_404

blp = Blueprint(
    "downloads",
    __name__,
    url_prefix="/api/v1/downloads",
    description="Signed, short-lived download links (no sign-in: the link is the proof)",
)

CERTIFICATE_PDF = "certificate_pdf"


def link_signer() -> LinkSigner:
    """The app's signer: its keys (newest first) and the links' lifetime, from the settings."""
    config = settings()
    return LinkSigner(link_keys(config.secret_key, config.download_link_keys), config.download_link_minutes)


def download_url(certificate_id: str) -> str:
    """An absolute, signed URL of the certificate's PDF, valid for minutes."""
    token = link_signer().sign(CERTIFICATE_PDF, certificate_id)
    return f"{settings().public_base_url}{blp.url_prefix}/{token}"


def pdf_response(certificate: Certificate) -> Response:
    """The stored PDF, to be shown inline (a viewer) or passed on (a share sheet), never cached:
    the link that fetched it is short-lived on purpose."""
    response = Response(certificate.pdf or b"", mimetype="application/pdf")
    filename = f"phieu-lltp-so-{certificate.form_type}-{certificate.number}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@blp.route("/<string:token>")
@blp.response(200, description="The signed PDF (PAdES)", content_type="application/pdf")
@blp.doc(responses={"200": {"description": "The signed PDF (PAdES)", "content": {"application/pdf": _BINARY}}})
@documented_problems(
    blp,
    {
        403: "The link is not one this service signed, or it was altered (link_invalid)",
        404: "The certificate is gone",
        410: "The link has expired (link_expired): fetch the certificate again for a fresh links.pdf_download",
    },
)
def download_pdf(token: str) -> Response:
    """The certificate PDF a signed ``links.pdf_download`` names; no identity token needed."""
    certificate_id = link_signer().value_of(CERTIFICATE_PDF, token)
    return pdf_response(get_or_404(db_session(), Certificate, certificate_id))
