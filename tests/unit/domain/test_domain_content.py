"""ecert.domain.content: the certificate content of docs/contracts.md and the automatic-path rules."""
from __future__ import annotations

import json
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ecert.domain import rules
from ecert.domain.content import (
    ban_in_force,
    ban_statement,
    build_content,
    certificate_wording,
    conviction_expunged,
    needs_review_reasons,
    record_statement,
)

ISSUED_AT = datetime(2026, 11, 23, 8, 15, 0, 123456, tzinfo=UTC)
ISSUE_DAY = date(2026, 11, 23)

HOLDER = {
    "full_name": "Nguyễn Văn An",
    "birth_date": "1990-05-17",
    "gender": "male",
    "personal_id": "001090012345",
    "nationality": "Việt Nam",
    "place_of_birth": "Hà Nội",
    "residence": "12 Hàng Bài, Hoàn Kiếm, Hà Nội",
    "father_name": "Nguyễn Văn Bình",
    "mother_name": "Trần Thị Cúc",
    "spouse_name": "Lê Thị Dung",
}


def conviction(judgment_date, *, expunged=False, expunged_at=None, number="12/2015/HS-ST", basis=None):
    return {
        "court": "Tòa án nhân dân quận Hoàn Kiếm",
        "judgment_number": number,
        "judgment_date": judgment_date,
        "offences": [{"article": "173", "name": "Trộm cắp tài sản"}],
        "principal_penalty": "12 tháng tù",
        "additional_penalties": ["Phạt tiền 5.000.000 đồng"],
        "serving_status": "completed" if expunged else "serving",
        "expunged": expunged,
        "expunged_at": expunged_at,
        "basis": basis,
    }


def ban(start, end):
    return {
        "decision": "Quyết định tuyên bố phá sản số 01/2019/QĐ-TBPS",
        "court": "Tòa án nhân dân TP Hà Nội",
        "positions": "Giám đốc doanh nghiệp",
        "from": start,
        "to": end,
    }


def person(convictions=(), bans=()):
    return {
        "personal_id": "001090012345", "full_name": "Nguyễn Văn An", "birth_date": "1990-05-17",
        "gender": "male", "convictions": list(convictions), "bans": list(bans),
    }


EXPUNGED = conviction("2015-03-02", expunged=True, expunged_at="2019-01-01", basis="Đương nhiên được xóa án tích")
AMNESTIED = conviction("2010-07-01", expunged=True, expunged_at="2011-09-02", number="5/2010/HS-ST", basis="Đại xá")
ACTIVE = conviction("2022-06-10", number="88/2022/HS-PT")
BAN_IN_FORCE = ban("2020-01-01", "2030-01-01")
BAN_OPEN_ENDED = ban("2024-01-01", None)
BAN_EXPIRED = ban("2015-01-01", "2018-01-01")
BAN_FUTURE = ban("2027-01-01", "2028-01-01")


def make(form_type=1, include_ban_section=False, record=None, holder=HOLDER, issued_at=ISSUED_AT):
    return build_content(
        number="LLTP-2026-00000123",
        form_type=form_type,
        issued_at=issued_at,
        issuer_id="VN-NJRC",
        authority="Trung tâm Lý lịch tư pháp quốc gia",
        holder=holder,
        purpose="Bổ sung hồ sơ xin việc",
        request_id="3f1c7a2e-1111-4222-8333-444455556666",
        include_ban_section=include_ban_section,
        person_record=record,
    )


# --- shape -----------------------------------------------------------------------------------------


def test_exact_shape_of_form_1():
    content = make()
    assert content == {
        "schema": 1,
        "number": "LLTP-2026-00000123",
        "form_type": 1,
        "issued_at": "2026-11-23T08:15:00Z",
        "issuer": {"id": "VN-NJRC", "authority": "Trung tâm Lý lịch tư pháp quốc gia"},
        "holder": {
            "full_name": "Nguyễn Văn An",
            "full_name_ascii": "Nguyen Van An",
            "birth_date": "1990-05-17",
            "gender": "male",
            "personal_id": "001090012345",
            "nationality": "Việt Nam",
            "place_of_birth": "Hà Nội",
            "residence": "12 Hàng Bài, Hoàn Kiếm, Hà Nội",
            "father_name": None,
            "mother_name": None,
            "spouse_name": None,
        },
        "purpose": "Bổ sung hồ sơ xin việc",
        "request_id": "3f1c7a2e-1111-4222-8333-444455556666",
        "record": {"statement": 0, "convictions": []},
        "ban": None,
    }


