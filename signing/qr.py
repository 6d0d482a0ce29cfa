"""QR images of the verification text (DESIGN §6): a byte-mode segment for the URL prefix, a
numeric-mode segment for the token's digits, error correction M.

Error correction M (15 %) survives creases and stains on paper while keeping the symbol small
enough for an ordinary phone camera. The level is never raised to fill spare room ("boost"): the
same text always gives the same symbol.

The symbol is segno's (a well-kept encoder that follows ISO/IEC 18004:2015). Choosing the data mask
is the costly part: the standard builds the symbol under all 8 masks and keeps the one with the
lowest penalty score (§7.8.3.1), which segno scores in pure Python, module by module (~20 ms for a
version-11 symbol). Here segno builds the symbol once, under mask 0, and the same penalty rules
are applied to the 8 candidates as bit operations on whole boards (one Python int holds every
module of the symbol), ~0.5 ms for all 8; the chosen mask is then applied the same way. A test
checks that the result is module for module what ``segno.make_qr`` gives with its own mask choice.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any, Final

import segno
from segno import consts, encoder

__all__ = ["qr_png", "qr_svg", "qr_version", "qr_mask", "qr_matrix", "qr_rows", "qr_segments", "QR_BORDER"]

# The quiet zone the QR standard requires (4 modules); scanners fail without it.
QR_BORDER: Final = 4
_ERROR: Final = consts.ERROR_LEVEL_M
# Light columns between rows on a board: a run or a pattern never crosses from one row to the
# next, and a finder-like pattern at the symbol's edge sees light (the quiet zone) beyond it.
_PAD: Final = 4
_TO_BITS: Final = bytes.maketrans(b"\x00\x01", b"01")
_MASKS: Final = range(8)


def qr_segments(text: str) -> list[tuple[str, int]]:
    """The segments of the QR for ``text``: the URL up to ``/v/`` in byte mode, the digits after it
    in numeric mode (3.33 bits a digit). Any other text is one byte-mode segment."""
    prefix, separator, digits = text.rpartition("/v/")
    if separator and digits.isascii() and digits.isdigit():
        return [(prefix + separator, consts.MODE_BYTE), (digits, consts.MODE_NUMERIC)]
    return [(text, consts.MODE_BYTE)]


def _segments_arg(text: str) -> Any:
    # segno documents a list of (content, mode) tuples as explicit segments; its type hints
    # name only the single-value form.
    return qr_segments(text)


@dataclass(frozen=True)
class _Boards:
    """One version's fixed boards, row-major and column-major: what each mask flips, where the
    format and version information sit, and those bits as written for each mask."""

    size: int
    stride: int
    inside: int  # every module of the symbol
    everything: int  # the modules and the light padding around each row
    flips_rows: tuple[int, ...]
    flips_cols: tuple[int, ...]
    info: int  # format and version information, and the dark module (row-major)
    info_bits: tuple[int, ...]  # their values for each mask (row-major)
    info_cols: int


def _board(rows: list[bytes]) -> int:
    """Rows of 0/1 bytes as one int, ``_PAD`` light bits before, between and after the rows."""
    pad = b"0" * _PAD
    return int(pad + pad.join(row.translate(_TO_BITS) for row in rows) + pad, 2)


def _rows_of(board: int, size: int) -> tuple[str, ...]:
    stride = size + _PAD
    text = format(board, "b").zfill(_PAD + size * stride)
    return tuple(text[_PAD + r * stride : _PAD + r * stride + size] for r in range(size))


@functools.lru_cache(maxsize=41)
def _boards(version: int) -> _Boards:
    """Built from segno's own function-pattern and format routines, as its mask search uses them
    (``encoder.find_and_apply_best_mask``), so both agree on every module; segno is pinned."""
    size = encoder.calc_matrix_size(version)
    function = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(function, size, size)
    encoder.add_alignment_patterns(function, size, size)
    function[-8][8] = 0x1
    patterns = encoder.get_data_mask_functions(False)
    region = [(i, j) for i in range(size) for j in range(size) if function[i][j] > 0x1]
    flips_rows, flips_cols = [], []
    for pattern in patterns:
        grid = [bytearray(size) for _ in range(size)]
        for i, j in region:
            grid[i][j] = 1 if pattern(i, j) else 0
        flips_rows.append(_board([bytes(row) for row in grid]))
        flips_cols.append(_board([bytes(col) for col in zip(*grid, strict=True)]))
    info_bits = []
    info_grid: list[bytearray] = []
    for mask in _MASKS:
        info_grid = list(encoder.make_matrix(size, size, reserve_regions=False, add_timing=False))
        encoder.add_format_info(info_grid, version, _ERROR, mask)
        encoder.add_version_info(info_grid, version)
        info_bits.append(_board([bytes(v == 1 for v in row) for row in info_grid]))
    written = [bytes(v != 0x2 for v in row) for row in info_grid]
    stride = size + _PAD
    return _Boards(
        size=size,
        stride=stride,
        inside=_board([b"\x01" * size] * size),
        everything=(1 << (_PAD + size * stride)) - 1,
        flips_rows=tuple(flips_rows),
        flips_cols=tuple(flips_cols),
        info=_board(written),
        info_bits=tuple(info_bits),
        info_cols=_board([bytes(col) for col in zip(*written, strict=True)]),
    )


def _runs(same: int) -> int:
    """N1 over one colour: 3 + (length - 5) points for each run of 5 or more in a line."""
    windows = same & same >> 1 & same >> 2 & same >> 3 & same >> 4  # 5 alike from here on
    first = windows & ~(windows << 1)  # the first window of each run
    return windows.bit_count() + 2 * first.bit_count()


def _finder_like(dark: int, light: int) -> int:
    """N3: 40 points for each 1:1:3:1:1 pattern with 4 light modules (or the edge) before or after.

    Counted as segno's scan counts them: a pattern that starts inside one just counted (4 or 6
    modules after its start, where 10111011101 and 1011101011101 overlap) is not counted again.
    ``x << k`` reads the module k places further along the line.
    """
    pattern = dark & light << 1 & dark << 2 & dark << 3 & dark << 4 & light << 5 & dark << 6
    before = light >> 1 & light >> 2 & light >> 3 & light >> 4
    after = light << 7 & light << 8 & light << 9 & light << 10
    qualified = pattern & (before | after)
    skipped = 0
    while True:  # overlapping chains are a few patterns long at most
        counted = qualified & ~skipped
        again = pattern & (counted >> 4 | counted >> 6)
        if again == skipped:
            return 40 * counted.bit_count()
        skipped = again


def _penalty(rows: int, cols: int, boards: _Boards) -> int:
    """The ISO/IEC 18004:2015 §7.8.3.1 penalty (N1..N4) of one candidate, as segno scores it."""
    light_rows = ~rows & boards.inside
    light_cols = ~cols & boards.inside
    score = _runs(rows) + _runs(light_rows) + _runs(cols) + _runs(light_cols)
    below = boards.stride
    for same in (rows, light_rows):  # N2: 3 points for each 2x2 block of one colour
        score += 3 * (same & same >> 1 & same >> below & same >> (below + 1)).bit_count()
    outside = boards.everything & ~boards.inside  # the quiet zone counts as light for N3
    score += _finder_like(rows, light_rows | outside) + _finder_like(cols, light_cols | outside)
    dark_share = rows.bit_count() / boards.size**2  # N4, in segno's exact arithmetic
    return score + 10 * int(abs(dark_share * 100 - 50) / 5)


@dataclass(frozen=True)
class _Symbol:
    version: int
    mask: int
    rows: tuple[str, ...]  # "1" dark, "0" light; without the quiet zone


@functools.lru_cache(maxsize=64)
def _symbol(text: str) -> _Symbol:
    """The symbol for ``text`` with the standard's best mask. Remembered for a few texts: issuance
    draws it into the PDF and the first image request may follow in the same worker."""
    code = segno.make_qr(_segments_arg(text), error="m", boost_error=False, mask=0)
    boards = _boards(int(code.version))
    size = boards.size
    bare_rows = (_board([bytes(row) for row in code.matrix]) ^ boards.flips_rows[0]) & ~boards.info
    bare_cols = (_board([bytes(col) for col in zip(*code.matrix, strict=True)]) ^ boards.flips_cols[0]) & ~(
        boards.info_cols
    )
    scores = [_penalty(bare_rows ^ boards.flips_rows[m], bare_cols ^ boards.flips_cols[m], boards) for m in _MASKS]
    best = scores.index(min(scores))  # the first of equal scores, as the standard's search keeps
    final = bare_rows ^ boards.flips_rows[best] | boards.info_bits[best]
    return _Symbol(version=int(code.version), mask=best, rows=_rows_of(final, size))


def _segno_code(text: str) -> segno.QRCode:
    """segno's QRCode for ``text`` under the chosen mask, for its PNG and SVG writers."""
    return segno.make_qr(_segments_arg(text), error="m", boost_error=False, mask=_symbol(text).mask)


