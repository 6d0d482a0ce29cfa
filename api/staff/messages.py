"""Vietnamese and English titles for the codes of the staff API (merged into EDGE_MESSAGES)."""
from __future__ import annotations

STAFF_MESSAGES: dict[str, dict[str, str]] = {
    # --- login and sessions ---
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
    "login_throttled": {"vi": "Đăng nhập sai quá nhiều lần, vui lòng chờ", "en": "Too many failed sign-ins: please wait"},
    "login_throttled.detail": {
        "vi": "Tên đăng nhập này đã nhập sai mật khẩu nhiều lần từ địa chỉ của bạn. Hãy thử lại sau số giây ghi trong "
              "Retry-After; thời gian chờ tăng dần sau mỗi lần sai.",
        "en": "Wrong passwords were sent for this username from your address. Try again after the seconds given in "
              "Retry-After; the wait grows with each failure.",
    },
    "step_up_exhausted": {"vi": "Nhập sai mã xác thực quá nhiều lần: phiên đã kết thúc",
                          "en": "Too many wrong authenticator codes: the session has ended"},
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
        "vi": "Phiên kết thúc khi không hoạt động quá lâu (mặc định 30 phút) hoặc quá thời hạn tối đa (mặc định 8 giờ). Vui lòng đăng nhập lại.",
        "en": "A session ends after too long idle (30 minutes by default) or at its maximum age (8 hours by default). Please sign in again.",
    },
    "role_not_allowed": {"vi": "Vai trò của bạn không được phép thực hiện thao tác này",
                         "en": "Your role is not allowed to do this"},
    "step_up_failed": {"vi": "Mã xác thực (TOTP) không đúng hoặc đã được dùng",
                       "en": "The authenticator code (TOTP) is wrong or was already used"},
    "step_up_failed.detail": {
        "vi": "Thao tác này cần một mã TOTP mới, chưa từng dùng. Hãy chờ mã tiếp theo trên ứng dụng xác thực.",
        "en": "This action needs a fresh TOTP code that was never used. Wait for the next code in your authenticator app.",
    },
    "totp_format": {"vi": "Mã TOTP gồm 6 chữ số.", "en": "A TOTP code is 6 digits."},
    # --- staff accounts (CLI) ---
    "staff_not_found": {"vi": "Không tìm thấy cán bộ", "en": "Staff member not found"},
    "username_taken": {"vi": "Tên đăng nhập đã tồn tại", "en": "This username is taken"},
    "username_invalid": {
        "vi": "Tên đăng nhập gồm 3-64 ký tự: chữ thường, chữ số, dấu chấm, gạch dưới, gạch nối.",
        "en": "A username is 3-64 characters: lower-case letters, digits, dot, underscore, hyphen.",
    },
    "password_too_short": {"vi": "Mật khẩu phải có ít nhất 12 ký tự.", "en": "A password needs at least 12 characters."},
    # --- review ---
    "request_already_decided": {"vi": "Yêu cầu đã được giải quyết", "en": "The request has already been decided"},
    "request_already_decided.detail": {
        "vi": "Yêu cầu này đã được cấp phiếu, từ chối hoặc hủy; xem trạng thái hiện tại trong trường status.",
        "en": "This request was already issued, refused or cancelled; its current status is in the status field.",
    },
    "request_not_in_review": {"vi": "Yêu cầu không ở trạng thái chờ xem xét",
                              "en": "The request is not waiting for review"},
    # --- revocation ---
    "only_for_superseded": {
        "vi": "Chỉ ghi phiếu thay thế khi lý do thu hồi là đã được thay thế (superseded).",
        "en": "A replacement certificate is given only with the reason superseded.",
    },
    "replacement_not_found": {"vi": "Không tìm thấy phiếu thay thế.", "en": "The replacement certificate was not found."},
    "replacement_is_same": {"vi": "Phiếu thay thế phải là một phiếu khác.",
                            "en": "The replacement must be another certificate."},
    "replacement_revoked": {"vi": "Phiếu thay thế đã bị thu hồi.", "en": "The replacement certificate is revoked."},
    "replacement_other_holder": {"vi": "Phiếu thay thế phải cấp cho cùng một người.",
                                 "en": "The replacement must be for the same person."},
    "invalid_date": {"vi": "Thời điểm không hợp lệ (ISO 8601).", "en": "Not a valid ISO 8601 date-time."},
}
