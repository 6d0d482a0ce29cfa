"""Every legal parameter of the judicial-record service, in one place.

Sources: Law on Judicial Records 28/2009/QH12 (arts. 7, 41-49) as amended; fee circular
244/2016/TT-BTC; Labour Code 45/2019/QH14 art. 112 (public holidays); Civil Code 2015 arts.
147-148 (how a period counted in days starts and ends); Decision 124/2004/QD-TTg (administrative
codes of the provinces); Circular 59/2021/TT-BCA (structure of the personal identification number).

This module is pure: no I/O, no flask, no database. Whatever a deployment may need to change
(extra holidays, issuer id, authority name) is passed in by the caller from ``ecert.config``;
the values here are the statutory defaults. See docs/domain-rules.md for the reasoning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from ecert.domain.states import REQUEST_TRANSITIONS, RequestStatus

# --- issuing authority ---------------------------------------------------------------------------

DEFAULT_AUTHORITY_NAME = "Trung tâm Lý lịch tư pháp quốc gia"
DEFAULT_ISSUER_ID = "VN-NJRC"

# --- forms -----------------------------------------------------------------------------------------

FORM_1 = 1
FORM_2 = 2
FORM_TYPES = (FORM_1, FORM_2)

# Record statement (QR claim 6) and ban statement (QR claim 7) values.
RECORD_STATEMENT_NONE = 0  # "Không có án tích"
RECORD_STATEMENT_HAS = 1  # "Có án tích"
RECORD_STATEMENT_TEXT = {
    RECORD_STATEMENT_NONE: {"vi": "Không có án tích", "en": "No criminal record"},
    RECORD_STATEMENT_HAS: {"vi": "Có án tích", "en": "Has a criminal record"},
}
BAN_STATEMENT_NOT_REQUESTED = 0
BAN_STATEMENT_NONE = 1
BAN_STATEMENT_HAS = 2
BAN_STATEMENT_TEXT = {
    BAN_STATEMENT_NOT_REQUESTED: {"vi": "Không yêu cầu", "en": "Not requested"},
    BAN_STATEMENT_NONE: {
        "vi": "Không bị cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã",
        "en": "Not banned from holding positions, founding or managing enterprises or cooperatives",
    },
    BAN_STATEMENT_HAS: {
        "vi": "Bị cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã",
        "en": "Banned from holding positions, founding or managing enterprises or cooperatives",
    },
}

# --- the certificate's wording (the forms of Law 28/2009/QH12 arts. 42-43) --------------------------
# The PDF prints these, the statements above and the serving statuses below; signing/ retypes none
# of them (ecert.domain.content.certificate_wording hands them over).

FORM_NAMES = {FORM_1: "Phiếu lý lịch tư pháp số 1", FORM_2: "Phiếu lý lịch tư pháp số 2"}
BAN_SECTION_HEADING = "Thông tin về việc cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp, hợp tác xã"
# The judicial-record store's serving-status codes (DESIGN §11) and their wording on the certificate.
SERVING_STATUS_TEXT: Mapping[str, str] = {
    "completed": "Đã chấp hành xong",
    "serving": "Đang chấp hành",
    "not_started": "Chưa chấp hành",
    "probation": "Đang trong thời gian thử thách (án treo)",
    "suspended": "Đang trong thời gian thử thách (án treo)",
    "deferred": "Được hoãn chấp hành",
    "postponed": "Được hoãn chấp hành",
    "paused": "Được tạm đình chỉ chấp hành",
    "exempted": "Được miễn chấp hành",
    "amnestied": "Được đặc xá",
}

# --- fees (Circular 244/2016/TT-BTC) -----------------------------------------------------------

STANDARD_FEE_VND = 200_000
# Students and people with merit to the revolution (người có công với cách mạng).
REDUCED_FEE_VND = 100_000
# Each paper copy from the 3rd on: the fee covers two copies.
EXTRA_COPY_FEE_VND = 5_000
COPIES_INCLUDED = 2
# Who may claim the reduced fee (request field ``fee_reduction``; absent or null = standard fee).
FEE_REDUCTIONS: Mapping[str, Mapping[str, str]] = {
    "student": {"vi": "Học sinh, sinh viên", "en": "Student"},
    # Circular 244/2016 art. 5 also counts the relatives of fallen soldiers (thân nhân liệt sĩ) here.
    "merit": {
        "vi": "Người có công với cách mạng, thân nhân liệt sĩ",
        "en": "Person with merit to the revolution, or relative of a fallen soldier",
    },
}
FEE_STATUS_OWED = "owed"  # payment is out of scope for now: the amount is recorded as owed
FEE_STATUS_NOT_DUE = "not_due"  # a cancelled or refused request owes nothing

# --- deadlines (Law 28/2009/QH12 art. 48) --------------------------------------------------------

DEADLINE_WORKING_DAYS = 10
# Several provinces of residence, any period abroad, a foreigner, or expungement to be checked.
EXTENDED_DEADLINE_WORKING_DAYS = 15

# --- field limits ------------------------------------------------------------------------------------

MIN_COPIES = 1
MAX_COPIES = 10
PURPOSE_MAX = 500
NAME_MAX = 100
# Vietnamese addresses ("số nhà, ngõ/ngách, đường, phường/xã, quận/huyện, tỉnh/thành phố") stay
# well under 200 characters; 300 leaves room for long rural or foreign addresses while keeping
# one history period printable on a line or two of the form.
ADDRESS_MAX = 300
PLACE_OF_BIRTH_MAX = 300
NOTE_MAX = 2000
EMAIL_MAX = 254
# A residence history with more periods than this is not a history but a mistake (or an attack):
# bounding it keeps validation and the printed form small.
RESIDENCE_PERIODS_MAX = 50
# Residence history is required from the month the person turned 14 (Law 28/2009 art. 45).
RESIDENCE_FROM_AGE = 14

# --- request workflow (DESIGN §4) ------------------------------------------------------------------

# The statuses and their transition table live in ecert.domain.states; these names stay for
# the code that reads the workflow as rules (labels, open/final sets).
STATUS_SUBMITTED = RequestStatus.SUBMITTED
STATUS_PROCESSING = RequestStatus.PROCESSING
STATUS_NEEDS_REVIEW = RequestStatus.NEEDS_REVIEW
STATUS_ISSUED = RequestStatus.ISSUED
STATUS_REFUSED = RequestStatus.REFUSED
STATUS_CANCELLED = RequestStatus.CANCELLED

REQUEST_STATUSES = tuple(RequestStatus)
ALLOWED_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = REQUEST_TRANSITIONS

FINAL_STATUSES = frozenset({STATUS_ISSUED, STATUS_REFUSED, STATUS_CANCELLED})
# The citizen may cancel only before processing starts (DESIGN §4).
CANCELLABLE_STATUSES = frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if STATUS_CANCELLED in targets)
# A citizen may have at most one request in these statuses.
OPEN_STATUSES = frozenset(REQUEST_STATUSES) - FINAL_STATUSES

STATUS_LABELS: Mapping[str, Mapping[str, str]] = {
    STATUS_SUBMITTED: {"vi": "Đã tiếp nhận", "en": "Submitted"},
    STATUS_PROCESSING: {"vi": "Đang xử lý", "en": "Processing"},
    STATUS_NEEDS_REVIEW: {"vi": "Chờ cán bộ xem xét", "en": "Awaiting staff review"},
    STATUS_ISSUED: {"vi": "Đã cấp phiếu", "en": "Issued"},
    STATUS_REFUSED: {"vi": "Từ chối cấp", "en": "Refused"},
    STATUS_CANCELLED: {"vi": "Đã hủy", "en": "Cancelled"},
}


def can_transition(current: str, new: str) -> bool:
    """True when the workflow allows ``current`` -> ``new`` (``states.move`` enforces it)."""
    return new in ALLOWED_TRANSITIONS.get(current, frozenset())  # type: ignore[call-overload]


# --- refusal (Law 28/2009/QH12 art. 49) ----------------------------------------------------------

REFUSAL_REASONS: Mapping[str, Mapping[str, str]] = {
    "outside_competence": {
        "vi": "Việc cấp Phiếu lý lịch tư pháp không thuộc thẩm quyền của cơ quan",
        "en": "Issuing this certificate is outside the agency's competence",
    },
    "not_entitled": {
        "vi": "Người yêu cầu không có quyền yêu cầu cấp Phiếu lý lịch tư pháp",
        "en": "The requester is not entitled to request this certificate",
    },
    "documents_invalid": {
        "vi": "Giấy tờ kèm theo tờ khai không đầy đủ hoặc giả mạo",
        "en": "The supporting documents are incomplete or forged",
    },
}
REFUSAL_REASON_CODES = frozenset(REFUSAL_REASONS)

# --- revocation (RFC 5280-like) ----------------------------------------------------------------

REVOCATION_REASONS: Mapping[str, Mapping[str, str]] = {
    "issued_in_error": {"vi": "Cấp nhầm", "en": "Issued in error"},
    "wrong_subject": {"vi": "Cấp sai người", "en": "Issued for the wrong person"},
    "fraudulent_request": {"vi": "Yêu cầu gian lận", "en": "Fraudulent request"},
    "superseded": {"vi": "Đã được thay thế bằng phiếu khác", "en": "Superseded by a corrected certificate"},
    "court_decision": {"vi": "Theo quyết định của Tòa án", "en": "By court decision"},
    "other": {"vi": "Lý do khác", "en": "Other reason"},
}
REVOCATION_REASON_CODES = frozenset(REVOCATION_REASONS)
# Reasons that must come with a written note.
REVOCATION_NOTE_REQUIRED = frozenset({"other"})

# --- provinces -------------------------------------------------------------------------------------

# The 63 provinces and centrally-run cities with their administrative codes (Decision
# 124/2004/QD-TTg), as they were before the 2025 merger (Resolution 202/2025/QH15, in force
# 12 June 2025). A residence history is historical, so a period in, say, Hà Giang before 2025 must
# still be expressible. The 34 provinces after the merger kept the code of one of their members
# (Decision 19/2025/QD-TTg), so every current code is already in this table; see MERGED_2025.
PROVINCES: Mapping[str, str] = {
    "01": "Hà Nội",
    "02": "Hà Giang",
    "04": "Cao Bằng",
    "06": "Bắc Kạn",
    "08": "Tuyên Quang",
    "10": "Lào Cai",
    "11": "Điện Biên",
    "12": "Lai Châu",
    "14": "Sơn La",
    "15": "Yên Bái",
    "17": "Hòa Bình",
    "19": "Thái Nguyên",
    "20": "Lạng Sơn",
    "22": "Quảng Ninh",
    "24": "Bắc Giang",
    "25": "Phú Thọ",
    "26": "Vĩnh Phúc",
    "27": "Bắc Ninh",
    "30": "Hải Dương",
    "31": "Hải Phòng",
    "33": "Hưng Yên",
    "34": "Thái Bình",
    "35": "Hà Nam",
    "36": "Nam Định",
    "37": "Ninh Bình",
    "38": "Thanh Hóa",
    "40": "Nghệ An",
    "42": "Hà Tĩnh",
    "44": "Quảng Bình",
    "45": "Quảng Trị",
    "46": "Thừa Thiên Huế",
    "48": "Đà Nẵng",
    "49": "Quảng Nam",
    "51": "Quảng Ngãi",
    "52": "Bình Định",
    "54": "Phú Yên",
    "56": "Khánh Hòa",
    "58": "Ninh Thuận",
    "60": "Bình Thuận",
    "62": "Kon Tum",
    "64": "Gia Lai",
    "66": "Đắk Lắk",
    "67": "Đắk Nông",
    "68": "Lâm Đồng",
    "70": "Bình Phước",
    "72": "Tây Ninh",
    "74": "Bình Dương",
    "75": "Đồng Nai",
    "77": "Bà Rịa - Vũng Tàu",
    "79": "Hồ Chí Minh",
    "80": "Long An",
    "82": "Tiền Giang",
    "83": "Bến Tre",
    "84": "Trà Vinh",
    "86": "Vĩnh Long",
    "87": "Đồng Tháp",
    "89": "An Giang",
    "91": "Kiên Giang",
    "92": "Cần Thơ",
    "93": "Hậu Giang",
    "94": "Sóc Trăng",
    "95": "Bạc Liêu",
    "96": "Cà Mau",
}

# The codes of the 34 provinces after the 2025 merger (informational: for display of current
# names and for future rules). All of them are keys of PROVINCES.
MERGED_2025: Mapping[str, str] = {
    "01": "Hà Nội",
    "04": "Cao Bằng",
    "08": "Tuyên Quang",
    "11": "Điện Biên",
    "12": "Lai Châu",
    "14": "Sơn La",
    "15": "Lào Cai",
    "19": "Thái Nguyên",
    "20": "Lạng Sơn",
    "22": "Quảng Ninh",
    "24": "Bắc Ninh",
    "25": "Phú Thọ",
    "31": "Hải Phòng",
    "33": "Hưng Yên",
    "37": "Ninh Bình",
    "38": "Thanh Hóa",
    "40": "Nghệ An",
    "42": "Hà Tĩnh",
    "44": "Quảng Trị",
    "46": "Huế",
    "48": "Đà Nẵng",
    "51": "Quảng Ngãi",
    "52": "Gia Lai",
    "56": "Khánh Hòa",
    "66": "Đắk Lắk",
    "68": "Lâm Đồng",
    "75": "Đồng Nai",
    "79": "Hồ Chí Minh",
    "80": "Tây Ninh",
    "82": "Đồng Tháp",
    "86": "Vĩnh Long",
    "91": "An Giang",
    "92": "Cần Thơ",
    "96": "Cà Mau",
}

# A residence period abroad uses this code in ``province_code``. "00" is not an administrative
# code, keeps the field two digits (a schema may use ``^\d{2}$``) and sorts first.
ABROAD_CODE = "00"
ABROAD_NAME = {"vi": "Nước ngoài", "en": "Abroad"}
RESIDENCE_CODES = frozenset(PROVINCES) | {ABROAD_CODE}


def province_name(code: str) -> str | None:
    """The Vietnamese name of a residence code (``"Nước ngoài"`` for abroad), None if unknown."""
    if code == ABROAD_CODE:
        return ABROAD_NAME["vi"]
    return PROVINCES.get(code)


# --- personal identification number (Circular 59/2021/TT-BCA) -----------------------------------

PID_LENGTH = 12
# Digits 1-3: where the birth was registered. In Vietnam: "0" + the province code (001 Hà Nội,
# 079 Hồ Chí Minh ...). A birth registered abroad carries a country code instead; we do not hold the
# Ministry of Public Security's country table, so every 3-digit code from 100 to 999 is accepted as
# a country code. The check therefore rejects 000 and the 0xx codes that are not provinces.
PID_PROVINCE_PLACE_CODES = frozenset("0" + code for code in PROVINCES)
PID_FOREIGN_PLACE_CODE_MIN = 100
PID_FOREIGN_PLACE_CODE_MAX = 999


def is_pid_place_code(code: str) -> bool:
    if len(code) != 3 or not code.isascii() or not code.isdigit():
        return False
    return code in PID_PROVINCE_PLACE_CODES or PID_FOREIGN_PLACE_CODE_MIN <= int(code) <= PID_FOREIGN_PLACE_CODE_MAX


# Digit 4: century and gender. Even = male, odd = female; 0/1 = 1900s, 2/3 = 2000s, 4/5 = 2100s,
# 6/7 = 2200s, 8/9 = 2300s (the scheme of Circular 59/2021 runs to the 25th century).
def pid_century_digit(birth_year: int, gender: str) -> int | None:
    """The expected 4th digit for a birth year and gender, None when the year is not encodable."""
    century = birth_year // 100
    if not 19 <= century <= 23 or gender not in ("male", "female"):
        return None
    return (century - 19) * 2 + (1 if gender == "female" else 0)


def pid_century_of_digit(digit: int) -> int:
    """1900, 2000, ... for a 4th digit."""
    return 1900 + (digit // 2) * 100


def pid_gender_of_digit(digit: int) -> str:
    return "female" if digit % 2 else "male"


# --- fee ---------------------------------------------------------------------------------------


def fee_breakdown(copies: int, reduced: bool) -> dict[str, int]:
    """How a request's fee is made: the standard fee, less the reduction, plus 5,000 VND per copy
    from the 3rd (``total_vnd`` is :func:`fee_vnd`).

    Raises ValueError for a number of copies outside 1..MAX_COPIES: validation runs first.
    """
    if isinstance(copies, bool) or not isinstance(copies, int) or not MIN_COPIES <= copies <= MAX_COPIES:
        raise ValueError(f"copies must be an integer from {MIN_COPIES} to {MAX_COPIES}")
    reduction = STANDARD_FEE_VND - REDUCED_FEE_VND if reduced else 0
    extra_copies = max(0, copies - COPIES_INCLUDED)
    surcharge = EXTRA_COPY_FEE_VND * extra_copies
    return {
        "base_vnd": STANDARD_FEE_VND,
        "reduction_vnd": reduction,
        "extra_copies": extra_copies,
        "copies_surcharge_vnd": surcharge,
        "total_vnd": STANDARD_FEE_VND - reduction + surcharge,
    }


def fee_vnd(copies: int, reduced: bool) -> int:
    """The fee for a request: base fee (standard or reduced) plus 5,000 VND per copy from the 3rd.

    Raises ValueError for a number of copies outside 1..MAX_COPIES: validation runs first.
    """
    return fee_breakdown(copies, reduced)["total_vnd"]


def fee_status(status: str) -> str:
    """``not_due`` once a request is cancelled or refused; ``owed`` while open or issued."""
    return FEE_STATUS_NOT_DUE if status in (STATUS_CANCELLED, STATUS_REFUSED) else FEE_STATUS_OWED


def request_timeline(request: Any) -> list[tuple[str, datetime]]:
    """The statuses a request reached and when, from its own timestamps: submitted; waiting for
    staff (decided at submission, so at the same moment) if it has review reasons; then issued or
    refused (``decided_at``) or cancelled (``cancelled_at``)."""
    steps: list[tuple[str, datetime]] = [(STATUS_SUBMITTED, request.submitted_at)]
    if request.review_reasons:
        steps.append((STATUS_NEEDS_REVIEW, request.submitted_at))
    if request.status in (STATUS_ISSUED, STATUS_REFUSED) and request.decided_at is not None:
        steps.append((request.status, request.decided_at))
    elif request.status == STATUS_CANCELLED and request.cancelled_at is not None:
        steps.append((STATUS_CANCELLED, request.cancelled_at))
    return steps


# Why a request waits for staff, in the citizen's words: each review reason (DESIGN §4,
# ecert.domain.content.REVIEW_REASONS, and the service's own) becomes the code a citizen reads
# (its label is ``waiting.<code>`` in messages.json). What the record holds is never named: a
# conviction and a ban both read "record_check"; the service's own reasons read "officer_review".
WAITING_REASONS: Mapping[str, str] = {
    "form_2": "form_2",
    "has_unexpunged_conviction": "record_check",
    "ban_found": "record_check",
    "ban_section_requested": "ban_section",
    "multi_province_history": "several_provinces",
    "abroad_history": "abroad",
}
WAITING_REASON_OTHERWISE = "officer_review"


def waiting_reasons(review_reasons: Iterable[str]) -> list[str]:
    """The citizen's codes for ``review_reasons``, each once, in their order."""
    codes = (WAITING_REASONS.get(reason, WAITING_REASON_OTHERWISE) for reason in review_reasons)
    return list(dict.fromkeys(codes))


