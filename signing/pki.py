"""The X.509 side of ecert: a root CA and the document-signer certificates (DSC).

Model (DESIGN §6): one root CA, offline in production, issues short-lived
document-signer certificates. Each DSC signs certificates (QR tokens and PDFs)
for a limited period, then retires but stays in the trust list so what it
signed keeps verifying. Which DSC is active / retired / revoked is the
application's business (it lives in the database); this module only makes,
stores and loads keys and certificates.

Files on disk are PEM: PKCS#8 private keys (optionally passphrase-encrypted,
mode 0600) and X.509 certificates. A DSC pair is named after its ``kid``
(``dsc-<kidhex>.key`` / ``dsc-<kidhex>.pem``) so rotating never overwrites a
key that signed something still in circulation.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.x509.oid import NameOID, ObjectIdentifier

from .errors import SigningSetupError

# No __all__ here: the package (signing/__init__.py) lists the public API once; what this module
# keeps to itself starts with an underscore.

ROOT_KEY_FILE = "root-ca.key"
ROOT_CERT_FILE = "root-ca.pem"

# id-kp-documentSigning (RFC 9336): the purpose-built EKU for signing documents.
DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
# Adobe Authentic Documents Trust: older PDF readers know this one, not RFC 9336.
ADOBE_AUTHENTIC_DOCUMENTS_EKU = ObjectIdentifier("1.2.840.113583.1.1.5")
# id-kp-emailProtection: poppler validates a PDF signer's certificate through NSS for the
# e-mail-signing usage (there is no "document signing" usage in NSS), so without this one
# `pdfsig` says "Unknown issue with Certificate" even with our root trusted. Not an e-mail
# certificate: it carries no e-mail address, and the key usage stays signing only.
EMAIL_PROTECTION_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.4")
# What every DSC carries (DESIGN §6). pyHanko's default policy accepts any EKU (it insists on
# the non-repudiation key usage only): these are for the other readers.
DSC_EXTENDED_KEY_USAGES = (DOCUMENT_SIGNING_EKU, EMAIL_PROTECTION_EKU, ADOBE_AUTHENTIC_DOCUMENTS_EKU)

# A certificate's notBefore is backdated a little: clocks of verifiers drift,
# and a certificate that is "not yet valid" for five minutes after issuance
# makes the first documents signed with it fail on those machines.
_BACKDATE = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _name(common_name: str, organization: str, unit: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _hash_for(issuer_key: EllipticCurvePrivateKey) -> hashes.SHA256 | hashes.SHA384:
    # Match the digest strength to the issuer's curve (P-384 root -> SHA-384).
    return hashes.SHA384() if issuer_key.curve.key_size >= 384 else hashes.SHA256()


def _key_usage(*, certifies: bool) -> x509.KeyUsage:
    """A root signs certificates and CRLs only; a DSC signs documents: digitalSignature plus
    nonRepudiation (``content_commitment``), which pyHanko's PDF validation policy requires."""
    return x509.KeyUsage(
        digital_signature=not certifies,
        content_commitment=not certifies,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certifies,
        crl_sign=certifies,
        encipher_only=False,
        decipher_only=False,
    )


def generate_root_ca(
    common_name: str,
    organization: str,
    validity_days: int = 3650,
    *,
    now: datetime | None = None,
) -> tuple[EllipticCurvePrivateKey, x509.Certificate]:
    """Create a self-signed root CA (P-384, ecdsa-with-SHA384).

    P-384 because the root lives ten years and is never rotated casually; the
    DSCs under it are P-256 because ES256 is what the QR token uses.
    ``pathlen=0``: the root issues end-entity DSCs only, never sub-CAs.
    """
    now = now or _utcnow()
    key = ec.generate_private_key(ec.SECP384R1())
    name = _name(common_name, organization)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certifies=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, _hash_for(key))
    )
    return key, cert


def issue_document_signer(
    root_key: EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    common_name: str,
    organization: str,
    validity_days: int = 730,
    now: datetime | None = None,
) -> tuple[EllipticCurvePrivateKey, x509.Certificate]:
    """Issue a P-256 document-signer certificate under ``root_cert``.

    Key usage is digitalSignature + nonRepudiation: pyHanko's default PDF
    validation policy requires nonRepudiation, and the QR token is a plain
    digital signature. Extended key usages: :data:`DSC_EXTENDED_KEY_USAGES`
    (document signing, e-mail protection for poppler/NSS, Adobe's). ``now`` lets tests issue certificates in the past
    (e.g. an already expired DSC).
    """
    check_key_matches_certificate(root_key, root_cert, None)
    now = now or _utcnow()
    not_after = now + timedelta(days=validity_days)
    # A DSC that outlives its root would be unverifiable at the end: clip it.
    not_after = min(not_after, root_cert.not_valid_after_utc)
    key = ec.generate_private_key(ec.SECP256R1())
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization, unit="Document Signer"))
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certifies=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(list(DSC_EXTENDED_KEY_USAGES)),
            # Non-critical: a relying party that knows neither purpose may
            # still process the certificate; RFC 5280 says EKU is enforced
            # by those that understand it regardless of criticality.
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, _hash_for(root_key))
    )
    return key, cert


