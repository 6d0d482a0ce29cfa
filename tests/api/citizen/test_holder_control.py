"""Issue 11 end to end through the API: verifier organisations and their keys, who checked my
certificate, share links and their page, signed download links. Ownership and hostile input:
another citizen's certificate, a staff token, forged, expired, revoked and used-up links, a
disabled organisation's key."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import itsdangerous.timed
import pytest
from sqlalchemy import select

from ecert.db import utcnow
from ecert.models import AuditEvent, ShareLink, VerificationEvent
from ecert.services.download_links import LinkSigner, link_keys
from ecert.wiring import resources_of
from tests.api.public.test_verification_api import AN, BINH, issue, revoke_in_db
from tests.api.test_no_ip_in_logs import ADDRESS, _everything_about, everything_logged  # noqa: F401
from tests.support import ON_POSTGRES, PUBLIC_BASE_URL

VERIFY = "/api/v1/verifications"


@pytest.fixture
def seeded(app):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    return app


@pytest.fixture
def an_cert(seeded, client, auth):
    return issue(seeded, client, auth, AN)


def cli_json(app: Any, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["ecert", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def new_verifier(app: Any, name: str = "Ngân hàng Ví Dụ", quota: str | None = None) -> dict[str, Any]:
    return cli_json(app, "verifiers", "create", "--name", name, *(["--quota", quota] if quota else []))


def checks_of(client, auth, cert_id: str, person=AN, **query) -> Any:
    return client.get(f"/api/v1/certificates/{cert_id}/verifications", headers=auth(**person), query_string=query)


def share(client, auth, cert_id: str, person=AN, **body) -> Any:
    body.setdefault("expires_in_hours", 24)
    return client.post(f"/api/v1/certificates/{cert_id}/shares", json=body, headers=auth(**person))


def signed_long_ago(app: Any, purpose: str, value: str, monkeypatch: Any) -> str:
    """A genuine link signed an hour ago (the app's keys, a clock set back while signing)."""
    settings = resources_of(app).settings
    signer = LinkSigner(link_keys(settings.secret_key, settings.download_link_keys), minutes=10)
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda _self: int(time.time()) - 3600)
        return signer.sign(purpose, value)


def page_path(url: str) -> str:
    assert url.startswith(PUBLIC_BASE_URL + "/s/"), url
    return url[len(PUBLIC_BASE_URL):]


# --- 1. verifier organisations ---------------------------------------------------------------------


def test_an_organisations_check_is_named_to_the_holder(seeded, client, auth, an_cert, db):
    org = new_verifier(seeded)
    assert org["api_key"].startswith(f"ev_{org['id']}_") and len(org["api_key"]) > 60
    response = client.post(VERIFY, json={"qr": an_cert["qr_text"]}, headers={"X-Api-Key": org["api_key"]})
    assert response.status_code == 200 and response.get_json()["outcome"] == "valid"
    client.post(VERIFY, json={"qr": an_cert["qr_text"]})  # anonymous still works
    log = checks_of(client, auth, an_cert["id"]).get_json()
    assert [item["verifier"] for item in log["items"]] == [None, {"id": org["id"], "name": "Ngân hàng Ví Dụ"}]
    assert {item["channel"] for item in log["items"]} == {"qr"}
    # The key is stored only as a hash.
    db.expire_all()
    stored = cli_json(seeded, "verifiers", "list")
    assert org["api_key"] not in json.dumps(stored) and stored[0]["name"] == "Ngân hàng Ví Dụ"


@pytest.mark.parametrize("key", [
    "ev_00000000-0000-0000-0000-000000000000_nothing", "not-a-key", "ev__", "ev_" + "a" * 500, "ev_x\x01_y", "",
])
def test_a_wrong_key_is_401(seeded, client, an_cert, key):
    response = client.post(VERIFY, json={"qr": an_cert["qr_text"]}, headers={"X-Api-Key": key})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "api_key_invalid"
    assert "ApiKey" in response.headers["WWW-Authenticate"]


