"""ecert.domain.rules: legal parameters, fee, working days, deadline, provinces, workflow."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from ecert.domain import rules

UTC = timezone.utc
VN = rules.VIETNAM_TZ


# --- parameters ------------------------------------------------------------------------------------


def test_statutory_parameters():
    assert rules.STANDARD_FEE_VND == 200_000
    assert rules.REDUCED_FEE_VND == 100_000
    assert rules.EXTRA_COPY_FEE_VND == 5_000
    assert rules.DEADLINE_WORKING_DAYS == 10
    assert rules.EXTENDED_DEADLINE_WORKING_DAYS == 15
    assert rules.MAX_COPIES == 10
    assert rules.PURPOSE_MAX == 500
    assert rules.NAME_MAX == 100
    assert rules.NOTE_MAX == 2000
    assert 100 <= rules.ADDRESS_MAX <= 500
    assert rules.DEFAULT_AUTHORITY_NAME == "Trung tâm Lý lịch tư pháp quốc gia"
    assert rules.DEFAULT_ISSUER_ID == "VN-NJRC"


def test_refusal_and_revocation_codes_have_both_labels():
    assert set(rules.REFUSAL_REASONS) == {"outside_competence", "not_entitled", "documents_invalid"}
    assert set(rules.REVOCATION_REASONS) == {
        "issued_in_error", "wrong_subject", "fraudulent_request", "superseded", "court_decision", "other",
    }
    for table in (rules.REFUSAL_REASONS, rules.REVOCATION_REASONS, rules.STATUS_LABELS, rules.FEE_REDUCTIONS):
        for labels in table.values():
            assert labels["vi"] and labels["en"]
    assert rules.REVOCATION_NOTE_REQUIRED == {"other"}


# --- workflow --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "current,new",
    [
        ("submitted", "processing"),
        ("submitted", "cancelled"),
        ("processing", "issued"),
        ("processing", "refused"),
        ("processing", "needs_review"),
        ("needs_review", "issued"),
        ("needs_review", "refused"),
        ("needs_review", "cancelled"),
    ],
)
def test_allowed_transitions(current, new):
    assert rules.can_transition(current, new)


@pytest.mark.parametrize(
    "current,new",
    [
        ("submitted", "issued"),
        ("processing", "cancelled"),
        ("needs_review", "processing"),
        ("issued", "refused"),
        ("refused", "issued"),
        ("cancelled", "submitted"),
        ("issued", "issued"),
        ("nonsense", "issued"),
    ],
)
def test_forbidden_transitions(current, new):
    assert not rules.can_transition(current, new)


def test_open_and_final_statuses():
    assert rules.OPEN_STATUSES == {"submitted", "processing", "needs_review"}
    assert rules.FINAL_STATUSES == {"issued", "refused", "cancelled"}
    assert rules.CANCELLABLE_STATUSES == {"submitted", "needs_review"}
    assert set(rules.ALLOWED_TRANSITIONS) == set(rules.REQUEST_STATUSES)
    for final in rules.FINAL_STATUSES:
        assert not rules.ALLOWED_TRANSITIONS[final]


# --- fee ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "copies,reduced,fee",
    [
        (1, False, 200_000),
        (2, False, 200_000),
        (3, False, 205_000),
        (10, False, 240_000),
        (1, True, 100_000),
        (2, True, 100_000),
        (3, True, 105_000),
        (10, True, 140_000),
    ],
)
def test_fee(copies, reduced, fee):
    assert rules.fee_vnd(copies, reduced) == fee


@pytest.mark.parametrize("copies", [0, -1, 11, True, 2.0, "3", None])
def test_fee_rejects_invalid_copies(copies):
    with pytest.raises(ValueError):
        rules.fee_vnd(copies, False)


# --- provinces and ID place codes ----------------------------------------------------------------


def test_the_63_provinces():
    assert len(rules.PROVINCES) == 63
    assert all(len(code) == 2 and code.isdigit() for code in rules.PROVINCES)
    assert rules.PROVINCES["01"] == "Hà Nội"
    assert rules.PROVINCES["79"] == "Hồ Chí Minh"
    assert rules.PROVINCES["48"] == "Đà Nẵng"
    assert rules.PROVINCES["96"] == "Cà Mau"
    assert rules.PROVINCES["02"] == "Hà Giang"
    assert len(set(rules.PROVINCES.values())) == 63


def test_merged_provinces_keep_old_codes():
    assert len(rules.MERGED_2025) == 34
    assert set(rules.MERGED_2025) <= set(rules.PROVINCES)


def test_abroad_code():
    assert rules.ABROAD_CODE not in rules.PROVINCES
    assert rules.ABROAD_CODE in rules.RESIDENCE_CODES
    assert rules.province_name(rules.ABROAD_CODE) == "Nước ngoài"
    assert rules.province_name("79") == "Hồ Chí Minh"
    assert rules.province_name("03") is None


@pytest.mark.parametrize("code", ["001", "079", "096", "048", "002", "100", "840", "999"])
def test_pid_place_codes_accepted(code):
    assert rules.is_pid_place_code(code)


@pytest.mark.parametrize("code", ["000", "003", "097", "099", "063", "01", "0011", "abc", "٠٠١"])
def test_pid_place_codes_rejected(code):
    assert not rules.is_pid_place_code(code)


@pytest.mark.parametrize(
    "year,gender,digit",
    [(1990, "male", 0), (1990, "female", 1), (2001, "male", 2), (2001, "female", 3),
     (2100, "male", 4), (2150, "female", 5), (2200, "male", 6), (2399, "female", 9)],
)
def test_pid_century_digit(year, gender, digit):
    assert rules.pid_century_digit(year, gender) == digit
    assert rules.pid_century_of_digit(digit) == (year // 100) * 100
    assert rules.pid_gender_of_digit(digit) == gender


def test_pid_century_digit_out_of_range():
    assert rules.pid_century_digit(1899, "male") is None
    assert rules.pid_century_digit(2400, "female") is None
    assert rules.pid_century_digit(1990, "other") is None


# --- working days ------------------------------------------------------------------------------------


def _dt(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm)


def test_working_days_skip_a_weekend():
    # Friday 2026-11-20 + 1 working day = Monday 2026-11-23, same time of day.
    assert rules.add_working_days(_dt(2026, 11, 20), 1, frozenset()) == _dt(2026, 11, 23)
    # Monday + 4 = Friday; + 5 = next Monday.
    assert rules.add_working_days(_dt(2026, 11, 16), 4, frozenset()) == _dt(2026, 11, 20)
    assert rules.add_working_days(_dt(2026, 11, 16), 5, frozenset()) == _dt(2026, 11, 23)
    assert rules.add_working_days(_dt(2026, 11, 16), 10, frozenset()) == _dt(2026, 11, 30)


def test_working_days_skip_a_holiday():
    # Wednesday 2026-04-29 + 1: Thursday 30/4 and Friday 1/5 are holidays, then the weekend.
    holidays = rules.fixed_holidays([2026])
    assert rules.add_working_days(_dt(2026, 4, 29), 1, holidays) == _dt(2026, 5, 4)
    assert rules.add_working_days(_dt(2026, 4, 29), 1, frozenset()) == _dt(2026, 4, 30)


def test_submission_on_a_non_working_day_counts_from_the_next_working_day():
    friday = rules.add_working_days(_dt(2026, 11, 20), 10, frozenset())
    saturday = rules.add_working_days(_dt(2026, 11, 21), 10, frozenset())
    sunday = rules.add_working_days(_dt(2026, 11, 22), 10, frozenset())
    assert friday.date() == saturday.date() == sunday.date() == date(2026, 12, 4)
    # A holiday (2/9/2026, a Wednesday) behaves like a weekend day.
    holidays = rules.fixed_holidays([2026])
    assert rules.add_working_days(_dt(2026, 9, 2), 1, holidays).date() == date(2026, 9, 3)
    assert rules.add_working_days(_dt(2026, 9, 1), 1, holidays).date() == date(2026, 9, 3)


def test_working_days_with_configured_extra_holidays():
    # Tết 2027 (lunar) is configured, not built in.
    tet = frozenset(date(2027, 2, d) for d in range(4, 11))  # Thu 4 .. Wed 10 Feb 2027
    start = _dt(2027, 2, 3)  # Wednesday
    assert rules.add_working_days(start, 1, tet) == _dt(2027, 2, 11)
    assert rules.add_working_days(start, 1, frozenset()) == _dt(2027, 2, 4)


def test_add_working_days_zero_and_negative():
    assert rules.add_working_days(_dt(2026, 11, 21), 0, frozenset()) == _dt(2026, 11, 21)
    with pytest.raises(ValueError):
        rules.add_working_days(_dt(2026, 11, 21), -1, frozenset())


def test_add_working_days_keeps_tzinfo():
    start = datetime(2026, 11, 20, 10, 0, tzinfo=VN)
    assert rules.add_working_days(start, 1, frozenset()) == datetime(2026, 11, 23, 10, 0, tzinfo=VN)


def test_fixed_holidays():
    assert rules.fixed_holidays([2026]) == {date(2026, 1, 1), date(2026, 4, 30), date(2026, 5, 1), date(2026, 9, 2)}
    assert rules.VIETNAM_FIXED_HOLIDAYS == {(1, 1), (4, 30), (5, 1), (9, 2)}


# --- deadline ---------------------------------------------------------------------------------------


def test_due_at_is_the_end_of_the_tenth_working_day_in_vietnam():
    submitted = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Friday 10:00 in Hanoi
    due = rules.due_at(submitted, extended=False)
    assert due == datetime(2026, 12, 4, 23, 59, 59, tzinfo=VN)
    assert due.tzinfo == UTC


def test_due_at_extended_is_fifteen_working_days():
    submitted = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert rules.due_at(submitted, extended=True) == datetime(2026, 12, 11, 23, 59, 59, tzinfo=VN)


def test_due_at_uses_the_vietnamese_calendar_day():
    # Thursday 20:00 UTC is already Friday 03:00 in Hanoi: same deadline as a Friday submission.
    thursday_evening_utc = datetime(2026, 11, 19, 20, 0, tzinfo=UTC)
    friday_morning_utc = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert rules.due_at(thursday_evening_utc, False) == rules.due_at(friday_morning_utc, False)
    thursday_noon_utc = datetime(2026, 11, 19, 5, 0, tzinfo=UTC)
    assert rules.due_at(thursday_noon_utc, False) < rules.due_at(friday_morning_utc, False)


def test_due_at_across_new_year_and_with_extra_holidays():
    submitted = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)  # Thursday 24/12/2026
    # 25,28,29,30,31 Dec (5), 1/1/2027 holiday, 4..8 Jan (10).
    assert rules.due_at(submitted, False).astimezone(VN).date() == date(2027, 1, 8)
    extra = frozenset({date(2027, 1, 4)})
    assert rules.due_at(submitted, False, extra).astimezone(VN).date() == date(2027, 1, 11)


def test_due_at_naive_is_utc():
    due = rules.due_at(datetime(2026, 11, 20, 3, 0), False)
    assert due.tzinfo is None
    assert due == datetime(2026, 12, 4, 16, 59, 59)


def test_is_overdue():
    due = rules.due_at(datetime(2026, 11, 20, 3, 0, tzinfo=UTC), False)
    assert not rules.is_overdue(due, due)
    assert rules.is_overdue(due, due + timedelta(seconds=1))


@pytest.mark.parametrize(
    "codes,extended",
    [
        (["01"], False),
        (["01", "01"], False),
        (["01", "79"], True),
        (["00"], True),
        (["01", "00"], True),
        ([], False),
    ],
)
def test_deadline_extended(codes, extended):
    history = [{"from": "2004-05", "to": None, "address": "x", "province_code": c} for c in codes]
    assert rules.deadline_extended(history) is extended


def test_deadline_extended_is_defensive():
    assert rules.deadline_extended([None, {"province_code": 1}, "x"]) is False
    assert rules.deadline_extended(None) is False


def test_month_arithmetic():
    assert rules.month_index(2010, 5) - rules.month_index(2010, 4) == 1
    assert rules.month_index(2011, 1) - rules.month_index(2010, 12) == 1
    assert rules.month_turned(date(2000, 2, 29), 14) == rules.month_index(2014, 2)
    assert rules.month_of(date(2026, 11, 23)) == rules.month_index(2026, 11)
