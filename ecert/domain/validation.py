"""Pure validators for the citizen's request (DESIGN §4, §11).

Every validator answers with error CODES, never sentences, keyed by the field's path
(``purpose``, ``residence_history.0.from``, ``identity.personal_id``): the HTTP edge localises
them with ``ecert.domain.i18n``. Nothing here raises on bad input, whatever its type: marshmallow checks
types first, but these functions are also the last line of defence.

Decisions are recorded in docs/domain-rules.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ecert.domain import rules

Errors = dict[str, list[str]]

# --- text normalisation ------------------------------------------------------------------------------

# Typographic apostrophes that phones' keyboards produce in names like "H’Hen"; stored as "'".
_APOSTROPHES = {"\u2019": "'", "\u02bc": "'", "\u2018": "'"}
_APOSTROPHE_TABLE = str.maketrans(_APOSTROPHES)

# Letters that NFKD does not decompose into an ASCII base letter. Vietnamese đ/Đ is the one that
# matters; the Icelandic eth Ð (U+00D0) looks exactly like Đ (U+0110) and is mapped the same way.
_FOLD_TABLE = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
        **_APOSTROPHES,
    }
)

# Control, format, surrogate, private-use and unassigned code points, and the line/paragraph
# separators: never legitimate in a name, a purpose or an address, and the bidi overrides among
# them can make a printed text read differently from the stored one.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in value)


# After NFC every Vietnamese letter is one code point; a few other Latin letters keep one or two
# marks. More than this on one base is "zalgo" text: it overprints the lines around it in the PDF
# and makes a name look like another.
MAX_MARKS_PER_BASE = 2


def has_mark_flood(value: str) -> bool:
    """More than MAX_MARKS_PER_BASE combining marks in a row, after NFC."""
    run = 0
    for ch in unicodedata.normalize("NFC", value):
        run = run + 1 if unicodedata.category(ch).startswith("M") else 0
        if run > MAX_MARKS_PER_BASE:
            return True
    return False


def is_compatibility_form(ch: str) -> bool:
    """Full-width and half-width forms (U+FF00-U+FFEF) and every other character that only has a
    compatibility decomposition (ligatures, superscripts, circled letters): look-alikes of
    ordinary letters that let two different stored names print the same."""
    return "\uff00" <= ch <= "\uffef" or unicodedata.decomposition(ch).startswith("<")


# NFC joins a letter and at most MAX_MARKS_PER_BASE marks into one character, so a text this many
# times over its limit is too long whatever its normal form: said at once, without normalising
# (or scanning character by character) a body-sized string.
RAW_LENGTH_FACTOR = 4


def is_far_too_long(value: str, max_length: int) -> bool:
    return len(value) > RAW_LENGTH_FACTOR * max_length


def normalize_text(value: str) -> str:
    """NFC and stripped: the stored form of free text (purpose, address)."""
    return unicodedata.normalize("NFC", value).strip()


def normalize_name(value: str) -> str:
    """The stored form of a name: NFC, typographic apostrophes as "'", runs of whitespace as one
    space, no leading or trailing space. Idempotent."""
    text = unicodedata.normalize("NFC", value).translate(_APOSTROPHE_TABLE)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def ascii_fold(value: str) -> str:
    """An ASCII transliteration for search (the QR signs the name itself): "Nguyễn Văn Đức" -> "Nguyen Van Duc".

    Diacritics are removed (NFKD, combining marks dropped), đ/Đ become d/D, a few other Latin letters
    without a decomposition are spelt out; what is still not ASCII after that is dropped. Idempotent;
    the result is always ASCII.
    """
    decomposed = unicodedata.normalize("NFKD", value.translate(_FOLD_TABLE))
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # NFKD may produce letters that the table folds (e.g. a compatibility form of "ß").
    kept = kept.translate(_FOLD_TABLE)
    return kept.encode("ascii", "ignore").decode("ascii")


# --- names ---------------------------------------------------------------------------------------


def _is_name_letter(ch: str) -> bool:
    """A Latin-script letter (every Vietnamese letter, with any diacritic, is one)."""
    return unicodedata.category(ch).startswith("L") and "LATIN" in unicodedata.name(ch, "")


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


_NAME_PUNCTUATION = frozenset("'-")


def validate_name(value: Any) -> list[str]:
    """Codes for a person's name: ``required``, ``invalid_type``, ``invalid_characters``,
    ``invalid_format``, ``too_long``. Empty list = valid.

    Allowed: Latin letters with any diacritics (all of Vietnamese), at most MAX_MARKS_PER_BASE
    combining marks after a letter, spaces, apostrophe and hyphen; never markup, control
    characters or compatibility forms (full-width letters, ligatures). The name starts with a
    letter; a hyphen sits between letters; two punctuation marks never touch. 1..NAME_MAX
    characters after ``normalize_name`` (far longer input is ``too_long`` before any scan).
    Latin script only, so that the ASCII transliteration kept next to every name is meaningful.
    """
    if value is None:
        return ["required"]
    if not isinstance(value, str):
        return ["invalid_type"]
    if is_far_too_long(value, rules.NAME_MAX):
        return ["too_long"]
    if has_control_characters(value) or has_mark_flood(value):
        return ["invalid_characters"]
    name = normalize_name(value)
    if not name:
        return ["required"]
    errors: list[str] = []
    previous = ""
    for ch in name:
        if is_compatibility_form(ch):
            errors.append("invalid_characters")
            break
        if ch == " " or ch in _NAME_PUNCTUATION or _is_name_letter(ch):
            pass
        elif _is_mark(ch) and previous and (_is_name_letter(previous) or _is_mark(previous)):
            pass
        else:
            errors.append("invalid_characters")
            break
        previous = ch
    if not errors and _bad_name_shape(name):
        errors.append("invalid_format")
    if len(name) > rules.NAME_MAX:
        errors.append("too_long")
    return errors


def _bad_name_shape(name: str) -> bool:
    if not _is_name_letter(name[0]) or name[-1] == "-":
        return True
    for left, right in zip(name, name[1:], strict=False):
        if left in _NAME_PUNCTUATION and right in _NAME_PUNCTUATION:
            return True
        if "-" in (left, right) and " " in (left, right):
            return True
    if " '" in name:  # an apostrophe ends a syllable ("H'Hen"), never starts a word
        return True
    return False


# Accepted answers for "no spouse" on Form 2, compared after normalize_name + casefold. Plain
# ASCII spellings are there because many people type Vietnamese without diacritics. "Khổng" (a
# real surname) folds to "khong" only after removing diacritics, which we never do here.
NO_SPOUSE_TOKENS = frozenset(
    {
        "none",
        "no",
        "n/a",
        "không",
        "không có",
        "chưa có",
        "chưa kết hôn",
        "độc thân",
        "khong",
        "khong co",
        "chua co",
        "chua ket hon",
        "doc than",
    }
)
# What a "no spouse" answer is stored and printed as.
NO_SPOUSE = "Không có"


def is_no_spouse(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return normalize_name(value).casefold() in NO_SPOUSE_TOKENS


def normalize_spouse_name(value: str) -> str:
    """The stored form of Form 2's spouse field: ``NO_SPOUSE`` for any "none" token, else the name."""
    return NO_SPOUSE if is_no_spouse(value) else normalize_name(value)


