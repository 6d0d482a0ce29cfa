"""ecert.domain.validation: names, personal ID, contacts, residence history, the whole request."""
from __future__ import annotations

import unicodedata
from datetime import UTC, date

import pytest

from ecert.domain import rules
from ecert.domain.validation import (
    NO_SPOUSE,
    ascii_fold,
    clean_request,
    is_no_spouse,
    normalize_name,
    normalize_spouse_name,
    validate_email,
    validate_in_range,
    validate_name,
    validate_personal_id,
    validate_phone,
    validate_request,
    validate_residence_history,
    validate_text,
    validate_totp_code,
)

# --- Vietnamese letters --------------------------------------------------------------------------

_BASES = ["a", "a\u0306", "a\u0302", "e", "e\u0302", "i", "o", "o\u0302", "o\u031b", "u", "u\u031b", "y"]
_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
VIETNAMESE_LETTERS = sorted(
    {unicodedata.normalize("NFC", base + tone) for base in _BASES for tone in _TONES}
    | {unicodedata.normalize("NFC", base + tone).upper() for base in _BASES for tone in _TONES}
    | {"đ", "Đ"}
)


def test_every_vietnamese_letter_is_one_code_point():
    assert len(VIETNAMESE_LETTERS) == 12 * 6 * 2 + 2
    assert all(len(letter) == 1 for letter in VIETNAMESE_LETTERS)


@pytest.mark.parametrize("letter", VIETNAMESE_LETTERS)
def test_names_accept_every_vietnamese_letter(letter):
    assert validate_name(f"Nguyễn {letter}n") == []
    assert validate_name(letter) == []


def test_names_accept_decomposed_input():
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
    assert nfd != "Nguyễn Thị Ánh Tuyết"
    assert validate_name(nfd) == []
    assert normalize_name(nfd) == unicodedata.normalize("NFC", "Nguyễn Thị Ánh Tuyết")


@pytest.mark.parametrize(
    "name",
    [
        "Nguyễn Văn An",
        "Đặng Thị Ngọc Hà",
        "H'Hen Niê",
        "H’Hen Niê",  # typographic apostrophe
        "Ksor H' Mai",
        "Lê-Nguyễn Minh",
        "Y-Ngông Niê Kdăm",
        "  Trần   Hưng  Đạo ",
        "O'Brien",
        "A",
        "a" * 100,
        "Müller Zoë François",
    ],
)
def test_valid_names(name):
    assert validate_name(name) == []


@pytest.mark.parametrize(
    "name,code",
    [
        (None, "required"),
        ("", "required"),
        ("   ", "required"),
        (123, "invalid_type"),
        (["An"], "invalid_type"),
        ("Nguyễn Văn 2", "invalid_characters"),
        ("Nguyễn Văn An 😀", "invalid_characters"),
        ("Nguyễn\tVăn", "invalid_characters"),
        ("Nguyễn\nVăn", "invalid_characters"),
        ("Nguyễn\x00Văn", "invalid_characters"),
        ("Nguyễn\u200bVăn", "invalid_characters"),  # zero-width space
        ("Nguyễn\u202eVăn", "invalid_characters"),  # bidi override
        ("Nguyễn Văn An.", "invalid_characters"),
        ("Nguyễn, Văn", "invalid_characters"),
        ("Иван Петров", "invalid_characters"),
        ("王小明", "invalid_characters"),
        ("Nguyễn_Văn", "invalid_characters"),
        ("-An", "invalid_format"),
        ("'An", "invalid_format"),
        ("An-", "invalid_format"),
        ("An--Bình", "invalid_format"),
        ("An - Bình", "invalid_format"),
        ("An ''Bình", "invalid_format"),
        ("An 'Bình", "invalid_format"),
        ("a" * 101, "too_long"),
    ],
)
def test_invalid_names(name, code):
    assert code in validate_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "<b>An</b>",
        "<script>alert(1)</script>",
        "An &amp; Bình",
        "N\u0301\u0302\u0303\u0304guyễn",  # NFC makes Ń, three marks stay: no letter needs that
        "Z" + "\u0336" * 40 + "algo",  # zalgo
        "A" + "\u0489" * 3,  # enclosing marks count too
        "\uff2e\uff47\uff55\uff59\u1ec5\uff4e",  # full-width Latin letters
        "Nguy\uff45n",  # one full-width letter among normal ones
        "An\uff0dBình",  # full-width hyphen
        "An\uff07Bình",  # full-width apostrophe
        "\uff61An",  # half-width forms live in the same block
        "Nguy\u1d49n",  # modifier (superscript) letter: a compatibility form
        "\ufb01ona",  # the "fi" ligature
    ],
)
def test_markup_mark_floods_and_compatibility_forms_are_refused(name):
    assert validate_name(name) == ["invalid_characters"]


