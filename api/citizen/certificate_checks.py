"""Who checked my certificate: ``GET /api/v1/certificates/{id}/verifications`` (DESIGN §7).

Every logged check of the holder's own certificate, newest first, cursor-paginated: when, through
which channel, with what outcome, and the organisation when a registered one checked. The
answer's ``notice`` tells the holder plainly that offline QR checks cannot appear there. Another
citizen's certificate is the same 404 as a missing one.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from api.citizen.auth import CITIZEN_SECURITY, citizen_required, current_citizen
from api.citizen.schemas import ListArgsSchema, VerificationLogSchema
from api.deps import db_session, settings
from api.errors import documented_problems
from api.schemas import Annotated
from ecert.services import certificates as certificate_service
from ecert.services import verification as verification_service

blp = Blueprint(
    "certificate_checks",
    __name__,
    url_prefix="/api/v1/certificates",
    description="Who checked a citizen's certificate",
)


@blp.route("/<string:certificate_id>/verifications")
@citizen_required
@blp.arguments(ListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, VerificationLogSchema)
@documented_problems(blp, {404: "No such certificate for this citizen", 422: "A bad limit or cursor"})
@blp.doc(security=CITIZEN_SECURITY)
def list_certificate_verifications(certificate_id: str, limit: int, cursor: str | None) -> object:
    """Every logged check of this certificate, newest first: when, the channel, the outcome, and
    the organisation when a registered one checked. Offline QR checks cannot appear here."""
    session = db_session()
    certificate = certificate_service.get_for_holder(session, certificate_id, current_citizen().personal_id)
    page = verification_service.list_for_certificate(session, certificate.id, limit=limit, cursor=cursor)
    return Annotated(page, retention_days=settings().verification_retention_days)
