"""The certificate PDF: rendering (reportlab) and PAdES signing (pyHanko).

Where the QR token sits in the PDF
----------------------------------
Primary place: the document information dictionary (trailer ``/Info``),
custom key ``/EcertToken``, value = the token exactly as in the QR (its
decimal digits). Read it back with pyHanko::

    from pyhanko.pdf_utils.reader import PdfFileReader
    reader = PdfFileReader(io.BytesIO(pdf_bytes))
    token = str(reader.trailer["/Info"]["/EcertToken"])

Secondary copy, for tools that only show the standard fields: ``/Keywords``
is ``ecert-token:<token>``. Verifiers should read ``/EcertToken`` and may
fall back to ``/Keywords``. The Info dictionary is written before signing, so
it lies inside the signature's byte range: changing it breaks the PAdES
signature. (pyHanko's signing step rewrites ``/Info`` in its incremental
update to set ``/ModDate``; it keeps every other key, ours included.)

Verification code on paper
--------------------------
The 12-character code is printed in three groups of four,
``Mã xác thực: ABCD-EFGH-JKLM``, because people copy it by hand; whoever
compares codes must drop hyphens/spaces and compare case-insensitively.
A code that is not exactly 12 characters is printed as given.
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, Protocol
from xml.sax.saxutils import escape

import font_source_sans_pro
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_VENDOR
from pyhanko.sign import fields as pyhanko_fields
from pyhanko.sign import signers as pyhanko_signers
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFDate, PDFDictionary, PDFInfo, PDFString
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .qr import QR_BORDER, qr_rows
from .signer import PyHankoSignerAdapter, Signer

__all__ = [
    "render_certificate_pdf",
    "sign_pdf",
    "TOKEN_INFO_KEY",
    "KEYWORDS_TOKEN_PREFIX",
    "SIGNATURE_FIELD",
    "PdfWording",
    "format_verification_code",
]

TOKEN_INFO_KEY = "/EcertToken"
KEYWORDS_TOKEN_PREFIX = "ecert-token:"
SIGNATURE_FIELD = "EcertSignature"
# Bytes reserved for the CMS beyond its certificates and the signer's issuer name (see sign_pdf).
_CMS_SLACK: Final = 512

# Vietnam has used UTC+7 all year since 1975 (no DST): "ngày ... tháng ..." on
# the paper is the Vietnamese calendar date, not the UTC one.
_VN_TZ = timezone(timedelta(hours=7))

_FONT = "SourceSansPro"
_FONT_BOLD = "SourceSansPro-Bold"
_fonts_lock = threading.Lock()
_fonts_ready = False
# reportlab keeps per-document font-subset state inside the shared TTFont
# objects and reads process-wide rl_config; it does not promise thread
# safety. Rendering is pure-Python CPU work under the GIL anyway, so
# serialising builds in a threaded worker costs next to nothing.
_build_lock = threading.Lock()

_DARK_RUN: Final = re.compile("1+")

_GENDER_LABELS = {"male": "Nam", "female": "Nữ", "nam": "Nam", "nữ": "Nữ"}


def _register_fonts() -> None:
    """Register Source Sans Pro once per process.

    Parsing the ~290 kB TTF files costs tens of milliseconds; issuance
    renders a PDF per certificate, so it is done once and kept. The lock
    makes the first concurrent callers wait instead of registering twice.

    Two weights, Regular and Bold: each embedded font is a subset of 6-9 kB,
    and the page needs no third. ``asciiReadable=False``: reportlab's default
    puts all 95 ASCII glyphs into every subset whether the page uses them or
    not (a third of the file); off, a subset holds the glyphs drawn, and the
    ToUnicode map still gives text extraction and search the real letters.
    """
    global _fonts_ready
    if _fonts_ready:
        return
    with _fonts_lock:
        if _fonts_ready:
            return
        base = Path(font_source_sans_pro.font_directory)
        pdfmetrics.registerFont(TTFont(_FONT, str(base / "SourceSansPro-Regular.ttf"), asciiReadable=False))
        pdfmetrics.registerFont(TTFont(_FONT_BOLD, str(base / "SourceSansPro-Bold.ttf"), asciiReadable=False))
        # <b> inside Paragraph markup resolves through the family.
        pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_FONT_BOLD, italic=_FONT, boldItalic=_FONT_BOLD)
        # reportlab wraps compressed streams in ASCII85 by default: 25 % more
        # bytes and, without the optional C accelerator, ~8 ms of pure-Python
        # encoding per certificate. Binary streams are standard PDF. This is
        # a process-wide reportlab setting; signing/ is its only user.
        rl_config.useA85 = 0
        _fonts_ready = True


# ------------------------------------------------------------------ styles

_STYLES: dict[str, ParagraphStyle] = {}


# Each style over the body text: what it changes (ReportLab's ParagraphStyle attributes).
_HEADER: Final[dict[str, Any]] = {"fontName": _FONT_BOLD, "fontSize": 10.5, "leading": 13, "alignment": TA_CENTER}
_STYLE_CHANGES: Final[dict[str, dict[str, Any]]] = {
    # Labels in the regular weight, as on the paper form; the values carry the emphasis.
    "label": {},
    "header_left": _HEADER,
    "header_right": _HEADER,
    "motto": {"fontName": _FONT_BOLD, "fontSize": 11, "leading": 13, "alignment": TA_CENTER},
    "small_center": {"fontSize": 10, "leading": 12.5, "alignment": TA_CENTER},
    "title": {
        "fontName": _FONT_BOLD,
        "fontSize": 16,
        "leading": 20,
        "alignment": TA_CENTER,
        "spaceBefore": 10,
        "spaceAfter": 2,
    },
    "subtitle": {"fontSize": 11, "alignment": TA_CENTER, "spaceAfter": 10},
    "section": {"fontName": _FONT_BOLD, "spaceBefore": 8, "spaceAfter": 3},
    "item": {"leftIndent": 6 * mm, "spaceBefore": 3},
    "detail": {"leftIndent": 12 * mm, "spaceAfter": 0},
    "verify": {"fontSize": 10, "leading": 13, "alignment": TA_LEFT},
    "sign": {"fontSize": 11, "leading": 14, "alignment": TA_CENTER},
    "footer": {"fontSize": 8, "leading": 10, "textColor": colors.HexColor("#444444")},
}


def _styles() -> dict[str, ParagraphStyle]:
    if not _STYLES:
        body = ParagraphStyle("body", fontName=_FONT, fontSize=11, leading=14.5, spaceAfter=2)
        _STYLES["body"] = body
        _STYLES.update({name: ParagraphStyle(name, parent=body, **change) for name, change in _STYLE_CHANGES.items()})
    return _STYLES


# ------------------------------------------------------------------ helpers


def _t(value: Any) -> str:
    """Text for Paragraph markup: NFC, XML-escaped (names may contain '&' or '<')."""
    if value is None:
        return ""
    return escape(unicodedata.normalize("NFC", str(value)))


def _or_dash(value: Any) -> str:
    return _t(value) if value not in (None, "") else "—"


def _date(value: Any) -> str:
    """'YYYY-MM-DD' -> 'dd/mm/yyyy' as Vietnamese documents write dates."""
    if not value:
        return "—"
    text = str(value)
    try:
        d = datetime.strptime(text[:10], "%Y-%m-%d")
    except ValueError:
        # Odd input is printed as is: wrong-looking text is visible to the
        # reviewer, a crash would just block issuance.
        return _t(text)
    return f"{d:%d/%m/%Y}"


def _issue_date_line(place: str, issued_at: Any) -> str:
    try:
        dt = datetime.fromisoformat(str(issued_at)).astimezone(_VN_TZ)
    except ValueError:
        return f"{_t(place)}, {_t(issued_at)}"
    return f"{_t(place)}, ngày {dt.day:02d} tháng {dt.month:02d} năm {dt.year}"


def format_verification_code(code: str) -> str:
    """Group a 12-character code as XXXX-XXXX-XXXX for reading aloud and typing."""
    plain = code.replace("-", "").replace(" ", "")
    if len(plain) == 12:
        return f"{plain[0:4]}-{plain[4:8]}-{plain[8:12]}"
    return code


def _spouse(value: Any) -> str:
    # The request form lets the citizen answer "none" for the spouse.
    if value is None or str(value).strip().lower() in ("", "none", "không", "không có"):
        return "Không có"
    return _t(value)


def _court(court: Any) -> str:
    text = _t(court)
    # Court names in the store usually already start with "Tòa án ...".
    if unicodedata.normalize("NFC", str(court or "")).lower().startswith(("tòa án", "toà án")):
        return text
    return f"Tòa án {text}" if text else "Tòa án —"


def _verification_base(qr_text: str) -> str:
    """The paper-channel form, ``{base}/v`` (DESIGN §7): where a reader enters the number and code."""
    base = qr_text.rsplit("/v/", 1)[0] if "/v/" in qr_text else qr_text.rstrip("/")
    return f"{base}/v"


# ------------------------------------------------------------------ flowables


class _QrFlowable(Flowable):
    """The QR drawn as vector rectangles: sharp at any print resolution and
    a few hundred bytes, instead of an embedded raster image."""

    def __init__(self, text: str, module_mm: float = 0.65, min_size_mm: float = 36.0) -> None:
        super().__init__()
        self._rows = qr_rows(text)
        n = len(self._rows) + 2 * QR_BORDER
        # Modules of 0.65 mm (2.6 dots at 100 dpi): zbar and zxing read every
        # code printed or scanned at 100 dpi (tests/interop/test_interop_qr_print.py);
        # at 0.5 mm zbar missed more than half of them. Bigger versions simply
        # get a bigger square (version 11: 45 mm, version 15: 55 mm).
        self.size = max(min_size_mm * mm, n * module_mm * mm)
        self.width = self.height = self.size

    def wrap(self, _avail_width: float, _avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        c = self.canv
        n = len(self._rows) + 2 * QR_BORDER
        c.saveState()
        c.setFillColor(colors.white)
        c.rect(0, 0, self.size, self.size, stroke=0, fill=1)
        c.setFillColor(colors.black)
        # Work in module units so every coordinate is a small integer, and
        # write the path operators directly (Canvas.addLiteral): going
        # through reportlab's path API formats ~5,000 floats in pure Python
        # and cost ~15 ms per certificate. One rectangle per horizontal run
        # of dark modules; one fill for the whole path, so no seams.
        ops = [
            f"{QR_BORDER + run.start()} {n - 1 - QR_BORDER - y} {run.end() - run.start()} 1 re"
            for y, row in enumerate(self._rows)
            for run in _DARK_RUN.finditer(row)
        ]
        ops.append("f")
        c.scale(self.size / n, self.size / n)
        c.addLiteral("\n".join(ops))
        c.restoreState()


class _EcertInfo(PDFInfo):
    """reportlab's Info dictionary plus our custom keys (reportlab has no API for them).

    Mirrors PDFInfo.format; pinned by a test that reads /EcertToken back. Written once: the
    Producer already names pyHanko and there is no /ModDate, so pyHanko's signing revision has
    nothing to update and does not write a second copy of the dictionary (token included). No
    /Subject (it repeated the title) and no /Trapped: nothing is declared that nobody reads.
    """

    extras: dict[str, str]

    def format(self, document: Any) -> bytes:
        d: dict[str, Any] = {
            "Title": PDFString(self.title),
            "Author": PDFString(self.author),
            "Producer": PDFString(f"ReportLab; {PYHANKO_VENDOR}"),
            "Creator": PDFString(self.creator),
            "Keywords": PDFString(self.keywords),
        }
        d["CreationDate"] = PDFDate(
            # reportlab's own PDFInfo.format reads the document's timestamp the same way.
            ts=document._timeStamp,  # noqa: SLF001
            dateFormatter=self._dateFormatter,
        )
        for key, value in self.extras.items():
            d[key] = PDFString(value)
        formatted: bytes = PDFDictionary(d).format(document)
        return formatted


def _canvas_with_info(extras: dict[str, str]) -> type[Canvas]:
    class _Canvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            info = _EcertInfo()
            info.__dict__.update(self._doc.info.__dict__)
            info.extras = extras
            self._doc.info = info

    return _Canvas


# ------------------------------------------------------------------ render


class PdfWording(Protocol):
    """The words the PDF prints that signing/ does not own: the legal statements, the form names,
    the serving statuses and the place of issue. ``ecert.domain.content.certificate_wording``
    supplies them from ``ecert.domain.rules`` and the settings; ``signing`` imports no ``ecert``.
    """

    @property
    def place_of_issue(self) -> str: ...

    @property
    def form_names(self) -> Mapping[int, str]: ...

    @property
    def record_statements(self) -> Mapping[int, str]: ...

    @property
    def ban_heading(self) -> str: ...

    @property
    def ban_statements(self) -> Mapping[int, str]: ...

    @property
    def serving_statuses(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class _Sheet:
    """What several parts of the page repeat: the number, the authority, the code and the link."""

    number: str
    form_type: int
    form_name: str
    authority: str
    issued_at: Any
    qr_text: str
    code_display: str
    base_url: str


def _sheet(content: Mapping[str, Any], wording: PdfWording, qr_text: str, verification_code: str) -> _Sheet:
    form_type = int(content.get("form_type", 1))
    return _Sheet(
        number=str(content.get("number", "")),
        form_type=form_type,
        form_name=wording.form_names[form_type],
        authority=str((content.get("issuer") or {}).get("authority") or ""),
        issued_at=content.get("issued_at"),
        qr_text=qr_text,
        code_display=format_verification_code(verification_code),
        base_url=_verification_base(qr_text),
    )


def _layout_table(rows: list[list[Any]], col_widths: list[Any], style: list[tuple[Any, ...]], **kwargs: Any) -> Table:
    """A table used for layout: cells aligned at the top, no padding on the left, plus ``style``."""
    table = Table(rows, colWidths=col_widths, **kwargs)
    # FONT: reportlab sets each cell's font (Helvetica by default) even when the cell holds
    # paragraphs, which would declare a font no text uses.
    base = [
        ("FONT", (0, 0), (-1, -1), _FONT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]
    table.setStyle(TableStyle([*base, *style]))
    return table


def _field_table(rows: Sequence[tuple[str, str]]) -> Table:
    """Label / value rows: labels in semibold, values wrapped in the remaining width."""
    s = _styles()
    data = [[Paragraph(label, s["label"]), Paragraph(value, s["body"])] for label, value in rows]
    tight = [
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
    return _layout_table(data, [55 * mm, None], tight, hAlign="LEFT")


def _flush_table(cells: list[list[Any]], col_widths: list[Any]) -> Table:
    """Columns side by side with no padding at either side (header, closing block)."""
    return _layout_table(cells, col_widths, [("RIGHTPADDING", (0, 0), (-1, -1), 0)])


def _header(sheet: _Sheet) -> list[Flowable]:
    """National header (authority left; the state's name and motto right), then the form's title."""
    s = _styles()
    authority = [
        Paragraph(_t(sheet.authority), s["header_left"]),
        Paragraph(f"Số: {_t(sheet.number)}", s["small_center"]),
    ]
    state = [
        Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", s["header_right"]),
        Paragraph("Độc lập - Tự do - Hạnh phúc", s["motto"]),
    ]
    return [
        _flush_table([[authority, state]], ["42%", "58%"]),
        Spacer(1, 6 * mm),
        Paragraph(_t(sheet.form_name.upper()), s["title"]),
        Paragraph(f"Số phiếu: <b>{_t(sheet.number)}</b>", s["subtitle"]),
    ]


def _identity_table(holder: Mapping[str, Any], form_type: int) -> Table:
    """The holder's identity; Form 2 adds the parents and the spouse."""
    gender = holder.get("gender")
    rows = [
        ("Họ và tên:", f"<b>{_or_dash(holder.get('full_name'))}</b>"),
        ("Giới tính:", _GENDER_LABELS.get(str(gender).lower(), _or_dash(gender)) if gender else "—"),
        ("Ngày, tháng, năm sinh:", _date(holder.get("birth_date"))),
        ("Nơi sinh:", _or_dash(holder.get("place_of_birth"))),
        ("Quốc tịch:", _or_dash(holder.get("nationality"))),
        ("Nơi cư trú:", _or_dash(holder.get("residence"))),
        ("Số định danh cá nhân:", _or_dash(holder.get("personal_id"))),
    ]
    if form_type == 2:
        rows += [
            ("Họ và tên cha:", _or_dash(holder.get("father_name"))),
            ("Họ và tên mẹ:", _or_dash(holder.get("mother_name"))),
            ("Họ và tên vợ/chồng:", _spouse(holder.get("spouse_name"))),
        ]
    return _field_table(rows)


def _record_section(record: Mapping[str, Any], form_type: int, wording: PdfWording) -> list[Flowable]:
    """The record statement, then one block per listed conviction."""
    statement_code = 1 if record.get("statement") == 1 else 0
    statement = wording.record_statements[statement_code]
    out: list[Flowable] = [Paragraph(f"Tình trạng án tích: <b>{_t(statement)}</b>", _styles()["section"])]
    for i, conviction in enumerate(record.get("convictions") or [], 1):
        # One judgment per block: do not strand its heading at a page foot.
        out.append(KeepTogether(_conviction_flowables(i, conviction, form_type, wording)))
    return out


def _conviction_flowables(
    index: int, conviction: Mapping[str, Any], form_type: int, wording: PdfWording
) -> list[Flowable]:
    s = _styles()
    head = (
        f"<b>{index}. Bản án số {_or_dash(conviction.get('judgment_number'))} "
        f"ngày {_date(conviction.get('judgment_date'))} "
        f"của {_court(conviction.get('court'))}</b>"
    )
    offences = conviction.get("offences") or []
    crimes = "; ".join(f"{_or_dash(o.get('name'))} (Điều {_or_dash(o.get('article'))} BLHS)" for o in offences) or "—"
    additional = conviction.get("additional_penalties") or []
    status = conviction.get("serving_status")
    # Unknown codes are printed as they are rather than hidden.
    status_text = wording.serving_statuses.get(str(status), str(status)) if status else None
    out: list[Flowable] = [
        Paragraph(head, s["item"]),
        Paragraph(f"Tội danh: {crimes}", s["detail"]),
        Paragraph(f"Hình phạt chính: {_or_dash(conviction.get('principal_penalty'))}", s["detail"]),
        Paragraph(
            "Hình phạt bổ sung: " + ("; ".join(_t(a) for a in additional) if additional else "Không"),
            s["detail"],
        ),
        Paragraph(f"Tình trạng thi hành án: {_or_dash(status_text)}", s["detail"]),
    ]
    # Form 2 lists expunged convictions too and must say they are expunged;
    # Form 1 never carries them (docs/contracts.md).
    if form_type == 2 and conviction.get("expunged"):
        when = conviction.get("expunged_at")
        text = f"Đã được xóa án tích ngày {_date(when)}" if when else "Đã được xóa án tích"
        out.append(Paragraph(text, s["detail"]))
    return out


def _ban_section(ban: Mapping[str, Any], wording: PdfWording) -> list[Flowable]:
    """The ban heading and statement (content ``ban.statement``: 1 none, 2 banned), then each ban."""
    s = _styles()
    out: list[Flowable] = [Paragraph(f"{_t(wording.ban_heading)}:", s["section"])]
    bans = ban.get("bans") or []
    if ban.get("statement") != 2 and not bans:
        out.append(Paragraph(f"{_t(wording.ban_statements[1])}.", s["body"]))
        return out
    out.append(Paragraph(f"{_t(wording.ban_statements[2])}:", s["body"]))
    for i, b in enumerate(bans, 1):
        until = _date(b.get("to")) if b.get("to") else "không xác định"
        out.append(
            Paragraph(
                f"{i}. Chức vụ, lĩnh vực bị cấm: {_or_dash(b.get('positions'))}; "
                f"theo Quyết định số {_or_dash(b.get('decision'))} của {_court(b.get('court'))}; "
                f"thời hạn từ {_date(b.get('from'))} đến {until}.",
                s["item"],
            )
        )
    return out


def _purpose(content: Mapping[str, Any]) -> list[Flowable]:
    return [
        Spacer(1, 3 * mm),
        _field_table([("Mục đích sử dụng:", _or_dash(content.get("purpose")))]),
        Spacer(1, 5 * mm),
    ]


def _closing_block(sheet: _Sheet, place_of_issue: str) -> Flowable:
    """QR and code on the left, place, date and the authority's signature line on the right, then
    how to verify; kept on one page."""
    s = _styles()
    qr_block = [
        _QrFlowable(sheet.qr_text),
        Spacer(1, 2 * mm),
        Paragraph(f"Mã xác thực: <b>{_t(sheet.code_display)}</b>", s["verify"]),
        Paragraph(f"Số phiếu: {_t(sheet.number)}", s["verify"]),
    ]
    sign_block = [
        Paragraph(_issue_date_line(place_of_issue, sheet.issued_at), s["sign"]),
        Spacer(1, 2 * mm),
        Paragraph(f"<b>{_t(sheet.authority)}</b>", s["sign"]),
        Paragraph("(Đã ký số)", s["sign"]),
    ]
    how_to_verify = Paragraph(
        "Để kiểm tra tính xác thực của phiếu này, quét mã QR bằng camera điện thoại "
        f"hoặc truy cập {_t(sheet.base_url)} và nhập số phiếu cùng mã xác thực.",
        s["verify"],
    )
    return KeepTogether([_flush_table([[qr_block, sign_block]], ["45%", "55%"]), Spacer(1, 4 * mm), how_to_verify])


def _footer(sheet: _Sheet) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """The page callback: every page says what it belongs to and how to check it, so a page
    separated from the rest is still traceable."""
    first = f"Phiếu lý lịch tư pháp số {_t(sheet.number)} · Mã xác thực {_t(sheet.code_display)}"
    second = f"Kiểm tra: quét mã QR hoặc truy cập {_t(sheet.base_url)}"

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        para = Paragraph(f"{first} · Trang {doc.page}<br/>{second}", _styles()["footer"])
        _, height = para.wrap(doc.width, 20 * mm)
        para.drawOn(canvas, doc.leftMargin, 10 * mm)
        rule_y = 10 * mm + height + 1.5 * mm
        canvas.setStrokeColor(colors.HexColor("#999999"))
        canvas.setLineWidth(0.3)
        canvas.line(doc.leftMargin, rule_y, doc.leftMargin + doc.width, rule_y)
        canvas.restoreState()

    return draw


def _build(story: list[Flowable], sheet: _Sheet, token: str) -> bytes:
    """Lay the story out on A4 with the footer and the Info dictionary (token included)."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=15 * mm,
        bottomMargin=25 * mm,
        title=f"{sheet.form_name} - {sheet.number}",
        author=sheet.authority,
        creator="ecert",
        keywords=f"{KEYWORDS_TOKEN_PREFIX}{token}",
        pageCompression=1,
        # Our font from the start: reportlab's default (Helvetica) would be declared on the page
        # though no text uses it.
        initialFontName=_FONT,
    )
    on_page = _footer(sheet)
    with _build_lock:
        doc.build(
            story,
            onFirstPage=on_page,
            onLaterPages=on_page,
            canvasmaker=_canvas_with_info({TOKEN_INFO_KEY[1:]: token}),
        )
    return buf.getvalue()


def render_certificate_pdf(
    content: Mapping[str, Any],
    *,
    wording: PdfWording,
    qr_text: str,
    token: str,
    verification_code: str,
) -> bytes:
    """Render the certificate described by ``content`` (docs/contracts.md shape) to PDF bytes.

    A4, Source Sans Pro embedded (subset), one or more pages: every value is
    wrapped, nothing is truncated. ``wording`` gives the legal sentences and
    the place of issue (:class:`PdfWording`). The QR encodes ``qr_text``;
    ``token`` goes into the Info dictionary as ``/EcertToken`` (see module
    docstring). The result is not signed: pass it to :func:`sign_pdf`.
    """
    _register_fonts()
    sheet = _sheet(content, wording, qr_text, verification_code)
    story: list[Flowable] = [
        *_header(sheet),
        _identity_table(content.get("holder") or {}, sheet.form_type),
        *_record_section(content.get("record") or {}, sheet.form_type, wording),
    ]
    if content.get("ban") is not None:
        story += _ban_section(content["ban"], wording)
    story += [*_purpose(content), _closing_block(sheet, wording.place_of_issue)]
    return _build(story, sheet, token)


# ------------------------------------------------------------------ sign


def sign_pdf(
    pdf_bytes: bytes,
    signer: Signer,
    *,
    reason: str = "Ký số Phiếu lý lịch tư pháp",
    location: str = "Việt Nam",
) -> bytes:
    """Sign ``pdf_bytes`` as PAdES baseline B-B with ``signer``; return the signed PDF.

    A certification (DocMDP, no changes allowed) signature: this is a final
    document, and any later edit should make readers flag it. The CMS
    carries the DSC and the root so a reader that trusts our root can build
    the path from the file alone. No timestamp (no network on the hot path):
    the signing time is the signed ``signingTime`` attribute only.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
    meta = pyhanko_signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=pyhanko_fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        certify=True,
        docmdp_permissions=pyhanko_fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = pyhanko_signers.PdfSigner(meta, signer=PyHankoSignerAdapter(signer))
    # Reserve the /Contents space up front instead of letting pyHanko size it
    # with a dry-run CMS: that doubles the (pure-Python ASN.1) work. Besides
    # the certificates (each once), the CMS names the signer by issuer and
    # serial twice (SignerInfo.sid and the signing-certificate attribute), and
    # holds a <= 72-byte ECDSA signature and ~0.3 kB of other attributes and
    # structure (measured: 335 bytes beyond the certificates and the two
    # names). 512 bytes of slack cover that with room to spare; every unused
    # byte is two zero hex digits in the file. pyHanko counts the reservation
    # in hex digits, hence the factor 2 (and it must be even).
    chain_bytes = sum(len(c.public_bytes(Encoding.DER)) for c in signer.certificate_chain)
    issuer_name = len(signer.certificate.issuer.public_bytes())
    out = pdf_signer.sign_pdf(writer, bytes_reserved=2 * (chain_bytes + 2 * issuer_name + _CMS_SLACK))
    return bytes(out.getbuffer())