def test_content_is_plain_json():
    content = make(2, record=person([EXPUNGED, ACTIVE], [BAN_IN_FORCE]))
    assert json.loads(json.dumps(content, ensure_ascii=False)) == content


def test_conviction_entry_shape():
    entry = make(2, record=person([EXPUNGED]))["record"]["convictions"][0]
    assert set(entry) == {
        "court", "judgment_number", "judgment_date", "offences", "principal_penalty",
        "additional_penalties", "serving_status", "expunged", "expunged_at", "basis",
    }
    assert entry["offences"] == [{"article": "173", "name": "Trộm cắp tài sản"}]
    assert entry["expunged"] is True and entry["expunged_at"] == "2019-01-01"


def test_form_2_holder_has_family_names():
    holder = make(2)["holder"]
    assert (holder["father_name"], holder["mother_name"], holder["spouse_name"]) == (
        "Nguyễn Văn Bình", "Trần Thị Cúc", "Lê Thị Dung",
    )


def test_holder_from_identity_claims_and_nfc():
    claims = {
        "sub": "001090012345",
        "name": unicodedata.normalize("NFD", "Đặng Thị Ngọc Hà"),
        "birthdate": date(1990, 5, 17),
        "gender": "female",
        "nationality": "VN",
        "place_of_birth": None,
        "address": "  12 Hàng Bài ",
    }
    holder = make(holder=claims)["holder"]
    assert holder["full_name"] == unicodedata.normalize("NFC", "Đặng Thị Ngọc Hà")
    assert holder["full_name_ascii"] == "Dang Thi Ngoc Ha"
    assert holder["birth_date"] == "1990-05-17"
    assert holder["personal_id"] == "001090012345"
    assert holder["nationality"] == "Việt Nam"
    assert holder["place_of_birth"] is None
    assert holder["residence"] == "12 Hàng Bài"


def test_nationality_defaults_to_viet_nam():
    holder = {k: v for k, v in HOLDER.items() if k != "nationality"}
    assert make(holder=holder)["holder"]["nationality"] == "Việt Nam"


def test_issued_at_in_utc_whole_seconds():
    hanoi = datetime(2026, 11, 23, 22, 15, 0, 999999, tzinfo=timezone(timedelta(hours=7)))
    assert make(issued_at=hanoi)["issued_at"] == "2026-11-23T15:15:00Z"
    assert make(issued_at=datetime(2026, 11, 23, 8, 15))["issued_at"] == "2026-11-23T08:15:00Z"


def test_invalid_arguments():
    with pytest.raises(ValueError):
        make(form_type=3)
    with pytest.raises(ValueError):
        make(holder={"birth_date": "1990-05-17"})


# --- the record statement ------------------------------------------------------------------------


def test_never_convicted():
    for record in (None, person()):
        for form in (1, 2):
            content = make(form, record=record)
            assert content["record"] == {"statement": 0, "convictions": []}
            assert record_statement(content) == 0


def test_expunged_only_reads_no_criminal_record_on_form_1():
    content = make(1, record=person([EXPUNGED, AMNESTIED]))
    assert content["record"] == {"statement": 0, "convictions": []}
    assert record_statement(content) == 0


def test_expunged_only_is_listed_on_form_2_in_date_order():
    content = make(2, record=person([EXPUNGED, AMNESTIED]))
    assert content["record"]["statement"] == 0
    listed = content["record"]["convictions"]
    assert [c["judgment_date"] for c in listed] == ["2010-07-01", "2015-03-02"]
    assert [c["basis"] for c in listed] == ["Đại xá", "Đương nhiên được xóa án tích"]
    assert all(c["expunged"] for c in listed)


def test_active_conviction_on_form_1_lists_only_unexpunged():
    content = make(1, record=person([ACTIVE, EXPUNGED]))
    assert content["record"]["statement"] == 1
    assert [c["judgment_number"] for c in content["record"]["convictions"]] == ["88/2022/HS-PT"]
    entry = content["record"]["convictions"][0]
    assert entry["expunged"] is False and entry["expunged_at"] is None
    assert record_statement(content) == 1