def qr_png(text: str, box_size: int = 8) -> bytes:
    """PNG bytes of the QR for ``text`` (``box_size`` pixels per module, 4-module border)."""
    buf = io.BytesIO()
    _segno_code(text).save(buf, kind="png", scale=box_size, border=QR_BORDER)
    return buf.getvalue()


def qr_svg(text: str) -> bytes:
    """Standalone SVG document of the QR: one path on a white background.

    White background on purpose: an SVG shown in a dark-mode app would otherwise put black
    modules on a dark page and fail to scan.
    """
    buf = io.BytesIO()
    # viewBox rather than a fixed size, so an app scales it to its layout.
    _segno_code(text).save(
        buf, kind="svg", border=QR_BORDER, light="#fff", omitsize=True, svgclass=None, lineclass=None
    )
    return buf.getvalue()


def qr_version(text: str) -> int:
    """The QR version (1..40) the text needs at error correction M."""
    return _symbol(text).version


def qr_mask(text: str) -> int:
    """The data mask (0..7) the standard's penalty score picks for ``text``."""
    return _symbol(text).mask


def qr_rows(text: str) -> tuple[str, ...]:
    """The symbol's rows, top first, without the quiet zone: ``"1"`` dark, ``"0"`` light."""
    return _symbol(text).rows


def qr_matrix(text: str) -> list[list[bool]]:
    """Module matrix including the quiet zone (True = dark)."""
    rows = qr_rows(text)
    width = len(rows) + 2 * QR_BORDER
    edge = [False] * QR_BORDER
    blank = [[False] * width for _ in range(QR_BORDER)]
    middle = [edge + [bit == "1" for bit in row] + edge for row in rows]
    return [*blank, *middle, *[row[:] for row in blank]]
