"""Registered verifier organisations (DESIGN §7): an employer, a bank, an embassy whose system
checks certificates with ``X-Api-Key``. Their checks are named to the holder and spend the
organisation's own quota; anonymous checks stay possible.

An API key is ``ev_<organisation id>_<secret>``: the id finds the row, then the secret's SHA-256
is compared in constant time with the stored one. The secret (256 bits) is shown once, when the
organisation is created, and never stored. Made and disabled by CLI only (``ecert verifiers``),
each change audited.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from limits import parse_many
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecert.db import utcnow
from ecert.errors import Conflict, InvalidInput, NotFound, Unauthorized
from ecert.models import VerifierOrganisation
from ecert.services.audit import Actor, record
from ecert.services.lookup import looks_like_id

KEY_PREFIX: Final = "ev"
DEFAULT_QUOTA: Final = "600/minute"
NAME_MAX: Final = 200
QUOTA_MAX: Final = 100
# Longer than any key we make (ev_ + 36 + _ + 43): a longer header is refused unread.
API_KEY_MAX: Final = 128
# Compared against when the id names no organisation, so an unknown id and a wrong secret cost
# the same constant-time comparison.
_NO_DIGEST: Final = "0" * 64
# Ids are UUIDs: anything else (a NUL, a quote) never reaches the database.
_ID_SHAPE: Final = re.compile(r"^[0-9a-f-]{36}$")


@dataclass(frozen=True)
class NewVerifier:
    """An organisation just made, with its API key (shown this once)."""

    organisation: VerifierOrganisation
    api_key: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise InvalidInput({"name": ["required"]})
    if len(name) > NAME_MAX:
        raise InvalidInput({"name": ["too_long"]})
    if not name.isprintable():
        raise InvalidInput({"name": ["invalid_characters"]})
    return name


def check_quota(quota: str) -> str:
    """A flask-limiter limit (``600/minute``, ``100/minute;5000/day``), or InvalidInput."""
    quota = quota.strip()
    try:
        if not quota or len(quota) > QUOTA_MAX or not parse_many(quota):
            raise ValueError(quota)
    except ValueError:
        raise InvalidInput({"quota": ["invalid_quota"]}) from None
    return quota


def create_verifier(
    session: Session, name: str, *, quota: str = DEFAULT_QUOTA, actor: Actor, now: datetime | None = None
) -> NewVerifier:
    """Register an organisation; its API key is in the answer and nowhere else."""
    name, quota = _clean_name(name), check_quota(quota)
    if session.execute(select(VerifierOrganisation.id).where(VerifierOrganisation.name == name)).first():
        raise Conflict("verifier_name_taken")
    secret = secrets.token_urlsafe(32)
    organisation = VerifierOrganisation(name=name, quota=quota, key_sha256=_digest(secret), created_at=now or utcnow())
    session.add(organisation)
    session.flush()
    record(
        session,
        actor,
        "verifier.created",
        target_type="verifier",
        target_id=organisation.id,
        details={"name": name, "quota": quota},
        now=now,
    )
    return NewVerifier(organisation, f"{KEY_PREFIX}_{organisation.id}_{secret}")


def list_verifiers(session: Session) -> list[VerifierOrganisation]:
    return list(session.scalars(select(VerifierOrganisation).order_by(VerifierOrganisation.created_at)))


def disable_verifier(
    session: Session, verifier_id: str, *, actor: Actor, now: datetime | None = None
) -> VerifierOrganisation:
    """Disable an organisation: its key is a 401 from the next request on. Twice is once."""
    organisation = session.get(VerifierOrganisation, verifier_id) if looks_like_id(verifier_id) else None
    if organisation is None:
        raise NotFound("verifier_not_found")
    if organisation.disabled_at is None:
        organisation.disabled_at = now or utcnow()
        record(session, actor, "verifier.disabled", target_type="verifier", target_id=organisation.id, now=now)
        session.flush()
    return organisation


def authenticate(session: Session, api_key: str) -> VerifierOrganisation:
    """The organisation whose key this is; Unauthorized for a wrong key (``api_key_invalid``) or
    a disabled organisation's (``api_key_disabled``)."""
    prefix, _, rest = api_key.partition("_")
    verifier_id, _, secret = rest.partition("_")
    organisation = None
    if prefix == KEY_PREFIX and secret and len(api_key) <= API_KEY_MAX and _ID_SHAPE.match(verifier_id):
        organisation = session.get(VerifierOrganisation, verifier_id)
    stored = organisation.key_sha256 if organisation is not None else _NO_DIGEST
    if not hmac.compare_digest(stored, _digest(secret)) or organisation is None:
        raise Unauthorized("api_key_invalid")
    if organisation.disabled_at is not None:
        raise Unauthorized("api_key_disabled")
    return organisation
