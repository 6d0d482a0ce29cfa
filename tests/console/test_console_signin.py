"""Signing in to the console: the form, the cookie, CSRF, failures, the first-sign-in
confirmation, expiry and sign-out."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ecert.models import StaffSession
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    clock,
    events,
    fast_hashes,
    review_request,
    seeded,
    staff,
)
from tests.console.helpers import Console, another_console, console, console_clock  # noqa: F401


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_sign_in_form_names_its_fields_for_password_managers_and_phones(console):
    page = text(console.get("/staff/login"))
    assert re.search(r'<label for="username">Tên đăng nhập</label>', page)
    assert 'autocomplete="username"' in page
    assert 'type="password" autocomplete="current-password"' in page
    assert re.search(r'id="totp"[^>]*inputmode="numeric"[^>]*autocomplete="one-time-code"', page)
    assert '<html lang="vi">' in page
    assert "<script" not in page


def test_english_on_request_and_remembered(console):
    assert "Sign in" in text(console.get("/staff/login?lang=en"))
    page = text(console.get("/staff/login"))
    assert '<html lang="en">' in page and "Sign in" in page
    assert "Đăng nhập" in text(console.get("/staff/login?lang=vi"))


def test_an_english_browser_still_gets_vietnamese_by_default(console):
    page = text(console.get("/staff/login", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert '<html lang="vi">' in page


def test_the_cookie_is_httponly_strict_and_scoped_to_the_console(console, staff):
    member = staff.create("officer", "can.bo")
    response = console.login(member)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("ecert_console=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie
    assert "Secure" in cookie  # the tests' public address is https
    assert "Expires" not in cookie  # a browser-session cookie: the server-side session decides


def test_the_cookie_is_not_secure_only_for_a_plain_http_development_address(make_app):
    app = make_app(public_base_url="http://localhost:8000")
    cookie = app.test_client().get("/staff/login").headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_signing_in_renews_the_cookie_so_an_older_form_token_stops_working(console, staff):
    member = staff.create("officer", "can.bo")
    before = console.token("/staff/login")
    old_cookie = console.cookie().value
    console.sign_in(member)
    assert console.cookie().value != old_cookie
    refused = console.post("/staff/logout", {"csrf_token": before})
    assert refused.status_code == 400
    assert "Biểu mẫu đã hết hạn" in text(refused)
    assert console.get("/staff/").status_code == 200  # still signed in: the sign-out was refused


def test_a_form_posted_without_its_token_is_refused_before_anything_happens(console, staff, db):
    member = staff.create("officer", "can.bo")
    # Counted before and after: on PostgreSQL, committed tests leave audit events that stay.
    before = len(events(db, "staff.login")), len(events(db, "staff.login_failed"))
    refused = console.post(
        "/staff/login",
        {"username": member.username, "password": member.password, "totp": staff.fresh_code(member)},
        csrf=False,
    )
    assert refused.status_code == 400
    assert refused.mimetype == "text/html"
    assert (len(events(db, "staff.login")), len(events(db, "staff.login_failed"))) == before


def test_a_token_from_another_browser_is_refused(console, another_console, staff):
    member = staff.create("officer", "can.bo")
    stolen = another_console.token("/staff/login")
    assert console.token("/staff/login") != stolen  # this browser has a form token of its own
    refused = console.post(
        "/staff/login",
        {
            "username": member.username,
            "password": member.password,
            "totp": staff.fresh_code(member),
            "csrf_token": stolen,
        },
    )
    assert refused.status_code == 400


def test_a_wrong_password_says_so_and_is_recorded(console, staff, db):
    member = staff.create("officer", "can.bo")
    before = len(events(db, "staff.login_failed"))
    response = console.login(member, password="wrong password!!")
    assert response.status_code == 401
    assert "không đúng" in text(response)
    assert 'value="can.bo"' in text(response)  # the username is kept, never the password
    assert member.password not in text(response)
    [failed] = events(db, "staff.login_failed")[before:]
    assert failed.details["reason"] == "bad_password"


def test_a_lockout_says_until_when_and_what_to_do(console, staff, console_clock):
    member = staff.create("officer", "can.bo")
    for _ in range(4):
        assert console.login(member, code="000000").status_code == 401
    locked = console.login(member, code="000001")
    assert locked.status_code == 423
    assert "tạm khóa đến" in text(locked) and "báo ngay cho người quản trị" in text(locked)


def test_repeated_wrong_passwords_are_throttled_with_the_wait(console, staff):
    member = staff.create("officer", "can.bo")
    for _ in range(3):  # two free, then a wait (the code is left alone: fresh codes move the clock)
        console.login(member, password="wrong password!!", code="123456")
    throttled = console.login(member, password="wrong password!!", code="123456")
    assert throttled.status_code == 429
    assert "giây" in text(throttled)


def test_first_sign_in_asks_for_a_second_newer_code(console, staff, db):
    member = staff.create("officer", "can.bo")
    first = console.login(member)
    assert first.headers["Location"].endswith("/staff/confirm")
    # Nothing else opens before the confirmation.
    assert console.get("/staff/queue").headers["Location"].endswith("/staff/confirm")
    replayed = console.post("/staff/confirm", {"totp": _code_of_step(member, member.last_step)}, page="/staff/confirm")
    assert replayed.status_code == 403
    assert "không được chấp nhận" in text(replayed)
    done = console.confirm(member)
    assert done.status_code == 303 and done.headers["Location"].endswith("/staff/")
    assert console.get("/staff/queue").status_code == 200
    assert console.get("/staff/confirm").headers["Location"].endswith("/staff/")  # once is enough
    [confirmed] = events(db, "staff.totp_confirmed")
    assert confirmed.target_id == member.id
    # The next sign-in goes straight in.
    second = Console(console.app, staff)
    assert second.login(member).headers["Location"].endswith("/staff/")


def _code_of_step(member, step):
    from ecert import security

    return security.totp_code(member.secret, step)


def test_an_idle_session_expires_and_the_page_says_so(console, staff, console_clock):
    console.sign_in(staff.create("officer", "can.bo"))
    assert console.get("/staff/queue").status_code == 200
    console_clock.advance(minutes=31)
    gone = console.get("/staff/queue")
    assert gone.status_code == 303 and gone.headers["Location"].endswith("/staff/login?reason=expired")
    page = text(console.get(gone.headers["Location"]))
    assert "Phiên làm việc đã hết hạn" in page and "đăng nhập lại" in page


def test_activity_keeps_a_session_until_its_absolute_end(console, staff, console_clock):
    console.sign_in(staff.create("officer", "can.bo"))
    for _ in range(17):  # 8.5 hours, a page every 30 minutes less a second
        console_clock.advance(minutes=29, seconds=59)
        response = console.get("/staff/")
        if response.status_code != 200:
            break
    assert response.status_code == 303 and "reason=expired" in response.headers["Location"]


def test_signing_out_ends_the_session_for_a_copied_cookie_too(console, staff, db):
    member = staff.create("officer", "can.bo")
    console.sign_in(member)
    copied = console.cookie().value
    out = console.post("/staff/logout")
    assert out.status_code == 303 and "reason=signed_out" in out.headers["Location"]
    assert "Bạn đã đăng xuất" in text(console.get(out.headers["Location"]))
    thief = Console(console.app, console.staff)
    thief.client.set_cookie("ecert_console", copied, path="/staff")
    assert thief.get("/staff/").headers["Location"].endswith("reason=invalid")
    assert events(db, "staff.logout")
    db.expire_all()
    assert all(s.ended_at is not None for s in db.execute(select(StaffSession)).scalars())


def test_the_console_and_the_api_share_the_session_rules(console, staff, client):
    """The cookie carries the API's opaque token: the same row, so a disabled account's console
    session ends at once (staff disable)."""
    member = staff.create("officer", "can.bo")
    console.sign_in(member)
    from ecert.services import staff as staff_service
    from ecert.wiring import resources_of
    from tests.api.staff.fixtures import TEST_ACTOR

    with resources_of(console.app).sessionmaker() as session:
        staff_service.disable_staff(session, member.username, actor=TEST_ACTOR)
        session.commit()
    assert console.get("/staff/").headers["Location"].endswith("reason=invalid")


@pytest.mark.parametrize("path", ["/staff/", "/staff/queue", "/staff/audit", "/staff/keys", "/staff/certificates"])
def test_every_page_needs_a_session(console, path):
    response = console.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/login?reason=invalid")


def test_over_https_a_post_needs_a_referer_of_this_origin(make_app, console_clock):
    """Flask-WTF's strict mode over HTTPS: the console sends Referrer-Policy same-origin (the
    app's default, no-referrer, would refuse every form)."""
    from tests.api.staff.fixtures import Staff

    app = make_app(public_base_url="https://ecert.example.gov.vn")
    staff = Staff(app, app.test_client(), console_clock)
    member = staff.create("officer", "can.bo")
    browser = Console(app, staff)
    base = "https://ecert.example.gov.vn"
    page = browser.get("/staff/login", base_url=base)
    assert page.headers["Referrer-Policy"] == "same-origin"
    from tests.console.helpers import csrf_of

    form = {
        "username": member.username,
        "password": member.password,
        "totp": staff.fresh_code(member),
        "csrf_token": csrf_of(page.get_data(as_text=True)),
    }
    assert browser.client.post("/staff/login", data=form, base_url=base).status_code == 400
    signed = browser.client.post("/staff/login", data=form, base_url=base, headers={"Referer": base + "/staff/login"})
    assert signed.status_code == 303


def test_the_sign_in_form_shares_the_apis_login_rate_limit(make_app, console_clock):
    """Per address, whatever the username: the page says how long to wait, with Retry-After."""
    from tests.api.staff.fixtures import Staff

    app = make_app(rate_limits="login=2/minute")
    browser = Console(app, Staff(app, app.test_client(), console_clock))
    for _ in range(2):
        answer = browser.post(
            "/staff/login", {"username": "x.y.z", "password": "p" * 12, "totp": "123456"}, page="/staff/login"
        )
        assert answer.status_code == 401
    limited = browser.post(
        "/staff/login", {"username": "x.y.z", "password": "p" * 12, "totp": "123456"}, page="/staff/login"
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Quá nhiều lần đăng nhập từ địa chỉ này" in text(limited)
    assert browser.get("/staff/login").status_code == 200  # reading the form is not limited
