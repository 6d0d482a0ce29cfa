"""Writes that may wait a moment: items queued by requests, written in batches by a thread.

The verification log is the one user (DESIGN §7: every verification is logged; issue 13: batched
writes are fine). A check answered in ~1 ms must not pay for an INSERT and a COMMIT of its own
(on SQLite a commit is a write lock and an fsync-free WAL append, on PostgreSQL a round trip and a
WAL flush); a batch of a few hundred rows costs about what one row did.

What is promised (docs/operations.md):

* a queued item is written within ``interval`` seconds (plus the time batches take to write,
  milliseconds), in one transaction per batch: each round writes what was queued when it began;
* a graceful stop (SIGTERM to gunicorn, a worker recycled) writes everything queued first
  (``close_all`` from gunicorn's ``worker_exit`` hook, and at interpreter exit);
* ``kill -9`` loses at most what was queued since the last batch: the last ``interval`` seconds
  (and the batch being written);
* a database that fails keeps the batch queued and retries next round; past ``max_pending`` the
  oldest items are dropped and counted (a log that cannot be written must never stop the checks
  it describes).

One writer thread per process, started on the first item (after gunicorn's fork, never before).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ecert.db import discard

log = logging.getLogger(__name__)

T = TypeVar("T")

_WRITERS: weakref.WeakSet[BatchedWriter[object]] = weakref.WeakSet()


class BatchedWriter(Generic[T]):
    """Queue items from any thread; a background thread writes them with ``write(session, items)``
    and commits, every ``interval`` seconds (sooner once ``max_batch`` items wait)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        write: Callable[[Session, Sequence[T]], None],
        *,
        interval: float,
        name: str,
        max_batch: int = 1000,
        max_pending: int = 100_000,
    ) -> None:
        if interval <= 0:
            raise ValueError("a batched writer needs an interval above 0")
        self.sessions = sessions
        self.write = write
        self.interval = interval
        self.name = name
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.dropped = 0  # items given up on (queue full while the database failed)
        self.written = 0
        self._pending: deque[T] = deque()
        self._lock = threading.Lock()  # one batch written at a time (thread or flush())
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._starting = threading.Lock()
        _WRITERS.add(self)  # type: ignore[arg-type]

    def submit(self, item: T) -> None:
        """Queue ``item``; never blocks on the database."""
        if self._pid != os.getpid():
            self._start()
        self._pending.append(item)
        overflow = len(self._pending) - self.max_pending
        if overflow > 0:
            for _ in range(overflow):
                self._pending.popleft()
            self.dropped += overflow
            log.error("%s: %d queued items dropped (the database has not accepted them)", self.name, overflow)
        if len(self._pending) >= self.max_batch:
            self._wake.set()

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write everything queued now, from the calling thread; returns how many were written."""
        return self._write_batches(None)

    def _write_batches(self, due: int | None) -> int:
        """Write batches of at most ``max_batch`` until ``due`` items are written (None: until the
        queue is empty, what arrives meanwhile included); returns how many were written.

        The thread's round passes what was queued when it began, so what arrives meanwhile waits
        for the next round: under load checks keep arriving while a batch is written, and a round
        that went on until the queue was empty wrote a batch (a transaction, a commit) every few
        checks and never slept, which cost a check several times what its row did (issue 13).
        """
        total = 0
        while self._pending and (due is None or total < due):
            written = self._write_batch(self.max_batch if due is None else min(self.max_batch, due - total))
            if written == 0:
                break
            total += written
        return total

    def close(self) -> None:
        """Stop the thread and write what is queued (a graceful stop loses nothing)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout=10)
        self.flush()

    def _start(self) -> None:
        # After a fork the parent's thread does not exist here: start this process's own (the
        # parent's queued items are the parent's to write).
        with self._starting:
            if self._pid == os.getpid():
                return
            self._pending = deque()
            self._lock = threading.Lock()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"ecert-{self.name}", daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self._write_batches(len(self._pending))
            except Exception:  # noqa: BLE001 - the thread must outlive any one bad batch
                log.exception("%s: batch write failed", self.name)

    def _write_batch(self, limit: int) -> int:
        with self._lock:
            batch: list[T] = []
            while self._pending and len(batch) < limit:
                batch.append(self._pending.popleft())
            if not batch:
                return 0
            session = self.sessions()
            try:
                self.write(session, batch)
                session.commit()
            except SQLAlchemyError as exc:
                # Put the batch back in front, in order: the next round tries again.
                self._pending.extendleft(reversed(batch))
                log.error("%s: %d items not written yet (%s)", self.name, len(batch), type(exc).__name__)
                return 0
            finally:
                discard(session)
            self.written += len(batch)
            return len(batch)


def close_all() -> None:
    """Write what every writer of this process has queued (gunicorn's worker_exit, atexit)."""
    for writer in list(_WRITERS):
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - one writer's failure must not stop the others' flush
            log.exception("%s: final flush failed", writer.name)


atexit.register(close_all)
