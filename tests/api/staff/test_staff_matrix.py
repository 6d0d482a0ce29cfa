"""The permission matrix: every staff endpoint x every kind of caller -> the expected status."""
from __future__ import annotations

import pytest

from ecert.models import Certificate
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    AN,
    clock,
    events,
    fast_hashes,
    issued_certificate,
    review_request,
    seeded,
    staff,
)

PREFIX = "/api/v1/staff"
ALL = ("officer", "supervisor", "auditor")
REVIEWERS = ("officer", "supervisor")
CALLERS = ("anonymous", "citizen", "officer", "supervisor", "auditor", "expired")

# (method, path, body, roles allowed, success status). {request} and {certificate} are made
# only for the endpoints that need them; "FRESH" is replaced by a never-used TOTP code.
ENDPOINTS = [
    ("DELETE", "/sessions/current", None, ALL, 204),
    ("GET", "/me", None, ALL, 200),
    ("GET", "/requests", None, REVIEWERS, 200),
    ("GET", "/requests/{request}", None, REVIEWERS, 200),
    ("POST", "/requests/{request}/approve", {}, REVIEWERS, 200),
    ("POST", "/requests/{request}/refuse", {"reason": "not_entitled", "note": "Không có quyền yêu cầu"}, REVIEWERS, 200),
    ("GET", "/certificates?number={number}", None, REVIEWERS, 200),
    ("GET", "/certificates/{certificate}", None, REVIEWERS, 200),
    ("POST", "/certificates/{certificate}/revoke", {"reason": "issued_in_error", "totp": "FRESH"}, ("supervisor",), 200),
    ("GET", "/audit-events", None, ("auditor", "supervisor"), 200),
]


def expected_status(caller: str, roles: tuple[str, ...], success: int) -> int:
    if caller in ("anonymous", "citizen", "expired"):
        return 401
    return success if caller in roles else 403


CASES = [
    pytest.param(method, path, body, caller, expected_status(caller, roles, success),
                 id=f"{method} {path.split('?')[0]} as {caller}")
    for method, path, body, roles, success in ENDPOINTS
    for caller in CALLERS
]


@pytest.mark.parametrize("method, path, body, caller, expected", CASES)
def test_permission_matrix(request, staff, auth, clock, db, method, path, body, caller, expected):
    values = {}
    if "{request}" in path:
        values["request"] = request.getfixturevalue("review_request")["id"]
    if "{certificate}" in path or "{number}" in path:
        cert_id = request.getfixturevalue("issued_certificate")["certificate_id"]
        values["certificate"] = cert_id
        values["number"] = db.get(Certificate, cert_id).number
    url = PREFIX + path.format(**values)

    member = None
    if caller == "anonymous":
        headers = {}
    elif caller == "citizen":
        headers = auth(**AN)
    elif caller == "expired":
        member = staff.signed_in("supervisor", "expired.one")
        headers = member.headers
        clock.advance(hours=8, minutes=1)
    else:
        member = staff.signed_in(caller)
        headers = member.headers

    payload = None
    if body is not None:
        payload = dict(body)
        if payload.get("totp") == "FRESH":
            payload["totp"] = staff.fresh_code(member) if member else "123456"
    response = staff.client.open(url, method=method, json=payload, headers=headers)
    assert response.status_code == expected, response.get_json()

    if expected == 401:
        assert response.mimetype == "application/problem+json"
    if expected == 403:
        assert response.get_json()["code"] == "role_not_allowed"
        # A wrong role is a security event, committed although the request failed.
        [forbidden] = events(db, "staff.forbidden")
        assert forbidden.actor_id == member.id
        assert forbidden.details["role"] == caller
        assert forbidden.details["method"] == method


def test_the_matrix_covers_every_staff_endpoint(app):
    """A new staff route must be added to ENDPOINTS (and so to the matrix) to pass."""
    covered = {(m, PREFIX + p.split("?")[0]) for m, p, *_ in ENDPOINTS}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX):
            continue
        path = rule.rule.replace("<string:request_id>", "{request}").replace("<string:certificate_id>", "{certificate}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    routes.discard(("POST", PREFIX + "/sessions"))  # sign-in itself: public, rate-limited
    assert routes == covered


def test_the_declared_roles_match_the_matrix(app):
    by_path = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX):
            view = app.view_functions[rule.endpoint]
            roles = getattr(view, "_staff_roles", None)
            while roles is None and hasattr(view, "__wrapped__"):
                view = view.__wrapped__
                roles = getattr(view, "_staff_roles", None)
            path = rule.rule.replace("<string:request_id>", "{request}").replace("<string:certificate_id>", "{certificate}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                by_path[(method, path)] = roles
    for method, path, _, roles, _ in ENDPOINTS:
        assert by_path[(method, PREFIX + path.split("?")[0])] == frozenset(roles), (method, path)
