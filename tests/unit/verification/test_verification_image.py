"""Reading the QR back from a picture of it (zxing-cpp), then verifying what was read."""

from __future__ import annotations

import io

import qrcode
from PIL import Image

from verification import read_qr_from_image, verify_token


def _png(text: str, **save: object) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=6)
    qr.add_data(text.encode("ascii"))  # byte mode, as DESIGN §6 prints it
    qr.make(fit=True)
    image = qr.make_image().get_image().convert("RGB")
    buf = io.BytesIO()
    image.save(buf, **save)
    return buf.getvalue()


def test_png_round_trip_verifies(factory, kit, tmp_path):
    url = factory.url(factory.token())
    path = tmp_path / "qr.png"
    path.write_bytes(_png(url, format="PNG"))
    for source in (path, str(path), path.read_bytes()):
        assert read_qr_from_image(source) == url
    result = verify_token(read_qr_from_image(path), factory.trust_list(), kit.status_of(),
                          now=kit.NOW)
    assert result.outcome == "valid"


def test_jpeg_rotated_photo(factory):
    url = factory.url(factory.token())
    image = Image.open(io.BytesIO(_png(url, format="PNG"))).rotate(90, expand=True)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85)
    assert read_qr_from_image(buf.getvalue()) == url


def test_no_qr_or_not_an_image(tmp_path):
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    assert read_qr_from_image(blank.getvalue()) is None
    assert read_qr_from_image(b"not an image at all") is None
    assert read_qr_from_image(b"") is None
    assert read_qr_from_image(tmp_path / "missing.png") is None


def test_pixel_cap(factory):
    data = _png(factory.url(factory.token()), format="PNG")
    assert read_qr_from_image(data, max_pixels=100) is None
