"""What every console answer carries: HTML error pages (never problem+json or a traceback), the
strict CSP, no caching, and the style sheet from this origin."""
from __future__ import annotations

import pytest

from tests.api.staff.fixtures import clock, fast_hashes, staff  # noqa: F401  (fixtures)
from tests.console.helpers import console, console_clock  # noqa: F401


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def officer(console, staff):
    return console.sign_in(staff.create("officer", "can.bo"))


def test_pages_carry_a_strict_csp_and_are_never_cached(console, officer):
    response = console.get("/staff/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "form-action 'self'" in csp
    assert "unsafe-inline" not in csp and "script-src" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in text(response) and "style=" not in text(response)


def test_the_style_sheet_is_served_from_this_origin(console):
    response = console.get("/staff/static/console.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert "http" not in text(response)  # no font or image from elsewhere


@pytest.mark.parametrize("path", ["/staff/requests/nope", "/staff/certificates/nope", "/staff/no/such/page"])
def test_a_missing_thing_is_a_404_page(console, officer, path):
    response = console.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Không tìm thấy" in text(response)


def test_an_unknown_path_is_a_page_even_signed_out(console):
    response = console.get("/staff/static/nothing.css")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_an_unexpected_error_is_a_page_with_the_request_id_never_a_traceback(console, officer, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("ecert.services.overview.overview", broken)
    response = console.get("/staff/", headers={"X-Request-ID": "req-12345"})
    assert response.status_code == 500 and response.mimetype == "text/html"
    page = text(response)
    assert "req-12345" in page and "secret internals" not in page and "Traceback" not in page


def test_a_database_outage_is_a_503_page(console, officer, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr("ecert.services.overview.overview", down)
    response = console.get("/staff/")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "tạm thời không phục vụ" in text(response)


def test_the_json_api_is_untouched_by_the_console(client):
    response = client.get("/api/v1/staff/requests")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert "Set-Cookie" not in response.headers
    posted = client.post("/api/v1/staff/sessions", json={"username": "x", "password": "y", "totp": "123456"})
    assert posted.status_code == 401  # no CSRF token asked of the bearer-token API
