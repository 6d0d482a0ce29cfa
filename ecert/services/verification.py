"""Verification on the server: the issuer's answers to the pure verifier in ``verification/``.

The verifier decides (format, issuer, signature, signer status); this module supplies what only
the issuer knows and keeps the record:

* the **status** of a certificate by its ``cti``, read from the database on every verification
  (no cache: a revocation is visible to the very next check), with the stored content digest so
  a token that does not describe the certificate on record is ``tampered``;
* the **number + verification code** lookup for the paper channel. A wrong code answers exactly
  like an unknown number (``not_found``, same checks): the answer never reveals that a number
  exists. No other lookup exists (no name, no personal ID: DESIGN §7);
* the **trust list**, parsed once per change of the ``signing_keys`` table (parsing checks every
  chain, ~9 ms). The table's fingerprint is read at most once a second per process; in between,
  the status query reads the state of the certificate's own signing key (a join, no extra round
  trip), and a key state that differs from the list's — or a kid the list does not know — makes
  the list be read again and the token checked again. So a revoked key is still seen by the very
  next check of a certificate it signed, and every other change within a second;
* a :class:`~ecert.models.VerificationEvent` per verification: certificate (only once the
  signature verified), time, channel, outcome. No IP, no user agent.

Plain functions taking a Session: no flask, never a commit (the view commits once).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import String, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from ecert.db import CursorStatement, UTCDateTime, utcnow
from ecert.models import Certificate, SigningKey, VerificationEvent
from ecert.pdfcheck import PdfChecker, TrustSource, structural_verdict
from ecert.services import outbox
from ecert.services.audit import Actor, record
from ecert.services.issuance import CODE_LENGTH, normalise_code
from ecert.services.paging import Ordering, Page, keyset_page
from verification import (
    CertificateStatus,
    Check,
    MalformedToken,
    StatusUnavailable,
    TrustList,
    TrustListError,
    VerificationResult,
    decode_token,
    verify_token,
)

if TYPE_CHECKING:
    from ecert.keystore import Keystore

log = logging.getLogger(__name__)

Channel = Literal["qr", "page", "code", "pdf", "share"]
CHANNELS: Final[tuple[str, ...]] = ("qr", "page", "code", "pdf", "share")

#: Longest certificate number looked up (the column is 32 characters); longer is simply unknown.
MAX_NUMBER_LENGTH: Final = 32

# Compared against when the number is unknown, so that an unknown number and a wrong code cost
# the same constant-time comparison (the code alphabet never contains "*").
_NO_CODE: Final = "*" * CODE_LENGTH

_OK: Final = Check(True, "ok")


# --- status by cti ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A certificate's id and its status as the verifier wants it, with its signing key's
    state in the database (to find a trust list older than a key revocation)."""

    certificate_id: str
    status: CertificateStatus
    kid: str = ""
    key_status: str = ""


# Core statements on the session's connection: the ORM layer adds ~100 µs a query for nothing
# here (plain columns, no objects), and these run on every verification. The status query runs
# on the session's DBAPI cursor (``CursorStatement``): even Core's execution costs more than the read.
_STATUS_BY_CTI = CursorStatement(
    select(
        Certificate.id,
        Certificate.status,
        Certificate.content_digest,
        Certificate.revoked_at,
        Certificate.revocation_reason,
        Certificate.kid,
        SigningKey.status.label("key_status"),
    )
    .join(SigningKey, SigningKey.kid == Certificate.kid)
    .where(Certificate.cti == bindparam("cti"))
)


def find_status(session: Session, cti: bytes) -> StatusRecord | None:
    """The certificate with this ``cti`` (its public id), or None. Reads the database every time.

    Only the columns the verdict needs: the row also holds the PDF, which must not be loaded
    on the hot path.
    """
    row = _STATUS_BY_CTI.first(session, cti=cti)
    if row is None:
        return None
    certificate_id, status, digest, revoked_at, reason, kid, key_status = row
    # Anything but "valid" reads as revoked: fail closed on a status this code does not know.
    state: Literal["valid", "revoked"] = "valid" if status == "valid" else "revoked"
    return StatusRecord(
        certificate_id,
        CertificateStatus(
            state,
            revoked_at=revoked_at if state == "revoked" else None,
            reason=reason if state == "revoked" else None,
            digest=bytes(digest),
        ),
        kid=kid,
        key_status=str(key_status),
    )


