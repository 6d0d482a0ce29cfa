"""Issuance: from a decided request to a signed certificate, in the caller's transaction.

Everything is computed and signed before any row is written, so a signing failure leaves the
request exactly as it was; the certificate, its content, token and PDF and the request's new
status then commit together or not at all.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ecert.config import Settings
from ecert.db import autocommit_engine
from ecert.domain.content import build_content, certificate_wording
from ecert.domain.states import CertificateStatus, RequestStatus, move
from ecert.domain.validation import ascii_fold, current_period
from ecert.errors import Conflict
from ecert.models import Certificate, CertificateCounter, CertificateRequest
from ecert.services import audit, outbox, records
from ecert.services.audit import Actor, record
from ecert.services.requests import send_to_review
from signing.canonical import canonical_json, content_digest
from signing.cose import qr_text, sign_token, token_claims
from signing.pdf import render_certificate_pdf, sign_pdf
from signing.signer import Signer

if TYPE_CHECKING:
    from ecert.keystore import Keystore

log = logging.getLogger(__name__)

# Crockford's base32 alphabet: no I, L, O, U, so a code read off paper is typed back right.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 12 x 5 bits = 60 bits of randomness


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What a person typed -> the stored form (case, spaces, dashes, look-alike letters)."""
    cleaned = code.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("OILU", "011V"))


def next_number(session: Session, year: int) -> str:
    """A readable per-year serial, e.g. LLTP-2026-00000123.

    On PostgreSQL the serial is taken in its own tiny autocommit transaction (one atomic upsert):
    taking it inside the issuing transaction would hold the counter row's lock while the PDF is
    rendered and signed, and every issuance on every host would queue behind it. The price is
    that an issuance that fails after this leaves a gap in the serials. SQLite allows one writer
    at a time anyway, so there the counter stays inside the transaction (no gaps).
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        statement = (
            pg_insert(CertificateCounter)
            .values(year=year, last_serial=1)
            .on_conflict_do_update(
                index_elements=[CertificateCounter.year],
                set_={"last_serial": CertificateCounter.last_serial + 1},
            )
            .returning(CertificateCounter.last_serial)
        )
        with autocommit_engine(bind.engine).connect() as connection:
            serial = connection.execute(statement).scalar_one()
        return f"LLTP-{year}-{serial:08d}"
    updated = session.execute(
        update(CertificateCounter)
        .where(CertificateCounter.year == year)
        .values(last_serial=CertificateCounter.last_serial + 1)
        .returning(CertificateCounter.last_serial)
    ).scalar_one_or_none()
    if updated is None:
        with session.begin_nested():
            session.add(CertificateCounter(year=year, last_serial=1))
        updated = 1
    return f"LLTP-{year}-{updated:08d}"


def _holder(request: CertificateRequest) -> dict:
    holder = request.holder
    form2 = request.form_type == 2
    return {
        "full_name": holder["name"],
        "full_name_ascii": ascii_fold(holder["name"]),
        "birth_date": holder["birthdate"],
        "gender": holder["gender"],
        "personal_id": holder["sub"],
        "nationality": holder.get("nationality") or "Việt Nam",
        "place_of_birth": holder.get("place_of_birth"),
        "residence": holder.get("address") or (current_period(request.residence_history) or {}).get("address"),
        "father_name": request.father_name if form2 else None,
        "mother_name": request.mother_name if form2 else None,
        "spouse_name": request.spouse_name if form2 else None,
    }


def issue_certificate(
    session: Session,
    request: CertificateRequest,
    *,
    signer: Signer,
    settings: Settings,
    actor: Actor,
    now: datetime,
) -> Certificate:
    if request.status not in (RequestStatus.PROCESSING, RequestStatus.NEEDS_REVIEW):
        raise Conflict("request_already_decided", request_status=request.status)
    certificate = _signed_certificate(session, request, signer=signer, settings=settings, now=now)
    session.add(certificate)
    move(request, RequestStatus.ISSUED)
    request.open_slot = None
    request.decided_at = now
    request.decided_by = actor.id if actor.type == "staff" else "automatic"
    request.certificate = certificate
    session.flush()
    record(
        session,
        actor,
        "certificate.issued",
        target_type="certificate",
        target_id=certificate.id,
        details={
            "request_id": request.id,
            "number": certificate.number,
            "kid": certificate.kid,
            "form_type": request.form_type,
            "pdf_bytes": len(certificate.pdf or b""),
        },
    )
    outbox.emit(
        session,
        outbox.EventType.REQUEST_ISSUED,
        sub=request.citizen_pid,
        request_id=request.id,
        certificate_id=certificate.id,
        now=now,
    )
    return certificate


def _signed_certificate(
    session: Session, request: CertificateRequest, *, signer: Signer, settings: Settings, now: datetime
) -> Certificate:
    """The certificate row for ``request``, not yet added: its number, content, QR token and
    signed PDF are all made here, before the caller writes anything."""
    number = next_number(session, now.year)
    cti = secrets.token_bytes(16)
    code = new_verification_code()
    content = build_content(
        number=number,
        form_type=request.form_type,
        issued_at=now,
        issuer_id=settings.issuer_id,
        authority=settings.authority_name,
        holder=_holder(request),
        purpose=request.purpose,
        request_id=request.id,
        include_ban_section=request.include_ban_section,
        person_record=records.person_record(session, request.citizen_pid),
    )
    canonical = canonical_json(content)
    # What the public QR says is decided in one place: a Form 2 token carries no birth date,
    # masked ID or statements (DESIGN §6).
    claims = token_claims(content, issued_at=int(now.timestamp()), cti=cti)
    # The name is signed whole, never cut or transliterated: in numeric mode a 100-character
    # name still fits a version-15 QR (DESIGN §6).
    token = sign_token(claims, signer)
    text = qr_text(settings.public_base_url, token)
    wording = certificate_wording(settings.place_of_issue)
    pdf = sign_pdf(
        render_certificate_pdf(content, wording=wording, qr_text=text, token=token, verification_code=code), signer
    )
    return Certificate(
        request_id=request.id,
        holder_pid=request.citizen_pid,
        number=number,
        form_type=request.form_type,
        cti=cti,
        verification_code=code,
        kid=signer.kid.hex(),
        content=canonical,
        content_digest=content_digest(canonical),
        token=token,
        qr_text=text,
        pdf=pdf,
        issued_at=now,
        status=CertificateStatus.VALID,
    )


def issue_for(
    keystore: Keystore, settings: Settings
) -> Callable[[Session, CertificateRequest, Actor, datetime], Certificate | None]:
    """The automatic path's issuer: a signing failure sends the request to staff, logged."""

    def issue(session: Session, request: CertificateRequest, actor: Actor, now: datetime) -> Certificate | None:
        try:
            signer = keystore.signer_for_issuance(session, now)
            with audit.savepoint(session):
                return issue_certificate(session, request, signer=signer, settings=settings, actor=actor, now=now)
        except Exception:
            log.exception("automatic issuance failed for request %s; sent to review", request.id)
            send_to_review(session, request, ["signing_failed"], actor=actor)
            return None

    return issue


def find_by_number(session: Session, number: str) -> Certificate | None:
    return session.execute(select(Certificate).where(Certificate.number == number.strip().upper())).scalar_one_or_none()