def test_form_2_lists_every_conviction_by_judgment_date():
    content = make(2, record=person([ACTIVE, EXPUNGED, AMNESTIED]))
    assert content["record"]["statement"] == 1
    assert [c["judgment_date"] for c in content["record"]["convictions"]] == ["2010-07-01", "2015-03-02", "2022-06-10"]
    assert [c["expunged"] for c in content["record"]["convictions"]] == [True, True, False]
    assert [c["expunged_at"] for c in content["record"]["convictions"]] == ["2011-09-02", "2019-01-01", None]


def test_same_day_judgments_are_ordered_by_number():
    first = conviction("2020-01-01", number="1/2020/HS-ST")
    second = conviction("2020-01-01", number="2/2020/HS-ST")
    listed = make(2, record=person([second, first]))["record"]["convictions"]
    assert [c["judgment_number"] for c in listed] == ["1/2020/HS-ST", "2/2020/HS-ST"]


def test_expungement_after_the_issue_date_does_not_count_yet():
    later = conviction("2015-03-02", expunged=True, expunged_at="2027-01-01")
    content = make(1, record=person([later]))
    assert content["record"]["statement"] == 1
    assert conviction_expunged(later, date(2027, 1, 1))
    assert not conviction_expunged(later, ISSUE_DAY)


def test_dates_may_be_date_objects():
    c = conviction(date(2015, 3, 2), expunged=True, expunged_at=date(2019, 1, 1))
    b = ban(date(2020, 1, 1), None)
    content = make(2, record=person([c], [b]))
    assert content["record"]["convictions"][0]["judgment_date"] == "2015-03-02"
    assert content["ban"]["bans"][0]["from"] == "2020-01-01"


# --- the ban section -----------------------------------------------------------------------------


def test_form_1_without_ban_section():
    content = make(1, include_ban_section=False, record=person(bans=[BAN_IN_FORCE]))
    assert content["ban"] is None
    assert ban_statement(content) == 0


def test_form_1_with_ban_section_and_no_ban():
    content = make(1, include_ban_section=True, record=None)
    assert content["ban"] == {"statement": 1, "bans": []}
    assert ban_statement(content) == 1


def test_form_1_with_ban_in_force():
    content = make(1, include_ban_section=True, record=person(bans=[BAN_EXPIRED, BAN_IN_FORCE, BAN_FUTURE]))
    assert content["ban"]["statement"] == 2
    assert content["ban"]["bans"] == [BAN_IN_FORCE]
    assert ban_statement(content) == 2


def test_form_1_with_only_an_expired_ban():
    content = make(1, include_ban_section=True, record=person(bans=[BAN_EXPIRED]))
    assert content["ban"] == {"statement": 1, "bans": []}


def test_form_2_always_has_the_ban_section_and_lists_every_ban():
    content = make(2, include_ban_section=False, record=person(bans=[BAN_FUTURE, BAN_IN_FORCE, BAN_EXPIRED]))
    assert content["ban"]["statement"] == 2
    assert [b["from"] for b in content["ban"]["bans"]] == ["2015-01-01", "2020-01-01", "2027-01-01"]
    expired_only = make(2, record=person(bans=[BAN_EXPIRED]))
    assert expired_only["ban"] == {"statement": 1, "bans": [BAN_EXPIRED]}
    assert make(2, record=None)["ban"] == {"statement": 1, "bans": []}


def test_open_ended_ban_is_in_force():
    content = make(1, include_ban_section=True, record=person(bans=[BAN_OPEN_ENDED]))
    assert content["ban"] == {"statement": 2, "bans": [BAN_OPEN_ENDED]}


@pytest.mark.parametrize(
    "start,end,on,expected",
    [
        ("2020-01-01", "2026-11-23", ISSUE_DAY, True),  # last day included
        ("2026-11-23", None, ISSUE_DAY, True),  # first day included
        ("2020-01-01", "2026-11-22", ISSUE_DAY, False),
        ("2026-11-24", None, ISSUE_DAY, False),
    ],
)
def test_ban_in_force_boundaries(start, end, on, expected):
    assert ban_in_force(ban(start, end), on) is expected


