"""Browsable API docs at /api/v1/docs, rendered here from the OpenAPI document.

Swagger UI and ReDoc load scripts from third-party CDNs; a government service serves no
third-party assets, so this page is plain server-rendered HTML with no script at all.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from api.deps import edge

bp = Blueprint("docs", __name__, template_folder="templates")


@bp.route("/api/v1/docs")
def docs():
    spec = edge().openapi.spec.to_dict()
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method, op in item.items():
            if method not in {"get", "post", "put", "delete", "patch"}:
                continue
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tags": op.get("tags", []),
                    "auth": ", ".join(k for sec in op.get("security", []) for k in sec) or "public",
                    "responses": sorted(op.get("responses", {}).keys()),
                }
            )
    response = current_app.make_response(render_template("docs.html", spec=spec, operations=operations))
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response
