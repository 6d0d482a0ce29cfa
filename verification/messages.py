"""Words for the verdict, in Vietnamese (default) and English.

Shared by the CLI and the server's verification page (``GET /v/<token>``), so a verdict reads
the same everywhere. Plain data, no framework: the page's templates index these dicts.

* :data:`OUTCOME_MESSAGES` — ``{outcome: {"vi", "en", "meaning_vi", "meaning_en", "next_vi",
  "next_en"}}``: the big verdict line, what it means, and what the verifier should do next.
  A junk QR (``malformed``) says plainly "not a certificate from this service", never "expired".
* :data:`REASON_MESSAGES` — ``{reason code: {"vi", "en"}}`` for every code in
  ``result.REASON_CODES``.
* :data:`CHECK_LABELS`, :data:`FIELD_LABELS`, and :func:`field_value` for the public fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, Literal

Lang = Literal["vi", "en"]
LANGS: Final[tuple[str, ...]] = ("vi", "en")
DEFAULT_LANG: Final = "vi"

# Vietnam has one time zone, UTC+7, and no daylight saving time: a fixed offset needs no tzdata.
VIETNAM_TIME: Final = timezone(timedelta(hours=7), "ICT")

OUTCOME_MESSAGES: Final[Mapping[str, Mapping[str, str]]] = {
    "valid": {
        "vi": "Hợp lệ",
        "en": "Valid",
        "meaning_vi": "Phiếu lý lịch tư pháp này do cơ quan có thẩm quyền cấp, nội dung không bị "
        "sửa đổi và chưa bị thu hồi tại thời điểm kiểm tra.",
        "meaning_en": "This judicial-record certificate was issued by the competent authority, "
        "has not been altered, and had not been revoked at the time of the check.",
        "next_vi": "Đối chiếu số phiếu, họ tên và ngày sinh dưới đây với bản giấy hoặc tệp PDF "
        "và với giấy tờ tùy thân của người xuất trình.",
        "next_en": "Compare the number, name and date of birth below with the paper or PDF "
        "copy and with the identity document of the person presenting it.",
    },
    "revoked": {
        "vi": "Đã bị thu hồi",
        "en": "Revoked",
        "meaning_vi": "Phiếu này đã được cấp thật nhưng sau đó đã bị cơ quan cấp thu hồi; phiếu "
        "không còn giá trị sử dụng.",
        "meaning_en": "This certificate was genuinely issued but has since been revoked by the "
        "issuing authority; it is no longer valid.",
        "next_vi": "Không chấp nhận phiếu này. Đề nghị người xuất trình xin cấp phiếu mới hoặc "
        "liên hệ Trung tâm Lý lịch tư pháp quốc gia.",
        "next_en": "Do not accept it. Ask the holder for a newly issued certificate, or contact "
        "the National Judicial Record Centre.",
    },
    "tampered": {
        "vi": "Không hợp lệ — đã bị sửa đổi",
        "en": "Not valid — altered",
        "meaning_vi": "Nội dung không khớp với chữ ký số: mã hoặc tài liệu đã bị thay đổi sau "
        "khi ký, hoặc được ký bằng một khóa giả mạo.",
        "meaning_en": "The content does not match its digital signature: the code or document "
        "was changed after it was signed, or it was signed with a forged key.",
        "next_vi": "Không chấp nhận phiếu này. Nếu nghi ngờ giả mạo, hãy báo cho cơ quan cấp.",
        "next_en": "Do not accept it. If you suspect forgery, report it to the issuing authority.",
    },
    "unknown_issuer": {
        "vi": "Không rõ cơ quan cấp",
        "en": "Unknown issuer",
        "meaning_vi": "Mã được ký bằng một khóa không có trong danh sách tin cậy của dịch vụ này, "
        "nên không xác nhận được ai đã cấp.",
        "meaning_en": "The code was signed with a key that is not in this service's trust list, "
        "so who issued it cannot be confirmed.",
        "next_vi": "Không chấp nhận phiếu này. Nếu bạn dùng danh sách tin cậy đã lưu sẵn, hãy "
        "cập nhật danh sách rồi kiểm tra lại.",
        "next_en": "Do not accept it. If you use a saved trust list, update it and check again.",
    },
    "signer_revoked": {
        "vi": "Khóa ký đã bị thu hồi",
        "en": "Signing key revoked",
        "meaning_vi": "Khóa dùng để ký phiếu này đã bị thu hồi (chẳng hạn vì có thể đã bị lộ), "
        "nên chữ ký không còn đáng tin cậy.",
        "meaning_en": "The key that signed this certificate has been revoked (for example "
        "because it may have been compromised), so the signature can no longer be trusted.",
        "next_vi": "Không chấp nhận phiếu này. Đề nghị người xuất trình xin cấp lại phiếu.",
        "next_en": "Do not accept it. Ask the holder to obtain a reissued certificate.",
    },
    "malformed": {
        "vi": "Không phải mã của dịch vụ này",
        "en": "Not a certificate from this service",
        "meaning_vi": "Mã hoặc tệp này không phải là phiếu lý lịch tư pháp điện tử do dịch vụ này cấp.",
        "meaning_en": "This code or file is not an electronic judicial-record certificate issued by this service.",
        "next_vi": "Hãy kiểm tra lại xem bạn đã quét đúng mã QR in trên phiếu chưa. Nếu vẫn "
        "không được, không chấp nhận phiếu này.",
        "next_en": "Check that you scanned the QR code printed on the certificate. If it still "
        "fails, do not accept it.",
    },
    "not_found": {
        "vi": "Không tìm thấy",
        "en": "Not found",
        "meaning_vi": "Chữ ký số đúng, nhưng cơ quan cấp không có hồ sơ về phiếu này.",
        "meaning_en": "The digital signature is correct, but the issuing authority has no record of this certificate.",
        "next_vi": "Chưa chấp nhận phiếu này khi cơ quan cấp chưa xác nhận. Liên hệ Trung tâm "
        "Lý lịch tư pháp quốc gia.",
        "next_en": "Do not accept it until the issuing authority confirms it. Contact the "
        "National Judicial Record Centre.",
    },
    "status_unavailable": {
        "vi": "Không kiểm tra được trạng thái",
        "en": "Status could not be checked",
        "meaning_vi": "Chữ ký số là thật, nhưng chưa kiểm tra được phiếu đã bị thu hồi hay chưa "
        "(mất kết nối, hoặc đang kiểm tra ngoại tuyến).",
        "meaning_en": "The digital signature is genuine, but whether the certificate has been "
        "revoked could not be checked (no connection, or an offline check).",
        "next_vi": "Thử lại khi có kết nối mạng. Chưa coi phiếu là hợp lệ cho đến khi kiểm tra được trạng thái.",
        "next_en": "Try again when online. Do not treat it as valid until its status has been checked.",
    },
}

REASON_MESSAGES: Final[Mapping[str, Mapping[str, str]]] = {
    "ok": {"vi": "đạt", "en": "passed"},
    "not_checked": {"vi": "chưa kiểm tra", "en": "not checked"},
    "empty": {"vi": "không có dữ liệu", "en": "nothing to check"},
    "too_long": {"vi": "dữ liệu quá dài", "en": "input too long"},
    "not_base64": {"vi": "không đúng định dạng mã", "en": "not a certificate code"},
    "not_zlib": {"vi": "dữ liệu nén không hợp lệ", "en": "bad compressed data"},
    "too_large_decompressed": {"vi": "dữ liệu giải nén quá lớn", "en": "decompresses too large"},
    "not_cbor": {"vi": "không đúng cấu trúc dữ liệu", "en": "not structured data (CBOR)"},
    "not_cose_sign1": {"vi": "không phải dữ liệu đã ký", "en": "not a signed structure"},
    "wrong_algorithm": {"vi": "thuật toán ký không được chấp nhận", "en": "signature algorithm not accepted"},
    "bad_protected_header": {"vi": "phần đầu chữ ký không hợp lệ", "en": "bad signature header"},
    "bad_unprotected_header": {"vi": "phần đầu không hợp lệ", "en": "bad unprotected header"},
    "bad_payload": {"vi": "nội dung không đúng cấu trúc", "en": "bad payload"},
    "bad_claims": {"vi": "thông tin trong mã không đúng quy định", "en": "bad certificate fields"},
    "bad_signature_length": {"vi": "chữ ký không đúng định dạng", "en": "bad signature format"},
    "issued_in_future": {"vi": "ngày cấp ở tương lai", "en": "issue date in the future"},
    "not_pdf": {"vi": "tệp không phải PDF", "en": "not a PDF file"},
    "too_large": {"vi": "tệp quá lớn", "en": "file too large"},
    "pdf_unreadable": {"vi": "không đọc được tệp PDF", "en": "the PDF cannot be read"},
    "pdf_encrypted": {"vi": "tệp PDF bị mã hóa", "en": "the PDF is encrypted"},
    "pdf_too_complex": {
        "vi": "tệp PDF quá phức tạp để kiểm tra trong thời gian cho phép",
        "en": "the PDF is too complex to check within the time limit",
    },
    "unsigned_pdf": {"vi": "tệp PDF không có chữ ký số", "en": "the PDF is not signed"},
    "no_token": {"vi": "tệp PDF không chứa mã phiếu", "en": "the PDF carries no certificate code"},
    "signature_mismatch": {"vi": "chữ ký không khớp với nội dung", "en": "signature does not match the content"},
    "outside_signer_validity": {
        "vi": "ngày ký nằm ngoài thời hạn của khóa ký",
        "en": "signed outside the signing key's validity",
    },
    "modified_after_signing": {"vi": "tệp PDF đã bị thay đổi sau khi ký", "en": "the PDF was changed after signing"},
    "pdf_signature_invalid": {"vi": "chữ ký số của tệp PDF không hợp lệ", "en": "the PDF signature is not valid"},
    "signer_mismatch": {
        "vi": "tệp PDF và mã QR được ký bằng hai khóa khác nhau",
        "en": "the PDF and its code were signed by different keys",
    },
    "unknown_kid": {"vi": "khóa ký không có trong danh sách tin cậy", "en": "signing key not in the trust list"},
    "key_mismatch": {
        "vi": "khóa trong danh sách tin cậy không khớp chứng thư",
        "en": "trust list key does not match its certificate",
    },
    "chain_not_to_root": {
        "vi": "chứng thư ký không thuộc cơ quan chứng thực gốc tin cậy",
        "en": "signing certificate does not chain to the trusted root",
    },
    "issuer_mismatch": {"vi": "cơ quan cấp ghi trong mã không khớp", "en": "issuer named in the code does not match"},
    "bad_key_entry": {"vi": "mục khóa trong danh sách tin cậy không dùng được", "en": "unusable trust list entry"},
    "signer_revoked": {"vi": "khóa ký đã bị thu hồi", "en": "signing key revoked"},
    "revoked": {"vi": "phiếu đã bị thu hồi", "en": "certificate revoked"},
    "not_found": {"vi": "cơ quan cấp không có hồ sơ phiếu này", "en": "the issuer has no record of it"},
    "unavailable": {"vi": "không lấy được trạng thái", "en": "status could not be obtained"},
    "digest_mismatch": {
        "vi": "nội dung không khớp với hồ sơ của cơ quan cấp",
        "en": "content differs from the issuer's record",
    },
    "internal_error": {"vi": "lỗi khi kiểm tra", "en": "verifier error"},
}

CHECK_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "format": {"vi": "Định dạng", "en": "Format"},
    "signature": {"vi": "Chữ ký số", "en": "Signature"},
    "issuer": {"vi": "Cơ quan cấp", "en": "Issuer"},
    "status": {"vi": "Tình trạng thu hồi", "en": "Revocation status"},
}

FIELD_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "number": {"vi": "Số phiếu", "en": "Certificate number"},
    "form_type": {"vi": "Loại phiếu", "en": "Form"},
    "issued_at": {"vi": "Ngày cấp", "en": "Issued on"},
    "issuer": {"vi": "Cơ quan cấp", "en": "Issuing authority"},
    "holder_name": {"vi": "Họ và tên", "en": "Full name"},
    "holder_birth_date": {"vi": "Ngày sinh", "en": "Date of birth"},
    "masked_personal_id": {"vi": "Số định danh cá nhân", "en": "Personal ID number"},
    "record_statement": {"vi": "Tình trạng án tích", "en": "Criminal record"},
    "ban_statement": {
        "vi": "Cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã",
        "en": "Ban on holding positions or founding/managing enterprises or cooperatives",
    },
    "checked_at": {"vi": "Thời điểm kiểm tra", "en": "Checked at"},
}

_VALUE_TEXT: Final[Mapping[str, Mapping[int, Mapping[str, str]]]] = {
    "form_type": {1: {"vi": "Phiếu số 1", "en": "Form No. 1"}, 2: {"vi": "Phiếu số 2", "en": "Form No. 2"}},
    "record_statement": {
        0: {"vi": "Không có án tích", "en": "No criminal record"},
        1: {"vi": "Có án tích", "en": "Has a criminal record"},
    },
    "ban_statement": {
        0: {"vi": "Không yêu cầu", "en": "Not requested"},
        1: {"vi": "Không bị cấm", "en": "No ban"},
        2: {"vi": "Có quyết định cấm", "en": "Banned"},
    },
}


def lang_or_default(lang: str | None) -> Lang:
    return "en" if lang == "en" else "vi"


def outcome_text(outcome: str, lang: str = DEFAULT_LANG) -> Mapping[str, str]:
    """``{"verdict", "meaning", "next"}`` for an outcome in one language."""
    lang = lang_or_default(lang)
    entry = OUTCOME_MESSAGES.get(outcome, OUTCOME_MESSAGES["malformed"])
    return {"verdict": entry[lang], "meaning": entry[f"meaning_{lang}"], "next": entry[f"next_{lang}"]}


def reason_text(reason: str, lang: str = DEFAULT_LANG) -> str:
    entry = REASON_MESSAGES.get(reason)
    return entry[lang_or_default(lang)] if entry else reason


def format_time(iso: str | datetime, lang: str = DEFAULT_LANG, with_time: bool = True) -> str:
    """An ISO UTC time as a Vietnamese reader expects it: Vietnam time, day/month/year."""
    moment = iso if isinstance(iso, datetime) else datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(VIETNAM_TIME)
    if lang_or_default(lang) == "vi":
        return local.strftime("%d/%m/%Y %H:%M (giờ Việt Nam)" if with_time else "%d/%m/%Y")
    return local.strftime("%Y-%m-%d %H:%M (Vietnam time)" if with_time else "%Y-%m-%d")


def field_value(name: str, value: Any, lang: str = DEFAULT_LANG) -> str:
    """A public field's value as text for people (labels for codes, local dates)."""
    if value is None:
        return ""
    lang = lang_or_default(lang)
    if name in _VALUE_TEXT and value in _VALUE_TEXT[name]:
        return _VALUE_TEXT[name][value][lang]
    if name == "issued_at":
        return format_time(value, lang, with_time=False)
    if name == "holder_birth_date" and lang == "vi" and len(str(value)) == 10:
        year, month, day = str(value).split("-")
        return f"{day}/{month}/{year}"
    return str(value)
