"""Small helpers the views share: JSON responses with ETags, and the request's public shape."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request

from ecert.db import utcnow
from ecert.domain import rules
from ecert.models import CertificateRequest


def json_response(payload: Any, status: int = 200, *, etag: bool = False) -> Response:
    response = Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")
    if etag:
        # A strong ETag over the exact body: the app polls a request's status cheaply with
        # If-None-Match and gets 304 until something changes.
        response.add_etag()
        response.make_conditional(request)
    return response


def request_view(req: CertificateRequest, lang: str = "vi") -> dict[str, Any]:
    refusal = None
    if req.status == "refused" and req.refusal_reason:
        refusal = {
            "reason": req.refusal_reason,
            "reason_label": rules.REFUSAL_REASONS.get(req.refusal_reason, {}).get(lang, req.refusal_reason)
            if isinstance(rules.REFUSAL_REASONS.get(req.refusal_reason), dict)
            else req.refusal_reason,
            "note": req.refusal_note,
            "refused_at": req.decided_at,
        }
    return {
        "id": req.id,
        "status": req.status,
        "form_type": req.form_type,
        "purpose": req.purpose,
        "copies": req.copies,
        "include_ban_section": req.include_ban_section,
        "fee_vnd": req.fee_vnd,
        "fee_status": req.fee_status,
        "submitted_at": req.submitted_at,
        "due_at": req.due_at,
        "overdue": req.status in rules.OPEN_STATUSES and utcnow() > req.due_at,
        "deadline_extended": req.deadline_extended,
        "decided_at": req.decided_at,
        "cancelled_at": req.cancelled_at,
        "certificate_id": req.certificate.id if req.certificate is not None else None,
        "refusal": refusal,
    }
