"""The revocation-status seam between the verifier and whoever knows the status.

The verifier asks ``status_lookup(cti)`` (the token's 16-byte certificate id) and gets a
:class:`CertificateStatus`. The server answers from its database; the CLI answers by asking the
server over HTTP (:mod:`verification.online`); tests answer with a stub. Raising
:class:`StatusUnavailable` (or anything else: the verifier fails closed) means "could not tell".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

StatusState = Literal["valid", "revoked", "not_found"]


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """The issuer's answer about one certificate.

    ``digest``: optionally, the SHA-256 (or its first 16 bytes) of the canonical content the
    issuer holds. The token's claim 8 commits to that content, which only the issuer has, so this
    is the one way the digest claim gets checked: a mismatch means the token does not describe
    the certificate on record, and the verdict is ``tampered``.
    """

    state: StatusState
    revoked_at: datetime | None = None
    reason: str | None = None
    digest: bytes | None = None


class StatusUnavailable(Exception):
    """The status could not be obtained (network, database, rate limit...). Fails closed."""


StatusLookup: TypeAlias = Callable[[bytes], CertificateStatus]
