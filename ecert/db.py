"""Database plumbing: the declarative base, one engine per app, and the unit of work.

A request (``api``) or a command (``ecert.cli``) owns one unit of work: it commits when the work
succeeded and rolls back otherwise; services only add and flush. A failure whose writes are
records of the failure itself (a wrong password, a spent step-up code) says so with
:func:`keep_on_failure`, or by raising ``ecert.errors.PersistentFailure`` at the HTTP edge.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, Engine, MetaData, Select, create_engine, event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend.

    SQLite has no time zones and hands back naive values; storing naive UTC and re-attaching
    UTC on the way out keeps comparisons in services correct on both databases.
    """

    impl = DateTime
    cache_ok = True

    # ``dialect`` is unused, but the name is TypeDecorator's signature.
    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 5)
        kwargs.setdefault("max_overflow", 5)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; take it over so
    # SQLite behaves like PostgreSQL for our transactions (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is still crash-safe for the database (a power cut may lose the last
        # commits, never corrupt); FULL's fsync per commit is the biggest cost of a verification.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two workers never deadlock upgrading
        # a read lock; our requests that begin a transaction almost always write. A unit of
        # work that said it only reads (``reads_only``) begins nothing: each of its statements
        # is its own snapshot, and it never waits for (nor holds) the write lock.
        if not conn.get_execution_options().get(_READS_ONLY):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


_READS_ONLY = "ecert_reads_only"


def reads_only(session: Session) -> None:
    """Declare, before its first statement, that this unit of work writes nothing and needs no
    snapshot across its statements (a verification: one status query, its event batched).

    Its statements run without a transaction: no BEGIN and COMMIT round trips on PostgreSQL
    (autocommit), no write lock on SQLite, so checks never queue behind each other or behind a
    batch being written.
    """
    options: dict[str, Any] = {_READS_ONLY: True}
    if session.get_bind().dialect.name != "sqlite":
        options["isolation_level"] = "AUTOCOMMIT"
    try:
        session.connection(execution_options=options)
        session.info[_READS_ONLY] = True
    except SQLAlchemyError as exc:
        # The database cannot be reached: the work goes on without these options and meets the
        # outage where it needs the database (a check then fails closed; junk is still junk).
        log.warning("reading connection not opened: %s", type(exc).__name__)
        session.rollback()


class ReadingSessions:
    """One ``reads_only`` session per thread, kept from one check to the next.

    A check reads one row; opening a session, checking a connection out of the pool and putting
    it back cost more than the read (~120 µs of a ~1 ms verification). A reads-only session
    holds no transaction, no snapshot and no lock between statements (autocommit on
    PostgreSQL, no BEGIN on SQLite), so keeping it costs nothing but its connection: each
    statement still sees the latest committed state, and a revocation is seen at once.

    ``release`` ends a unit of work: the session forgets every object it loaded (an object kept
    would be returned as it was, not re-read: a disabled organisation must be seen as disabled),
    and after a database failure, or any write, the session and its connection are dropped and
    the next check opens fresh ones.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._local = threading.local()

    def get(self) -> Session:
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._sessions()
            reads_only(session)
            self._local.session = session
        return session

    def release(self, *, failed: bool) -> None:
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            return
        if failed or not _only_read(session):
            self._local.session = None
            discard(session)
            return
        session.expunge_all()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


log = logging.getLogger(__name__)

# session.info keys: set during the work, read (and cleared) when it ends.
_KEEP_ON_FAILURE = "ecert.keep_on_failure"
_BEST_EFFORT = "ecert.best_effort_commit"


def keep_on_failure(session: Session) -> None:
    """Commit this unit of work even though it ends in failure: what it wrote so far records
    the failure (a throttle row, a lockout, a spent code) and must outlive the answer."""
    session.info[_KEEP_ON_FAILURE] = True


def commit_is_best_effort(session: Session) -> None:
    """A failed commit of this unit of work is logged, not answered: its writes are a log
    (a verification event) that must never withhold the answer it describes."""
    session.info[_BEST_EFFORT] = True


def end_unit_of_work(session: Session, *, succeeded: bool) -> None:
    """Commit when the work succeeded (or kept its failure), roll back otherwise.

    A failed commit raises, unless the work said its commit is best effort: then it is rolled
    back and logged.
    """
    keep = session.info.pop(_KEEP_ON_FAILURE, False)
    best_effort = session.info.pop(_BEST_EFFORT, False)
    if _only_read(session):
        # No transaction was begun (each statement committed itself): nothing to commit.
        return
    if not (succeeded or keep):
        session.rollback()
        return
    try:
        session.commit()
    except SQLAlchemyError as exc:
        if not best_effort:
            raise
        log.error("best-effort commit failed (%s); its writes are lost", type(exc).__name__)
        discard(session)


def _only_read(session: Session) -> bool:
    """Whether ``session`` was declared ``reads_only`` and has written nothing through the ORM
    (a Core statement on its connection committed itself: autocommit)."""
    return bool(session.info.get(_READS_ONLY)) and not (session.new or session.dirty or session.deleted)


def discard(session: Session) -> None:
    """Roll back and close; a connection that died under us is dropped from the pool instead."""
    try:
        if not _only_read(session):
            session.rollback()
        session.close()
        session.info.pop(_READS_ONLY, None)
    except SQLAlchemyError as exc:
        log.warning("session cleanup failed: %s", type(exc).__name__)
        session.invalidate()


class HasSessions(Protocol):
    """Anything that makes the app's sessions (``ecert.wiring.Resources``)."""

    @property
    def sessionmaker(self) -> sessionmaker[Session]: ...


