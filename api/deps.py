"""Per-request plumbing shared by the views: the database session, the actor, settings."""
from __future__ import annotations

import logging

from flask import current_app, g
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ecert.config import Settings
from ecert.services.audit import Actor

log = logging.getLogger(__name__)


def settings() -> Settings:
    return current_app.extensions["ecert.settings"]


def db_session() -> Session:
    """The request's session, opened on first use and closed at teardown.

    Views commit once, at the end; anything that raises before that is rolled back whole.
    """
    session = g.get("db_session")
    if session is None:
        session = current_app.extensions["ecert.sessionmaker"]()
        g.db_session = session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.rollback()
        session.close()
    except SQLAlchemyError as exc:
        # The answer is already made; a connection that died under us must not turn it into a
        # server error page. The pool discards the broken connection.
        log.warning("session cleanup failed: %s", type(exc).__name__)
        session.invalidate()


def actor(kind: str, actor_id: str | None) -> Actor:
    return Actor(kind, actor_id, g.get("request_id"))
