"""Who the identity token says the citizen is."""

from __future__ import annotations

from flask_smorest import Blueprint

from api.citizen.auth import CITIZEN_SECURITY, citizen_required, current_citizen
from api.citizen.schemas import MeSchema
from api.deps import db_session
from api.errors import documented_problems
from api.schemas import Annotated
from ecert.services.requests import open_request_for

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The signed-in citizen")


@blp.route("/me")
@citizen_required
@blp.response(200, MeSchema)
@documented_problems(blp, {401: "Missing or invalid identity token"})
@blp.doc(security=CITIZEN_SECURITY)
def me():
    """The identity data the request form is pre-filled with, and any open request."""
    identity = current_citizen()
    open_request = open_request_for(db_session(), identity.personal_id)
    return Annotated(identity, open_request_id=open_request.id if open_request else None)
