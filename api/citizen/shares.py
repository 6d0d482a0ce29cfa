"""A holder's share links: ``POST|GET /api/v1/certificates/{id}/shares``,
``DELETE /api/v1/certificates/{id}/shares/{share_id}`` (DESIGN §7, §11).

The link's URL carries a secret kept only as a hash: it is in the creation answer and nowhere
after (an idempotent replay gives it back as null: revoke that link and make another). Every
view answers 404 for another citizen's certificate, as for a missing one.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.citizen.auth import CITIZEN_SECURITY, citizen_required, current_citizen
from api.citizen.schemas import ListArgsSchema, ShareCreateSchema, ShareListSchema, ShareSchema
from api.deps import actor, db_session, settings
from api.errors import documented_problems
from api.idempotency import IdempotencyHeaderSchema, idempotent
from api.schemas import Annotated
from ecert.models import Certificate, ShareLink
from ecert.services import certificates as certificate_service
from ecert.services import shares as share_service
from ecert.services.paging import Page

blp = Blueprint(
    "shares", __name__, url_prefix="/api/v1/certificates", description="A citizen's share links to a certificate"
)

_NO_SUCH_CERTIFICATE = "No such certificate for this citizen"
# The path of a share's page: {ECERT_PUBLIC_BASE_URL}/s/<share id>/<secret> (api.public.share_pages).
SHARE_PATH = "/s"

CREATE_EXAMPLE = {"expires_in_hours": 72, "include_pdf": False, "max_uses": None}


def _own(certificate_id: str) -> Certificate:
    return certificate_service.get_for_holder(db_session(), certificate_id, current_citizen().personal_id)


def share_url(share: ShareLink, secret: str) -> str:
    return f"{settings().public_base_url}{SHARE_PATH}/{share.id}/{secret}"


@blp.route("/<string:certificate_id>/shares", methods=["POST"])
@citizen_required
@blp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
@idempotent(
    scope=lambda certificate_id, **_: f"citizen:{current_citizen().personal_id}:shares:{certificate_id}",
    not_kept=("url",),
)
@blp.arguments(ShareCreateSchema, example=CREATE_EXAMPLE)
@blp.response(201, ShareSchema)
@documented_problems(
    blp,
    {
        404: _NO_SUCH_CERTIFICATE,
        409: "The certificate is revoked (certificate_not_shareable), or the Idempotency-Key was reused",
        422: "Per-field validation errors",
    },
)
@blp.doc(security=CITIZEN_SECURITY)
def create_share(payload: dict[str, Any], certificate_id: str) -> Annotated:
    """Make a share link to this certificate: its page shows the verdict and the public fields
    (and the PDF when ``include_pdf``), until it expires (1–720 hours), is used ``max_uses``
    times, or is revoked. The ``url`` is in this answer only: send it now."""
    certificate = _own(certificate_id)
    made = share_service.create_share(
        db_session(),
        certificate,
        expires_in_hours=payload["expires_in_hours"],
        include_pdf=payload["include_pdf"],
        max_uses=payload["max_uses"],
        actor=actor("citizen", current_citizen().personal_id),
    )
    return Annotated(made.share, url=share_url(made.share, made.secret))


@blp.route("/<string:certificate_id>/shares", methods=["GET"])
@citizen_required
@blp.arguments(ListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ShareListSchema)
@documented_problems(blp, {404: _NO_SUCH_CERTIFICATE, 422: "A bad limit or cursor"})
@blp.doc(security=CITIZEN_SECURITY)
def list_shares(certificate_id: str, limit: int, cursor: str | None) -> Page[ShareLink]:
    """This certificate's share links, newest first, with their state and uses (never the URL)."""
    certificate = _own(certificate_id)
    return share_service.list_shares(db_session(), certificate.id, limit=limit, cursor=cursor)


@blp.route("/<string:certificate_id>/shares/<string:share_id>", methods=["DELETE"])
@citizen_required
@blp.response(200, ShareSchema)
@documented_problems(blp, {404: "No such certificate for this citizen, or no such share link of it"})
@blp.doc(security=CITIZEN_SECURITY)
def revoke_share(certificate_id: str, share_id: str) -> ShareLink:
    """Revoke the link at once: its page answers 410 from now on. Revoking twice answers the same."""
    certificate = _own(certificate_id)
    return share_service.revoke_share(
        db_session(), certificate.id, share_id, actor=actor("citizen", current_citizen().personal_id)
    )
