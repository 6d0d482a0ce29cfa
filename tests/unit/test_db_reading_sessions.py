"""ecert.db.ReadingSessions: a check's reads-only session is kept per thread between checks,
yet every check reads the latest committed state, forgets what it loaded, and a session that
failed or wrote is never handed out again."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ecert.db import ReadingSessions, make_engine, make_sessionmaker
from tests.support import ON_POSTGRES


class _Base(DeclarativeBase):
    pass


class Organisation(_Base):
    __tablename__ = "reading_sessions_org"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(10))


def _setup(url: str):
    engine = make_engine(url)
    _Base.metadata.drop_all(engine)
    _Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as writer:
        writer.add(Organisation(id=1, state="enabled"))
        writer.commit()
    return engine, sessions


def _disable(sessions) -> None:
    with sessions() as writer:
        writer.execute(update(Organisation).where(Organisation.id == 1).values(state="disabled"))
        writer.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def setup(request, tmp_path: Path, owner_database_url: str):
    if request.param == "postgresql" and not ON_POSTGRES:
        pytest.skip("needs PostgreSQL (ECERT_TEST_DATABASE_URL)")
    url = owner_database_url if request.param == "postgresql" else f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine, sessions = _setup(url)
    yield sessions
    _Base.metadata.drop_all(engine)
    engine.dispose()


def test_the_same_session_is_kept_between_checks_in_one_thread_and_not_shared(setup):
    readers = ReadingSessions(setup)
    first = readers.get()
    assert readers.get() is first
    readers.release(failed=False)
    assert readers.get() is first  # kept: no new session, no pool checkout per check
    elsewhere: list[object] = []
    thread = threading.Thread(target=lambda: elsewhere.append(readers.get()))
    thread.start()
    thread.join()
    assert elsewhere[0] is not first
    readers.release(failed=True)


def test_a_kept_session_reads_what_others_committed_and_forgets_what_it_loaded(setup):
    """An object kept in the identity map would come back as it was: a disabled organisation
    would still authenticate. After release, the next check reads the row again."""
    readers = ReadingSessions(setup)
    session = readers.get()
    organisation = session.execute(select(Organisation).where(Organisation.id == 1)).scalar_one()
    assert organisation.state == "enabled"
    readers.release(failed=False)
    assert organisation not in session  # forgotten
    _disable(setup)
    again = readers.get().execute(select(Organisation).where(Organisation.id == 1)).scalar_one()
    assert again.state == "disabled"
    # And within one check, a statement sees a commit made after the previous one (no snapshot).
    with setup() as writer:
        writer.add(Organisation(id=2, state="enabled"))
        writer.commit()
    assert readers.get().execute(select(Organisation.id).where(Organisation.id == 2)).scalar_one() == 2
    readers.release(failed=True)


def test_a_session_after_a_database_failure_is_dropped(setup):
    readers = ReadingSessions(setup)
    session = readers.get()
    with pytest.raises(Exception):  # noqa: B017, PT011 - whichever error the driver raises
        session.execute(text("SELECT * FROM no_such_table_here"))
    readers.release(failed=True)
    fresh = readers.get()
    assert fresh is not session
    assert fresh.execute(select(Organisation.state).where(Organisation.id == 1)).scalar_one() == "enabled"
    readers.release(failed=True)


def test_a_session_that_wrote_through_the_orm_is_not_kept(setup):
    readers = ReadingSessions(setup)
    session = readers.get()
    session.add(Organisation(id=3, state="enabled"))  # never the checks' way, but never kept either
    readers.release(failed=False)
    assert readers.get() is not session
    readers.release(failed=True)


def test_a_kept_session_holds_no_lock_on_sqlite(tmp_path: Path):
    """Between checks (and between its statements) the kept session blocks no writer."""
    engine, sessions = _setup(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    readers = ReadingSessions(sessions)
    readers.get().execute(select(Organisation.id)).all()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=500")
        conn.execute(Table("reading_sessions_org", MetaData(), Column("id", Integer), Column("state", String))
                     .insert().values(id=9, state="x"))
        conn.commit()
    readers.release(failed=True)
    engine.dispose()
