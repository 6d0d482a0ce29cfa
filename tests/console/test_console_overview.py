"""The overview's numbers (grouped by Vietnamese day in the database) and its chart geometry."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from api.console.charts import horizontal, nice_max, stacked
from ecert.models import Certificate, CertificateRequest
from ecert.services import overview as overview_service
from ecert.services.overview import DayCount
from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    AN,
    CUONG,
    issued_certificate,
    review_request,
    seeded,
    submit,
)


def test_today_counts_issued_revoked_and_verifications_by_channel(db, client, issued_certificate, review_request):
    cert = db.get(Certificate, issued_certificate["certificate_id"])
    for _ in range(2):
        client.post("/api/v1/verifications", json={"qr": cert.qr_text})
    client.post("/v", data={"number": cert.number, "code": cert.verification_code})
    db.execute(update(Certificate).where(Certificate.id == cert.id)
               .values(status="revoked", revoked_at=datetime.now(timezone.utc)))
    db.commit()
    numbers = overview_service.overview(db, now=datetime.now(timezone.utc))
    today = numbers.decisions[-1]
    assert len(numbers.decisions) == len(numbers.verifications) == overview_service.DEFAULT_DAYS
    assert today.counts == {"issued": 1, "refused": 0, "revoked": 1}
    assert numbers.verifications[-1].counts == {"qr": 2, "page": 0, "code": 1, "pdf": 0, "share": 0}
    assert sum(day.total() for day in numbers.decisions[:-1]) == 0
    assert numbers.waiting_total == 1 and numbers.overdue == 0


def test_waiting_requests_fall_in_their_deadline_bucket(db, client, auth, seeded):
    made = submit(client, auth, CUONG)
    now = datetime.now(timezone.utc)
    for due, bucket in ((now - timedelta(hours=1), "overdue"), (now + timedelta(hours=5), "due_1d"),
                        (now + timedelta(days=2), "due_3d"), (now + timedelta(days=5), "due_7d"),
                        (now + timedelta(days=9), "due_later")):
        db.execute(update(CertificateRequest).where(CertificateRequest.id == made["id"]).values(due_at=due))
        db.commit()
        waiting = overview_service.waiting_by_deadline(db, now)
        assert waiting == {name: int(name == bucket) for name, _ in overview_service.DEADLINE_BUCKETS}, bucket


def test_a_day_is_a_vietnamese_day(db, client, issued_certificate):
    """Issued at 18:30 UTC is the next morning in Vietnam (UTC+7)."""
    evening = datetime.now(timezone.utc).replace(hour=18, minute=30) - timedelta(days=2)
    db.execute(update(Certificate).where(Certificate.id == issued_certificate["certificate_id"])
               .values(issued_at=evening))
    db.commit()
    numbers = overview_service.overview(db, now=datetime.now(timezone.utc))
    counted = {day.day: day.counts["issued"] for day in numbers.decisions}
    assert counted[evening.date() + timedelta(days=1)] == 1 and counted.get(evening.date(), 0) == 0


@pytest.mark.parametrize("value, top", [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (4_321, 5_000)])
def test_the_axis_top_is_round(value, top):
    assert nice_max(value) == top


def test_stacked_bars_stack_to_their_total_and_say_their_figures():
    days = [DayCount(date(2026, 11, 29), {"issued": 3, "refused": 1}), DayCount(date(2026, 11, 30), {"issued": 0})]
    chart = stacked(days, ["issued", "refused"], {"issued": "Cấp", "refused": "Từ chối"})
    first = [r for r in chart.rects if r.title.startswith("2026-11-29")]
    assert [r.title for r in first] == ["2026-11-29 · Cấp: 3", "2026-11-29 · Từ chối: 1"]
    assert first[0].y + first[0].h == pytest.approx(first[1].y + first[1].h + first[0].h)  # stacked
    assert sum(r.h for r in first) == pytest.approx(160 * 4 / 5)  # 4 of an axis topped at 5
    assert not [r for r in chart.rects if r.title.startswith("2026-11-30")]


def test_horizontal_bars_are_proportional():
    chart = horizontal({"overdue": 2, "due_1d": 0, "due_later": 1}, {"overdue": "a", "due_1d": "b", "due_later": "c"})
    widths = {r.kind: r.w for r in chart.rects}
    assert widths["overdue"] == pytest.approx(2 * widths["due_later"]) and widths["due_1d"] == 0
