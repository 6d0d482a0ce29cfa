"""Liveness and readiness for the load balancer."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from api.deps import db_session, resources
from api.errors import problem

blp = Blueprint("health", __name__, description="Liveness and readiness")


class HealthSchema(Schema):
    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())


@blp.route("/healthz")
@blp.response(200, HealthSchema)
def healthz():
    """The process answers (it does not look at the database)."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="Not ready: the database or the signing key is missing")
def readyz():
    """Ready to serve: the database answers and a signing key is loaded."""
    checks = {}
    try:
        db_session().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        checks["database"] = "unavailable"
    checks["signing"] = "ok" if resources().keystore.ready else "unavailable"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", "checks": checks}
    return problem(503, "service_unavailable", extra={"checks": checks}, headers={"Retry-After": "5"})
