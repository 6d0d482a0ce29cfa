"""ecert verifier: is this judicial-record certificate genuine, unaltered and not revoked?

A pure library (no web framework, no database): it reads only the public formats of DESIGN §6
and docs/contracts.md, so a third party can ship it alone. Entry points::

    from verification import TrustList, verify_token, verify_pdf
    trust = TrustList.load("trust-list.json", root=open("root-ca.pem", "rb").read())
    result = verify_token(qr_text, trust, status_lookup=my_lookup)
    result.outcome, result.to_dict()

``python -m verification <QR text | PNG/JPEG | PDF> --trust-list FILE | --server URL``.
The PDF and image readers import pyHanko / zxing-cpp lazily, so verifying a token costs neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core import verify_token
from .result import (
    CHECK_NAMES,
    OUTCOMES,
    REASON_CODES,
    Check,
    Outcome,
    PublicFields,
    VerificationResult,
)
from .status import CertificateStatus, StatusLookup, StatusUnavailable
from .token import DecodedToken, MalformedToken, decode_token, extract_token
from .trust import TrustedKey, TrustList, TrustListError

if TYPE_CHECKING:  # pragma: no cover
    from .image import read_qr_from_image
    from .pdf import verify_pdf

__all__ = [
    "CHECK_NAMES",
    "OUTCOMES",
    "REASON_CODES",
    "CertificateStatus",
    "Check",
    "DecodedToken",
    "MalformedToken",
    "Outcome",
    "PublicFields",
    "StatusLookup",
    "StatusUnavailable",
    "TrustList",
    "TrustListError",
    "TrustedKey",
    "VerificationResult",
    "decode_token",
    "extract_token",
    "read_qr_from_image",
    "verify_pdf",
    "verify_token",
]


def __getattr__(name: str) -> Any:
    # Lazy: pyHanko and zxing-cpp/Pillow are heavy imports the token path never needs.
    if name == "verify_pdf":
        from .pdf import verify_pdf

        return verify_pdf
    if name == "read_qr_from_image":
        from .image import read_qr_from_image

        return read_qr_from_image
    raise AttributeError(f"module 'verification' has no attribute {name!r}")