def validate_spouse_name(value: Any) -> list[str]:
    if is_no_spouse(value):
        return []
    return validate_name(value)


# --- personal identification number ---------------------------------------------------------------

_PID_RE = re.compile(f"[0-9]{{{rules.PID_LENGTH}}}")


def validate_personal_id(pid: Any, birth_date: date | None, gender: Any) -> list[str]:
    """Codes for the 12-digit personal ID against the holder's birth date and gender (DESIGN §4):
    ``pid_format``, ``pid_place_code``, ``pid_century_mismatch``, ``pid_gender_mismatch``,
    ``pid_birth_year_mismatch``. A missing birth date or an unknown gender skips the checks that
    need it (the caller reports those fields themselves)."""
    if not isinstance(pid, str) or not _PID_RE.fullmatch(pid):
        return ["pid_format"]
    errors: list[str] = []
    if not rules.is_pid_place_code(pid[:3]):
        errors.append("pid_place_code")
    digit = int(pid[3])
    if isinstance(birth_date, date):
        if rules.pid_century_of_digit(digit) != (birth_date.year // 100) * 100:
            errors.append("pid_century_mismatch")
    if gender in ("male", "female") and rules.pid_gender_of_digit(digit) != gender:
        errors.append("pid_gender_mismatch")
    if isinstance(birth_date, date) and pid[4:6] != f"{birth_date.year % 100:02d}":
        errors.append("pid_birth_year_mismatch")
    return errors


# --- contacts --------------------------------------------------------------------------------------

PHONE_RE = re.compile(r"(0|\+84)(3|5|7|8|9)[0-9]{8}")
# Deliberately simple (no quoted local parts, no IP-literal domains, ASCII only): what a citizen
# types, with a domain that has a dot and a letters-only top-level label.
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
EMAIL_LOCAL_MAX = 64


def validate_phone(value: Any) -> list[str]:
    """``^(0|\\+84)(3|5|7|8|9)\\d{8}$`` exactly (ASCII digits, no spaces): ``required``,
    ``invalid_type``, ``phone_format``."""
    if value is None or value == "":
        return ["required"]
    if not isinstance(value, str):
        return ["invalid_type"]
    return [] if PHONE_RE.fullmatch(value) else ["phone_format"]


def validate_email(value: Any) -> list[str]:
    """``required`` (None or ""), ``invalid_type``, ``too_long`` (> 254), ``email_format``.
    Optional fields call it only when a value is given."""
    if value is None or value == "":
        return ["required"]
    if not isinstance(value, str):
        return ["invalid_type"]
    if len(value) > rules.EMAIL_MAX:
        return ["too_long"]
    if not _EMAIL_RE.fullmatch(value) or len(value.split("@", 1)[0]) > EMAIL_LOCAL_MAX:
        return ["email_format"]
    return []


# --- counts, and what staff and lists send ---------------------------------------------------------

PAGE_SIZE_MAX = 100  # items on one page of a list
AUDIT_PAGE_SIZE_MAX = 200  # the audit log is read in longer pages
USERNAME_MAX = 64
CERTIFICATE_NUMBER_MAX = 64  # "LLTP-2026-00000123" with room for a provincial prefix
# An authenticator code: six digits; spaces around it (pasted) do not matter.
TOTP_CODE_RE = re.compile(r"\s*\d{6}\s*")


def validate_in_range(value: int, low: int, high: int) -> list[str]:
    """A count (copies, a page size): ``out_of_range`` outside ``low..high``."""
    return [] if low <= value <= high else ["out_of_range"]


def validate_totp_code(value: Any) -> list[str]:
    """``totp_format`` unless six digits (whether they are the right ones is the login's question)."""
    return [] if isinstance(value, str) and TOTP_CODE_RE.fullmatch(value) else ["totp_format"]


# --- free text -----------------------------------------------------------------------------------


def validate_text(value: Any, max_length: int, *, required: bool = True) -> list[str]:
    """A free-text field (purpose, address): NFC and stripped, no control characters nor mark
    floods, not empty when required, at most ``max_length`` characters."""
    if value is None:
        return ["required"] if required else []
    if not isinstance(value, str):
        return ["invalid_type"]
    if is_far_too_long(value, max_length):
        return ["too_long"]
    if has_control_characters(value) or has_mark_flood(value):
        return ["invalid_characters"]
    text = normalize_text(value)
    if not text:
        return ["required"] if required else []
    if len(text) > max_length:
        return ["too_long"]
    return []


# --- dates and months ------------------------------------------------------------------------------

_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MIN_YEAR = 1900


def parse_month(value: Any) -> int | None:
    """ "YYYY-MM" (year >= 1900) as ``rules.month_index``, None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _MONTH_RE.fullmatch(value)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if year < MIN_YEAR or not 1 <= month <= 12:
        return None
    return rules.month_index(year, month)


def parse_date(value: Any) -> date | None:
    """A ``date`` or a "YYYY-MM-DD" string as a date, None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


# --- residence history ---------------------------------------------------------------------------

PERIOD_FIELDS = ("from", "to", "address", "province_code")
RH = "residence_history"


def _add(errors: Errors, key: str, code: str) -> None:
    codes = errors.setdefault(key, [])
    if code not in codes:
        codes.append(code)


def validate_residence_history(periods: Any, birth_date: date | None, today: date) -> Errors:
    """Errors of a residence history, keyed ``residence_history`` (the whole list) or
    ``residence_history.<i>.<field>``.

    Per period: ``from`` "YYYY-MM" required; ``to`` "YYYY-MM" or null (open); from <= to; neither in
    the future (``future_month``) nor before the birth month (``before_birth``); address required,
    at most ADDRESS_MAX characters; ``province_code`` a known code or ABROAD_CODE.
    Whole list (checked once every period's months are valid), in the order of the months, whatever
    the order of the input: ``multiple_open_periods``, ``open_period_not_last``, ``overlap``,
    ``gap_between_periods``, ``last_period_not_current`` (the latest period must be open or end this
    month), ``gap_before_age_14`` (the history starts no later than the month the person turned 14;
    for a child under 14 any start up to this month will do).
    A move within a month is normal: a period may start in the month the previous one ends, and that
    is neither an overlap nor a gap; a period starting the month after the previous ends is
    contiguous too.
    """
    errors: Errors = {}
    today = rules.vietnam_date(today)
    if periods is None:
        return {RH: ["required"]}
    if not isinstance(periods, list):
        return {RH: ["invalid_type"]}
    if not periods:
        return {RH: ["required"]}
    if len(periods) > rules.RESIDENCE_PERIODS_MAX:
        return {RH: ["too_many_periods"]}

    current = rules.month_of(today)
    birth_month = rules.month_of(birth_date) if isinstance(birth_date, date) else None
    spans: list[tuple[int, int | None]] = []
    months_ok = True
    for i, period in enumerate(periods):
        prefix = f"{RH}.{i}"
        if not isinstance(period, Mapping):
            _add(errors, prefix, "invalid_type")
            months_ok = False
            continue
        for key in period:
            if key not in PERIOD_FIELDS:
                _add(errors, f"{prefix}.{key}", "unknown_field")
        span = _period_months(errors, prefix, period, current, birth_month)
        if span is None:
            months_ok = False
        else:
            spans.append(span)
        _period_place(errors, prefix, period)

    if months_ok:
        for code in _history_shape(spans, current, birth_date):
            _add(errors, RH, code)
    return errors


def _period_months(
    errors: Errors, prefix: str, period: Mapping[str, Any], current: int, birth_month: int | None
) -> tuple[int, int | None] | None:
    """Check one period's months; its (start, end) span when both are usable (end None: open)."""
    start_raw = period.get("from")
    start = parse_month(start_raw)
    if start is None:
        _add(errors, f"{prefix}.from", "required" if start_raw in (None, "") else "month_format")
    end_raw = period.get("to")
    end = None if end_raw is None else parse_month(end_raw)
    if end_raw is not None and end is None:
        _add(errors, f"{prefix}.to", "month_format")

    if start is not None:
        if start > current:
            _add(errors, f"{prefix}.from", "future_month")
        if birth_month is not None and start < birth_month:
            _add(errors, f"{prefix}.from", "before_birth")
    if end is not None:
        if end > current:
            _add(errors, f"{prefix}.to", "future_month")
        if start is not None and start > end:
            _add(errors, f"{prefix}.to", "from_after_to")

    if start is None or (end_raw is not None and end is None) or (end is not None and start > end):
        return None
    return start, end


def _period_place(errors: Errors, prefix: str, period: Mapping[str, Any]) -> None:
    for code in validate_text(period.get("address"), rules.ADDRESS_MAX):
        _add(errors, f"{prefix}.address", code)
    province = period.get("province_code")
    if province is None or province == "":
        _add(errors, f"{prefix}.province_code", "required")
    elif not isinstance(province, str):
        _add(errors, f"{prefix}.province_code", "invalid_type")
    elif province not in rules.RESIDENCE_CODES:
        _add(errors, f"{prefix}.province_code", "unknown_province")


def _history_shape(spans: list[tuple[int, int | None]], current: int, birth_date: date | None) -> list[str]:
    codes: list[str] = []
    # Open periods run to this month; sort by start, a closed period before an open one.
    ordered = sorted(spans, key=lambda s: (s[0], current + 1 if s[1] is None else s[1]))
    open_count = sum(1 for _, end in ordered if end is None)
    if open_count > 1:
        codes.append("multiple_open_periods")
    elif open_count == 1 and ordered[-1][1] is not None:
        codes.append("open_period_not_last")
    if not codes:
        latest_end = None
        for start, end in ordered:
            end_month = current if end is None else end
            if latest_end is not None:
                if start < latest_end:
                    if "overlap" not in codes:
                        codes.append("overlap")
                elif start > latest_end + 1:
                    if "gap_between_periods" not in codes:
                        codes.append("gap_between_periods")
            latest_end = end_month if latest_end is None else max(latest_end, end_month)
        if latest_end is not None and latest_end < current:
            codes.append("last_period_not_current")
    if isinstance(birth_date, date) and ordered:
        required_start = min(rules.month_turned(birth_date, rules.RESIDENCE_FROM_AGE), current)
        if ordered[0][0] > required_start:
            codes.append("gap_before_age_14")
    return codes


def current_period(periods: Any) -> Mapping[str, Any] | None:
    """The period the person lives in now: the open one, else the one ending last (the input may
    be in any order, so "the last element" is not it). None for an empty or unusable history."""
    best: tuple[int, int] | None = None
    chosen = None
    for period in periods if isinstance(periods, list) else ():
        if not isinstance(period, Mapping):
            continue
        start = parse_month(period.get("from"))
        end = parse_month(period.get("to")) if period.get("to") is not None else 10**9
        if start is None or end is None:
            continue
        if best is None or (end, start) >= best:
            best, chosen = (end, start), period
    return chosen


# --- the whole request ---------------------------------------------------------------------------

REQUEST_FIELDS = frozenset(
    {
        "form_type",
        "purpose",
        "copies",
        "include_ban_section",
        "phone",
        "email",
        "residence_history",
        "father_name",
        "mother_name",
        "spouse_name",
        "fee_reduction",
        "place_of_birth",
    }
)
FORM_2_NAME_FIELDS = ("father_name", "mother_name", "spouse_name")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_identity(identity: Any, today: date) -> tuple[Errors, date | None]:
    """Check the identity-token claims used by a request: ``identity.personal_id``,
    ``identity.birthdate``, ``identity.gender``, ``identity.name``. Returns the errors and the
    parsed birth date (None when unusable). An error here is not the citizen's to fix in the form:
    their identity data is inconsistent."""
    errors: Errors = {}
    today = rules.vietnam_date(today)
    if not isinstance(identity, Mapping):
        return {"identity": ["invalid_type"]}, None
    birth_raw = identity.get("birthdate")
    birth_date = parse_date(birth_raw)
    if birth_date is None:
        _add(errors, "identity.birthdate", "required" if birth_raw in (None, "") else "date_format")
    elif birth_date > today:
        _add(errors, "identity.birthdate", "future_date")
        birth_date = None
    gender = identity.get("gender")
    if gender not in ("male", "female"):
        _add(errors, "identity.gender", "required" if gender in (None, "") else "invalid_choice")
    # The name is printed on the certificate and signed into its QR token: the same rule as every
    # other name (DESIGN §5), so markup or a mark flood in a token can never reach a signature.
    for code in validate_name(identity.get("name")):
        _add(errors, "identity.name", code)
    pid = identity.get("sub", identity.get("personal_id"))
    for code in validate_personal_id(pid, birth_date, gender):
        _add(errors, "identity.personal_id", code)
    return errors, birth_date


def validate_request(
    payload: Any,
    identity: Any,
    today: date,
    *,
    extra_fields: frozenset[str] = frozenset(),
) -> Errors:
    """Every error of a ``POST /api/v1/requests`` body (DESIGN §11) and of the identity claims it
    relies on, as ``{field path: [codes]}``; an empty dict means the request is valid.

    ``identity`` holds the token's claims (``sub``, ``name``, ``birthdate``, ``gender``).
    ``today`` is a date, or better the submission datetime: "this month" and "the future" are
    Vietnam's (a datetime is converted to its date in Vietnam; naive = UTC).
    ``extra_fields`` names body fields the caller handles itself (anything else unknown is
    ``unknown_field``). Never raises.
    """
    if not isinstance(payload, Mapping):
        return {"_schema": ["invalid_type"]}
    today = rules.vietnam_date(today)
    errors, birth_date = validate_identity(identity, today)

    for key in payload:
        if key not in REQUEST_FIELDS and key not in extra_fields:
            _add(errors, str(key), "unknown_field")

    _check_form(errors, payload)
    for code in validate_text(payload.get("purpose"), rules.PURPOSE_MAX):
        _add(errors, "purpose", code)
    _check_contacts(errors, payload)
    _check_family_names(errors, payload)
    for key, codes in validate_residence_history(payload.get("residence_history"), birth_date, today).items():
        for code in codes:
            _add(errors, key, code)
    return errors


def _check_form(errors: Errors, payload: Mapping[str, Any]) -> None:
    """The form, the number of copies, the ban section and the fee reduction."""
    form_type = payload.get("form_type")
    if form_type is None:
        _add(errors, "form_type", "required")
    elif not _is_int(form_type):
        _add(errors, "form_type", "invalid_type")
    elif form_type not in rules.FORM_TYPES:
        _add(errors, "form_type", "invalid_choice")

    if "copies" in payload:
        copies = payload["copies"]
        if not _is_int(copies):
            _add(errors, "copies", "invalid_type")
        else:
            for code in validate_in_range(copies, rules.MIN_COPIES, rules.MAX_COPIES):
                _add(errors, "copies", code)

    # Only meaningful on Form 1; Form 2 always has the ban section, so any boolean is accepted.
    if "include_ban_section" in payload and not isinstance(payload["include_ban_section"], bool):
        _add(errors, "include_ban_section", "invalid_type")

    if "fee_reduction" in payload and payload["fee_reduction"] is not None:
        reduction = payload["fee_reduction"]
        if not isinstance(reduction, str) or reduction not in rules.FEE_REDUCTIONS:
            _add(errors, "fee_reduction", "invalid_choice")


def _check_contacts(errors: Errors, payload: Mapping[str, Any]) -> None:
    for code in validate_phone(payload.get("phone")):
        _add(errors, "phone", code)
    if payload.get("email") not in (None, ""):
        for code in validate_email(payload["email"]):
            _add(errors, "email", code)
    if payload.get("place_of_birth") is not None:
        for code in validate_text(payload["place_of_birth"], rules.PLACE_OF_BIRTH_MAX, required=False):
            _add(errors, "place_of_birth", code)


def _check_family_names(errors: Errors, payload: Mapping[str, Any]) -> None:
    """Form 2's parents and spouse: required there; ignored on Form 1, but what is sent is checked."""
    for key in FORM_2_NAME_FIELDS:
        value = payload.get(key)
        if payload.get("form_type") != rules.FORM_2 and value is None:
            continue
        codes = validate_spouse_name(value) if key == "spouse_name" else validate_name(value)
        for code in codes:
            _add(errors, key, code)


def clean_request(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a VALID request body (call after ``validate_request`` answered {}):
    defaults filled (copies 1, include_ban_section false), text NFC and stripped, names normalised,
    "no spouse" tokens as NO_SPOUSE, Form 2's ban section forced on, Form 1's family names dropped,
    an empty email as None."""
    form_type = payload["form_type"]
    is_form_2 = form_type == rules.FORM_2
    email = payload.get("email") or None
    place_of_birth = payload.get("place_of_birth")
    return {
        "form_type": form_type,
        "purpose": normalize_text(payload["purpose"]),
        "copies": payload.get("copies", 1),
        "include_ban_section": True if is_form_2 else bool(payload.get("include_ban_section", False)),
        "fee_reduction": payload.get("fee_reduction"),
        "phone": payload["phone"],
        "email": email,
        "place_of_birth": normalize_text(place_of_birth) or None if isinstance(place_of_birth, str) else None,
        "father_name": normalize_name(payload["father_name"]) if is_form_2 else None,
        "mother_name": normalize_name(payload["mother_name"]) if is_form_2 else None,
        "spouse_name": normalize_spouse_name(payload["spouse_name"]) if is_form_2 else None,
        "residence_history": [
            {
                "from": period["from"],
                "to": period.get("to"),
                "address": normalize_text(period["address"]),
                "province_code": period["province_code"],
            }
            for period in payload["residence_history"]
        ],
    }