class DatabaseStatusLookup:
    """The ``status_lookup`` the verifier calls, answered from the database.

    Remembers the certificate id of each cti it found (for the verification event) and whether
    the database failed (the caller must then roll the session back before writing the event:
    on PostgreSQL a failed statement aborts the whole transaction).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.certificate_ids: dict[bytes, str] = {}
        # kid (hex) -> the key's status in the database, for each certificate found.
        self.key_states: dict[str, str] = {}
        self.failed = False

    def __call__(self, cti: bytes) -> CertificateStatus:
        try:
            record = find_status(self.session, cti)
        except Exception as exc:  # the database, or a bug: either way the status is unknown
            self.failed = True
            log.warning("certificate status lookup failed: %s", type(exc).__name__)
            raise StatusUnavailable("certificate status could not be read") from exc
        if record is None:
            return CertificateStatus("not_found")
        self.certificate_ids[cti] = record.certificate_id
        self.key_states[record.kid] = record.key_status
        return record.status

    def contradicts(self, trust: TrustList) -> bool:
        """Whether the database knows a signing-key state that ``trust`` does not say."""
        for kid_hex, state in self.key_states.items():
            key = trust.get(bytes.fromhex(kid_hex))
            if key is None or key.status != state:
                return True
        return False


class _Unavailable:
    """A status lookup for when the trust list could not be read fresh: never valid."""

    def __call__(self, _cti: bytes) -> CertificateStatus:
        raise StatusUnavailable("signing keys could not be read")


# --- the trust list, parsed once per change ---------------------------------------------------------


_KEY_STATES = select(
    SigningKey.kid,
    SigningKey.status,
    SigningKey.revoked_at,
    SigningKey.not_before,
    SigningKey.not_after,
).order_by(SigningKey.kid)


def _keys_fingerprint(session: Session, issuer: str, root_fingerprint: bytes) -> bytes:
    """A hash of everything the trust-list document is built from.

    The document (Keystore.trust_list) is a pure function of the keys' rows, the issuer id and
    the root, so this changes exactly when the document does. The certificate PEM itself is left
    out: a kid *is* the hash of its certificate (DESIGN §6), so no certificate changes under a kid.
    Hashing the document instead would first require building it, which parses every
    certificate (~150 µs a key, more than verifying a token); this is one small query.
    """
    # Core execution on the session's connection (same transaction): the ORM layer would more
    # than double the cost of a query run on every verification.
    rows = session.connection().execute(_KEY_STATES).all()
    return hashlib.sha256(repr((issuer, root_fingerprint, [tuple(row) for row in rows])).encode()).digest()


class TrustListCache:
    """The parsed :class:`verification.TrustList`, rebuilt only when the keys table changes.

    Per process (each worker keeps its own; nothing another worker needs). The keys table is
    read on every call, so a key retired or revoked by another worker or host is honoured by
    the very next verification. No lock: two threads rebuilding at once both produce the same
    list and the last assignment wins.
    """

    def __init__(self, keystore: Keystore, *, max_age: float = 1.0) -> None:
        self.keystore = keystore
        self.max_age = max_age
        self._entry: tuple[bytes, TrustList, TrustSource] | None = None
        self._checked = -float("inf")  # time.monotonic() of the last fingerprint read
        self._root: tuple[object, bytes] | None = None  # (root certificate, its SHA-256)
        self.rebuilds = 0  # how many times the list was parsed (tests and benchmarks read it)

    def _root_fingerprint(self) -> bytes:
        root = self.keystore.root_certificate
        if root is None:
            raise TrustListError("the root certificate is not loaded")
        # The root is loaded once per process; hashing it per verification cost ~0.1 ms.
        cached = self._root
        if cached is None or cached[0] is not root:
            cached = self._root = (root, root.fingerprint(hashes.SHA256()))
        return cached[1]

    def get(self, session: Session, *, fresh: bool = True) -> TrustList:
        """The current trust list. Raises when the keys cannot be read or there is no root.

        ``fresh=False`` accepts a list whose fingerprint was read less than ``max_age`` seconds
        ago (the caller then checks the answer against the key states it reads: see
        :func:`verify_text`).
        """
        entry = self._entry
        now = time.monotonic()
        if not fresh and entry is not None and now - self._checked < self.max_age:
            return entry[1]
        key = _keys_fingerprint(session, self.keystore.settings.issuer_id, self._root_fingerprint())
        self._checked = now
        if entry is not None and entry[0] == key:
            return entry[1]
        # A key change between the fingerprint and this read only stores a newer list under an
        # older key: the next call sees a different fingerprint and rebuilds. Never stale.
        document = self.keystore.trust_list(session)
        root = self.keystore.root_certificate
        trust = TrustList.from_json(document, root=root)
        # Kept for the PDF checker's child processes, which build their own (parsed objects do
        # not cross a pipe) and reparse only when the key changes.
        root_der = root.public_bytes(serialization.Encoding.DER) if root is not None else None
        self._entry = (key, trust, TrustSource(key, document, root_der))
        self.rebuilds += 1
        return trust

    def source_of(self, trust: TrustList) -> TrustSource | None:
        """The document ``trust`` was built from, when it is the list held now."""
        entry = self._entry
        return entry[2] if entry is not None and entry[1] is trust else None

    @property
    def last(self) -> TrustList | None:
        """The last list built, for when the keys table cannot be read."""
        return self._entry[1] if self._entry is not None else None


# --- verifying --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """A verdict and what the server needs to record it."""

    result: VerificationResult
    certificate_id: str | None = None
    # True when a database statement failed: roll back before writing anything.
    database_failed: bool = False


def _trust(session: Session, trust_lists: TrustListCache, *, fresh: bool = True) -> tuple[TrustList | None, bool]:
    """(trust list, whether it could be read). An unreadable or missing list never yields "valid"."""
    try:
        return trust_lists.get(session, fresh=fresh), True
    except Exception as exc:  # noqa: BLE001 - database down, root missing, list unreadable: fail closed
        log.warning("trust list unavailable: %s", type(exc).__name__)
        return trust_lists.last, False


def _unavailable_result(text: str, now: datetime) -> VerificationResult:
    """No trust list at all: still call junk junk, but nothing genuine can be confirmed."""
    try:
        decode_token(text)
    except MalformedToken as exc:
        return VerificationResult("malformed", {"format": Check(False, exc.reason)}, checked_at=now)
    return VerificationResult(
        "status_unavailable", {"format": _OK, "status": Check(False, "unavailable")}, checked_at=now
    )


def _finish(result: VerificationResult, lookup: DatabaseStatusLookup, fresh: bool) -> Verification:
    # The certificate is named only once its signature verified (the library sets cti only
    # then), so a forged token can never log a check against someone else's certificate.
    certificate_id = lookup.certificate_ids.get(result.cti) if result.cti is not None else None
    return Verification(result, certificate_id, lookup.failed or not fresh)


def _list_behind(result: VerificationResult, lookup: DatabaseStatusLookup, trust: TrustList) -> bool:
    """Whether the answer may come from a trust list older than the keys table: a kid it does
    not know (a key rotated in since), or a signing-key state it does not say (a revocation)."""
    issuer = result.checks.get("issuer")
    if issuer is not None and issuer.reason == "unknown_kid":
        return True
    return lookup.contradicts(trust)


def verify_text(session: Session, trust_lists: TrustListCache, text: str, now: datetime | None = None) -> Verification:
    """Verify a scanned QR text or bare token (channels ``qr`` and ``page``).

    The trust list may be up to a second old (:class:`TrustListCache`); an answer that the
    keys table could contradict is checked again against a list read now.
    """
    now = now or utcnow()
    for fresh_list in (False, True):
        lookup = DatabaseStatusLookup(session)
        trust, readable = _trust(session, trust_lists, fresh=fresh_list)
        if trust is None:
            return Verification(_unavailable_result(text, now), None, True)
        status_lookup = lookup if readable else _Unavailable()
        result = verify_token(text, trust, status_lookup, now=now)
        if fresh_list or not readable or lookup.failed or not _list_behind(result, lookup, trust):
            break
    return _finish(result, lookup, readable)


def verify_pdf_bytes(
    session: Session,
    trust_lists: TrustListCache,
    checker: PdfChecker,
    data: bytes,
    *,
    max_bytes: int,
    now: datetime | None = None,
) -> Verification:
    """Verify an uploaded certificate PDF (channel ``pdf``) through the bounded checker.

    Junk is answered from its bytes alone; the rest is checked in a child process with a time
    limit while this thread answers the child's status question from the database. Raises
    :class:`ecert.pdfcheck.CheckBusy` when every check slot of the host is taken.
    """
    now = now or utcnow()
    # Junk is answered from its bytes before anything else, the database included.
    early = structural_verdict(data, now, max_bytes)
    if early is not None:
        return Verification(early)
    lookup = DatabaseStatusLookup(session)
    trust, fresh = _trust(session, trust_lists)
    source = trust_lists.source_of(trust) if trust is not None else None
    if trust is None or source is None:
        result = VerificationResult("status_unavailable", {"status": Check(False, "unavailable")}, checked_at=now)
        return Verification(result, None, True)
    status_lookup = lookup if fresh else _Unavailable()
    return _finish(checker.check(data, source, status_lookup, now, max_bytes), lookup, fresh)


@dataclass(frozen=True, slots=True)
class CodeMatch:
    certificate_id: str
    token: str


_BY_NUMBER = select(Certificate.id, Certificate.verification_code, Certificate.token).where(
    Certificate.number == bindparam("number")
)


def find_by_code(session: Session, number: str, code: str) -> CodeMatch | None:
    """The certificate printed with this number and verification code, or None.

    An unknown number and a wrong code both give None after the same constant-time comparison,
    so neither the answer nor (beyond one indexed query) its timing says whether the number
    exists. The code is normalised as a person types it (case, spaces, dashes, O/0, I/L/1, U/V).
    """
    wanted = normalise_code(code)
    number = number.strip().upper()
    row = None
    # Only a plausible number reaches the database: a NUL or a lone surrogate cannot be stored
    # in a number, and the driver would raise on it (a "status unavailable", not "not found").
    if 0 < len(number) <= MAX_NUMBER_LENGTH and number.isprintable():
        row = session.connection().execute(_BY_NUMBER, {"number": number}).one_or_none()
    stored = row.verification_code if row is not None else _NO_CODE
    matches = hmac.compare_digest(stored.encode(), wanted.encode())
    if row is None or not matches:
        return None
    return CodeMatch(row.id, row.token)


def not_found_result(now: datetime) -> VerificationResult:
    """The one answer for an unknown number and for a wrong code: identical but for the time."""
    return VerificationResult("not_found", {"format": _OK, "status": Check(False, "not_found")}, checked_at=now)


def verify_number_code(
    session: Session, trust_lists: TrustListCache, number: str, code: str, now: datetime | None = None
) -> Verification:
    """Verify by the number and code printed on paper (channel ``code``).

    A match is then verified like its QR: the stored token still goes through every check, so a
    revoked certificate or a revoked signing key is reported the same way on every channel.
    """
    now = now or utcnow()
    try:
        match = find_by_code(session, number, code)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the answer is "status unavailable", never a 500
        log.warning("certificate lookup by number failed: %s", type(exc).__name__)
        result = VerificationResult(
            "status_unavailable", {"format": _OK, "status": Check(False, "unavailable")}, checked_at=now
        )
        return Verification(result, None, True)
    if match is None:
        return Verification(not_found_result(now))
    return verify_text(session, trust_lists, match.token, now)


# --- the record ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """What the log keeps of one verification: plain values, safe to queue for a batch. Who
    checked is a registered organisation (``verifier_id``) or a share link (``share_id``) when
    there is one; never an address."""

    certificate_id: str | None
    checked_at: datetime
    channel: str
    outcome: str
    verifier_id: str | None = None
    share_id: str | None = None

    @classmethod
    def of(
        cls,
        verification: Verification,
        channel: Channel,
        *,
        verifier_id: str | None = None,
        share_id: str | None = None,
    ) -> CheckRecord:
        if channel not in CHANNELS:
            raise ValueError(f"unknown verification channel {channel!r}")
        result = verification.result
        return cls(verification.certificate_id, result.checked_at, channel, result.outcome, verifier_id, share_id)


_EVENT_COLUMNS: Final = ("certificate_id", "checked_at", "channel", "outcome", "verifier_id", "share_id")
# SQLite: one row a parameter set, one executemany (SQLite runs it in C, in-process).
_INSERT_EVENT = CursorStatement(insert(VerificationEvent).values({name: bindparam(name) for name in _EVENT_COLUMNS}))


def _insert_events_from_arrays() -> Any:
    """PostgreSQL: the whole batch as one ``INSERT … SELECT FROM unnest(arrays) WITH ORDINALITY``,
    in the batch's order: one statement for the server to plan and run instead of one a row (the
    server shares the cores with the checks)."""
    types = {name: ARRAY(String()) for name in _EVENT_COLUMNS} | {"checked_at": ARRAY(UTCDateTime())}
    checks = (
        func.unnest(*(bindparam(f"{name}s", type_=types[name]) for name in _EVENT_COLUMNS))
        .table_valued(*_EVENT_COLUMNS, with_ordinality="position")
        .render_derived()
    )
    source = select(*(checks.c[name] for name in _EVENT_COLUMNS)).order_by(checks.c.position)
    return insert(VerificationEvent).from_select(list(_EVENT_COLUMNS), source)


_INSERT_EVENTS_FROM_ARRAYS: Final = CursorStatement(_insert_events_from_arrays())


def record_checks(session: Session, records: Sequence[CheckRecord]) -> None:
    """Add the verification events (flushed, not committed): one a request, or a batch of them
    (``ecert.batched``), each with its change-feed event ``certificate.verified`` in the same
    transaction when it names a certificate (a share link's use is ``share.used`` instead:
    ``services.shares.record_share_use``). No IP or user agent is kept."""
    if not records:
        return
    # On the session's cursor: the ORM's unit of work cost ~70 µs a row (objects, identity
    # map, events) and Core's ~20 µs (defaults, parameter processing) for rows nothing reads
    # back, and the batch thread shares the worker's GIL.
    rows = [{name: getattr(record, name) for name in _EVENT_COLUMNS} for record in records]
    if session.get_bind().dialect.name == "postgresql":
        _INSERT_EVENTS_FROM_ARRAYS.execute(
            session, **{f"{name}s": [row[name] for row in rows] for name in _EVENT_COLUMNS}
        )
    else:
        _INSERT_EVENT.execute_many(session, rows)
    outbox.emit_for_certificates(
        session,
        outbox.EventType.CERTIFICATE_VERIFIED,
        [
            (record.certificate_id, record.checked_at)
            for record in records
            if record.certificate_id is not None and record.channel != "share"
        ],
    )


def record_verification(
    session: Session,
    verification: Verification,
    channel: Channel,
    *,
    verifier_id: str | None = None,
    share_id: str | None = None,
) -> None:
    """Add the event of one verification in the caller's transaction (flushed, not committed)."""
    record_checks(session, [CheckRecord.of(verification, channel, verifier_id=verifier_id, share_id=share_id)])


# --- the holder's view, and retention ---------------------------------------------------------------

# Newest first; the id breaks ties between checks of the same microsecond.
NEWEST_FIRST = Ordering([VerificationEvent.checked_at, VerificationEvent.id], descending=True)


def list_for_certificate(
    session: Session, certificate_id: str, *, limit: int, cursor: str | None
) -> Page[VerificationEvent]:
    """Every logged check of one certificate (the caller has checked whose it is)."""
    query = select(VerificationEvent).where(VerificationEvent.certificate_id == certificate_id)
    return keyset_page(session, query, NEWEST_FIRST, limit=limit, cursor=cursor)


def prune_events(session: Session, *, retention_days: int, actor: Actor, now: datetime | None = None) -> int:
    """Delete the verification events older than ``retention_days``; how many went. Audited, so
    a gap in a holder's history has a recorded reason."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    deleted = cast(
        "CursorResult[Any]",
        session.execute(
            delete(VerificationEvent)
            .where(VerificationEvent.checked_at < cutoff)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    record(
        session,
        actor,
        "verifications.pruned",
        target_type="verification_events",
        details={"before": cutoff.isoformat(), "deleted": deleted, "retention_days": retention_days},
        now=now,
    )
    return int(deleted or 0)
