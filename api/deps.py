"""Per-request plumbing shared by the views: the app's resources, the database session, the
actor, settings; and the HTTP edge's own objects (:class:`Edge`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ecert import db
from ecert.config import Settings
from ecert.errors import Unauthorized
from ecert.services.audit import Actor
from ecert.wiring import Resources, resources_of

if TYPE_CHECKING:
    from flask_limiter import Limiter
    from flask_smorest import Api

EDGE_EXTENSION_KEY = "ecert.api"


def resources() -> Resources:
    """The current app's resources (``ecert.wiring.Resources``): the one way views reach them."""
    return resources_of(current_app)


def settings() -> Settings:
    return resources().settings


@dataclass(frozen=True)
class Edge:
    """What only the HTTP edge has, built by ``api.register`` after every blueprint is in.

    Kept apart from ``ecert.wiring.Resources`` so that the core never knows HTTP.
    """

    # The flask-smorest registry: the OpenAPI document the docs page renders.
    openapi: Api
    # This app's rate limiter (one per app, so apps with different settings share nothing).
    limiter: Limiter
    # Named limit -> limit string ("10/minute;100/day"), from ECERT_RATE_LIMITS.
    rate_limits: dict[str, str]


def edge_of(app: Flask) -> Edge:
    edge = app.extensions[EDGE_EXTENSION_KEY]
    assert isinstance(edge, Edge), "api.register installs api.deps.Edge"
    return edge


def edge() -> Edge:
    return edge_of(current_app)


def db_session() -> Session:
    """The request's session: its unit of work, opened on first use.

    The request owns the transaction: :func:`end_unit_of_work` commits it when the answer is a
    success (below 400) and rolls it back otherwise; views and services never commit.
    """
    session: Session | None = g.get("db_session")
    if session is None:
        session = resources().sessionmaker()
        g.db_session = session
    return session


def end_unit_of_work(response: Response) -> Response:
    """Commit the request's work when the answer succeeded (or the work kept its failure, see
    ``ecert.errors.PersistentFailure``), roll it back otherwise: before the answer goes out, so
    that a commit that fails is answered as the failure it is (503, 409, 500), never as a 200."""
    session = g.get("db_session")
    if session is None:
        return response
    try:
        db.end_unit_of_work(session, succeeded=response.status_code < 400)
    except Exception as exc:  # noqa: BLE001 - rendered by the app's own error handlers
        db.discard(session)
        return current_app.make_response(current_app.handle_user_exception(exc))
    return response


def read_session() -> Session:
    """The request's reading session, for the work done before its unit of work writes anything
    (a submission's read phase: checks, the decision, rendering and signing).

    It begins no transaction (``ecert.db.reads_only``): on SQLite it neither takes nor waits for
    the write lock, on PostgreSQL each statement commits itself. End it with :func:`end_reading`
    when the read phase is over (teardown ends it too).
    """
    session: Session | None = g.get("read_session")
    if session is None:
        sessions = resources().sessionmaker
        if isinstance(sessions.kw.get("bind"), Connection):
            # Every session of this app shares one connection that its owner holds in a
            # transaction (the tests' rolled-back one): a second session could not read apart
            # from the unit of work, and ending it would roll back what the unit of work did
            # after it began. The reads join the unit of work instead.
            session = db_session()
        else:
            session = sessions()
            db.reads_only(session)
        g.read_session = session
    return session


def end_reading() -> None:
    """The read phase is over: its connection goes back to the pool before the writes begin."""
    session = g.pop("read_session", None)
    if session is not None and session is not g.get("db_session"):
        db.discard(session)


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown: whatever was not committed is rolled back, and the connection goes back."""
    end_reading()
    session = g.pop("db_session", None)
    if session is not None:
        # The answer is already made; a connection that died under us must not turn it into a
        # server error page. The pool discards the broken connection.
        db.discard(session)


def actor(kind: str, actor_id: str | None) -> Actor:
    return Actor(kind, actor_id, g.get("request_id"))


# Citizens (api.citizen.auth) and staff (api.staff.auth) both send Authorization: Bearer.
MAX_TOKEN_LENGTH = 8192


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("token_missing")
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("token_malformed")
    return token
