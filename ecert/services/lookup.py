"""Reading one row by id, or answering "not found": for a citizen's own rows, for staff, locked.

Another citizen's request or certificate is "not found", never "forbidden": whether it exists
is not theirs to learn, so an owner mismatch and a missing row raise the same NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from ecert.db import Base
from ecert.errors import NotFound
from ecert.models import Certificate, CertificateRequest, StaffUser

M = TypeVar("M", bound=Base)

# Ids are UUIDs (36 characters): a longer or empty path segment cannot name a row, and is
# answered without a query.
MAX_ID_LENGTH = 36


@dataclass(frozen=True)
class Kind:
    """How a model is looked up: its not-found code, and the column naming its owner (if any)."""

    not_found: str
    owner_column: str | None = None


KINDS: dict[type[Base], Kind] = {
    CertificateRequest: Kind("request_not_found", owner_column="citizen_pid"),
    Certificate: Kind("certificate_not_found", owner_column="holder_pid"),
    StaffUser: Kind("staff_not_found"),
}


def _kind(model: type[Base]) -> Kind:
    return KINDS.get(model, Kind("not_found"))


def looks_like_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def _checked(row: M | None, model: type[M], owner: str | None) -> M:
    kind = _kind(model)
    if owner is not None and kind.owner_column is None:
        raise TypeError(f"{model.__name__} has no owner column")
    if row is None or (owner is not None and getattr(row, kind.owner_column or "") != owner):
        raise NotFound(kind.not_found)
    return row


def get_or_404(session: Session, model: type[M], row_id: str, *, owner: str | None = None) -> M:
    """The row ``row_id`` of ``model`` (owned by ``owner`` when given), or NotFound."""
    row = session.get(model, row_id) if looks_like_id(row_id) else None
    return _checked(row, model, owner)


def lock_or_404(session: Session, model: type[M], row_id: str, *, owner: str | None = None) -> M:
    """Like ``get_or_404``, holding the row's lock (SELECT ... FOR UPDATE) until the transaction
    ends: what is read under the lock is what a read-modify-write may trust."""
    row = None
    if looks_like_id(row_id):
        [key] = inspect(model).primary_key
        # populate_existing: a copy this session loaded before the lock is replaced by what the
        # previous lock holder committed.
        row = session.execute(
            select(model).where(key == row_id).with_for_update().execution_options(populate_existing=True)
        ).scalar_one_or_none()
    return _checked(row, model, owner)


def certificate_ids() -> _AbstractLoad:
    """Load option for a page of requests: their certificates' ids in one query (each answer
    names its ``certificate_id``), instead of one query per request, and nothing else of them
    (a certificate row holds its PDF)."""
    return selectinload(CertificateRequest.certificate).load_only(Certificate.id)
