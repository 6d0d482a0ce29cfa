from __future__ import annotations

from tests.api.staff.fixtures import (  # noqa: F401  (fixtures)
    clock, fast_hashes, issued_certificate, review_request, seeded, staff,
)
from tests.console.helpers import console, console_clock  # noqa: F401


def test_smoke(console, staff, review_request, issued_certificate):
    sup = staff.create("supervisor", "giam.sat")
    console.sign_in(sup)
    for path in ("/staff/", "/staff/queue", f"/staff/requests/{review_request['id']}", "/staff/certificates",
                 f"/staff/certificates/{issued_certificate['certificate_id']}", "/staff/audit", "/staff/audit?verify=1",
                 "/staff/keys", "/staff/nothing"):
        r = console.get(path)
        print(path, r.status_code)
        assert r.status_code in (200, 404), r.get_data(as_text=True)[:3000]
