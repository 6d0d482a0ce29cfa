"""The one catalogue: Vietnamese and English texts for every code the service emits, and the
choice of language.

Vietnamese is the default (DESIGN §7, §9). Codes are stable identifiers: clients may branch on them;
the texts may be reworded at any time. The texts are data, in ``messages.json`` beside this module
(translators edit it, not code); a code is defined there once, and a problem's longer explanation
sits under ``<code>.detail``. The labels of the legal code lists (refusal and revocation reasons,
statuses, fee reductions) stay in ``ecert.domain.rules`` beside the codes; :func:`message` reads
them there under a prefix (``refusal.not_entitled``). docs/api-guide.md has the table of codes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from importlib import resources
from typing import Any

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from ecert.domain import rules

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    twice = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    if twice:
        raise ValueError(f"messages.json defines {', '.join(twice)} twice")
    return dict(pairs)


def _load_catalogue() -> dict[str, dict[str, str]]:
    """messages.json, read once: the texts are data, edited by translators, grouped under headings
    for them to read. A code stands under one heading only (a second definition is refused here, so
    it cannot silently win)."""
    text = resources.files("ecert.domain").joinpath("messages.json").read_text(encoding="utf-8")
    sections: dict[str, dict[str, dict[str, str]]] = json.loads(text, object_pairs_hook=_refuse_duplicates)
    return _refuse_duplicates([pair for section in sections.values() for pair in section.items()])


MESSAGES: dict[str, dict[str, str]] = {
    **_load_catalogue(),
    # The statements' words are the law's, kept in ecert.domain.rules beside their codes.
    "record_statement.0": dict(rules.RECORD_STATEMENT_TEXT[rules.RECORD_STATEMENT_NONE]),
    "record_statement.1": dict(rules.RECORD_STATEMENT_TEXT[rules.RECORD_STATEMENT_HAS]),
    "ban_statement.0": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_NOT_REQUESTED]),
    "ban_statement.1": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_NONE]),
    "ban_statement.2": dict(rules.BAN_STATEMENT_TEXT[rules.BAN_STATEMENT_HAS]),
}
_FALLBACK = MESSAGES["invalid_value"]

# Labels kept beside their codes in ecert.domain.rules, read under a prefix: "refusal.not_entitled".
# (Any keys: the statuses are StrEnum members, equal to their strings.)
_LABELS: Mapping[str, Mapping[Any, Mapping[str, str]]] = {
    "refusal": rules.REFUSAL_REASONS,
    "revocation": rules.REVOCATION_REASONS,
    "status": rules.STATUS_LABELS,
    "fee_reduction": rules.FEE_REDUCTIONS,
}


def _texts(code: object) -> Mapping[str, str] | None:
    if not isinstance(code, str):
        return None
    if code in MESSAGES:
        return MESSAGES[code]
    prefix, _, key = code.partition(".")
    return _LABELS.get(prefix, {}).get(key)


def has_message(code: str) -> bool:
    return _texts(code) is not None


def message(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The text of ``code`` in ``lang`` ("vi" or "en"; anything else is Vietnamese). An unknown code
    reads as the generic "invalid value"."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    texts = _texts(code) or _FALLBACK
    return texts.get(lang) or texts[DEFAULT_LANGUAGE]


def localize_errors(errors: Mapping[str, list[str]], lang: str = DEFAULT_LANGUAGE) -> dict[str, list[str]]:
    """``{field: [codes]}`` -> ``{field: [texts]}``."""
    return {field: [message(code, lang) for code in codes] for field, codes in errors.items()}


# --- the language of an answer -------------------------------------------------------------------


def _primary(tag: str) -> str:
    """The primary subtag, lower case: "en" for "EN-us" or "en_GB"."""
    return tag.strip().replace("_", "-").split("-")[0].lower()


def choose_language(accepted: LanguageAccept, query_lang: str | None = None) -> str:
    """ "vi" or "en": an explicit ``?lang=`` (vi, en, or a regional tag like en-US) wins, then the
    Accept-Language ranges (``request.accept_languages``) by werkzeug's ``best_match``, then
    Vietnamese. Two adjustments keep RFC 9110's reading where werkzeug differs: a range's
    parameters other than q are ignored ("en;level=1" is English), and between equal q-values the
    range the client listed first wins (werkzeug would prefer the server's order)."""
    if isinstance(query_lang, str) and _primary(query_lang) in LANGUAGES:
        return _primary(query_lang)
    ranges = LanguageAccept([(value.partition(";")[0].strip(), q) for value, q in accepted])
    # The ranges come sorted by q, equal q in the client's order: offer our languages in that order.
    listed = [_primary(value) for value, _ in ranges]
    ordered = sorted(LANGUAGES, key=lambda lang: listed.index(lang) if lang in listed else len(listed))
    return ranges.best_match(ordered, default=DEFAULT_LANGUAGE)


def negotiate_language(accept_language_header: str | None, query_lang: str | None = None) -> str:
    """:func:`choose_language` for a raw Accept-Language header (anything not a string is none)."""
    header = accept_language_header if isinstance(accept_language_header, str) else None
    return choose_language(parse_accept_header(header, LanguageAccept), query_lang)
