"""Constants and helpers shared by tests (fixtures live in conftest.py)."""
from __future__ import annotations

import os

TEST_DATABASE_URL = os.environ.get("ECERT_TEST_DATABASE_URL", "")
PUBLIC_BASE_URL = "https://ecert.example.gov.vn"
IDP_ISSUER = "https://idp.test.ecert"
IDP_AUDIENCE = "ecert-test"

ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def form1_payload(**overrides):
    payload = {
        "form_type": 1,
        "purpose": "Bổ sung hồ sơ xin việc",
        "copies": 1,
        "include_ban_section": False,
        "phone": "0912345678",
        "email": "an@example.vn",
        "residence_history": [
            {"from": "2004-05", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"}
        ],
    }
    payload.update(overrides)
    return payload


def form2_payload(**overrides):
    payload = form1_payload(form_type=2, father_name="Nguyễn Văn Bình", mother_name="Trần Thị Cúc", spouse_name="Không có")
    payload.pop("include_ban_section")
    payload.update(overrides)
    return payload


def history_since_14(birthdate: str, province_code: str = "01") -> list[dict]:
    """One open residence period starting the month the person turned 14."""
    year, month, _ = (int(part) for part in birthdate.split("-"))
    return [{"from": f"{year + 14:04d}-{month:02d}", "to": None,
             "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": province_code}]
