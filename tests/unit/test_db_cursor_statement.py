"""ecert.db.CursorStatement: a statement on the session's DBAPI cursor (the verification's status
query, the log's batch INSERTs) must read and write exactly what it would through SQLAlchemy
(types converted, in the session's own transaction) and fail the way SQLAlchemy fails, on
SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Integer, bindparam, literal, select

from ecert.db import CursorStatement
from ecert.models import KeyStatus, SigningKey
from tests.support import ON_POSTGRES

_KEY = select(
    SigningKey.kid, SigningKey.status, SigningKey.not_before, SigningKey.revoked_at, SigningKey.certificate_pem
).where(SigningKey.kid == bindparam("kid"))


def _a_key(db) -> SigningKey:
    return db.scalars(select(SigningKey).limit(1)).one()


def test_it_reads_what_sqlalchemy_reads_with_each_columns_type(db):
    key = _a_key(db)
    key.revoked_at = datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=UTC)
    key.status = KeyStatus.REVOKED
    db.flush()  # not committed: the cursor must run in the session's own transaction

    row = CursorStatement(_KEY).first(db, kid=key.kid)

    assert row == tuple(db.execute(_KEY, {"kid": key.kid}).one())
    kid, status, not_before, revoked_at, pem = row
    assert status is KeyStatus.REVOKED  # the column type's conversion, not the stored text
    assert revoked_at == datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=UTC)
    assert revoked_at.tzinfo is not None and not_before.tzinfo is not None
    assert (kid, pem) == (key.kid, key.certificate_pem)


def test_no_row_is_none(db):
    assert CursorStatement(_KEY).first(db, kid="0000000000000000") is None


def test_a_hostile_parameter_is_a_value_not_sql(db):
    key = _a_key(db)
    assert CursorStatement(_KEY).first(db, kid=f"{key.kid}' OR '1'='1") is None


def test_sql_that_is_not_fixed_at_compile_time_is_refused(db):
    expanding = select(SigningKey.kid).where(SigningKey.kid.in_(bindparam("kids", expanding=True)))
    with pytest.raises(ValueError, match="fixed at compile time"):
        CursorStatement(expanding).first(db, kids=["a", "b"])


def test_execute_many_writes_each_row_with_its_types_and_the_statements_own_values(db):
    from sqlalchemy import insert, literal

    from ecert.models import VerificationEvent

    statement = CursorStatement(
        insert(VerificationEvent).values(
            certificate_id=bindparam("certificate_id"),
            checked_at=bindparam("checked_at"),
            channel=literal("code"),
            outcome=bindparam("outcome"),
        )
    )
    first = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    second = datetime(2026, 12, 1, 0, 0, 0, 1, tzinfo=UTC)
    statement.execute_many(
        db,
        [
            {"certificate_id": None, "checked_at": first, "outcome": "not_found"},
            {"certificate_id": None, "checked_at": second, "outcome": "malformed"},
        ],
    )

    rows = db.execute(
        select(VerificationEvent.checked_at, VerificationEvent.channel, VerificationEvent.outcome)
        .where(VerificationEvent.checked_at.in_([first, second]))
        .order_by(VerificationEvent.checked_at)
    ).all()
    assert [tuple(row) for row in rows] == [(first, "code", "not_found"), (second, "code", "malformed")]


def test_a_database_error_is_sqlalchemys_as_on_any_other_statement(db):
    """Callers (the batch writer keeps a refused batch on SQLAlchemyError, the request edge maps
    database errors to 503) must see the error they see from every other statement."""
    from sqlalchemy import column, table
    from sqlalchemy.exc import DBAPIError

    missing = select(column("kid")).select_from(table("no_such_table")).where(column("kid") == bindparam("kid"))
    with pytest.raises(DBAPIError):
        CursorStatement(missing).first(db, kid="x")


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (ECERT_TEST_DATABASE_URL)")
def test_a_lost_connection_is_invalidated_and_the_next_unit_of_work_reconnects(database_url):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from ecert.db import make_engine, make_sessionmaker, reads_only

    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    alive = CursorStatement(select(literal(1, Integer()).label("one")))
    reader = sessions()
    reads_only(reader)
    backend = reader.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with engine.connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    with pytest.raises(DBAPIError) as lost:
        alive.first(reader)
    assert lost.value.connection_invalidated
    reader.close()
    with sessions() as again:
        reads_only(again)
        assert alive.first(again) == (1,)
    engine.dispose()