# --- working days and deadlines ------------------------------------------------------------------

# Vietnam has no daylight saving time: UTC+07:00 all year.
VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")

# Public holidays on fixed Gregorian dates (Labour Code 2019 art. 112): New Year's Day,
# Reunification Day, Labour Day, National Day. As (month, day).
#
# Not here, because they move and the Government announces them each year: Tết Nguyên Đán
# (5 days around the lunar new year), Hùng Kings' Commemoration (10/3 lunar), the day next to
# National Day (1/9 or 3/9, chosen each year), compensatory days when a holiday falls on a weekend,
# and swapped working days. A deployment lists those dates in ECERT_HOLIDAYS
# (``ecert.config`` -> ``Settings.extra_holidays``) and passes them as ``extra_holidays``.
VIETNAM_FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (4, 30), (5, 1), (9, 2)})


def vietnam_date(moment: datetime | date) -> date:
    """The calendar date in Vietnam of a moment; a naive datetime is taken as UTC (the project
    stores UTC); a bare date is returned as is."""
    if isinstance(moment, datetime):
        aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return aware.astimezone(VIETNAM_TZ).date()
    return moment


def fixed_holidays(years: Iterable[int]) -> frozenset[date]:
    """The fixed-date public holidays of the given years as dates."""
    return frozenset(date(year, month, day) for year in years for (month, day) in VIETNAM_FIXED_HOLIDAYS)