def test_two_marks_on_one_base_are_allowed():
    # No precomposed form exists for this pair, so NFC keeps both marks: still a plausible letter.
    assert validate_name("Ba\u0323\u0308n") == []


def test_combining_mark_without_a_letter_is_rejected():
    assert validate_name("An \u0301") == ["invalid_characters"]


def test_name_length_counts_after_normalisation():
    assert validate_name(" " + "a" * 100 + "   ") == []
    assert validate_name(unicodedata.normalize("NFD", "ễ" * 100)) == []


# --- ascii folding and normalisation -------------------------------------------------------------


@pytest.mark.parametrize(
    "text,folded",
    [
        ("Nguyễn Văn Đức", "Nguyen Van Duc"),
        ("ĐẶNG THỊ NGỌC HÀ", "DANG THI NGOC HA"),
        ("Trương Ưng Ơn", "Truong Ung On"),
        ("H’Hen Niê", "H'Hen Nie"),
        ("Phạm Quỳnh Anh", "Pham Quynh Anh"),
        ("Ðinh", "Dinh"),  # Icelandic eth, looks like Đ
        ("Søren Łukasz Straße", "Soren Lukasz Strasse"),
        ("plain ascii", "plain ascii"),
        ("王", ""),
    ],
)
def test_ascii_fold(text, folded):
    assert ascii_fold(text) == folded


def test_ascii_fold_every_vietnamese_letter():
    for letter in VIETNAMESE_LETTERS:
        folded = ascii_fold(letter)
        assert len(folded) == 1 and folded.isascii() and folded.isalpha(), letter


def test_normalize_name():
    assert normalize_name("  Nguyễn \u00a0 Văn\u3000An  ") == "Nguyễn Văn An"
    assert normalize_name("H’Hen") == "H'Hen"
    assert normalize_name(unicodedata.normalize("NFD", "Đức")) == "Đức"


# --- personal ID ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pid,birth,gender",
    [
        ("001090012345", date(1990, 5, 17), "male"),
        ("079190012345", date(1990, 1, 1), "female"),
        ("048205012345", date(2005, 12, 31), "male"),
        ("096305012345", date(2005, 6, 1), "female"),
        ("001400012345", date(2100, 1, 1), "male"),
        ("001599012345", date(2199, 1, 1), "female"),
        ("840095012345", date(1995, 1, 1), "male"),  # birth registered abroad
        ("001000000000", date(1900, 1, 1), "male"),
        ("001099999999", date(1999, 12, 31), "male"),
    ],
)
def test_valid_personal_ids(pid, birth, gender):
    assert validate_personal_id(pid, birth, gender) == []


@pytest.mark.parametrize(
    "pid",
    ["", "00109001234", "0010900123456", "00109001234a", " 001090012345", "001090012345 ",
     "001-90012345", "٠٠١٠٩٠٠١٢٣٤٥", None, 1090012345, ["001090012345"]],
)
def test_personal_id_format(pid):
    assert validate_personal_id(pid, date(1990, 5, 17), "male") == ["pid_format"]


@pytest.mark.parametrize("place", ["000", "003", "097", "099"])
def test_personal_id_place_code(place):
    assert validate_personal_id(place + "090012345", date(1990, 5, 17), "male") == ["pid_place_code"]


