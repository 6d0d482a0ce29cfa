"""Agency staff: accounts, login with password + TOTP, sessions, throttling, lockout, step-up.

Every decision about a credential lives here; ``ecert.security`` only says whether a password
or a code matches. Failures that matter for security (a wrong password, a replayed code, a
lockout) are written to the audit log *before* the exception is raised: the caller commits
that record even though the request fails (see api/staff/views.py).

Who can stop whom (DESIGN §8, docs/staff.md):

- wrong passwords are throttled per (username, client address) with a growing delay: a
  stranger slows down only themselves, never the account's owner elsewhere;
- wrong codes after the right password lock the account for new sign-ins (the password is known
  to someone else); sessions already open go on working;
- wrong step-up codes end the session they were sent with, not the account.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NoReturn, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from ecert import security
from ecert.config import Settings
from ecert.db import utcnow
from ecert.domain.permissions import Permission
from ecert.domain.states import StaffRole
from ecert.errors import Conflict, DomainError, Forbidden, InvalidInput, Locked, NotFound, Unauthorized
from ecert.models import LoginThrottle, StaffSession, StaffUser
from ecert.services.audit import Actor, record
from ecert.services.authorization import authorize
from ecert.services.lookup import lock_or_404

# Plain strings: a click.Choice of enum members would offer their NAMES on the command line.
ROLES = tuple(role.value for role in StaffRole)
# Lower-case letters, digits and . _ -, 3 to 64 characters: safe in logs, URLs and audit rows.
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet. Anything else (an identity
# token with its dots, a truncated paste) is refused without touching the database.
SESSION_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def is_locked(user: StaffUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


# --- accounts (CLI) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """What the person setting up an account must see once: never stored in clear elsewhere."""

    user: StaffUser
    password: str | None  # only when generated for them
    totp_secret: str
    provisioning_uri: str


def _record_staff(
    session: Session,
    actor: Actor,
    action: str,
    user: StaffUser,
    details: dict[str, Any],
    now: datetime | None = None,
) -> None:
    """An event about a staff account: the account is its target, its username the first detail."""
    record(
        session,
        actor,
        action,
        target_type="staff",
        target_id=user.id,
        details={"username": user.username, **details},
        now=now,
    )


def create_staff(
    session: Session,
    username: str,
    role: str,
    *,
    password: str | None = None,
    actor: Actor,
    now: datetime | None = None,
) -> Enrolment:
    authorize(session, actor, Permission.MANAGE_STAFF)
    now = now or utcnow()
    username = normalise_username(username)
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = ["username_invalid"]
    if role not in ROLES:
        errors["role"] = ["invalid_choice"]
    generated = password is None
    if password is None:
        password = security.generate_password()
    problems = security.password_problems(password)
    if problems:
        errors["password"] = problems
    if errors:
        raise InvalidInput(errors)
    if session.execute(select(StaffUser.id).where(StaffUser.username == username)).first() is not None:
        raise Conflict("username_taken")
    secret = security.new_totp_secret()
    user = StaffUser(
        username=username,
        role=role,
        password_hash=security.hash_password(password),
        totp_secret=secret,
        totp_last_step=0,
        failed_attempts=0,
        disabled=False,
        created_at=now,
    )
    session.add(user)
    session.flush()
    _record_staff(session, actor, "staff.created", user, {"role": role, "password_generated": generated})
    return Enrolment(user, password if generated else None, secret, security.provisioning_uri(secret, username))


def get_by_username(session: Session, username: str, *, lock: bool = False) -> StaffUser:
    query = select(StaffUser).where(StaffUser.username == normalise_username(username))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    user = session.execute(query).scalar_one_or_none()
    if user is None:
        raise NotFound("staff_not_found")
    return user


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.execute(select(StaffUser).order_by(StaffUser.username)).scalars())


def end_sessions(session: Session, user: StaffUser, now: datetime) -> int:
    """End every live session of ``user``; returns how many were live."""
    live = (
        session.execute(select(StaffSession).where(StaffSession.staff_id == user.id, StaffSession.ended_at.is_(None)))
        .scalars()
        .all()
    )
    for staff_session in live:
        staff_session.ended_at = now
    return len(live)


def disable_staff(session: Session, username: str, *, actor: Actor, now: datetime | None = None) -> StaffUser:
    """Disable the account and end its sessions at once (a leaver's token must stop working)."""
    authorize(session, actor, Permission.MANAGE_STAFF)
    now = now or utcnow()
    user = get_by_username(session, username, lock=True)
    was_disabled = user.disabled
    user.disabled = True
    ended = end_sessions(session, user, now)
    session.flush()
    _record_staff(session, actor, "staff.disabled", user, {"already_disabled": was_disabled, "sessions_ended": ended})
    return user


def reset_totp(session: Session, username: str, *, actor: Actor, now: datetime | None = None) -> Enrolment:
    """A new TOTP secret (lost phone): old codes stop working, sessions end, the lockout clears.

    ``totp_last_step`` is kept: it only ever grows, so no code of any secret for a time-step
    already used can be accepted again.
    """
    authorize(session, actor, Permission.MANAGE_STAFF)
    now = now or utcnow()
    user = get_by_username(session, username, lock=True)
    secret = security.new_totp_secret()
    user.totp_secret = secret
    user.failed_attempts = 0
    user.locked_until = None
    ended = end_sessions(session, user, now)
    session.flush()
    _record_staff(session, actor, "staff.totp_reset", user, {"sessions_ended": ended})
    return Enrolment(user, None, secret, security.provisioning_uri(secret, user.username))


# --- throttling wrong passwords per (username, client address) -----------------------------------

# Failures a (username, address) pair may make before any delay: enough for typos.
THROTTLE_FREE_FAILURES = 2
THROTTLE_MAX_DELAY = timedelta(minutes=15)
# A pair with no failure for this long starts afresh, and its row is deleted (pruned on write).
THROTTLE_MEMORY = timedelta(hours=24)


class LoginThrottled(DomainError):
    """429: this username from this address must wait (``retry_after`` seconds)."""

    status = 429
    code = "login_throttled"


def throttle_delay(failures: int) -> int:
    """Seconds a pair waits after its ``failures``-th failure: 0, 0, 1, 2, 4 ... up to 15 min."""
    if failures <= THROTTLE_FREE_FAILURES:
        return 0
    exponent = failures - THROTTLE_FREE_FAILURES - 1
    cap = int(THROTTLE_MAX_DELAY.total_seconds())
    return cap if exponent >= cap.bit_length() else min(cap, 2**exponent)


def _address_bucket(address: str | None) -> str:
    """The unit an address is throttled as: an IPv4 address, or an IPv6 /64.

    One IPv6 subscriber holds a whole /64; counting its addresses one by one would hand them
    2^64 fresh budgets.
    """
    text = (address or "").strip()
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def address_key(settings: Settings, address: str | None) -> str:
    """A keyed hash of the client address: the throttle table never holds an address, and
    without the secret key its rows cannot be matched back to addresses by hashing guesses."""
    message = b"ecert.login-throttle\x00" + _address_bucket(address).encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _check_throttle(session: Session, username: str, key: str, now: datetime) -> None:
    """Refuse a throttled pair before anything expensive (the scrypt hash) is done."""
    blocked_until = session.execute(
        select(LoginThrottle.blocked_until).where(LoginThrottle.username == username, LoginThrottle.address_hash == key)
    ).scalar_one_or_none()
    if blocked_until is not None and blocked_until > now:
        wait = max(1, math.ceil((blocked_until - now).total_seconds()))
        raise LoginThrottled(retry_after=wait)


def _throttle_failure(session: Session, username: str, key: str, now: datetime) -> datetime | None:
    """Count one wrong password for the pair (one atomic upsert, safe across workers); returns
    until when the pair is now blocked, if it is. Rows idle for a day are pruned here."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - THROTTLE_MEMORY))
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(LoginThrottle)
        .values(username=username, address_hash=key, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.username, LoginThrottle.address_hash],
            set_={"failures": LoginThrottle.failures + 1, "last_failure_at": now},
        )
        .returning(LoginThrottle.failures)
    )
    failures = session.execute(statement).scalar_one()
    delay = throttle_delay(failures)
    blocked_until = now + timedelta(seconds=delay) if delay else None
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.username == username, LoginThrottle.address_hash == key)
        .values(blocked_until=blocked_until)
    )
    return blocked_until


def _clear_throttle(session: Session, username: str, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.username == username, LoginThrottle.address_hash == key))


def clear_throttles(session: Session, username: str, *, actor: Actor) -> int:
    """Forget every address's wrong passwords for ``username`` (CLI: a support call); returns
    how many addresses were throttled."""
    authorize(session, actor, Permission.MANAGE_STAFF)
    username = normalise_username(username)
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.username == username))
    cleared = cast(CursorResult[Any], result).rowcount or 0
    record(
        session,
        actor,
        "staff.throttle_cleared",
        target_type="staff",
        details={"username": username[:64], "addresses": cleared},
    )
    return cleared


# --- login and sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    token: str  # handed out once; only its SHA-256 is stored
    staff_session: StaffSession
    user: StaffUser


def _spend_totp(user: StaffUser, code: str, now: datetime) -> int:
    """Accept ``code`` for ``user`` and spend it, for sign-in and step-up alike; returns its
    time-step, or raises ``security.TotpRefused`` (wrong, or not newer than the last accepted).

    The caller holds the user's row lock: two requests sending the same code take turns, and
    the second one finds the step already spent.
    """
    step = security.accept_totp(user.totp_secret, code, now, last_step=user.totp_last_step)
    user.totp_last_step = step
    return step


def _count_totp_failure(
    session: Session, user: StaffUser, *, settings: Settings, actor: Actor, now: datetime, reason: str
) -> NoReturn:
    """A wrong or replayed code after the right password: count it, lock at the threshold."""
    user.failed_attempts = (user.failed_attempts or 0) + 1
    attempts = user.failed_attempts
    locked = attempts >= settings.staff_lockout_attempts
    if locked:
        user.locked_until = now + timedelta(minutes=settings.staff_lockout_minutes)
        # The next window starts afresh once the lock has run out.
        user.failed_attempts = 0
    session.flush()
    _record_staff(session, actor, "staff.login_failed", user, {"reason": reason, "failed_attempts": attempts}, now=now)
    if locked:
        assert user.locked_until is not None
        # Only the right password gets this far: whoever sent these codes knows it.
        _record_staff(
            session,
            actor,
            "staff.login_locked",
            user,
            {"until": user.locked_until.isoformat(), "failed_attempts": attempts, "password_compromised": True},
            now=now,
        )
        raise Locked("account_locked", locked_until=user.locked_until.isoformat())
    raise Unauthorized("invalid_credentials")


def _count_password_failure(
    session: Session,
    actor: Actor,
    username: str,
    key: str,
    now: datetime,
    reason: str,
    user_id: str | None,
    **extra: Any,
) -> None:
    """No such account, a disabled one or a wrong password: counted against this username from
    this address (never against the account), and recorded."""
    until = _throttle_failure(session, username, key, now)
    details = {"username": username, "reason": reason, "throttled_until": until.isoformat() if until else None, **extra}
    record(session, actor, "staff.login_failed", target_type="staff", target_id=user_id, details=details, now=now)


def login(
    session: Session,
    username: str,
    password: str,
    totp: str,
    *,
    settings: Settings,
    actor: Actor,
    now: datetime,
    client_address: str | None = None,
) -> LoginResult:
    """Password + TOTP -> a new session, or ``invalid_credentials`` / ``account_locked`` / ``login_throttled``.

    An unknown user, a wrong password, a wrong or replayed code and a disabled account all get
    the same answer after the same work (one scrypt), so the answer tells an attacker nothing
    about which part was wrong or whether the account exists; an unknown username is throttled
    exactly like a known one. A locked account says so: its owner needs to know to wait
    (docs/staff.md).
    """
    username = normalise_username(username)[:64]
    key = address_key(settings, client_address)
    _check_throttle(session, username, key, now)

    user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    if user is None:
        security.dummy_verify(password)
        _count_password_failure(session, actor, username, key, now, "unknown_user", None)
        raise Unauthorized("invalid_credentials")
    # The slow hash runs before the row lock, so a login never holds the lock for its duration.
    password_ok = security.verify_password(password, user.password_hash)
    # Then lock the row: the failure counter and the last TOTP step are read-modify-write, and
    # two workers checking the same code at once must not both accept it.
    user = lock_or_404(session, StaffUser, user.id)
    actor = replace(actor, id=user.id)
    if user.disabled:
        _count_password_failure(session, actor, username, key, now, "disabled", user.id)
        raise Unauthorized("invalid_credentials")
    locked = is_locked(user, now)
    if not password_ok:
        # Never counted against the account (a stranger must not be able to lock it), only
        # against this username from this address.
        _count_password_failure(session, actor, username, key, now, "bad_password", user.id, account_locked=locked)
        if locked:
            assert user.locked_until is not None
            raise Locked("account_locked", locked_until=user.locked_until.isoformat())
        raise Unauthorized("invalid_credentials")
    if locked:
        _refuse_while_locked(session, user, actor=actor, now=now)
    try:
        _spend_totp(user, totp, now)
    except security.TotpRefused as refused:
        _count_totp_failure(session, user, settings=settings, actor=actor, now=now, reason=refused.reason)
    _clear_throttle(session, username, key)
    return _open_session(session, user, password, settings=settings, actor=actor, now=now)


def _refuse_while_locked(session: Session, user: StaffUser, *, actor: Actor, now: datetime) -> NoReturn:
    # The right password, refused while locked, and not counted: the lock must run out on its
    # own schedule.
    assert user.locked_until is not None
    _record_staff(session, actor, "staff.login_failed", user, {"reason": "locked"}, now=now)
    raise Locked("account_locked", locked_until=user.locked_until.isoformat())


def _open_session(
    session: Session, user: StaffUser, password: str, *, settings: Settings, actor: Actor, now: datetime
) -> LoginResult:
    """The right password and a fresh code: the counters start afresh, a hash made with weaker
    parameters is redone while the password is at hand, and a new session opens."""
    user.failed_attempts = 0
    user.locked_until = None
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    token = security.new_session_token()
    staff_session = StaffSession(
        token_sha256=security.token_digest(token),
        staff_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.staff_absolute_hours),
        step_up_failures=0,
    )
    session.add(staff_session)
    session.flush()
    _record_staff(
        session,
        actor,
        "staff.login",
        user,
        {"session_id": staff_session.id, "expires_at": staff_session.expires_at.isoformat()},
        now=now,
    )
    staff_session.staff = user
    return LoginResult(token, staff_session, user)


def idle_expires_at(staff_session: StaffSession, settings: Settings) -> datetime:
    return min(staff_session.last_seen_at + timedelta(minutes=settings.staff_idle_minutes), staff_session.expires_at)


def session_for_token(session: Session, token: str, *, settings: Settings, now: datetime) -> StaffSession:
    """The live session a bearer token names, or 401: unknown, ended, idle, too old, disabled."""
    if not SESSION_TOKEN_RE.match(token or ""):
        raise Unauthorized("session_invalid")
    staff_session = session.execute(
        select(StaffSession)
        .where(StaffSession.token_sha256 == security.token_digest(token))
        .options(joinedload(StaffSession.staff))
    ).scalar_one_or_none()
    if staff_session is None or staff_session.ended_at is not None or staff_session.staff.disabled:
        raise Unauthorized("session_invalid")
    if now >= staff_session.expires_at or now >= idle_expires_at(staff_session, settings):
        raise Unauthorized("session_expired")
    return staff_session


def touch(staff_session: StaffSession, now: datetime) -> None:
    """Push the idle expiry forward. Never backward: a slow request must not shorten it."""
    if now > staff_session.last_seen_at:
        staff_session.last_seen_at = now


def logout(session: Session, staff_session: StaffSession, *, actor: Actor, now: datetime) -> None:
    staff_session.ended_at = now
    session.flush()
    record(
        session,
        actor,
        "staff.logout",
        target_type="staff",
        target_id=staff_session.staff_id,
        details={"session_id": staff_session.id},
        now=now,
    )


def _count_step_up_failure(
    session: Session,
    staff_session: StaffSession,
    user: StaffUser,
    *,
    settings: Settings,
    actor: Actor,
    now: datetime,
    details: dict[str, Any],
) -> NoReturn:
    """A wrong or replayed step-up code: count it against the session, end it at the threshold."""
    failures = (staff_session.step_up_failures or 0) + 1
    staff_session.step_up_failures = failures
    exhausted = failures >= settings.staff_lockout_attempts
    if exhausted:
        staff_session.ended_at = now
    session.flush()
    _record_staff(
        session,
        actor,
        "staff.step_up_failed",
        user,
        {
            "reason": details["reason"],
            "failed_attempts": failures,
            "session_id": staff_session.id,
            "action": details["action"],
            "target_id": details["target_id"],
        },
        now=now,
    )
    if exhausted:
        _record_staff(
            session,
            actor,
            "staff.step_up_exhausted",
            user,
            {"session_id": staff_session.id, "failed_attempts": failures},
            now=now,
        )
        raise Unauthorized("step_up_exhausted")
    raise Forbidden("step_up_failed")


def step_up(
    session: Session,
    staff_session: StaffSession,
    code: str,
    *,
    settings: Settings,
    actor: Actor,
    now: datetime,
    action: str,
    target_id: str | None = None,
) -> int:
    """A fresh TOTP code for a sensitive action (revocation), under the login's rules.

    The code must be newer than any accepted before (login or step-up). An accepted code is
    spent at once and recorded (``staff.step_up``) with the action it was sent for: the caller
    commits that before running the action, so a failing action does not give the code back.

    Wrong codes count per session: after ``staff_lockout_attempts`` of them the session ends
    (``step_up_exhausted``, 401), so a stolen session token cannot be used to guess codes. They
    do not lock the account, and an account locked by wrong sign-in codes (someone else who has
    the password) does not stop a session already open: its holder passed password and TOTP
    before the lock. Raises ``step_up_failed`` (403: the session is fine, the code is not).
    """
    user = lock_or_404(session, StaffUser, staff_session.staff_id)
    # Under the user's row lock, so two requests on one session count their failures in turn.
    session.refresh(staff_session, ["step_up_failures", "ended_at"])
    if staff_session.ended_at is not None:
        raise Unauthorized("session_invalid")  # ended by a concurrent request meanwhile
    try:
        step = _spend_totp(user, code, now)
    except security.TotpRefused as refused:
        _count_step_up_failure(
            session,
            staff_session,
            user,
            settings=settings,
            actor=actor,
            now=now,
            details={"reason": refused.reason, "action": action, "target_id": target_id},
        )
    staff_session.step_up_failures = 0
    session.flush()
    _record_staff(
        session,
        actor,
        "staff.step_up",
        user,
        {"session_id": staff_session.id, "step": step, "action": action, "target_id": target_id},
        now=now,
    )
    return step


def staff_summary(user: StaffUser, now: datetime) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "disabled": user.disabled,
        "locked_until": user.locked_until if is_locked(user, now) else None,
        "created_at": user.created_at,
    }
