"""A holder's share link, opened: ``GET /s/<share id>/<secret>`` (DESIGN §7, §11).

The page shows the verdict and the public fields, checked the moment it is opened, exactly as
``/v/<token>`` does (the same templates, style sheet, CSP and headers), and the PDF when the
holder included it. Each opening is one use (``ecert.services.shares.record_share_use``), logged
as a check of channel ``share`` that the holder sees.

- a wrong id or secret: 404, a page saying the link is not right (never whether it exists);
- revoked, expired or used up: 410, a page saying which;
- the PDF: ``GET /s/<share id>/pdf/<ticket>``, where the ticket is signed when the page is shown
  and lasts ECERT_DOWNLOAD_LINK_MINUTES, so the person who opened the page can take the PDF
  without spending another use, and nobody can once the link is revoked or expired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from flask import Blueprint, Response

from api.deps import db_session, settings
from api.limits import rate_limit
from api.metrics import observe_verification
from api.public.downloads import link_signer, pdf_response
from api.public.pages import page_language, render_page, verdict_context
from api.public.verifications import trust_lists
from ecert.db import utcnow
from ecert.errors import NotFound
from ecert.models import Certificate, ShareLink
from ecert.services import shares as share_service
from ecert.services import verification as verification_service
from ecert.services.download_links import LinkExpired, LinkInvalid
from ecert.services.lookup import get_or_404
from verification.messages import format_time

bp = Blueprint("shares_public", __name__, template_folder="templates")

SHARE_PDF = "share_pdf"

SHARE_TEXT: Final[Mapping[str, Mapping[str, str]]] = {
    "vi": {
        "heading": "Phiếu lý lịch tư pháp được chia sẻ",
        "text": "Người giữ phiếu đã chia sẻ phiếu này với bạn. Kết quả dưới đây được kiểm tra ngay lúc bạn mở trang.",
        "expires_label": "Liên kết hết hạn lúc",
        "uses_left_label": "Số lượt mở còn lại",
        "pdf_heading": "Tệp PDF của phiếu",
        "pdf_link": "Tải tệp PDF (có chữ ký số)",
        "pdf_hint": "Nút tải chỉ dùng được trong vài phút; tệp PDF có thể kiểm tra lại tại trang Kiểm tra phiếu.",
        "revoked_heading": "Liên kết đã bị thu hồi",
        "revoked_text": "Người giữ phiếu đã thu hồi liên kết này. Nếu bạn vẫn cần kiểm tra phiếu, hãy đề nghị họ "
        "gửi một liên kết mới.",
        "expired_heading": "Liên kết đã hết hạn",
        "expired_text": "Liên kết này đã quá thời hạn người giữ phiếu đặt ra. Nếu bạn vẫn cần kiểm tra phiếu, hãy đề "
        "nghị họ gửi một liên kết mới.",
        "used_up_heading": "Liên kết đã hết lượt mở",
        "used_up_text": "Liên kết này đã được mở đủ số lần người giữ phiếu cho phép. Nếu bạn vẫn cần kiểm tra phiếu, "
        "hãy đề nghị họ gửi một liên kết mới.",
        "not_found_heading": "Liên kết không đúng",
        "not_found_text": "Không mở được liên kết này: có thể nó bị chép thiếu hoặc sai. Hãy mở lại đúng liên kết "
        "bạn nhận được.",
        "link_invalid_heading": "Liên kết tải tệp không đúng",
        "link_invalid_text": "Liên kết tải tệp này không do dịch vụ tạo ra hoặc đã bị sửa đổi.",
        "link_expired_heading": "Liên kết tải tệp đã hết hạn",
        "link_expired_text": "Nút tải tệp chỉ dùng được trong vài phút sau khi mở trang chia sẻ.",
    },
    "en": {
        "heading": "A shared judicial-record certificate",
        "text": "The holder has shared this certificate with you. The result below was checked the moment you "
        "opened this page.",
        "expires_label": "The link expires at",
        "uses_left_label": "Openings left",
        "pdf_heading": "The certificate's PDF",
        "pdf_link": "Download the PDF (digitally signed)",
        "pdf_hint": "The download button works for a few minutes; the PDF can be checked again on the "
        "certificate check page.",
        "revoked_heading": "This link has been revoked",
        "revoked_text": "The holder has revoked this link. If you still need to check the certificate, ask them for "
        "a new link.",
        "expired_heading": "This link has expired",
        "expired_text": "This link is past the time the holder set. If you still need to check the certificate, ask "
        "them for a new link.",
        "used_up_heading": "This link has been used up",
        "used_up_text": "This link has been opened as many times as the holder allowed. If you still need to check "
        "the certificate, ask them for a new link.",
        "not_found_heading": "This link is not right",
        "not_found_text": "This link cannot be opened: it may have been copied incompletely or wrongly. Open the "
        "link exactly as you received it.",
        "link_invalid_heading": "This download link is not right",
        "link_invalid_text": "This service did not make this download link, or it has been altered.",
        "link_expired_heading": "This download link has expired",
        "link_expired_text": "The download button works for a few minutes after the share page is opened.",
    },
}


def _gone_page(kind: str, status: int, lang: str) -> Response:
    """A page saying why the link shows nothing (``kind``: revoked, expired, used_up, not_found,
    link_invalid, link_expired)."""
    words = SHARE_TEXT[lang]
    context = {
        "outcome": kind,
        "tone": "warn" if kind in ("expired", "used_up", "link_expired") else "bad",
        "heading": words[f"{kind}_heading"],
        "notice_text": words[f"{kind}_text"],
        "authority": settings().authority_name,
    }
    return render_page("share_gone.html", context, status, lang)


def _share_page(share: ShareLink, verification: verification_service.Verification, lang: str) -> Response:
    context: dict[str, Any] = verdict_context(verification, lang)
    context["share"] = SHARE_TEXT[lang]
    context["expires_at"] = format_time(share.expires_at, lang)
    context["uses_left"] = None if share.max_uses is None else max(0, share.max_uses - share.uses)
    context["pdf_url"] = None
    if share.include_pdf:
        ticket = link_signer().sign(SHARE_PDF, share.id)
        context["pdf_url"] = f"/s/{share.id}/pdf/{ticket}"
    return render_page("share.html", context, 200, lang)


@bp.route("/s/<string:share_id>/<string:secret>")
@rate_limit("verification")
def share_page(share_id: str, secret: str) -> Response:
    """The shared certificate's verdict; each opening is one use, logged for the holder."""
    lang = page_language()
    session = db_session()
    now = utcnow()
    try:
        share = share_service.find_share(session, share_id, secret)
    except NotFound:
        return _gone_page("not_found", 404, lang)
    state = share_service.state_of(share, now)
    if state != "live":
        return _gone_page(state, 410, lang)
    token = share_service.certificate_token(session, share)
    verification = verification_service.verify_text(session, trust_lists(), token, now)
    if verification.database_failed:
        # On PostgreSQL a failed statement aborts the transaction: count the use in a clean one.
        session.rollback()
    try:
        share_service.record_share_use(session, share, verification, now=now)
    except share_service.ShareGone as gone:
        return _gone_page(gone.state, 410, lang)
    observe_verification("share", verification.result.outcome)
    return _share_page(share, verification, lang)


@bp.route("/s/<string:share_id>/pdf/<string:ticket>")
@rate_limit("verification")
def share_pdf(share_id: str, ticket: str) -> Response:
    """The PDF of a share that includes it, for a few minutes after its page was opened."""
    lang = page_language()
    try:
        shared_id = link_signer().value_of(SHARE_PDF, ticket)
    except LinkExpired:
        return _gone_page("link_expired", 410, lang)
    except LinkInvalid:
        return _gone_page("link_invalid", 403, lang)
    if shared_id != share_id:
        return _gone_page("link_invalid", 403, lang)
    session = db_session()
    share = session.get(ShareLink, share_id)
    if share is None or not share.include_pdf:
        return _gone_page("not_found", 404, lang)
    # The ticket proves a counted opening a moment ago, so a link used up by that very opening
    # still gives its PDF; a revoked or expired one never does.
    state = share_service.state_of(share, utcnow())
    if state in ("revoked", "expired"):
        return _gone_page(state, 410, lang)
    return pdf_response(get_or_404(session, Certificate, share.certificate_id))
