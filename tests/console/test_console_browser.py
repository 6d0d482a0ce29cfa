"""The staff journey in Debian's Chromium (Playwright, headless), for each role: sign in (with
the first-sign-in confirmation), the overview, the queue, approve, refuse, revoke with step-up,
the audit log, sign out; what each role must not see or do; CSRF, expiry and the cookie's flags;
no console error and no CSP violation on any page; axe-core (the copy packaged in
axe-playwright-python) on every main page; keyboard-only sign-in; 1280 px and a tablet.

``ECERT_CONSOLE_SCREENSHOTS=docs/img`` saves the main pages as docs/img/staff-*.png (docs/staff.md).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.console.live import Live, live  # noqa: F401  (fixture)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
SHOTS = os.environ.get("ECERT_CONSOLE_SCREENSHOTS")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:  # noqa: ARG001 - after the server: Playwright's loop would
    # be running in this thread, and issuing (pyHanko's asyncio.run) refuses to run inside it.
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


class Tab:
    """One browser context and page, collecting console errors, page errors and CSP reports."""

    def __init__(self, browser: Any, live: Live, viewport: dict[str, int] = DESKTOP) -> None:
        self.live = live
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))

    def go(self, path: str, expect: int = 200) -> Any:
        """Open a page; a deliberate error page (``expect``) is not counted as a console problem
        (Chromium logs the error status of the document itself)."""
        seen = len(self.problems)
        response = self.page.goto(self.live.url + path)
        assert response.status == expect, (path, response.status)
        self.expected(seen, expect)
        return response

    def expected(self, seen: int, status: int) -> None:
        if status >= 400:
            mark = f"status of {status} "
            self.problems[seen:] = [p for p in self.problems[seen:] if mark not in p]

    def sign_in(self, role: str) -> None:
        member = self.live.members[role]
        self.go("/staff/login")
        self.page.get_by_label("Tên đăng nhập", exact=True).fill(member.username)
        self.page.get_by_label("Mật khẩu", exact=True).fill(member.password)
        self.page.get_by_label("Mã xác thực (6 số)", exact=True).fill(self.live.code(member))
        self.page.get_by_role("button", name="Đăng nhập", exact=True).click()
        if self.page.url.endswith("/staff/confirm"):
            self.page.get_by_label("Mã xác thực (6 số)", exact=True).fill(self.live.code(member))
            self.page.get_by_role("button", name="Xác nhận", exact=True).click()
        assert self.page.url.endswith("/staff/"), self.page.url
        assert self.page.get_by_role("heading", name="Tổng quan").is_visible()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Đăng xuất", exact=True).click()
        assert "Bạn đã đăng xuất" in self.page.content()

    def text(self) -> str:
        return self.page.inner_text("main")

    def nav(self) -> list[str]:
        return [t.strip() for t in self.page.locator("nav a").all_inner_texts()]

    def axe(self, name: str) -> None:
        """axe-core on the page as it is; any violation is listed by rule and node."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        violations = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
                      for v in results.response["violations"]]
        assert not violations, f"{name}: {violations}"

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SHOTS) / f"staff-{name}.png"), full_page=True)

    def no_horizontal_scroll(self) -> None:
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{self.page.url} scrolls sideways by {overflow}px"

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems


@pytest.fixture
def tab(browser: Any, live: Live) -> Iterator[Tab]:
    opened = Tab(browser, live)
    yield opened
    opened.close()


