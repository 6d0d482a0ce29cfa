"""Staff sign-in: password + TOTP, single-use codes, throttling per username and address, lockout
after wrong codes, session expiry, sign-out."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ecert import security
from ecert.models import LoginThrottle, StaffSession, StaffUser
from ecert.services import staff as staff_service
from ecert.wiring import resources_of
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    AN,
    OWNER_ADDRESS,
    PASSWORD,
    STRANGER_ADDRESS,
    TEST_ACTOR,
    clock,
    events,
    fast_hashes,
    staff,
)
from tests.support import TEST_DATABASE_URL

LOGIN = "/api/v1/staff/sessions"
ME = "/api/v1/staff/me"


def test_login_gives_an_opaque_token_stored_only_as_its_hash(staff, db, clock):
    member = staff.create("officer", "nguyen.an")
    response = staff.login_response(member)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["role"] == "officer"
    assert body["username"] == "nguyen.an"
    assert len(body["token"]) == 43 and "." not in body["token"]
    # Timestamps are whole seconds (DESIGN §9, issue #10).
    assert datetime.fromisoformat(body["expires_at"]) == (clock.now + timedelta(hours=8)).replace(microsecond=0)
    assert datetime.fromisoformat(body["idle_expires_at"]) == (clock.now + timedelta(minutes=30)).replace(microsecond=0)
    assert response.headers["Cache-Control"] == "no-store"

    stored = db.execute(select(StaffSession).where(StaffSession.staff_id == member.id)).scalar_one()
    assert stored.token_sha256 == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in str([getattr(stored, c.key) for c in StaffSession.__table__.columns])
    [login] = events(db, "staff.login")
    assert login.actor_type == "staff" and login.actor_id == member.id
    assert login.details["session_id"] == stored.id
    assert login.http_request_id == response.headers["X-Request-ID"]

    me = staff.client.get(ME, headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "nguyen.an"


def test_username_is_case_insensitive(staff):
    member = staff.create("officer", "tran.binh")
    member.username = "  Tran.Binh "
    assert staff.login_response(member).status_code == 201


def _problem(response):
    body = response.get_json()
    return response.status_code, body["code"], body["title"], body["detail"]


def test_unknown_user_wrong_password_wrong_code_and_disabled_get_one_answer(staff, db):
    member = staff.create("officer", "le.cuong")
    disabled = staff.create("officer", "gone.away")
    with resources_of(staff.app).sessionmaker() as session:
        staff_service.disable_staff(session, "gone.away", actor=TEST_ACTOR)
        session.commit()

    wrong_code = security.totp_code(member.secret, security.totp_step(staff.clock.now) + 5)
    answers = [
        staff.client.post(LOGIN, json={"username": "nobody.here", "password": PASSWORD, "totp": "123456"}),
        staff.login_response(member, password="wrong password 123"),
        staff.login_response(member, code=wrong_code),
        staff.login_response(disabled),
    ]
    problems = {_problem(r) for r in answers}
    assert len(problems) == 1
    status, code, _, _ = problems.pop()
    assert (status, code) == (401, "invalid_credentials")
    assert all(r.headers["Content-Type"] == "application/problem+json" for r in answers)

    # Each failure was committed with the 401 (security events), with the reason kept inside.
    reasons = [e.details["reason"] for e in events(db, "staff.login_failed")]
    assert reasons == ["unknown_user", "bad_password", "bad_totp", "disabled"]
    db.expire_all()
    # Only the wrong code after the right password counts towards the account's lockout.
    assert db.get(StaffUser, member.id).failed_attempts == 1


def test_every_wrong_answer_costs_the_same_single_hash(staff, monkeypatch):
    """Same work for an unknown user, a wrong password and a wrong code: one scrypt each."""
    member = staff.create("officer", "pham.hung")
    calls = []
    real = security._derive
    monkeypatch.setattr(security, "_derive", lambda *a, **k: calls.append(1) or real(*a, **k))

    def cost(response):
        assert response.status_code == 401
        count = len(calls)
        calls.clear()
        return count

    unknown = cost(staff.client.post(LOGIN, json={"username": "ghost", "password": "whatever-123", "totp": "000000"}))
    bad_password = cost(staff.login_response(member, password="not the password"))
    far_off = security.totp_code(member.secret, security.totp_step(staff.clock.now) + 5)
    bad_code = cost(staff.login_response(member, code=far_off))
    assert unknown == bad_password == bad_code == 1


def test_a_code_works_once_for_login(staff, db):
    member = staff.create("supervisor", "do.phuc")
    code = staff.fresh_code(member)
    assert staff.login_response(member, code=code).status_code == 201
    replay = staff.login_response(member, code=code)
    assert replay.status_code == 401
    assert replay.get_json()["code"] == "invalid_credentials"
    assert events(db, "staff.login_failed")[-1].details["reason"] == "totp_reused"

    # An older code still inside the ±1 window is spent too once a newer one was accepted.
    newer = staff.fresh_code(member)  # moves the clock on a step
    older = security.totp_code(member.secret, security.totp_step(staff.clock.now) - 1)
    assert staff.login_response(member, code=newer).status_code == 201
    assert staff.login_response(member, code=older).status_code == 401


def test_codes_within_one_step_of_the_clock_are_accepted(staff):
    member = staff.create("officer", "drift.ok")
    step = security.totp_step(staff.clock.now)
    assert staff.login_response(member, code=security.totp_code(member.secret, step - 1)).status_code == 201
    assert staff.login_response(member, code=security.totp_code(member.secret, step + 1)).status_code == 201
    too_far = security.totp_code(member.secret, step + 3)
    assert staff.login_response(member, code=too_far).status_code == 401


def test_five_wrong_codes_after_the_right_password_lock_the_account(staff, db, clock):
    """Only someone who knows the password can lock the account, and the audit log says so."""
    member = staff.create("officer", "locked.out")
    wrong = security.totp_code(member.secret, security.totp_step(clock.now) + 7)
    statuses = [staff.attempt(member.username, PASSWORD, code=wrong).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]  # never throttled: the password was right
    locked_at = clock.now

    locked = staff.login_response(member)  # the owner, the right password and a fresh code: still locked
    assert locked.status_code == 423
    body = locked.get_json()
    assert body["code"] == "account_locked"
    assert datetime.fromisoformat(body["locked_until"]) == locked_at + timedelta(minutes=15)
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60

    [lock_event] = events(db, "staff.login_locked")
    assert lock_event.target_id == member.id
    assert lock_event.details["password_compromised"] is True
    assert lock_event.details["failed_attempts"] == 5
    assert events(db, "staff.login_failed")[-1].details["reason"] == "locked"

    clock.advance(minutes=14)
    assert staff.login_response(member).status_code == 423
    clock.advance(minutes=1, seconds=1)
    assert staff.login_response(member).status_code == 201
    db.expire_all()
    user = db.get(StaffUser, member.id)
    assert user.failed_attempts == 0 and user.locked_until is None


def test_lockout_threshold_and_window_are_settings(make_app, clock):
    from tests.api.staff.fixtures import Staff

    app = make_app(staff_lockout_attempts=2, staff_lockout_minutes=1)
    kit = Staff(app, app.test_client(), clock)
    member = kit.create("officer", "two.strikes")
    assert kit.login_response(member, code="000000").status_code == 401
    assert kit.login_response(member, code="000000").status_code == 423
    clock.advance(minutes=1, seconds=1)
    assert kit.login_response(member).status_code == 201


def test_a_success_resets_the_failure_count(staff, db):
    member = staff.create("officer", "forgetful")
    for _ in range(4):
        assert staff.login_response(member, code="000000").status_code == 401
    assert staff.login_response(member).status_code == 201
    for _ in range(4):
        assert staff.login_response(member, code="000000").status_code == 401
    assert staff.login_response(member).status_code == 201
    assert events(db, "staff.login_locked") == []


def test_a_stranger_with_wrong_passwords_cannot_lock_the_owner_out(staff, db, clock):
    member = staff.create("officer", "popular.name")
    failures = 0
    while failures < 6:
        response = staff.attempt(member.username, f"guess number {failures}")
        if response.status_code == 429:
            clock.advance(seconds=int(response.headers["Retry-After"]))
            continue
        assert response.status_code == 401, response.get_json()
        failures += 1
    assert staff.login_response(member, address=OWNER_ADDRESS).status_code == 201
    db.expire_all()
    user = db.get(StaffUser, member.id)
    assert user.failed_attempts == 0 and user.locked_until is None
    assert events(db, "staff.login_locked") == []


def test_wrong_passwords_are_throttled_per_address_with_a_growing_delay(staff, db, clock, monkeypatch):
    member = staff.create("officer", "hammered")
    assert [staff.attempt(member.username, "not it at all").status_code for _ in range(3)] == [401, 401, 401]

    hashes = []
    real = security._derive
    monkeypatch.setattr(security, "_derive", lambda *a, **k: hashes.append(1) or real(*a, **k))
    waits = []
    for _ in range(4):
        throttled = staff.attempt(member.username, "still not it")
        assert throttled.status_code == 429
        assert throttled.headers["Content-Type"] == "application/problem+json"
        assert throttled.get_json()["code"] == "login_throttled"
        assert throttled.get_json()["title"] == "Đăng nhập sai quá nhiều lần, vui lòng chờ"
        waits.append(int(throttled.headers["Retry-After"]))
        # Refused before the password is hashed: throttling saves the CPU too.
        assert staff.attempt(member.username, PASSWORD).status_code == 429
        assert hashes == []
        clock.advance(seconds=waits[-1])
        assert staff.attempt(member.username, "one more guess").status_code == 401
        hashes.clear()
    assert waits == [1, 2, 4, 8]

    # Another address is not throttled by the stranger's failures, nor is the owner.
    assert staff.attempt(member.username, "from elsewhere", address="198.51.100.7").status_code == 401
    assert staff.login_response(member).status_code == 201

    # Each failure is in the audit log; the throttle itself never stores the address.
    failures = events(db, "staff.login_failed")
    assert all(e.details["reason"] == "bad_password" for e in failures)
    db.expire_all()
    rows = db.execute(select(LoginThrottle)).scalars().all()
    assert STRANGER_ADDRESS not in repr([(r.username, r.address_hash) for r in rows])
    settings = resources_of(staff.app).settings
    by_address = {r.address_hash: r.failures for r in rows if r.username == member.username}
    # The owner's success cleared the owner's own address only.
    assert by_address == {staff_service.address_key(settings, STRANGER_ADDRESS): 7,
                          staff_service.address_key(settings, "198.51.100.7"): 1}


def test_the_address_key_is_a_keyed_hash():
    """Without the secret key, a stolen throttle table does not give the addresses back."""
    from dataclasses import replace as with_

    from ecert.config import Settings

    settings = Settings(secret_key="k" * 40)
    key = staff_service.address_key(settings, STRANGER_ADDRESS)
    assert len(key) == 64 and STRANGER_ADDRESS not in key
    assert key != hashlib.sha256(STRANGER_ADDRESS.encode()).hexdigest()
    assert key == hmac.new(b"k" * 40, b"ecert.login-throttle\x00" + STRANGER_ADDRESS.encode(),
                           hashlib.sha256).hexdigest()
    assert staff_service.address_key(with_(settings, secret_key="j" * 40), STRANGER_ADDRESS) != key


def test_the_delay_grows_to_fifteen_minutes_and_no_further():
    delays = [staff_service.throttle_delay(n) for n in range(1, 16)]
    assert delays[:6] == [0, 0, 1, 2, 4, 8]
    assert max(delays) == 15 * 60 and delays[-1] == 15 * 60
    assert delays == sorted(delays)


def test_an_unknown_username_is_throttled_like_a_known_one(staff):
    member = staff.create("officer", "real.person")
    for username in ("real.person", "no.such.person"):
        statuses = [staff.attempt(username, "wrong wrong wrong").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429], username
    assert member


def test_the_right_password_and_code_clear_the_throttle_for_that_address(staff, clock):
    member = staff.create("officer", "clumsy.fingers")
    for _ in range(3):
        assert staff.login_response(member, password="typo typo typo", code="000000").status_code == 401
    assert staff.login_response(member, code="000000").status_code == 429
    clock.advance(seconds=1)
    assert staff.login_response(member).status_code == 201
    # Counting starts again: three more typos before the first wait.
    typos = [staff.login_response(member, password="typo again", code="000000").status_code for _ in range(4)]
    assert typos == [401, 401, 401, 429]


def test_an_address_is_forgotten_after_a_day_and_old_rows_are_pruned(staff, db, clock):
    staff.create("officer", "old.news")
    for _ in range(3):
        staff.attempt("old.news", "wrong password")
    assert staff.attempt("old.news", "wrong password").status_code == 429
    clock.advance(hours=24, seconds=1)
    # Any failed sign-in prunes rows with no failure in the last day.
    assert staff.attempt("someone.else", "wrong password", address="198.51.100.8").status_code == 401
    db.expire_all()
    assert [r.username for r in db.execute(select(LoginThrottle)).scalars()] == ["someone.else"]
    assert staff.attempt("old.news", "wrong password").status_code == 401


def test_ipv6_addresses_are_throttled_by_their_64_bit_prefix(staff):
    staff.create("officer", "v6.target")
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"):
        assert staff.attempt("v6.target", "wrong password", address=host).status_code == 401
    assert staff.attempt("v6.target", "wrong password", address="2001:db8:1:2:ffff::9").status_code == 429
    assert staff.attempt("v6.target", "wrong password", address="2001:db8:1:3::1").status_code == 401


def test_a_locked_account_keeps_its_open_sessions(staff, clock):
    """A lockout caused by someone else's wrong codes must not sign the owner out."""
    member = staff.signed_in("officer", "at.work")
    for _ in range(5):
        staff.attempt(member.username, PASSWORD, code="000000")
    assert staff.login_response(member).status_code == 423
    assert staff.client.get(ME, headers=member.headers).status_code == 200


