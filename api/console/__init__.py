"""The staff console at ``/staff/``: server-rendered pages (Jinja2) for agency staff.

Views call the same services as the JSON staff API (``api/staff``): no rule lives in a view or a
template. Cookie session and CSRF: ``api.console.auth``; pages: ``api.console.views``; errors as
HTML pages: ``api.console.errors``. docs/staff.md, "The staff console", says what and why.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/staff",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from api.console import errors, views  # noqa: E402,F401 - the routes and handlers register on bp
