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


def test_an_issued_submission_writes_its_request_once_and_reads_no_old_certificate(app, client, auth):
    """The request row is inserted, then updated once to issued (not once per step), and
    linking the new certificate looks for no previous one (a new request has none)."""
    client.post("/api/v1/requests", json=form1_payload(), headers=auth(pid="001090054321"))  # warm
    with counted(app) as statements:
        created = client.post("/api/v1/requests", json=form1_payload(), headers=auth()).get_json()
    assert created["status"] == "issued", created
    flat = [" ".join(s.split()).upper() for s in statements]
    assert len([s for s in flat if s.startswith("UPDATE REQUESTS")]) == 1, flat
    assert not [s for s in flat if s.startswith("SELECT") and "FROM CERTIFICATES" in s], flat
    assert len([s for s in flat if s.startswith("INSERT INTO CERTIFICATES")]) == 1, flat
