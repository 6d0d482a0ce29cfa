"""services/lookup.py: one row by id, or NotFound; another citizen's row is "not found" too."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecert.errors import NotFound
from ecert.models import Certificate, CertificateRequest, StaffUser
from ecert.services.lookup import get_or_404, lock_or_404

OWNER, STRANGER = "001090000001", "001090000002"


@pytest.fixture
def request_row(db):
    row = CertificateRequest(
        citizen_pid=OWNER, status="cancelled", form_type=1, purpose="lookup test", copies=1,
        include_ban_section=False, phone="0912345678", holder={"sub": OWNER}, residence_history=[],
        fee_vnd=200000, due_at=datetime(2026, 3, 16, tzinfo=UTC),
    )
    db.add(row)
    db.flush()
    return row


@pytest.mark.parametrize("find", [get_or_404, lock_or_404])
def test_the_owner_gets_the_row(db, request_row, find):
    assert find(db, CertificateRequest, request_row.id, owner=OWNER) is request_row
    assert find(db, CertificateRequest, request_row.id) is request_row  # staff: no owner


@pytest.mark.parametrize("find", [get_or_404, lock_or_404])
def test_another_owner_is_not_found_like_a_missing_row(db, request_row, find):
    with pytest.raises(NotFound) as other:
        find(db, CertificateRequest, request_row.id, owner=STRANGER)
    with pytest.raises(NotFound) as missing:
        find(db, CertificateRequest, "00000000-0000-0000-0000-000000000000", owner=OWNER)
    assert other.value.code == missing.value.code == "request_not_found"
    assert other.value.status == 404


@pytest.mark.parametrize("find", [get_or_404, lock_or_404])
@pytest.mark.parametrize("bad_id", ["", "x" * 37, None])
def test_an_id_that_cannot_name_a_row_is_not_found(db, find, bad_id):
    with pytest.raises(NotFound) as raised:
        find(db, Certificate, bad_id)
    assert raised.value.code == "certificate_not_found"


def test_each_model_has_its_own_not_found_code(db):
    with pytest.raises(NotFound) as raised:
        get_or_404(db, StaffUser, "nobody")
    assert raised.value.code == "staff_not_found"


def test_an_owner_for_a_model_without_one_is_a_programming_error(db):
    with pytest.raises(TypeError):
        get_or_404(db, StaffUser, "nobody", owner=OWNER)


def test_the_lock_reloads_a_stale_copy(db, request_row):
    """populate_existing: what is read under the lock replaces the copy this session held."""
    # Another transaction's write, as this session's identity map does not see it.
    db.execute(CertificateRequest.__table__.update().where(CertificateRequest.id == request_row.id)
               .values(purpose="committed by someone else"))
    assert get_or_404(db, CertificateRequest, request_row.id).purpose == "lookup test"  # the held copy
    locked = lock_or_404(db, CertificateRequest, request_row.id, owner=OWNER)
    assert locked is request_row and locked.purpose == "committed by someone else"
