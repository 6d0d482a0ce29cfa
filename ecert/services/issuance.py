"""Issuance: from a decided request to a signed certificate.

Everything is computed and signed before any row is written, so a signing failure leaves the
request exactly as it was; the certificate, its content, token and PDF and the request's new
status then commit together or not at all.

Two callers, two shapes. A staff approval (``issue_certificate``) signs and records in its own
transaction, at human pace. The automatic path (:class:`AutomaticIssuer`) signs in the read phase
of a submission, before its first write, and records in the submission's short write transaction
(``ecert.services.requests``): on SQLite the write lock is never held while a PDF is rendered and
signed, so two workers issue side by side instead of taking turns.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ecert.config import Settings
from ecert.db import in_sqlite_transaction, side_engine
from ecert.domain.content import build_content, certificate_wording
from ecert.domain.states import CertificateStatus, KeyStatus, RequestStatus, move
from ecert.domain.validation import ascii_fold, current_period
from ecert.errors import Conflict
from ecert.models import Certificate, CertificateCounter, CertificateRequest, SigningKey
from ecert.services import outbox, records
from ecert.services.audit import Actor, record
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
    """A readable per-year serial, e.g. LLTP-2026-00000123, taken by one atomic upsert.

    The serial is taken in its own tiny transaction whenever it can be: taking it inside a
    transaction that goes on to render and sign the PDF would hold the counter row's lock (on
    SQLite, the whole database's write lock) through that work, and every issuance would queue
    behind it. The price is that an issuance that fails after this leaves a gap in the serials
    (docs/decisions.md). On PostgreSQL that is always so. On SQLite it is so when ``session``
    holds no transaction (the read phase of a submission); a session already inside one holds
    the one write lock, which a second connection would wait for in vain, so the serial is taken
    in that transaction (a staff approval), without a gap.
    """
    engine = session.get_bind().engine
    postgres = engine.dialect.name == "postgresql"
    upsert = _serial_upsert(pg_insert if postgres else sqlite_insert, year)
    side = None if not postgres and in_sqlite_transaction(session) else side_engine(engine)
    if side is None:
        return _number(year, session.execute(upsert).scalar_one())
    # Its own transaction (BEGIN IMMEDIATE on SQLite): the lock is held for the upsert only.
    with side.begin() as connection:
        return _number(year, connection.execute(upsert).scalar_one())


def _serial_upsert(insert: Any, year: int) -> Any:
    """The year's counter row created at 1 or incremented, returning the new serial (both
    dialects spell the upsert alike)."""
    return (
        insert(CertificateCounter)
        .values(year=year, last_serial=1)
        .on_conflict_do_update(
            index_elements=[CertificateCounter.year],
            set_={"last_serial": CertificateCounter.last_serial + 1},
        )
        .returning(CertificateCounter.last_serial)
    )


def _number(year: int, serial: int) -> str:
    return f"LLTP-{year}-{serial:08d}"


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
    """Sign and record in the caller's transaction (a staff approval: one phase, human pace)."""
    if request.status not in (RequestStatus.PROCESSING, RequestStatus.NEEDS_REVIEW):
        raise Conflict("request_already_decided", request_status=request.status)
    person = records.person_record(session, request.citizen_pid)
    certificate = _signed_certificate(session, request, signer=signer, settings=settings, now=now, person=person)
    record_issued(session, request, certificate, actor=actor, now=now)
    return certificate


def record_issued(
    session: Session, request: CertificateRequest, certificate: Certificate, *, actor: Actor, now: datetime
) -> None:
    """Write a signed certificate and the request's move to issued, with their audit and outbox events."""
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


def _signed_certificate(
    session: Session,
    request: CertificateRequest,
    *,
    signer: Signer,
    settings: Settings,
    now: datetime,
    person: dict[str, Any] | None,
) -> Certificate:
    """The certificate row for ``request``, not yet added: its number, content, QR token and
    signed PDF are all made here, before the caller writes anything. ``person`` is the judicial
    record the request was decided on (``records.person_record``)."""
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
        person_record=person,
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


@dataclass(frozen=True)
class AutomaticIssuer:
    """The automatic path's issuance, in the two phases of a submission
    (``ecert.services.requests``): :meth:`sign` in the read phase, :meth:`record` in the write
    transaction."""

    keystore: Keystore
    settings: Settings

    def sign(
        self, session: Session, request: CertificateRequest, person: dict[str, Any] | None, now: datetime
    ) -> Certificate:
        """The signed, unsaved certificate for the (unsaved) request; raises when it cannot be
        signed. Reads through ``session`` and takes the serial in a transaction of its own."""
        signer = self.keystore.signer_for_issuance(session, now)
        return _signed_certificate(session, request, signer=signer, settings=self.settings, now=now, person=person)

    def record(
        self, session: Session, request: CertificateRequest, certificate: Certificate, *, actor: Actor, now: datetime
    ) -> bool:
        """Write the certificate signed in the read phase, unless its key stopped being the
        active one since (revoked, or retired by a rotation): then nothing is written and the
        answer is False (the caller sends the request to staff)."""
        if not key_still_active(session, certificate.kid):
            log.warning(
                "signing key %s stopped being active while request %s was signed; sent to review",
                certificate.kid,
                request.id,
            )
            return False
        record_issued(session, request, certificate, actor=actor, now=now)
        return True


def key_still_active(session: Session, kid: str) -> bool:
    """The key's status as the writing transaction sees it. ``FOR SHARE`` on PostgreSQL: a
    revocation or rotation committing now waits for this transaction, so no certificate is ever
    written after its key was revoked (SQLite's single writer gives the same)."""
    # Without autoflush: what was added so far is written by the next flush together with the
    # certificate (the request's row is then updated once, not twice).
    with session.no_autoflush:
        status = session.execute(
            select(SigningKey.status).where(SigningKey.kid == kid).with_for_update(read=True)
        ).scalar_one_or_none()
    return status == KeyStatus.ACTIVE


def find_by_number(session: Session, number: str) -> Certificate | None:
    return session.execute(select(Certificate).where(Certificate.number == number.strip().upper())).scalar_one_or_none()