def test_issue_date_is_the_vietnamese_date():
    # 2026-11-22T18:00Z is already 23 November in Hanoi: a ban starting that day is in force.
    b = ban("2026-11-23", None)
    content = make(1, True, person(bans=[b]), issued_at=datetime(2026, 11, 22, 18, 0, tzinfo=UTC))
    assert content["ban"]["statement"] == 2
    content = make(1, True, person(bans=[b]), issued_at=datetime(2026, 11, 22, 16, 0, tzinfo=UTC))
    assert content["ban"]["statement"] == 1


# --- the automatic path --------------------------------------------------------------------------

ONE_PROVINCE = [
    {"from": "2004-05", "to": "2010-05", "address": "a", "province_code": "01"},
    {"from": "2010-05", "to": None, "address": "b", "province_code": "01"},
]
TWO_PROVINCES = [
    {"from": "2004-05", "to": "2010-05", "address": "a", "province_code": "01"},
    {"from": "2010-05", "to": None, "address": "b", "province_code": "79"},
]
ABROAD = [
    {"from": "2004-05", "to": "2010-05", "address": "a", "province_code": "00"},
    {"from": "2010-05", "to": None, "address": "b", "province_code": "01"},
]


@pytest.mark.parametrize(
    "form,ban_section,record,history,reasons",
    [
        (1, False, None, ONE_PROVINCE, []),
        (1, False, person(), ONE_PROVINCE, []),
        (1, False, person([EXPUNGED, AMNESTIED]), ONE_PROVINCE, []),
        (1, False, person(bans=[BAN_EXPIRED]), ONE_PROVINCE, []),
        (2, True, None, ONE_PROVINCE, ["form_2"]),
        (2, False, None, ONE_PROVINCE, ["form_2"]),
        (1, False, person([ACTIVE]), ONE_PROVINCE, ["has_unexpunged_conviction"]),
        (1, True, None, ONE_PROVINCE, ["ban_section_requested"]),
        (1, False, person(bans=[BAN_IN_FORCE]), ONE_PROVINCE, ["ban_found"]),
        (1, True, person(bans=[BAN_IN_FORCE]), ONE_PROVINCE, ["ban_section_requested", "ban_found"]),
        (1, False, None, TWO_PROVINCES, ["multi_province_history"]),
        (1, False, None, ABROAD, ["abroad_history"]),
        (
            2, True, person([ACTIVE], [BAN_OPEN_ENDED]), TWO_PROVINCES + ABROAD,
            ["form_2", "has_unexpunged_conviction", "ban_found", "multi_province_history", "abroad_history"],
        ),
    ],
)
def test_needs_review_reasons(form, ban_section, record, history, reasons):
    assert needs_review_reasons(form, ban_section, record, history, ISSUE_DAY) == reasons


def test_needs_review_reasons_is_defensive():
    assert needs_review_reasons(1, False, {"convictions": None, "bans": None}, None, ISSUE_DAY) == []
    assert needs_review_reasons(1, False, {}, [], ISSUE_DAY) == []


def test_certificate_wording_is_the_rules_text_in_vietnamese():
    wording = certificate_wording("Cần Thơ")
    assert wording.place_of_issue == "Cần Thơ"
    assert wording.form_names == {1: "Phiếu lý lịch tư pháp số 1", 2: "Phiếu lý lịch tư pháp số 2"}
    # Every statement a content can carry has its sentence, and it is the rules' own.
    assert wording.record_statements == {
        rules.RECORD_STATEMENT_NONE: "Không có án tích",
        rules.RECORD_STATEMENT_HAS: "Có án tích",
    }
    assert wording.ban_statements[rules.BAN_STATEMENT_NONE] == rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_NONE]["vi"]
    assert wording.ban_statements[rules.BAN_STATEMENT_HAS] == rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_HAS]["vi"]
    assert wording.ban_heading == rules.BAN_SECTION_HEADING
    assert wording.serving_statuses["completed"] == "Đã chấp hành xong"


def test_certificate_wording_fits_what_the_pdf_takes():
    from signing.pdf import PdfWording

    wording: PdfWording = certificate_wording("Hà Nội")  # mypy checks the shape; this, that it exists
    assert wording.place_of_issue == "Hà Nội"
