"""A small HTTP client, bench citizens with identity tokens, and the request-creation load."""
from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def call(base: str, method: str, path: str, body: Any = None, *, token: str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 60) -> Answer:
    """One request on a fresh connection (gunicorn's sync workers close after each answer)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent = dict(headers or {})
    payload = None
    if body is not None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        sent.setdefault("Content-Type", "application/json")
    if token:
        sent["Authorization"] = f"Bearer {token}"
    start = time.perf_counter()
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        data = response.read()
        seconds = time.perf_counter() - start
        return Answer(response.status, data, {k.lower(): v for k, v in response.getheaders()}, seconds)
    finally:
        conn.close()


# --- citizens ------------------------------------------------------------------------------------

# Typical names (male, born 19yy: century/gender digit 0). The first is the "typical name" of the
# QR figures.
NAMES = ["Nguyễn Văn Minh", "Trần Quốc Bảo", "Lê Hoàng Long", "Phạm Đức Thắng", "Hoàng Gia Huy",
         "Vũ Thành Đạt", "Đặng Quang Vinh", "Bùi Anh Tuấn"]


@dataclass
class Citizen:
    personal_id: str
    name: str
    birthdate: date
    token: str

    def request_payload(self) -> dict[str, Any]:
        """A Form 1 with a one-province history from age 14 (DESIGN §11): issued at once."""
        return {
            "form_type": 1,
            "purpose": "Bổ sung hồ sơ xin việc",
            "copies": 1,
            "include_ban_section": False,
            "phone": "0912345678",
            "email": "bench@example.vn",
            "residence_history": [{
                "from": f"{self.birthdate.year + 14:04d}-{self.birthdate.month:02d}",
                "to": None,
                "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội",
                "province_code": "01",
            }],
        }


class CitizenFactory:
    """Citizens outside the record store (never convicted), each with a fresh personal ID.

    Personal ID: province 001 (Hà Nội), century/gender digit 0 (male, born 19xx), two digits of
    the birth year, a six-digit serial that grows for the whole bench run (one open request per
    citizen).
    """

    def __init__(self, idp_dir: Path) -> None:
        from ecert.config import DEV_IDP_AUDIENCE, DEV_IDP_ISSUER

        self.idp_dir = idp_dir
        self.issuer = DEV_IDP_ISSUER
        self.audience = DEV_IDP_AUDIENCE
        self.serial = 0

    def mint(self, count: int, ttl_seconds: int = 3 * 3600) -> list[Citizen]:
        from ecert.dev.idp import issue_dev_token

        out = []
        for _ in range(count):
            self.serial += 1
            yy = 50 + self.serial % 50
            pid = f"0010{yy:02d}{self.serial:06d}"
            born = date(1900 + yy, 1, 1)
            name = NAMES[(self.serial - 1) % len(NAMES)]
            token = issue_dev_token(self.idp_dir, issuer=self.issuer, audience=self.audience, personal_id=pid,
                                    name=name, birthdate=born, gender="male", ttl_seconds=ttl_seconds)
            out.append(Citizen(pid, name, born, token))
        return out


# --- the request-creation load ---------------------------------------------------------------------


@dataclass
class CreationRun:
    sent: int = 0
    elapsed: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    bodies: list[tuple[Citizen, dict]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def rate(self) -> float:
        return self.created / self.elapsed if self.elapsed > 0 else float("nan")


def create_requests(base: str, citizens: list[Citizen], *, concurrency: int = 4, time_cap: float = 120) -> CreationRun:
    """POST /api/v1/requests once per citizen from ``concurrency`` threads; bounded in time."""
    work: queue.Queue[Citizen] = queue.Queue()
    for citizen in citizens:
        work.put(citizen)
    run = CreationRun()
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + time_cap
    last_done = [start]

    def worker() -> None:
        while time.perf_counter() < deadline:
            try:
                citizen = work.get_nowait()
            except queue.Empty:
                return
            try:
                answer = call(base, "POST", "/api/v1/requests", citizen.request_payload(), token=citizen.token)
            except Exception as exc:  # noqa: BLE001 - counted, not fatal
                with lock:
                    run.sent += 1
                    run.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            body = answer.json() or {}
            with lock:
                run.sent += 1
                run.statuses[answer.status] += 1
                run.latencies.append(answer.seconds)
                last_done[0] = time.perf_counter()
                if answer.status == 201:
                    run.outcomes[body.get("status")] += 1
                    run.bodies.append((citizen, body))
                elif len(run.errors) < 5:
                    run.errors.append(f"HTTP {answer.status}: {answer.body[:200]!r}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=time_cap + 60)
    run.elapsed = last_done[0] - start
    return run
