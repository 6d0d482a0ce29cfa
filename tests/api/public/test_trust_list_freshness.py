"""The trust list is cached for a second per process, and never answers against the keys table.

The fingerprint of ``signing_keys`` is read at most once per ``max_age``; in between, the status
query's join tells each check its certificate's signing-key state, so a revoked or retired key and a
key rotated in are honoured by the very next check even with a list cached for an hour.
"""

from __future__ import annotations

import pytest

from ecert.services import verification as verification_service
from ecert.wiring import resources_of
from tests.api.public.test_verification_api import AN, BINH, active_kid, issue, keys_cli, verify


@pytest.fixture
def seeded(app):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    return app


@pytest.fixture
def long_cache(seeded):
    """The process's list, cached for an hour: only the join can make it be read again."""
    cache = resources_of(seeded).trust_lists
    cache.max_age = 3600
    return cache


def test_fingerprint_is_read_once_per_max_age(seeded, client, auth, long_cache, monkeypatch):
    cert = issue(seeded, client, auth, AN)
    reads = []
    real = verification_service._keys_fingerprint

    def counting(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(verification_service, "_keys_fingerprint", counting)
    verify(client, qr=cert["qr_text"])
    before = len(reads)
    for _ in range(5):
        assert verify(client, qr=cert["qr_text"])["outcome"] == "valid"
    assert len(reads) == before  # cached: no read of the keys table in between
    long_cache.max_age = 0
    verify(client, qr=cert["qr_text"])
    assert len(reads) == before + 1


def test_a_revoked_key_is_seen_at_once_through_a_cached_list(seeded, client, auth, long_cache):
    cert = issue(seeded, client, auth, AN)
    assert verify(client, qr=cert["qr_text"])["outcome"] == "valid"  # the list is cached now
    old_kid = active_kid(seeded)
    keys_cli(seeded, "rotate")
    keys_cli(seeded, "revoke", old_kid)
    body = verify(client, qr=cert["qr_text"])
    assert body["outcome"] == "signer_revoked"
    assert body["checks"]["issuer"] == {"ok": False, "reason": "signer_revoked"}


def test_a_key_rotated_in_is_trusted_at_once_through_a_cached_list(seeded, client, auth, long_cache):
    first = issue(seeded, client, auth, AN)
    assert verify(client, qr=first["qr_text"])["outcome"] == "valid"  # cached: only the first key
    keys_cli(seeded, "rotate")
    second = issue(seeded, client, auth, BINH)  # signed by a kid the cached list does not know
    assert verify(client, qr=second["qr_text"])["outcome"] == "valid"
    assert verify(client, qr=first["qr_text"])["outcome"] == "valid"  # retired: still valid


def test_a_forged_kid_costs_one_read_not_a_loop(seeded, client, auth, long_cache, monkeypatch):
    """An unknown kid makes the list be read again once per check, never more."""
    from tests.api.public.test_verification_api import foreign_key, resign, token_of

    cert = issue(seeded, client, auth, AN)
    verify(client, qr=cert["qr_text"])
    reads = []
    real = verification_service._keys_fingerprint
    monkeypatch.setattr(verification_service, "_keys_fingerprint", lambda *a, **k: reads.append(1) or real(*a, **k))
    import os

    body = verify(client, qr=resign(token_of(cert), foreign_key(), kid=os.urandom(8)))
    assert body["outcome"] == "unknown_issuer"
    assert len(reads) == 1
