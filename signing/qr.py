"""QR images of the verification text (DESIGN §6: error correction M, byte mode).

Byte mode is forced rather than letting the library pick per segment: the
text is a URL with a base64url token (mixed case), which alphanumeric mode
cannot hold anyway, and one fixed mode keeps the version predictable.
Error correction M (15 %) survives creases and stains on paper while keeping
the symbol small enough for an ordinary phone camera.
"""

from __future__ import annotations

import functools
import io

import qrcode
import qrcode.constants
import qrcode.image.svg
import qrcode.util
from qrcode.image.pil import PilImage

__all__ = ["qr_png", "qr_svg", "qr_version", "qr_matrix", "QR_BORDER"]

# The quiet zone the QR standard requires (4 modules); scanners fail without it.
QR_BORDER = 4


def _new(text: str, box_size: int) -> qrcode.QRCode:
    qr = qrcode.QRCode(
        version=None,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=QR_BORDER,
    )
    qr.add_data(qrcode.util.QRData(text.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
    return qr


@functools.lru_cache(maxsize=4096)
def _layout(text: str) -> tuple[int, int]:
    """(version, mask pattern) for ``text``: the expensive part, computed once.

    Choosing the mask means building the symbol with all 8 masks and scoring
    each (~35 ms in pure Python for a version-13..16 code). The same text is
    drawn several times (PDF, PNG, SVG), so the choice is remembered; the
    cache holds two small ints per text.
    """
    qr = _new(text, 1)
    qr.best_fit()  # smallest version that fits
    return int(qr.version), int(qr.best_mask_pattern())


def _make(text: str, box_size: int = 10) -> qrcode.QRCode:
    version, mask = _layout(text)
    qr = _new(text, box_size)
    qr.version = version
    qr.mask_pattern = mask
    qr.make(fit=False)  # one build with the remembered mask
    return qr


def qr_png(text: str, box_size: int = 8) -> bytes:
    """PNG bytes of the QR for ``text`` (``box_size`` pixels per module, 4-module border)."""
    img = _make(text, box_size).make_image(image_factory=PilImage)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(text: str) -> bytes:
    """Standalone SVG document of the QR: one <path> on a white background.

    White background on purpose: an SVG shown in a dark-mode app would
    otherwise put black modules on a dark page and fail to scan.
    """
    img = _make(text).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


def qr_version(text: str) -> int:
    """The QR version (1..40) the text needs at error correction M in byte mode."""
    return _layout(text)[0]


def qr_matrix(text: str) -> list[list[bool]]:
    """Module matrix including the quiet zone (True = dark); for vector drawing in the PDF."""
    return [list(row) for row in _make(text).get_matrix()]
