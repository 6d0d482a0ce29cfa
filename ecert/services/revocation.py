"""Revoking an issued certificate, with an RFC 5280-like reason and an audit row, together.

Verification reads a certificate's status from the database every time (no cache), so a
revocation is visible to every verifier the moment this transaction commits.
Revoked stays revoked: nothing here or anywhere else sets a certificate back to valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecert.domain import rules
from ecert.domain.permissions import Permission
from ecert.domain.states import CertificateStatus, move
from ecert.errors import InvalidInput
from ecert.models import Certificate
from ecert.services import outbox
from ecert.services.audit import Actor, record
from ecert.services.authorization import authorize
from ecert.services.issuance import find_by_number as _find_by_number
from ecert.services.lookup import get_or_404, lock_or_404, looks_like_id

STATUS_VALID = CertificateStatus.VALID
STATUS_REVOKED = CertificateStatus.REVOKED


@dataclass(frozen=True)
class RevocationResult:
    certificate: Certificate
    already_revoked: bool


def get_certificate(session: Session, certificate_id: str) -> Certificate:
    return get_or_404(session, Certificate, certificate_id)


def find_by_number(session: Session, number: str) -> Certificate | None:
    return _find_by_number(session, number) if number and len(number) <= 64 else None


def supersedes(session: Session, certificate: Certificate) -> list[str]:
    """The certificates this one replaced (the other end of ``superseded_by_id``)."""
    return list(
        session.execute(
            select(Certificate.id).where(Certificate.superseded_by_id == certificate.id).order_by(Certificate.issued_at)
        ).scalars()
    )


def holder_name(certificate: Certificate) -> str | None:
    try:
        name = json.loads(certificate.content)["holder"]["full_name"]
    except (ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def check_input(reason: str, note: str | None, replacement_certificate_id: str | None) -> dict[str, list[str]]:
    """Field errors of a revocation that no database state can fix (checked before anything)."""
    errors: dict[str, list[str]] = {}
    if reason not in rules.REVOCATION_REASON_CODES:
        errors["reason"] = ["invalid_choice"]
    note = (note or "").strip()
    if reason in rules.REVOCATION_NOTE_REQUIRED and not note:
        errors["note"] = ["required"]
    elif len(note) > rules.NOTE_MAX:
        errors["note"] = ["too_long"]
    if reason == "superseded" and not replacement_certificate_id:
        errors["replacement_certificate_id"] = ["required"]
    elif reason != "superseded" and replacement_certificate_id:
        # A replacement link on another reason would read as "superseded" to anyone following it.
        errors["replacement_certificate_id"] = ["only_for_superseded"]
    return errors


def _replacement(session: Session, certificate: Certificate, replacement_id: str | None) -> Certificate:
    replacement = session.get(Certificate, replacement_id) if looks_like_id(replacement_id) else None
    code = None
    if replacement is None:
        code = "replacement_not_found"
    elif replacement.id == certificate.id:
        code = "replacement_is_same"
    elif replacement.status != STATUS_VALID:
        code = "replacement_revoked"
    elif replacement.holder_pid != certificate.holder_pid:
        # A corrected certificate is for the same person; another person's is "wrong_subject".
        code = "replacement_other_holder"
    if code or replacement is None:
        raise InvalidInput({"replacement_certificate_id": [code or "replacement_not_found"]})
    return replacement


def revoke(
    session: Session,
    certificate_id: str,
    *,
    reason: str,
    note: str | None,
    replacement_certificate_id: str | None = None,
    actor: Actor,
    now: datetime,
    step_up_step: int | None = None,
) -> RevocationResult:
    """Revoke; a second revocation changes nothing and says so (``already_revoked``).

    The caller has already checked the step-up code (``staff.step_up``) and passes the TOTP
    time-step it accepted, which goes into the audit row. The actor's permission is checked
    here whoever calls (``authorize``): a wrong role is refused and recorded before anything.
    """
    authorize(session, actor, Permission.REVOKE)
    errors = check_input(reason, note, replacement_certificate_id)
    if errors:
        raise InvalidInput(errors)
    note = (note or "").strip() or None
    certificate = lock_or_404(session, Certificate, certificate_id)
    if certificate.status == STATUS_REVOKED:
        # The first revocation's reason, time and author stand; the attempt is still recorded.
        record(
            session,
            actor,
            "certificate.revoke_repeated",
            target_type="certificate",
            target_id=certificate.id,
            details={
                "number": certificate.number,
                "requested_reason": reason,
                "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
            },
        )
        return RevocationResult(certificate, already_revoked=True)
    replacement = _replacement(session, certificate, replacement_certificate_id) if reason == "superseded" else None
    move(certificate, CertificateStatus.REVOKED)
    certificate.revoked_at = now
    certificate.revocation_reason = reason
    certificate.revocation_note = note
    certificate.revoked_by = actor.id
    certificate.superseded_by_id = replacement.id if replacement is not None else None
    session.flush()
    details: dict[str, Any] = {
        "number": certificate.number,
        "reason": reason,
        "note": note,
        "step_up_step": step_up_step,
    }
    if replacement is not None:
        details.update(replacement_certificate_id=replacement.id, replacement_number=replacement.number)
    record(session, actor, "certificate.revoked", target_type="certificate", target_id=certificate.id, details=details)
    outbox.emit(
        session,
        outbox.EventType.CERTIFICATE_REVOKED,
        sub=certificate.holder_pid,
        request_id=certificate.request_id,
        certificate_id=certificate.id,
        now=now,
    )
    return RevocationResult(certificate, already_revoked=False)
