"""ecert signing: keys and the X.509 chain, the QR token (COSE_Sign1), QR images,
the certificate PDF and its PAdES signature, and the trust list.

Pure library: no Flask, no database, nothing from ``ecert``/``api``/``verification``.
Every signature goes through a :class:`Signer`, so the file-key signer can be
swapped for an HSM one without touching the rest. See docs/signing.md.
"""

from .canonical import canonical_json, content_digest
from .cose import (
    TokenClaims,
    decode_claims,
    encode_claims,
    mask_personal_id,
    qr_text,
    sign_token,
)
from .errors import SignerUnusable, SigningError, SigningSetupError
from .pdf import (
    KEYWORDS_TOKEN_PREFIX,
    TOKEN_INFO_KEY,
    PdfWording,
    format_verification_code,
    render_certificate_pdf,
    sign_pdf,
)
from .pki import (
    DevPki,
    DscFiles,
    check_key_matches_certificate,
    create_dev_pki,
    find_document_signers,
    generate_root_ca,
    issue_document_signer,
    kid_for,
    load_certificate,
    load_private_key,
    rotate_document_signer,
    save_certificate,
    save_private_key,
)
from .qr import qr_matrix, qr_png, qr_segments, qr_svg, qr_version
from .signer import FileSigner, PyHankoSignerAdapter, Signer, ensure_usable
from .trustlist import build_trust_list, jwk_entry, root_ca_pem

__all__ = [
    "canonical_json",
    "content_digest",
    "TokenClaims",
    "encode_claims",
    "decode_claims",
    "sign_token",
    "qr_text",
    "mask_personal_id",
    "SigningError",
    "SigningSetupError",
    "SignerUnusable",
    "render_certificate_pdf",
    "PdfWording",
    "sign_pdf",
    "format_verification_code",
    "TOKEN_INFO_KEY",
    "KEYWORDS_TOKEN_PREFIX",
    "DevPki",
    "DscFiles",
    "generate_root_ca",
    "issue_document_signer",
    "kid_for",
    "save_private_key",
    "save_certificate",
    "load_private_key",
    "load_certificate",
    "check_key_matches_certificate",
    "create_dev_pki",
    "rotate_document_signer",
    "find_document_signers",
    "qr_png",
    "qr_svg",
    "qr_version",
    "qr_matrix",
    "qr_segments",
    "Signer",
    "FileSigner",
    "PyHankoSignerAdapter",
    "ensure_usable",
    "jwk_entry",
    "build_trust_list",
    "root_ca_pem",
]
