"""Minimal JSON-over-HTTP for the offline verifier's online mode (stdlib urllib only).

Only https is allowed, except plain http to the local machine (development servers): a trust
list fetched over plain http from elsewhere could be swapped on the way. Responses are capped.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any, Final
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES: Final = 1024 * 1024
USER_AGENT: Final = "ecert-verifier/1"


class HttpError(Exception):
    """Any failure to get a JSON answer: network, HTTP status, size, or bad JSON."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """Return ``url`` when its scheme is acceptable, else raise ValueError."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not parts.hostname:
        raise ValueError(f"not an absolute URL: {url!r}")
    if scheme == "https" or (scheme == "http" and _is_loopback(parts.hostname)):
        return url
    raise ValueError(f"only https (or http to localhost) is allowed: {url!r}")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to URLs that pass :func:`check_url` (no https -> http downgrade)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            check_url(newurl)
        except ValueError as exc:
            raise urllib.error.URLError(f"refused redirect: {exc}") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def request_json(url: str, body: Any | None = None, timeout: float = 10.0) -> Any:
    """GET (or POST ``body`` as JSON) and return the decoded JSON answer."""
    check_url(url)
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Accept", "application/json")
    req.add_header("User-Agent", USER_AGENT)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(req, timeout=timeout) as resp:  # scheme checked, redirects too
            raw = resp.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise HttpError(f"HTTP {exc.code} from {url}", status=exc.code) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HttpError(f"cannot reach {url}: {exc}") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise HttpError(f"answer from {url} is larger than {MAX_RESPONSE_BYTES} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        raise HttpError(f"answer from {url} is not JSON") from None
