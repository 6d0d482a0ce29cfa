"""The audit log: keyed hash chain, checkpoints, verification, append-only storage, and the staff search."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import stat
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from ecert.config import load_settings
from ecert.errors import ConfigurationError, InvalidInput
from ecert.models import AuditChainHead, AuditEvent
from ecert.services import audit
from ecert.services.audit import (
    GENESIS_HASH,
    Actor,
    AuditKey,
    event_hash,
    key_for,
    record,
    search_events,
    verify_chain,
)
from ecert.wiring import resources_of
from tests.conftest import TEST_AUDIT_KEY

ALICE = Actor("staff", "alice-id", "req-1")
BOB = Actor("staff", "bob-id", "req-2")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


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
    for before, after in itertools.pairwise(events):
        assert after.seq == before.seq + 1
        assert after.prev_hash == before.hash
    if events[0].seq == 1:
        assert events[0].prev_hash == GENESIS_HASH
    else:
        before_first = db.execute(select(AuditEvent).where(AuditEvent.seq == events[0].seq - 1)).scalar_one()
        assert events[0].prev_hash == before_first.hash
    assert all(event_hash(e, key_for(db)) == e.hash for e in events)
    assert events[0].http_request_id == "req-1" and events[0].actor_id == "alice-id"


def test_verify_walks_the_whole_chain(db):
    _append(db, 5)
    report = verify_chain(db, batch_size=2)  # batches must join up too
    assert report.ok
    assert report.events_checked == db.get(AuditChainHead, 1).last_seq


def test_a_changed_detail_breaks_the_chain_at_that_event(owner_db):
    events = _append(owner_db, 4)
    target = events[1]
    _tamper(owner_db, "UPDATE audit_events SET details = :details WHERE id = :id",
            details=json.dumps({"i": 99, "text": "Nguyễn"}), id=target.id)
    report = verify_chain(owner_db)
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (target.seq, target.id)
    assert report.reason == "content does not match its hash"
    assert report.events_checked == target.seq - 1


def test_a_rewritten_hash_breaks_the_next_link(owner_db):
    events = _append(owner_db, 3)
    _tamper(owner_db, "UPDATE audit_events SET action = 'test.innocent', hash = :hash WHERE id = :id",
            hash="f" * 64, id=events[0].id)
    report = verify_chain(owner_db)
    assert report.broken_seq == events[0].seq  # its own hash no longer matches its content


def test_a_removed_last_event_is_noticed(owner_db):
    events = _append(owner_db, 3)
    _tamper(owner_db, "DELETE FROM audit_events WHERE id = :id", id=events[-1].id)
    report = verify_chain(owner_db)
    assert not report.ok
    assert report.broken_seq == events[-1].seq and "missing" in report.reason


def test_the_database_refuses_updates_and_deletes(owner_db):
    """Even the owner (who is allowed to, on PostgreSQL) meets the append-only triggers."""
    db = owner_db
    [event] = _append(db, 1)
    for statement in ("UPDATE audit_events SET action = 'x' WHERE id = :id", "DELETE FROM audit_events WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(statement), {"id": event.id})
    db.expire_all()
    assert db.get(AuditEvent, event.id).action == "test.action0"
    assert verify_chain(db).ok


def test_search_filters_and_pages(db):
    _append(db, 6)
    alice = search_events(db, actor_id="alice-id", limit=50).items
    assert [e.target_id for e in alice] == ["t4", "t2", "t0"]
    assert [e.target_id for e in search_events(db, action="test.action1").items] == ["t5", "t3", "t1"]
    assert len(search_events(db, action="test.").items) == 6
    assert [e.target_id for e in search_events(db, target_type="thing", target_id="t3").items] == ["t3"]
    window = search_events(db, since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4),
                                 action="test.", order="asc").items
    assert [e.target_id for e in window] == ["t2", "t3"]
    naive = search_events(db, since=(T0 + timedelta(minutes=5)).replace(tzinfo=None), action="test.").items
    assert [e.target_id for e in naive] == ["t5"]

    seen, cursor = [], None
    while True:
        page = search_events(db, action="test.", order="asc", limit=4, cursor=cursor)
        seen += [e.target_id for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"t{i}" for i in range(6)]
    with pytest.raises(InvalidInput):
        search_events(db, cursor="not-a-cursor")


def test_details_round_trip_exactly(db):
    [event] = _append(db, 1)
    db.expunge_all()
    again = db.execute(select(AuditEvent).where(AuditEvent.id == event.id)).scalar_one()
    assert again.details == {"i": 0, "text": "Nguyễn"}
    assert event_hash(again, key_for(db)) == again.hash


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
    session = resources_of(app).sessionmaker()
    # Other tests may have committed events (PostgreSQL races): look only at what this one adds.
    first_seq = session.get(AuditChainHead, 1).last_seq + 1
    certificates_before = session.query(Certificate).count()
    session.close()
    body = app.test_client().post("/api/v1/requests", json=form1_payload(residence_history=history_since_14("1990-05-17")),
                                  headers=auth()).get_json()
    assert body["status"] == "needs_review"
    session = resources_of(app).sessionmaker()
    actions = [e.action for e in session.execute(
        select(AuditEvent).where(AuditEvent.seq >= first_seq).order_by(AuditEvent.seq)).scalars()]
    assert actions == ["request.submitted", "request.needs_review"]
    assert session.query(Certificate).count() == certificates_before
    assert verify_chain(session).ok


# --- the keyed chain and checkpoints: someone who can write the database ------------------------
#
# Each attack below is what someone with the database's owner rights can do: drop the append-only
# triggers, edit or delete events, recompute the chain and fix the head row. What they do not have
# is the audit key (never in the database) and the checkpoint files (kept elsewhere).


def _recompute_without_the_key(db, from_seq: int) -> None:
    """Rewrite hash/prev_hash from ``from_seq`` to the end and the head, as an attacker who knows
    the format but not the key would: plain SHA-256 over the same canonical bytes."""
    rows = db.execute(select(AuditEvent).where(AuditEvent.seq >= from_seq).order_by(AuditEvent.seq)).scalars().all()
    previous = db.execute(select(AuditEvent.hash).where(AuditEvent.seq == from_seq - 1)).scalar_one_or_none()
    previous = previous or GENESIS_HASH
    for row in rows:
        fields = dict(audit.event_fields(row), prev_hash=previous)
        digest = hashlib.sha256(audit._canonical(fields, keyed=True)).hexdigest()
        db.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id"),
                   {"p": previous, "h": digest, "id": row.id})
        previous = digest
    db.execute(text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1"),
               {"s": rows[-1].seq, "h": previous})
    db.commit()
    db.expunge_all()


def _delete_newest(db, events) -> None:
    """Delete ``events`` (the newest ones) and point the head at what is left."""
    for event_row in events:
        db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": event_row.id})
    last = db.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    db.execute(text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1"),
               {"s": last.seq, "h": last.hash})
    db.commit()
    db.expunge_all()


def _open_the_table(db) -> None:
    _tamper(db, "SELECT 1")


def test_the_hash_is_an_hmac_under_the_audit_key_named_in_the_event(db):
    [made] = _append(db, 1)
    key = AuditKey.from_text(TEST_AUDIT_KEY)
    assert made.key_id == key.key_id and len(key.key_id) == 16
    assert made.hash == hmac.new(TEST_AUDIT_KEY.encode(), audit._canonical(audit.event_fields(made), keyed=True),
                                 hashlib.sha256).hexdigest()
    assert made.hash != audit.legacy_hash(audit.event_fields(made))
    assert TEST_AUDIT_KEY not in repr(key)


def test_an_edit_hidden_by_recomputing_the_chain_without_the_key_is_found(owner_db):
    events = _append(owner_db, 4)
    target = events[1]
    _tamper(owner_db, "UPDATE audit_events SET details = :details WHERE id = :id",
            details=json.dumps({"i": 1, "text": "nothing happened"}), id=target.id)
    _recompute_without_the_key(owner_db, target.seq)
    report = verify_chain(owner_db)
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (target.seq, target.id)
    assert report.reason == "content does not match its hash"


def test_an_event_made_under_another_key_is_named(owner_db):
    events = _append(owner_db, 2)
    other = AuditKey.from_text("another-key-the-attacker-made-up-0123456789")
    fields = dict(audit.event_fields(events[1]), key_id=other.key_id)
    _tamper(owner_db, "UPDATE audit_events SET key_id = :k, hash = :h WHERE id = :id",
            k=other.key_id, h=audit.keyed_hash(fields, other), id=events[1].id)
    report = verify_chain(owner_db)
    assert report.broken_seq == events[1].seq and other.key_id in report.reason


def test_deleting_the_newest_events_is_found_only_against_a_checkpoint(owner_db):
    events = _append(owner_db, 4)
    checkpoint = audit.make_checkpoint(owner_db)
    assert (checkpoint.seq, checkpoint.hash, checkpoint.count) == (events[-1].seq, events[-1].hash, events[-1].seq)
    _open_the_table(owner_db)
    _delete_newest(owner_db, events[-2:])

    # A shorter keyed chain is still a valid chain: this is why checkpoints exist.
    assert verify_chain(owner_db).ok
    report = verify_chain(owner_db, checkpoint=checkpoint)
    assert not report.ok
    assert report.broken_seq == events[-2].seq and report.checkpoint_seq == checkpoint.seq
    assert "missing" in report.reason and f"saw {checkpoint.count} events" in report.reason


def test_an_edit_before_the_checkpoint_is_found_against_it(owner_db):
    events = _append(owner_db, 3)
    checkpoint = audit.make_checkpoint(owner_db)
    _append(owner_db, 2)  # the chain went on after the checkpoint: that is fine
    assert verify_chain(owner_db, checkpoint=checkpoint).ok
    _tamper(owner_db, "UPDATE audit_events SET actor_id = 'someone-else' WHERE id = :id", id=events[0].id)
    _recompute_without_the_key(owner_db, events[0].seq)
    report = verify_chain(owner_db, checkpoint=checkpoint)
    assert (report.ok, report.broken_seq, report.broken_id) == (False, events[0].seq, events[0].id)


def test_a_checkpoint_is_signed(db):
    _append(db, 2)
    key = key_for(db)
    document = audit.make_checkpoint(db).as_dict(key)
    assert audit.parse_checkpoint(document, key).seq == document["seq"]
    for forged in ({**document, "seq": document["seq"] - 1}, {**document, "hash": "0" * 64},
                   {**document, "mac": "0" * 64}, {k: v for k, v in document.items() if k != "mac"}):
        with pytest.raises(audit.CheckpointInvalid, match="signature"):
            audit.parse_checkpoint(forged, key)
    with pytest.raises(audit.CheckpointInvalid, match="audit key"):
        audit.parse_checkpoint(document, AuditKey.from_text("some other key, 32 characters or more"))
    with pytest.raises(audit.CheckpointInvalid):
        audit.parse_checkpoint(["not", "a", "checkpoint"], key)


def test_no_checkpoint_over_a_broken_chain(owner_db):
    events = _append(owner_db, 2)
    _tamper(owner_db, "UPDATE audit_events SET action = 'x' WHERE id = :id", id=events[0].id)
    with pytest.raises(audit.ChainBroken) as info:
        audit.make_checkpoint(owner_db)
    assert info.value.report.broken_seq == events[0].seq


def test_without_a_key_nothing_audited_commits(db, monkeypatch):
    monkeypatch.setattr(audit, "_KEYS", weakref.WeakKeyDictionary())
    before = db.get(AuditChainHead, 1).last_seq
    record(db, ALICE, "test.unkeyed")
    with pytest.raises(audit.AuditKeyMissing):
        db.commit()
    db.rollback()
    assert db.get(AuditChainHead, 1).last_seq == before
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "test.unkeyed")).first() is None


def test_production_requires_an_audit_key():
    env = {
        "ECERT_ENV": "production", "ECERT_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/x",
        "ECERT_SECRET_KEY": "s" * 40, "ECERT_PUBLIC_BASE_URL": "https://ecert.gov.vn",
        "ECERT_IDP_JWKS": "https://idp.example/jwks", "ECERT_IDP_ISSUER": "https://idp.example",
        "ECERT_IDP_AUDIENCE": "ecert", "ECERT_REDIS_URL": "redis://cache:6379/0", "ECERT_METRICS_TOKEN": "m" * 32,
    }
    with pytest.raises(ConfigurationError, match="ECERT_AUDIT_KEY"):
        load_settings(env)
    with pytest.raises(ConfigurationError, match="ECERT_AUDIT_KEY must be at least 32"):
        load_settings({**env, "ECERT_AUDIT_KEY": "short"})
    assert load_settings({**env, "ECERT_AUDIT_KEY": "k" * 32}).audit_key == "k" * 32


def test_the_development_key_file_is_private_and_made_once(tmp_path):
    path, created = audit.ensure_dev_key_file(tmp_path)
    assert created and path == tmp_path / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = audit.load_key("", tmp_path, create=False)
    assert audit.ensure_dev_key_file(tmp_path) == (path, False)
    assert audit.load_key("", tmp_path, create=False) == first
    assert audit.load_key("from-the-environment", tmp_path, create=False) == AuditKey(b"from-the-environment")
    assert audit.load_key("", tmp_path / "empty", create=False) is None


# --- the CLI ---------------------------------------------------------------------------------------


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["ecert", "audit", *args])


def test_cli_checkpoint_then_verify_finds_deleted_newest_events(owner_app, owner_db, tmp_path):
    events = _append(owner_db, 3)
    out = tmp_path / "offsite" / "head.json"
    made = _cli(owner_app, "checkpoint", "--out", str(out), "--json")
    assert made.exit_code == 0, made.output
    document = json.loads(out.read_text())
    assert json.loads(made.output)["file"] == str(out)
    assert (document["seq"], document["hash"]) == (events[-1].seq, events[-1].hash)
    assert {"seq", "hash", "count", "event_at", "made_at", "key_id", "mac"} <= set(document)
    assert document["made_at"].endswith("Z")

    intact = _cli(owner_app, "verify", "--checkpoint", str(out), "--json")
    assert intact.exit_code == 0, intact.output
    assert json.loads(intact.output)["checkpoint"]["seq"] == events[-1].seq

    _open_the_table(owner_db)
    _delete_newest(owner_db, events[-1:])
    assert _cli(owner_app, "verify").exit_code == 0  # without the checkpoint: looks fine
    broken = _cli(owner_app, "verify", "--checkpoint", str(out), "--json")
    assert broken.exit_code == 1, broken.output
    assert json.loads(broken.output)["broken"]["seq"] == events[-1].seq
    text_run = _cli(owner_app, "verify", "--checkpoint", str(out))
    assert text_run.exit_code == 1 and f"BROKEN at event seq {events[-1].seq}" in text_run.output


def test_cli_checkpoint_goes_under_the_instance_dir_by_default(app, db):
    [last] = _append(db, 1)
    result = _cli(app, "checkpoint", "--json")
    assert result.exit_code == 0, result.output
    written = Path(json.loads(result.output)["file"])
    assert written == resources_of(app).settings.instance_dir / "audit-checkpoints" / f"{last.seq}.json"
    assert json.loads(written.read_text())["hash"] == last.hash


def test_cli_refuses_a_forged_checkpoint(app, db, tmp_path):
    _append(db, 1)
    out = tmp_path / "cp.json"
    assert _cli(app, "checkpoint", "--out", str(out)).exit_code == 0
    document = json.loads(out.read_text())
    out.write_text(json.dumps({**document, "count": document["count"] + 5}))
    result = _cli(app, "verify", "--checkpoint", str(out), "--json")
    assert result.exit_code == 1
    assert "signature" in json.loads(result.output)["checkpoint_error"]


def test_cli_will_not_checkpoint_a_broken_chain(owner_app, owner_db, tmp_path):
    events = _append(owner_db, 2)
    _tamper(owner_db, "UPDATE audit_events SET action = 'x' WHERE id = :id", id=events[1].id)
    result = _cli(owner_app, "checkpoint", "--out", str(tmp_path / "cp.json"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["broken"]["seq"] == events[1].seq
    assert not (tmp_path / "cp.json").exists()


# --- migration 0004: a development database with events from before the chain was keyed -----------


def _legacy_database(tmp_path, count: int = 3):
    from alembic import command
    from sqlalchemy import create_engine

    from ecert.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    command.upgrade(alembic_config(url), "0003")
    engine = create_engine(url)
    previous = GENESIS_HASH
    with engine.begin() as conn:
        for seq in range(1, count + 1):
            fields = {"seq": seq, "occurred_at": T0 + timedelta(minutes=seq), "actor_type": "staff",
                      "actor_id": "alice-id", "action": "test.legacy", "target_type": None, "target_id": None,
                      "http_request_id": None, "details": {"n": seq}, "prev_hash": previous}
            digest = audit.legacy_hash(fields)
            conn.execute(text(
                "INSERT INTO audit_events (seq, occurred_at, actor_type, actor_id, action, details, prev_hash, hash) "
                "VALUES (:seq, :at, 'staff', 'alice-id', 'test.legacy', :details, :prev, :hash)"),
                {"seq": seq, "at": fields["occurred_at"].replace(tzinfo=None), "details": json.dumps(fields["details"]),
                 "prev": previous, "hash": digest})
            previous = digest
        conn.execute(text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h"), {"s": count, "h": previous})
    return url, engine, previous


def test_migration_0004_rekeys_a_legacy_chain(tmp_path):
    from sqlalchemy.orm import Session

    from ecert.migrate import upgrade_head

    url, engine, legacy_head = _legacy_database(tmp_path)
    key = AuditKey.from_text(TEST_AUDIT_KEY)
    upgrade_head(url, audit_key=key)
    audit.use_key(engine, key)
    with Session(engine) as session:
        report = verify_chain(session)
        assert report.ok and report.events_checked == 4
        marker = session.execute(select(AuditEvent).where(AuditEvent.seq == 4)).scalar_one()
        assert marker.action == "audit.chain_keyed"
        assert marker.details == {"events_rekeyed": 3, "legacy_head_hash": legacy_head, "key_id": key.key_id}
        # The triggers were put back.
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text("UPDATE audit_events SET action = 'x' WHERE seq = 1"))
    engine.dispose()


def test_migration_0004_will_not_launder_a_broken_legacy_chain(tmp_path):
    from ecert.migrate import upgrade_head

    url, engine, _ = _legacy_database(tmp_path)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET actor_id = 'mallory' WHERE seq = 2"))
    with pytest.raises(RuntimeError, match="already broken at seq 2"):
        upgrade_head(url, audit_key=AuditKey.from_text(TEST_AUDIT_KEY))
    engine.dispose()


def test_the_app_role_is_the_app_urls_user_when_migrations_run_as_another():
    from ecert.config import Settings
    from ecert.migrate import app_role_for, grant_statements

    pg = "postgresql+psycopg://{}:pw@db/ecert"
    assert app_role_for(Settings(database_url=pg.format("ecert_app"),
                                 database_owner_url=pg.format("ecert_owner"))) == "ecert_app"
    assert app_role_for(Settings(database_url=pg.format("ecert"), database_owner_url=pg.format("ecert"))) is None
    assert app_role_for(Settings(database_url=pg.format("ecert_app"))) is None
    statements = grant_statements("ecert_app", lambda name: f'"{name}"')
    revoke = 'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON "audit_events" FROM "ecert_app"'
    # The revocation comes after the blanket grant, or the grant would give the rights back.
    assert statements.index(revoke) > statements.index(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "ecert_app"')
