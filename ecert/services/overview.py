"""The staff console's first page, as numbers: requests waiting against their deadlines, the
decisions and revocations of each day, and each day's verifications by channel.

Counts only, grouped in the database (a day's verifications may be millions of rows); days are
Vietnamese calendar days (UTC+7), the days the agency works in. No personal data leaves here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, select, true
from sqlalchemy.orm import Session

from ecert.domain import rules
from ecert.models import Certificate, CertificateRequest, VerificationEvent

# How long a waiting request has left before its deadline, as the chart's bars (upper bounds in
# hours; the first bar is "already overdue", the last "more than a week").
DEADLINE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("overdue", 0),
    ("due_1d", 24),
    ("due_3d", 72),
    ("due_7d", 168),
    ("due_later", None),
)
CHANNELS = ("qr", "page", "code", "pdf", "share")
DEFAULT_DAYS = 14


@dataclass(frozen=True)
class DayCount:
    day: date
    counts: dict[str, int] = field(default_factory=dict)

    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Overview:
    waiting: dict[str, int]  # bucket -> requests waiting for staff
    overdue: int
    waiting_total: int
    decisions: list[DayCount]  # issued / refused / revoked, per day
    verifications: list[DayCount]  # per channel, per day


def _vietnam_day(session: Session, column: Any) -> ColumnElement[Any]:
    """The Vietnamese calendar day of a stored (naive UTC) timestamp, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(column + literal_column("interval '7 hours'"))
    return func.date(column, "+7 hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def waiting_by_deadline(session: Session, now: datetime) -> dict[str, int]:
    """Requests waiting for staff, by the time left before their deadline (one query)."""
    columns = []
    lower: datetime | None = None
    for name, hours in DEADLINE_BUCKETS:
        upper = now + timedelta(hours=hours) if hours is not None else None
        condition = []
        if lower is not None:
            condition.append(CertificateRequest.due_at >= lower)
        if upper is not None:
            condition.append(CertificateRequest.due_at < upper)
        columns.append(func.coalesce(func.sum(case((_all(condition), 1), else_=0)), 0).label(name))
        lower = upper
    row = session.execute(select(*columns).where(CertificateRequest.status == rules.STATUS_NEEDS_REVIEW)).one()
    counts = row._asdict()
    return {name: int(counts[name]) for name, _ in DEADLINE_BUCKETS}


def _all(conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(true(), *conditions)


def _per_day(session: Session, query: Select[Any], since: date) -> dict[tuple[date, str], int]:
    counted: dict[tuple[date, str], int] = {}
    for day, kind, count in session.execute(query):
        parsed = _as_date(day)
        if parsed >= since:
            counted[(parsed, str(kind))] = counted.get((parsed, str(kind)), 0) + int(count)
    return counted


def _decisions(session: Session, since: date, start: datetime) -> dict[tuple[date, str], int]:
    counted: dict[tuple[date, str], int] = {}
    sources = (
        ("issued", Certificate.issued_at, None),
        ("revoked", Certificate.revoked_at, None),
        ("refused", CertificateRequest.decided_at, CertificateRequest.status == rules.STATUS_REFUSED),
    )
    for kind, column, extra in sources:
        day = _vietnam_day(session, column)
        query = select(day, literal_column(f"'{kind}'"), func.count()).where(column >= start)
        if extra is not None:
            query = query.where(extra)
        counted.update(_per_day(session, query.group_by(day), since))
    return counted


def _series(days: list[date], counted: dict[tuple[date, str], int], kinds: Sequence[str]) -> list[DayCount]:
    return [DayCount(day, {kind: counted.get((day, kind), 0) for kind in kinds}) for day in days]


def overview(session: Session, *, now: datetime, days: int = DEFAULT_DAYS) -> Overview:
    """The numbers of the console's first page, for the last ``days`` Vietnamese days."""
    today = rules.vietnam_date(now)
    since = today - timedelta(days=days - 1)
    # A little before the first day's start in Vietnam, so that no row of it is missed; rows of
    # the day before are dropped by date in _per_day.
    start = now - timedelta(days=days + 1)
    span = [since + timedelta(days=offset) for offset in range(days)]
    waiting = waiting_by_deadline(session, now)
    day = _vietnam_day(session, VerificationEvent.checked_at)
    verifications = _per_day(
        session,
        select(day, VerificationEvent.channel, func.count())
        .where(VerificationEvent.checked_at >= start)
        .group_by(day, VerificationEvent.channel),
        since,
    )
    return Overview(
        waiting=waiting,
        overdue=waiting["overdue"],
        waiting_total=sum(waiting.values()),
        decisions=_series(span, _decisions(session, since, start), ("issued", "refused", "revoked")),
        verifications=_series(span, verifications, CHANNELS),
    )
