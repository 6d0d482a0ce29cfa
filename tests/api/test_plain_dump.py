"""api.schemas.PlainDumpSchema: its dump is marshmallow's dump, only cheaper.

A verdict's document is built from plain values by the verification library; its schema copies
it by the declared fields instead of running marshmallow's per-field machinery (issue 13). The
two must never differ: not for any verdict the API gives, not for any document at all (anything
that is not plain goes through marshmallow itself).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, post_dump

from api.public.verifications import VerificationResultSchema
from api.schemas import PlainDumpSchema, _copy
from tests.api.public.test_verification_api import (  # noqa: F401 - an_cert, seeded: fixtures
    BINH,
    an_cert,
    foreign_key,
    issue,
    resign,
    revoke_in_db,
    seeded,
    tamper_record_statement,
    token_of,
)
from tests.support import form2_payload, history_since_14


class _Inner(PlainDumpSchema):
    flag = fields.Boolean()
    count = fields.Integer(allow_none=True)


class _Outer(PlainDumpSchema):
    name = fields.String(required=True)
    renamed = fields.String(data_key="shown_as")
    inner = fields.Nested(_Inner, allow_none=True)


def marshmallow_dump(schema: Schema, document: Any) -> Any:
    return Schema.dump(schema, document)


_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.floats(allow_nan=False), st.just([1])
)
_inner = st.one_of(_values, st.dictionaries(st.sampled_from(["flag", "count", "other"]), _values, max_size=3))
_documents = st.dictionaries(
    st.sampled_from(["name", "renamed", "shown_as", "inner", "junk"]), st.one_of(_values, _inner), max_size=5
)


@settings(max_examples=400, deadline=None)
@given(_documents)
def test_any_document_dumps_as_marshmallow_dumps_it(document):
    schema = _Outer()
    try:
        expected = marshmallow_dump(schema, document)
    except Exception as exc:  # noqa: BLE001 - marshmallow refuses it: so must the plain dump
        with pytest.raises(type(exc)):
            schema.dump(document)
        return
    assert schema.dump(document) == expected


def test_a_plain_document_is_copied_by_the_declared_fields_without_marshmallow(monkeypatch):
    document = {"name": "a", "renamed": "b", "inner": {"flag": True, "count": None, "secret": 1}, "secret": 2}
    monkeypatch.setattr(Schema, "dump", lambda *_a, **_k: pytest.fail("marshmallow's dump ran"))
    assert _Outer().dump(document) == {"name": "a", "shown_as": "b", "inner": {"flag": True, "count": None}}


def test_a_value_of_another_type_goes_through_marshmallow():
    assert _Outer().dump({"name": 5, "inner": {"count": 2.7, "flag": 1}}) == {
        "name": "5",
        "inner": {"count": 2, "flag": True},
    }


def test_a_schema_with_a_hook_or_a_default_is_never_copied():
    class Hooked(PlainDumpSchema):
        name = fields.String()

        @post_dump
        def shout(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
            return {"name": data["name"].upper()}

    class Defaulted(PlainDumpSchema):
        name = fields.String(dump_default="x")

    assert Hooked().plain_plan is None and Hooked().dump({"name": "a"}) == {"name": "A"}
    assert Defaulted().plain_plan is None and Defaulted().dump({}) == {"name": "x"}


# --- every verdict the API gives ---------------------------------------------------------------------


@pytest.fixture
def compared(monkeypatch):
    """Every dump of a verdict, checked against marshmallow's dump of the same document; lists
    the outcomes whose document took the plain copy."""
    copied: list[str] = []
    plain_dump = PlainDumpSchema.dump

    def checked(self: PlainDumpSchema, obj: Any, *, many: bool | None = None) -> Any:
        result = plain_dump(self, obj, many=many)
        if type(self) is VerificationResultSchema:
            assert result == marshmallow_dump(self, obj)
            if self.plain_plan is not None and _copy(self.plain_plan, obj) is not None:
                copied.append(obj["outcome"])
        return result

    monkeypatch.setattr(PlainDumpSchema, "dump", checked)
    return copied


def test_every_verdict_dumps_as_marshmallow_dumps_it(seeded, client, auth, an_cert, compared):
    form2 = issue(seeded, client, auth, BINH, form2_payload(residence_history=history_since_14(BINH["birthdate"])))
    revoked = issue(seeded, client, auth, {**BINH, "pid": "079185009999"})
    revoke_in_db(seeded, revoked["id"])
    bodies = [
        {"qr": an_cert["qr_text"]},
        {"qr": form2["qr_text"]},
        {"qr": revoked["qr_text"]},
        {"qr": tamper_record_statement(token_of(an_cert))},
        {"qr": resign(token_of(an_cert), foreign_key(), kid=b"\x00" * 8)},
        {"qr": "https://example.com/hello"},
        {"number": an_cert["number"], "code": "AAAA-BBBB-CCCC"},
        {"number": an_cert["number"], "code": an_cert["verification_code"]},
    ]
    for body in bodies:
        for language in ("vi", "en"):
            answer = client.post("/api/v1/verifications", json=body, headers={"Accept-Language": language})
            assert answer.status_code == 200, answer.get_data(as_text=True)
    assert sorted(set(compared)) == sorted({"valid", "revoked", "tampered", "unknown_issuer", "malformed", "not_found"})


def test_a_dotted_attribute_is_read_as_marshmallow_reads_it():
    """marshmallow reads ``attribute="a.b"`` from inside ``a``; a copy by key would leave it out."""

    class Dotted(PlainDumpSchema):
        flag = fields.Boolean(attribute="inner.flag")

    document = {"inner": {"flag": True}}
    assert Dotted().dump(document) == marshmallow_dump(Dotted(), document) == {"flag": True}
