"""The console's certificate, audit-log and signing-key pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy.orm import Session

from api.console import auth, bp
from api.console.forms import RevokeForm, field_errors
from api.console.pages import render
from api.console.views import words
from api.deps import db_session, settings
from ecert.db import keep_on_failure
from ecert.domain import rules
from ecert.domain.permissions import Permission
from ecert.errors import Forbidden, InvalidInput, Unauthorized
from ecert.services import audit as audit_service
from ecert.services import keys as keys_service
from ecert.services import revocation as revocation_service
from ecert.services import staff as staff_service
from ecert.services import worklist
from ecert.services.audit import savepoint as audit_savepoint

AUDIT_PAGE_SIZE = 50
# A key this close to its end is flagged on the keys page.
KEY_WARNING = timedelta(days=30)


# --- certificates --------------------------------------------------------------------------------


@bp.route("/certificates")
@auth.console_required(Permission.REVIEW)
def certificates() -> Any:
    """Find a certificate by its printed number; found, its page."""
    number = (request.args.get("number") or "").strip()
    if not number:
        return render("certificates.html", number="")
    found = revocation_service.find_by_number(db_session(), number)
    if found is None:
        return render("certificates.html", 404, number=number[:64], not_found=True)
    return redirect(url_for("console.certificate_detail", certificate_id=found.id), code=303)


def _certificate_page(certificate_id: str, status: int = 200, **context: Any) -> Any:
    session = db_session()
    certificate = revocation_service.get_certificate(session, certificate_id)
    replacement = (
        revocation_service.get_certificate(session, certificate.superseded_by_id)
        if certificate.superseded_by_id
        else None
    )
    context.setdefault("form", RevokeForm(formdata=None))
    return render(
        "certificate.html",
        status,
        cert=certificate,
        holder_name=revocation_service.holder_name(certificate),
        replacement=replacement,
        supersedes=revocation_service.supersedes(session, certificate),
        history=worklist.verification_history(session, certificate.id),
        history_count=worklist.verification_count(session, certificate.id),
        revocation_reasons=rules.REVOCATION_REASONS,
        **context,
    )


@bp.route("/certificates/<string:certificate_id>")
@auth.console_required(Permission.REVIEW)
def certificate_detail(certificate_id: str) -> Any:
    return _certificate_page(certificate_id)


@contextmanager
def _code_stays_spent(session: Session) -> Iterator[None]:
    """The revocation a step-up code authorises, in a savepoint: if it fails, only its own
    writes are undone, and the spent code is committed all the same (as the API does)."""
    try:
        with audit_savepoint(session):
            yield
    except BaseException:
        keep_on_failure(session)
        raise


def _replacement_id(session: Session, number: str | None) -> str | None:
    """The replacement is typed as its printed number; the service wants its id."""
    if not number:
        return None
    found = revocation_service.find_by_number(session, number)
    if found is None:
        raise InvalidInput({"replacement": ["replacement_not_found"]})
    return found.id


@bp.route("/certificates/<string:certificate_id>/revoke", methods=["POST"])
@auth.console_required(Permission.REVOKE)
def revoke(certificate_id: str) -> Any:
    """Revoke with a reason, a note, a replacement and a fresh TOTP code (step-up)."""
    form = RevokeForm()
    if not form.validate_on_submit():
        return _certificate_page(certificate_id, 422, form=form, errors=field_errors(form))
    session = db_session()
    moment = auth.now()
    try:
        step = staff_service.step_up(
            session,
            auth.current_staff_session(),
            form.totp.data or "",
            settings=settings(),
            actor=auth.staff_actor(),
            now=moment,
            action="certificate.revoke",
            target_id=certificate_id[:64],
        )
    except Forbidden:
        keep_on_failure(session)
        return _certificate_page(certificate_id, 403, form=_without_code(form), step_up_failed=True)
    except Unauthorized:
        keep_on_failure(session)
        auth.end(auth.language())
        return auth.to_sign_in("step_up_exhausted")
    try:
        with _code_stays_spent(session):
            result = revocation_service.revoke(
                session,
                certificate_id,
                reason=form.reason.data or "",
                note=form.note.data,
                replacement_certificate_id=_replacement_id(session, form.replacement.data),
                actor=auth.staff_actor(),
                now=moment,
                step_up_step=step,
            )
    except InvalidInput as error:
        errors = {("replacement" if k == "replacement_certificate_id" else k): v for k, v in error.errors.items()}
        return _certificate_page(certificate_id, 422, form=_without_code(form), errors=errors, code_spent=True)
    key = "already_revoked" if result.already_revoked else "revoked_done"
    flash(words()[key].format(number=result.certificate.number), "ok")
    return redirect(url_for("console.certificate_detail", certificate_id=result.certificate.id), code=303)


def _without_code(form: RevokeForm) -> RevokeForm:
    """The form as sent, less its code: a code is never shown back, and it is spent anyway."""
    form.totp.data = ""
    return form


# --- the audit log ---------------------------------------------------------------------------------


def _moment(text: str) -> datetime | None:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _audit_filters() -> tuple[dict[str, Any], dict[str, list[str]]]:
    filters: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in ("action", "actor_id", "target_type", "target_id"):
        value = (request.args.get(name) or "").strip()
        if len(value) > 64:
            errors[name] = ["too_long"]
        elif value:
            filters[name] = value
    for name in ("since", "until"):
        value = (request.args.get(name) or "").strip()
        if not value:
            continue
        try:
            filters[name] = _moment(value[:40])
        except ValueError:
            errors[name] = ["invalid_format"]
    return filters, errors


@bp.route("/audit")
@auth.console_required(Permission.READ_AUDIT)
def audit_log() -> Any:
    """The log, newest first, with the API's filters; the chain's head, and on request the
    result of walking the whole chain (``?verify=1``: it reads every event)."""
    session = db_session()
    filters, errors = _audit_filters()
    cursor = request.args.get("cursor") or None
    page = audit_service.search_events(session, **filters, limit=AUDIT_PAGE_SIZE, cursor=cursor)
    report, no_key = None, False
    if request.args.get("verify") == "1":
        try:
            report = audit_service.verify_chain(session)
        except audit_service.AuditKeyMissing:
            no_key = True
    keep: dict[str, Any] = {
        k: v
        for k, v in request.args.items()
        if k in ("action", "actor_id", "target_type", "target_id", "since", "until") and v
    }
    return render(
        "audit.html",
        422 if errors else 200,
        page=page,
        errors=errors,
        args=request.args,
        head=worklist.chain_head(session),
        report=report,
        no_key=no_key,
        verify_url=url_for("console.audit_log", verify="1", **keep),
        next_url=url_for("console.audit_log", cursor=page.next_cursor, **keep) if page.next_cursor else None,
    )


# --- signing keys -------------------------------------------------------------------------------------


@bp.route("/keys")
@auth.console_required(Permission.READ_KEYS)
def keys() -> Any:
    moment = auth.now()
    listed = keys_service.list_keys(db_session())
    # An active key this close to its end is flagged: a rotation is due.
    expiring = {key.kid for key in listed if key.status == "active" and key.not_after < moment + KEY_WARNING}
    return render("keys.html", keys=listed, expiring=expiring)
