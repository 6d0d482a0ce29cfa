"""Driving the console through Flask's test client: sign in with the CSRF token of the page,
as a browser would (the browser tests use Chromium: tests/console/test_console_browser.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.staff.fixtures import Member, Staff

CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Console:
    """One browser: its own cookie jar."""

    app: Any
    staff: Staff

    def __post_init__(self) -> None:
        self.client = self.app.test_client()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/staff/login") -> str:
        return csrf_of(self.client.get(path).get_data(as_text=True))

    def post(self, path: str, data: dict[str, Any] | None = None, *, page: str | None = None,
             csrf: bool = True, **kwargs: Any) -> Any:
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.token(page or "/staff/")
        return self.client.post(path, data=data, **kwargs)

    def login(self, member: Member, *, password: str | None = None, code: str | None = None,
              address: str = "192.0.2.10") -> Any:
        return self.post("/staff/login", {
            "username": member.username,
            "password": member.password if password is None else password,
            "totp": code if code is not None else self.staff.fresh_code(member),
        }, page="/staff/login", environ_base={"REMOTE_ADDR": address})

    def confirm(self, member: Member) -> Any:
        return self.post("/staff/confirm", {"totp": self.staff.fresh_code(member)}, page="/staff/confirm")

    def sign_in(self, member: Member) -> Member:
        first = self.login(member)
        assert first.status_code == 303, first.get_data(as_text=True)[:2000]
        if first.headers["Location"].endswith("/staff/confirm"):
            done = self.confirm(member)
            assert done.status_code == 303, done.get_data(as_text=True)[:2000]
        return member

    def cookie(self) -> Any:
        return self.client.get_cookie("ecert_console", path="/staff")


@pytest.fixture
def console_clock(clock, monkeypatch):
    monkeypatch.setattr("api.console.auth.utcnow", clock)
    return clock


@pytest.fixture
def console(app, staff, console_clock) -> Console:
    return Console(app, staff)


@pytest.fixture
def another_console(app, staff, console_clock) -> Console:
    return Console(app, staff)