def test_idle_sessions_expire_and_activity_keeps_them_alive(staff, clock):
    member = staff.signed_in("officer", "busy.bee")
    for _ in range(3):
        clock.advance(minutes=29)
        assert staff.client.get(ME, headers=member.headers).status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = staff.client.get(ME, headers=member.headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "session_expired"


def test_a_refused_request_does_not_keep_a_session_alive(staff, db, clock):
    """Decision: only a request that succeeds renews the idle timer. A 4xx rolls the request's
    unit of work back, the renewal with it, so a stolen token probing with 404s cannot keep
    the session open; a 200 moves it on."""
    member = staff.signed_in("officer", "probe.target")

    def last_seen(who) -> datetime:
        db.expire_all()
        return db.execute(select(StaffSession.last_seen_at).where(StaffSession.staff_id == who.id)).scalar_one()

    signed_in_at = last_seen(member)
    clock.advance(minutes=20)
    assert staff.client.get("/api/v1/staff/requests/no-such-request", headers=member.headers).status_code == 404
    assert last_seen(member) == signed_in_at
    clock.advance(minutes=10, seconds=1)  # 30 minutes after sign-in, the 404 notwithstanding
    response = staff.client.get(ME, headers=member.headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "session_expired"

    other = staff.signed_in("officer", "busy.reader")
    signed_in_at = last_seen(other)
    clock.advance(minutes=20)
    assert staff.client.get(ME, headers=other.headers).status_code == 200
    assert last_seen(other) > signed_in_at
    clock.advance(minutes=29)  # 49 minutes after sign-in, 29 after the 200
    assert staff.client.get(ME, headers=other.headers).status_code == 200


def test_sessions_end_after_eight_hours_however_active(staff, clock):
    member = staff.signed_in("officer", "night.shift")
    for _ in range(16):
        clock.advance(minutes=29, seconds=50)
        assert staff.client.get(ME, headers=member.headers).status_code == 200
    clock.advance(minutes=5)  # 16 x 29:50 + 5:00 > 8 hours
    response = staff.client.get(ME, headers=member.headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "session_expired"


def test_logout_ends_the_session(staff, db):
    member = staff.signed_in("auditor", "quick.look")
    response = staff.client.delete("/api/v1/staff/sessions/current", headers=member.headers)
    assert response.status_code == 204
    assert response.data == b""
    after = staff.client.get(ME, headers=member.headers)
    assert after.status_code == 401
    assert after.get_json()["code"] == "session_invalid"
    assert staff.client.delete("/api/v1/staff/sessions/current", headers=member.headers).status_code == 401
    [logout] = events(db, "staff.logout")
    assert logout.actor_id == member.id


def test_disabling_an_account_ends_its_sessions(staff):
    member = staff.signed_in("officer", "leaver")
    with resources_of(staff.app).sessionmaker() as session:
        staff_service.disable_staff(session, "leaver", actor=TEST_ACTOR)
        session.commit()
    assert staff.client.get(ME, headers=member.headers).status_code == 401


def test_tokens_that_are_not_sessions_are_401(staff, auth):
    for header in (
        auth(**AN),  # a citizen's identity token
        {"Authorization": "Bearer " + "A" * 43},  # well-formed, unknown
        {"Authorization": "Bearer short"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {},
    ):
        response = staff.client.get(ME, headers=header)
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"username": "a", "password": "p"}, "totp", "required"),
        ({"username": "a", "password": "p", "totp": "12345"}, "totp", "totp_format"),
        ({"username": "a", "password": "p", "totp": "abcdef"}, "totp", "totp_format"),
        ({"username": "a", "password": "p", "totp": "123456", "role": "supervisor"}, "role", "unknown_field"),
        ({"username": "", "password": "p", "totp": "123456"}, "username", "required"),
        ({"username": "a", "password": "p" * 1025, "totp": "123456"}, "password", "too_long"),
    ],
)
def test_login_payload_errors(client, body, field, code):
    response = client.post(LOGIN, json=body)
    assert response.status_code == 422
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in response.get_json()["errors"]]


