"""Signed, short-lived links: a certificate's PDF outside the app (``links.pdf_download``), and
the PDF of a share link's page.

itsdangerous signs the value with a timestamp (HMAC-SHA1 over a key derived per purpose, its
documented default): an altered link fails its signature (:class:`LinkInvalid`, 403), a link
older than its lifetime fails its age (:class:`LinkExpired`, 410). Keys rotate: the operator
lists them newest first in ECERT_DOWNLOAD_LINK_KEYS; the first signs and every one verifies,
so links already handed out keep working until they expire. Without that setting one key is
derived from ECERT_SECRET_KEY (changing that secret then ends every link, which live for
minutes only). No flask here: the views pass the keys and the lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ecert.errors import DomainError

#: What a link may name: each purpose is signed under its own salt, so a share's PDF ticket is
#: never accepted as a certificate's download link, nor the other way round.
PURPOSES: Final = frozenset({"certificate_pdf", "share_pdf"})


class LinkInvalid(DomainError, status=403, code="link_invalid"):
    """Not a link this service signed, or one altered since."""


class LinkExpired(DomainError, status=410, code="link_expired"):
    """A genuine link whose lifetime is over: ask the app for a fresh one."""


def link_keys(secret_key: str, configured: str) -> list[bytes]:
    """The signing keys, newest first: ECERT_DOWNLOAD_LINK_KEYS, or one derived from the secret key
    (a key of its own, so a link never doubles as anything the secret key signs)."""
    keys = [key.strip().encode() for key in configured.split(",") if key.strip()]
    if keys:
        return keys
    return [hmac.new(secret_key.encode(), b"ecert download links", hashlib.sha256).digest()]


class LinkSigner:
    """Signs and checks the value of a link for one purpose, with the given keys and lifetime."""

    def __init__(self, keys: Sequence[bytes], minutes: int) -> None:
        if not keys:
            raise ValueError("a link signer needs at least one key")
        # itsdangerous takes its keys oldest to newest and signs with the last.
        self._keys = list(reversed(keys))
        self.max_age = minutes * 60

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown link purpose {purpose!r}")
        return URLSafeTimedSerializer(self._keys, salt=f"ecert.link.{purpose}")

    def sign(self, purpose: str, value: str) -> str:
        token: str = self._serializer(purpose).dumps(value)
        return token

    def value_of(self, purpose: str, token: str) -> str:
        """The value a genuine, unexpired link names; LinkInvalid or LinkExpired otherwise."""
        try:
            value = self._serializer(purpose).loads(token, max_age=self.max_age)
        except SignatureExpired:
            # Raised only once the signature verified: an altered old link is still "invalid".
            raise LinkExpired() from None
        except (BadSignature, UnicodeError, ValueError):
            raise LinkInvalid() from None
        if not isinstance(value, str):
            raise LinkInvalid()
        return value
