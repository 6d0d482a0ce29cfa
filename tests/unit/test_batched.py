"""ecert.batched: queued items reach the database in batches, in order, and survive a failing
database until the queue's bound; close() writes everything."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ecert.batched import BatchedWriter, close_all

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("value", Integer))


@pytest.fixture
def sessions(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'batched.sqlite3'}")
    metadata.create_all(engine)
    yield sessionmaker(bind=engine)
    engine.dispose()


def write_rows(session: Session, items: Sequence[int]) -> None:
    session.execute(insert(rows), [{"value": item} for item in items])


def stored(sessions) -> list[int]:
    with sessions() as session:
        return list(session.execute(select(rows.c.value).order_by(rows.c.id)).scalars())


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not written in time"
        time.sleep(0.01)


def test_items_are_written_by_the_thread_within_the_interval(sessions):
    writer = BatchedWriter(sessions, write_rows, interval=0.05, name="test")
    for value in range(10):
        writer.submit(value)
    wait_for(lambda: len(stored(sessions)) == 10)
    assert stored(sessions) == list(range(10))
    writer.close()


def test_nothing_is_written_before_the_interval_and_close_writes_all(sessions):
    writer = BatchedWriter(sessions, write_rows, interval=60, name="test")
    for value in range(5):
        writer.submit(value)
    time.sleep(0.1)
    assert stored(sessions) == []  # still queued: one batch a minute
    writer.close()
    assert stored(sessions) == list(range(5))


def test_close_all_writes_every_writer(sessions):
    first = BatchedWriter(sessions, write_rows, interval=60, name="a")
    second = BatchedWriter(sessions, write_rows, interval=60, name="b")
    first.submit(1)
    second.submit(2)
    close_all()
    assert sorted(stored(sessions)) == [1, 2]


def test_a_full_batch_wakes_the_thread(sessions):
    writer = BatchedWriter(sessions, write_rows, interval=60, name="test", max_batch=3)
    for value in range(3):
        writer.submit(value)
    wait_for(lambda: len(stored(sessions)) == 3)
    writer.close()


def test_a_failing_database_keeps_the_batch_and_retries_in_order(sessions):
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))]

    def flaky(session: Session, items: Sequence[int]) -> None:
        if failures:
            raise failures.pop()
        write_rows(session, items)

    writer = BatchedWriter(sessions, flaky, interval=60, name="test")
    for value in range(4):
        writer.submit(value)
    assert writer.flush() == 0  # the database refused: nothing lost, still queued
    assert writer.pending() == 4
    assert writer.flush() == 4
    assert stored(sessions) == [0, 1, 2, 3]
    writer.close()


def test_past_its_bound_the_queue_drops_the_oldest_and_counts_them(sessions):
    writer = BatchedWriter(sessions, write_rows, interval=60, name="test", max_pending=3)
    for value in range(5):
        writer.submit(value)
    assert writer.dropped == 2
    writer.close()
    assert stored(sessions) == [2, 3, 4]


def test_an_interval_of_zero_is_refused(sessions):
    with pytest.raises(ValueError, match="interval"):
        BatchedWriter(sessions, write_rows, interval=0, name="test")


def test_batches_are_bounded(sessions):
    sizes: list[int] = []

    def counting(session: Session, items: Sequence[int]) -> None:
        sizes.append(len(items))
        write_rows(session, items)

    writer = BatchedWriter(sessions, counting, interval=60, name="test", max_batch=4)
    writer._pid = -1  # noqa: SLF001 - no thread: only the synchronous flush writes here
    for value in range(10):
        writer._pending.append(value)  # noqa: SLF001
    assert writer.flush() == 10
    assert sizes == [4, 4, 2]
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(rows)).scalar_one() == 10


def test_a_round_writes_what_was_queued_when_it_began_not_what_arrives_meanwhile(sessions):
    """Under load checks keep arriving while a batch is written. A round that went on until the
    queue was empty would write a batch (a transaction, a commit) every few checks, never
    sleeping: one batch an interval is the point of batching."""
    batches: list[list[int]] = []

    def write_while_more_arrive(session: Session, items: Sequence[int]) -> None:
        batches.append(list(items))
        write_rows(session, items)
        if len(batches) < 20:
            writer.submit(100 + len(batches))  # a check answered while this batch is written

    writer = BatchedWriter(sessions, write_while_more_arrive, interval=1.0, name="test")
    writer.submit(0)
    wait_for(lambda: len(batches) >= 1)
    time.sleep(0.3)  # well inside the next interval
    assert batches == [[0]]
    assert writer.pending() == 1  # the check that arrived meanwhile waits for the next round
    wait_for(lambda: len(batches) >= 2)
    assert batches[1] == [101]
    writer.close()  # a graceful stop still writes everything, what arrives during it included
    assert stored(sessions) == [0, *range(101, 120)]


def test_a_verification_batch_the_database_refuses_stays_queued(tmp_path):
    """The real writer (record_checks on the session's cursor): an INSERT the database refuses
    keeps the batch for the next round, and it is written once the database accepts it."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from ecert.db import Base, make_engine, make_sessionmaker
    from ecert.models import VerificationEvent
    from ecert.services.verification import CheckRecord, record_checks

    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON verification_events BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    sessions = make_sessionmaker(engine)
    writer = BatchedWriter(sessions, record_checks, interval=60, name="test-log")
    moment = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    for outcome in ("malformed", "not_found"):
        writer.submit(CheckRecord(None, moment, "qr", outcome))

    assert writer.flush() == 0
    assert writer.pending() == 2
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse"))
    assert writer.flush() == 2
    with sessions() as session:
        assert list(session.scalars(select(VerificationEvent.outcome).order_by(VerificationEvent.id))) == [
            "malformed",
            "not_found",
        ]
    writer.close()
    engine.dispose()
