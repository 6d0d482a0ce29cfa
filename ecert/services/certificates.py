"""A citizen's certificates: listing and reading, always scoped to the holder."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecert.models import Certificate
from ecert.services.lookup import get_or_404
from ecert.services.paging import Ordering, Page, keyset_page

# Newest first; the id breaks ties between certificates issued in the same microsecond.
NEWEST_FIRST = Ordering([Certificate.issued_at, Certificate.id], descending=True)


def get_for_holder(session: Session, certificate_id: str, personal_id: str) -> Certificate:
    """The holder's own certificate; someone else's is "not found" (services/lookup.py)."""
    return get_or_404(session, Certificate, certificate_id, owner=personal_id)


def list_for_holder(session: Session, personal_id: str, *, limit: int, cursor: str | None) -> Page[Certificate]:
    query = select(Certificate).where(Certificate.holder_pid == personal_id)
    return keyset_page(session, query, NEWEST_FIRST, limit=limit, cursor=cursor)
