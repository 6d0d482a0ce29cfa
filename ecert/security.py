"""Staff credentials: scrypt password hashes and TOTP codes.

Pure functions: no database, no flask. The services decide what a result means (counting a
failure, refusing a replayed code); this module only answers "does it match".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

# --- passwords ------------------------------------------------------------------------------------

# OWASP's password-storage cheat sheet lists scrypt N=2^14, r=8, p=5 as equivalent to its
# N=2^17, r=8, p=1 baseline while needing 16 MiB per hash instead of 128 MiB: several gunicorn
# workers may hash at once, so memory per login matters more than the time (~0.1-0.25 s here;
# see docs/staff.md for the measured figure). Stored hashes carry their own parameters, so
# raising these later only affects new hashes.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 5
SALT_BYTES = 16
HASH_BYTES = 32
SCHEME = "scrypt"

MIN_PASSWORD_LENGTH = 12
# scrypt's cost does not grow with the input, but refusing megabyte "passwords" keeps request
# bodies and log lines sane.
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True)
class ScryptParams:
    n: int
    r: int
    p: int


def current_params() -> ScryptParams:
    return ScryptParams(SCRYPT_N, SCRYPT_R, SCRYPT_P)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, params: ScryptParams, length: int = HASH_BYTES) -> bytes:
    return Scrypt(salt=salt, length=length, n=params.n, r=params.r, p=params.p).derive(password.encode("utf-8"))


def password_problems(password: str) -> list[str]:
    """Error codes for a password that may not be set (empty list when acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append("password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append("too_long")
    return problems


def hash_password(password: str, params: ScryptParams | None = None) -> str:
    """A self-describing hash: ``scrypt$n$r$p$salt$hash`` (salt and hash base64url)."""
    params = params or current_params()
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(password, salt, params)
    return f"{SCHEME}${params.n}${params.r}${params.p}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes]:
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != SCHEME:
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    return ScryptParams(int(n), int(r), int(p)), _unb64(salt), _unb64(digest)


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches; the comparison takes the same time wherever they differ."""
    params, salt, expected = _parse(stored)
    # An over-long input still costs one full hash before it fails, like any wrong password.
    candidate = _derive(password[:MAX_PASSWORD_LENGTH], salt, params, len(expected))
    return hmac.compare_digest(candidate, expected) and len(password) <= MAX_PASSWORD_LENGTH


_dummy_hashes: dict[ScryptParams, str] = {}


def dummy_verify(password: str) -> bool:
    """Spend the time of a real check against nobody's hash, for an unknown username.

    The "hash" is random bytes, so no password matches it; building it costs nothing, and
    verifying it costs exactly one scrypt at the current parameters, like a real account.
    """
    params = current_params()
    stored = _dummy_hashes.get(params)
    if stored is None:
        stored = (
            f"{SCHEME}${params.n}${params.r}${params.p}$"
            f"{_b64(secrets.token_bytes(SALT_BYTES))}${_b64(secrets.token_bytes(HASH_BYTES))}"
        )
        _dummy_hashes[params] = stored
    verify_password(password, stored)
    return False


def needs_rehash(stored: str) -> bool:
    """True when a stored hash is weaker than the current parameters (rehash at next login)."""
    try:
        params, _, _ = _parse(stored)
    except ValueError:
        return True
    current = current_params()
    return params.n * params.r * params.p < current.n * current.r * current.p


def generate_password() -> str:
    """A password for a new account, printed once: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


# --- session tokens ----------------------------------------------------------------------------------


def new_session_token() -> str:
    """An opaque bearer token: 256 random bits. Only its SHA-256 is ever stored."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    # A plain hash is enough: the token has 256 bits of entropy, so no one can guess it from
    # the digest, and a fast lookup by digest is what every authenticated request needs.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- TOTP (RFC 6238) ---------------------------------------------------------------------------------

TOTP_ISSUER = "ecert"
TOTP_DIGITS = 6
TOTP_INTERVAL = 30
# One step either side absorbs clock drift between the server and the phone.
TOTP_WINDOW = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters = 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).provisioning_uri(
        name=username, issuer_name=TOTP_ISSUER
    )


def totp_step(now: datetime) -> int:
    """The RFC 6238 time-step counter for ``now``."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return int(now.timestamp()) // TOTP_INTERVAL


def totp_code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).generate_otp(step)


def match_totp(secret: str, code: str, now: datetime, window: int = TOTP_WINDOW) -> int | None:
    """The time-step that ``code`` belongs to (within ``window`` steps of ``now``), or None.

    Returning the step rather than a bool lets the caller refuse any code at or below the last
    accepted step, which makes a code single-use. Every candidate step is compared, in constant
    time, so the answer's timing does not reveal which step matched.
    """
    code = (code or "").strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = totp_step(now)
    matched = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(totp_code(secret, step), code):
            # The newest matching step wins: after acceptance every older one is spent too.
            matched = step
    return matched


class TotpRefused(Exception):
    """A code that may not be accepted: ``reason`` is ``bad_totp`` (no step within the window
    matches) or ``totp_reused`` (it matches a step already spent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def accept_totp(secret: str, code: str, now: datetime, *, last_step: int) -> int:
    """The one TOTP rule, for sign-in and step-up alike: ``code`` must match the current step or
    one step either side (``TOTP_WINDOW``, clock drift), and that step must be newer than
    ``last_step``, the last one accepted. Returns the step to record as spent; raises
    TotpRefused otherwise.

    Recording the newest accepted step, not each code, makes every code single-use and spends
    every older code of the window with it.
    """
    step = match_totp(secret, code, now)
    if step is None:
        raise TotpRefused("bad_totp")
    if step <= last_step:
        raise TotpRefused("totp_reused")
    return step