@pytest.mark.parametrize(
    "pid,birth,gender",
    [
        ("001290012345", date(1990, 5, 17), "male"),  # 20xx digit, born 1990
        ("001001012345", date(2001, 5, 17), "male"),  # 19xx digit, born 2001
        ("001501012345", date(2001, 5, 17), "male"),  # female 21xx digit: century and gender wrong
        ("001801012345", date(2001, 5, 17), "female"),
        ("001089012345", date(1889, 5, 17), "male"),  # not encodable
    ],
)
def test_personal_id_century(pid, birth, gender):
    assert "pid_century_mismatch" in validate_personal_id(pid, birth, gender)


@pytest.mark.parametrize(
    "pid,birth,gender",
    [
        ("001190012345", date(1990, 5, 17), "male"),
        ("001090012345", date(1990, 5, 17), "female"),
        ("001305012345", date(2005, 5, 17), "male"),
        ("001205012345", date(2005, 5, 17), "female"),
    ],
)
def test_personal_id_gender(pid, birth, gender):
    assert validate_personal_id(pid, birth, gender) == ["pid_gender_mismatch"]


@pytest.mark.parametrize(
    "pid,birth,gender",
    [
        ("001091012345", date(1990, 5, 17), "male"),
        ("001209012345", date(2005, 5, 17), "male"),
        ("001390012345", date(2009, 5, 17), "female"),
    ],
)
def test_personal_id_birth_year(pid, birth, gender):
    assert validate_personal_id(pid, birth, gender) == ["pid_birth_year_mismatch"]


def test_personal_id_reports_every_mismatch():
    assert validate_personal_id("000391012345", date(1990, 5, 17), "male") == [
        "pid_place_code", "pid_century_mismatch", "pid_gender_mismatch", "pid_birth_year_mismatch",
    ]


def test_personal_id_without_birth_date_or_gender_checks_what_it_can():
    assert validate_personal_id("001190012345", None, None) == []
    assert validate_personal_id("001190012345", None, "male") == ["pid_gender_mismatch"]


# --- contacts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    ["0912345678", "0312345678", "0512345678", "0712345678", "0812345678", "0987654321",
     "+84912345678", "+84312345678"],
)
def test_valid_phones(phone):
    assert validate_phone(phone) == []


@pytest.mark.parametrize(
    "phone",
    ["0212345678", "0412345678", "0612345678", "0112345678", "0012345678",
     "091234567", "09123456789", "+8491234567", "84912345678", "+840912345678",
     "0912 345 678", "091-234-5678", " 0912345678", "0912345678\n", "+85912345678", "０９１２３４５６７８",
     "091234567a"],
)
def test_invalid_phones(phone):
    assert validate_phone(phone) == ["phone_format"]


def test_phone_required_and_type():
    assert validate_phone(None) == ["required"]
    assert validate_phone("") == ["required"]
    assert validate_phone(912345678) == ["invalid_type"]


@pytest.mark.parametrize(
    "email",
    ["an@example.vn", "nguyen.van.an+lltp@mail.gov.vn", "a_b-c@sub-domain.example.com", "x@y.io"],
)
def test_valid_emails(email):
    assert validate_email(email) == []


@pytest.mark.parametrize(
    "email",
    ["an", "an@", "@example.vn", "an@example", "an@@example.vn", "an @example.vn", "an@example..vn",
     ".an@example.vn", "an.@example.vn", "an..b@example.vn", "an@-example.vn", "an@example.v",
     "an@example.123", "nguyễn@example.vn", "an@exämple.vn", "a" * 65 + "@example.vn", "an@example.vn\n"],
)
def test_invalid_emails(email):
    assert validate_email(email) == ["email_format"]


def test_email_too_long_and_types():
    assert validate_email("a" * 60 + "@" + "b" * 190 + ".com") == ["too_long"]
    assert validate_email(None) == ["required"]
    assert validate_email(5) == ["invalid_type"]


# --- residence history -----------------------------------------------------------------------------

BIRTH = date(1990, 5, 17)  # turned 14 in May 2004
TODAY = date(2026, 11, 23)


def period(start, end=None, province="01", address="12 Hàng Bài, Hoàn Kiếm, Hà Nội"):
    return {"from": start, "to": end, "address": address, "province_code": province}


def rh(periods, birth=BIRTH, today=TODAY):
    return validate_residence_history(periods, birth, today)


def test_single_open_period_from_age_14():
    assert rh([period("2004-05")]) == {}


