"""Titles for codes only the HTTP edge produces; everything else is in ecert.domain.i18n.MESSAGES,
the one catalogue (a code is defined in one place only)."""
from __future__ import annotations

from ecert.domain import i18n

EDGE_MESSAGES: dict[str, dict[str, str]] = {
    "bad_request": {"vi": "Yêu cầu không hợp lệ", "en": "Bad request"},
    "not_acceptable": {"vi": "Định dạng không được hỗ trợ", "en": "Not acceptable"},
    "validation_failed.detail": {
        "vi": "Một số trường chưa đúng; xem danh sách lỗi theo từng trường.",
        "en": "Some fields are not right; see the per-field errors.",
    },
    "internal_error.detail": {
        "vi": "Đã có lỗi ngoài ý muốn. Vui lòng thử lại; nếu lỗi lặp lại, hãy báo mã yêu cầu (request_id).",
        "en": "Something went wrong on our side. Please retry; if it persists, quote the request_id.",
    },
    "database_unavailable": {"vi": "Dịch vụ tạm thời không sẵn sàng", "en": "Service temporarily unavailable"},
    "database_unavailable.detail": {
        "vi": "Cơ sở dữ liệu tạm thời không truy cập được. Vui lòng thử lại sau ít phút.",
        "en": "The database cannot be reached right now. Please try again in a few minutes.",
    },
    "token_malformed": {"vi": "Mã định danh không đúng định dạng", "en": "The identity token is malformed"},
    "token_signature_invalid": {"vi": "Chữ ký của mã định danh không hợp lệ", "en": "The identity token's signature is invalid"},
    "token_claims_invalid": {"vi": "Thông tin trong mã định danh không đầy đủ hoặc sai", "en": "The identity token's claims are missing or wrong"},
    "token_lifetime_too_long": {"vi": "Mã định danh có thời hạn quá dài (tối đa 24 giờ)", "en": "The identity token's lifetime is too long (24 hours at most)"},
    "token_loa_too_low": {"vi": "Cần tài khoản định danh điện tử mức 2", "en": "A level-2 electronic identity account is required"},
    "identity_keys_unavailable": {"vi": "Không kiểm tra được mã định danh lúc này", "en": "The identity token cannot be checked right now"},
    "open_request_exists.detail": {
        "vi": "Mỗi công dân chỉ có một yêu cầu đang mở; hãy chờ kết quả hoặc hủy yêu cầu đó.",
        "en": "A citizen may have one open request at a time; wait for its decision or cancel it.",
    },
    "concurrent_update": {"vi": "Dữ liệu vừa được thay đổi bởi một thao tác khác", "en": "Someone else changed this at the same moment"},
    "concurrent_update.detail": {
        "vi": "Hãy tải lại để xem trạng thái mới nhất rồi thử lại nếu vẫn cần.",
        "en": "Reload to see the current state, then retry if it still applies.",
    },
    "idempotency_key_reused": {"vi": "Idempotency-Key đã được dùng cho một yêu cầu khác", "en": "This Idempotency-Key was used with a different body"},
    "idempotency_key_invalid": {"vi": "Idempotency-Key không hợp lệ", "en": "Invalid Idempotency-Key"},
}


def has_message(code: str) -> bool:
    return code in EDGE_MESSAGES or code in i18n.MESSAGES


def localise(code: str, lang: str) -> str:
    if code in EDGE_MESSAGES:
        return EDGE_MESSAGES[code].get(lang) or EDGE_MESSAGES[code]["vi"]
    return i18n.message(code, lang)
