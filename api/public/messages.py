"""The chrome of the ``/v/<token>`` page (headings, labels, the language switch).

The verdicts themselves, their meaning and next steps, the field labels and values come from
``verification.messages``, so the page, the CLI and the API read the same; the problem codes of
the verification API are in the one catalogue, ``ecert.domain.i18n``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

PAGE_TEXT: Final[Mapping[str, Mapping[str, str]]] = {
    "vi": {
        "title": "Kiểm tra Phiếu lý lịch tư pháp",
        "service": "Kiểm tra Phiếu lý lịch tư pháp điện tử",
        "meaning": "Ý nghĩa",
        "next": "Cần làm gì",
        "fields": "Thông tin trên phiếu",
        "status": "Tình trạng",
        "checks": "Chi tiết kiểm tra",
        "switch_label": "English",
        "switch_lang": "en",
        "privacy": "Trang này chỉ hiển thị những thông tin đã in trên phiếu, đủ để đối chiếu. "
        "Không hiển thị chi tiết án tích hay số định danh đầy đủ.",
        "not_ours_hint": "Mã QR của phiếu thật dẫn tới trang này với một dãy số dài phía sau /v/.",
        "rate_limited": "Quá nhiều lượt kiểm tra",
        "rate_limited_text": "Bạn đã kiểm tra quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau {seconds} giây.",
    },
    "en": {
        "title": "Judicial-record certificate check",
        "service": "Electronic judicial-record certificate check",
        "meaning": "What this means",
        "next": "What to do next",
        "fields": "On the certificate",
        "status": "Status",
        "checks": "Check details",
        "switch_label": "Tiếng Việt",
        "switch_lang": "vi",
        "privacy": "This page shows only what is printed on the certificate, enough to match it. "
        "It never shows conviction details or the full personal ID number.",
        "not_ours_hint": "The QR code of a genuine certificate opens this page with a long number after /v/.",
        "rate_limited": "Too many checks",
        "rate_limited_text": "You have made too many checks in a short time. Please try again in {seconds} seconds.",
    },
}