def test_history_in_any_order_with_moves_within_a_month():
    history = [
        period("2015-06", None, "79"),
        period("2004-05", "2010-05", "01"),
        period("2010-05", "2015-06", "48"),  # same-month boundaries are moves, not overlaps
    ]
    assert rh(history) == {}


def test_contiguous_months_are_not_a_gap():
    assert rh([period("2004-05", "2010-04"), period("2010-05")]) == {}


def test_last_period_may_end_this_month():
    assert rh([period("2004-05", "2026-11")]) == {}


def test_overlap():
    assert rh([period("2004-05", "2012-01"), period("2011-06")]) == {"residence_history": ["overlap"]}


def test_contained_period_overlaps():
    errors = rh([period("2004-05", "2020-01"), period("2006-01", "2007-01"), period("2020-01")])
    assert errors == {"residence_history": ["overlap"]}


def test_gap_between_periods():
    assert rh([period("2004-05", "2010-04"), period("2010-06")]) == {"residence_history": ["gap_between_periods"]}


def test_from_after_to():
    errors = rh([period("2004-05", "2010-05"), period("2012-01", "2011-01"), period("2010-05")])
    assert errors == {"residence_history.1.to": ["from_after_to"]}


@pytest.mark.parametrize("field,value", [("from", "2026-12"), ("to", "2027-01")])
def test_future_months(field, value):
    p = period("2004-05")
    p[field] = value
    assert "future_month" in rh([p]).get(f"residence_history.0.{field}", [])


def test_gap_before_age_14():
    assert rh([period("2004-06")]) == {"residence_history": ["gap_before_age_14"]}
    # Starting earlier than 14 is fine.
    assert rh([period("1995-01")]) == {}


def test_child_under_14_one_period_from_birth():
    child = date(2015, 3, 10)
    assert rh([period("2015-03")], birth=child) == {}
    # A child's history need not go back to birth either: it only has to be current.
    assert rh([period("2020-01")], birth=child) == {}


def test_period_before_birth():
    assert rh([period("1990-04")]) == {"residence_history.0.from": ["before_birth"]}


def test_open_period_not_last():
    errors = rh([period("2004-05", None), period("2010-01", "2026-11")])
    assert errors == {"residence_history": ["open_period_not_last"]}


def test_two_open_periods():
    errors = rh([period("2004-05", None), period("2010-01", None)])
    assert errors == {"residence_history": ["multiple_open_periods"]}


def test_last_period_not_current():
    errors = rh([period("2004-05", "2026-10")])
    assert errors == {"residence_history": ["last_period_not_current"]}


def test_unknown_province_and_abroad():
    assert rh([period("2004-05", province="03")]) == {"residence_history.0.province_code": ["unknown_province"]}
    assert rh([period("2004-05", province="1")]) == {"residence_history.0.province_code": ["unknown_province"]}
    assert rh([period("2004-05", province=1)]) == {"residence_history.0.province_code": ["invalid_type"]}
    assert rh([period("2004-05", province=None)]) == {"residence_history.0.province_code": ["required"]}
    assert rh([period("2004-05", "2010-01", province="00"), period("2010-01", province="01")]) == {}


def test_address_rules():
    assert rh([period("2004-05", address="")]) == {"residence_history.0.address": ["required"]}
    assert rh([period("2004-05", address="   ")]) == {"residence_history.0.address": ["required"]}
    assert rh([period("2004-05", address=None)]) == {"residence_history.0.address": ["required"]}
    assert rh([period("2004-05", address="a" * rules.ADDRESS_MAX)]) == {}
    assert rh([period("2004-05", address="a" * (rules.ADDRESS_MAX + 1))]) == {
        "residence_history.0.address": ["too_long"]
    }
    assert rh([period("2004-05", address="12 Hàng\x07 Bài")]) == {"residence_history.0.address": ["invalid_characters"]}
    assert rh([period("2004-05", address=12)]) == {"residence_history.0.address": ["invalid_type"]}


@pytest.mark.parametrize(
    "value", ["2004-5", "2004/05", "05-2004", "2004-13", "2004-00", "1899-12", "2004-05-01", 200405, ""]
)
def test_month_format(value):
    errors = rh([period(value)])
    assert errors.get("residence_history.0.from") in (["month_format"], ["required"])
    assert "residence_history" not in errors  # whole-list checks wait for valid months


