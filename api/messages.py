"""Titles for the codes the HTTP edge itself produces; field and domain codes live in ecert.i18n."""
from __future__ import annotations

from ecert import i18n

EDGE_MESSAGES: dict[str, dict[str, str]] = {
    "bad_request": {"vi": "Yêu cầu không hợp lệ", "en": "Bad request"},
    "unauthorized": {"vi": "Chưa xác thực", "en": "Not authenticated"},
    "forbidden": {"vi": "Không có quyền thực hiện", "en": "Not allowed"},
    "not_found": {"vi": "Không tìm thấy", "en": "Not found"},
    "method_not_allowed": {"vi": "Phương thức không được hỗ trợ", "en": "Method not allowed"},
    "not_acceptable": {"vi": "Định dạng không được hỗ trợ", "en": "Not acceptable"},
    "conflict": {"vi": "Xung đột với trạng thái hiện tại", "en": "Conflict with the current state"},
    "payload_too_large": {"vi": "Dữ liệu gửi lên quá lớn", "en": "Request body too large"},
    "unsupported_media_type": {"vi": "Kiểu dữ liệu không được hỗ trợ", "en": "Unsupported media type"},
    "validation_failed": {"vi": "Dữ liệu không hợp lệ", "en": "Invalid data"},
    "validation_failed.detail": {
        "vi": "Một số trường chưa đúng; xem danh sách lỗi theo từng trường.",
        "en": "Some fields are not right; see the per-field errors.",
    },
    "invalid_json": {"vi": "Nội dung không phải JSON hợp lệ", "en": "The body is not valid JSON"},
    "rate_limited": {"vi": "Quá nhiều yêu cầu, vui lòng thử lại sau", "en": "Too many requests, try again later"},
    "internal_error": {"vi": "Lỗi hệ thống", "en": "Internal error"},
    "internal_error.detail": {
        "vi": "Đã có lỗi ngoài ý muốn. Vui lòng thử lại; nếu lỗi lặp lại, hãy báo mã yêu cầu (request_id).",
        "en": "Something went wrong on our side. Please retry; if it persists, quote the request_id.",
    },
    "service_unavailable": {"vi": "Dịch vụ tạm thời không sẵn sàng", "en": "Service temporarily unavailable"},
    "database_unavailable": {"vi": "Dịch vụ tạm thời không sẵn sàng", "en": "Service temporarily unavailable"},
    "database_unavailable.detail": {
        "vi": "Cơ sở dữ liệu tạm thời không truy cập được. Vui lòng thử lại sau ít phút.",
        "en": "The database cannot be reached right now. Please try again in a few minutes.",
    },
    "token_missing": {"vi": "Thiếu mã định danh (Bearer token)", "en": "Missing identity token (Bearer)"},
    "token_malformed": {"vi": "Mã định danh không đúng định dạng", "en": "The identity token is malformed"},
    "token_signature_invalid": {"vi": "Chữ ký của mã định danh không hợp lệ", "en": "The identity token's signature is invalid"},
    "token_algorithm_not_allowed": {"vi": "Thuật toán ký của mã định danh không được chấp nhận", "en": "The identity token's algorithm is not accepted"},
    "token_expired": {"vi": "Mã định danh đã hết hạn", "en": "The identity token has expired"},
    "token_not_yet_valid": {"vi": "Mã định danh chưa có hiệu lực", "en": "The identity token is not valid yet"},
    "token_wrong_issuer": {"vi": "Mã định danh không do nhà cung cấp định danh được tin cậy cấp", "en": "The identity token comes from an untrusted issuer"},
    "token_wrong_audience": {"vi": "Mã định danh không dành cho dịch vụ này", "en": "The identity token is not meant for this service"},
    "token_claims_invalid": {"vi": "Thông tin trong mã định danh không đầy đủ hoặc sai", "en": "The identity token's claims are missing or wrong"},
    "token_loa_too_low": {"vi": "Cần tài khoản định danh điện tử mức 2", "en": "A level-2 electronic identity account is required"},
    "token_unknown_key": {"vi": "Mã định danh được ký bằng khóa không xác định", "en": "The identity token is signed with an unknown key"},
    "identity_keys_unavailable": {"vi": "Không kiểm tra được mã định danh lúc này", "en": "The identity token cannot be checked right now"},
    "request_not_found": {"vi": "Không tìm thấy yêu cầu", "en": "Request not found"},
    "certificate_not_found": {"vi": "Không tìm thấy phiếu", "en": "Certificate not found"},
    "open_request_exists": {"vi": "Bạn đang có một yêu cầu chưa giải quyết xong", "en": "You already have an open request"},
    "open_request_exists.detail": {
        "vi": "Mỗi công dân chỉ có một yêu cầu đang mở; hãy chờ kết quả hoặc hủy yêu cầu đó.",
        "en": "A citizen may have one open request at a time; wait for its decision or cancel it.",
    },
    "request_not_cancellable": {"vi": "Yêu cầu không thể hủy ở trạng thái hiện tại", "en": "The request cannot be cancelled in its current state"},
    "idempotency_key_reused": {"vi": "Idempotency-Key đã được dùng cho một yêu cầu khác", "en": "This Idempotency-Key was used with a different body"},
    "idempotency_key_invalid": {"vi": "Idempotency-Key không hợp lệ", "en": "Invalid Idempotency-Key"},
    "invalid_cursor": {"vi": "Con trỏ phân trang không hợp lệ", "en": "Invalid pagination cursor"},
    "signing_unavailable": {"vi": "Chưa sẵn sàng ký số", "en": "Signing is not available"},
}


def has_message(code: str) -> bool:
    return code in EDGE_MESSAGES or code in i18n.MESSAGES


def localise(code: str, lang: str) -> str:
    if code in EDGE_MESSAGES:
        return EDGE_MESSAGES[code].get(lang) or EDGE_MESSAGES[code]["vi"]
    return i18n.message(code, lang)
