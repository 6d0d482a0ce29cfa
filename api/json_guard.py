"""The edge's JSON reader: hostile JSON is refused before anything else parses it (DESIGN §9).

Python's ``json`` raises ``ValueError`` on a 5,000-digit integer (the int-str conversion limit)
and ``RecursionError`` on JSON nested some thousand levels deep; a ``"\\ud800"`` escape decodes to
a lone surrogate that no encoder can write back. webargs, flask and ``api/idempotency.py`` all call
``json.loads`` on the body: ``guard_request_body`` runs first, as a ``before_request`` hook, and
answers 400 ``invalid_json`` for any of these, so the later parsers only ever see bodies that are
safe for them.

Decisions (docs/security.md):
- at most MAX_DEPTH levels of arrays/objects (our deepest body has 3);
- a number has at most MAX_NUMBER_CHARS characters and is finite (no NaN/Infinity literals, no
  1e400);
- strings are valid UTF-8 without lone surrogates;
- duplicate keys are refused: parsers disagree on which one wins (Python keeps the last, others
  the first), so a body checked by one component could mean something else to another.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, Response, request
from flask.json.provider import DefaultJSONProvider
from webargs.core import is_json

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A string (escapes included) or one bracket: strings are skipped whole, so brackets inside them
# do not count towards the depth.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
# A \uD800-\uDFFF escape: only then can a decoded string hold a surrogate (the raw text is valid
# UTF-8, which has none).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class HostileJson(ValueError):
    """The body is not JSON we accept; ``reason`` says why (for logs and tests, not the client)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _depth_exceeds(text: str, limit: int) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False  # fewer openers than the limit: no nesting can reach it (str.count is C)
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _number(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise HostileJson("number_too_long")
    return text


def _parse_int(text: str) -> int:
    return int(_number(text))


def _parse_float(text: str) -> float:
    value = float(_number(text))
    if not math.isfinite(value):
        raise HostileJson("number_not_finite")
    return value


def _parse_constant(_text: str) -> Any:
    raise HostileJson("number_not_finite")  # NaN, Infinity, -Infinity are not JSON (RFC 8259)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise HostileJson("duplicate_key")
    return result


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def strict_loads(raw: bytes | str) -> Any:
    """``json.loads`` that raises ``HostileJson`` (a ValueError) for everything refused above,
    and never RecursionError."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")  # strict: overlong forms and encoded surrogates fail
        except UnicodeDecodeError:
            raise HostileJson("invalid_utf8") from None
    else:
        text = raw
    if _depth_exceeds(text, MAX_DEPTH):
        raise HostileJson("too_deep")
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
            object_pairs_hook=_object,
        )
    except HostileJson:
        raise
    except RecursionError:
        raise HostileJson("too_deep") from None
    except ValueError:
        raise HostileJson("syntax") from None
    if _SURROGATE_ESCAPE.search(text) and any(_SURROGATE.search(s) for s in _strings(value)):
        raise HostileJson("lone_surrogate")
    return value


def guard_request_body() -> Response | None:
    """before_request: a JSON body that ``strict_loads`` refuses is a 400 problem. An empty body
    is left to the schema (its required fields answer 422)."""
    # webargs's own test for "this body is JSON": exactly the bodies it would parse.
    if request.method not in _METHODS_WITH_BODY or not is_json(request.mimetype):
        return None
    raw = request.get_data(cache=True)  # over the body cap: 413, raised here
    if not raw.strip():
        return None
    try:
        strict_loads(raw)
    except HostileJson:
        from api.errors import problem

        return problem(400, "invalid_json", field_errors=[("body", "invalid_json")])
    return None


class StrictJSONProvider(DefaultJSONProvider):
    """``request.get_json()`` reads with the same rules, should any view use it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:  # noqa: ARG002 - the provider's signature
        return strict_loads(s)


class StrictRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> Any:  # noqa: ARG002 - the signature in Request
        from werkzeug.exceptions import BadRequest

        raise BadRequest("invalid_json")


def init_app(app: Flask) -> None:
    strict = StrictJSONProvider(app)
    for setting in ("ensure_ascii", "sort_keys", "compact", "mimetype"):
        setattr(strict, setting, getattr(app.json, setting))
    app.json = strict
    app.request_class = StrictRequest
    app.before_request(guard_request_body)
