"""Read the QR code from a photo or scan (PNG, JPEG, ...) with zxing-cpp.

Pillow and zxing-cpp are imported on first use only: verifying a token must not pay for them.
Images are hostile input too: the file size and the pixel count are capped before any pixel is
decoded (Pillow's ``Image.open`` only reads the header).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
MAX_IMAGE_PIXELS: Final = 40_000_000  # a 48-megapixel phone photo is downscaled by the user


def read_qr_from_image(source: str | Path | bytes, max_pixels: int = MAX_IMAGE_PIXELS) -> str | None:
    """The text of the first QR code found in the image, or None (no QR, unreadable, too big)."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            with open(source, "rb") as fh:
                data = fh.read(MAX_IMAGE_BYTES + 1)
        if not data or len(data) > MAX_IMAGE_BYTES:
            return None

        import zxingcpp
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                return None
            # Phone photos are often stored sideways with an EXIF orientation; grayscale is all
            # the decoder needs and sidesteps palette/alpha/CMYK modes.
            gray = ImageOps.exif_transpose(image).convert("L")
        # zxing-cpp converts one BarcodeFormat implicitly (its docstring says so; its 3.x stub does
        # not), and the explicit BarcodeFormats(...) constructor is not in the 2.x we still accept.
        qr_only = zxingcpp.BarcodeFormat.QRCode
        for barcode in zxingcpp.read_barcodes(gray, formats=qr_only):  # type: ignore[arg-type]
            if barcode.text:
                return barcode.text
        return None
    except Exception:  # noqa: BLE001 - corrupt or unsupported image: no QR we can read
        return None
