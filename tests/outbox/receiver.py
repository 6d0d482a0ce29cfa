"""A real local HTTP receiver for the relay's tests: checks each notification's signature as a
gateway must, records it, and answers what the test says (a status per attempt, a delay)."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ecert.relay import SIGNATURE_HEADER, signature_ok


@dataclass
class Received:
    body: dict[str, Any]
    raw: bytes
    signature_ok: bool
    headers: dict[str, str]


@dataclass
class Receiver:
    secret: bytes
    # Status to answer the n-th request (0-based) with; 200 by default.
    answer: Callable[[int], int] = lambda _n: 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = signature_ok(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), raw, now=int(time.time()))
                with receiver.lock:
                    number = len(receiver.received)
                    receiver.received.append(Received(json.loads(raw), raw, ok, dict(self.headers.items())))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.answer(number) if ok else 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/notifications"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(item.body["id"] for item in self.received)
