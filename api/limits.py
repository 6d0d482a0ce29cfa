"""Rate limits (flask-limiter): login, verification and request creation.

Storage is Redis when ECERT_REDIS_URL is set, so every worker on every host shares the counts;
in-process memory otherwise (one development process). ECERT_RATE_LIMITS=off turns every limit
off (benchmarks); ``name=limit`` pairs, comma-separated, override the defaults, e.g.
``verification=120/minute,login=5/minute``.

Counts are kept per client, but never under the client's address (DESIGN §7: never an IP
address, not even in the logs): the key is a keyed hash of it (:func:`client_key`). The limiter
logs that key when a limit is breached, and Redis stores it; neither learns an address.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit

from api.deps import edge
from api.errors import problem
from ecert.config import Settings
from ecert.errors import ConfigurationError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_LIMITS = {
    "login": "10/minute;50/hour",
    "verification": "60/minute;1000/hour",
    "verification_pdf": "10/minute;100/hour",
    "request_creation": "10/minute;30/hour",
}


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
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:32]


def _key_secret(settings: Settings) -> bytes:
    # A key of its own (not the session-signing secret itself), derived so that nothing new
    # needs configuring.
    return hmac.new(settings.secret_key.encode(), b"ecert rate-limit client key", hashlib.sha256).digest()


def limit_for(name: str) -> str:
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


def init_app(app: Flask, settings: Settings) -> Limiter:
    """Call after every blueprint is registered. The limits themselves are read per request
    from ``api.deps.Edge.rate_limits``."""
    secret = _key_secret(settings)
    limiter = Limiter(
        key_func=lambda: client_key(request.remote_addr, secret),
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
    for endpoint, view in list(app.view_functions.items()):
        name = getattr(view, "_ecert_rate_limit", None)
        if name:
            # shared_limit: every view with the same name draws on one budget per client (the
            # verification page and the JSON API are one "verification" allowance).
            limited = limiter.shared_limit(functools.partial(limit_for, name), scope=name)(view)
            app.view_functions[endpoint] = cast(Any, limited)
    return limiter