@contextmanager
def unit_of_work(resources: HasSessions) -> Iterator[Session]:
    """``with unit_of_work(resources) as session:`` commits when the block ends normally and rolls
    back when it raises (unless the work kept its failure): a command's one transaction."""
    session = resources.sessionmaker()
    try:
        try:
            yield session
        except BaseException:
            end_unit_of_work(session, succeeded=False)
            raise
        end_unit_of_work(session, succeeded=True)
    finally:
        discard(session)


_SIDE_ENGINES: dict[str, Engine] = {}


def side_engine(engine: Engine) -> Engine | None:
    """A small pool beside ``engine``'s, for a tiny write of its own that must not wait for, or
    hold locks in, the caller's transaction (the certificate serial): autocommit connections on
    PostgreSQL; on SQLite an engine built by :func:`make_engine`, so with the same pragmas, busy
    timeout and ``BEGIN IMMEDIATE``.

    Separate on purpose: a transaction that needs a second connection from its own pool while
    other requests hold all of them (waiting on a row it has locked) would deadlock the pool.
    None for an in-memory SQLite database: a second connection would open another, empty one.
    """
    url = engine.url
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and (not url.database or url.database == ":memory:" or url.query.get("mode") == "memory"):
        return None
    key = url.render_as_string(hide_password=False)
    side = _SIDE_ENGINES.get(key)
    if side is None:
        if sqlite:
            side = make_engine(key, pool_size=1, max_overflow=4)
        else:
            side = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=4, pool_pre_ping=True)
        _SIDE_ENGINES[key] = side
    return side


def in_sqlite_transaction(session: Session) -> bool:
    """Whether the session's SQLite connection is inside a transaction (so holds the write lock,
    every transaction beginning IMMEDIATE); a ``reads_only`` session is not. Connects the session
    if it was not yet."""
    return bool(session.connection().connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]


class CursorStatement:
    """A Core statement compiled once per dialect and run on the DBAPI cursor of a session's
    own connection (its transaction, its isolation), with the column types' own bind and result
    conversions.

    For the statements every verification runs (the status query, the log's batched INSERTs):
    SQLAlchemy's per-execution work (the statement's cache key, an execution context, result
    metadata, a Row; per-row default and parameter processing in an executemany) costs ~20 µs
    in a tight loop and 50–70 µs inside a request, more than the indexed read itself
    (bench/results/verification-status-2026-11-30.md). Statements with expanding (``IN``) or
    literal-rendered parameters are refused: their SQL is not fixed at compile time.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    @contextmanager
    def _cursor(self, session: Session) -> Iterator[tuple[Any, _Compiled]]:
        """A cursor of the session's connection and the statement compiled for its database. A
        driver error comes out as SQLAlchemy's (``DBAPIError`` and its subclasses), as from any
        other statement, and a lost connection is invalidated, as SQLAlchemy would: callers
        (the batch writer keeps a refused batch on ``SQLAlchemyError``; the request edge answers
        503) must not tell the two paths apart."""
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled.setdefault(dialect.name, _Compiled(self.statement, dialect))
        driver_error = dialect.loaded_dbapi.Error
        cursor = connection.connection.cursor()
        try:
            yield cursor, compiled
        except driver_error as error:
            lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(
                compiled.sql, None, error, driver_error, connection_invalidated=lost, dialect=dialect
            ) from error
        finally:
            with suppress(Exception):  # a cursor of a lost connection may fail to close
                cursor.close()

    def first(self, session: Session, **params: Any) -> tuple[Any, ...] | None:
        """The first row of a SELECT (each value converted by its column's type), or None."""
        with self._cursor(session) as (cursor, compiled):
            cursor.execute(compiled.sql, compiled.parameters(params))
            row = cursor.fetchone()
        if row is None:
            return None
        return tuple(
            value if convert is None else convert(value) for convert, value in zip(compiled.results, row, strict=True)
        )

    def execute(self, session: Session, **params: Any) -> None:
        """Run a statement that returns no rows (an INSERT … SELECT of a whole batch)."""
        with self._cursor(session) as (cursor, compiled):
            cursor.execute(compiled.sql, compiled.parameters(params))

    def execute_many(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """Run the statement once per parameter set (an INSERT of a batch), in one call."""
        if not rows:
            return
        with self._cursor(session) as (cursor, compiled):
            cursor.executemany(compiled.sql, [compiled.parameters(row) for row in rows])


class _Compiled:
    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a CursorStatement needs SQL fixed at compile time (no IN lists, no literal parameters)")
        self.sql: str = compiled.string
        self.positions: list[str] | None = list(compiled.positiontup) if compiled.positional else None
        self.binds = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        # Values the statement carries itself (``literal(...)``), converted once.
        self.fixed = self._converted({name: bind.value for name, bind in compiled.binds.items() if not bind.required})
        selected = statement.selected_columns if isinstance(statement, Select) else ()
        self.results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected]

    def _converted(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            name: value if (convert := self.binds.get(name)) is None else convert(value)
            for name, value in params.items()
        }

    def parameters(self, params: dict[str, Any]) -> Any:
        converted = self._converted(params)
        if self.fixed:
            converted = {**self.fixed, **converted}
        if self.positions is None:
            return converted
        return tuple(converted[name] for name in self.positions)
