"""Canonical JSON for certificate content (DESIGN §6, docs/contracts.md).

The database keeps the exact canonical bytes, and QR claim 8 is a digest over
them, so the same content must always give the same bytes on every machine
and in every language a verifier may be written in. Hence:

* every string (keys too) NFC-normalised: "ễ" typed on a Mac (decomposed) and
  on Windows (composed) is the same name;
* keys sorted by code point, separators ``,`` and ``:``, no whitespace,
  UTF-8 without ``\\u`` escapes (``ensure_ascii=False``);
* no floats at all (their text form differs between languages), and integers
  kept within ±(2**53 - 1) so a JavaScript verifier reads them exactly;
* only JSON types: dict with str keys, list/tuple, str, int, bool, None.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

__all__ = ["canonical_json", "content_digest", "MAX_SAFE_INTEGER"]

MAX_SAFE_INTEGER = 2**53 - 1


def _normalise(obj: Any, path: str) -> Any:
    # bool before int: bool is a subclass of int and is fine as JSON true/false.
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        if abs(obj) > MAX_SAFE_INTEGER:
            raise ValueError(f"integer out of the interoperable range at {path}")
        return obj
    if isinstance(obj, float):
        raise ValueError(f"floats are not allowed in canonical JSON (at {path})")
    if isinstance(obj, str):
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings (at {path}: {key!r})")
            nkey = unicodedata.normalize("NFC", key)
            if nkey in out:
                # Two keys equal after NFC would silently lose data.
                raise ValueError(f"duplicate key after NFC normalisation at {path}: {nkey!r}")
            out[nkey] = _normalise(value, f"{path}.{nkey}")
        return out
    if isinstance(obj, (list, tuple)):
        return [_normalise(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(f"type {type(obj).__name__} is not allowed in canonical JSON (at {path})")


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` canonically (see module docstring) to UTF-8 bytes."""
    text = json.dumps(
        _normalise(obj, "$"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates cannot be UTF-8; they are never legitimate text.
        raise ValueError("string contains a lone surrogate") from None


def content_digest(canonical: bytes) -> bytes:
    """QR claim 8: the first 16 bytes of SHA-256 over the canonical content bytes."""
    return hashlib.sha256(canonical).digest()[:16]
