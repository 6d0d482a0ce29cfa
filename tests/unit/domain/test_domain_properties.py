"""Property tests: the validators never raise, and the text normalisers behave."""
from __future__ import annotations

import os
import unicodedata
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecert.domain import rules
from ecert.domain.content import build_content, needs_review_reasons
from ecert.domain.i18n import MESSAGES, negotiate_language
from ecert.domain.validation import (
    REQUEST_FIELDS,
    ascii_fold,
    normalize_name,
    validate_name,
    validate_request,
    validate_residence_history,
)

# Short runs by default (the suite shares its machine); ECERT_RULES_EXAMPLES=5000 for a long soak.
FAST = settings(max_examples=int(os.environ.get("ECERT_RULES_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

IDENTITY = {"sub": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}
TODAY = date(2026, 11, 23)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(sorted(REQUEST_FIELDS)) | st.text(max_size=12)
months = st.one_of(
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1890, 2030), st.integers(0, 13)),
    json_values,
)
periods = st.one_of(
    st.fixed_dictionaries(
        {
            "from": months,
            "to": st.none() | months,
            "address": st.text(max_size=40) | json_values,
            "province_code": st.sampled_from(sorted(rules.RESIDENCE_CODES)) | json_values,
        }
    ),
    json_values,
)
payloads = st.dictionaries(field_names, json_values, max_size=12) | st.fixed_dictionaries(
    {
        "form_type": st.sampled_from([1, 2]) | json_values,
        "purpose": st.text(max_size=50) | json_values,
        "copies": st.integers(-5, 20) | json_values,
        "phone": st.sampled_from(["0912345678", "+84312345678"]) | st.text(max_size=15),
        "residence_history": st.lists(periods, max_size=6) | json_values,
        "father_name": st.text(max_size=20) | json_values,
        "mother_name": st.text(max_size=20),
        "spouse_name": st.sampled_from(["không", "none"]) | st.text(max_size=20),
    }
)
identities = st.fixed_dictionaries(
    {
        "sub": st.text(alphabet="0123456789", min_size=11, max_size=13) | json_values,
        "name": st.text(max_size=30) | json_values,
        "birthdate": st.dates(date(1890, 1, 1), date(2030, 1, 1)).map(str) | json_values,
        "gender": st.sampled_from(["male", "female"]) | json_values,
    }
) | json_values


def _check_errors(errors):
    assert isinstance(errors, dict)
    for key, codes in errors.items():
        assert isinstance(key, str)
        assert codes and all(code in MESSAGES for code in codes), (key, codes)
        assert len(codes) == len(set(codes))


@FAST
@given(payloads, identities, st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_validate_request_never_raises(payload, identity, today):
    _check_errors(validate_request(payload, identity, today))


@FAST
@given(json_values, identities)
def test_validate_request_accepts_any_json_body(payload, identity):
    _check_errors(validate_request(payload, identity, TODAY))


@FAST
@given(st.lists(periods, max_size=8) | json_values, st.none() | st.dates(date(1900, 1, 1), date(2026, 11, 23)))
def test_validate_residence_history_never_raises(history, birth):
    _check_errors(validate_residence_history(history, birth, TODAY))


@FAST
@given(st.text())
def test_normalize_name_is_idempotent_nfc_and_trimmed(text):
    once = normalize_name(text)
    assert normalize_name(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert once == once.strip()
    assert "  " not in once


@FAST
@given(st.text())
def test_ascii_fold_is_ascii_and_idempotent(text):
    folded = ascii_fold(text)
    assert folded.isascii()
    assert ascii_fold(folded) == folded


_BASES = ["a", "a\u0306", "a\u0302", "e", "e\u0302", "i", "o", "o\u0302", "o\u031b", "u", "u\u031b", "y"]
_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
_VOWELS = [unicodedata.normalize("NFC", b + t) for b in _BASES for t in _TONES]
_LETTERS = _VOWELS + list("bcdđghklmnpqrstvx")
_LETTERS += [letter.upper() for letter in _LETTERS]
vietnamese_names = st.lists(
    st.text(alphabet=st.sampled_from(_LETTERS), min_size=1, max_size=7), min_size=1, max_size=5
).map(" ".join)


@FAST
@given(vietnamese_names, st.booleans())
def test_vietnamese_names_are_valid_and_fold_to_the_same_length(name, decomposed):
    name = name[:100].rstrip()
    if decomposed:
        name = unicodedata.normalize("NFD", name)
    assert validate_name(name) == []
    folded = ascii_fold(name)
    assert len(folded) == len(normalize_name(name))
    assert folded.replace(" ", "").isalpha()


@FAST
@given(st.text(max_size=40))
def test_validate_name_never_raises(text):
    codes = validate_name(text)
    assert set(codes) <= {"required", "invalid_characters", "invalid_format", "too_long"}


@FAST
@given(st.text(max_size=60) | st.none(), st.text(max_size=10) | st.none())
def test_negotiate_language_total(header, query):
    assert negotiate_language(header, query) in ("vi", "en")


@FAST
@given(
    st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31), timezones=st.just(timezone.utc)),
    st.booleans(),
    st.frozensets(st.dates(date(2020, 1, 1), date(2036, 12, 31)), max_size=10),
)
def test_due_at_is_after_submission_on_a_working_day(submitted, extended, extra):
    due = rules.due_at(submitted, extended, extra)
    assert due > submitted
    local_due = due.astimezone(rules.VIETNAM_TZ)
    holidays = rules.fixed_holidays(range(2020, 2037)) | extra
    assert rules.is_working_day(local_due.date(), holidays)
    # Exactly N working days strictly after the submission day and up to the due day.
    start = submitted.astimezone(rules.VIETNAM_TZ).date()
    days = (local_due.date() - start).days
    counted = sum(
        1 for i in range(1, days + 1) if rules.is_working_day(start + timedelta(days=i), holidays)
    )
    assert counted == rules.deadline_working_days(extended)


conviction_records = st.fixed_dictionaries(
    {
        "court": st.text(max_size=10),
        "judgment_number": st.text(max_size=10),
        "judgment_date": st.dates(date(1990, 1, 1), date(2026, 1, 1)).map(str),
        "offences": st.lists(st.fixed_dictionaries({"article": st.text(max_size=4), "name": st.text(max_size=10)}), max_size=2),
        "principal_penalty": st.text(max_size=10),
        "additional_penalties": st.lists(st.text(max_size=10), max_size=2),
        "serving_status": st.sampled_from(["completed", "serving"]),
        "expunged": st.booleans(),
        "expunged_at": st.none() | st.dates(date(1990, 1, 1), date(2030, 1, 1)).map(str),
        "basis": st.none() | st.text(max_size=10),
    }
)
ban_records = st.fixed_dictionaries(
    {
        "decision": st.text(max_size=10),
        "court": st.text(max_size=10),
        "positions": st.text(max_size=10),
        "from": st.dates(date(2000, 1, 1), date(2030, 1, 1)).map(str),
        "to": st.none() | st.dates(date(2000, 1, 1), date(2035, 1, 1)).map(str),
    }
)
person_records = st.none() | st.fixed_dictionaries(
    {"convictions": st.lists(conviction_records, max_size=4), "bans": st.lists(ban_records, max_size=3)}
)


@FAST
@given(st.sampled_from([1, 2]), st.booleans(), person_records)
def test_content_invariants(form_type, include_ban_section, record):
    issued_at = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    content = build_content(
        number="N", form_type=form_type, issued_at=issued_at, issuer_id="VN-NJRC", authority="A",
        holder={"full_name": "Nguyễn Văn An", "birth_date": "1990-05-17", "gender": "male",
                "personal_id": "001090012345"},
        purpose="p", request_id="r", include_ban_section=include_ban_section, person_record=record,
    )
    convictions = (record or {}).get("convictions", [])
    listed = content["record"]["convictions"]
    if form_type == 2:
        assert len(listed) == len(convictions)
        assert content["ban"] is not None
    else:
        assert all(not c["expunged"] for c in listed)
        assert (content["ban"] is not None) == include_ban_section
    dates = [c["judgment_date"] for c in listed]
    assert dates == sorted(dates)
    assert content["record"]["statement"] == (1 if any(not c["expunged"] for c in listed) else 0)
    reasons = needs_review_reasons(form_type, include_ban_section, record, [], issued_at.date())
    if not reasons:
        # The automatic path only ever issues clean Form 1 certificates.
        assert form_type == 1 and content["record"]["statement"] == 0
        assert content["ban"] is None or content["ban"]["statement"] == 1