def test_whole_list_errors():
    assert rh(None) == {"residence_history": ["required"]}
    assert rh([]) == {"residence_history": ["required"]}
    assert rh("2004-05") == {"residence_history": ["invalid_type"]}
    assert rh({"from": "2004-05"}) == {"residence_history": ["invalid_type"]}
    assert rh([period("2004-05")] * (rules.RESIDENCE_PERIODS_MAX + 1)) == {"residence_history": ["too_many_periods"]}


def test_period_shape_errors():
    errors = rh([period("2004-05", "2010-01"), "x", None])
    assert errors == {"residence_history.1": ["invalid_type"], "residence_history.2": ["invalid_type"]}
    p = period("2004-05")
    p["city"] = "Hà Nội"
    assert rh([p]) == {"residence_history.0.city": ["unknown_field"]}
    missing_to = {"from": "2004-05", "address": "x", "province_code": "01"}
    assert rh([missing_to]) == {}  # no "to" means open


# --- the whole request ---------------------------------------------------------------------------


def test_valid_form_1(form1, identity, today):
    assert validate_request(form1, identity, today) == {}


def test_valid_form_2(form2, identity, today):
    assert validate_request(form2, identity, today) == {}


def test_defaults_are_optional(form1, identity, today):
    for key in ("copies", "include_ban_section", "email"):
        del form1[key]
    assert validate_request(form1, identity, today) == {}


@pytest.mark.parametrize(
    "field,value,code",
    [
        ("form_type", None, "required"),
        ("form_type", 3, "invalid_choice"),
        ("form_type", 0, "invalid_choice"),
        ("form_type", "1", "invalid_type"),
        ("form_type", True, "invalid_type"),
        ("purpose", None, "required"),
        ("purpose", "   ", "required"),
        ("purpose", "x" * 501, "too_long"),
        ("purpose", "Xin việc\x00", "invalid_characters"),
        ("purpose", "Xin việc\nở Hà Nội", "invalid_characters"),
        ("purpose", 42, "invalid_type"),
        ("copies", 0, "out_of_range"),
        ("copies", 11, "out_of_range"),
        ("copies", None, "invalid_type"),
        ("copies", 2.0, "invalid_type"),
        ("copies", True, "invalid_type"),
        ("include_ban_section", "yes", "invalid_type"),
        ("include_ban_section", None, "invalid_type"),
        ("include_ban_section", 1, "invalid_type"),
        ("phone", None, "required"),
        ("phone", "0212345678", "phone_format"),
        ("email", "not-an-email", "email_format"),
        ("email", 5, "invalid_type"),
        ("fee_reduction", "veteran", "invalid_choice"),
        ("fee_reduction", 1, "invalid_choice"),
        ("place_of_birth", "x" * (rules.PLACE_OF_BIRTH_MAX + 1), "too_long"),
        ("residence_history", None, "required"),
        ("nonsense", 1, "unknown_field"),
    ],
)
def test_request_field_errors(form1, identity, today, field, value, code):
    form1[field] = value
    errors = validate_request(form1, identity, today)
    assert errors == {field: [code]}


def test_purpose_limits(form1, identity, today):
    form1["purpose"] = "  " + "ộ" * 500 + "  "
    assert validate_request(form1, identity, today) == {}


def test_missing_required_fields(identity, today):
    errors = validate_request({}, identity, today)
    assert errors == {
        "form_type": ["required"],
        "purpose": ["required"],
        "phone": ["required"],
        "residence_history": ["required"],
    }


def test_fee_reduction_choices(form1, identity, today):
    for value in ("student", "merit", None):
        form1["fee_reduction"] = value
        assert validate_request(form1, identity, today) == {}


def test_extra_fields_are_allowed_when_declared(form1, identity, today):
    form1["channel"] = "vneid"
    assert validate_request(form1, identity, today) == {"channel": ["unknown_field"]}
    assert validate_request(form1, identity, today, extra_fields=frozenset({"channel"})) == {}


def test_form_2_ban_section_false_is_not_an_error(form2, identity, today):
    form2["include_ban_section"] = False
    assert validate_request(form2, identity, today) == {}


