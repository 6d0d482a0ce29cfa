"""ecert.db.reads_only: on SQLite a unit of work that only reads takes no write lock, so checks
never queue behind each other or behind the batch writer; every other one still begins IMMEDIATE."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ecert.db import make_engine, make_sessionmaker, reads_only
from tests.support import ON_POSTGRES


def _write_finishes_quickly(sessions) -> bool:
    done = threading.Event()

    def write() -> None:
        with sessions() as session:
            session.execute(text("INSERT INTO t (v) VALUES (1)"))
            session.commit()
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done.wait(2)


def test_a_reading_unit_of_work_lets_a_writer_through(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
    sessions = make_sessionmaker(engine)
    reader = sessions()
    reads_only(reader)
    assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    assert not reader.connection().connection.dbapi_connection.in_transaction  # no BEGIN at all
    assert _write_finishes_quickly(sessions)
    assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 1  # each statement sees the latest
    reader.close()
    engine.dispose()


def test_any_other_unit_of_work_holds_the_write_lock(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
        conn.exec_driver_sql("PRAGMA busy_timeout=3000")
    sessions = make_sessionmaker(engine)
    holder = sessions()
    holder.execute(text("SELECT count(*) FROM t"))  # BEGIN IMMEDIATE: the write lock is held
    started = time.monotonic()
    assert not _write_finishes_quickly(sessions)
    assert time.monotonic() - started >= 2
    holder.close()
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (ECERT_TEST_DATABASE_URL)")
def test_on_postgresql_a_reading_unit_of_work_runs_in_autocommit(database_url):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as reader:
        reads_only(reader)
        assert reader.execute(text("SELECT 1")).scalar_one() == 1
        assert reader.connection().connection.dbapi_connection.autocommit is True  # no BEGIN, no COMMIT
        reader.commit()
    with sessions() as writer:  # the pooled connection went back as it came
        writer.execute(text("SELECT 1"))
        assert writer.connection().connection.dbapi_connection.autocommit is False
    engine.dispose()


def test_an_unreachable_database_does_not_fail_the_declaration(tmp_path):
    """A check declares itself reading before anything needs the database: during an outage the
    declaration must not raise (junk is still answered ``malformed``; the rest fails closed)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}")
    session = make_sessionmaker(engine)()
    reads_only(session)  # no exception
    with pytest.raises(OperationalError):
        session.execute(text("SELECT 1"))
    session.close()
    engine.dispose()
