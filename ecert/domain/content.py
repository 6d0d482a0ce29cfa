"""The certificate's content (docs/contracts.md "Canonical certificate content") and the rules
that decide it (DESIGN §4), plus the reasons a request cannot take the automatic path.

Pure: the caller passes the judicial-record store's view of the person (shaped like an import line
of DESIGN §11, or None when the store has never heard of them = never convicted).

A certificate speaks as of its issue date, in Vietnam's calendar: a conviction counts as expunged
when the store says so and its ``expunged_at`` is not after that date; a ban is in force when
``from`` <= that date and (``to`` is null or ``to`` >= that date).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ecert.domain import rules
from ecert.domain.validation import ascii_fold, parse_date

CONTENT_SCHEMA = 1
DEFAULT_NATIONALITY = "Việt Nam"
# Identity providers may send the ISO 3166 code rather than the name.
_NATIONALITY_NAMES = {"VN": DEFAULT_NATIONALITY, "VNM": DEFAULT_NATIONALITY}


# --- small helpers ---------------------------------------------------------------------------------


def _nfc(value: Any) -> Any:
    """NFC for strings (recursively), so that the dict equals its canonical serialisation."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def _iso_date(value: Any) -> str | None:
    """A date or "YYYY-MM-DD" string as "YYYY-MM-DD"; None stays None."""
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed.isoformat()


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC (the project stores UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """ "2026-11-23T08:15:00Z": UTC, whole seconds."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


vietnam_date = rules.vietnam_date


# --- the record rules ----------------------------------------------------------------------------


def conviction_expunged(conviction: Mapping[str, Any], on: date) -> bool:
    """Expunged (automatically, by a court, or by amnesty) as of ``on``."""
    if conviction.get("expunged") is not True:
        return False
    when = parse_date(conviction.get("expunged_at"))
    return when is None or when <= on


def ban_in_force(ban: Mapping[str, Any], on: date) -> bool:
    start = parse_date(ban.get("from"))
    end = parse_date(ban.get("to"))
    if start is None or start > on:
        return False
    return end is None or end >= on


def _convictions(person_record: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not person_record:
        return []
    return [c for c in person_record.get("convictions") or () if isinstance(c, Mapping)]


def _bans(person_record: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not person_record:
        return []
    return [b for b in person_record.get("bans") or () if isinstance(b, Mapping)]


def _conviction_entry(conviction: Mapping[str, Any], on: date) -> dict[str, Any]:
    expunged = conviction_expunged(conviction, on)
    return {
        "court": conviction.get("court"),
        "judgment_number": conviction.get("judgment_number"),
        "judgment_date": _iso_date(conviction.get("judgment_date")),
        "offences": [
            {"article": offence.get("article"), "name": offence.get("name")}
            for offence in conviction.get("offences") or ()
            if isinstance(offence, Mapping)
        ],
        "principal_penalty": conviction.get("principal_penalty"),
        "additional_penalties": list(conviction.get("additional_penalties") or ()),
        "serving_status": conviction.get("serving_status"),
        "expunged": expunged,
        "expunged_at": _iso_date(conviction.get("expunged_at")) if expunged else None,
        "basis": conviction.get("basis"),
    }


def _ban_entry(ban: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "decision": ban.get("decision"),
        "court": ban.get("court"),
        "positions": ban.get("positions"),
        "from": _iso_date(ban.get("from")),
        "to": _iso_date(ban.get("to")),
    }


def _by_judgment(entry: Mapping[str, Any]) -> tuple:
    return (entry["judgment_date"] or "", entry["judgment_number"] or "", entry["court"] or "")


def _by_start(entry: Mapping[str, Any]) -> tuple:
    return (entry["from"] or "", entry["to"] or "9999-12-31", entry["decision"] or "")


def build_record(form_type: int, person_record: Mapping[str, Any] | None, on: date) -> dict[str, Any]:
    """The ``record`` section. Form 1: statement 0 ("Không có án tích") when never convicted or every
    conviction is expunged, else 1 with each unexpunged conviction. Form 2: every conviction,
    expunged or not, in judgment-date order; statement 1 when any is unexpunged, else 0."""
    entries = sorted((_conviction_entry(c, on) for c in _convictions(person_record)), key=_by_judgment)
    active = [e for e in entries if not e["expunged"]]
    statement = rules.RECORD_STATEMENT_HAS if active else rules.RECORD_STATEMENT_NONE
    listed = entries if form_type == rules.FORM_2 else active
    return {"statement": statement, "convictions": listed}


def build_ban(
    form_type: int, include_ban_section: bool, person_record: Mapping[str, Any] | None, on: date
) -> dict[str, Any] | None:
    """The ``ban`` section: None on Form 1 when not asked for; always present on Form 2.
    Statement 2 when a ban is in force on ``on``, else 1. Form 1 lists only the bans in force (it
    certifies the present); Form 2, the full record, lists every ban, past and future included,
    in order of start."""
    if form_type != rules.FORM_2 and not include_ban_section:
        return None
    bans = _bans(person_record)
    in_force = [b for b in bans if ban_in_force(b, on)]
    listed = bans if form_type == rules.FORM_2 else in_force
    return {
        "statement": rules.BAN_STATEMENT_HAS if in_force else rules.BAN_STATEMENT_NONE,
        "bans": sorted((_ban_entry(b) for b in listed), key=_by_start),
    }


# --- the content ---------------------------------------------------------------------------------


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


def build_holder(form_type: int, holder: Mapping[str, Any]) -> dict[str, Any]:
    """The ``holder`` section from either the content's own keys or the identity-token claims
    (``name``, ``birthdate``, ``sub``, ``address``). Family names only on Form 2 (null on Form 1)."""
    full_name = _text(_first(holder, "full_name", "name"))
    if full_name is None:
        raise ValueError("holder needs a full_name")
    nationality = _text(holder.get("nationality"))
    nationality = _NATIONALITY_NAMES.get((nationality or "").upper(), nationality) or DEFAULT_NATIONALITY
    is_form_2 = form_type == rules.FORM_2
    return {
        "full_name": full_name,
        "full_name_ascii": _text(holder.get("full_name_ascii")) or ascii_fold(full_name),
        "birth_date": _iso_date(_first(holder, "birth_date", "birthdate")),
        "gender": holder.get("gender"),
        "personal_id": _first(holder, "personal_id", "sub"),
        "nationality": nationality,
        "place_of_birth": _text(holder.get("place_of_birth")),
        "residence": _text(_first(holder, "residence", "address")),
        "father_name": _text(holder.get("father_name")) if is_form_2 else None,
        "mother_name": _text(holder.get("mother_name")) if is_form_2 else None,
        "spouse_name": _text(holder.get("spouse_name")) if is_form_2 else None,
    }


def build_content(
    *,
    number: str,
    form_type: int,
    issued_at: datetime,
    issuer_id: str,
    authority: str,
    holder: Mapping[str, Any],
    purpose: str,
    request_id: str,
    include_ban_section: bool,
    person_record: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The canonical certificate content of docs/contracts.md, as a plain JSON-able dict with NFC
    strings. ``issued_at`` is rendered in UTC to the second; the rules apply as of its date in
    Vietnam. Raises ValueError for a form type other than 1 or 2 or a holder without a name."""
    if form_type not in rules.FORM_TYPES or isinstance(form_type, bool):
        raise ValueError(f"form_type must be 1 or 2, not {form_type!r}")
    on = vietnam_date(issued_at)
    content = {
        "schema": CONTENT_SCHEMA,
        "number": number,
        "form_type": form_type,
        "issued_at": format_timestamp(issued_at),
        "issuer": {"id": issuer_id, "authority": authority},
        "holder": build_holder(form_type, holder),
        "purpose": _text(purpose),
        "request_id": str(request_id),
        "record": build_record(form_type, person_record, on),
        "ban": build_ban(form_type, bool(include_ban_section), person_record, on),
    }
    nfc_content: dict[str, Any] = _nfc(content)
    return nfc_content


@dataclass(frozen=True)
class CertificateWording:
    """What the certificate says in words, beside the values of its content: the PDF renderer
    (``signing.pdf.PdfWording``) takes it as it is. Built by :func:`certificate_wording`."""

    place_of_issue: str
    form_names: Mapping[int, str]
    record_statements: Mapping[int, str]
    ban_heading: str
    ban_statements: Mapping[int, str]
    serving_statuses: Mapping[str, str]


def certificate_wording(place_of_issue: str) -> CertificateWording:
    """The legal wording of ``ecert.domain.rules`` (Vietnamese, the certificate's language) and the
    deployment's place of issue (``Settings.place_of_issue``, ``ECERT_PLACE_OF_ISSUE``)."""
    return CertificateWording(
        place_of_issue=place_of_issue,
        form_names=rules.FORM_NAMES,
        record_statements={code: text["vi"] for code, text in rules.RECORD_STATEMENT_TEXT.items()},
        ban_heading=rules.BAN_SECTION_HEADING,
        ban_statements={code: text["vi"] for code, text in rules.BAN_STATEMENT_TEXT.items()},
        serving_statuses=rules.SERVING_STATUS_TEXT,
    )


def record_statement(content: Mapping[str, Any]) -> int:
    """QR claim 6: 0 = no criminal record, 1 = has a criminal record."""
    return int(content["record"]["statement"])


def ban_statement(content: Mapping[str, Any]) -> int:
    """QR claim 7: 0 = ban section not requested, 1 = no ban, 2 = has a ban."""
    ban = content.get("ban")
    return rules.BAN_STATEMENT_NOT_REQUESTED if ban is None else int(ban["statement"])


# --- the automatic path --------------------------------------------------------------------------

REVIEW_REASONS = (
    "form_2",
    "has_unexpunged_conviction",
    "ban_section_requested",
    "ban_found",
    "multi_province_history",
    "abroad_history",
)


def needs_review_reasons(
    form_type: int,
    include_ban_section: bool,
    person_record: Mapping[str, Any] | None,
    residence_history: Iterable[Mapping[str, Any]] | None,
    today: date,
) -> list[str]:
    """Why a request cannot be issued automatically (DESIGN §4), in REVIEW_REASONS order; an empty
    list means the automatic path applies.

    The automatic path is a Form 1 request whose person has no unexpunged conviction, no ban asked
    for or in force, and a residence history in one province, never abroad. Expunged convictions
    alone do not block it (Form 1 reads "Không có án tích" for them). On Form 2 every other reason
    is listed too, for the reviewing officer; ``ban_section_requested`` only applies to Form 1
    (Form 2 always carries it). ``today`` is a date (a datetime is read in Vietnam time).
    """
    on = vietnam_date(today)
    reasons: list[str] = []
    if form_type == rules.FORM_2:
        reasons.append("form_2")
    if any(not conviction_expunged(c, on) for c in _convictions(person_record)):
        reasons.append("has_unexpunged_conviction")
    if form_type != rules.FORM_2 and include_ban_section:
        reasons.append("ban_section_requested")
    if any(ban_in_force(b, on) for b in _bans(person_record)):
        reasons.append("ban_found")
    codes = rules.residence_provinces(residence_history or ())
    if len(codes - {rules.ABROAD_CODE}) > 1:
        reasons.append("multi_province_history")
    if rules.ABROAD_CODE in codes:
        reasons.append("abroad_history")
    return reasons
