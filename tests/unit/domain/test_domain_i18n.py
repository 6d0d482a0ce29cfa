"""ecert.domain.i18n: messages for every code, and language negotiation."""
from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from ecert.domain import rules
from ecert.domain.content import REVIEW_REASONS
from ecert.domain.i18n import (
    MESSAGES,
    choose_language,
    has_message,
    localize_errors,
    message,
    negotiate_language,
)

VALIDATION_CODES = {
    "required", "unknown_field", "invalid_type", "invalid_choice", "out_of_range", "too_long",
    "invalid_json", "invalid_characters", "invalid_format", "date_format",
    "future_date", "pid_format", "pid_place_code", "pid_century_mismatch", "pid_gender_mismatch",
    "pid_birth_year_mismatch", "phone_format", "email_format", "month_format", "future_month",
    "from_after_to", "before_birth", "unknown_province", "too_many_periods", "overlap",
    "gap_between_periods", "gap_before_age_14", "open_period_not_last", "multiple_open_periods",
    "last_period_not_current",
}


@pytest.mark.parametrize("code", sorted(VALIDATION_CODES | set(REVIEW_REASONS)))
def test_every_code_has_both_languages(code):
    assert code in MESSAGES
    assert MESSAGES[code]["vi"] and MESSAGES[code]["en"]
    assert MESSAGES[code]["vi"] != MESSAGES[code]["en"]


def test_vietnamese_texts_have_diacritics():
    assert "bắt buộc" in message("required", "vi")
    assert message("pid_format", "vi") == "Số định danh cá nhân phải gồm đúng 12 chữ số."


def test_legal_code_lists_are_in_messages():
    for code in rules.REFUSAL_REASONS:
        assert message(f"refusal.{code}", "vi") == rules.REFUSAL_REASONS[code]["vi"]
    for code in rules.REVOCATION_REASONS:
        assert message(f"revocation.{code}", "en") == rules.REVOCATION_REASONS[code]["en"]
    for status in rules.REQUEST_STATUSES:
        assert has_message(f"status.{status}")
        assert message(f"status.{status}", "en") == rules.STATUS_LABELS[status]["en"]
    assert message("record_statement.0", "vi") == "Không có án tích"
    assert message("record_statement.1", "vi") == "Có án tích"


def test_unknown_code_and_language():
    assert message("no_such_code", "en") == "Invalid value."
    assert message("no_such_code", "vi") == "Giá trị không hợp lệ."
    assert message("required", "fr") == message("required", "vi")
    assert message(None, "en") == "Invalid value."  # type: ignore[arg-type]


def test_localize_errors():
    assert localize_errors({"phone": ["required"], "x": ["nope"]}, "en") == {
        "phone": ["This field is required."], "x": ["Invalid value."],
    }


@pytest.mark.parametrize(
    "header,query,lang",
    [
        (None, None, "vi"),
        ("", None, "vi"),
        ("en", None, "en"),
        ("en-US", None, "en"),
        ("EN-us", None, "en"),
        ("en_GB", None, "en"),
        ("vi-VN,vi;q=0.9,en;q=0.8", None, "vi"),
        ("en-US,en;q=0.9,vi;q=0.8", None, "en"),
        ("vi;q=0.4, en;q=0.6", None, "en"),
        ("vi;q=0.5, en;q=0.5", None, "vi"),  # tie: first listed
        ("en;q=0.5, vi;q=0.5", None, "en"),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", None, "en"),
        ("fr, de", None, "vi"),
        ("*", None, "vi"),
        ("vi;q=0, *", None, "en"),  # anything but Vietnamese
        ("en;q=0", None, "vi"),
        ("en;q=0.000", None, "vi"),
        ("en;q=1.5, vi;q=0.1", None, "vi"),  # malformed q: entry ignored
        ("en;q=abc", None, "vi"),
        ("en;q=1.000", None, "en"),
        (";;;,,,", None, "vi"),
        ("en;level=1;q=0.7, vi;q=0.3", None, "en"),
        ("vi", "en", "en"),
        ("en", "vi", "vi"),
        ("en", "en-US", "en"),
        ("en", "fr", "en"),  # unsupported query: header decides
        (None, "", "vi"),
        (None, "  ", "vi"),
    ],
)
def test_negotiate_language(header, query, lang):
    assert negotiate_language(header, query) == lang


def test_negotiate_language_never_raises_on_junk():
    for junk in ["\x00", "q=1", "en;q", "en;q=", "-", "é", "en" * 10000, ";q=1,en"]:
        assert negotiate_language(junk, None) in ("vi", "en")
    assert negotiate_language(123, 456) == "vi"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header, expected",
    [("en-US,en;q=0.9", "en"), ("vi;q=0.5, en;q=0.5", "vi"), ("en;q=0.5, vi;q=0.5", "en"), (None, "vi")],
)
def test_choose_language_reads_werkzeugs_parsed_header(header, expected):
    environ = EnvironBuilder(headers={"Accept-Language": header} if header else {}).get_environ()
    assert choose_language(Request(environ).accept_languages) == expected
    assert choose_language(Request(environ).accept_languages, "en-GB") == "en"
