"""Share links: a holder shows one certificate to someone, on their own terms (DESIGN §7).

A link has an expiry (1–720 hours), optionally the PDF, optionally a maximum number of uses,
and can be revoked at once. Its URL is ``{base}/s/<share id>/<secret>``: the secret has 256
bits, only its SHA-256 is stored (so the URL is shown once, when the link is made), and it is
compared in constant time after the id found the row.

Each use is one opening of the link's page: :func:`record_share_use` counts it (an atomic
conditional UPDATE, so two openings racing for the last use cannot both win) and logs it as
a verification of channel ``share``, which the holder sees. It is the one place a use is
recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, cast

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from ecert.db import utcnow
from ecert.domain.states import CertificateStatus
from ecert.errors import Conflict, DomainError, InvalidInput, NotFound
from ecert.models import Certificate, ShareLink
from ecert.services import outbox
from ecert.services.audit import Actor, record
from ecert.services.paging import Ordering, Page, keyset_page
from ecert.services.verification import Verification, record_verification

MIN_HOURS: Final = 1
MAX_HOURS: Final = 720
MAX_USES: Final = 1000
SECRET_BYTES: Final = 32
# token_urlsafe(32) is 43 characters; a longer path segment is not a secret of ours.
SECRET_MAX: Final = 64
_ID_SHAPE: Final = re.compile(r"^[0-9a-f-]{36}$")
_NO_DIGEST: Final = "0" * 64

ShareState = Literal["live", "revoked", "expired", "used_up"]

# Newest first; the id breaks ties.
NEWEST_FIRST = Ordering([ShareLink.created_at, ShareLink.id], descending=True)


class ShareGone(DomainError, status=410, code="share_gone"):
    """The link was revoked, has expired or is used up: ``code`` says which."""

    def __init__(self, state: ShareState) -> None:
        super().__init__(GONE_CODES.get(state, "share_gone"))
        self.state = state


GONE_CODES: Final[dict[str, str]] = {
    "revoked": "share_revoked",
    "expired": "share_expired",
    "used_up": "share_used_up",
}


@dataclass(frozen=True)
class NewShare:
    """A link just made, with its secret (shown this once)."""

    share: ShareLink
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def state_of(share: ShareLink, now: datetime) -> ShareState:
    """Revoked first (the holder's word), then expired, then used up."""
    if share.revoked_at is not None:
        return "revoked"
    if share.expires_at <= now:
        return "expired"
    if share.max_uses is not None and share.uses >= share.max_uses:
        return "used_up"
    return "live"


def _gone_state(share: ShareLink, now: datetime) -> ShareState:
    # The UPDATE refused the use, so the link is gone even if its row, read a moment later,
    # looks live (a use raced in between): then the last use went to someone else.
    state = state_of(share, now)
    return state if state != "live" else "used_up"


def _whole(value: object, low: int, high: int) -> bool:
    # bool is an int to Python: true hours are as wrong as text.
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_terms(expires_in_hours: object, max_uses: object) -> None:
    errors: dict[str, list[str]] = {}
    if not _whole(expires_in_hours, MIN_HOURS, MAX_HOURS):
        errors["expires_in_hours"] = ["out_of_range"]
    if max_uses is not None and not _whole(max_uses, 1, MAX_USES):
        errors["max_uses"] = ["out_of_range"]
    if errors:
        raise InvalidInput(errors)


def create_share(
    session: Session,
    certificate: Certificate,
    *,
    expires_in_hours: int,
    include_pdf: bool = False,
    max_uses: int | None = None,
    actor: Actor,
    now: datetime | None = None,
) -> NewShare:
    """A new link to the holder's ``certificate`` (ownership is the caller's check)."""
    _check_terms(expires_in_hours, max_uses)
    if certificate.status != CertificateStatus.VALID:
        # A revoked certificate's page would only ever say "revoked": nothing to share.
        raise Conflict("certificate_not_shareable")
    now = now or utcnow()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    share = ShareLink(
        certificate_id=certificate.id,
        secret_sha256=_digest(secret),
        include_pdf=include_pdf,
        max_uses=max_uses,
        uses=0,
        created_at=now,
        expires_at=now + timedelta(hours=expires_in_hours),
    )
    session.add(share)
    session.flush()
    details = {"certificate_id": certificate.id, "expires_at": share.expires_at.isoformat(), "include_pdf": include_pdf}
    record(session, actor, "share.created", target_type="share", target_id=share.id, details=details, now=now)
    return NewShare(share, secret)


def list_shares(session: Session, certificate_id: str, *, limit: int, cursor: str | None) -> Page[ShareLink]:
    query = select(ShareLink).where(ShareLink.certificate_id == certificate_id)
    return keyset_page(session, query, NEWEST_FIRST, limit=limit, cursor=cursor)


def _of_certificate(session: Session, certificate_id: str, share_id: str) -> ShareLink:
    share = session.get(ShareLink, share_id) if _ID_SHAPE.match(share_id) else None
    if share is None or share.certificate_id != certificate_id:
        raise NotFound("share_not_found")
    return share


def revoke_share(
    session: Session, certificate_id: str, share_id: str, *, actor: Actor, now: datetime | None = None
) -> ShareLink:
    """Revoke at once: the next opening of the link is a 410. Twice is once."""
    share = _of_certificate(session, certificate_id, share_id)
    if share.revoked_at is None:
        share.revoked_at = now or utcnow()
        record(
            session,
            actor,
            "share.revoked",
            target_type="share",
            target_id=share.id,
            details={"certificate_id": certificate_id},
            now=now,
        )
        session.flush()
    return share


def find_share(session: Session, share_id: str, secret: str) -> ShareLink:
    """The share this id and secret open, whatever its state; NotFound (``share_not_found``) for
    an unknown id or a wrong secret alike, after the same constant-time comparison."""
    share = None
    if _ID_SHAPE.match(share_id) and len(secret) <= SECRET_MAX:
        share = session.get(ShareLink, share_id)
    stored = share.secret_sha256 if share is not None else _NO_DIGEST
    if not hmac.compare_digest(stored, _digest(secret)) or share is None:
        raise NotFound("share_not_found")
    return share


def certificate_token(session: Session, share: ShareLink) -> str:
    """The signed token of the shared certificate (its PDF column is not loaded)."""
    token: str = session.execute(select(Certificate.token).where(Certificate.id == share.certificate_id)).scalar_one()
    return token


def record_share_use(
    session: Session, share: ShareLink, verification: Verification, *, now: datetime | None = None
) -> None:
    """Count one use of ``share`` and log it as a check of channel ``share``: the one place a share
    use is recorded. ShareGone when the link is no longer live (revoked, expired or used up,
    also by another request a moment ago)."""
    now = now or utcnow()
    counted = cast(
        "CursorResult[Any]",
        session.execute(
            update(ShareLink)
            .where(
                ShareLink.id == share.id,
                ShareLink.revoked_at.is_(None),
                ShareLink.expires_at > now,
                or_(ShareLink.max_uses.is_(None), ShareLink.uses < ShareLink.max_uses),
            )
            .values(uses=ShareLink.uses + 1)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    session.refresh(share)
    if counted != 1:
        raise ShareGone(_gone_state(share, now))
    # The shared certificate is logged even when the check could not name it (status unavailable):
    # the holder asked to be told of every opening of their link.
    shared = Verification(verification.result, share.certificate_id, verification.database_failed)
    # In this transaction, never through the batch writer: the use and its record commit together.
    record_verification(session, shared, "share", share_id=share.id)
    # The holder's feed and notification: their link was opened (never who opened it).
    outbox.emit_for_certificate(session, outbox.EventType.SHARE_USED, share.certificate_id, now=now)
