"""The development receiver `make run` starts: it checks signatures like a real gateway, dedupes
by id, and prints a line per notification with the citizen's number masked."""
from __future__ import annotations

import threading
import time
from http.server import ThreadingHTTPServer

import httpx

from ecert.dev.receiver import describe, make_handler
from ecert.relay import SIGNATURE_HEADER, signature

SECRET = b"development-webhook-secret"
BODY = b'{"id":"e1","type":"request.issued","at":"2026-11-30T08:00:00Z","sub":"001090012345",' \
       b'"request_id":"r1","certificate_id":"c1"}'


def test_the_development_receiver_checks_signatures_and_dedupes(capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(SECRET, "/notifications"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        signed = {SIGNATURE_HEADER: signature(SECRET, BODY, int(time.time()))}
        assert httpx.post(f"{url}/notifications", content=BODY, headers=signed).status_code == 200
        assert httpx.post(f"{url}/notifications", content=BODY, headers=signed).status_code == 200
        forged = {SIGNATURE_HEADER: signature(b"another-secret", BODY, int(time.time()))}
        assert httpx.post(f"{url}/notifications", content=BODY, headers=forged).status_code == 401
        assert httpx.post(f"{url}/notifications", content=BODY + b" ", headers=signed).status_code == 401
        assert httpx.post(f"{url}/elsewhere", content=BODY, headers=signed).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("notification request.issued e1") and "sub ****2345" in printed[0]
    assert "001090012345" not in "\n".join(printed)
    assert "duplicate" in printed[1]
    assert sum("bad Ecert-Signature" in line for line in printed) == 2


def test_describe_masks_the_citizen():
    line = describe({"id": "e", "type": "certificate.verified", "sub": "079185001234", "certificate_id": "c"},
                    duplicate=False)
    assert "****1234" in line and "079185001234" not in line and "request" not in line
