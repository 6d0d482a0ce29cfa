"""How answers are made: schemas dump the domain's objects, ETags come from @blp.etag, a 304 is
bare and carries its ETag, and Vietnamese text is sent unescaped."""
from __future__ import annotations

from types import SimpleNamespace

from marshmallow import Schema, fields

from api.schemas import Annotated, Embedded, page_of
from tests.support import form1_payload, history_since_14

AN = {"pid": "001090012345", "name": "Nguyễn Văn An", "birthdate": "1990-05-17", "gender": "male"}


class _Inner(Schema):
    note = fields.String(attribute="inner_note")


class _Outer(Schema):
    name = fields.String()
    extra = fields.Boolean(dump_default=False)
    inner = Embedded(_Inner, present=lambda obj: obj.inner_note is not None, allow_none=True)


def test_embedded_reads_the_parent_or_is_null():
    dumped = _Outer().dump(SimpleNamespace(name="a", inner_note="n"))
    assert dumped == {"name": "a", "extra": False, "inner": {"note": "n"}}
    assert _Outer().dump(SimpleNamespace(name="a", inner_note=None))["inner"] is None


def test_annotated_adds_members_before_the_objects_own():
    dumped = _Outer().dump(Annotated(SimpleNamespace(name="a", inner_note=None), extra=True))
    assert dumped == {"name": "a", "extra": True, "inner": None}


def test_page_of_names_the_schema_and_dumps_a_page():
    page_schema = page_of(_Inner, "NotesPageSchema")
    assert page_schema.__name__ == "NotesPageSchema"
    page = SimpleNamespace(items=[SimpleNamespace(inner_note="x")], next_cursor=None)
    assert page_schema().dump(page) == {"items": [{"note": "x"}], "next_cursor": None}
    assert "next_cursor" not in page_of(_Inner, "AllNotesSchema", cursor=False)().fields


def test_a_304_is_bare_and_carries_the_etag(app, client, auth):
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    headers = auth(**AN)
    created = client.post("/api/v1/requests", json=form1_payload(residence_history=history_since_14(AN["birthdate"])),
                          headers=headers).get_json()
    for url in (f"/api/v1/requests/{created['id']}", f"/api/v1/certificates/{created['certificate_id']}",
                "/.well-known/ecert/trust-list.json"):
        first = client.get(url, headers=headers)
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")  # strong
        again = client.get(url, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.headers["ETag"] == etag and again.data == b""
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]


def test_vietnamese_is_sent_unescaped(client, auth):
    body = client.get("/api/v1/me", headers=auth(**AN)).get_data(as_text=True)
    assert "Nguyễn Văn An" in body and "\\u" not in body
