"""A command's one transaction: ``unit_of_work`` commits a block that ends normally and rolls
back one that raises."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ecert.db import keep_on_failure, unit_of_work
from ecert.models import IdempotencyRecord
from ecert.wiring import resources_of


def _row(key: str) -> IdempotencyRecord:
    return IdempotencyRecord(scope="test:cli-uow", key=key, body_sha256="0" * 64, status_code=0, response={})


def _keys(db) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.scope == "test:cli-uow")))


def test_a_block_that_ends_normally_is_committed(app, db):
    with unit_of_work(resources_of(app)) as session:
        session.add(_row("done"))
    assert _keys(db) == {"done"}


def test_a_block_that_raises_is_rolled_back(app, db):
    with pytest.raises(RuntimeError), unit_of_work(resources_of(app)) as session:
        session.add(_row("half-done"))
        session.flush()
        raise RuntimeError("the command failed")
    assert _keys(db) == set()


def test_a_kept_failure_is_committed_and_still_raised(app, db):
    with pytest.raises(RuntimeError), unit_of_work(resources_of(app)) as session:
        session.add(_row("record-of-failure"))
        keep_on_failure(session)
        raise RuntimeError("refused")
    assert _keys(db) == {"record-of-failure"}
