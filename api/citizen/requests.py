"""The citizen's requests: create, list, read, cancel."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.citizen.auth import CITIZEN_SECURITY, citizen_required, current_citizen
from api.citizen.schemas import ListArgsSchema, RequestCreateSchema, RequestListSchema, RequestSchema
from api.deps import actor, db_session, read_session, resources, settings
from api.errors import documented_problems
from api.idempotency import IdempotencyHeaderSchema, idempotent
from api.limits import rate_limit
from api.metrics import observe_decision
from ecert.db import utcnow
from ecert.services import requests as request_service
from ecert.services.issuance import AutomaticIssuer

blp = Blueprint("requests", __name__, url_prefix="/api/v1/requests", description="A citizen's certificate requests")
_NO_SUCH_REQUEST = "No such request for this citizen"

# The OpenAPI example of a request body: a Form 1 the server accepts (tests/client checks it).
CREATE_EXAMPLE = {
    "form_type": 1,
    "purpose": "Bổ sung hồ sơ xin việc",
    "copies": 1,
    "include_ban_section": False,
    "phone": "0912345678",
    "email": "an@example.vn",
    "residence_history": [
        {"from": "2004-05", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"}
    ],
}


def _automatic_issuer() -> AutomaticIssuer | None:
    """Issuance for the automatic path when signing is ready; None sends every request to staff review."""
    keystore = resources().keystore
    if not keystore.ready:
        return None
    return AutomaticIssuer(keystore, settings())


def _prepare(payload: dict) -> request_service.PreparedSubmission:
    """The submission's read phase: checked, decided and signed before anything is written."""
    return request_service.prepare_submission(
        read_session(), current_citizen(), payload, settings=settings(), issuer=_automatic_issuer(), now=utcnow()
    )


@blp.route("", methods=["POST"])
@rate_limit("request_creation")
@citizen_required
@blp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)
@blp.arguments(RequestCreateSchema, example=CREATE_EXAMPLE)
@idempotent(scope=lambda: f"citizen:{current_citizen().personal_id}:requests", prepare=_prepare)
@blp.response(201, RequestSchema)
@documented_problems(
    blp,
    {
        409: {
            "content_type": "application/problem+json",
            "description": "An open request exists, or the Idempotency-Key was reused",
        },
        422: "Per-field validation errors",
        429: "Too many requests created by this citizen (Retry-After)",
    },
)
@blp.doc(security=CITIZEN_SECURITY)
def create_request(_payload, prepared):
    """Ask for a judicial-record certificate (Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp)."""
    identity = current_citizen()
    req = request_service.submit(
        db_session(), prepared, actor=actor("citizen", identity.personal_id), issuer=_automatic_issuer()
    )
    observe_decision(req.status)
    return req, 201, {"Location": f"/api/v1/requests/{req.id}"}


@blp.route("")
@citizen_required
@blp.arguments(ListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, RequestListSchema)
@blp.doc(security=CITIZEN_SECURITY)
def list_requests(limit, cursor):
    """The citizen's requests, newest first, cursor-paginated."""
    return request_service.list_for_citizen(db_session(), current_citizen().personal_id, limit=limit, cursor=cursor)


@blp.route("/<string:request_id>")
@citizen_required
@blp.etag
@blp.response(200, RequestSchema)
@documented_problems(blp, {404: _NO_SUCH_REQUEST})
@blp.doc(security=CITIZEN_SECURITY)
def get_request(request_id):
    """One request and its status. Send If-None-Match with the last ETag to poll cheaply."""
    return request_service.get_for_citizen(db_session(), request_id, current_citizen().personal_id)


@blp.route("/<string:request_id>/cancel", methods=["POST"])
@citizen_required
@blp.response(200, RequestSchema)
@documented_problems(blp, {404: _NO_SUCH_REQUEST, 409: "Already issued or refused"})
@blp.doc(security=CITIZEN_SECURITY)
def cancel_request(request_id):
    """Withdraw a request that no one has decided yet. Cancelling again answers 200 with the same body."""
    identity = current_citizen()
    return request_service.cancel(db_session(), request_id, identity, actor("citizen", identity.personal_id))
