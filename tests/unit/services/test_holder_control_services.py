"""The services behind issue 11 without HTTP: a share link's state and terms, finding a share by
its secret, verifier API keys, and the signed links' keys and purposes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ecert.db import utcnow
from ecert.errors import Conflict, InvalidInput, NotFound, Unauthorized
from ecert.models import Certificate, ShareLink
from ecert.services import shares, verifiers
from ecert.services.audit import Actor
from ecert.services.download_links import LinkExpired, LinkInvalid, LinkSigner, link_keys
from tests.api.public.test_verification_api import AN, issue

ACTOR = Actor("cli", "cli:test")


@pytest.fixture
def certificate(app, client, auth, db):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    cert_id = issue(app, client, auth, AN)["id"]
    db.expire_all()
    return db.get(Certificate, cert_id)


def _share(**changes) -> ShareLink:
    now = utcnow()
    fields = {"revoked_at": None, "expires_at": now + timedelta(hours=1), "max_uses": None, "uses": 0, **changes}
    return ShareLink(**fields)


def test_share_state_revoked_before_expired_before_used_up():
    now = utcnow()
    assert shares.state_of(_share(), now) == "live"
    assert shares.state_of(_share(max_uses=2, uses=2), now) == "used_up"
    assert shares.state_of(_share(max_uses=2, uses=2, expires_at=now), now) == "expired"
    assert shares.state_of(_share(max_uses=2, uses=2, expires_at=now, revoked_at=now), now) == "revoked"


@pytest.mark.parametrize(("hours", "max_uses", "field"), [
    (0, None, "expires_in_hours"), (721, None, "expires_in_hours"), (True, None, "expires_in_hours"),
    (1, 0, "max_uses"), (1, 1001, "max_uses"), (1, "3", "max_uses"),
])
def test_share_terms_are_checked_by_the_service_too(db, certificate, hours, max_uses, field):
    with pytest.raises(InvalidInput) as error:
        shares.create_share(db, certificate, expires_in_hours=hours, max_uses=max_uses, actor=ACTOR)
    assert field in error.value.errors


def test_a_share_is_found_only_by_its_own_secret(db, certificate):
    made = shares.create_share(db, certificate, expires_in_hours=1, actor=ACTOR)
    assert len(made.secret) >= 43 and made.share.secret_sha256 != made.secret
    assert shares.find_share(db, made.share.id, made.secret) is made.share
    other = shares.create_share(db, certificate, expires_in_hours=1, actor=ACTOR)
    for share_id, secret in ((made.share.id, other.secret), (made.share.id, ""), ("' OR 1=1 --", made.secret),
                             (made.share.id.upper(), made.secret), (made.share.id, made.secret + "\x00")):
        with pytest.raises(NotFound):
            shares.find_share(db, share_id, secret)


def test_revoking_another_certificates_share_is_not_found(db, certificate):
    made = shares.create_share(db, certificate, expires_in_hours=1, actor=ACTOR)
    with pytest.raises(NotFound):
        shares.revoke_share(db, "00000000-0000-0000-0000-000000000000", made.share.id, actor=ACTOR)
    assert db.scalars(select(ShareLink.revoked_at).where(ShareLink.id == made.share.id)).one() is None


def test_a_revoked_certificate_is_not_shareable(db, certificate):
    certificate.status = "revoked"
    with pytest.raises(Conflict):
        shares.create_share(db, certificate, expires_in_hours=1, actor=ACTOR)


def test_api_keys(db):
    made = verifiers.create_verifier(db, "  Đại sứ quán Ví Dụ  ", actor=ACTOR)
    assert made.organisation.name == "Đại sứ quán Ví Dụ" and made.organisation.quota == verifiers.DEFAULT_QUOTA
    assert made.organisation.key_sha256 not in made.api_key
    assert verifiers.authenticate(db, made.api_key) is made.organisation
    prefix, _, secret = made.api_key.rpartition("_")
    for wrong in (f"{prefix}_{secret[:-1]}", f"xx{made.api_key[2:]}", made.api_key.replace("ev_", "ev__"),
                  made.api_key + "_", made.api_key.upper()):
        with pytest.raises(Unauthorized) as error:
            verifiers.authenticate(db, wrong)
        assert error.value.code == "api_key_invalid"
    verifiers.disable_verifier(db, made.organisation.id, actor=ACTOR)
    with pytest.raises(Unauthorized) as error:
        verifiers.authenticate(db, made.api_key)
    assert error.value.code == "api_key_disabled"


@pytest.mark.parametrize("quota", ["", "lots", "600/fortnight", "x" * 200, "-1/minute"])
def test_a_quota_must_be_a_limit(quota):
    with pytest.raises(InvalidInput):
        verifiers.check_quota(quota)


def test_link_keys_and_purposes():
    assert link_keys("secret", "") == link_keys("secret", " , ")  # derived when none are listed
    assert link_keys("secret", "") != link_keys("other secret", "")
    assert link_keys("secret", "new, old") == [b"new", b"old"]
    signer = LinkSigner([b"k" * 32], 10)
    token = signer.sign("certificate_pdf", "abc")
    with pytest.raises(LinkInvalid):
        signer.value_of("share_pdf", token)
    with pytest.raises(LinkInvalid):
        LinkSigner([b"j" * 32], 10).value_of("certificate_pdf", token)
    with pytest.raises(LinkExpired):
        _expired(signer, token)


def _expired(signer: LinkSigner, token: str) -> None:
    signer.max_age = -1
    signer.value_of("certificate_pdf", token)
