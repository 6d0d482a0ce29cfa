"""Bounded PDF checks: junk costs microseconds, and no upload can hold a web worker for long.

Checking a PDF signature is CPU-bound (pyHanko parses the file, hashes the signed ranges and
validates the chain). Measured before this module existed: 10 MB of junk cost ~3.5 s of CPU in a
web worker, and four clients uploading for 15 s took ``/healthz`` from 3 ms to 8 s on two sync
workers. So an upload goes through three gates (DESIGN §7):

1. :func:`structural_verdict` — microseconds, in the web worker: a ``%PDF-`` header, a ``%%EOF``
   near the end, and the ``/ByteRange`` and ``/EcertToken`` markers every certificate of ours
   carries in plain bytes (the signature dictionary is never compressed: its ``/Contents`` is
   patched in place after the bytes are hashed). Anything without them is answered here with the
   verdict the full check would give, without parsing a byte of PDF structure.
2. a **host-wide slot** (:class:`Slots`): ``pdf_check_slots`` lock files in the instance dir,
   taken with a non-blocking ``flock``. No free slot: :class:`CheckBusy` (the edge answers 503
   with ``Retry-After``), never a queue that piles up behind a hostile client. The kernel releases
   a slot when its holder dies, so a crashed worker never leaks one.
3. the **real check in a child process** that is killed at the deadline (``pdf_check_seconds``):
   threads cannot be stopped, processes can. Children are forked from a ``forkserver`` that has
   pyHanko imported already and are kept warm between checks (one per concurrent check of this
   web worker), so a check pays a pipe round trip, not an interpreter start. The certificate's
   status is still read from the web worker's database session: the child asks over the pipe.

A check stopped at the deadline is the verdict ``malformed`` with reason ``pdf_too_complex``: our
certificates are checked in a small fraction of the limit, so a file that needs more is not one of
them (see docs/verification-service.md for why not a 503).

No flask here: the service layer calls it, the edge maps :class:`CheckBusy` to the problem.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from ecert.errors import ServiceUnavailable
from verification import (
    CertificateStatus,
    Check,
    PublicFields,
    StatusLookup,
    StatusUnavailable,
    TrustList,
    VerificationResult,
)

log = logging.getLogger(__name__)

#: Where the markers are looked for: readers accept a header in the first KiB and a ``%%EOF`` in
#: the last KiB (trailing whitespace or junk after it is common and harmless).
HEADER_WINDOW: Final = 1024
EOF_WINDOW: Final = 1024

#: The child's address-space cap: a flate bomb inside a 1 MiB file must not take the host's
#: memory with it. A genuine check needs well under this (measured: ~150 MiB of address space).
CHILD_ADDRESS_SPACE: Final = 1024 * 1024 * 1024

#: Log records a child may hand back per check (pyHanko can be chatty about broken files).
MAX_CHILD_LOG_RECORDS: Final = 20

_OK: Final = Check(True, "ok")


class CheckBusy(ServiceUnavailable):
    """Every PDF check slot on this host is taken: try again later (503 with Retry-After)."""

    code = "verification_busy"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


# --- gate 1: structure, in microseconds ----------------------------------------------------------


def structural_verdict(data: bytes, now: datetime, max_bytes: int) -> VerificationResult | None:
    """The verdict on a file that cannot be one of ours by its bytes alone, else None.

    The same verdicts :func:`verification.verify_pdf` gives these files, without parsing them:
    no header -> ``not_pdf``; no ``%%EOF`` -> ``pdf_unreadable``; neither signature nor token ->
    ``unsigned_pdf``; a token but no signature -> ``tampered`` (ours are always signed); a
    signature but no token -> ``no_token`` (someone else's signed PDF).
    """
    if not data:
        return VerificationResult("malformed", {"format": Check(False, "empty")}, checked_at=now)
    if len(data) > max_bytes:
        return VerificationResult("malformed", {"format": Check(False, "too_large")}, checked_at=now)
    if b"%PDF-" not in data[:HEADER_WINDOW]:
        return VerificationResult("malformed", {"format": Check(False, "not_pdf")}, checked_at=now)
    if b"%%EOF" not in data[-EOF_WINDOW:]:
        return VerificationResult("malformed", {"format": Check(False, "pdf_unreadable")}, checked_at=now)
    signed = b"/ByteRange" in data
    claims_ours = b"/EcertToken" in data
    if not signed and not claims_ours:
        return VerificationResult("malformed", {"format": Check(False, "unsigned_pdf")}, checked_at=now)
    if not signed:
        return VerificationResult(
            "tampered", {"format": _OK, "signature": Check(False, "unsigned_pdf")}, checked_at=now
        )
    if not claims_ours:
        return VerificationResult("malformed", {"format": Check(False, "no_token")}, checked_at=now)
    return None


# --- gate 2: host-wide slots ------------------------------------------------------------------------


class Slots:
    """At most ``count`` holders at once across every process of the host that shares ``folder``.

    One lock file per slot, ``flock``-ed without blocking. flock locks belong to the open file, so
    two threads of one process compete like two processes do.
    """

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = Path(folder)
        self.count = max(1, int(count))

    def path(self, index: int) -> Path:
        return self.folder / f"slot-{index}.lock"

    def try_acquire(self) -> int | None:
        """An open, locked descriptor for a free slot, or None when all are taken."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # Start at a different slot per process so that holders spread over the files.
        first = os.getpid() % self.count
        for step in range(self.count):
            fd = os.open(self.path((first + step) % self.count), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    continue
                raise
            return fd
        return None

    @contextmanager
    def hold(self, retry_after: int) -> Iterator[None]:
        fd = self.try_acquire()
        if fd is None:
            raise CheckBusy(retry_after)
        try:
            yield
        finally:
            os.close(fd)  # closing the last descriptor of the open file releases the lock


# --- gate 3: the child process ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrustSource:
    """What a child needs to build the trust list itself (parsed objects do not cross a pipe).

    ``key`` changes exactly when the document does, so a child parses each list once.
    """

    key: bytes
    document: Mapping[str, Any]
    root_der: bytes | None


def _pack(result: VerificationResult) -> dict[str, Any]:
    certificate = result.certificate
    return {
        "outcome": result.outcome,
        "checks": {name: (check.ok, check.reason) for name, check in result.checks.items()},
        "certificate": None
        if certificate is None
        else {f.name: getattr(certificate, f.name) for f in fields(PublicFields)},
        "checked_at": result.checked_at,
        "kid": result.kid,
        "cti": result.cti,
    }


def _unpack(packed: Mapping[str, Any]) -> VerificationResult:
    certificate = packed["certificate"]
    return VerificationResult(
        outcome=packed["outcome"],
        checks={name: Check(ok, reason) for name, (ok, reason) in packed["checks"].items()},
        certificate=None if certificate is None else PublicFields(**certificate),
        checked_at=packed["checked_at"],
        kid=packed["kid"],
        cti=packed["cti"],
    )


class _Collect(logging.Handler):
    """Keeps a child's log records (level, logger, message) to hand back to the parent.

    Tracebacks are dropped on purpose: the parent logs one line per record, and a hostile file
    must not be able to fill the log with stack dumps.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < MAX_CHILD_LOG_RECORDS:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string in someone's log call
                message = str(record.msg)
            self.records.append((record.levelno, record.name, message[:500]))


class _PipeStatus:
    """The child's status lookup: asks the parent, which reads its database."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __call__(self, cti: bytes) -> CertificateStatus:
        self.conn.send(("status", bytes(cti)))
        answer = self.conn.recv()
        if answer[0] == "status":
            status: CertificateStatus = answer[1]
            return status
        raise StatusUnavailable("the status could not be read")


# A PDF check is background work next to the web workers: on a small host, a child busy with a
# pathological file must lose the CPU to /healthz and token checks, never the other way round.
CHILD_NICENESS = 10


def _limit_child() -> None:
    try:
        os.nice(CHILD_NICENESS)
    except OSError:
        pass
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = CHILD_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(hard, CHILD_ADDRESS_SPACE)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def _child_main(conn: Connection) -> None:
    """A warm checker: one request at a time from its parent, until the pipe closes."""
    _limit_child()
    collect = _Collect()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(collect)
    root.setLevel(logging.INFO)
    from verification.pdf import verify_pdf

    cached: tuple[bytes, TrustList] | None = None
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        data, source, now, max_bytes = job
        collect.records = []
        if cached is None or cached[0] != source.key:
            cached = (source.key, TrustList.from_json(source.document, root=source.root_der))
        result = verify_pdf(data, cached[1], _PipeStatus(conn), now=now, max_bytes=max_bytes)
        conn.send(("result", _pack(result), collect.records))


#: Imported once in the fork server, so that every child starts with pyHanko loaded.
_PRELOAD: Final = [
    "ecert.pdfcheck",
    "verification.pdf",
    "pyhanko.pdf_utils.reader",
    "pyhanko.sign.validation",
    "pyhanko.sign.diff_analysis",
    "pyhanko_certvalidator",
]

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(_PRELOAD)


class _Child:
    def __init__(self) -> None:
        parent_end, child_end = _CONTEXT.Pipe(duplex=True)
        self.process = _CONTEXT.Process(target=_child_main, args=(child_end,), name="ecert-pdfcheck", daemon=True)
        self.process.start()
        child_end.close()
        self.conn = parent_end
        self.exitcode: int | None = None

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if self.process.is_alive():
            self.process.kill()
        self.process.join(2)
        self.exitcode = self.process.exitcode
        try:
            self.process.close()
        except ValueError:  # still running after SIGKILL and 2 s: the OS reaps it later
            pass


class _Pool:
    """Warm children of this process. Process-wide (not per app): children hold no app state."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._pid = os.getpid()
        self.started = 0  # how many children this process started (tests and benchmarks read it)
        self.killed = 0

    def _check_fork(self) -> None:
        # A forked copy of a process must not talk to its parent's children.
        if self._pid != os.getpid():
            self._idle = []
            self._pid = os.getpid()

    def take(self) -> _Child:
        with self._lock:
            self._check_fork()
            while self._idle:
                child = self._idle.pop()
                if child.alive():
                    return child
                child.stop()
            self.started += 1
        return _Child()

    def give(self, child: _Child) -> None:
        with self._lock:
            self._check_fork()
            if child.alive() and len(self._idle) < self.keep:
                self._idle.append(child)
                return
        child.stop()

    def discard(self, child: _Child) -> None:
        self.killed += 1
        child.stop()

    def warm(self) -> None:
        """Start one child now (and the fork server with it), so the first upload does not pay."""
        self.give(self.take())

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.stop()


POOL: Final = _Pool()


def warm() -> None:
    POOL.warm()


class PdfChecker:
    """The three gates, configured: ``slots`` checks at once on the host, ``seconds`` each."""

    def __init__(self, slot_dir: Path, slots: int, seconds: float, pool: _Pool = POOL) -> None:
        self.slots = Slots(slot_dir, slots)
        self.seconds = float(seconds)
        self.pool = pool

    @property
    def retry_after(self) -> int:
        # A slot frees within one time limit at worst; a genuine check frees it far sooner.
        return max(1, math.ceil(self.seconds))

    def check(
        self,
        data: bytes,
        source: TrustSource,
        status_lookup: StatusLookup,
        now: datetime,
        max_bytes: int,
    ) -> VerificationResult:
        """The verdict on ``data``. Raises :class:`CheckBusy` when no slot is free."""
        early = structural_verdict(data, now, max_bytes)
        if early is not None:
            return early
        with self.slots.hold(self.retry_after):
            return self._run(data, source, status_lookup, now, max_bytes)

    def _run(
        self, data: bytes, source: TrustSource, status_lookup: StatusLookup, now: datetime, max_bytes: int
    ) -> VerificationResult:
        """One check in a child process, within the time limit; the child goes back to the pool
        only after a clean answer."""
        deadline = time.monotonic() + self.seconds
        child = self.pool.take()
        try:
            try:
                child.conn.send((data, source, now, max_bytes))
            except (OSError, ValueError):
                # It died while idle (killed from outside): one fresh child, once.
                self.pool.discard(child)
                child = self.pool.take()
                child.conn.send((data, source, now, max_bytes))
            result = self._converse(child, deadline, status_lookup, len(data))
        except BaseException:
            # Anything unexpected here (the worker being stopped, say): never reuse a child
            # that may be half-way through a check.
            self.pool.discard(child)
            raise
        if isinstance(result, str):
            self.pool.discard(child)
            return VerificationResult("malformed", {"format": Check(False, result)}, checked_at=now)
        packed, records = result
        self.pool.give(child)
        for level, name, text in records:
            logging.getLogger(name).log(level, "%s", text)
        return _unpack(packed)

    def _converse(
        self,
        child: _Child,
        deadline: float,
        status_lookup: StatusLookup,
        size: int,
    ) -> tuple[dict[str, Any], list[tuple[int, str, str]]] | str:
        """The child's answer, serving its status questions meanwhile, or why there is none."""
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and child.conn.poll(remaining)
                message = child.conn.recv() if ready else None
            except (EOFError, OSError):
                log.warning("PDF check process died (exit code %s)", child.process.exitcode)
                return "internal_error"
            if message is None:
                log.warning("PDF check stopped at its time limit (%g s, %d bytes)", self.seconds, size)
                return "pdf_too_complex"
            if message[0] == "status":
                try:
                    answer: tuple[Any, ...] = ("status", status_lookup(message[1]))
                except Exception as exc:  # noqa: BLE001 - the lookup fails closed: "unavailable"
                    log.info("status lookup for a PDF check failed: %s", type(exc).__name__)
                    answer = ("unavailable",)
                child.conn.send(answer)
                continue
            _, packed, records = message
            return packed, records
