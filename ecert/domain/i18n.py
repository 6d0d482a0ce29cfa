"""The one catalogue: Vietnamese and English texts for every code the service emits, and the
choice of language.

Vietnamese is the default (DESIGN §7, §9). Codes are stable identifiers: clients may branch on them;
the texts may be reworded at any time. A code is defined here once; a problem's longer explanation
sits under ``<code>.detail``. The labels of the legal code lists (refusal and revocation reasons,
statuses, fee reductions) stay in ``ecert.domain.rules`` beside the codes; :func:`message` reads
them there under a prefix (``refusal.not_entitled``). docs/api-guide.md has the table of codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

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
    "out_of_range": {"vi": "Giá trị nằm ngoài khoảng cho phép.", "en": "Value is out of the allowed range."},
    "too_long": {"vi": "Quá dài.", "en": "Too long."},
    "invalid_characters": {
        "vi": "Có ký tự không được phép (chữ số, biểu tượng hoặc ký tự điều khiển).",
        "en": "Contains characters that are not allowed (digits, symbols or control characters).",
    },
    "invalid_format": {"vi": "Sai định dạng.", "en": "Wrong format."},
    "null_not_allowed": {"vi": "Trường này không được để trống (null).", "en": "This field may not be null."},
    "invalid_json": {"vi": "Nội dung gửi lên không phải JSON hợp lệ.", "en": "The body is not valid JSON."},
    "date_format": {"vi": "Ngày phải có dạng YYYY-MM-DD.", "en": "A date must be written YYYY-MM-DD."},
    "future_date": {"vi": "Ngày không được ở tương lai.", "en": "The date cannot be in the future."},
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
    "email_format": {"vi": "Địa chỉ thư điện tử không hợp lệ.", "en": "Not a valid email address."},
    # --- residence history ---
    "month_format": {"vi": "Tháng phải có dạng YYYY-MM.", "en": "A month must be written YYYY-MM."},
    "future_month": {"vi": "Tháng không được ở tương lai.", "en": "The month cannot be in the future."},
    "from_after_to": {
        "vi": "Tháng kết thúc phải bằng hoặc sau tháng bắt đầu.",
        "en": "The end month must be the same as or after the start month.",
    },
    "before_birth": {
        "vi": "Thời gian cư trú bắt đầu trước ngày sinh.",
        "en": "The period starts before the date of birth.",
    },
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
    "unauthorized": {"vi": "Cần đăng nhập.", "en": "Authentication required."},
    "forbidden": {"vi": "Không có quyền thực hiện thao tác này.", "en": "You are not allowed to do this."},
    "token_missing": {"vi": "Thiếu mã xác thực.", "en": "The bearer token is missing."},
    "token_expired": {"vi": "Mã xác thực đã hết hạn.", "en": "The token has expired."},
    "token_not_yet_valid": {"vi": "Mã xác thực chưa có hiệu lực.", "en": "The token is not valid yet."},
    "token_wrong_issuer": {
        "vi": "Mã xác thực không do nơi được tin cậy cấp.",
        "en": "The token's issuer is not trusted.",
    },
    "token_wrong_audience": {
        "vi": "Mã xác thực không dành cho dịch vụ này.",
        "en": "The token is not meant for this service.",
    },
    "token_unknown_key": {
        "vi": "Mã xác thực được ký bằng khóa không xác định.",
        "en": "The token is signed by an unknown key.",
    },
    "token_algorithm_not_allowed": {
        "vi": "Thuật toán ký của mã xác thực không được chấp nhận.",
        "en": "The token's signing algorithm is not allowed.",
    },
    "payload_too_large": {"vi": "Nội dung gửi lên quá lớn.", "en": "The request body is too large."},
    "unsupported_media_type": {"vi": "Định dạng nội dung không được hỗ trợ.", "en": "Unsupported media type."},
    "method_not_allowed": {"vi": "Phương thức không được hỗ trợ.", "en": "Method not allowed."},
    "rate_limited": {
        "vi": "Quá nhiều yêu cầu, vui lòng thử lại sau.",
        "en": "Too many requests; please try again later.",
    },
    "service_unavailable": {"vi": "Dịch vụ tạm thời không khả dụng.", "en": "The service is temporarily unavailable."},
    "precondition_required": {
        "vi": "Thiếu điều kiện bắt buộc của yêu cầu.",
        "en": "A required precondition is missing.",
    },
    "http_error": {"vi": "Yêu cầu không thực hiện được.", "en": "The request could not be served."},
    "internal_error": {"vi": "Đã xảy ra lỗi hệ thống.", "en": "An internal error occurred."},
    # --- why a request waits for staff ---
    "form_2": {"vi": "Phiếu số 2 cần cán bộ xem xét.", "en": "Form 2 is reviewed by staff."},
    "has_unexpunged_conviction": {
        "vi": "Người yêu cầu có án tích chưa được xóa.",
        "en": "The person has an unexpunged conviction.",
    },
    "ban_section_requested": {
        "vi": "Có yêu cầu xác nhận về việc cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã.",
        "en": "The ban section was requested.",
    },
    "ban_found": {"vi": "Có quyết định cấm đang có hiệu lực.", "en": "A ban is in force."},
    "multi_province_history": {"vi": "Đã cư trú ở nhiều tỉnh, thành phố.", "en": "Lived in more than one province."},
    "abroad_history": {"vi": "Đã cư trú ở nước ngoài.", "en": "Lived abroad."},
    "automatic_issuance_off": {"vi": "Chế độ cấp tự động đang tắt.", "en": "Automatic issuance is off."},
    "signing_unavailable": {"vi": "Chưa sẵn sàng ký số.", "en": "Signing is not available."},
    # --- the HTTP edge: bodies, identity tokens, idempotency, the database ---
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
    "token_signature_invalid": {
        "vi": "Chữ ký của mã định danh không hợp lệ",
        "en": "The identity token's signature is invalid",
    },
    "token_claims_invalid": {
        "vi": "Thông tin trong mã định danh không đầy đủ hoặc sai",
        "en": "The identity token's claims are missing or wrong",
    },
    "token_lifetime_too_long": {
        "vi": "Mã định danh có thời hạn quá dài (tối đa 24 giờ)",
        "en": "The identity token's lifetime is too long (24 hours at most)",
    },
    "token_loa_too_low": {
        "vi": "Cần tài khoản định danh điện tử mức 2",
        "en": "A level-2 electronic identity account is required",
    },
    "identity_keys_unavailable": {
        "vi": "Không kiểm tra được mã định danh lúc này",
        "en": "The identity token cannot be checked right now",
    },
    "open_request_exists.detail": {
        "vi": "Mỗi công dân chỉ có một yêu cầu đang mở; hãy chờ kết quả hoặc hủy yêu cầu đó.",
        "en": "A citizen may have one open request at a time; wait for its decision or cancel it.",
    },
    "concurrent_update": {
        "vi": "Dữ liệu vừa được thay đổi bởi một thao tác khác",
        "en": "Someone else changed this at the same moment",
    },
    "concurrent_update.detail": {
        "vi": "Hãy tải lại để xem trạng thái mới nhất rồi thử lại nếu vẫn cần.",
        "en": "Reload to see the current state, then retry if it still applies.",
    },
    "idempotency_key_reused": {
        "vi": "Idempotency-Key đã được dùng cho một yêu cầu khác",
        "en": "This Idempotency-Key was used with a different body",
    },
    "idempotency_key_invalid": {"vi": "Idempotency-Key không hợp lệ", "en": "Invalid Idempotency-Key"},
    # --- staff: login and sessions ---
    "invalid_credentials": {"vi": "Đăng nhập không thành công", "en": "Sign-in failed"},
    "invalid_credentials.detail": {
        "vi": "Tên đăng nhập, mật khẩu hoặc mã xác thực (TOTP) không đúng, hoặc mã đã được dùng.",
        "en": "The username, password or authenticator code (TOTP) is wrong, or the code was already used.",
    },
    "account_locked": {"vi": "Tài khoản tạm thời bị khóa", "en": "The account is temporarily locked"},
    "account_locked.detail": {
        "vi": "Đã nhập sai mã xác thực quá số lần cho phép sau mật khẩu đúng. Vui lòng thử lại sau thời điểm ghi trong "
        "locked_until, và đổi mật khẩu nếu không phải bạn đã nhập.",
        "en": "Too many wrong authenticator codes after the right password. Try again after the time given in "
        "locked_until, and have your password changed if it was not you.",
    },
    "login_throttled": {
        "vi": "Đăng nhập sai quá nhiều lần, vui lòng chờ",
        "en": "Too many failed sign-ins: please wait",
    },
    "login_throttled.detail": {
        "vi": "Tên đăng nhập này đã nhập sai mật khẩu nhiều lần từ địa chỉ của bạn. Hãy thử lại sau số giây ghi trong "
        "Retry-After; thời gian chờ tăng dần sau mỗi lần sai.",
        "en": "Wrong passwords were sent for this username from your address. Try again after the seconds given in "
        "Retry-After; the wait grows with each failure.",
    },
    "step_up_exhausted": {
        "vi": "Nhập sai mã xác thực quá nhiều lần: phiên đã kết thúc",
        "en": "Too many wrong authenticator codes: the session has ended",
    },
    "step_up_exhausted.detail": {
        "vi": "Vì an toàn, phiên làm việc này đã bị đóng. Vui lòng đăng nhập lại bằng mật khẩu và mã TOTP.",
        "en": "For safety this session was ended. Please sign in again with your password and TOTP code.",
    },
    "session_invalid": {"vi": "Phiên làm việc không hợp lệ", "en": "Invalid staff session"},
    "session_invalid.detail": {
        "vi": "Mã phiên không đúng, đã đăng xuất, hoặc tài khoản đã bị vô hiệu hóa. Vui lòng đăng nhập lại.",
        "en": "The session token is wrong, logged out, or the account was disabled. Please sign in again.",
    },
    "session_expired": {"vi": "Phiên làm việc đã hết hạn", "en": "The staff session has expired"},
    "session_expired.detail": {
        "vi": "Phiên kết thúc khi không hoạt động quá lâu (mặc định 30 phút) hoặc quá thời hạn tối đa (mặc định 8 "
        "giờ). Vui lòng đăng nhập lại.",
        "en": "A session ends after too long idle (30 minutes by default) or at its maximum age (8 hours by default). "
        "Please sign in again.",
    },
    "role_not_allowed": {
        "vi": "Vai trò của bạn không được phép thực hiện thao tác này",
        "en": "Your role is not allowed to do this",
    },
    "step_up_failed": {
        "vi": "Mã xác thực (TOTP) không đúng hoặc đã được dùng",
        "en": "The authenticator code (TOTP) is wrong or was already used",
    },
    "step_up_failed.detail": {
        "vi": "Thao tác này cần một mã TOTP mới, chưa từng dùng. Hãy chờ mã tiếp theo trên ứng dụng xác thực.",
        "en": "This action needs a fresh TOTP code that was never used. Wait for the next code in your authenticator "
        "app.",
    },
    "totp_format": {"vi": "Mã TOTP gồm 6 chữ số.", "en": "A TOTP code is 6 digits."},
    # --- staff accounts and signing keys (CLI) ---
    "signing_key_not_found": {"vi": "Không tìm thấy khóa ký.", "en": "Signing key not found."},
    "signing_key_not_active": {"vi": "Khóa ký không còn hoạt động.", "en": "The signing key is not active."},
    "staff_not_found": {"vi": "Không tìm thấy cán bộ", "en": "Staff member not found"},
    "username_taken": {"vi": "Tên đăng nhập đã tồn tại", "en": "This username is taken"},
    "username_invalid": {
        "vi": "Tên đăng nhập gồm 3-64 ký tự: chữ thường, chữ số, dấu chấm, gạch dưới, gạch nối.",
        "en": "A username is 3-64 characters: lower-case letters, digits, dot, underscore, hyphen.",
    },
    "password_too_short": {
        "vi": "Mật khẩu phải có ít nhất 12 ký tự.",
        "en": "A password needs at least 12 characters.",
    },
    # --- review ---
    "request_already_decided": {"vi": "Yêu cầu đã được giải quyết", "en": "The request has already been decided"},
    "request_already_decided.detail": {
        "vi": "Yêu cầu này đã được cấp phiếu, từ chối hoặc hủy; xem trạng thái hiện tại trong trường status.",
        "en": "This request was already issued, refused or cancelled; its current status is in the status field.",
    },
    "request_not_in_review": {
        "vi": "Yêu cầu không ở trạng thái chờ xem xét",
        "en": "The request is not waiting for review",
    },
    # --- revocation ---
    "only_for_superseded": {
        "vi": "Chỉ ghi phiếu thay thế khi lý do thu hồi là đã được thay thế (superseded).",
        "en": "A replacement certificate is given only with the reason superseded.",
    },
    "replacement_not_found": {
        "vi": "Không tìm thấy phiếu thay thế.",
        "en": "The replacement certificate was not found.",
    },
    "replacement_is_same": {
        "vi": "Phiếu thay thế phải là một phiếu khác.",
        "en": "The replacement must be another certificate.",
    },
    "replacement_revoked": {"vi": "Phiếu thay thế đã bị thu hồi.", "en": "The replacement certificate is revoked."},
    "replacement_other_holder": {
        "vi": "Phiếu thay thế phải cấp cho cùng một người.",
        "en": "The replacement must be for the same person.",
    },
    "invalid_date": {"vi": "Thời điểm không hợp lệ (ISO 8601).", "en": "Not a valid ISO 8601 date-time."},
    # --- public verification ---
    "qr_or_number_and_code": {
        "vi": "Gửi hoặc mã QR (qr), hoặc số phiếu kèm mã kiểm tra (number và code).",
        "en": "Send either the QR text (qr) or the certificate number with its verification code (number and code).",
    },
    "not_with_qr": {
        "vi": "Không gửi kèm trường này khi đã gửi mã QR (qr).",
        "en": "Do not send this field together with the QR text (qr).",
    },
    "invalid_code": {
        "vi": "Mã kiểm tra gồm 12 ký tự chữ và số in trên phiếu (ví dụ ABCD-EFGH-JKMN).",
        "en": "The verification code is the 12 letters and digits printed on the certificate (e.g. ABCD-EFGH-JKMN).",
    },
    "empty_file": {"vi": "Tệp gửi lên không có nội dung.", "en": "The uploaded file is empty."},
    "file_too_large": {"vi": "Tệp PDF quá lớn", "en": "The PDF file is too large"},
    "file_too_large.detail": {
        "vi": "Tệp PDF vượt quá dung lượng cho phép (max_bytes). Phiếu lý lịch tư pháp điện tử chỉ vài trăm KB.",
        "en": "The PDF exceeds the allowed size (max_bytes). An electronic judicial-record certificate is a few "
        "hundred KB.",
    },
    "verification_busy": {
        "vi": "Hệ thống đang bận kiểm tra tệp PDF khác",
        "en": "The service is busy checking other PDF files",
    },
    "verification_busy.detail": {
        "vi": "Mọi lượt kiểm tra tệp PDF đang được dùng. Vui lòng thử lại sau số giây ghi trong Retry-After, "
        "hoặc kiểm tra bằng mã QR hay số phiếu và mã kiểm tra.",
        "en": "Every PDF check slot is in use. Try again after the seconds given in Retry-After, or check the QR "
        "code or the certificate number and verification code instead.",
    },
    # --- statements ---
    "record_statement.0": dict(rules.RECORD_STATEMENT_TEXT[rules.RECORD_STATEMENT_NONE]),
    "record_statement.1": dict(rules.RECORD_STATEMENT_TEXT[rules.RECORD_STATEMENT_HAS]),
    "ban_statement.0": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_NOT_REQUESTED]),
    "ban_statement.1": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_NONE]),
    "ban_statement.2": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_HAS]),
}

# Labels kept beside their codes in ecert.domain.rules, read under a prefix: "refusal.not_entitled".
# (Any keys: the statuses are StrEnum members, equal to their strings.)
_LABELS: Mapping[str, Mapping[Any, Mapping[str, str]]] = {
    "refusal": rules.REFUSAL_REASONS,
    "revocation": rules.REVOCATION_REASONS,
    "status": rules.STATUS_LABELS,
    "fee_reduction": rules.FEE_REDUCTIONS,
}


def _texts(code: object) -> Mapping[str, str] | None:
    if not isinstance(code, str):
        return None
    if code in MESSAGES:
        return MESSAGES[code]
    prefix, _, key = code.partition(".")
    return _LABELS.get(prefix, {}).get(key)


def has_message(code: str) -> bool:
    return _texts(code) is not None


def message(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The text of ``code`` in ``lang`` ("vi" or "en"; anything else is Vietnamese). An unknown code
    reads as the generic "invalid value"."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    texts = _texts(code) or _FALLBACK
    return texts.get(lang) or texts[DEFAULT_LANGUAGE]


def localize_errors(errors: Mapping[str, list[str]], lang: str = DEFAULT_LANGUAGE) -> dict[str, list[str]]:
    """``{field: [codes]}`` -> ``{field: [texts]}``."""
    return {field: [message(code, lang) for code in codes] for field, codes in errors.items()}


# --- the language of an answer -------------------------------------------------------------------


def _primary(tag: str) -> str:
    """The primary subtag, lower case: "en" for "EN-us" or "en_GB"."""
    return tag.strip().replace("_", "-").split("-")[0].lower()


def choose_language(accepted: LanguageAccept, query_lang: str | None = None) -> str:
    """ "vi" or "en": an explicit ``?lang=`` (vi, en, or a regional tag like en-US) wins, then the
    Accept-Language ranges (``request.accept_languages``) by werkzeug's ``best_match``, then
    Vietnamese. Two adjustments keep RFC 9110's reading where werkzeug differs: a range's
    parameters other than q are ignored ("en;level=1" is English), and between equal q-values the
    range the client listed first wins (werkzeug would prefer the server's order)."""
    if isinstance(query_lang, str) and _primary(query_lang) in LANGUAGES:
        return _primary(query_lang)
    ranges = LanguageAccept([(value.partition(";")[0].strip(), q) for value, q in accepted])
    # The ranges come sorted by q, equal q in the client's order: offer our languages in that order.
    listed = [_primary(value) for value, _ in ranges]
    ordered = sorted(LANGUAGES, key=lambda lang: listed.index(lang) if lang in listed else len(listed))
    return ranges.best_match(ordered, default=DEFAULT_LANGUAGE)


def negotiate_language(accept_language_header: str | None, query_lang: str | None = None) -> str:
    """:func:`choose_language` for a raw Accept-Language header (anything not a string is none)."""
    header = accept_language_header if isinstance(accept_language_header, str) else None
    return choose_language(parse_accept_header(header, LanguageAccept), query_lang)
