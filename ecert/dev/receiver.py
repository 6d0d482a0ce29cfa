"""Development only: a stand-in for the identity app's notification gateway.

`make run` starts it beside gunicorn and the relay when ECERT_NOTIFY_WEBHOOK_URL is not set
(development then points the relay at it, ``ecert.config.DEV_WEBHOOK_URL``). It checks each
notification's ``Ecert-Signature`` exactly as a real gateway must, dedupes by ``id``, and prints
one line per notification, so a newcomer sees the change feed flow as they try the API:

    notification request.issued 3f1c… sub ****2345 request 8a0e… signature ok

Run it alone with ``.venv/bin/python -m ecert.dev.receiver``. It answers 401 to a bad signature
and 200 otherwise; it keeps nothing but the ids it has seen (in memory).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ecert.config import load_settings
from ecert.relay import SIGNATURE_HEADER, signature_ok

_MAX_BODY = 16 * 1024


def describe(body: dict[str, Any], *, duplicate: bool) -> str:
    """One line per notification; the citizen's number is masked even here."""
    sub = str(body.get("sub") or "")
    parts = [f"notification {body.get('type')} {body.get('id')}", f"sub ****{sub[-4:]}"]
    if body.get("request_id"):
        parts.append(f"request {body['request_id']}")
    if body.get("certificate_id"):
        parts.append(f"certificate {body['certificate_id']}")
    parts.append("signature ok" + (" (duplicate: already seen, ignored)" if duplicate else ""))
    return "  ".join(parts)


def make_handler(secret: bytes, path: str) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != path or not 0 < length <= _MAX_BODY:
                self._answer(404 if self.path != path else 400)
                return
            raw = self.rfile.read(length)
            if not signature_ok(secret, self.headers.get(SIGNATURE_HEADER, ""), raw, now=int(time.time())):
                print(f"refused a notification with a bad {SIGNATURE_HEADER} header", flush=True)
                self._answer(401)
                return
            body = json.loads(raw)
            with lock:
                duplicate = body.get("id") in seen
                seen.add(body.get("id"))
            print(describe(body, duplicate=duplicate), flush=True)
            self._answer(200)

        def log_message(self, *_args: Any) -> None:
            pass  # one line per notification is printed above; no access log

    return Handler


def main() -> None:
    settings = load_settings()
    url = urlsplit(settings.notify_webhook_url)
    if url.scheme != "http" or url.hostname not in {"127.0.0.1", "localhost"}:
        sys.exit(f"ECERT_NOTIFY_WEBHOOK_URL is {settings.notify_webhook_url!r}: not this development receiver")
    server = ThreadingHTTPServer(
        (url.hostname, url.port or 80), make_handler(settings.notify_webhook_secret.encode(), url.path)
    )
    print(f"development notification receiver on {settings.notify_webhook_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
