"""PKI files, the file signer, rotation, and the errors an operator sees."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID

from signing import (
    FileSigner,
    Signer,
    SignerUnusable,
    SigningSetupError,
    create_dev_pki,
    generate_root_ca,
    issue_document_signer,
    load_certificate,
    load_private_key,
    save_certificate,
    save_private_key,
)
from signing.pki import (
    ADOBE_AUTHENTIC_DOCUMENTS_EKU,
    DOCUMENT_SIGNING_EKU,
    EMAIL_PROTECTION_EKU,
)

ISSUER, AUTHORITY = "VN-NJRC", "Trung tâm Lý lịch tư pháp quốc gia"


def _verify_raw(cert: x509.Certificate, data: bytes, sig: bytes) -> None:
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    cert.public_key().verify(der, data, ec.ECDSA(hashes.SHA256()))


# ---------------------------------------------------------------- certificates


def test_root_and_dsc_profiles(signer):
    root, dsc = signer.root_certificate, signer.certificate
    bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)

    assert isinstance(dsc.public_key().curve, ec.SECP256R1)
    assert not dsc.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ku_ext = dsc.extensions.get_extension_for_class(x509.KeyUsage)
    ku = ku_ext.value
    assert ku_ext.critical
    # Signing only: digitalSignature + nonRepudiation, nothing else.
    assert ku.digital_signature and ku.content_commitment
    assert not (ku.key_encipherment or ku.data_encipherment or ku.key_agreement
                or ku.key_cert_sign or ku.crl_sign)
    eku_ext = dsc.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    # DESIGN §6: document signing (RFC 9336), e-mail protection (what poppler/NSS checks for a
    # PDF signer) and Adobe's; no other purpose.
    assert not eku_ext.critical
    assert list(eku_ext.value) == [DOCUMENT_SIGNING_EKU, EMAIL_PROTECTION_EKU,
                                   ADOBE_AUTHENTIC_DOCUMENTS_EKU]
    assert EMAIL_PROTECTION_EKU == ExtendedKeyUsageOID.EMAIL_PROTECTION
    assert ExtendedKeyUsageOID.SERVER_AUTH not in eku_ext.value
    aki = dsc.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    dsc.verify_directly_issued_by(root)
    assert dsc.not_valid_after_utc <= root.not_valid_after_utc


def test_signer_protocol_and_raw_signature(signer):
    assert isinstance(signer, Signer)
    assert signer.certificate_chain == [signer.certificate, signer.root_certificate]
    sig = signer.sign(b"hello")
    assert len(sig) == 64
    _verify_raw(signer.certificate, b"hello", sig)
    assert "PRIVATE" not in repr(signer)


def test_key_file_mode_and_passphrase(tmp_path: Path):
    key, cert = generate_root_ca("Test Root", AUTHORITY, validity_days=10)
    path = tmp_path / "k.key"
    save_private_key(path, key, b"correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    loaded = load_private_key(path, b"correct horse")
    assert loaded.private_numbers() == key.private_numbers()
    save_certificate(tmp_path / "c.pem", cert)
    assert load_certificate(tmp_path / "c.pem") == cert
    # no stray temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pem", "k.key"]


# ---------------------------------------------------------------- dev PKI and rotation


def test_create_dev_pki_is_idempotent(tmp_path: Path):
    first = create_dev_pki(tmp_path, ISSUER, AUTHORITY)
    assert first.created_root and first.created_dsc
    assert first.dsc_key_path.name == f"dsc-{first.kid.hex()}.key"
    assert first.dsc_cert_path.name == f"dsc-{first.kid.hex()}.pem"
    root_pem = first.root_cert_path.read_bytes()
    second = create_dev_pki(tmp_path, ISSUER, AUTHORITY)
    assert not second.created_root and not second.created_dsc
    assert second.kid == first.kid
    assert first.root_cert_path.read_bytes() == root_pem
    for p in (first.root_key_path, first.dsc_key_path):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_create_dev_pki_refuses_half_a_root(tmp_path: Path):
    first = create_dev_pki(tmp_path, ISSUER, AUTHORITY)
    first.root_key_path.unlink()
    with pytest.raises(SigningSetupError) as exc:
        create_dev_pki(tmp_path, ISSUER, AUTHORITY)
    assert exc.value.path == str(first.root_key_path)


# ---------------------------------------------------------------- errors naming the file


def test_missing_key_file(tmp_path: Path, dev_pki):
    missing = tmp_path / "nope.key"
    with pytest.raises(SigningSetupError) as exc:
        FileSigner.from_files(missing, dev_pki.dsc_cert_path, dev_pki.root_cert_path)
    assert exc.value.path == str(missing) and str(missing) in str(exc.value)
    assert "not found" in str(exc.value)


def test_missing_certificate_file(tmp_path: Path, dev_pki):
    missing = tmp_path / "nope.pem"
    with pytest.raises(SigningSetupError) as exc:
        FileSigner.from_files(dev_pki.dsc_key_path, missing, dev_pki.root_cert_path)
    assert exc.value.path == str(missing)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_key_file(tmp_path: Path, dev_pki):
    path = tmp_path / "locked.key"
    path.write_bytes(dev_pki.dsc_key_path.read_bytes())
    path.chmod(0)
    try:
        with pytest.raises(SigningSetupError) as exc:
            load_private_key(path)
        assert exc.value.path == str(path) and "not readable" in str(exc.value)
    finally:
        path.chmod(0o600)


def test_unreadable_key_file_as_any_user(tmp_path: Path, dev_pki, monkeypatch):
    # The chmod test above is skipped under root (CI containers); simulate
    # the operating system's refusal instead so the branch is always covered.
    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(SigningSetupError, match="not readable") as exc:
        FileSigner.from_files(dev_pki.dsc_key_path, dev_pki.dsc_cert_path, dev_pki.root_cert_path)
    assert exc.value.path == str(dev_pki.dsc_key_path)


def test_key_path_is_a_directory(tmp_path: Path):
    with pytest.raises(SigningSetupError) as exc:
        load_private_key(tmp_path)
    assert exc.value.path == str(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"garbage\x00\xff not a key",
        b"",
        b"-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n",
    ],
)
def test_garbage_key_file(tmp_path: Path, content: bytes):
    path = tmp_path / "garbage.key"
    path.write_bytes(content)
    with pytest.raises(SigningSetupError) as exc:
        load_private_key(path)
    assert exc.value.path == str(path)


def test_garbage_certificate_file(tmp_path: Path, dev_pki):
    path = tmp_path / "garbage.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(SigningSetupError) as exc:
        load_certificate(path)
    assert exc.value.path == str(path)
    # a key file given where a certificate is expected
    with pytest.raises(SigningSetupError) as exc:
        load_certificate(dev_pki.dsc_key_path)
    assert exc.value.path == str(dev_pki.dsc_key_path)


def test_wrong_and_missing_passphrase(tmp_path: Path):
    key, _ = generate_root_ca("Test Root", AUTHORITY, validity_days=10)
    path = tmp_path / "enc.key"
    save_private_key(path, key, b"right")
    with pytest.raises(SigningSetupError, match="wrong passphrase") as exc:
        load_private_key(path, b"wrong")
    assert exc.value.path == str(path)
    with pytest.raises(SigningSetupError, match="encrypted") as exc:
        load_private_key(path)
    assert exc.value.path == str(path)


def test_mismatched_pair(tmp_path: Path, dev_pki, other_signer):
    # a valid key from elsewhere next to our certificate
    key, _ = issue_document_signer(
        load_private_key(dev_pki.root_key_path), load_certificate(dev_pki.root_cert_path), "x", AUTHORITY
    )
    stray = tmp_path / "stray.key"
    save_private_key(stray, key, None)
    with pytest.raises(SigningSetupError, match="does not match") as exc:
        FileSigner.from_files(stray, dev_pki.dsc_cert_path, dev_pki.root_cert_path)
    assert exc.value.path == str(stray)


def test_dsc_from_another_root_refused(tmp_path: Path, dev_pki, other_signer):
    other_root = tmp_path / "other-root.pem"
    save_certificate(other_root, other_signer.root_certificate)
    with pytest.raises(SigningSetupError, match="not issued by the root") as exc:
        FileSigner.from_files(dev_pki.dsc_key_path, dev_pki.dsc_cert_path, other_root)
    assert exc.value.path == str(dev_pki.dsc_cert_path)


# ---------------------------------------------------------------- usability


def test_expired_dsc_is_unusable(dev_pki):
    root_key = load_private_key(dev_pki.root_key_path)
    root_cert = load_certificate(dev_pki.root_cert_path)
    past = datetime.now(UTC) - timedelta(days=30)
    key, cert = issue_document_signer(root_key, root_cert, "old", AUTHORITY, validity_days=1, now=past)
    expired = FileSigner(key, cert, root_cert)
    with pytest.raises(SignerUnusable, match="expired"):
        expired.ensure_usable(datetime.now(UTC))
    expired.ensure_usable(past + timedelta(hours=12))  # it was fine back then


def test_not_yet_valid_and_revoked(signer):
    now = datetime.now(UTC)
    signer.ensure_usable(now)
    with pytest.raises(SignerUnusable, match="not valid before"):
        signer.ensure_usable(signer.certificate.not_valid_before_utc - timedelta(seconds=1))
    with pytest.raises(SignerUnusable, match="revoked"):
        signer.ensure_usable(now, revoked=True)
    with pytest.raises(ValueError):
        signer.ensure_usable(datetime.now())  # naive datetimes are ambiguous


def test_non_p256_key_refused():
    key, cert = generate_root_ca("P-384 root", AUTHORITY, validity_days=10)
    with pytest.raises(SigningSetupError, match="P-256"):
        FileSigner(key, cert, cert)