def test_officer_journey_queue_approve_refuse_and_limits(tab: Tab, live: Live) -> None:
    tab.go("/staff/login")
    tab.axe("sign-in")
    tab.shot("login")
    tab.sign_in("officer")
    assert tab.nav() == ["Tổng quan", "Hàng chờ", "Tra cứu phiếu"]
    tab.axe("overview")
    tab.shot("overview")

    tab.page.get_by_role("link", name="Hàng chờ", exact=True).click()
    rows = tab.page.locator("table.list tbody tr")
    assert "Hoàng Thị Dung" in rows.first.inner_text() and "Quá hạn" in rows.first.inner_text()
    tab.axe("queue")
    tab.shot("queue")
    tab.page.get_by_label("Mẫu phiếu", exact=True).select_option("2")
    tab.page.get_by_role("button", name="Lọc", exact=True).click()
    assert "Đỗ Minh Phúc" in tab.text() and "Lê Văn Cường" not in tab.text()

    tab.go(f"/staff/requests/{live.requests['cuong']['id']}")
    assert "Án tích" in tab.text()
    tab.axe("request")
    tab.shot("request")
    tab.page.get_by_role("button", name="Duyệt", exact=True).click()
    assert re.search(r"Đã duyệt: phiếu LLTP-\d{4}-\d+ đã được cấp", tab.text())
    assert tab.page.get_by_role("button", name="Duyệt", exact=True).count() == 0

    tab.go(f"/staff/requests/{live.requests['dung']['id']}")
    tab.page.get_by_label("Lý do từ chối").select_option("documents_invalid")
    note = "Bản sao giấy tờ chưa được chứng thực.\nXin nộp lại bản có chứng thực."
    tab.page.get_by_label("Ghi chú gửi công dân", exact=True).fill(note)
    tab.page.get_by_role("button", name="Xem trước lời từ chối", exact=True).click()
    assert "Công dân sẽ đọc" in tab.text() and "Bản sao giấy tờ chưa được chứng thực." in tab.text()
    tab.axe("refusal preview")
    tab.shot("refuse-preview")
    tab.page.get_by_role("button", name="Từ chối", exact=True).click()
    assert "Đã từ chối yêu cầu" in tab.text()
    assert note in tab.page.inner_text("dd.pre")  # the note as typed, lines kept, through the preview

    tab.go(f"/staff/certificates/{live.certificates['an']['id']}")
    assert tab.page.get_by_role("button", name="Thu hồi", exact=True).count() == 0
    for path in ("/staff/audit", "/staff/keys"):
        tab.go(path, expect=403)
        assert "Vai trò của bạn không được phép" in tab.text()
    tab.sign_out()


def test_supervisor_revokes_with_a_fresh_code_and_checks_the_chain(tab: Tab, live: Live) -> None:
    tab.sign_in("supervisor")
    assert tab.nav() == ["Tổng quan", "Hàng chờ", "Tra cứu phiếu", "Nhật ký kiểm toán", "Khóa ký"]
    tab.page.get_by_role("link", name="Tra cứu phiếu", exact=True).click()
    tab.page.get_by_label("Số phiếu", exact=True).fill(live.certificates["an"]["number"])
    tab.page.get_by_role("button", name="Tìm", exact=True).click()
    assert "Lịch sử kiểm tra" in tab.text() and "Quét QR (API)" in tab.text()
    tab.axe("certificate")
    tab.shot("certificate")

    tab.go(f"/staff/certificates/{live.certificates['binh']['id']}")
    member = live.members["supervisor"]
    tab.page.get_by_label("Lý do thu hồi", exact=True).select_option("issued_in_error")
    tab.page.get_by_label("Ghi chú", exact=True).fill("Cấp nhầm: hồ sơ của người khác.")
    tab.page.get_by_label("Mã xác thực mới (6 số)", exact=True).fill(live.code(member))
    tab.page.get_by_role("button", name="Thu hồi", exact=True).click()
    assert "Đã thu hồi phiếu" in tab.text() and "Đã thu hồi" in tab.page.inner_text(".status-line")

    tab.page.get_by_role("link", name="Nhật ký kiểm toán", exact=True).click()
    tab.page.get_by_role("link", name="Kiểm tra toàn bộ chuỗi", exact=True).click()
    assert "Chuỗi nguyên vẹn" in tab.text() and "certificate.revoked" in tab.text()
    tab.axe("audit log")
    tab.shot("audit")
    tab.page.get_by_role("link", name="Khóa ký", exact=True).click()
    assert "Đang dùng" in tab.text()
    tab.axe("keys")
    tab.shot("keys")
    tab.sign_out()


