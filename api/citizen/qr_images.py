"""The QR images of a certificate (``GET .../qr.png``, ``.../qr.svg``), drawn once, then cached.

A certificate's QR text never changes, and the drawing is deterministic (pinned segno, fixed
scale and border), so an image is a pure function of (kind, QR text, renderer). Hence:

* the ETag is computed from those three, without drawing: a revalidation (If-None-Match) is
  answered 304 by any worker, warm or cold, and every worker gives the same ETag;
* the bytes are drawn once per worker and kept in a bounded LRU (a PNG is ~2 KB, an SVG ~8 KB;
  :data:`CACHED_IMAGES` of each bounds the memory to a few MB), so a phone that shows its QR
  again costs a lookup, not a render.

The owner check still runs on every request (the view loads the certificate first): the cache
only saves the drawing. docs/performance.md explains the choice over storing the images.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Final, Literal

import segno
from flask import Response, request

from signing.qr import qr_png, qr_svg

QrKind = Literal["png", "svg"]

CACHED_IMAGES: Final = 512
_MIMETYPES: Final[dict[str, str]] = {"png": "image/png", "svg": "image/svg+xml"}
# Bump when the drawing changes (scale, border, colours): the ETag then changes with the bytes.
_RENDERER: Final = f"ecert-qr-1/segno-{segno.__version__}"


def qr_etag(kind: QrKind, qr_text: str) -> str:
    """The strong ETag of the image: the same in every worker, known before drawing."""
    return hashlib.sha256(f"{_RENDERER}\0{kind}\0{qr_text}".encode()).hexdigest()[:40]


@functools.lru_cache(maxsize=2 * CACHED_IMAGES)
def _drawn(kind: QrKind, qr_text: str) -> bytes:
    return qr_png(qr_text) if kind == "png" else qr_svg(qr_text)


def qr_image_response(kind: QrKind, qr_text: str, *, cache: str) -> Response:
    """The image as a response with its ETag and ``cache``; 304 without drawing when it matches."""
    etag = qr_etag(kind, qr_text)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(_drawn(kind, qr_text), mimetype=_MIMETYPES[kind])
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache
    return response