def test_a_forged_secret_for_a_real_id_is_401_and_logs_nothing(seeded, client, an_cert, db):
    org = new_verifier(seeded)
    forged = org["api_key"][:-4] + ("AAAA" if not org["api_key"].endswith("AAAA") else "BBBB")
    assert client.post(VERIFY, json={"qr": an_cert["qr_text"]}, headers={"X-Api-Key": forged}).status_code == 401
    db.expire_all()
    assert db.scalars(select(VerificationEvent)).all() == []


def test_a_disabled_organisations_key_is_401_at_once(seeded, client, an_cert):
    org = new_verifier(seeded)
    headers = {"X-Api-Key": org["api_key"]}
    assert client.post(VERIFY, json={"qr": an_cert["qr_text"]}, headers=headers).status_code == 200
    disabled = cli_json(seeded, "verifiers", "disable", org["id"])
    assert disabled["disabled_at"]
    response = client.post(VERIFY, json={"qr": an_cert["qr_text"]}, headers=headers)
    assert response.status_code == 401 and response.get_json()["code"] == "api_key_disabled"
    pdf = client.post(f"{VERIFY}/pdf", data={}, headers=headers)
    assert pdf.status_code == 401


def test_an_organisation_spends_its_own_quota_not_the_address(make_app, auth):
    app = make_app(rate_limits="verification=2/minute")
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    client = app.test_client()
    small = new_verifier(app, "Small", quota="3/minute")
    other = new_verifier(app, "Other", quota="1/minute")
    headers = {"X-Api-Key": small["api_key"]}
    statuses = [client.post(VERIFY, json={"qr": "junk"}, headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.post(VERIFY, json={"qr": "junk"}, headers=headers).headers["Retry-After"]
    # The address's own budget (2/minute) was not spent by the organisation's checks, nor the
    # other organisation's.
    assert [client.post(VERIFY, json={"qr": "junk"}).status_code for _ in range(3)] == [200, 200, 429]
    other_headers = {"X-Api-Key": other["api_key"]}
    assert [client.post(VERIFY, json={"qr": "junk"}, headers=other_headers).status_code for _ in range(2)] == [200, 429]


def test_verifier_cli_refuses_bad_input(seeded):
    runner = seeded.test_cli_runner()
    assert runner.invoke(args=["ecert", "verifiers", "create", "--name", "X", "--quota", "lots"]).exit_code != 0
    assert runner.invoke(args=["ecert", "verifiers", "create", "--name", "  "]).exit_code != 0
    assert runner.invoke(args=["ecert", "verifiers", "create", "--name", "Bad\x00name"]).exit_code != 0
    new_verifier(seeded, "Twice")
    twice = runner.invoke(args=["ecert", "verifiers", "create", "--name", "Twice"])
    assert twice.exit_code != 0 and "verifier_name_taken" in twice.output
    assert runner.invoke(args=["ecert", "verifiers", "disable", "no-such-id"]).exit_code != 0


def test_verifier_changes_are_audited(seeded, db):
    org = new_verifier(seeded, "Audited")
    cli_json(seeded, "verifiers", "disable", org["id"])
    db.expire_all()
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.target_id == org["id"]).order_by(AuditEvent.seq))
    assert list(actions) == ["verifier.created", "verifier.disabled"]


# --- 2. who checked my certificate -----------------------------------------------------------------


def test_the_log_is_paged_newest_first_with_a_notice(seeded, client, auth, an_cert):
    for _ in range(3):
        client.post(VERIFY, json={"qr": an_cert["qr_text"]})
    client.get(an_cert["qr_text"][len(PUBLIC_BASE_URL):])
    first = checks_of(client, auth, an_cert["id"], limit=2).get_json()
    assert [item["channel"] for item in first["items"]] == ["page", "qr"]
    assert first["next_cursor"] and "ngoại tuyến" in first["notice"] and first["retention_days"] == 365
    second = checks_of(client, auth, an_cert["id"], limit=2, cursor=first["next_cursor"]).get_json()
    assert [item["channel"] for item in second["items"]] == ["qr", "qr"] and second["next_cursor"] is None
    item = first["items"][0]
    assert set(item) >= {"checked_at", "channel", "outcome", "verifier"} and item["checked_at"].endswith("Z")
    english = client.get(f"/api/v1/certificates/{an_cert['id']}/verifications",
                         headers={**auth(**AN), "Accept-Language": "en"}).get_json()
    assert "offline" in english["notice"]


