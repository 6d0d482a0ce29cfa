"""The console's sign-in state: a cookie carrying the staff session's opaque token.

The cookie is Flask's signed session cookie (HttpOnly, SameSite=Strict, Secure in production,
path ``/staff``), holding the same token the API's bearer sessions use, so idle and absolute
expiry, sign-out and disabling an account work exactly as for the API: the ``StaffSession`` row
decides, never the cookie. Each sign-in clears the cookie's contents and gets a new token (a
renewed id), so nothing from before the sign-in — a CSRF secret included — survives it.

``console_required(permission)`` is the console's ``staff_required``: no cookie, an unknown,
ended or expired session sends the browser to the sign-in page saying which; a wrong role is
recorded (``staff.forbidden``) and answered with a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response as WerkzeugResponse

from api.deps import actor, db_session, settings
from ecert.db import utcnow
from ecert.domain.i18n import LANGUAGES
from ecert.domain.permissions import Permission, role_allows, roles_with
from ecert.errors import Forbidden, PersistentFailure, Unauthorized
from ecert.models import StaffSession, StaffUser
from ecert.services import staff as staff_service
from ecert.services.audit import Actor
from ecert.services.authorization import record_forbidden
from ecert.wiring import resources_of

F = TypeVar("F", bound=Callable[..., Any])

COOKIE_NAME = "ecert_console"
COOKIE_PATH = "/staff"
TOKEN_KEY = "token"
LANG_KEY = "lang"
# Set at a first sign-in until the owner shows a second code (see views.confirm).
CONFIRM_KEY = "confirm_totp"
# The pages a signed-in member may reach while the first-sign-in confirmation is pending.
CONFIRM_ENDPOINTS = frozenset({"console.confirm", "console.confirm_submit", "console.logout"})

csrf = CSRFProtect()


def now() -> datetime:
    """The console's clock (one place, so tests can move it)."""
    return utcnow()


def configure(app: Flask) -> None:
    """The session cookie's flags and the CSRF protection, for the console's forms only."""
    app_settings = resources_of(app).settings
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_PATH=COOKIE_PATH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=app_settings.is_production or app_settings.public_base_url.startswith("https://"),
        # The JSON API authenticates with a bearer header, which no other site can send: only the
        # console's forms are checked (views call csrf.protect through the blueprint).
        WTF_CSRF_CHECK_DEFAULT=False,
        # A form stays valid as long as the session it belongs to can live.
        WTF_CSRF_TIME_LIMIT=app_settings.staff_absolute_hours * 3600,
    )
    csrf.init_app(app)


def language() -> str:
    """Vietnamese unless English was asked for with ``?lang=en`` (remembered in the cookie).

    The browser's Accept-Language is not consulted: officers' browsers are often in English while
    their work is in Vietnamese (DESIGN §8: vi by default, en on request)."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        if session.get(LANG_KEY, "vi") != asked:
            session[LANG_KEY] = asked
        return asked
    chosen = session.get(LANG_KEY)
    return chosen if chosen in LANGUAGES else "vi"


def current_staff() -> StaffUser:
    user: StaffUser = g.staff
    return user


def current_staff_session() -> StaffSession:
    staff_session: StaffSession = g.staff_session
    return staff_session


def signed_in() -> StaffUser | None:
    user: StaffUser | None = g.get("staff")
    return user


def staff_actor() -> Actor:
    return actor("staff", g.staff.id)


def may(permission: Permission) -> bool:
    """Whether the member signed in holds ``permission`` (what the pages show; views check again)."""
    user = signed_in()
    return user is not None and role_allows(user.role, permission)


def start(token: str, lang: str, *, confirm: bool) -> None:
    """A new sign-in: whatever the cookie held is dropped (a renewed id), the new token kept."""
    session.clear()
    session[TOKEN_KEY] = token
    session[LANG_KEY] = lang
    if confirm:
        session[CONFIRM_KEY] = True


def confirmation_pending() -> bool:
    return bool(session.get(CONFIRM_KEY))


def confirmed() -> None:
    session.pop(CONFIRM_KEY, None)


def end(lang: str) -> None:
    session.clear()
    session[LANG_KEY] = lang


def to_sign_in(reason: str | None) -> WerkzeugResponse:
    return redirect(url_for("console.login", reason=reason) if reason else url_for("console.login"), code=303)


def _session_or_reason() -> StaffSession | str:
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str) or not token:
        return "invalid"
    try:
        return staff_service.session_for_token(db_session(), token, settings=settings(), now=now())
    except Unauthorized as error:
        return "expired" if error.code == "session_expired" else "invalid"


def console_required(permission: Permission) -> Callable[[F], F]:
    """A live console session whose role holds ``permission``, else the sign-in page or a 403."""
    allowed = roles_with(Permission(permission))

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            found = _session_or_reason()
            if isinstance(found, str):
                end(language())
                return to_sign_in(found)
            user = found.staff
            g.staff, g.staff_session = user, found
            if confirmation_pending() and request.endpoint not in CONFIRM_ENDPOINTS:
                return redirect(url_for("console.confirm"), code=303)
            if user.role not in allowed:
                record_forbidden(
                    db_session(),
                    user,
                    actor=staff_actor(),
                    permission=permission,
                    method=request.method,
                    route=request.url_rule.rule if request.url_rule is not None else request.path,
                )
                raise PersistentFailure(Forbidden("role_not_allowed", role=user.role))
            staff_service.touch(found, now())
            return view(*args, **kwargs)

        wrapper._staff_roles = allowed  # type: ignore[attr-defined]  # noqa: SLF001 - read by the console's role test
        return wrapper  # type: ignore[return-value]

    return decorate