def test_form_2_requires_family_names(form2, identity, today):
    for key in ("father_name", "mother_name", "spouse_name"):
        del form2[key]
    assert validate_request(form2, identity, today) == {
        "father_name": ["required"], "mother_name": ["required"], "spouse_name": ["required"],
    }


def test_form_2_family_names_are_validated(form2, identity, today):
    form2["father_name"] = "Nguyễn Văn 3"
    form2["mother_name"] = ""
    form2["spouse_name"] = "x" * 101
    assert validate_request(form2, identity, today) == {
        "father_name": ["invalid_characters"], "mother_name": ["required"], "spouse_name": ["too_long"],
    }


@pytest.mark.parametrize(
    "token", ["none", "None", "NONE", "không", "Không", "KHÔNG CÓ", "khong", "  chưa   kết hôn ", "Độc thân"]
)
def test_no_spouse_tokens(form2, identity, today, token):
    form2["spouse_name"] = token
    assert validate_request(form2, identity, today) == {}
    assert is_no_spouse(token)
    assert normalize_spouse_name(token) == NO_SPOUSE


def test_spouse_named_khong_is_a_name():
    # "Khổng" is a surname; only the exact tokens mean "no spouse".
    assert not is_no_spouse("Khổng")
    assert normalize_spouse_name("Khổng Minh") == "Khổng Minh"
    # The "none" tokens are only accepted for the spouse.
    assert validate_name("none") == []  # a Latin word: would pass as a name anyway
    assert validate_name("n/a") == ["invalid_characters"]


def test_form_1_ignores_absent_family_names_but_checks_sent_ones(form1, identity, today):
    assert validate_request(form1, identity, today) == {}
    form1["father_name"] = "123"
    assert validate_request(form1, identity, today) == {"father_name": ["invalid_characters"]}


def test_residence_errors_are_nested_in_the_request(form1, identity, today):
    form1["residence_history"][0]["province_code"] = "03"
    form1["residence_history"].append(period("2010-01", None, "79"))
    errors = validate_request(form1, identity, today)
    assert errors == {
        "residence_history.0.province_code": ["unknown_province"],
        "residence_history": ["multiple_open_periods"],
    }


def test_residence_history_uses_the_identity_birth_date(form1, identity, today):
    identity["birthdate"] = "1980-01-01"
    identity["sub"] = "001080012345"
    assert validate_request(form1, identity, today) == {"residence_history": ["gap_before_age_14"]}


@pytest.mark.parametrize(
    "claims,key,code",
    [
        ({"sub": "001190012345"}, "identity.personal_id", "pid_gender_mismatch"),
        ({"sub": "001290012345"}, "identity.personal_id", "pid_century_mismatch"),
        ({"sub": "001091012345"}, "identity.personal_id", "pid_birth_year_mismatch"),
        ({"sub": "000090012345"}, "identity.personal_id", "pid_place_code"),
        ({"sub": "12345"}, "identity.personal_id", "pid_format"),
        ({"sub": None}, "identity.personal_id", "pid_format"),
        ({"gender": "other"}, "identity.gender", "invalid_choice"),
        ({"gender": None}, "identity.gender", "required"),
        ({"name": ""}, "identity.name", "required"),
        ({"name": "x" * 101}, "identity.name", "too_long"),
    ],
)
def test_identity_errors(form1, identity, today, claims, key, code):
    identity.update(claims)
    assert validate_request(form1, identity, today) == {key: [code]}


def test_identity_birthdate_errors(form1, identity, today):
    identity["birthdate"] = "17/05/1990"
    assert validate_request(form1, identity, today) == {"identity.birthdate": ["date_format"]}
    identity["birthdate"] = "2027-01-01"
    assert validate_request(form1, identity, today) == {"identity.birthdate": ["future_date"]}
    identity["birthdate"] = date(1990, 5, 17)
    assert validate_request(form1, identity, today) == {}


@pytest.mark.parametrize(
    "name", ["Nguyễn Văn An Jr.", "<b>Nguyễn Văn An</b>", "Z" + "\u0336" * 10 + "alg", "\uff2e\uff47\uff55"]
)
def test_identity_name_is_held_to_the_name_rules(form1, identity, today, name):
    # The name is printed and signed: one rule for it and for the family names (DESIGN §5).
    identity["name"] = name
    assert validate_request(form1, identity, today) == {"identity.name": ["invalid_characters"]}