def is_working_day(day: date, holidays: frozenset[date] | set[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: datetime, days: int, holidays: frozenset[date]) -> datetime:
    """``start`` moved forward by ``days`` working days, keeping the time of day.

    Working days are Monday to Friday that are not in ``holidays`` (a full set of dates: pass
    ``fixed_holidays(...) | extra`` or use ``due_at``). Counting starts on the first working day
    after the day of ``start`` (Civil Code art. 147: a period counted in days starts the day after
    the event), so a request made on a Saturday, a Sunday or a holiday is counted from the next
    working day and gets the same deadline as one made on the last working day before it.
    The calendar is ``start``'s own wall clock; ``due_at`` converts to Vietnam time first.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start.date()
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current, holidays):
            remaining -= 1
    return datetime.combine(current, start.timetz())


def deadline_working_days(extended: bool) -> int:
    return EXTENDED_DEADLINE_WORKING_DAYS if extended else DEADLINE_WORKING_DAYS


def due_at(submitted_at: datetime, extended: bool, extra_holidays: frozenset[date] = frozenset()) -> datetime:
    """When the decision is due: the end (23:59:59 Vietnam time) of the 10th working day after
    submission, or the 15th when ``extended``.

    Civil Code art. 148: a period counted in days ends at the end of its last day. The calendar is
    Vietnam's (UTC+07:00): a request sent at 20:00 UTC on a Friday arrived on a Saturday in Hanoi.
    An aware ``submitted_at`` gives an answer in the same time zone; a naive one is taken as UTC
    and a naive UTC datetime is returned.
    """
    naive = submitted_at.tzinfo is None
    aware = submitted_at.replace(tzinfo=UTC) if naive else submitted_at
    local = aware.astimezone(VIETNAM_TZ)
    holidays = fixed_holidays(range(local.year, local.year + 2)) | frozenset(extra_holidays)
    last_day = add_working_days(local, deadline_working_days(extended), holidays).date()
    end = datetime.combine(last_day, time(23, 59, 59), tzinfo=VIETNAM_TZ)
    if naive:
        return end.astimezone(UTC).replace(tzinfo=None)
    return end.astimezone(submitted_at.tzinfo)


def is_overdue(due: datetime, now: datetime) -> bool:
    """True once ``now`` is past ``due`` (both aware, or both naive UTC)."""
    return now > due


def residence_provinces(residence_history: Iterable[Mapping]) -> set[str]:
    """The distinct ``province_code`` values of a residence history (abroad included)."""
    codes: set[str] = set()
    for period in residence_history or ():
        if isinstance(period, Mapping):
            code = period.get("province_code")
            if isinstance(code, str):
                codes.add(code)
    return codes


def deadline_extended(residence_history: Iterable[Mapping]) -> bool:
    """More than one province, or any period abroad, extends the deadline to 15 working days."""
    codes = residence_provinces(residence_history)
    return ABROAD_CODE in codes or len(codes) > 1


# --- the requester's residence-history month arithmetic ---------------------------------------


def month_index(year: int, month: int) -> int:
    """A month as a single integer, so that periods compare and subtract simply."""
    return year * 12 + (month - 1)


def month_of(day: date) -> int:
    return month_index(day.year, day.month)


def month_turned(birth_date: date, age: int) -> int:
    """The month in which a person born on ``birth_date`` turns ``age`` (29 Feb is no exception:
    the month is February either way)."""
    return month_index(birth_date.year + age, birth_date.month)
