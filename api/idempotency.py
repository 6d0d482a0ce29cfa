"""Idempotency-Key for POSTs that create something (DESIGN §9).

The key is looked up with a read first, so a retry is answered from the stored answer without
doing the work again (nor taking a write lock). Otherwise the key row is written in the same
transaction as the thing it creates, before it: a second request racing with the same key
blocks on the unique index and then sees the first answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import db_session, end_reading, read_session
from api.json_guard import strict_loads
from ecert.errors import Conflict
from ecert.models import IdempotencyRecord

F = TypeVar("F", bound=Callable[..., Any])


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
    response = Response(
        json.dumps(record.response, ensure_ascii=False), status=record.status_code, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
    return session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    ).scalar_one_or_none()


def _claim(session: Session, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | Response:
    """Our new record for (scope, key), or the stored answer when another request has it."""
    existing = _find(session, scope, key)
    if existing is not None:
        return _replay(existing, fingerprint)
    record = IdempotencyRecord(scope=scope, key=key, body_sha256=fingerprint, status_code=0, response={})
    try:
        # A savepoint: losing the race undoes only this row, not the request's other work.
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        winner = _find(session, scope, key)
        if winner is None:
            raise
        return _replay(winner, fingerprint)
    return record


def idempotent(
    scope: Callable[..., str],
    *,
    not_kept: tuple[str, ...] = (),
    prepare: Callable[..., Any] | None = None,
) -> Callable[[F], F]:
    """Run the view once per (scope, ``Idempotency-Key``) and give back its first answer after.

    Goes under ``@blp.arguments(IdempotencyHeaderSchema, location="headers", as_kwargs=True)``
    (it takes the ``idempotency_key`` argument) and above ``@blp.response`` (it keeps the
    answer the schema dumped). ``scope(**view_kwargs)`` names whose keys these are. The
    record is written in the request's unit of work, with what the view creates. The members
    named in ``not_kept`` are replayed as null: a secret shown once (a share link's URL) must
    not be kept in clear in the record.

    ``prepare(*view_args, **view_kwargs)`` is the view's read phase (``api.deps.read_session``):
    it runs after the key was looked up and found new, before the key is claimed (the claim is
    the unit of work's first write), and its result reaches the view as ``prepared``. Put the
    decorator under the body's ``@blp.arguments`` then, so that ``prepare`` gets the payload.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, idempotency_key: str | None = None, **kwargs: Any) -> Any:
            if not idempotency_key:
                if prepare is not None:
                    kwargs["prepared"] = _prepared(prepare, args, kwargs)
                return view(*args, **kwargs)
            key_scope, fingerprint = scope(**kwargs), body_fingerprint()
            try:
                # A retry is answered from a read: nothing is prepared (rendered, signed) again.
                stored = _find(read_session(), key_scope, idempotency_key)
                if stored is not None:
                    return _replay(stored, fingerprint)
                if prepare is not None:
                    try:
                        kwargs["prepared"] = prepare(*args, **kwargs)
                    except Conflict:
                        # The first request with this key may have committed since the look-up
                        # (its open request then refuses this one): its answer is ours.
                        stored = _find(read_session(), key_scope, idempotency_key)
                        if stored is not None:
                            return _replay(stored, fingerprint)
                        raise
            finally:
                end_reading()
            claimed = _claim(db_session(), key_scope, idempotency_key, fingerprint)
            if isinstance(claimed, Response):
                return claimed
            response = view(*args, **kwargs)
            claimed.status_code = response.status_code
            kept = response.get_json()
            if isinstance(kept, dict):
                kept = {key: None if key in not_kept else value for key, value in kept.items()}
            claimed.response = kept
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


def _prepared(prepare: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return prepare(*args, **kwargs)
    finally:
        end_reading()
