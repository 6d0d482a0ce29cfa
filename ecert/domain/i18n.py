"""Vietnamese and English texts for every code the domain produces, and language negotiation.

Vietnamese is the default (DESIGN §7, §9). Codes are stable identifiers: clients may branch on them;
the texts may be reworded at any time.
"""
from __future__ import annotations

import re
from typing import Mapping

from ecert.domain import rules

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

_FALLBACK = {"vi": "Giá trị không hợp lệ.", "en": "Invalid value."}

MESSAGES: dict[str, dict[str, str]] = {
    # --- generic field errors ---
    "required": {"vi": "Trường này là bắt buộc.", "en": "This field is required."},
    "unknown_field": {"vi": "Trường này không được hỗ trợ.", "en": "Unknown field."},
    "invalid_type": {"vi": "Kiểu dữ liệu không đúng.", "en": "Wrong type of value."},
    "invalid_value": _FALLBACK,
    "invalid_choice": {"vi": "Giá trị không nằm trong danh sách cho phép.", "en": "Not one of the allowed values."},
    "not_a_number": {"vi": "Giá trị phải là một số.", "en": "Must be a number."},
    "not_a_boolean": {"vi": "Giá trị phải là true hoặc false.", "en": "Must be true or false."},
    "not_a_string": {"vi": "Giá trị phải là chuỗi ký tự.", "en": "Must be a string."},
    "too_small": {"vi": "Giá trị quá nhỏ.", "en": "Value is too small."},
    "too_large": {"vi": "Giá trị quá lớn.", "en": "Value is too large."},
    "out_of_range": {"vi": "Giá trị nằm ngoài khoảng cho phép.", "en": "Value is out of the allowed range."},
    "too_short": {"vi": "Quá ngắn.", "en": "Too short."},
    "too_long": {"vi": "Quá dài.", "en": "Too long."},
    "invalid_characters": {
        "vi": "Có ký tự không được phép (chữ số, biểu tượng hoặc ký tự điều khiển).",
        "en": "Contains characters that are not allowed (digits, symbols or control characters).",
    },
    "invalid_format": {"vi": "Sai định dạng.", "en": "Wrong format."},
    "invalid_json": {"vi": "Nội dung gửi lên không phải JSON hợp lệ.", "en": "The body is not valid JSON."},
    "date_format": {"vi": "Ngày phải có dạng YYYY-MM-DD.", "en": "A date must be written YYYY-MM-DD."},
    "future_date": {"vi": "Ngày không được ở tương lai.", "en": "The date cannot be in the future."},
    # --- names ---
    "name_invalid": {
        "vi": "Họ tên chỉ gồm chữ cái (có dấu tiếng Việt), khoảng trắng, dấu nháy đơn và gạch nối.",
        "en": "A name may contain only letters (with Vietnamese diacritics), spaces, apostrophes and hyphens.",
    },
    # --- personal ID ---
    "pid_format": {
        "vi": "Số định danh cá nhân phải gồm đúng 12 chữ số.",
        "en": "The personal identification number must be exactly 12 digits.",
    },
    "pid_place_code": {
        "vi": "Ba chữ số đầu của số định danh cá nhân không phải mã tỉnh/quốc gia hợp lệ.",
        "en": "The first three digits of the personal ID are not a valid province or country code.",
    },
    "pid_century_mismatch": {
        "vi": "Chữ số thứ tư của số định danh cá nhân không khớp với thế kỷ năm sinh.",
        "en": "The fourth digit of the personal ID does not match the century of birth.",
    },
    "pid_gender_mismatch": {
        "vi": "Chữ số thứ tư của số định danh cá nhân không khớp với giới tính.",
        "en": "The fourth digit of the personal ID does not match the gender.",
    },
    "pid_birth_year_mismatch": {
        "vi": "Chữ số thứ năm và thứ sáu của số định danh cá nhân không khớp với năm sinh.",
        "en": "The fifth and sixth digits of the personal ID do not match the year of birth.",
    },
    # --- contacts ---
    "phone_format": {
        "vi": "Số điện thoại di động không hợp lệ (ví dụ 0912345678 hoặc +84912345678).",
        "en": "Not a valid Vietnamese mobile number (e.g. 0912345678 or +84912345678).",
    },
    "invalid_phone": {
        "vi": "Số điện thoại di động không hợp lệ (ví dụ 0912345678 hoặc +84912345678).",
        "en": "Not a valid Vietnamese mobile number (e.g. 0912345678 or +84912345678).",
    },
    "email_format": {"vi": "Địa chỉ thư điện tử không hợp lệ.", "en": "Not a valid email address."},
    # --- residence history ---
    "month_format": {"vi": "Tháng phải có dạng YYYY-MM.", "en": "A month must be written YYYY-MM."},
    "invalid_month": {"vi": "Tháng phải có dạng YYYY-MM.", "en": "A month must be written YYYY-MM."},
    "future_month": {"vi": "Tháng không được ở tương lai.", "en": "The month cannot be in the future."},
    "from_after_to": {
        "vi": "Tháng kết thúc phải bằng hoặc sau tháng bắt đầu.",
        "en": "The end month must be the same as or after the start month.",
    },
    "before_birth": {"vi": "Thời gian cư trú bắt đầu trước ngày sinh.", "en": "The period starts before the date of birth."},
    "unknown_province": {"vi": "Mã tỉnh, thành phố không hợp lệ.", "en": "Unknown province code."},
    "too_many_periods": {"vi": "Quá nhiều giai đoạn cư trú.", "en": "Too many residence periods."},
    "overlap": {"vi": "Các giai đoạn cư trú chồng lấn nhau.", "en": "Residence periods overlap."},
    "gap_between_periods": {
        "vi": "Quá trình cư trú bị gián đoạn giữa các giai đoạn.",
        "en": "There is a gap between residence periods.",
    },
    "gap_before_age_14": {
        "vi": "Quá trình cư trú phải được khai từ khi đủ 14 tuổi.",
        "en": "The residence history must start no later than the month you turned 14.",
    },
    "open_period_not_last": {
        "vi": "Chỉ giai đoạn cư trú gần nhất mới được để trống tháng kết thúc.",
        "en": "Only the latest residence period may be left open.",
    },
    "multiple_open_periods": {
        "vi": "Chỉ được có một giai đoạn cư trú chưa kết thúc.",
        "en": "Only one residence period may be open.",
    },
    "last_period_not_current": {
        "vi": "Giai đoạn cư trú gần nhất phải đang tiếp diễn hoặc kết thúc trong tháng này.",
        "en": "The latest residence period must be open or end this month.",
    },
    # --- request-level problems ---
    "validation_failed": {"vi": "Dữ liệu gửi lên không hợp lệ.", "en": "The request contains invalid data."},
    "invalid_request": {"vi": "Yêu cầu không hợp lệ.", "en": "Invalid request."},
    "invalid_cursor": {"vi": "Con trỏ phân trang không hợp lệ.", "en": "Invalid pagination cursor."},
    "not_found": {"vi": "Không tìm thấy.", "en": "Not found."},
    "request_not_found": {"vi": "Không tìm thấy yêu cầu.", "en": "Request not found."},
    "certificate_not_found": {"vi": "Không tìm thấy phiếu.", "en": "Certificate not found."},
    "conflict": {"vi": "Xung đột với trạng thái hiện tại.", "en": "Conflicts with the current state."},
    "open_request_exists": {
        "vi": "Bạn đang có một yêu cầu chưa được giải quyết xong.",
        "en": "You already have a request that is still open.",
    },
    "request_not_cancellable": {
        "vi": "Yêu cầu không thể hủy ở trạng thái hiện tại.",
        "en": "The request cannot be cancelled in its current status.",
    },
    "invalid_transition": {
        "vi": "Không thể chuyển yêu cầu sang trạng thái này.",
        "en": "The request cannot move to this status.",
    },
    "idempotency_conflict": {
        "vi": "Khóa Idempotency-Key đã được dùng cho một nội dung khác.",
        "en": "This Idempotency-Key was already used with a different body.",
    },
    "unauthorized": {"vi": "Cần đăng nhập.", "en": "Authentication required."},
    "forbidden": {"vi": "Không có quyền thực hiện thao tác này.", "en": "You are not allowed to do this."},
    "account_locked": {"vi": "Tài khoản tạm thời bị khóa.", "en": "The account is temporarily locked."},
    "token_missing": {"vi": "Thiếu mã xác thực.", "en": "The bearer token is missing."},
    "token_invalid": {"vi": "Mã xác thực không hợp lệ.", "en": "The token is not valid."},
    "token_expired": {"vi": "Mã xác thực đã hết hạn.", "en": "The token has expired."},
    "token_not_yet_valid": {"vi": "Mã xác thực chưa có hiệu lực.", "en": "The token is not valid yet."},
    "token_wrong_issuer": {"vi": "Mã xác thực không do nơi được tin cậy cấp.", "en": "The token's issuer is not trusted."},
    "token_wrong_audience": {"vi": "Mã xác thực không dành cho dịch vụ này.", "en": "The token is not meant for this service."},
    "token_unknown_key": {"vi": "Mã xác thực được ký bằng khóa không xác định.", "en": "The token is signed by an unknown key."},
    "token_algorithm_not_allowed": {
        "vi": "Thuật toán ký của mã xác thực không được chấp nhận.",
        "en": "The token's signing algorithm is not allowed.",
    },
    "loa_too_low": {
        "vi": "Cần tài khoản định danh điện tử mức 2.",
        "en": "A level-2 electronic identity account is required.",
    },
    "payload_too_large": {"vi": "Nội dung gửi lên quá lớn.", "en": "The request body is too large."},
    "unsupported_media_type": {"vi": "Định dạng nội dung không được hỗ trợ.", "en": "Unsupported media type."},
    "method_not_allowed": {"vi": "Phương thức không được hỗ trợ.", "en": "Method not allowed."},
    "rate_limited": {"vi": "Quá nhiều yêu cầu, vui lòng thử lại sau.", "en": "Too many requests; please try again later."},
    "service_unavailable": {"vi": "Dịch vụ tạm thời không khả dụng.", "en": "The service is temporarily unavailable."},
    "internal_error": {"vi": "Đã xảy ra lỗi hệ thống.", "en": "An internal error occurred."},
    # --- why a request waits for staff ---
    "form_2": {"vi": "Phiếu số 2 cần cán bộ xem xét.", "en": "Form 2 is reviewed by staff."},
    "has_unexpunged_conviction": {"vi": "Người yêu cầu có án tích chưa được xóa.", "en": "The person has an unexpunged conviction."},
    "ban_section_requested": {
        "vi": "Có yêu cầu xác nhận về việc cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã.",
        "en": "The ban section was requested.",
    },
    "ban_found": {"vi": "Có quyết định cấm đang có hiệu lực.", "en": "A ban is in force."},
    "multi_province_history": {"vi": "Đã cư trú ở nhiều tỉnh, thành phố.", "en": "Lived in more than one province."},
    "abroad_history": {"vi": "Đã cư trú ở nước ngoài.", "en": "Lived abroad."},
    "automatic_issuance_off": {"vi": "Chế độ cấp tự động đang tắt.", "en": "Automatic issuance is off."},
    "signing_unavailable": {"vi": "Chưa sẵn sàng ký số.", "en": "Signing is not available."},
    # --- statements ---
    "record_statement.0": dict(rules.RECORD_STATEMENT_TEXT[rules.RECORD_STATEMENT_NONE]),
    "record_statement.1": dict(rules.RECORD_STATEMENT_TEXT[rules.RECORD_STATEMENT_HAS]),
    "ban_statement.0": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_NOT_REQUESTED]),
    "ban_statement.1": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_NONE]),
    "ban_statement.2": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_HAS]),
}

