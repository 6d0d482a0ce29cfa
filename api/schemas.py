"""What every input schema shares: it checks shape and speaks in codes.

An input schema checks the shape of a body or a query (types, required fields, membership of a
closed list, nesting, no unknown fields); the rules (lengths, patterns, ranges, how fields relate)
are ``ecert.domain.validation``'s, which the services apply or which a field calls through
:func:`checked_by`. Every error is a code of the one catalogue (``ecert.domain.i18n``), never one
of marshmallow's English sentences: :class:`InputSchema` replaces those by their codes when a
field is bound, so no schema repeats ``error_messages``. docs/api-guide.md lists the codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

# marshmallow's reasons (the keys of a field's error_messages) and the code each one becomes.
# Any other reason ("too_large" for a huge integer, "invalid_utf8", ...) is "invalid_value".
_REASON_CODES = {
    "required": "required",
    "null": "null_not_allowed",
    "invalid": "invalid_type",
    "type": "invalid_type",
}


def _code(field: fields.Field, reason: str) -> str:
    if reason == "invalid" and isinstance(field, (fields.Date, fields.DateTime)):
        return "invalid_date"
    return _REASON_CODES.get(reason, "invalid_value")


def _speak_codes(field: fields.Field) -> None:
    """Replace the field's messages, and those of the fields inside it (a list's items), by codes."""
    field.error_messages = {reason: _code(field, reason) for reason in field.error_messages}
    inner = getattr(field, "inner", None)
    if isinstance(inner, fields.Field):
        _speak_codes(inner)


class InputSchema(Schema):
    """The base of every body and query schema: unknown fields refused, every error a code."""

    error_messages = {"unknown": "unknown_field", "type": "invalid_type"}

    class Meta:
        unknown = RAISE
        ordered = True

    def on_bind_field(self, _field_name: str, field_obj: fields.Field) -> None:
        _speak_codes(field_obj)


# --- validators that answer with codes -----------------------------------------------------------


def one_of(choices: Sequence[Any]) -> validate.OneOf:
    """Membership of a closed list (an enum): ``invalid_choice``."""
    return validate.OneOf(list(choices), error="invalid_choice")


def max_length(maximum: int) -> validate.Length:
    """At most ``maximum`` characters (the number comes from the domain; OpenAPI shows it)."""
    return validate.Length(max=maximum, error="too_long")


def not_empty() -> validate.Length:
    """An empty string is as good as a missing one: ``required``."""
    return validate.Length(min=1, error="required")


def in_range(low: int, high: int) -> validate.Range:
    """``low <= value <= high``: ``out_of_range``."""
    return validate.Range(low, high, error="out_of_range")


def checked_by(rule: Callable[[Any], list[str]]) -> Callable[[Any], None]:
    """A field validator that applies a rule of ``ecert.domain.validation`` (value -> codes)."""

    def check(value: Any) -> None:
        codes = rule(value)
        if codes:
            raise ValidationError(codes)

    return check
