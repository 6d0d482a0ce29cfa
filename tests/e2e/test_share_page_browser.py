"""A holder's share link in headless Chromium on a phone-sized screen (tests/e2e/conftest.py's live
server): the verdict and the PDF button in Vietnamese and English, the same CSP as ``/v/`` with
no violation and no third-party asset, and the 410 page once the holder revokes the link."""
from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from ecert.models import Certificate
from ecert.services import shares as share_service
from ecert.services.audit import Actor
from ecert.wiring import resources_of

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PHONE = {"width": 390, "height": 844}
HOLDER = Actor("citizen", "001090012345")


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


def _make_share(live_server: Any) -> tuple[str, str]:
    """A share of the valid certificate with its PDF, made and committed as the API would."""
    with resources_of(live_server.app).sessionmaker() as session:
        certificate = session.get(Certificate, live_server.certificates["valid"]["id"])
        made = share_service.create_share(session, certificate, expires_in_hours=2, include_pdf=True, max_uses=5,
                                          actor=HOLDER)
        session.commit()
        return made.share.id, f"/s/{made.share.id}/{made.secret}"


def _revoke(live_server: Any, share_id: str) -> None:
    with resources_of(live_server.app).sessionmaker() as session:
        share_service.revoke_share(session, live_server.certificates["valid"]["id"], share_id, actor=HOLDER)
        session.commit()


@pytest.mark.browser
def test_share_page_on_a_phone(browser, live_server, tmp_path):
    share_id, path = _make_share(live_server)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="vi-VN")
    problems: list[str] = []
    other_hosts: list[str] = []
    page = context.new_page()
    # The 410 page is meant: Chromium still reports its status on the console, which is no problem.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type in ("error", "warning") and "status of 410" not in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("request", lambda req: other_hosts.append(req.url) if not req.url.startswith(live_server.url) else None)
    try:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        verdict = page.locator("#verdict")
        assert verdict.inner_text().strip() == "Hợp lệ"
        assert page.locator(".verdict").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(18, 112, 58)"
        assert page.locator("#shared").is_visible()
        assert page.locator('[data-field="holder_name"] dd').inner_text() == "Nguyễn Văn An"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        download = page.locator("a.download")
        assert download.is_visible() and download.inner_text() == "Tải tệp PDF (có chữ ký số)"
        pdf = context.request.get(live_server.url + download.get_attribute("href"))
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
        page.screenshot(path=str(tmp_path / "share-vi.png"), full_page=True)

        page.click("a.lang")
        assert page.locator("#verdict").inner_text().strip() == "Valid"
        assert page.locator("a.download").inner_text() == "Download the PDF (digitally signed)"
        page.screenshot(path=str(tmp_path / "share-en.png"), full_page=True)

        _revoke(live_server, share_id)
        gone = page.goto(live_server.url + path)
        assert gone is not None and gone.status == 410
        assert page.locator("#verdict").get_attribute("data-outcome") == "revoked"
        assert page.locator("#verdict").inner_text().strip() == "Liên kết đã bị thu hồi"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.goto(live_server.url + path + "?lang=en")
        assert page.locator("#verdict").inner_text().strip() == "This link has been revoked"
    finally:
        context.close()
    assert not problems, problems  # no CSP violation, no script error
    assert not other_hosts, other_hosts  # no third-party asset
    assert (tmp_path / "share-vi.png").stat().st_size > 10_000