def test_the_log_is_404_for_another_citizen_and_401_for_staff_or_nobody(seeded, client, auth, an_cert):
    response = checks_of(client, auth, an_cert["id"], person=BINH)
    assert response.status_code == 404 and response.get_json()["code"] == "certificate_not_found"
    path = f"/api/v1/certificates/{an_cert['id']}/verifications"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer opaque-staff-session-token"}).status_code == 401
    assert checks_of(client, auth, an_cert["id"], cursor="v1.junk.junk").status_code == 422
    assert checks_of(client, auth, an_cert["id"], limit=0).status_code == 422


def test_prune_deletes_only_what_is_older_than_the_retention(seeded, client, auth, an_cert, db):
    client.post(VERIFY, json={"qr": an_cert["qr_text"]})
    client.post(VERIFY, json={"qr": an_cert["qr_text"]})
    db.expire_all()
    old = db.scalars(select(VerificationEvent).order_by(VerificationEvent.id)).first()
    old.checked_at = utcnow() - timedelta(days=400)
    db.commit()
    result = cli_json(seeded, "verifications", "prune")
    assert result["deleted"] == 1 and result["retention_days"] == 365
    assert len(checks_of(client, auth, an_cert["id"]).get_json()["items"]) == 1
    assert cli_json(seeded, "verifications", "prune", "--days", "1")["deleted"] == 0
    db.expire_all()
    assert db.scalars(select(AuditEvent.action).where(AuditEvent.action == "verifications.pruned")).all()


# --- 3. share links --------------------------------------------------------------------------------


def test_share_create_list_open_and_revoke(seeded, client, auth, an_cert, db):
    created = share(client, auth, an_cert["id"], expires_in_hours=72, max_uses=2)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["uses"] == 0 and body["max_uses"] == 2 and body["state"] == "live" and body["revoked_at"] is None
    secret = body["url"].rsplit("/", 1)[1]
    assert len(secret) >= 43  # 256 bits
    db.expire_all()
    stored = db.get(ShareLink, body["id"])
    assert secret not in (stored.secret_sha256, json.dumps(body["id"]))

    page = client.get(page_path(body["url"]))
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'data-outcome="valid"' in html and an_cert["number"] in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.headers["Cache-Control"] == "no-store"
    assert "/pdf/" not in html  # the PDF was not included

    listing = client.get(f"/api/v1/certificates/{an_cert['id']}/shares", headers=auth(**AN)).get_json()
    assert [(s["id"], s["uses"], s["url"]) for s in listing["items"]] == [(body["id"], 1, None)]
    log = checks_of(client, auth, an_cert["id"]).get_json()["items"]
    assert [(item["channel"], item["outcome"], item["share_id"]) for item in log] == [("share", "valid", body["id"])]

    revoked = client.delete(f"/api/v1/certificates/{an_cert['id']}/shares/{body['id']}", headers=auth(**AN))
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    again = client.delete(f"/api/v1/certificates/{an_cert['id']}/shares/{body['id']}", headers=auth(**AN))
    assert again.status_code == 200 and again.get_json()["revoked_at"] == revoked.get_json()["revoked_at"]
    gone = client.get(page_path(body["url"]))
    assert gone.status_code == 410 and 'data-outcome="revoked"' in gone.get_data(as_text=True)
    assert gone.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"]
    english = client.get(page_path(body["url"]) + "?lang=en")
    assert "revoked" in english.get_data(as_text=True) and english.headers["Content-Language"] == "en"
    db.expire_all()
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.target_id == body["id"]).order_by(AuditEvent.seq))
    assert list(actions) == ["share.created", "share.revoked"]


def test_a_share_is_used_up_after_max_uses(seeded, client, auth, an_cert):
    url = share(client, auth, an_cert["id"], max_uses=1).get_json()["url"]
    assert client.get(page_path(url)).status_code == 200
    gone = client.get(page_path(url))
    assert gone.status_code == 410 and 'data-outcome="used_up"' in gone.get_data(as_text=True)
    log = checks_of(client, auth, an_cert["id"]).get_json()["items"]
    assert [item["channel"] for item in log] == ["share"]  # the refused opening is not a check