def kid_for(cert: x509.Certificate) -> bytes:
    """Key identifier of a DSC: first 8 bytes of SHA-256 over its DER (DESIGN §6)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8]


# ---------------------------------------------------------------- file I/O


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a temporary file in the same directory, then rename.

    A crash half-way must never leave a truncated key where a good one was,
    and the key must never exist on disk, even briefly, with looser rights
    than ``mode`` (mkstemp creates files 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_private_key(
    path: str | os.PathLike[str],
    key: EllipticCurvePrivateKey,
    passphrase: bytes | None = None,
) -> None:
    """Write ``key`` as PKCS#8 PEM, encrypted when a passphrase is given; mode 0600."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    _write_atomic(Path(path), pem, 0o600)


def save_certificate(path: str | os.PathLike[str], cert: x509.Certificate) -> None:
    """Write ``cert`` as PEM (mode 0644: certificates are public)."""
    _write_atomic(Path(path), cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningSetupError(f"{what} file not found", path) from None
    except IsADirectoryError:
        raise SigningSetupError(f"{what} path is a directory, not a file", path) from None
    except PermissionError:
        raise SigningSetupError(f"{what} file is not readable by this process (check owner and mode)", path) from None
    except OSError as exc:
        raise SigningSetupError(f"{what} file cannot be read ({exc.strerror})", path) from None


def load_private_key(path: str | os.PathLike[str], passphrase: bytes | None = None) -> EllipticCurvePrivateKey:
    """Load a PEM EC private key; every failure is a SigningSetupError naming ``path``."""
    p = Path(path)
    data = _read_file(p, "private key")
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        raise SigningSetupError("not a PEM private key", p)
    encrypted = b"ENCRYPTED" in data
    if encrypted and not passphrase:
        raise SigningSetupError("private key is encrypted and no passphrase was given", p)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except ValueError:
        # cryptography says "Bad decrypt" for a wrong passphrase and a
        # generic ValueError for corrupt PEM; tell the operator which.
        if encrypted:
            raise SigningSetupError("wrong passphrase for private key", p) from None
        raise SigningSetupError("not a valid PEM private key", p) from None
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise SigningSetupError(f"private key cannot be loaded ({exc})", p) from None
    if not isinstance(key, EllipticCurvePrivateKey):
        raise SigningSetupError("private key is not an elliptic-curve key", p)
    return key


def load_certificate(path: str | os.PathLike[str]) -> x509.Certificate:
    """Load a PEM X.509 certificate; failures are SigningSetupError naming ``path``."""
    p = Path(path)
    data = _read_file(p, "certificate")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise SigningSetupError("not a PEM certificate", p)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise SigningSetupError("not a valid PEM certificate", p) from None


def check_key_matches_certificate(
    key: EllipticCurvePrivateKey,
    cert: x509.Certificate,
    key_path: str | os.PathLike[str] | None,
) -> None:
    """Raise SigningSetupError (naming ``key_path``) unless ``key`` belongs to ``cert``.

    Compares public keys rather than signing a test message: no key
    operation is needed, so it works the same for an HSM-held key later.
    """
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise SigningSetupError(
            f"private key does not match the certificate (certificate subject: {cert.subject.rfc4514_string()})",
            key_path,
        )


# ---------------------------------------------------------------- dev PKI


@dataclass(frozen=True)
class DscFiles:
    """One document-signer key pair on disk."""

    kid: bytes
    key_path: Path
    cert_path: Path
    certificate: x509.Certificate

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()


@dataclass(frozen=True)
class DevPki:
    """What :func:`create_dev_pki` found or made (``created_*`` say which, for the log)."""

    directory: Path
    root_key_path: Path
    root_cert_path: Path
    dsc_key_path: Path
    dsc_cert_path: Path
    kid: bytes
    created_root: bool
    created_dsc: bool


def find_document_signers(directory: str | os.PathLike[str], root_cert: x509.Certificate) -> list[DscFiles]:
    """Every ``dsc-*.pem`` in ``directory`` issued by ``root_cert`` with its key file present.

    Sorted oldest first (by notBefore). Certificates from another root are
    skipped rather than failing: an instance directory may hold leftovers.
    """
    found: list[DscFiles] = []
    for cert_path in sorted(Path(directory).glob("dsc-*.pem")):
        cert = load_certificate(cert_path)
        try:
            cert.verify_directly_issued_by(root_cert)
        except (ValueError, TypeError, InvalidSignature):
            continue
        key_path = cert_path.with_suffix(".key")
        if not key_path.exists():
            continue
        found.append(DscFiles(kid_for(cert), key_path, cert_path, cert))
    found.sort(key=lambda d: d.certificate.not_valid_before_utc)
    return found


def rotate_document_signer(
    directory: str | os.PathLike[str],
    root_key: EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    *,
    common_name: str | None = None,
    organization: str | None = None,
    validity_days: int = 730,
    now: datetime | None = None,
    passphrase: bytes | None = None,
) -> DscFiles:
    """Issue a new DSC under the root and write ``dsc-<kidhex>.key/.pem`` into ``directory``.

    Existing DSC files are left alone: retiring or revoking the old one is a
    database decision, and its certificate must remain available to verify
    what it already signed.
    """
    now = now or _utcnow()
    if organization is None:
        orgs = root_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        organization = str(orgs[0].value) if orgs else "ecert"
    if common_name is None:
        common_name = f"ecert Document Signer {now:%Y-%m-%d %H%M%S}"
    key, cert = issue_document_signer(
        root_key, root_cert, common_name, organization, validity_days=validity_days, now=now
    )
    kid = kid_for(cert)
    directory = Path(directory)
    key_path = directory / f"dsc-{kid.hex()}.key"
    cert_path = directory / f"dsc-{kid.hex()}.pem"
    # Key first: a certificate without its key is skipped by find_document_signers,
    # a key without its certificate is harmless.
    save_private_key(key_path, key, passphrase)
    save_certificate(cert_path, cert)
    return DscFiles(kid, key_path, cert_path, cert)


def _usable_document_signer(
    directory: Path, root_cert: x509.Certificate, passphrase: bytes | None, now: datetime
) -> DscFiles | None:
    """The newest DSC of ``root_cert`` in ``directory`` valid at ``now`` (its key checked), or None."""
    usable = [
        d
        for d in find_document_signers(directory, root_cert)
        if d.certificate.not_valid_before_utc <= now < d.certificate.not_valid_after_utc
    ]
    if not usable:
        return None
    dsc = usable[-1]
    check_key_matches_certificate(load_private_key(dsc.key_path, passphrase), dsc.certificate, dsc.key_path)
    return dsc


def create_dev_pki(
    directory: Path,
    issuer_name: str,
    authority_name: str,
    *,
    passphrase: bytes | None = None,
    now: datetime | None = None,
) -> DevPki:
    """Make (or reuse) a development root CA and DSC in ``directory``. Idempotent.

    If ``root-ca.key``/``root-ca.pem`` exist they are kept (and checked to
    match). If a DSC issued by that root exists and is valid at ``now``, the
    newest one is reused; otherwise a new one is issued. Never overwrites.
    ``issuer_name`` is the issuer id (e.g. ``VN-NJRC``), ``authority_name``
    the authority's full name, which becomes the certificates' organisation.
    """
    now = now or _utcnow()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    root_key_path = directory / ROOT_KEY_FILE
    root_cert_path = directory / ROOT_CERT_FILE
    created_root = not (root_key_path.exists() or root_cert_path.exists())
    if created_root:
        root_key, root_cert = generate_root_ca(f"ecert Root CA {issuer_name} (development)", authority_name, now=now)
        save_private_key(root_key_path, root_key, passphrase)
        save_certificate(root_cert_path, root_cert)
    else:
        # Half a root is an operator mistake we must not paper over by
        # generating a fresh root: documents signed under the old one exist.
        root_key = load_private_key(root_key_path, passphrase)
        root_cert = load_certificate(root_cert_path)
        check_key_matches_certificate(root_key, root_cert, root_key_path)

    dsc = _usable_document_signer(directory, root_cert, passphrase, now)
    created_dsc = dsc is None
    if dsc is None:
        dsc = rotate_document_signer(
            directory,
            root_key,
            root_cert,
            common_name=f"ecert Document Signer {issuer_name} (development)",
            organization=authority_name,
            now=now,
            passphrase=passphrase,
        )
    return DevPki(
        directory=directory,
        root_key_path=root_key_path,
        root_cert_path=root_cert_path,
        dsc_key_path=dsc.key_path,
        dsc_cert_path=dsc.cert_path,
        kid=dsc.kid,
        created_root=created_root,
        created_dsc=created_dsc,
    )
