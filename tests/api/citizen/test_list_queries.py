"""A page of requests costs the same number of queries whatever it holds: each item's
certificate_id comes from one query for the whole page, not one a request (N+1)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from ecert.wiring import resources_of
from tests.support import form1_payload


@contextmanager
def counted(app):
    statements: list[str] = []
    engine = resources_of(app).engine

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_citizens_list_does_not_query_once_per_certificate(app, client, auth):
    headers = auth()
    costs = []
    for _ in range(3):
        created = client.post("/api/v1/requests", json=form1_payload(), headers=headers).get_json()
        assert created["status"] == "issued", created
        with counted(app) as statements:
            page = client.get("/api/v1/requests", headers=headers).get_json()
        assert all(item["certificate_id"] for item in page["items"])
        costs.append(len([s for s in statements if "certificates" in s]))
    assert len(page["items"]) == 3
    assert costs[0] == costs[-1], costs  # 1 certificate or 3: the same queries
