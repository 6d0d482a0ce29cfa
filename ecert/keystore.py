"""Which document-signer keys exist, which one signs, and the trust list built from them.

The database is the registry (``signing_keys``: kid, certificate, key file, status) so every
worker on every host agrees on the active key and sees a revocation at once; private keys stay
in files (later an HSM) and are loaded once per process per kid.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, Select, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ecert.config import Settings
from ecert.db import utcnow
from ecert.errors import ConfigurationError, ServiceUnavailable
from ecert.models import SigningKey
from signing.errors import SignerUnusable, SigningSetupError
from signing.pki import (
    ROOT_CERT_FILE,
    DscFiles,
    check_key_matches_certificate,
    load_certificate,
    load_private_key,
)
from signing.signer import FileSigner
from signing.trustlist import build_trust_list, jwk_entry

log = logging.getLogger(__name__)


def _active_key(*columns: Any) -> Select[Any]:
    """The active key (the newest, should there ever be two), as ``columns``."""
    return select(*columns).where(SigningKey.status == "active").order_by(SigningKey.created_at.desc()).limit(1)


_ACTIVE_KID = _active_key(SigningKey.kid)


class Keystore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root_cert_path = settings.root_cert_path or settings.pki_dir / ROOT_CERT_FILE
        self.root_certificate: x509.Certificate | None = None
        self._signers: dict[str, FileSigner] = {}
        self._lock = threading.Lock()
        self.ready = False

    @property
    def passphrase(self) -> bytes | None:
        return self.settings.signing_key_passphrase.encode() if self.settings.signing_key_passphrase else None

    def load_root(self) -> None:
        self.root_certificate = load_certificate(self.root_cert_path)

    def signer(self, row: SigningKey) -> FileSigner:
        with self._lock:
            signer = self._signers.get(row.kid)
            if signer is None:
                if self.root_certificate is None:
                    raise SigningSetupError("root CA certificate not loaded", self.root_cert_path)
                # The certificate comes from the registry; only the private key is read from disk.
                cert = x509.load_pem_x509_certificate(row.certificate_pem.encode())
                key = load_private_key(row.key_path, self.passphrase)
                check_key_matches_certificate(key, cert, row.key_path)
                signer = FileSigner(key, cert, self.root_certificate)
                self._signers[row.kid] = signer
            return signer

    def active_row(self, session: Session) -> SigningKey | None:
        return session.execute(_active_key(SigningKey)).scalar_one_or_none()

    def signer_for_issuance(self, session: Session, now: datetime) -> FileSigner:
        """The active DSC's signer, refused when expired or revoked: nothing is signed with it.

        Asked on every issuance, so the active key's kid is read alone; the whole row (its
        certificate and key path) only when this process has no signer for that kid yet.
        """
        kid = session.execute(_ACTIVE_KID).scalar_one_or_none()
        with self._lock:
            signer = self._signers.get(kid) if kid is not None else None
        try:
            if signer is None:
                row = self.active_row(session)
                if row is None:
                    raise ServiceUnavailable("signing_unavailable", detail="no active document-signer key")
                kid, signer = row.kid, self.signer(row)
            # Only an active key is chosen here; its validity dates are still checked.
            signer.ensure_usable(now, revoked=False)
        except (SignerUnusable, SigningSetupError) as exc:
            log.error("active signing key %s unusable: %s", kid, exc)
            raise ServiceUnavailable("signing_unavailable", detail="the active signing key cannot sign") from exc
        return signer

    def trust_list(self, session: Session) -> dict[str, Any]:
        if self.root_certificate is None:
            raise ServiceUnavailable("signing_unavailable")
        rows = session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars().all()
        entries = [
            jwk_entry(
                x509.load_pem_x509_certificate(row.certificate_pem.encode()),
                self.root_certificate,
                row.status,
                revoked_at=row.revoked_at,
            )
            for row in rows
        ]
        return build_trust_list(self.settings.issuer_id, entries)

    def root_pem(self) -> bytes:
        if self.root_certificate is None:
            raise ServiceUnavailable("signing_unavailable")
        return self.root_certificate.public_bytes(serialization.Encoding.PEM)


def register_dsc(session: Session, dsc: DscFiles, status: str = "active", now: datetime | None = None) -> SigningKey:
    row = session.get(SigningKey, dsc.kid_hex)
    if row is not None:
        return row
    cert = dsc.certificate
    row = SigningKey(
        kid=dsc.kid_hex,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        key_path=str(Path(dsc.key_path).resolve()),
        status=status,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def init_is_running(argv: list[str] | None = None) -> bool:
    """This process is ``flask ... ecert init``: the setup it is about to do is not missing yet."""
    args = sys.argv[1:] if argv is None else argv
    return any(arg == "ecert" and args[i + 1 : i + 2] == ["init"] for i, arg in enumerate(args))


def warn_setup_missing(message: str, *args: Any) -> None:
    """Say what setup is missing and to run ``ecert init`` -- except while ``init`` runs, where
    the advice would be to do what is being done (logged at DEBUG then)."""
    log.log(logging.DEBUG if init_is_running() else logging.WARNING, message, *args)


def load_keystore(settings: Settings, engine: Engine) -> Keystore:
    """Load and check the signing material at start-up.

    Production refuses to start without a root certificate and a usable active key (the error
    names the file). Development starts anyway, not ready, until ``ecert init`` has run.
    """
    keystore = Keystore(settings)
    try:
        keystore.load_root()
    except SigningSetupError as exc:
        if settings.is_production:
            raise ConfigurationError(f"signing: {exc}") from exc
        warn_setup_missing("no development PKI yet (%s); run `flask --app wsgi ecert init`", exc)
        return keystore
    try:
        with Session(engine) as session:
            row = keystore.active_row(session)
            if row is not None:
                keystore.signer(row)  # load now: a broken key file fails the start, not an issuance
    except SigningSetupError as exc:
        raise ConfigurationError(f"signing: {exc}") from exc
    except SQLAlchemyError as exc:
        log.warning("signing keys not checked at start-up: database unavailable (%s)", type(exc).__name__)
        keystore.ready = True
        return keystore
    if row is None:
        if settings.is_production:
            raise ConfigurationError("signing: no active document-signer key is registered (flask ecert keys import)")
        warn_setup_missing("no active signing key registered; run `flask --app wsgi ecert init`")
        return keystore
    keystore.ready = True
    return keystore
