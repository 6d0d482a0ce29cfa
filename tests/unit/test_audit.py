"""The audit log: hash chain, verification, append-only storage, and the staff search."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ecert.errors import InvalidInput
from ecert.models import AuditChainHead, AuditEvent
from ecert.services.audit import GENESIS_HASH, Actor, event_hash, record, verify_chain
from ecert.services.staff import search_audit_events

ALICE = Actor("staff", "alice-id", "req-1")
BOB = Actor("staff", "bob-id", "req-2")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def _append(db, count=3):
    made = []
    for i in range(count):
        actor = ALICE if i % 2 == 0 else BOB
        made.append(record(db, actor, f"test.action{i % 2}", target_type="thing", target_id=f"t{i}",
                           details={"i": i, "text": "Nguyễn"}, now=T0 + timedelta(minutes=i)))
    db.commit()
    return made


def _tamper(db, sql, **params):
    """Bypass the append-only triggers for this test's transaction, like a DBA could."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        sql = sql.replace(":details", "CAST(:details AS JSON)")
    else:
        db.execute(text("DROP TRIGGER audit_events_no_update"))
        db.execute(text("DROP TRIGGER audit_events_no_delete"))
    db.execute(text(sql), params)
    db.commit()
    db.expunge_all()


def test_events_chain_to_each_other(db):
    events = _append(db)
    head = db.get(AuditChainHead, 1)
    assert head.last_seq == events[-1].seq and head.last_hash == events[-1].hash
    for before, after in zip(events, events[1:]):
        assert after.seq == before.seq + 1
        assert after.prev_hash == before.hash
    if events[0].seq == 1:
        assert events[0].prev_hash == GENESIS_HASH
    else:
        before_first = db.execute(select(AuditEvent).where(AuditEvent.seq == events[0].seq - 1)).scalar_one()
        assert events[0].prev_hash == before_first.hash
    assert all(event_hash(e) == e.hash for e in events)
    assert events[0].http_request_id == "req-1" and events[0].actor_id == "alice-id"


def test_verify_walks_the_whole_chain(db):
    _append(db, 5)
    report = verify_chain(db, batch_size=2)  # batches must join up too
    assert report.ok
    assert report.events_checked == db.get(AuditChainHead, 1).last_seq


def test_a_changed_detail_breaks_the_chain_at_that_event(db):
    events = _append(db, 4)
    target = events[1]
    _tamper(db, "UPDATE audit_events SET details = :details WHERE id = :id",
            details=json.dumps({"i": 99, "text": "Nguyễn"}), id=target.id)
    report = verify_chain(db)
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (target.seq, target.id)
    assert report.reason == "content does not match its hash"
    assert report.events_checked == target.seq - 1


def test_a_rewritten_hash_breaks_the_next_link(db):
    events = _append(db, 3)
    _tamper(db, "UPDATE audit_events SET action = 'test.innocent', hash = :hash WHERE id = :id",
            hash="f" * 64, id=events[0].id)
    report = verify_chain(db)
    assert report.broken_seq == events[0].seq  # its own hash no longer matches its content


def test_a_removed_last_event_is_noticed(db):
    events = _append(db, 3)
    _tamper(db, "DELETE FROM audit_events WHERE id = :id", id=events[-1].id)
    report = verify_chain(db)
    assert not report.ok
    assert report.broken_seq == events[-1].seq and "missing" in report.reason


def test_the_database_refuses_updates_and_deletes(db):
    [event] = _append(db, 1)
    for statement in ("UPDATE audit_events SET action = 'x' WHERE id = :id", "DELETE FROM audit_events WHERE id = :id"):
        with pytest.raises(DBAPIError):
            with db.begin_nested():
                db.execute(text(statement), {"id": event.id})
    db.expire_all()
    assert db.get(AuditEvent, event.id).action == "test.action0"
    assert verify_chain(db).ok


def test_search_filters_and_pages(db):
    _append(db, 6)
    alice = search_audit_events(db, actor_id="alice-id", limit=50).items
    assert [e.target_id for e in alice] == ["t4", "t2", "t0"]
    assert [e.target_id for e in search_audit_events(db, action="test.action1").items] == ["t5", "t3", "t1"]
    assert len(search_audit_events(db, action="test.").items) == 6
    assert [e.target_id for e in search_audit_events(db, target_type="thing", target_id="t3").items] == ["t3"]
    window = search_audit_events(db, since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4),
                                 action="test.", order="asc").items
    assert [e.target_id for e in window] == ["t2", "t3"]
    naive = search_audit_events(db, since=(T0 + timedelta(minutes=5)).replace(tzinfo=None), action="test.").items
    assert [e.target_id for e in naive] == ["t5"]

    seen, cursor = [], None
    while True:
        page = search_audit_events(db, action="test.", order="asc", limit=4, cursor=cursor)
        seen += [e.target_id for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"t{i}" for i in range(6)]
    with pytest.raises(InvalidInput):
        search_audit_events(db, cursor="not-a-cursor")


def test_details_round_trip_exactly(db):
    [event] = _append(db, 1)
    db.expunge_all()
    again = db.execute(select(AuditEvent).where(AuditEvent.id == event.id)).scalar_one()
    assert again.details == {"i": 0, "text": "Nguyễn"}
    assert event_hash(again) == again.hash


def test_queued_events_are_written_at_commit_and_dropped_on_rollback(db):
    before = db.get(AuditChainHead, 1).last_seq
    kept = record(db, ALICE, "test.kept")
    db.commit()
    assert kept.seq == before + 1
    record(db, ALICE, "test.dropped")
    db.rollback()
    db.commit()
    assert db.get(AuditChainHead, 1).last_seq == before + 1
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "test.dropped")).first() is None


def test_a_failed_issuance_leaves_no_certificate_and_no_issued_event(make_app, auth, monkeypatch):
    """Signing fails after the work began: the savepoint drops its rows and its audit events."""
    from ecert.models import Certificate
    from ecert.services import issuance
    from tests.support import form1_payload, history_since_14

    def broken_pdf_signer(*_args, **_kwargs):
        raise RuntimeError("HSM unplugged")

    monkeypatch.setattr(issuance, "sign_pdf", broken_pdf_signer)
    app = make_app()
    session = app.extensions["ecert.sessionmaker"]()
    # Other tests may have committed events (PostgreSQL races): look only at what this one adds.
    first_seq = session.get(AuditChainHead, 1).last_seq + 1
    certificates_before = session.query(Certificate).count()
    session.close()
    body = app.test_client().post("/api/v1/requests", json=form1_payload(residence_history=history_since_14("1990-05-17")),
                                  headers=auth()).get_json()
    assert body["status"] == "needs_review"
    session = app.extensions["ecert.sessionmaker"]()
    actions = [e.action for e in session.execute(
        select(AuditEvent).where(AuditEvent.seq >= first_seq).order_by(AuditEvent.seq)).scalars()]
    assert actions == ["request.submitted", "request.needs_review"]
    assert session.query(Certificate).count() == certificates_before
    assert verify_chain(session).ok
