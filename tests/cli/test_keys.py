"""Key lifecycle through the CLI: rotation keeps old certificates verifying, revocation does not."""
from __future__ import annotations

import json

import pytest

from ecert.models import AuditEvent, SigningKey
from ecert.wiring import resources_of
from tests.support import form1_payload, history_since_14
from verification import CertificateStatus, TrustList, verify_token

AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
BINH = {"pid": "079185001234", "name": "Trần Thị Bình", "birthdate": "1985-11-02", "gender": "female"}


def _issue(client, auth, person):
    body = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14(person["birthdate"])),
                       headers=auth(**person)).get_json()
    assert body["status"] == "issued", body
    return client.get(f"/api/v1/certificates/{body['certificate_id']}", headers=auth(**person)).get_json()


def _trust(client) -> TrustList:
    root = client.get("/.well-known/ecert/root-ca.pem").data
    return TrustList.from_json(client.get("/.well-known/ecert/trust-list.json").get_json(), root=root)


def _valid(_cti: bytes) -> CertificateStatus:
    return CertificateStatus("valid")


@pytest.fixture
def seeded(app):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    return app


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=["ecert", "keys", *args])
    return result


def test_rotation_keeps_old_certificates_verifying(seeded, client, auth, db):
    before = _issue(client, auth, AN)
    old_kid = db.query(SigningKey).filter_by(status="active").one().kid
    result = _cli(seeded, "rotate", "--json")
    assert result.exit_code == 0, result.output
    new_kid = json.loads(result.output)[0]["kid"]
    assert new_kid != old_kid
    statuses = {k.kid: k.status for k in db.query(SigningKey)}
    assert statuses[old_kid] == "retired" and statuses[new_kid] == "active"

    after = _issue(client, auth, BINH)
    trust = _trust(client)
    old = verify_token(before["qr_text"], trust, status_lookup=_valid)
    new = verify_token(after["qr_text"], trust, status_lookup=_valid)
    assert old.outcome == "valid", old.to_dict()
    assert new.outcome == "valid", new.to_dict()
    assert old.kid != new.kid
    listed = {k["status"] for k in client.get("/.well-known/ecert/trust-list.json").get_json()["keys"]}
    assert listed == {"active", "retired"}
    actions = {e.action for e in db.query(AuditEvent)}
    assert {"key.retired", "key.activated"} <= actions


def test_revoked_key_makes_its_certificates_signer_revoked(seeded, client, auth, db):
    cert = _issue(client, auth, AN)
    kid = db.query(SigningKey).filter_by(status="active").one().kid
    assert _cli(seeded, "revoke", kid).exit_code == 0
    result = verify_token(cert["qr_text"], _trust(client), status_lookup=_valid)
    assert result.outcome == "signer_revoked"
    # and nothing new is signed with it: the automatic path falls back to staff review
    body = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14(BINH["birthdate"])),
                       headers=auth(**BINH)).get_json()
    assert body["status"] == "needs_review"
    assert client.get("/readyz").status_code in (200, 503)


def test_retire_without_successor_stops_issuance(seeded, client, auth, db):
    kid = db.query(SigningKey).filter_by(status="active").one().kid
    assert _cli(seeded, "retire", kid[:6]).exit_code == 0
    assert _cli(seeded, "retire", kid).exit_code != 0  # not active any more
    body = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14(AN["birthdate"])),
                       headers=auth(**AN)).get_json()
    assert body["status"] == "needs_review"


def test_keys_list(seeded):
    result = _cli(seeded, "list", "--json")
    assert result.exit_code == 0
    keys = json.loads(result.output)
    assert [k["status"] for k in keys] == ["active"]


def test_unknown_kid_is_a_clear_error(seeded):
    result = _cli(seeded, "revoke", "ffffffffffff")
    assert result.exit_code != 0
    assert "no single key" in result.output


def test_an_expired_signing_key_is_never_used(seeded, client, auth, db, tmp_path):
    """An expired DSC imported as active: issuance stops (to review), nothing is signed with it."""
    from datetime import datetime, timedelta, timezone

    from ecert.models import Certificate
    from signing.pki import (
        ROOT_KEY_FILE,
        issue_document_signer,
        load_certificate,
        load_private_key,
        save_certificate,
        save_private_key,
    )

    settings = resources_of(seeded).settings
    root_key = load_private_key(settings.pki_dir / ROOT_KEY_FILE)
    root_cert = load_certificate(settings.pki_dir / "root-ca.pem")
    past = datetime.now(timezone.utc) - timedelta(days=30)
    key, cert = issue_document_signer(root_key, root_cert, "expired DSC", "test", validity_days=1, now=past)
    save_private_key(tmp_path / "expired.key", key)
    save_certificate(tmp_path / "expired.pem", cert)
    result = _cli(seeded, "import", "--key", str(tmp_path / "expired.key"), "--cert", str(tmp_path / "expired.pem"))
    assert result.exit_code == 0, result.output
    before = db.query(Certificate).count()
    body = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14(AN["birthdate"])),
                       headers=auth(**AN)).get_json()
    assert body["status"] == "needs_review"
    assert db.query(Certificate).count() == before