def test_an_expired_share_is_410(seeded, client, auth, an_cert, db):
    body = share(client, auth, an_cert["id"]).get_json()
    db.expire_all()
    db.get(ShareLink, body["id"]).expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    gone = client.get(page_path(body["url"]))
    assert gone.status_code == 410 and 'data-outcome="expired"' in gone.get_data(as_text=True)


def test_a_forged_share_link_is_404_and_logs_nothing(seeded, client, auth, an_cert, db):
    body = share(client, auth, an_cert["id"]).get_json()
    path = page_path(body["url"])
    share_id, secret = path.split("/")[2:4]
    for forged in (f"/s/{share_id}/{secret[:-1]}x", f"/s/{share_id}/x", f"/s/00000000-0000-0000-0000-000000000000/{secret}",
                   f"/s/{share_id}/{'a' * 5000}", f"/s/{share_id[:-1]}%00/{secret}", f"/s/{share_id}/{secret}%00"):
        response = client.get(forged)
        assert response.status_code == 404, forged
        assert 'data-outcome="not_found"' in response.get_data(as_text=True)
    db.expire_all()
    assert db.scalars(select(VerificationEvent)).all() == []
    assert db.get(ShareLink, body["id"]).uses == 0


def test_the_pdf_of_a_share_that_includes_it(seeded, client, auth, an_cert, app):
    url = share(client, auth, an_cert["id"], include_pdf=True, max_uses=1).get_json()["url"]
    html = client.get(page_path(url)).get_data(as_text=True)
    pdf_path = html.split('class="download" href="', 1)[1].split('"', 1)[0]
    share_id = page_path(url).split("/")[2]
    assert pdf_path.startswith(f"/s/{share_id}/pdf/")
    pdf = client.get(pdf_path)  # after the last use: the ticket proves that opening
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(pdf_path[:-2] + "xx").status_code == 403
    other = share(client, auth, an_cert["id"], include_pdf=True).get_json()
    other_id = page_path(other["url"]).split("/")[2]
    assert client.get(pdf_path.replace(share_id, other_id)).status_code == 403  # a ticket names its share
    client.delete(f"/api/v1/certificates/{an_cert['id']}/shares/{share_id}", headers=auth(**AN))
    assert client.get(pdf_path).status_code == 410


def test_a_pdf_ticket_expires(seeded, client, auth, an_cert, app, monkeypatch):
    url = share(client, auth, an_cert["id"], include_pdf=True).get_json()["url"]
    share_id = page_path(url).split("/")[2]
    old = signed_long_ago(app, "share_pdf", share_id, monkeypatch)
    response = client.get(f"/s/{share_id}/pdf/{old}")
    assert response.status_code == 410 and 'data-outcome="link_expired"' in response.get_data(as_text=True)


def test_shares_belong_to_the_holder(seeded, client, auth, an_cert):
    body = share(client, auth, an_cert["id"]).get_json()
    assert share(client, auth, an_cert["id"], person=BINH).status_code == 404
    base = f"/api/v1/certificates/{an_cert['id']}/shares"
    assert client.get(base, headers=auth(**BINH)).status_code == 404
    assert client.delete(f"{base}/{body['id']}", headers=auth(**BINH)).status_code == 404
    assert client.delete(f"{base}/00000000-0000-0000-0000-000000000000", headers=auth(**AN)).status_code == 404
    assert client.post(base, json={"expires_in_hours": 1}).status_code == 401
    staff = {"Authorization": "Bearer opaque-staff-session-token"}
    assert client.post(base, json={"expires_in_hours": 1}, headers=staff).status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"expires_in_hours": 0}, "expires_in_hours"),
    ({"expires_in_hours": 721}, "expires_in_hours"),
    ({"expires_in_hours": "24"}, "expires_in_hours"),
    ({"expires_in_hours": 10**30}, "expires_in_hours"),
    ({}, "expires_in_hours"),
    ({"expires_in_hours": 1, "max_uses": 0}, "max_uses"),
    ({"expires_in_hours": 1, "max_uses": 1.5}, "max_uses"),
    ({"expires_in_hours": 1, "url": "https://evil"}, "url"),
    ({"expires_in_hours": True}, "expires_in_hours"),
])
def test_hostile_share_bodies_are_422(seeded, client, auth, an_cert, body, field):
    response = client.post(f"/api/v1/certificates/{an_cert['id']}/shares", json=body, headers=auth(**AN))
    assert response.status_code == 422, response.get_json()
    assert field in {error["field"] for error in response.get_json()["errors"]}


