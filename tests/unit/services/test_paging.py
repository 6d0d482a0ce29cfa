"""services/paging.py: one page type, one cursor codec, one keyset helper for every list."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ecert.errors import InvalidInput
from ecert.models import AuditEvent, CertificateRequest, VerificationEvent
from ecert.services.paging import CURSOR_VERSION, Ordering, decode_cursor, encode_cursor, keyset_page

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NEWEST_FIRST = Ordering([VerificationEvent.checked_at, VerificationEvent.id], descending=True)
OLDEST_FIRST = Ordering([VerificationEvent.checked_at, VerificationEvent.id])
CHANNEL = "pagingtest"


@pytest.fixture
def events(db):
    """Seven events at four moments: several share a time, so only the id tells them apart."""
    minutes = [0, 1, 1, 1, 2, 3, 3]
    made = [VerificationEvent(checked_at=T0 + timedelta(minutes=m), channel=CHANNEL, outcome="valid")
            for m in minutes]
    db.add_all(made)
    db.flush()
    return made


def _query():
    return select(VerificationEvent).where(VerificationEvent.channel == CHANNEL)


def _walk(db, ordering, limit):
    """Every page in turn; returns the ids seen and the pages' sizes."""
    seen, sizes, cursor = [], [], None
    while True:
        page = keyset_page(db, _query(), ordering, limit=limit, cursor=cursor)
        seen += [event.id for event in page.items]
        sizes.append(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            return seen, sizes


def _expected(events, descending):
    return [e.id for e in sorted(events, key=lambda e: (e.checked_at, e.id), reverse=descending)]


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_pages_follow_the_order_with_ties_broken_by_id(db, events, limit):
    for ordering in (NEWEST_FIRST, OLDEST_FIRST):
        seen, sizes = _walk(db, ordering, limit)
        assert seen == _expected(events, ordering.descending)  # no row skipped or repeated at a tie
        assert all(size == limit for size in sizes[:-1]) and 0 < sizes[-1] <= limit


def test_the_last_page_has_no_cursor(db, events):
    page = keyset_page(db, _query(), NEWEST_FIRST, limit=len(events), cursor=None)
    assert len(page.items) == len(events) and page.next_cursor is None
    page = keyset_page(db, _query(), NEWEST_FIRST, limit=len(events) - 1, cursor=None)
    assert page.next_cursor is not None


def test_a_row_added_before_the_cursor_does_not_shift_the_next_page(db, events):
    first = keyset_page(db, _query(), OLDEST_FIRST, limit=3, cursor=None)
    db.add(VerificationEvent(checked_at=T0 - timedelta(days=1), channel=CHANNEL, outcome="valid"))
    db.flush()
    second = keyset_page(db, _query(), OLDEST_FIRST, limit=3, cursor=first.next_cursor)
    assert [e.id for e in second.items] == _expected(events, False)[3:6]


def test_cursor_round_trip():
    values = (T0 + timedelta(microseconds=7), "a1b2", 42)
    cursor = encode_cursor(values, context="list")
    assert cursor.startswith(CURSOR_VERSION + ".")
    assert all(c.isalnum() or c in "-_." for c in cursor)  # URL-safe as it stands
    assert decode_cursor(cursor, [datetime, str, int], context="list") == values


def test_a_naive_time_is_encoded_as_utc():
    cursor = encode_cursor([datetime(2026, 1, 1, 12, 0)], context="list")
    assert decode_cursor(cursor, [datetime], context="list") == (datetime(2026, 1, 1, 12, 0, tzinfo=UTC),)


def _garbage():
    good = encode_cursor([T0, "id-1"], context="list")
    version, payload, check = good.split(".")
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    return [
        "", "!!", "%%%", "zzz", "not-a-cursor", "bm90LWpzb24", "v1", "v1..", "v1.e30.x", "Nguyễn",
        good + ".", good[:-1], f"v2.{payload}.{check}", f"{version}.{flipped}.{check}",
        encode_cursor([T0], context="list"),  # the wrong number of values
        encode_cursor(["id-1", T0], context="list"),  # the wrong types
        encode_cursor([T0, "id-1"], context="another list"),  # a cursor of another list
    ]


@pytest.mark.parametrize("cursor", _garbage())
def test_a_garbage_cursor_is_invalid_input(cursor):
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor, [datetime, str], context="list")
    assert raised.value.errors == {"cursor": ["invalid_cursor"]}
    assert raised.value.status == 422


def test_a_cursor_from_another_list_or_order_is_refused(db, events):
    cursor = keyset_page(db, _query(), NEWEST_FIRST, limit=2, cursor=None).next_cursor
    for other in (OLDEST_FIRST, Ordering([CertificateRequest.submitted_at, CertificateRequest.id], descending=True)):
        with pytest.raises(InvalidInput):
            keyset_page(db, _query(), other, limit=2, cursor=cursor)


def test_integer_keys_refuse_booleans():
    ordering = Ordering([AuditEvent.seq])
    assert ordering.kinds() == [int]
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor([True], context=ordering.context), ordering.kinds(), context=ordering.context)
