"""The package's promises: a standalone library (no app imports), lazy heavy imports, and
complete bilingual messages for every outcome and reason code."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from verification import CHECK_NAMES, OUTCOMES, REASON_CODES
from verification.messages import (
    CHECK_LABELS,
    FIELD_LABELS,
    OUTCOME_MESSAGES,
    REASON_MESSAGES,
    field_value,
    format_time,
    outcome_text,
)
from verification.result import PublicFields

PACKAGE = Path(__file__).resolve().parents[3] / "verification"
FORBIDDEN = {"flask", "sqlalchemy", "ecert", "api", "signing", "marshmallow", "werkzeug",
             "flask_smorest", "alembic", "psycopg", "redis", "requests"}


def test_no_application_imports():
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_token_path_does_not_load_pdf_or_image_libraries():
    code = (
        "import sys, verification\n"
        "from verification import TrustList, verify_token\n"
        "verify_token('junk', TrustList.from_json({'keys': []}))\n"
        "heavy = {'pyhanko', 'zxingcpp', 'PIL', 'flask', 'sqlalchemy', 'ecert', 'api', 'signing'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd="/", timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_lazy_attributes():
    import verification

    assert callable(verification.verify_pdf) and callable(verification.read_qr_from_image)


def test_every_outcome_has_both_languages_meaning_and_next_step():
    assert set(OUTCOME_MESSAGES) == set(OUTCOMES)
    for outcome, entry in OUTCOME_MESSAGES.items():
        for key in ("vi", "en", "meaning_vi", "meaning_en", "next_vi", "next_en"):
            assert entry[key].strip(), (outcome, key)
        assert "expired" not in entry["en"].lower() + entry["meaning_en"].lower()
    assert OUTCOME_MESSAGES["valid"]["vi"] == "Hợp lệ"
    assert OUTCOME_MESSAGES["revoked"]["vi"] == "Đã bị thu hồi"
    assert OUTCOME_MESSAGES["tampered"]["en"] == "Not valid — altered"
    assert outcome_text("nonsense", "en")["verdict"] == "Not a certificate from this service"


def test_every_reason_code_is_translated():
    assert set(REASON_MESSAGES) == set(REASON_CODES)
    for code, entry in REASON_MESSAGES.items():
        assert entry["vi"] and entry["en"], code


def test_labels_cover_checks_and_fields():
    assert set(CHECK_LABELS) == set(CHECK_NAMES)
    fields = PublicFields("N", 1, "2026-11-22T09:00:00Z", "A").to_dict()
    assert set(fields) <= set(FIELD_LABELS)


def test_value_formatting():
    assert field_value("record_statement", 0, "vi") == "Không có án tích"
    assert field_value("ban_statement", 2, "en") == "Banned"
    assert field_value("form_type", 2, "vi") == "Phiếu số 2"
    # 20:00 UTC on the 22nd is already the 23rd in Vietnam: the date a holder sees on paper.
    assert field_value("issued_at", "2026-11-22T20:00:00Z", "vi") == "23/11/2026"
    assert field_value("holder_birth_date", "1990-05-17", "vi") == "17/05/1990"
    assert format_time("2026-11-23T09:00:00Z", "en") == "2026-11-23 16:00 (Vietnam time)"
