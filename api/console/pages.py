"""Rendering a console page: the language, the words, the headers every page carries."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from flask import Response, g, render_template, request, url_for

from api.console import auth
from api.console.text import TEXT
from ecert.domain import rules
from ecert.domain.i18n import message
from ecert.domain.permissions import Permission
from verification.messages import outcome_text

# No script at all; the style sheet is a file of this origin; SVG charts are inline markup
# with presentation attributes (no inline style), which style-src does not govern.
CONSOLE_CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def render(template: str, status: int = 200, **context: Any) -> Response:
    lang = auth.language()
    words = TEXT[lang]
    html = render_template(
        f"console/{template}",
        lang=lang,
        t=words,
        msg=lambda code: message(code, lang),
        may=auth.may,
        P=Permission,
        me=auth.signed_in(),
        request_id=g.get("request_id", ""),
        switch_url=_switch_url(words["switch_lang"]),
        vn_tz=lambda: rules.VIETNAM_TZ,
        outcome=lambda code: outcome_text(code, lang)["verdict"],
        **context,
    )
    return Response(html, status=status, mimetype="text/html")


def _switch_url(lang: str) -> str:
    """This page in the other language; after a POST, the overview (a form is not re-sent)."""
    if request.method != "GET":
        return url_for("console.overview", lang=lang)
    args = request.args.to_dict()
    args["lang"] = lang
    return f"{request.path}?{urlencode(args)}"


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    # Over HTTPS the CSRF check (Flask-WTF's strict mode) also wants a Referer of this origin;
    # "same-origin" sends it to ourselves only (the app's default is no-referrer).
    response.headers["Referrer-Policy"] = "same-origin"
    # Criminal records and personal data: no cache anywhere keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = auth.language() if request.endpoint != "console.static" else "vi"
    if request.endpoint == "console.static":
        response.headers["Cache-Control"] = "no-cache"
    return response
