"""The console's work pages: the queue, a request, approve and refuse, certificates and revocation
with step-up, the audit log and the keys — each through the same services (and audit events) as
the JSON API, and each refused to the roles that may not."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from ecert import security
from ecert.models import Certificate, CertificateRequest
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    AN,
    BINH,
    CUONG,
    DUNG,
    PHUC,
    clock,
    events,
    fast_hashes,
    issued_certificate,
    review_request,
    seeded,
    staff,
    submit,
)
from tests.console.helpers import console, console_clock  # noqa: F401
from tests.support import form2_payload


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def officer(console, staff):
    return console.sign_in(staff.create("officer", "can.bo"))


@pytest.fixture
def supervisor(console, staff):
    return console.sign_in(staff.create("supervisor", "giam.sat"))


@pytest.fixture
def auditor(console, staff):
    return console.sign_in(staff.create("auditor", "kiem.toan"))


@pytest.fixture
def queue(seeded, client, auth, db):
    made = {
        "cuong": submit(client, auth, CUONG),
        "dung": submit(client, auth, DUNG, include_ban_section=True),
        "an": submit(client, auth, AN, form=form2_payload),
        "phuc": submit(client, auth, PHUC, residence_history=[
            {"from": "2017-09", "to": "2020-08", "address": "1 Lê Lợi, Quận 1, TP Hồ Chí Minh", "province_code": "79"},
            {"from": "2020-09", "to": None, "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội", "province_code": "01"},
        ]),
    }
    db.execute(update(CertificateRequest).where(CertificateRequest.id == made["dung"]["id"])
               .values(due_at=datetime.now(timezone.utc) - timedelta(days=1)))
    db.commit()
    return made


# --- the queue ---------------------------------------------------------------------------------------


def test_the_queue_lists_overdue_first_and_says_so_in_words(console, officer, queue):
    page = text(console.get("/staff/queue"))
    names = [name for name in ("Hoàng Thị Dung", "Lê Văn Cường", "Nguyễn Văn An", "Đỗ Minh Phúc") if name in page]
    assert len(names) == 4
    assert page.index("Hoàng Thị Dung") < min(page.index(n) for n in names[1:])
    assert page.count("Quá hạn</strong>") == 1  # the badge: a word and an icon, not only a colour


def test_the_queue_filters_by_form_and_by_province(console, officer, queue):
    form2 = text(console.get("/staff/queue?form=2"))
    assert "Nguyễn Văn An" in form2 and "Lê Văn Cường" not in form2
    # Phúc lives in Hà Nội (01) now, after Hồ Chí Minh (79); the others' history is in 01 too.
    in_79 = text(console.get("/staff/queue?province=79"))
    assert "Đỗ Minh Phúc" not in in_79 and "Lê Văn Cường" not in in_79
    in_01 = text(console.get("/staff/queue?province=01"))
    assert "Đỗ Minh Phúc" in in_01
    assert "Lê Văn Cường" not in text(console.get("/staff/queue?status=issued"))


@pytest.mark.parametrize("query", ["form=3", "province=99", "status=bogus"])
def test_a_filter_value_not_offered_is_reported_not_a_500(console, officer, queue, query):
    response = console.get(f"/staff/queue?{query}")
    assert response.status_code == 422
    assert 'aria-invalid="true"' in text(response)


def test_a_forged_cursor_is_an_error_page(console, officer, queue):
    response = console.get("/staff/queue?cursor=not-a-cursor")
    assert response.status_code == 422
    assert response.mimetype == "text/html" and "Traceback" not in text(response)


# --- a request, approve, refuse ----------------------------------------------------------------------


def test_opening_a_request_shows_record_reasons_timeline_and_is_audited(console, officer, review_request, db):
    page = text(console.get(f"/staff/requests/{review_request['id']}"))
    assert "Lê Văn Cường" in page
    assert "has_unexpunged_conviction" in page  # the review reason, with its label
    assert "Án tích" in page and "Diễn biến" in page
    assert ">Duyệt</button>" in page and "Xem trước lời từ chối" in page
    [viewed] = events(db, "request.viewed")
    assert viewed.target_id == review_request["id"] and viewed.actor_id == officer.id


def test_approve_issues_through_the_same_path_as_the_api(console, officer, review_request, db, client, auth):
    url = f"/staff/requests/{review_request['id']}"
    done = console.post(f"{url}/approve", page=url)
    assert done.status_code == 303 and done.headers["Location"].endswith(url)
    page = text(console.get(url))
    assert "Đã duyệt: phiếu LLTP-" in page
    [approved] = events(db, "request.approved")
    assert approved.actor_id == officer.id and events(db, "certificate.issued")
    body = client.get(f"/api/v1/requests/{review_request['id']}", headers=auth(**CUONG)).get_json()
    assert body["status"] == "issued" and body["certificate_id"]
    again = console.post(f"{url}/approve", page=url)
    assert again.status_code == 409
    assert "Yêu cầu đã được giải quyết" in text(again) and ">Duyệt</button>" not in text(again)


def test_refuse_shows_the_citizens_words_first_then_decides(console, officer, review_request, db, client, auth):
    url = f"/staff/requests/{review_request['id']}"
    note = "Giấy tờ bổ sung không hợp lệ: bản sao chưa chứng thực."
    preview = console.post(f"{url}/refuse", {"reason": "documents_invalid", "note": note}, page=url)
    assert preview.status_code == 200
    page = text(preview)
    assert "Công dân sẽ đọc" in page
    assert "Giấy tờ kèm theo tờ khai không đầy đủ hoặc giả mạo" in page and note in page
    assert not events(db, "request.refused")  # nothing decided yet
    done = console.post(f"{url}/refuse", {"reason": "documents_invalid", "note": note, "confirm": "yes"}, page=url)
    assert done.status_code == 303
    [refused] = events(db, "request.refused")
    assert refused.details == {"reason": "documents_invalid", "note": note}
    body = client.get(f"/api/v1/requests/{review_request['id']}", headers=auth(**CUONG)).get_json()
    assert body["status"] == "refused" and body["refusal"]["note"] == note


@pytest.mark.parametrize("data, field", [
    ({"reason": "documents_invalid", "note": "   "}, "note"),
    ({"reason": "because", "note": "x"}, "reason"),
    ({"reason": "documents_invalid", "note": "x" * 2001}, "note"),
])
def test_a_refusal_without_a_proper_reason_or_note_is_sent_back(console, officer, review_request, db, data, field):
    url = f"/staff/requests/{review_request['id']}"
    response = console.post(f"{url}/refuse", {**data, "confirm": "yes"}, page=url)
    assert response.status_code == 422
    assert f'id="{field}"' in text(response) and 'aria-invalid="true"' in text(response)
    assert not events(db, "request.refused")


# --- certificates and revocation -------------------------------------------------------------------


def test_certificates_by_number_with_their_verification_history(console, officer, issued_certificate, client, db):
    cert = db.get(Certificate, issued_certificate["certificate_id"])
    client.post("/api/v1/verifications", json={"qr": cert.qr_text})
    found = console.get(f"/staff/certificates?number={cert.number.lower()}")
    assert found.status_code == 303
    page = text(console.get(found.headers["Location"]))
    assert cert.number in page and "Lịch sử kiểm tra" in page and "Quét QR (API)" in page and "Hợp lệ" in page
    assert "Thu hồi phiếu" not in page  # an officer may not revoke: no form
    missing = console.get("/staff/certificates?number=LLTP-1999-00000001")
    assert missing.status_code == 404 and "Không có phiếu nào mang số này" in text(missing)


def _revoke(console, cert_id, staff, member, **fields):
    url = f"/staff/certificates/{cert_id}"
    data = {"reason": "issued_in_error", "note": "Cấp nhầm người", "totp": staff.fresh_code(member), **fields}
    return console.post(f"{url}/revoke", data, page=url)


def test_a_supervisor_revokes_with_a_fresh_code(console, supervisor, staff, issued_certificate, client, db):
    cert_id = issued_certificate["certificate_id"]
    done = _revoke(console, cert_id, staff, supervisor)
    assert done.status_code == 303
    assert "Đã thu hồi phiếu" in text(console.get(done.headers["Location"]))
    [revoked] = events(db, "certificate.revoked")
    assert revoked.actor_id == supervisor.id and revoked.details["step_up_step"] == supervisor.last_step
    step_up = events(db, "staff.step_up")[-1]
    assert step_up.details["action"] == "certificate.revoke"
    qr = db.get(Certificate, cert_id).qr_text
    assert client.post("/api/v1/verifications", json={"qr": qr}).get_json()["outcome"] == "revoked"


def test_a_reused_code_is_refused_and_recorded(console, supervisor, staff, issued_certificate, db):
    cert_id = issued_certificate["certificate_id"]
    used = security.totp_code(supervisor.secret, supervisor.last_step)
    refused = _revoke(console, cert_id, staff, supervisor, totp=used)
    assert refused.status_code == 403
    assert "Mã xác thực không được chấp nhận" in text(refused)
    assert [e.details["reason"] for e in events(db, "staff.step_up_failed")] == ["totp_reused"]
    db.expire_all()
    assert db.get(Certificate, cert_id).status == "valid"


def test_a_revocation_sent_back_still_spends_its_code(console, supervisor, staff, issued_certificate, db):
    cert_id = issued_certificate["certificate_id"]
    response = _revoke(console, cert_id, staff, supervisor, reason="other", note="")
    assert response.status_code == 422
    assert "Mã xác thực đã gửi được tính là đã dùng" in text(response)
    assert events(db, "staff.step_up")  # committed although the page is a 422
    again = _revoke(console, cert_id, staff, supervisor, reason="other", note="",
                    totp=security.totp_code(supervisor.secret, supervisor.last_step))
    assert again.status_code == 403
    db.expire_all()
    assert db.get(Certificate, cert_id).status == "valid"


def test_a_replacement_is_typed_as_its_number(console, supervisor, staff, issued_certificate, db):
    cert_id = issued_certificate["certificate_id"]
    response = _revoke(console, cert_id, staff, supervisor, reason="superseded", replacement="LLTP-1999-00000001")
    assert response.status_code == 422
    assert 'id="replacement-error"' in text(response)


# --- roles: hidden in the pages and refused by the server --------------------------------------------


def test_an_officer_cannot_revoke_see_the_audit_log_or_the_keys(console, officer, issued_certificate, db):
    overview = text(console.get("/staff/"))
    assert "/staff/queue" in overview and "/staff/audit" not in overview and "/staff/keys" not in overview
    for path in ("/staff/audit", "/staff/keys"):
        refused = console.get(path)
        assert refused.status_code == 403 and "Vai trò của bạn không được phép" in text(refused)
    cert_id = issued_certificate["certificate_id"]
    url = f"/staff/certificates/{cert_id}"
    refused = console.post(f"{url}/revoke", {"reason": "issued_in_error", "note": "x", "totp": "123456"}, page=url)
    assert refused.status_code == 403
    db.expire_all()
    assert db.get(Certificate, cert_id).status == "valid"
    assert {e.details["method"] for e in events(db, "staff.forbidden")} == {"GET", "POST"}


def test_an_auditor_reads_the_log_but_cannot_open_requests_or_approve(console, auditor, review_request, db):
    overview = text(console.get("/staff/"))
    assert "/staff/audit" in overview and "/staff/queue" not in overview and "/staff/keys" not in overview
    assert "Lê Văn Cường" not in overview
    url = f"/staff/requests/{review_request['id']}"
    assert console.get(url).status_code == 403
    assert console.get("/staff/queue").status_code == 403
    assert console.post(f"{url}/approve", page="/staff/audit").status_code == 403
    db.expire_all()
    assert db.get(CertificateRequest, review_request["id"]).status == "needs_review"
    assert not events(db, "request.viewed")
    log = console.get("/staff/audit?action=staff.")
    assert log.status_code == 200 and "staff.forbidden" in text(log)


def test_a_supervisor_sees_the_chain_state_and_the_keys(console, supervisor):
    page = text(console.get("/staff/audit?verify=1"))
    assert "Chuỗi nguyên vẹn" in page
    keys = text(console.get("/staff/keys"))
    assert "Đang dùng" in keys


def test_every_console_route_declares_its_roles(app):
    """The roles each page requires, read from the views: the table docs/staff.md shows. Only
    the sign-in form, the style sheet and the 404 page are open."""
    expected = {
        "console.overview": {"officer", "supervisor", "auditor"},
        "console.confirm": {"officer", "supervisor", "auditor"},
        "console.confirm_submit": {"officer", "supervisor", "auditor"},
        "console.logout": {"officer", "supervisor", "auditor"},
        "console.queue": {"officer", "supervisor"},
        "console.request_detail": {"officer", "supervisor"},
        "console.approve": {"officer", "supervisor"},
        "console.refuse": {"officer", "supervisor"},
        "console.certificates": {"officer", "supervisor"},
        "console.certificate_detail": {"officer", "supervisor"},
        "console.revoke": {"supervisor"},
        "console.audit_log": {"auditor", "supervisor"},
        "console.keys": {"supervisor"},
    }
    found, open_ = {}, set()
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("console."):
            roles = getattr(view, "_staff_roles", None)
            if roles is None:
                open_.add(endpoint)
            else:
                found[endpoint] = {str(role) for role in roles}
    assert found == expected
    assert open_ == {"console.login", "console.login_submit", "console.static", "console._unknown"}


def test_the_overview_counts_waiting_and_overdue(console, officer, queue):
    page = text(console.get("/staff/"))
    assert '<span class="big">4</span> Đang chờ xem xét' in page
    assert '<span class="big">1</span>' in page and "Quá hạn" in page
    assert "<svg" in page and "<script" not in page
