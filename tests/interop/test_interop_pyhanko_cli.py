"""pyHanko's own CLI validates the certificate PDF against our root alone."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.public.test_verification_api import verify_upload
from tests.interop.conftest import append_info_update, flip_signed_byte, run_tool

pytestmark = pytest.mark.interop


def validate(cli: Path, root: Path, pdf: Path) -> tuple[int, str]:
    # --trust-replace: our root is the only trust anchor (not combined with the OS store).
    done = run_tool(cli, "sign", "validate", "--trust", root, "--trust-replace", "--pretty-print", pdf)
    return done.returncode, done.stdout


def test_certificate_pdf_is_valid_trusted_and_covers_the_whole_file(pyhanko_cli, root_pem, certificate_pdf):
    code, out = validate(pyhanko_cli, root_pem, certificate_pdf)
    assert code == 0, out
    assert "The signer's certificate is trusted." in out
    assert "The signature is cryptographically sound." in out
    assert "The signature covers the entire file." in out
    assert "The signature is judged VALID." in out


def test_other_trust_root_is_not_trusted(pyhanko_cli, certificate_pdf, tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.pki import generate_root_ca

    _, stranger = generate_root_ca("Someone else's root", "Not the agency")
    other = tmp_path / "other-root.pem"
    other.write_bytes(stranger.public_bytes(Encoding.PEM))
    code, out = validate(pyhanko_cli, other, certificate_pdf)
    assert code != 0
    assert "The signer's certificate is trusted." not in out
    assert "The signature is judged VALID." not in out


def test_tampered_copies(pyhanko_cli, root_pem, certificate, client, tmp_path):
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(flip_signed_byte(certificate["pdf"]))
    code, out = validate(pyhanko_cli, root_pem, flipped)
    assert code != 0, out
    assert "The signature is cryptographically unsound." in out
    assert "The signature is judged INVALID." in out

    # An update after the signature: pyHanko says the signature no longer covers the file (it
    # would still call an /Info-only update "signature maintenance"; we do not: DESIGN §7).
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(append_info_update(certificate["pdf"], Title="sửa sau khi ký"))
    code, out = validate(pyhanko_cli, root_pem, appended)
    assert "The signature does not cover the entire file." in out
    body = verify_upload(client, appended.read_bytes())
    assert (body["outcome"], body["checks"]["signature"]["reason"]) == ("tampered", "modified_after_signing")
