"""Keyset pagination for every list: one page type, one cursor format, one query helper.

A list is ordered by a few columns, the last of which is unique (an id or a seq), so the order
is total and ties never skip or repeat a row. The next page starts strictly after the last row
shown: the cursor carries that row's values of the ordering columns, not an offset, so rows
inserted meanwhile do not shift the pages.

Cursors are opaque to clients: ``v1.<payload>.<check>``, URL-safe base64. The check is a short
hash over the version, the list's ordering and the payload: a truncated, edited or foreign
cursor (one made by another list) is refused as ``invalid_cursor`` instead of reaching the
query. It is not a secret MAC: a cursor only moves a reader within rows the query already
scopes to them, so forging one gains nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, TypeDecorator, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from ecert.errors import InvalidInput

T = TypeVar("T")

CURSOR_VERSION = "v1"
_CHECK_BYTES = 6
# What a cursor's values may be: the types of the ordering columns the lists use.
CursorValue = datetime | str | int


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_cursor`` is None on the last page."""

    items: Sequence[T]
    next_cursor: str | None


def invalid_cursor() -> InvalidInput:
    return InvalidInput({"cursor": ["invalid_cursor"]})


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check(context: str, payload: str) -> str:
    message = f"ecert.cursor\x00{CURSOR_VERSION}\x00{context}\x00{payload}".encode()
    return _b64encode(hashlib.sha256(message).digest()[:_CHECK_BYTES])


def _to_json(value: CursorValue) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return value


def _from_json(value: Any, kind: type) -> CursorValue:
    # bool is an int to Python: a cursor holding true is as wrong as one holding a string.
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is datetime and isinstance(value, str):
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise ValueError("a cursor's time carries its zone")
        return when.astimezone(UTC)
    raise ValueError(f"expected {kind.__name__}")


def encode_cursor(values: Sequence[CursorValue], *, context: str) -> str:
    """The cursor for a position ``values`` in the list whose ordering is named ``context``."""
    payload = _b64encode(json.dumps([_to_json(value) for value in values], separators=(",", ":")).encode())
    return f"{CURSOR_VERSION}.{payload}.{_check(context, payload)}"


def decode_cursor(cursor: str, kinds: Sequence[type], *, context: str) -> tuple[CursorValue, ...]:
    """The values ``encode_cursor`` put in, each of the type in ``kinds``; anything else (an
    unknown version, a bad check, the wrong shape or types) raises InvalidInput(invalid_cursor)."""
    try:
        version, payload, check = cursor.split(".")
        if version != CURSOR_VERSION or not hmac.compare_digest(check, _check(context, payload)):
            raise ValueError("not a cursor of this list")
        values = json.loads(_b64decode(payload))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_from_json(value, kind) for value, kind in zip(values, kinds, strict=True))
    except (ValueError, TypeError, binascii.Error):
        raise invalid_cursor() from None


@dataclass(frozen=True)
class Ordering:
    """A list's order: ``columns`` (the last one unique), all ascending or all descending."""

    columns: Sequence[InstrumentedAttribute[Any]]
    descending: bool = False

    @property
    def context(self) -> str:
        names = ",".join(f"{column.class_.__tablename__}.{column.key}" for column in self.columns)
        return f"{names}:{'desc' if self.descending else 'asc'}"

    def kinds(self) -> list[type]:
        return [_python_type(column) for column in self.columns]

    def order_by(self) -> list[ColumnElement[Any]]:
        return [column.desc() if self.descending else column.asc() for column in self.columns]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after ``values`` in this order: (a, b) > (x, y) spelled out as
        a > x OR (a = x AND b > y), which every database plans with the index."""
        clauses = []
        for index, column in enumerate(self.columns):
            beyond = column < values[index] if self.descending else column > values[index]
            equal_before = [self.columns[i] == values[i] for i in range(index)]
            clauses.append(and_(*equal_before, beyond))
        return or_(*clauses)

    def position_of(self, row: Any) -> list[CursorValue]:
        return [getattr(row, column.key) for column in self.columns]


def _python_type(column: InstrumentedAttribute[Any]) -> type:
    column_type = column.type
    # A TypeDecorator (UTCDateTime) reports ``object``: what it stores is its implementation's.
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    kind: type = column_type.python_type
    return kind


def keyset_page(session: Session, query: Select[T], ordering: Ordering, *, limit: int, cursor: str | None) -> Page[T]:
    """One page of ``query`` (a select of one entity) in ``ordering``, starting after ``cursor``."""
    if cursor:
        query = query.where(ordering.after(decode_cursor(cursor, ordering.kinds(), context=ordering.context)))
    rows = session.scalars(query.order_by(*ordering.order_by()).limit(limit + 1)).all()
    if len(rows) <= limit:
        return Page(rows, None)
    return Page(rows[:limit], encode_cursor(ordering.position_of(rows[limit - 1]), context=ordering.context))
