"""poppler's pdfsig (NSS) trusts the certificate PDF once our root is in its store, and only then.

NSS validates a PDF signer's certificate for the e-mail signing usage: the DSC carries
id-kp-emailProtection for it (DESIGN §6).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.conftest import append_info_update, flip_signed_byte, run_tool

pytestmark = pytest.mark.interop


def nss_store(certutil: str, directory: Path, root: Path | None) -> str:
    directory.mkdir()
    store = f"sql:{directory}"
    done = run_tool(certutil, "-N", "-d", store, "--empty-password")
    assert done.returncode == 0, done.stderr
    if root is not None:
        done = run_tool(certutil, "-A", "-d", store, "-n", "ecert-root", "-t", "CT,C,C", "-i", root)
        assert done.returncode == 0, done.stderr
    return store


def pdfsig_says(pdfsig: str, store: str, pdf: Path) -> str:
    done = run_tool(pdfsig, "-nssdir", store, pdf)
    return done.stdout + done.stderr


def test_signature_valid_and_certificate_trusted(pdfsig, certutil, root_pem, certificate_pdf, tmp_path):
    out = pdfsig_says(pdfsig, nss_store(certutil, tmp_path / "nss", root_pem), certificate_pdf)
    assert "Signature Field Name: EcertSignature" in out, out
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    assert "Total document signed" in out and "Not total document signed" not in out, out
    assert out.count("Signature #") == 1, out


def test_without_our_root_not_trusted(pdfsig, certutil, certificate_pdf, tmp_path):
    out = pdfsig_says(pdfsig, nss_store(certutil, tmp_path / "nss", None), certificate_pdf)
    assert "Signature is Valid." in out, out  # the mathematics holds...
    assert "Certificate is Trusted." not in out, out  # ...but nobody vouched for the signer


def test_tampered_copies(pdfsig, certutil, root_pem, certificate, tmp_path):
    store = nss_store(certutil, tmp_path / "nss", root_pem)
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(flip_signed_byte(certificate["pdf"]))
    out = pdfsig_says(pdfsig, store, flipped)
    assert "Signature is Valid." not in out, out
    assert "Digest Mismatch" in out, out

    appended = tmp_path / "appended.pdf"
    appended.write_bytes(append_info_update(certificate["pdf"], Title="sửa sau khi ký"))
    assert "Not total document signed" in pdfsig_says(pdfsig, store, appended)
