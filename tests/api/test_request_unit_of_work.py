"""The request owns its unit of work: committed below 400, rolled back at 4xx and 5xx; a
PersistentFailure keeps what its refusal wrote; the audit listeners belong to the app's
sessionmaker alone."""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from api.deps import db_session
from ecert.db import commit_is_best_effort, keep_on_failure
from ecert.errors import Conflict, PersistentFailure, Unauthorized
from ecert.models import IdempotencyRecord
from ecert.services import audit
from ecert.wiring import resources_of


def _row(key: str) -> IdempotencyRecord:
    return IdempotencyRecord(scope="test:uow", key=key, body_sha256="0" * 64, status_code=200, response={})


def _keys(db: Session) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.scope == "test:uow")))


def _write_then_fail() -> Any:
    db_session().add(_row("failed"))
    db_session().flush()
    raise Conflict("conflict")


def _write_then_answer_422() -> Any:
    db_session().add(_row("answered-422"))
    return {"ok": False}, 422


def _write_then_succeed() -> Any:
    db_session().add(_row("kept"))
    return {"ok": True}


def _write_then_refuse_persistently() -> Any:
    db_session().add(_row("refusal-record"))
    raise PersistentFailure(Unauthorized("invalid_credentials"))


def _keep_first_then_fail_in_savepoint() -> Any:
    session = db_session()
    session.add(_row("spent"))
    try:
        with session.begin_nested():
            session.add(_row("undone"))
            session.flush()
            raise Conflict("conflict")
    except Conflict:
        keep_on_failure(session)
        raise


def _commit_fails() -> Any:
    session = db_session()
    session.add(_row("twin"))
    session.flush()
    session.add(_row("twin"))  # flushed at the commit: the unique index refuses it
    return {"ok": True}


def _best_effort_commit_fails() -> Any:
    session = db_session()
    commit_is_best_effort(session)
    session.add(_row("log"))
    session.flush()
    session.add(_row("log"))
    return {"verdict": "valid"}


VIEWS = {
    "fail": _write_then_fail,
    "answer-422": _write_then_answer_422,
    "succeed": _write_then_succeed,
    "persistent": _write_then_refuse_persistently,
    "savepoint": _keep_first_then_fail_in_savepoint,
    "commit-fails": _commit_fails,
    "best-effort": _best_effort_commit_fails,
}


@pytest.fixture
def uow_app(app: Flask) -> Flask:
    for name, view in VIEWS.items():
        app.add_url_rule(f"/api/v1/test-uow/{name}", f"test_uow_{name}", view, methods=["POST"])
    return app


def test_a_success_is_committed(uow_app, db):
    assert uow_app.test_client().post("/api/v1/test-uow/succeed").status_code == 200
    assert _keys(db) == {"kept"}


def test_a_view_that_writes_then_fails_leaves_nothing(uow_app, db):
    response = uow_app.test_client().post("/api/v1/test-uow/fail")
    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert _keys(db) == set()


def test_an_error_answer_returned_by_the_view_is_rolled_back_too(uow_app, db):
    assert uow_app.test_client().post("/api/v1/test-uow/answer-422").status_code == 422
    assert _keys(db) == set()


def test_a_persistent_failure_is_committed_and_answered_as_its_cause(uow_app, db):
    response = uow_app.test_client().post("/api/v1/test-uow/persistent")
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_credentials"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert _keys(db) == {"refusal-record"}


def test_a_kept_failure_keeps_its_record_while_the_savepoint_is_rolled_back(uow_app, db):
    assert uow_app.test_client().post("/api/v1/test-uow/savepoint").status_code == 409
    assert _keys(db) == {"spent"}


def test_a_commit_that_fails_is_answered_as_a_failure_never_as_200(uow_app, db):
    response = uow_app.test_client().post("/api/v1/test-uow/commit-fails")
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert _keys(db) == set()


def test_a_best_effort_commit_that_fails_keeps_the_answer(uow_app, db):
    response = uow_app.test_client().post("/api/v1/test-uow/best-effort")
    assert response.status_code == 200
    assert response.get_json() == {"verdict": "valid"}
    assert _keys(db) == set()


def test_the_audit_listeners_belong_to_the_apps_sessionmaker_only(app):
    sessions = resources_of(app).sessionmaker
    for name, listener in (("before_commit", audit._before_commit),
                           ("after_transaction_end", audit._after_transaction_end)):
        assert event.contains(sessions, name, listener)
        assert not event.contains(Session, name, listener)


def test_a_bare_session_commits_without_the_audit_chain(app):
    # An event queued in a Session made elsewhere is not chained (nor written) at its commit.
    with Session(resources_of(app).engine) as bare:
        audit.record(bare, audit.Actor("system", None, None), "test.not_chained")
        assert bare.info.get(audit._PENDING)
        bare.rollback()
