"""Rate limits (flask-limiter): a limit belongs to whoever acts (DESIGN §9).

| limit | counted per | what spends it |
|---|---|---|
| ``request_creation`` | citizen (the token's ``sub``) | every answer but a 422, an idempotent replay or a 429 |
| ``staff`` (every staff endpoint but sign-in) | staff member | as above |
| ``login`` | username and client address | as above |
| ``verification``, ``verification_pdf`` | client address, or the organisation (``X-Api-Key``) | every check |

A registered verifier organisation's checks are counted per organisation, at its own quota
(``verifiers create --quota``, default 600/minute), not at the configured limit.

A whole city behind one carrier NAT or the identity app's gateway is many citizens, so creation
is never counted per address; a request without a valid token is counted per address (its 401
spends). A check spends even when refused: its cost (a PDF parse) is paid either way.

Storage is Redis when ECERT_REDIS_URL is set, so every worker on every host shares the counts;
in-process memory otherwise (each worker counts on its own: said in the log at start).
ECERT_RATE_LIMITS=off turns every limit off (benchmarks); ``name=limit`` pairs, comma-separated,
override the defaults, e.g. ``verification=120/minute,login=5/minute``.

The client address is ``request.remote_addr``: werkzeug's ProxyFix sets it from the
X-Forwarded-For entry ``ECERT_TRUSTED_PROXIES`` hops from the right (``api.register``);
nothing else reads that header. Counts are never kept under an address, a personal id or a
username (DESIGN §7): every key is a keyed hash (:func:`client_key`, :func:`_hashed`). The
limiter logs that key when a limit is breached, and Redis stores it; neither learns who.

Each limited answer carries ``RateLimit-Policy`` and ``RateLimit`` (IETF httpapi
ratelimit-headers draft), and the OpenAPI document declares them and the 429 (:func:`document`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RequestLimit
from flask_smorest import Api
from limits import parse_many

from api.deps import bearer_token, db_session, edge, resources
from api.errors import problem
from ecert.config import Settings
from ecert.db import utcnow
from ecert.errors import ConfigurationError, DomainError
from ecert.services import staff as staff_service

log = logging.getLogger("ecert.limits")

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_LIMITS = {
    "login": "10/minute;50/hour",
    "verification": "60/minute;1000/hour",
    "verification_pdf": "10/minute;100/hour",
    "request_creation": "10/minute;30/hour",
    "staff": "300/minute;5000/hour",
}

# The limits whose budget a 422 (invalid input) and an idempotent replay do not spend.
_SPENT_ONLY_BY_WORK = frozenset({"login", "request_creation", "staff"})
# Every staff endpoint is limited per member, except those that carry a limit of their own.
STAFF_BLUEPRINT = "staff"


def _on_breach(request_limit: RequestLimit) -> Response:
    retry_after = max(1, math.ceil(request_limit.reset_at - time.time()))
    return problem(429, "rate_limited", headers={"Retry-After": str(retry_after)})


def parse_limits(raw: str) -> dict[str, str]:
    limits = dict(DEFAULT_LIMITS)
    raw = raw.strip()
    if not raw or raw.lower() == "off":
        return limits
    for pair in raw.split(","):
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in DEFAULT_LIMITS or not value:
            raise ConfigurationError(
                f"ECERT_RATE_LIMITS: {pair.strip()!r} is not name=limit with a name among {', '.join(DEFAULT_LIMITS)}"
            )
        limits[name] = value
    return limits


def client_key(address: str | None, secret: bytes) -> str:
    """The rate-limit key of a client address: HMAC-SHA256 under a key derived from the app's
    secret, 128 bits in hex. Equal on every worker and host that share ECERT_SECRET_KEY (so
    Redis counts stay shared), and no log line, Redis dump or error report holds the address.

    An IPv6 client usually holds a whole /64, so its /64 is the client: otherwise each of its
    2^64 addresses would get a fresh allowance.
    """
    text = address or "unknown"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if ip.version == 6 and ip.ipv4_mapped is None:
            text = str(ipaddress.IPv6Network((ip, 64), strict=False))
        elif ip.version == 6 and ip.ipv4_mapped is not None:
            text = str(ip.ipv4_mapped)
    return _hashed(text, secret)


def _hashed(text: str, secret: bytes) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:32]


def _key_secret(settings: Settings) -> bytes:
    # A key of its own (not the session-signing secret itself), derived so that nothing new
    # needs configuring.
    return hmac.new(settings.secret_key.encode(), b"ecert rate-limit client key", hashlib.sha256).digest()


# --- whose budget: one key function per limit ----------------------------------------------------


def _address(secret: bytes) -> str:
    return "address:" + client_key(request.remote_addr, secret)


def _citizen(secret: bytes) -> str:
    """The citizen the identity token names (verified here: the limit is checked before the
    view's own ``citizen_required``); no valid token counts against the address."""
    try:
        identity = resources().identity.verify(bearer_token())
    except DomainError:
        return _address(secret)
    return "citizen:" + _hashed(identity.personal_id, secret)


def _staff_member(secret: bytes) -> str:
    """The staff member whose session the token opens (read only: ``staff_required`` renews
    it); no live session counts against the address."""
    try:
        staff_session = staff_service.session_for_token(
            db_session(), bearer_token(), settings=resources().settings, now=utcnow()
        )
    except DomainError:
        return _address(secret)
    return "staff:" + _hashed(str(staff_session.staff_id), secret)


def _username_and_address(secret: bytes) -> str:
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    name = staff_service.normalise_username(username) if isinstance(username, str) else ""
    return "login:" + _hashed(f"{name}\n{client_key(request.remote_addr, secret)}", secret)


# The limits an organisation's key moves from the client address to the organisation.
_ORGANISATION_LIMITS = frozenset({"verification", "verification_pdf"})


def _organisation() -> Any:
    """The organisation the verification blueprint authenticated before the limiter ran."""
    return g.get("verifier") if request.blueprint == "verifications" else None


def organisation_key() -> str | None:
    """The verifier organisation a check is made for (``X-Api-Key``, DESIGN §7), whose quota it
    then spends; None for an anonymous check."""
    organisation = _organisation()
    return str(organisation.id) if organisation is not None else None


def _verifier(secret: bytes) -> str:
    organisation = organisation_key()
    if organisation is not None:
        return "organisation:" + _hashed(organisation, secret)
    return _address(secret)


KEY_FUNCTIONS: dict[str, Callable[[bytes], str]] = {
    "login": _username_and_address,
    "verification": _verifier,
    "verification_pdf": _verifier,
    "request_creation": _citizen,
    "staff": _staff_member,
}


def spends(response: Response) -> bool:
    """Whether an answer spends a budget of ``_SPENT_ONLY_BY_WORK``: not a request refused as
    invalid (422), not an idempotent replay, not the 429 itself."""
    if response.status_code in (422, 429):
        return False
    return response.headers.get("Idempotent-Replayed") != "true"


def limit_for(name: str) -> str:
    """The limit of ``name`` for this request: a registered organisation's own quota for its
    checks, else the configured one. With ECERT_RATE_LIMITS=off the limiter is off for all."""
    organisation = _organisation() if name in _ORGANISATION_LIMITS else None
    if organisation is not None:
        return str(organisation.quota)
    return edge().rate_limits[name]


def rate_limit(name: str) -> Callable[[F], F]:
    """Mark a view with a named limit; ``init_app`` applies it with the app's own limiter.

    A limiter per app (not one per module) keeps apps with different settings, as in tests,
    from sharing storage and switches.
    """
    if name not in DEFAULT_LIMITS:
        raise ValueError(f"unknown rate limit {name}")

    def mark(view: F) -> F:
        view._ecert_rate_limit = name  # type: ignore[attr-defined]  # noqa: SLF001 - our own mark, read by init_app
        return view

    return mark


def limited_endpoints(app: Flask) -> dict[str, str]:
    """Endpoint -> the name of its limit."""
    named = {}
    for endpoint, view in app.view_functions.items():
        name = getattr(view, "_ecert_rate_limit", None)
        if name is None and endpoint.startswith(STAFF_BLUEPRINT + "."):
            name = "staff"
        if name:
            named[endpoint] = name
    return named


def init_app(app: Flask, settings: Settings) -> Limiter:
    """Call after every blueprint is registered. The limits themselves are read per request
    from ``api.deps.Edge.rate_limits``."""
    secret = _key_secret(settings)
    # Registered before the limiter's own hook, so it runs after it: after the deduction.
    app.after_request(_publish)
    limiter = Limiter(
        key_func=lambda: _address(secret),
        app=app,
        on_breach=_on_breach,
        headers_enabled=False,
        storage_uri=settings.redis_url or "memory://",
        key_prefix="ecert",
        enabled=settings.rate_limits_enabled,
        # A Redis outage must not take verification down with it: fall back to local counts.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    if settings.rate_limits_enabled and not settings.redis_url:
        log.warning(
            "rate limits: counts are kept in this worker's memory, so each worker counts on its own "
            "(the real limit is ECERT_WORKERS times the set one) and a restart forgets them; "
            "set ECERT_REDIS_URL to share them"
        )
    if not settings.rate_limits_enabled:
        # Limits off (ECERT_RATE_LIMITS=off, refused in production): no wrapper at all, rather
        # than one per request that asks a disabled limiter whether to count.
        return limiter
    for endpoint, name in limited_endpoints(app).items():
        # shared_limit: every view with the same name draws on one budget per client (the
        # verification page and the JSON API are one "verification" allowance).
        limited = limiter.shared_limit(
            functools.partial(limit_for, name),
            scope=name,
            key_func=functools.partial(KEY_FUNCTIONS[name], secret),
            deduct_when=spends if name in _SPENT_ONLY_BY_WORK else None,
        )(app.view_functions[endpoint])
        app.view_functions[endpoint] = cast(Any, limited)
    return limiter


# --- RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers) -----------------------


def _policy_name(name: str, window: int) -> str:
    return f"{name}-{window}s"


def _publish(response: Response) -> Response:
    """Every limit counted for this request, its quota and what is left of it."""
    current = edge().limiter.current_limits if request.endpoint else []
    if not current:
        return response
    policies, states = [], []
    now = time.time()
    for request_limit in current:
        item = request_limit.limit
        name = str(request_limit.request_args[-1])
        window = item.get_expiry()
        reset, remaining = request_limit.limiter.get_window_stats(item, *request_limit.request_args)
        label = _policy_name(name, window)
        policies.append(f'"{label}";q={item.amount};w={window}')
        states.append(f'"{label}";r={max(0, remaining)};t={max(0, math.ceil(reset - now))}')
    response.headers["RateLimit-Policy"] = ", ".join(policies)
    response.headers["RateLimit"] = ", ".join(states)
    return response


def document(api: Api, app: Flask, limits: dict[str, str]) -> None:
    """Declare, on every limited operation, its 429 (a problem with ``Retry-After``) and the
    RateLimit headers of its answers, with this server's quotas (DESIGN §9: the limits in the
    spec are the server's limits)."""
    paths = api.spec._paths  # noqa: SLF001 - apispec keeps paths only here
    for rule in app.url_map.iter_rules():
        name = limited_endpoints(app).get(rule.endpoint)
        path = _openapi_path(rule.rule)
        if name is None or path not in paths:
            continue
        quota = ", ".join(
            f'"{_policy_name(name, item.get_expiry())}";q={item.amount};w={item.get_expiry()}'
            for item in parse_many(limits[name])
        )
        for method in rule.methods or ():
            operation = paths[path].get(method.lower())
            if isinstance(operation, dict):
                _document_operation(operation, quota)


def _openapi_path(rule: str) -> str:
    out = rule
    while "<" in out:
        start, end = out.index("<"), out.index(">")
        out = out[:start] + "{" + out[start + 1 : end].rpartition(":")[2] + "}" + out[end + 1 :]
    return out


def _document_operation(operation: dict[str, Any], quota: str) -> None:
    headers = {
        "RateLimit-Policy": {
            "description": f"The quotas that apply (IETF httpapi-ratelimit-headers): {quota}",
            "schema": {"type": "string"},
        },
        "RateLimit": {
            "description": "What is left of each quota (r) and the seconds until it refills (t)",
            "schema": {"type": "string"},
        },
    }
    responses = operation.setdefault("responses", {})
    for response in responses.values():
        if isinstance(response, dict):
            response.setdefault("headers", {}).update(headers)
    too_many = responses.setdefault(
        "429",
        {
            "description": "rate_limited: this budget is spent; wait Retry-After seconds",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    )
    too_many_headers = too_many.setdefault("headers", {})
    too_many_headers.setdefault(
        "Retry-After", {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
    )
    too_many_headers.update(headers)
