"""Idempotency-Key for POSTs that create something (DESIGN §9).

The key row is written in the same transaction as the thing it creates, before it: a second
request racing with the same key blocks on the unique index and then sees the first answer.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from flask import Response, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import db_session
from api.json_guard import strict_loads
from ecert.errors import Conflict
from ecert.models import IdempotencyRecord


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = "exclude"

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(r"^[\x21-\x7e]{1,200}$", error="idempotency_key_invalid"),
        metadata={"description": "Retry-safe creation: the same key and body give back the first answer."},
    )


def body_fingerprint() -> str:
    raw = request.get_data(cache=True)
    try:
        # strict_loads: a hostile body of any declared type must not raise out of here.
        normalised = json.dumps(strict_loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        normalised = raw
    return hashlib.sha256(normalised).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.body_sha256 != fingerprint:
        raise Conflict("idempotency_key_reused")
    response = Response(json.dumps(record.response, ensure_ascii=False), status=record.status_code,
                        mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def run_idempotent(scope: str, key: str | None, create: Callable[[], tuple[dict[str, Any], int]]) -> Response | tuple:
    """Run ``create`` once per (scope, key); commit; give back its answer or the stored one."""
    session = db_session()
    if not key:
        body, status = create()
        session.commit()
        return body, status
    fingerprint = body_fingerprint()
    existing = session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    ).scalar_one_or_none()
    if existing is not None:
        return _replay(existing, fingerprint)
    record = IdempotencyRecord(scope=scope, key=key, body_sha256=fingerprint, status_code=0, response={})
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = session.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        ).scalar_one()
        return _replay(existing, fingerprint)
    body, status = create()
    record.status_code = status
    record.response = json.loads(json.dumps(body, default=str))
    session.commit()
    return body, status
