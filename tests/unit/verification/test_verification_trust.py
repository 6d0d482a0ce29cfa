"""Trust list parsing and the consistency checks of each entry (kid, key, chain to root)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization

from verification import TrustList, TrustListError, verify_token
from verification.trust import kid_of


def _outcome(factory, kit, trust: TrustList, token: str | None = None):
    return verify_token(token or factory.token(), trust, kit.status_of(), now=kit.NOW)


def test_from_json_accepts_dict_bytes_and_text(factory, kit):
    data = factory.trust_dict()
    for form in (data, json.dumps(data), json.dumps(data).encode()):
        trust = TrustList.from_json(form)
        assert len(trust) == 1 and trust.issuer == "VN-NJRC"
        key = trust.get(factory.kid)
        assert key is not None and key.usable and key.status == "active"
        assert key.kid_b64 == kit.b64url(factory.kid)


def test_load_from_file(tmp_path, factory, kit):
    path = tmp_path / "trust-list.json"
    path.write_text(json.dumps(factory.trust_dict()))
    assert _outcome(factory, kit, TrustList.load(path)).outcome == "valid"
    with pytest.raises(TrustListError):
        TrustList.load(tmp_path / "missing.json")


@pytest.mark.parametrize("junk", [b"not json", b"[]", b'{"keys": {}}', b"{}", "x" * 2_000_000])
def test_unreadable_trust_lists(junk):
    with pytest.raises(TrustListError):
        TrustList.from_json(junk)


def test_pinned_root(factory, kit):
    pem = factory.root.public_bytes(serialization.Encoding.PEM)
    der = factory.root.public_bytes(serialization.Encoding.DER)
    for root in (factory.root, pem, der, pem.decode()):
        assert _outcome(factory, kit, factory.trust_list(root=root)).outcome == "valid"


def test_dsc_not_chaining_to_pinned_root_is_unknown_issuer(factory, kit):
    result = _outcome(factory, kit, factory.trust_list(root=factory.other_root))
    assert result.outcome == "unknown_issuer"
    assert result.checks["issuer"].reason == "chain_not_to_root"


def test_x5c_with_dsc_only(factory, kit):
    data = factory.trust_dict()
    data["keys"][0]["x5c"] = data["keys"][0]["x5c"][:1]
    assert _outcome(factory, kit, TrustList.from_json(data, root=factory.root)).outcome == "valid"
    unpinned = _outcome(factory, kit, TrustList.from_json(data))
    assert unpinned.outcome == "unknown_issuer"
    assert unpinned.checks["issuer"].reason == "chain_not_to_root"


def test_x5c_claiming_our_root_for_a_foreign_dsc(factory, kit):
    # Someone's DSC listed with our root behind it: the DSC's signature is not our root's.
    entry = kit.jwk_entry(factory.other_dsc, [factory.root])
    trust = TrustList.from_json({"issuer": "VN-NJRC", "keys": [entry]})
    token = kit.encode_token(kit.cose_sign1(factory.other_dsc_key, kit.kid_of(factory.other_dsc)))
    result = _outcome(factory, kit, trust, token)
    assert result.outcome == "unknown_issuer"
    assert result.checks["issuer"].reason == "chain_not_to_root"


def test_jwk_not_matching_dsc(factory, kit):
    data = factory.trust_dict()
    other = kit.jwk_entry(factory.other_dsc, [factory.other_root])
    data["keys"][0]["x"], data["keys"][0]["y"] = other["x"], other["y"]
    result = _outcome(factory, kit, TrustList.from_json(data))
    assert result.outcome == "unknown_issuer"
    assert result.checks["issuer"].reason == "key_mismatch"


def test_kid_not_derived_from_dsc(factory, kit):
    data = factory.trust_dict()
    data["keys"][0]["kid"] = kit.b64url(b"\x07" * 8)
    trust = TrustList.from_json(data)
    assert trust.get(b"\x07" * 8).problem == "key_mismatch"
    result = _outcome(factory, kit, trust, factory.token(kid=b"\x07" * 8))
    assert result.outcome == "unknown_issuer"


@pytest.mark.parametrize("field,value", [("status", "suspended"), ("crv", "P-384"),
                                         ("x", "!!"), ("x5c", ["not base64!"]),
                                         ("not_before", "yesterday")])
def test_bad_entries_are_kept_but_unusable(factory, kit, field, value):
    data = factory.trust_dict()
    data["keys"][0][field] = value
    trust = TrustList.from_json(data)
    assert trust.get(factory.kid).problem == "bad_key_entry"
    result = _outcome(factory, kit, trust)
    assert result.outcome == "unknown_issuer"
    assert result.checks["issuer"].reason == "bad_key_entry"


def test_duplicate_kid_is_refused(factory, kit):
    data = factory.trust_dict()
    data["keys"].append(dict(data["keys"][0], status="retired"))
    result = _outcome(factory, kit, TrustList.from_json(data))
    assert result.outcome == "unknown_issuer"


def test_entries_without_a_kid_are_skipped(factory):
    data = factory.trust_dict()
    data["keys"] += [{"kid": "!!"}, {"kid": kit_b64(b"short")}, "not a dict", {}]
    trust = TrustList.from_json(data)
    assert len(trust) == 1


def kit_b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_trust_roots(factory):
    assert [r.subject for r in factory.trust_list().trust_roots()] == [factory.root.subject]
    pinned = factory.trust_list(root=factory.root)
    assert pinned.trust_roots() == [factory.root]
    assert kid_of(factory.dsc) == factory.kid


def test_fetch_from_server(fake_server, factory, kit):
    trust = TrustList.fetch(fake_server.url, timeout=5)
    assert trust.get(factory.kid) is not None
    full = TrustList.fetch(fake_server.url + "/.well-known/ecert/trust-list.json", timeout=5)
    assert len(full) == 1


def test_fetch_refuses_plain_http_elsewhere_and_reports_errors(fake_server):
    with pytest.raises(TrustListError):
        TrustList.fetch("http://ecert.example.vn", timeout=1)
    with pytest.raises(TrustListError):
        TrustList.fetch("file:///etc/passwd", timeout=1)
    with pytest.raises(TrustListError):
        TrustList.fetch(fake_server.url + "/nothing-here.json", timeout=5)


def test_fetch_refuses_redirect_to_plain_http_elsewhere(fake_server):
    with pytest.raises(TrustListError) as info:
        TrustList.fetch(fake_server.url + "/moved.json", timeout=5)
    assert "redirect" in str(info.value)
