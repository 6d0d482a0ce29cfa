"""Shared fixtures of the pure domain-rule tests (no app, no database)."""
from __future__ import annotations

import copy
from datetime import date

import pytest

TODAY = date(2026, 11, 23)

IDENTITY = {"sub": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}

FORM_1 = {
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

FORM_2 = {
    **FORM_1,
    "form_type": 2,
    "father_name": "Nguyễn Văn Bình",
    "mother_name": "Trần Thị Cúc",
    "spouse_name": "Lê Thị Dung",
}


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def identity() -> dict:
    return copy.deepcopy(IDENTITY)


@pytest.fixture
def form1() -> dict:
    return copy.deepcopy(FORM_1)


@pytest.fixture
def form2() -> dict:
    return copy.deepcopy(FORM_2)
