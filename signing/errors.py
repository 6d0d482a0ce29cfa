"""Errors raised by the signing package.

They are plain exceptions (no HTTP status, no Flask): the application decides
how to present them. Messages name the file involved, because the people who
read them are operators setting up keys, and "bad key" without a path sends
them hunting.
"""

from __future__ import annotations

from os import PathLike


class SigningError(Exception):
    """Base class for every error raised by :mod:`signing`."""


class SigningSetupError(SigningError):
    """A key or certificate file cannot be used as configured.

    Raised for a missing or unreadable file, a wrong passphrase, content that
    is not a PEM key/certificate, or a key that does not belong to its
    certificate. ``path`` is the offending file (``None`` when the problem is
    with in-memory objects handed to us directly).
    """

    def __init__(self, message: str, path: str | PathLike[str] | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        # The path goes into str(exc) too, so a bare traceback in a log is enough.
        super().__init__(f"{message}: {self.path}" if self.path else message)


class SignerUnusable(SigningError):
    """The document-signer certificate must not sign anything right now.

    Expired, not yet valid, or revoked. Signing with such a key would produce
    certificates that every verifier rejects, so we refuse before signing.
    """