@pytest.mark.parametrize("field", ["father_name", "mother_name", "spouse_name"])
@pytest.mark.parametrize("name", ["<i>Bình</i>", "B\u0301\u0301\u0301ình", "\uff22ình"])
def test_family_names_refuse_markup_floods_and_full_width(form2, identity, today, field, name):
    assert validate_request({**form2, field: name}, identity, today) == {field: ["invalid_characters"]}


def test_free_text_refuses_mark_floods(form1, identity, today):
    assert validate_request({**form1, "purpose": "Xin vie\u0302\u0302\u0302\u0302c"}, identity, today) == {
        "purpose": ["invalid_characters"]}
    assert validate_request({**form1, "purpose": unicodedata.normalize("NFD", "Bổ sung hồ sơ")}, identity, today) == {}


def test_not_a_dict(identity, today):
    assert validate_request([1, 2], identity, today) == {"_schema": ["invalid_type"]}
    assert validate_request(FORM_1_COPY(), None, today)["identity"] == ["invalid_type"]


def FORM_1_COPY():
    return {
        "form_type": 1, "purpose": "x", "phone": "0912345678",
        "residence_history": [period("2004-05")],
    }


# --- clean_request -------------------------------------------------------------------------------


def test_clean_request_form_1(form1):
    form1["purpose"] = "  " + unicodedata.normalize("NFD", "Bổ sung hồ sơ") + " "
    form1["father_name"] = "ignored"
    del form1["copies"]
    form1["email"] = ""
    cleaned = clean_request(form1)
    assert cleaned["purpose"] == "Bổ sung hồ sơ"
    assert cleaned["copies"] == 1
    assert cleaned["email"] is None
    assert cleaned["father_name"] is None and cleaned["spouse_name"] is None
    assert cleaned["include_ban_section"] is False
    assert cleaned["residence_history"] == form1["residence_history"]


def test_clean_request_form_2(form2):
    form2["include_ban_section"] = False
    form2["spouse_name"] = "không"
    form2["father_name"] = "  Nguyễn   Văn  Bình "
    cleaned = clean_request(form2)
    assert cleaned["include_ban_section"] is True
    assert cleaned["spouse_name"] == NO_SPOUSE
    assert cleaned["father_name"] == "Nguyễn Văn Bình"


def test_current_period():
    from ecert.domain.validation import current_period

    history = [period("2015-06", None, "79", "current"), period("2004-05", "2015-06", "01", "old")]
    assert current_period(history)["address"] == "current"
    closed = [period("2004-05", "2026-11", "01", "latest"), period("1999-01", "2004-05", "01", "older")]
    assert current_period(closed)["address"] == "latest"
    assert current_period([]) is None
    assert current_period(None) is None
    assert current_period(["x", {"from": "bad"}]) is None


def test_today_as_a_datetime_is_read_in_vietnam_time(form1, identity):
    from datetime import datetime

    # 30 Nov 2026 18:00 UTC is already 1 December in Hanoi: December is "this month".
    form1["residence_history"] = [period("2004-05", "2026-11"), period("2026-12")]
    assert validate_request(form1, identity, datetime(2026, 11, 30, 18, 0, tzinfo=UTC)) == {}
    assert validate_request(form1, identity, datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == {
        "residence_history.1.from": ["future_month"]
    }


def test_counts_totp_codes_and_far_too_long_text():
    assert validate_in_range(1, 1, 10) == [] and validate_in_range(11, 1, 10) == ["out_of_range"]
    assert validate_totp_code(" 123456 ") == [] and validate_totp_code("12345") == ["totp_format"]
    assert validate_totp_code(None) == ["totp_format"]
    # Over four times the limit is too long at once, whatever it holds (no scan of a huge body).
    assert validate_text("\x00" * (4 * rules.PURPOSE_MAX + 1), rules.PURPOSE_MAX) == ["too_long"]
    assert validate_name("1" * (4 * rules.NAME_MAX + 1)) == ["too_long"]