def test_login_problem_is_localised(staff):
    member = staff.create("officer", "english.reader")
    response = staff.client.post(LOGIN, json={"username": member.username, "password": "nope nope nope", "totp": "123456"},
                                 headers={"Accept-Language": "en"})
    assert response.get_json()["title"] == "Sign-in failed"
    response = staff.client.post(LOGIN, json={"username": member.username, "password": "nope nope nope", "totp": "123456"})
    assert response.get_json()["title"] == "Đăng nhập không thành công"


def test_login_is_rate_limited(make_app):
    app = make_app(rate_limits="login=3/minute")
    client = app.test_client()
    body = {"username": "someone", "password": "whatever password", "totp": "123456"}
    statuses = [client.post(LOGIN, json=body).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_weaker_hashes_are_upgraded_at_login(staff, db, monkeypatch):
    member = staff.create("officer", "old.hash")
    monkeypatch.setattr(security, "SCRYPT_N", 2**11)
    staff.login(member)
    db.expire_all()
    assert db.get(StaffUser, member.id).password_hash.startswith("scrypt$2048$8$1$")
    assert security.verify_password(PASSWORD, db.get(StaffUser, member.id).password_hash)


def test_the_cli_clears_a_username_throttle(staff, db):
    staff.create("officer", "called.support")
    for _ in range(3):
        staff.attempt("called.support", "wrong password")
    assert staff.attempt("called.support", "wrong password").status_code == 429
    result = staff.app.test_cli_runner().invoke(args=["ecert", "staff", "clear-throttle", "Called.Support", "--json"])
    assert result.exit_code == 0, result.output
    assert '"addresses_cleared": 1' in result.output
    assert staff.attempt("called.support", "wrong password").status_code == 401
    [cleared] = events(db, "staff.throttle_cleared")
    assert cleared.actor_type == "cli" and cleared.details == {"username": "called.support", "addresses": 1}


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="racing workers need PostgreSQL (SQLite has one writer)")
def test_racing_failures_on_several_workers_are_all_counted(provisioned):
    """Eight workers failing at once for a pair that has no row yet: one atomic upsert each, no
    duplicate-key error, every failure counted."""
    import threading
    import uuid

    from sqlalchemy import delete

    from ecert import create_app

    app = create_app({**provisioned, "rate_limits": "off"})
    app.config["TESTING"] = True
    username = f"race.{uuid.uuid4().hex[:12]}"
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def fail_once() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(LOGIN, json={"username": username, "password": "wrong password",
                                                 "totp": "000000"},
                                    environ_base={"REMOTE_ADDR": STRANGER_ADDRESS}).status_code)

    threads = [threading.Thread(target=fail_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert set(statuses) <= {401, 429} and len(statuses) == 8
        with resources_of(app).sessionmaker() as session:
            row = session.execute(select(LoginThrottle).where(LoginThrottle.username == username)).scalar_one()
            assert row.failures == statuses.count(401)
    finally:
        with resources_of(app).sessionmaker() as session:
            session.execute(delete(LoginThrottle).where(LoginThrottle.username == username))
            session.commit()
        resources_of(app).engine.dispose()
