"""A citizen's certificates: listing and reading, always scoped to the holder."""
from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ecert.errors import NotFound
from ecert.models import Certificate
from ecert.services.requests import Page, decode_cursor, encode_cursor


def get_for_holder(session: Session, certificate_id: str, personal_id: str) -> Certificate:
    certificate = session.get(Certificate, certificate_id) if 0 < len(certificate_id) <= 36 else None
    # Someone else's certificate is "not found": whether it exists is not theirs to learn.
    if certificate is None or certificate.holder_pid != personal_id:
        raise NotFound("certificate_not_found")
    return certificate


def list_for_holder(session: Session, personal_id: str, *, limit: int, cursor: str | None) -> Page:
    query = select(Certificate).where(Certificate.holder_pid == personal_id)
    if cursor:
        when, item_id = decode_cursor(cursor)
        query = query.where(
            or_(Certificate.issued_at < when, and_(Certificate.issued_at == when, Certificate.id < item_id))
        )
    rows = session.execute(
        query.order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(limit + 1)
    ).scalars().all()
    next_cursor = encode_cursor(rows[limit - 1].issued_at, rows[limit - 1].id) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor)
