"""The judicial-record store: import from JSON Lines, and each person's record for a decision."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from ecert.domain.validation import ascii_fold
from ecert.models import Ban, Conviction, Person
from ecert.services.audit import Actor, record

MAX_LINE_BYTES = 1_000_000


class _Offence(Schema):
    class Meta:
        unknown = RAISE

    article = fields.String(required=True, validate=validate.Length(1, 50))
    name = fields.String(required=True, validate=validate.Length(1, 300))


class _Conviction(Schema):
    class Meta:
        unknown = RAISE

    court = fields.String(required=True, validate=validate.Length(1, 300))
    judgment_number = fields.String(required=True, validate=validate.Length(1, 100))
    judgment_date = fields.Date(required=True)
    offences = fields.List(fields.Nested(_Offence), required=True, validate=validate.Length(1, 50))
    principal_penalty = fields.String(required=True, validate=validate.Length(1, 500))
    additional_penalties = fields.List(fields.String(validate=validate.Length(1, 500)), load_default=list)
    serving_status = fields.String(required=True, validate=validate.Length(1, 100))
    expunged = fields.Boolean(required=True)
    expunged_at = fields.Date(load_default=None, allow_none=True)
    basis = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 300))

    @validates_schema
    def _expungement(self, data: dict[str, Any], **_: Any) -> None:
        if data["expunged"] and data.get("expunged_at") is None:
            raise ValidationError("expunged_at is required when expunged is true", "expunged_at")
        if not data["expunged"] and data.get("expunged_at") is not None:
            raise ValidationError("expunged_at given but expunged is false", "expunged_at")
        if data.get("expunged_at") and data["expunged_at"] < data["judgment_date"]:
            raise ValidationError("expunged_at is before the judgment date", "expunged_at")


class _Ban(Schema):
    class Meta:
        unknown = RAISE

    decision = fields.String(required=True, validate=validate.Length(1, 300))
    court = fields.String(required=True, validate=validate.Length(1, 300))
    positions = fields.String(required=True, validate=validate.Length(1, 500))
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("'to' is before 'from'", "to")


class PersonRecordSchema(Schema):
    """One line of the judicial-record import (DESIGN §11)."""

    class Meta:
        unknown = RAISE

    personal_id = fields.String(required=True, validate=validate.Regexp(r"^\d{12}$"))
    full_name = fields.String(required=True, validate=validate.Length(1, 100))
    birth_date = fields.Date(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(["male", "female"]))
    convictions = fields.List(fields.Nested(_Conviction), load_default=list)
    bans = fields.List(fields.Nested(_Ban), load_default=list)


_SCHEMA = PersonRecordSchema()


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value


def _describe(messages: Any, prefix: str = "") -> str:
    if isinstance(messages, dict):
        return "; ".join(_describe(v, f"{prefix}{k}.") for k, v in messages.items())
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return f"{prefix.rstrip('.')}: {' '.join(messages)}"
    return f"{prefix.rstrip('.')}: {messages}"


def upsert_person(session: Session, data: dict[str, Any]) -> Person:
    """Replace the person's record with this one (the import file is the source's full view)."""
    person = session.execute(select(Person).where(Person.personal_id == data["personal_id"])).scalar_one_or_none()
    if person is None:
        person = Person(personal_id=data["personal_id"])
        session.add(person)
    person.full_name = data["full_name"]
    person.full_name_ascii = ascii_fold(data["full_name"])
    person.birth_date = data["birth_date"]
    person.gender = data["gender"]
    person.convictions = [
        Conviction(
            court=c["court"],
            judgment_number=c["judgment_number"],
            judgment_date=c["judgment_date"],
            offences=c["offences"],
            principal_penalty=c["principal_penalty"],
            additional_penalties=c["additional_penalties"],
            serving_status=c["serving_status"],
            expunged=c["expunged"],
            expunged_at=c["expunged_at"],
            basis=c["basis"],
        )
        for c in data["convictions"]
    ]
    person.bans = [
        Ban(decision=b["decision"], court=b["court"], positions=b["positions"], from_date=b["from_"], to_date=b["to"])
        for b in data["bans"]
    ]
    return person


def import_lines(session: Session, lines: Iterable[str | bytes], actor: Actor) -> ImportReport:
    """Import JSON Lines; a bad line is reported by number and skipped with nothing of it written."""
    report = ImportReport()
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            if len(raw) > MAX_LINE_BYTES:
                report.errors.append((number, "line too long"))
                continue
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                report.errors.append((number, "not UTF-8"))
                continue
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            report.errors.append((number, "line too long"))
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:  # a JSONDecodeError, or a number too long to convert
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            report.errors.append((number, f"not JSON: {detail}"))
            continue
        if not isinstance(obj, dict):
            report.errors.append((number, "not a JSON object"))
            continue
        try:
            data = _SCHEMA.load(_nfc(obj))
        except ValidationError as exc:
            report.errors.append((number, _describe(exc.messages)))
            continue
        # A savepoint per line: a line that fails in the database leaves nothing behind.
        try:
            with session.begin_nested():
                upsert_person(session, data)
                session.flush()
        except Exception as exc:  # noqa: BLE001 - the line is reported, the import goes on
            report.errors.append((number, f"not stored: {type(exc).__name__}"))
            continue
        report.imported += 1
    record(
        session,
        actor,
        "records.imported",
        target_type="records",
        details={"imported": report.imported, "rejected_lines": [n for n, _ in report.errors][:100]},
    )
    return report


def import_file(session: Session, stream: IO[bytes], actor: Actor) -> ImportReport:
    return import_lines(session, stream, actor)


# Built once: every submission and issuance asks it, and building the loader options costs
# about as much as the query for a person with no entry.
_PERSON_WITH_RECORD = (
    select(Person)
    .where(Person.personal_id == bindparam("personal_id"))
    .options(selectinload(Person.convictions), selectinload(Person.bans))
)


def person_record(session: Session, personal_id: str) -> dict[str, Any] | None:
    """The person's record shaped like an import line, or None when the store has no entry."""
    person = session.execute(_PERSON_WITH_RECORD, {"personal_id": personal_id}).scalar_one_or_none()
    if person is None:
        return None
    return {
        "personal_id": person.personal_id,
        "full_name": person.full_name,
        "birth_date": person.birth_date.isoformat(),
        "gender": person.gender,
        "convictions": [
            {
                "court": c.court,
                "judgment_number": c.judgment_number,
                "judgment_date": c.judgment_date.isoformat(),
                "offences": c.offences,
                "principal_penalty": c.principal_penalty,
                "additional_penalties": c.additional_penalties,
                "serving_status": c.serving_status,
                "expunged": c.expunged,
                "expunged_at": c.expunged_at.isoformat() if c.expunged_at else None,
                "basis": c.basis,
            }
            for c in person.convictions
        ],
        "bans": [
            {
                "decision": b.decision,
                "court": b.court,
                "positions": b.positions,
                "from": b.from_date.isoformat(),
                "to": b.to_date.isoformat() if b.to_date else None,
            }
            for b in person.bans
        ],
    }
