"""The QR token is a plain COSE_Sign1 (RFC 9052) that pycose verifies with the published JWK.

Only what any verifier has is used: the token text and the trust list fetched over HTTP from
``/.well-known/ecert/trust-list.json``. The token's text spelling is ours, so the project's own
decoder turns it into the COSE parts; everything after that is pycose.
"""
from __future__ import annotations

import base64
from typing import Any

import cbor2
import pytest

from tests.api.public.test_verification_api import foreign_key, resign, token_of
from verification.token import decode_token

pytestmark = pytest.mark.interop


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cose_bytes(token: str) -> bytes:
    """The COSE_Sign1 message of a token: protected header, payload and signature are the exact
    signed bytes our decoder returns; the unprotected header of ours is empty."""
    decoded = decode_token(token)
    return cbor2.dumps(cbor2.CBORTag(18, [decoded.protected, {}, decoded.payload, decoded.signature]))


def pycose_message(cose: bytes) -> Any:
    """pycose's Sign1Message for ``cose``.

    pycose 1.1's ``decode`` wants the tag's array as a Python list, while cbor2 6 (the project's
    pin) gives tuples inside tags; so the outer CBOR is split here and pycose takes it from there
    (headers, key, Sig_structure, ES256). Its unprotected-header check wants a dict, not
    cbor2's frozendict, for the same reason.
    """
    from pycose.messages import Sign1Message

    tagged = cbor2.loads(cose)
    assert tagged.tag == Sign1Message.cbor_tag == 18
    protected, unprotected, payload, signature = tagged.value
    return Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)


def pycose_verify(cose: bytes, trust_list: dict[str, Any]) -> tuple[bool, dict[Any, Any]]:
    from pycose.headers import KID
    from pycose.keys import EC2Key
    from pycose.keys.curves import P256
    message = pycose_message(cose)
    kid = message.phdr[KID]
    [jwk] = [k for k in trust_list["keys"] if _b64url(k["kid"]) == kid]
    assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256")
    message.key = EC2Key(crv=P256, x=_b64url(jwk["x"]), y=_b64url(jwk["y"]))
    try:
        ok = bool(message.verify_signature())
    except Exception:  # noqa: BLE001 (pycose raises on some bad signatures instead of False)
        ok = False
    return ok, cbor2.loads(message.payload)


@pytest.fixture
def pycose() -> None:
    from tests.interop.conftest import need

    try:
        import pycose  # noqa: F401
    except ImportError:
        need("pycose", False, ".venv/bin/pip install -r requirements-dev.txt (pycose)")


def test_pycose_verifies_the_token_with_the_published_key(pycose, trust_list, certificate):
    cose = cose_bytes(token_of(certificate))
    ok, claims = pycose_verify(cose, trust_list)
    assert ok
    ours = claims[-70000]
    assert claims[1] == trust_list["issuer"]
    assert ours[1] == certificate["number"]
    assert ours[3] == "Nguyễn Văn An"
    assert len(claims[7]) == 16 and isinstance(claims[6], int)

    from pycose.algorithms import Es256
    from pycose.headers import Algorithm

    assert pycose_message(cose).phdr[Algorithm] is Es256


def test_pycose_refuses_a_forged_token(pycose, trust_list, certificate):
    # The same claims under our kid, signed by a key that is not ours.
    forged = resign(token_of(certificate), foreign_key())
    ok, _ = pycose_verify(cose_bytes(forged), trust_list)
    assert not ok