def test_a_revoked_certificate_cannot_be_shared(seeded, client, auth, an_cert):
    revoke_in_db(seeded, an_cert["id"])
    response = share(client, auth, an_cert["id"])
    assert response.status_code == 409 and response.get_json()["code"] == "certificate_not_shareable"


def test_a_replayed_share_creation_does_not_keep_the_secret(seeded, client, auth, an_cert, db):
    headers = {**auth(**AN), "Idempotency-Key": "share-1"}
    path = f"/api/v1/certificates/{an_cert['id']}/shares"
    first = client.post(path, json={"expires_in_hours": 2}, headers=headers).get_json()
    replay = client.post(path, json={"expires_in_hours": 2}, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == first["id"] and replay.get_json()["url"] is None
    assert client.post(path, json={"expires_in_hours": 3}, headers=headers).status_code == 409


# --- 4. signed download links ----------------------------------------------------------------------


def test_the_download_link_works_without_the_token(seeded, client, auth, an_cert):
    link = an_cert["links"]["pdf_download"]
    assert link.startswith(f"{PUBLIC_BASE_URL}/api/v1/downloads/")
    response = client.get(link[len(PUBLIC_BASE_URL):])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == client.get(f"/api/v1/certificates/{an_cert['id']}/pdf", headers=auth(**AN)).data
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert "no-store" in response.headers["Cache-Control"]


def test_an_altered_download_link_is_403_and_an_expired_one_410(seeded, client, auth, an_cert, app, monkeypatch):
    path = an_cert["links"]["pdf_download"][len(PUBLIC_BASE_URL):]
    token = path.rsplit("/", 1)[1]
    # Not the last character: in unpadded base64url its low bits are padding, so some changes to
    # it decode to the same signature bytes (that flaked ~1 run in 20). The one before carries 6.
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for altered in (flipped, "junk", token + "x", "a" * 3000):
        response = client.get(f"/api/v1/downloads/{altered}")
        assert response.status_code == 403 and response.get_json()["code"] == "link_invalid"
    settings = resources_of(app).settings
    expired = signed_long_ago(app, "certificate_pdf", an_cert["id"], monkeypatch)
    response = client.get(f"/api/v1/downloads/{expired}")
    assert response.status_code == 410 and response.get_json()["code"] == "link_expired"
    # A share's PDF ticket is not a download link, though both are signed with the same keys.
    ticket = LinkSigner(link_keys(settings.secret_key, ""), minutes=5).sign("share_pdf", an_cert["id"])
    assert client.get(f"/api/v1/downloads/{ticket}").status_code == 403


def test_download_link_keys_rotate(make_app, auth):
    old_key, new_key = "o" * 40, "n" * 40
    app = make_app(download_link_keys=f"{new_key},{old_key}")  # newest first
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    client = app.test_client()
    cert = issue(app, client, auth, AN)
    handed_out = LinkSigner([old_key.encode()], 10).sign("certificate_pdf", cert["id"])
    assert client.get(f"/api/v1/downloads/{handed_out}").status_code == 200  # the old key still verifies
    fresh = cert["links"]["pdf_download"].rsplit("/", 1)[1]
    assert LinkSigner([new_key.encode()], 10).value_of("certificate_pdf", fresh) == cert["id"]  # the newest signs
    retired = LinkSigner([b"r" * 40], 10).sign("certificate_pdf", cert["id"])
    assert client.get(f"/api/v1/downloads/{retired}").status_code == 403


def test_the_certificate_etag_ignores_the_fresh_download_link(seeded, client, auth, an_cert, monkeypatch):
    path = f"/api/v1/certificates/{an_cert['id']}"
    first = client.get(path, headers=auth(**AN))
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda _self: int(time.time()) + 5)
    second = client.get(path, headers=auth(**AN))
    assert first.get_json()["links"]["pdf_download"] != second.get_json()["links"]["pdf_download"]
    assert first.headers["ETag"] == second.headers["ETag"]
    again = client.get(path, headers={**auth(**AN), "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


# --- privacy: never an address -------------------------------------------------------------------


def test_no_client_address_in_logs_for_organisations_and_share_links(make_app, auth, everything_logged):
    app = make_app(rate_limits="verification=1/minute")
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    cert = issue(app, app.test_client(), auth, AN)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    org = new_verifier(app, "Logged", quota="1/minute")
    headers = {"X-Api-Key": org["api_key"]}
    assert [client.post(VERIFY, json={"qr": "junk"}, headers=headers).status_code for _ in range(2)] == [200, 429]
    assert client.post(VERIFY, json={"qr": "junk"}, headers={"X-Api-Key": "ev_wrong"}).status_code == 401
    url = share(client, auth, cert["id"]).get_json()["url"]
    assert [client.get(page_path(url)).status_code for _ in range(2)] == [200, 429]
    records = everything_logged.records
    assert any(r.name == "flask-limiter" and "exceeded" in r.getMessage() for r in records)
    leaks = [_everything_about(r) for r in records if ADDRESS in _everything_about(r)]
    assert not leaks, leaks[0]
    secret = url.rsplit("/", 1)[1]
    assert not [r for r in records if secret in _everything_about(r)]  # nor a share's secret
    assert not [r for r in records if org["api_key"] in _everything_about(r)]  # nor an API key


@pytest.mark.skipif(ON_POSTGRES, reason="a batched check reads outside a transaction (autocommit), which the "
                    "rolled-back test connection cannot; tests/api/public/test_verification_log_live.py runs "
                    "the batched log live on PostgreSQL")
def test_a_batched_check_still_names_its_organisation(make_app, auth):
    # The batch writer (ECERT_VERIFICATION_LOG_SECONDS > 0) queues plain CheckRecords: the
    # organisation must travel with them. A long interval, then an explicit flush: no timing.
    app = make_app(verification_log_seconds=5)
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    client = app.test_client()
    cert = issue(app, client, auth, AN)
    org = new_verifier(app, "Batched")
    assert client.post(VERIFY, json={"qr": cert["qr_text"]}, headers={"X-Api-Key": org["api_key"]}).status_code == 200
    writer = resources_of(app).verification_log
    assert writer is not None and writer.pending() == 1
    try:
        assert writer.flush() == 1
    finally:
        writer.close()
    log = checks_of(client, auth, cert["id"]).get_json()["items"]
    assert [(item["channel"], item["verifier"]) for item in log] == [("qr", {"id": org["id"], "name": "Batched"})]


@pytest.mark.skipif(ON_POSTGRES, reason="a batched check reads outside a transaction (autocommit), which the "
                    "rolled-back test connection cannot; tests/unit/test_db_reading_sessions.py runs the kept "
                    "reading session on PostgreSQL")
def test_with_the_batched_log_a_disabled_organisation_is_refused_at_the_next_check(make_app, auth):
    """The batched path reads through a session kept between checks (ecert.db.ReadingSessions):
    the next check sees the organisation as it is now. (That the kept session forgets what it
    loaded, even an object still referenced, is tests/unit/test_db_reading_sessions.py.)"""
    app = make_app(verification_log_seconds=5)
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    client = app.test_client()
    cert = issue(app, client, auth, AN)
    org = new_verifier(app, "Kept")
    headers = {"X-Api-Key": org["api_key"]}
    writer = resources_of(app).verification_log
    assert writer is not None
    try:
        assert client.post(VERIFY, json={"qr": cert["qr_text"]}, headers=headers).status_code == 200
        assert cli_json(app, "verifiers", "disable", org["id"])["disabled_at"]
        response = client.post(VERIFY, json={"qr": cert["qr_text"]}, headers=headers)
        assert response.status_code == 401 and response.get_json()["code"] == "api_key_disabled"
        assert client.post(VERIFY, json={"qr": cert["qr_text"]}).get_json()["outcome"] == "valid"
    finally:
        writer.close()
