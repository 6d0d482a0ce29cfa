"""The judicial-record import (`ecert records import FILE`): bad lines are reported and skipped."""
from __future__ import annotations

import json

from ecert.models import AuditEvent, Conviction, Person
from ecert.services.records import person_record

GOOD = {
    "personal_id": "001090099999", "full_name": "Nguyễn Văn Tư", "birth_date": "1990-01-02", "gender": "male",
    "convictions": [{
        "court": "Tòa án nhân dân quận Ba Đình", "judgment_number": "12/2015/HS-ST", "judgment_date": "2015-03-02",
        "offences": [{"article": "173", "name": "Trộm cắp tài sản"}], "principal_penalty": "Phạt tù 6 tháng",
        "additional_penalties": [], "serving_status": "completed", "expunged": True, "expunged_at": "2019-01-01"}],
    "bans": [{"decision": "QĐ 1/2020", "court": "TAND TP Hà Nội", "positions": "Giám đốc doanh nghiệp",
              "from": "2020-01-01", "to": "2025-01-01"}],
}


def _run(app, tmp_path, lines):
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["ecert", "records", "import", str(path), "--json"])
    return result.exit_code, json.loads(result.output)


def test_good_lines_are_imported(app, db, tmp_path):
    code, report = _run(app, tmp_path, [json.dumps(GOOD, ensure_ascii=False)])
    assert code == 0
    assert report == {"imported": 1, "errors": []}
    record = person_record(db, "001090099999")
    assert record["convictions"][0]["expunged_at"] == "2019-01-01"
    assert record["bans"][0]["to"] == "2025-01-01"
    assert db.query(AuditEvent).filter_by(action="records.imported").count() == 1


def test_bad_lines_are_reported_by_number_and_nothing_of_them_is_written(app, db, tmp_path):
    missing_court = json.loads(json.dumps(GOOD))
    missing_court["personal_id"] = "001090088888"
    del missing_court["convictions"][0]["court"]
    expunged_without_date = json.loads(json.dumps(GOOD))
    expunged_without_date["personal_id"] = "001090077777"
    expunged_without_date["convictions"][0]["expunged_at"] = None
    second_good = dict(GOOD, personal_id="001090066666", convictions=[], bans=[])
    lines = [
        json.dumps(GOOD, ensure_ascii=False),       # 1 good
        "{not json",                                # 2
        json.dumps(missing_court),                  # 3
        json.dumps(["a", "list"]),                  # 4
        json.dumps(dict(GOOD, personal_id="12")),   # 5
        json.dumps(expunged_without_date),          # 6
        json.dumps(dict(GOOD, extra_field=1)),      # 7 unknown field
        "",                                         # 8 blank: skipped silently
        json.dumps(second_good, ensure_ascii=False),  # 9 good
    ]
    code, report = _run(app, tmp_path, lines)
    assert code == 1
    assert report["imported"] == 2
    assert [e["line"] for e in report["errors"]] == [2, 3, 4, 5, 6, 7]
    assert "court" in report["errors"][1]["reason"]
    assert "expunged_at" in report["errors"][4]["reason"]
    ids = {p.personal_id for p in db.query(Person)}
    assert "001090088888" not in ids and "001090077777" not in ids
    assert {"001090099999", "001090066666"} <= ids


def test_reimport_replaces_the_persons_record(app, db, tmp_path):
    _run(app, tmp_path, [json.dumps(GOOD, ensure_ascii=False)])
    _run(app, tmp_path, [json.dumps(dict(GOOD, convictions=[]), ensure_ascii=False)])
    person = db.query(Person).filter_by(personal_id="001090099999").one()
    assert db.query(Conviction).filter_by(person_id=person.id).count() == 0


def test_names_are_stored_nfc_with_an_ascii_copy(app, db, tmp_path):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn Tư")
    _run(app, tmp_path, [json.dumps(dict(GOOD, full_name=decomposed), ensure_ascii=False)])
    person = db.query(Person).filter_by(personal_id="001090099999").one()
    assert person.full_name == unicodedata.normalize("NFC", decomposed)
    assert person.full_name_ascii == "Nguyen Van Tu"


def test_seed_demo_is_idempotent(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ecert", "seed-demo"]).exit_code == 0
    first = db.query(Person).count()
    assert runner.invoke(args=["ecert", "seed-demo"]).exit_code == 0
    assert db.query(Person).count() == first >= 5
