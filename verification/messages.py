"""Words for the verdict, in Vietnamese (default) and English.

Shared by the CLI and the server's verification page (``GET /v/<token>``), so a verdict reads
the same everywhere. Plain data (``messages.json``), no framework: the page's templates index these dicts.

* :data:`OUTCOME_MESSAGES` — ``{outcome: {"vi", "en", "meaning_vi", "meaning_en", "next_vi",
  "next_en"}}``: the big verdict line, what it means, and what the verifier should do next.
  A junk QR (``malformed``) says plainly "not a certificate from this service", never "expired".
* :data:`REASON_MESSAGES` — ``{reason code: {"vi", "en"}}`` for every code in
  ``result.REASON_CODES``.
* :data:`CHECK_LABELS`, :data:`FIELD_LABELS`, and :func:`field_value` for the public fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any, Final, Literal

Lang = Literal["vi", "en"]
LANGS: Final[tuple[str, ...]] = ("vi", "en")
DEFAULT_LANG: Final = "vi"

# Vietnam has one time zone, UTC+7, and no daylight saving time: a fixed offset needs no tzdata.
VIETNAM_TIME: Final = timezone(timedelta(hours=7), "ICT")

# The words are data, in messages.json beside this module (translators edit it, not code), read once.
_CATALOGUE: Final[Mapping[str, Any]] = json.loads(
    resources.files("verification").joinpath("messages.json").read_text(encoding="utf-8")
)

OUTCOME_MESSAGES: Final[Mapping[str, Mapping[str, str]]] = _CATALOGUE["outcomes"]
_VARIANTS: Final[Mapping[str, Mapping[str, Mapping[str, str]]]] = _CATALOGUE["variants"]
REASON_MESSAGES: Final[Mapping[str, Mapping[str, str]]] = _CATALOGUE["reasons"]
CHECK_LABELS: Final[Mapping[str, Mapping[str, str]]] = _CATALOGUE["checks"]
FIELD_LABELS: Final[Mapping[str, Mapping[str, str]]] = _CATALOGUE["fields"]
# The token carries these fields as small integers; JSON's keys are strings.
_VALUE_TEXT: Final[Mapping[str, Mapping[int, Mapping[str, str]]]] = {
    name: {int(value): texts for value, texts in by_value.items()} for name, by_value in _CATALOGUE["values"].items()
}


def lang_or_default(lang: str | None) -> Lang:
    return "en" if lang == "en" else "vi"


def outcome_text(
    outcome: str, lang: str = DEFAULT_LANG, *, signature_checked: bool = True, form_type: int | None = None
) -> Mapping[str, str]:
    """``{"verdict", "meaning", "next"}`` for an outcome in one language.

    The words say only what was checked: a verdict reached without reading a signature (a number
    and code looked up in the register) never speaks of one, and a Form 2, which shows no date of
    birth, is never to be compared by it (``variants`` in messages.json)."""
    lang = lang_or_default(lang)
    entry = dict(OUTCOME_MESSAGES.get(outcome, OUTCOME_MESSAGES["malformed"]))
    if not signature_checked:
        entry.update(_VARIANTS["signature_not_checked"].get(outcome, {}))
    if form_type == 2:
        entry.update(_VARIANTS["form2"].get(outcome, {}))
    return {"verdict": entry[lang], "meaning": entry[f"meaning_{lang}"], "next": entry[f"next_{lang}"]}


def reason_text(reason: str, lang: str = DEFAULT_LANG) -> str:
    entry = REASON_MESSAGES.get(reason)
    return entry[lang_or_default(lang)] if entry else reason


def format_time(iso: str | datetime, lang: str = DEFAULT_LANG, with_time: bool = True) -> str:
    """An ISO UTC time as a Vietnamese reader expects it: Vietnam time, day/month/year."""
    moment = iso if isinstance(iso, datetime) else datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(VIETNAM_TIME)
    if lang_or_default(lang) == "vi":
        return local.strftime("%d/%m/%Y %H:%M (giờ Việt Nam)" if with_time else "%d/%m/%Y")
    return local.strftime("%Y-%m-%d %H:%M (Vietnam time)" if with_time else "%Y-%m-%d")


def field_value(name: str, value: Any, lang: str = DEFAULT_LANG) -> str:
    """A public field's value as text for people (labels for codes, local dates)."""
    if value is None:
        return ""
    lang = lang_or_default(lang)
    if name in _VALUE_TEXT and value in _VALUE_TEXT[name]:
        return _VALUE_TEXT[name][value][lang]
    if name == "issued_at":
        return format_time(value, lang, with_time=False)
    if name == "holder_birth_date" and lang == "vi" and len(str(value)) == 10:
        year, month, day = str(value).split("-")
        return f"{day}/{month}/{year}"
    return str(value)
