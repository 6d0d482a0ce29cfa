"""The TOTP rule, written once (security.accept_totp) and spent alike by sign-in and step-up."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ecert import security
from ecert.errors import Forbidden, Unauthorized
from ecert.models import AuditEvent, StaffUser
from ecert.services import staff as staff_service
from ecert.services.audit import Actor
from ecert.wiring import resources_of

NOW = datetime(2026, 11, 23, 8, 15, 7, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STEP = security.totp_step(NOW)
PASSWORD = "correct horse battery staple"


def code(offset: int = 0) -> str:
    return security.totp_code(SECRET, STEP + offset)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_one_step_either_side_is_accepted(offset):
    assert security.accept_totp(SECRET, code(offset), NOW, last_step=0) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_two_steps_away_is_a_bad_code(offset):
    with pytest.raises(security.TotpRefused) as refused:
        security.accept_totp(SECRET, code(offset), NOW, last_step=0)
    assert refused.value.reason == "bad_totp"


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_are_bad_codes(bad):
    with pytest.raises(security.TotpRefused) as refused:
        security.accept_totp(SECRET, bad, NOW, last_step=0)
    assert refused.value.reason == "bad_totp"


def test_a_spent_step_and_every_older_one_are_reused():
    accepted = security.accept_totp(SECRET, code(0), NOW, last_step=0)
    for offset in (-1, 0):
        with pytest.raises(security.TotpRefused) as refused:
            security.accept_totp(SECRET, code(offset), NOW, last_step=accepted)
        assert refused.value.reason == "totp_reused"
    assert security.accept_totp(SECRET, code(1), NOW, last_step=accepted) == STEP + 1


# --- the same rule through the services ---------------------------------------------------------


@pytest.fixture
def user(db):
    row = StaffUser(username="totp.tester", role="supervisor", totp_secret=SECRET, totp_last_step=0,
                    password_hash=security.hash_password(PASSWORD, security.ScryptParams(2**10, 8, 1)))
    db.add(row)
    db.flush()
    return row


def _login(app, db, totp, now=NOW):
    return staff_service.login(db, "totp.tester", PASSWORD, totp, settings=resources_of(app).settings,
                               actor=Actor("staff"), now=now, client_address="192.0.2.1")


def _step_up(app, db, staff_session, totp):
    return staff_service.step_up(db, staff_session, totp, settings=resources_of(app).settings,
                                 actor=Actor("staff"), now=NOW, action="certificate.revoke")


def _last_reason(db, action):
    """The reason of the newest ``action`` event (a failure's events are kept: the view commits them)."""
    db.commit()
    newest = db.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
                        .limit(1)).scalar_one()
    return newest.details["reason"]


def test_login_spends_the_code_and_refuses_it_again(app, db, user):
    _login(app, db, code(0))
    assert user.totp_last_step == STEP
    with pytest.raises(Unauthorized):
        _login(app, db, code(0))
    assert _last_reason(db, "staff.login_failed") == "totp_reused"
    with pytest.raises(Unauthorized):
        _login(app, db, code(-1))  # older than the spent step: spent with it
    assert _last_reason(db, "staff.login_failed") == "totp_reused"


def test_step_up_refuses_the_login_code_and_takes_the_next_step(app, db, user):
    staff_session = _login(app, db, code(0)).staff_session
    with pytest.raises(Forbidden):
        _step_up(app, db, staff_session, code(0))
    assert _last_reason(db, "staff.step_up_failed") == "totp_reused"
    with pytest.raises(Forbidden):
        _step_up(app, db, staff_session, code(2))
    assert _last_reason(db, "staff.step_up_failed") == "bad_totp"
    assert _step_up(app, db, staff_session, code(1)) == STEP + 1
    assert user.totp_last_step == STEP + 1
    with pytest.raises(Unauthorized):
        _login(app, db, code(1), now=NOW + timedelta(seconds=1))  # step-up spent it for login too