def test_auditor_reads_the_log_and_nothing_else(tab: Tab, live: Live) -> None:
    tab.sign_in("auditor")
    assert tab.nav() == ["Tổng quan", "Nhật ký kiểm toán"]
    assert tab.page.get_by_role("link", name="Mở hàng chờ", exact=True).count() == 0
    tab.page.get_by_role("link", name="Nhật ký kiểm toán", exact=True).click()
    tab.page.get_by_label("Hành động", exact=True).fill("staff.")
    tab.page.get_by_role("button", name="Lọc", exact=True).click()
    assert "staff.login" in tab.text()
    for path in ("/staff/queue", f"/staff/requests/{live.requests['phuc']['id']}", "/staff/keys"):
        tab.go(path, expect=403)
    assert "Đỗ Minh Phúc" not in tab.page.content()
    tab.sign_out()


def test_a_form_without_its_token_is_refused_in_the_browser(tab: Tab, live: Live) -> None:
    tab.sign_in("officer")
    tab.go(f"/staff/requests/{live.requests['phuc']['id']}")
    tab.page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    seen = len(tab.problems)
    with tab.page.expect_response(lambda r: r.url.endswith("/approve")) as answer:
        tab.page.get_by_role("button", name="Duyệt", exact=True).click()
    assert answer.value.status == 400
    tab.page.wait_for_load_state()
    tab.expected(seen, 400)
    assert "Biểu mẫu đã hết hạn" in tab.text()
    tab.go(f"/staff/requests/{live.requests['phuc']['id']}")
    assert tab.page.get_by_role("button", name="Duyệt", exact=True).count() == 1  # still waiting


def test_an_expired_session_says_so_and_the_cookie_flags(tab: Tab, live: Live) -> None:
    tab.sign_in("officer")
    [cookie] = [c for c in tab.context.cookies() if c["name"] == "ecert_console"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/staff"
    assert cookie["expires"] == -1  # ends with the browser; the server-side session decides
    assert tab.page.evaluate("document.cookie") == ""  # no script can read it
    live.clock.advance(minutes=31)
    tab.go("/staff/queue")
    assert tab.page.url.endswith("/staff/login?reason=expired")
    assert "Phiên làm việc đã hết hạn" in tab.text()


def test_keyboard_only_sign_in_with_visible_focus(tab: Tab, live: Live) -> None:
    member = live.members["auditor"]
    tab.go("/staff/login")
    page = tab.page
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "username":
            break
    assert page.evaluate("document.activeElement.id") == "username"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.type(member.username)
    page.keyboard.press("Tab")
    page.keyboard.type(member.password)
    page.keyboard.press("Tab")
    page.keyboard.type(live.code(member))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/staff/$"))
    assert "Tổng quan" in tab.text()


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["1280", "tablet"])
def test_pages_fit_the_screen(browser: Any, live: Live, viewport: dict[str, int]) -> None:
    tab = Tab(browser, live, viewport)
    tab.sign_in("supervisor")
    for path in ("/staff/", "/staff/queue", f"/staff/requests/{live.requests['phuc']['id']}",
                 f"/staff/certificates/{live.certificates['an']['id']}", "/staff/keys"):
        tab.go(path)
        tab.no_horizontal_scroll()
    tab.go("/staff/?lang=en")
    assert tab.page.get_by_role("heading", name="Overview").is_visible()
    if viewport is TABLET:
        tab.shot("overview-tablet")
    tab.close()


def test_the_accessibility_check_can_fail(tab: Tab) -> None:
    """axe runs for real: a field without a label is caught (so a clean page means something)."""
    tab.page.set_content('<!doctype html><html lang="vi"><title>x</title><main><input id="x"></main></html>')
    with pytest.raises(AssertionError, match="label"):
        tab.axe("unlabelled field")
