"""End to end against a live server (tests/e2e/conftest.py): the verification page in headless
Chromium on a phone-sized screen, and the offline verifier's CLI checking status online.

The browser is Debian's Chromium (/usr/bin/chromium) driven by Playwright, never a downloaded
browser; the browser tests are skipped, saying why, only where that binary is absent.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import cbor2
import pytest

from signing.cose import digits_of
from verification.token import digits_decode

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PHONE = {"width": 390, "height": 844}


def _token(cert: dict[str, Any]) -> str:
    return cert["qr_text"].rsplit("/", 1)[1]


def _tampered(token: str) -> str:
    """The record statement flipped 0 -> 1, the original signature kept."""
    raw = digits_decode(token)
    protected, unprotected, payload, signature = cbor2.loads(raw).value
    claims = cbor2.loads(payload)
    claims[-70000][6] = 1
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(claims, canonical=True), signature]))
    return digits_of(cose)


# --- the browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium); "
                    "browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


CASES = {
    # name: (which token, expected outcome, Vietnamese verdict, verdict colour of the CSS)
    "valid": ("valid", "valid", "Hợp lệ", "rgb(18, 112, 58)"),
    "revoked": ("revoked", "revoked", "Đã bị thu hồi", "rgb(179, 38, 30)"),
    "tampered": ("tampered", "tampered", "Không hợp lệ — đã bị sửa đổi", "rgb(179, 38, 30)"),
    "junk": ("junk", "malformed", "Không phải mã của dịch vụ này", "rgb(75, 80, 88)"),
}


def _path_for(live_server: Any, which: str) -> str:
    if which == "junk":
        return "/v/this-is-not-a-certificate"
    if which == "tampered":
        return "/v/" + _tampered(_token(live_server.certificates["valid"]))
    return "/v/" + _token(live_server.certificates[which])


@pytest.mark.browser
@pytest.mark.parametrize("name", list(CASES))
def test_phone_page_shows_the_verdict(browser, live_server, tmp_path, name):
    which, outcome, words, colour = CASES[name]
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="vi-VN")
    problems: list[str] = []
    page = context.new_page()
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    other_hosts: list[str] = []
    page.on("request", lambda req: other_hosts.append(req.url) if not req.url.startswith(live_server.url) else None)
    try:
        response = page.goto(live_server.url + _path_for(live_server, which))
        assert response is not None and response.status == 200
        verdict = page.locator("#verdict")
        assert verdict.is_visible()
        assert verdict.inner_text().strip() == words
        assert verdict.get_attribute("data-outcome") == outcome
        # the stylesheet is applied (allowed by its CSP hash) and the verdict is big
        box = page.locator(".verdict")
        assert box.evaluate("e => getComputedStyle(e).backgroundColor") == colour
        assert float(verdict.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 28
        # readable at 390 px: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        if name == "valid":
            assert page.locator('[data-field="holder_name"] dd').inner_text() == "Nguyễn Văn An"
            assert page.locator('[data-field="masked_personal_id"] dd').inner_text() == "001******345"
        page.screenshot(path=str(tmp_path / f"verify-{name}.png"), full_page=True)

        page.click("a.lang")  # the language switch
        english = page.locator("#verdict").inner_text().strip()
        assert english == {"valid": "Valid", "revoked": "Revoked", "tampered": "Not valid — altered",
                           "junk": "Not a certificate from this service"}[name]
        page.screenshot(path=str(tmp_path / f"verify-{name}-en.png"), full_page=True)
    finally:
        context.close()
    assert not problems, problems  # no CSP violation, no script error
    assert not other_hosts, other_hosts  # no third-party asset
    assert (tmp_path / f"verify-{name}.png").stat().st_size > 10_000
    shots = os.environ.get("ECERT_SCREENSHOT_DIR")
    if shots:  # for a person to look at: ECERT_SCREENSHOT_DIR=/some/dir
        Path(shots).mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            (Path(shots) / png.name).write_bytes(png.read_bytes())


# --- the CLI, online -------------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, dict[str, Any]]:
    completed = subprocess.run([sys.executable, "-m", "verification", *args, "--json"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
    assert completed.stdout, completed.stderr
    return completed.returncode, json.loads(completed.stdout)


def test_cli_checks_status_against_the_live_server(live_server):
    code, result = _cli(live_server.certificates["valid"]["qr_text"], "--server", live_server.url)
    assert (code, result["outcome"]) == (0, "valid"), result
    code, result = _cli(live_server.certificates["revoked"]["qr_text"], "--server", live_server.url)
    assert (code, result["outcome"]) == (1, "revoked"), result
