"""The console's pages. Each view reads its input, calls the service the JSON staff API calls,
and renders; the request's unit of work (``api.deps``) commits a success (a page, or the 303
after a POST) and rolls back a failure, except where the failure is itself a record (a wrong
password, a spent step-up code), which ``keep_on_failure`` commits as the API does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from api.console import auth, bp
from api.console.charts import horizontal, stacked
from api.console.forms import ActionForm, CodeForm, LoginForm, RefuseForm, field_errors
from api.console.pages import render, secure_headers
from api.console.text import TEXT
from api.deps import actor, db_session, resources, settings
from api.limits import rate_limit
from ecert.db import keep_on_failure
from ecert.domain import rules
from ecert.domain.permissions import Permission
from ecert.errors import Conflict, DomainError, Forbidden, InvalidInput, Locked, Unauthorized
from ecert.services import overview as overview_service
from ecert.services import review as review_service
from ecert.services import staff as staff_service
from ecert.services import worklist

PAGE_SIZE = 50


@bp.before_request
def _check_csrf() -> None:
    # Every POST of the console, before anything else reads it: a form posted without its token
    # (or with another session's) is refused with a 400 page (api.console.errors).
    if request.method == "POST":
        auth.csrf.protect()


bp.after_request(secure_headers)


# --- signing in and out -----------------------------------------------------------------------


@bp.route("/login", methods=["GET"])
def login() -> Any:
    reason = request.args.get("reason", "")
    notice = f"reason_{reason}" if reason in ("expired", "invalid", "signed_out", "step_up_exhausted") else None
    return render("login.html", form=LoginForm(), notice=notice)


@bp.route("/login", methods=["POST"])
@rate_limit("login")
def login_submit() -> Any:
    form = LoginForm()
    if not form.validate_on_submit():
        return render("login.html", 422, form=form, errors=field_errors(form))
    session = db_session()
    moment = auth.now()
    try:
        result = staff_service.login(
            session,
            form.username.data or "",
            form.password.data or "",
            form.totp.data or "",
            settings=settings(),
            actor=actor("staff", None),
            now=moment,
            client_address=request.remote_addr,
        )
    except (Unauthorized, Locked, staff_service.LoginThrottled) as error:
        # The throttle, the failure count, the lock and their audit rows outlive this answer.
        keep_on_failure(session)
        return render(
            "login.html",
            error.status,
            form=LoginForm(formdata=None, username=form.username.data),
            failure=_login_failure(error),
        )
    confirm = worklist.needs_enrolment_confirmation(session, result.user)
    auth.start(result.token, auth.language(), confirm=confirm)
    return redirect(url_for("console.confirm" if confirm else "console.overview"), code=303)


def _login_failure(error: DomainError) -> dict[str, Any]:
    if isinstance(error, Locked):
        until = datetime.fromisoformat(str(error.extra["locked_until"])).astimezone(rules.VIETNAM_TZ)
        return {"key": "login_account_locked", "until": until.strftime("%H:%M %d/%m/%Y")}
    if isinstance(error, staff_service.LoginThrottled):
        return {"key": "login_throttled", "seconds": error.extra.get("retry_after", 1)}
    return {"key": "login_invalid_credentials"}


@bp.route("/confirm", methods=["GET"])
@auth.console_required(Permission.OWN_SESSION)
def confirm() -> Any:
    if not auth.confirmation_pending():
        return redirect(url_for("console.overview"), code=303)
    return render("confirm.html", form=CodeForm())


@bp.route("/confirm", methods=["POST"])
@auth.console_required(Permission.OWN_SESSION)
def confirm_submit() -> Any:
    """The first sign-in: a second, newer code shows the authenticator really works. It is a
    step-up code (spent, counted per session like any other) recorded as the confirmation."""
    if not auth.confirmation_pending():
        return redirect(url_for("console.overview"), code=303)
    form = CodeForm()
    if not form.validate_on_submit():
        return render("confirm.html", 422, form=form, errors=field_errors(form))
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
            action="staff.totp_confirm",
        )
    except Forbidden:
        keep_on_failure(session)
        return render("confirm.html", 403, form=CodeForm(formdata=None), refused=True)
    except Unauthorized:
        keep_on_failure(session)
        auth.end(auth.language())
        return auth.to_sign_in("step_up_exhausted")
    worklist.confirm_enrolment(session, auth.current_staff(), actor=auth.staff_actor(), step=step, now=moment)
    auth.confirmed()
    flash(words()["confirm_done"], "ok")
    return redirect(url_for("console.overview"), code=303)


@bp.route("/logout", methods=["POST"])
@auth.console_required(Permission.OWN_SESSION)
def logout() -> WerkzeugResponse:
    staff_service.logout(db_session(), auth.current_staff_session(), actor=auth.staff_actor(), now=auth.now())
    auth.end(auth.language())
    return auth.to_sign_in("signed_out")


# --- the overview --------------------------------------------------------------------------------


@bp.route("/")
@auth.console_required(Permission.OWN_SESSION)
def overview() -> Any:
    """The first page: counts and charts, no personal data (every role sees it)."""
    words = TEXT[auth.language()]
    numbers = overview_service.overview(db_session(), now=auth.now())
    buckets = {name: words[f"bucket_{name}"] for name, _ in overview_service.DEADLINE_BUCKETS}
    kinds = {kind: words[f"kind_{kind}"] for kind in ("issued", "refused", "revoked")}
    channels = {channel: words[f"channel_{channel}"] for channel in overview_service.CHANNELS}
    return render(
        "overview.html",
        numbers=numbers,
        buckets=buckets,
        kinds=kinds,
        channels=channels,
        waiting_chart=horizontal(numbers.waiting, buckets),
        decisions_chart=stacked(numbers.decisions, list(kinds), kinds),
        verifications_chart=stacked(numbers.verifications, list(channels), channels),
    )


# --- the review queue and a request ----------------------------------------------------------------


def _queue_filter() -> tuple[worklist.QueueFilter, dict[str, list[str]]]:
    """The filter from the query string; a value that is not one of the choices is reported."""
    errors: dict[str, list[str]] = {}
    status = request.args.get("status") or rules.STATUS_NEEDS_REVIEW
    if status not in rules.REQUEST_STATUSES:
        errors["status"], status = ["invalid_choice"], rules.STATUS_NEEDS_REVIEW
    form = request.args.get("form") or ""
    form_type = int(form) if form in ("1", "2") else None
    if form and form_type is None:
        errors["form"] = ["invalid_choice"]
    province = request.args.get("province") or None
    if province is not None and province not in rules.RESIDENCE_CODES:
        errors["province"], province = ["invalid_choice"], None
    return worklist.QueueFilter(status, form_type, province), errors


@bp.route("/queue")
@auth.console_required(Permission.REVIEW)
def queue() -> Any:
    wanted, errors = _queue_filter()
    cursor = request.args.get("cursor") or None
    page = worklist.queue(db_session(), wanted, limit=PAGE_SIZE, cursor=cursor)
    keep: dict[str, Any] = {
        k: v for k, v in {"status": wanted.status, "form": wanted.form_type, "province": wanted.province}.items() if v
    }
    return render(
        "queue.html",
        422 if errors else 200,
        page=page,
        wanted=wanted,
        errors=errors,
        statuses=rules.REQUEST_STATUSES,
        provinces=sorted(rules.PROVINCES.items(), key=lambda item: item[1]),
        next_url=url_for("console.queue", cursor=page.next_cursor, **keep) if page.next_cursor else None,
        first_url=url_for("console.queue", **keep) if cursor else None,
        overdue=_overdue_at(auth.now()),
    )


def _overdue_at(moment: datetime) -> Any:
    """Whether a request is overdue at ``moment``: open and past its deadline (the API's rule)."""

    def overdue(req: Any) -> bool:
        return req.status in rules.OPEN_STATUSES and rules.is_overdue(req.due_at, moment)

    return overdue


def _request_page(request_id: str, status: int = 200, **context: Any) -> Any:
    """A request with its record, review reasons and timeline. Opening it is audited (it shows a
    criminal record), as through the API; the record is read live."""
    session = db_session()
    req = review_service.get_request(session, request_id)
    record = (review_service.findings(session, req) or {}).get("record")
    review_service.record_viewed(session, req, actor=auth.staff_actor())
    context.setdefault("refuse_form", RefuseForm(formdata=None))
    return render(
        "request.html",
        status,
        req=req,
        record=record,
        timeline=rules.request_timeline(req),
        reviewable=req.status in review_service.REVIEWABLE_STATUSES,
        overdue=_overdue_at(auth.now())(req),
        province_name=rules.province_name,
        refusal_reasons=rules.REFUSAL_REASONS,
        action_form=ActionForm(formdata=None),
        **context,
    )


@bp.route("/requests/<string:request_id>")
@auth.console_required(Permission.REVIEW)
def request_detail(request_id: str) -> Any:
    return _request_page(request_id)


@bp.route("/requests/<string:request_id>/approve", methods=["POST"])
@auth.console_required(Permission.APPROVE)
def approve(request_id: str) -> Any:
    session = db_session()
    moment = auth.now()
    try:
        req = review_service.approve(
            session,
            request_id,
            signer=resources().keystore.signer_for_issuance(session, moment),
            settings=settings(),
            actor=auth.staff_actor(),
            now=moment,
        )
    except Conflict as error:
        # Nothing was written; the 409 rolls the unit of work back.
        return _request_page(request_id, 409, conflict=error.code)
    number = req.certificate.number if req.certificate is not None else ""
    flash(words()["approved"].format(number=number), "ok")
    return redirect(url_for("console.request_detail", request_id=req.id), code=303)


def words() -> Any:
    return TEXT[auth.language()]


@bp.route("/requests/<string:request_id>/refuse", methods=["POST"])
@auth.console_required(Permission.REFUSE)
def refuse(request_id: str) -> Any:
    """Twice: first the preview of the words the citizen will read, then the decision."""
    form = RefuseForm()
    if not form.validate_on_submit():
        return _request_page(request_id, 422, refuse_form=form, refuse_errors=field_errors(form))
    if form.confirm.data != "yes":
        req = review_service.get_request(db_session(), request_id)
        return render("refuse_preview.html", req=req, form=form, reasons=rules.REFUSAL_REASONS)
    session = db_session()
    try:
        review_service.refuse(
            session,
            request_id,
            reason=form.reason.data or "",
            note=form.note.data or "",
            actor=auth.staff_actor(),
            now=auth.now(),
        )
    except InvalidInput as error:
        return _request_page(request_id, 422, refuse_form=form, refuse_errors=error.errors)
    except Conflict as error:
        return _request_page(request_id, 409, conflict=error.code)
    flash(words()["refused"], "ok")
    return redirect(url_for("console.request_detail", request_id=request_id), code=303)


from api.console import records_views  # noqa: E402,F401 - certificates, audit log, keys