# Labels of the legal code lists, under prefixed keys ("refusal.not_entitled", ...).
for _code, _texts in rules.REFUSAL_REASONS.items():
    MESSAGES[f"refusal.{_code}"] = dict(_texts)
for _code, _texts in rules.REVOCATION_REASONS.items():
    MESSAGES[f"revocation.{_code}"] = dict(_texts)
for _code, _texts in rules.STATUS_LABELS.items():
    MESSAGES[f"status.{_code}"] = dict(_texts)
for _code, _texts in rules.FEE_REDUCTIONS.items():
    MESSAGES[f"fee_reduction.{_code}"] = dict(_texts)
del _code, _texts


def message(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The text of ``code`` in ``lang`` ("vi" or "en"; anything else is Vietnamese). An unknown code
    reads as the generic "invalid value"."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    texts = MESSAGES.get(code, _FALLBACK) if isinstance(code, str) else _FALLBACK
    return texts.get(lang) or texts[DEFAULT_LANGUAGE]


def localize_errors(errors: Mapping[str, list[str]], lang: str = DEFAULT_LANGUAGE) -> dict[str, list[str]]:
    """``{field: [codes]}`` -> ``{field: [texts]}``."""
    return {field: [message(code, lang) for code in codes] for field, codes in errors.items()}


def _primary(tag: str) -> str | None:
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    if primary == "*":
        return "*"
    return primary if primary in LANGUAGES else None


_QVALUE = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")


def _parse_accept_language(header: str) -> list[tuple[str, float, int]]:
    """(language or "*", q, position) for each supported range; malformed entries are skipped."""
    ranges = []
    for position, item in enumerate(header.split(",")):
        parts = [p.strip() for p in item.split(";")]
        if not parts[0]:
            continue
        lang = _primary(parts[0])
        quality = 1.0
        valid = True
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                if not _QVALUE.fullmatch(value):
                    valid = False
                    break
                quality = float(value)
        if valid and lang is not None:
            ranges.append((lang, quality, position))
    return ranges


def negotiate_language(accept_language_header: str | None, query_lang: str | None = None) -> str:
    """"vi" or "en". An explicit ``?lang=`` (vi, en, or a regional tag like en-US) wins; otherwise
    the Accept-Language header with its q-values (RFC 9110 §12.5.4: the highest q wins, q=0 means
    "not this one", ``*`` stands for any language not named, ties go to the range listed first);
    otherwise Vietnamese."""
    if isinstance(query_lang, str) and query_lang.strip():
        chosen = _primary(query_lang)
        if chosen in LANGUAGES:
            return chosen
    if not isinstance(accept_language_header, str) or not accept_language_header.strip():
        return DEFAULT_LANGUAGE
    ranges = _parse_accept_language(accept_language_header[:1000])
    explicit: dict[str, tuple[float, int]] = {}
    wildcard: tuple[float, int] | None = None
    for lang, quality, position in ranges:
        if lang == "*":
            if wildcard is None:
                wildcard = (quality, position)
        elif lang not in explicit or quality > explicit[lang][0]:
            explicit[lang] = (quality, position)
    best: tuple[float, int, int] | None = None  # (q, -position, -language rank)
    for rank, lang in enumerate(LANGUAGES):
        score = explicit.get(lang, wildcard)
        if score is None or score[0] <= 0:
            continue
        key = (score[0], -score[1], -rank)
        if best is None or key > best:
            best = key
            chosen_lang = lang
    return chosen_lang if best is not None else DEFAULT_LANGUAGE
