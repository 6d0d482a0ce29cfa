"""Junk PDF uploads cannot stall the service (DESIGN §7).

Size cap before parsing, structure before pyHanko, the real check in a child process killed at
its time limit, host-wide slots (busy -> 503 with Retry-After); and no traceback in the log.
"""
from __future__ import annotations

import io
import logging
import os
import signal
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from ecert import pdfcheck
from ecert.config import load_settings
from ecert.errors import ConfigurationError
from ecert.wiring import replace_resources, resources_of
from tests.api.public.test_verification_api import (  # noqa: F401  (fixtures)
    VERIFY,
    VERIFY_PDF,
    an_cert,
    events,
    pdf_of,
    seeded,
)

MIB = 1024 * 1024


def upload(client: Any, data: bytes, path: str = VERIFY_PDF, **kwargs: Any) -> Any:
    return client.post(path, data={"file": (io.BytesIO(data), "phieu.pdf", "application/pdf")},
                       content_type="multipart/form-data", **kwargs)


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    yield
    with_traceback = [r for r in caplog.records if r.exc_info or r.stack_info]
    assert not with_traceback, [r.getMessage() for r in with_traceback]
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.fixture
def no_real_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything reaches a child process."""
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a child process was asked to check this upload")

    monkeypatch.setattr(pdfcheck.PdfChecker, "_run", refuse)


def slot_dir(app: Any):
    return resources_of(app).settings.instance_dir / "pdf-check-slots"


def configure_checker(app: Any, **overrides: Any) -> None:
    """The app's checker as settings with these overrides would make it (one app per test:
    a second app on the same SQLite file would wait for the first one's write lock)."""
    settings = resources_of(app).settings.with_overrides(overrides)
    replace_resources(app, pdf_checker=pdfcheck.PdfChecker(
        slot_dir(app), settings.pdf_check_slots, settings.pdf_check_seconds))


# --- 1. the size cap -------------------------------------------------------------------------------


def test_default_cap_is_one_mib(app):
    assert resources_of(app).settings.max_pdf_upload_bytes == MIB


def test_junk_over_one_mib_is_refused_before_parsing(client, db, monkeypatch, no_real_check):
    def never(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the upload was looked at")

    monkeypatch.setattr(pdfcheck, "structural_verdict", never)
    for size in (MIB + 1, 3 * MIB):  # just over (read check) and far over (Content-Length check)
        response = upload(client, b"%PDF-1.7\n" + os.urandom(size))
        assert response.status_code == 413, size
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert (body["code"], body["max_bytes"]) == ("file_too_large", MIB)
    assert events(db) == []


def test_the_upload_cap_does_not_loosen_json_bodies(client):
    # MAX_CONTENT_LENGTH fits the 1 MiB upload; JSON stays capped at 256 KiB.
    response = client.post(VERIFY, data=b'{"qr": "' + b"1" * (600 * 1024) + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


# --- 2. structure first ----------------------------------------------------------------------------


JUNK = {
    "no header": os.urandom(MIB - 64),
    "no end": b"%PDF-1.7\n" + os.urandom(MIB - 64),
    "no markers": b"%PDF-1.7\n" + os.urandom(MIB - 64) + b"\n%%EOF\n",
    "signature but no token": b"%PDF-1.7\n/ByteRange [0 1 2 3]\n" + os.urandom(MIB - 128) + b"\n%%EOF\n",
}


@pytest.mark.parametrize("name", list(JUNK))
def test_structural_junk_is_malformed_in_microseconds(client, db, name, no_real_check):
    data = JUNK[name]
    started = time.perf_counter()
    verdict = pdfcheck.structural_verdict(data, datetime.now(UTC), MIB)
    assert time.perf_counter() - started < 0.005
    assert verdict is not None and verdict.outcome == "malformed"
    # Through HTTP (1 MiB of multipart parsing included): best of three under 50 ms.
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        response = upload(client, data)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
        assert response.get_json()["outcome"] == "malformed"
    assert min(timings) < 0.050, timings
    assert {e.outcome for e in events(db)} == {"malformed"}


def test_claims_ours_but_unsigned_is_tampered_without_parsing(client, no_real_check):
    data = b"%PDF-1.7\n<< /EcertToken (123) >>\n%%EOF\n"
    body = upload(client, data).get_json()
    assert (body["outcome"], body["checks"]["signature"]["reason"]) == ("tampered", "unsigned_pdf")


# --- 3. the time limit -----------------------------------------------------------------------------


def test_a_check_past_the_time_limit_is_stopped(seeded, client, an_cert, db, monkeypatch):
    pdf = pdf_of(client, an_cert)
    pdfcheck.warm()
    stopped: list[Any] = []
    discard = pdfcheck.POOL.discard

    def remember(child: Any) -> None:
        discard(child)
        stopped.append(child)

    monkeypatch.setattr(pdfcheck.POOL, "discard", remember)
    configure_checker(seeded, pdf_check_seconds=0.001)  # a warm check of a small PDF can take < 20 ms
    started = time.perf_counter()
    response = upload(client, pdf)
    elapsed = time.perf_counter() - started
    body = response.get_json()
    assert response.status_code == 200
    assert (body["outcome"], body["checks"]["format"]["reason"]) == ("malformed", "pdf_too_complex")
    assert body["certificate"] is None
    assert elapsed < 2.0, elapsed  # 1 ms of checking, then the kill; not the whole check
    [child] = stopped
    assert child.exitcode == -signal.SIGKILL
    assert [e.outcome for e in events(db)][-1] == "malformed"
    # The next check gets a fresh child and the whole time: the same file is valid.
    configure_checker(seeded)
    assert upload(client, pdf).get_json()["outcome"] == "valid"


def test_a_child_killed_while_idle_is_replaced(seeded, client, an_cert):
    pdf = pdf_of(client, an_cert)
    assert upload(client, pdf).get_json()["outcome"] == "valid"
    for child in list(pdfcheck.POOL._idle):
        os.kill(child.process.pid, signal.SIGKILL)
        child.process.join(5)
    assert upload(client, pdf).get_json()["outcome"] == "valid"


def test_the_checker_runs_at_a_lower_cpu_priority_than_the_worker(seeded, client, an_cert):
    # On a 2-core host a child busy with a pathological PDF must lose the CPU to /healthz.
    assert upload(client, pdf_of(client, an_cert)).get_json()["outcome"] == "valid"
    children = list(pdfcheck.POOL._idle)
    assert children
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for child in children:
        assert os.getpriority(os.PRIO_PROCESS, child.process.pid) >= mine + pdfcheck.CHILD_NICENESS


# --- 4. bounded concurrency ------------------------------------------------------------------------


@pytest.mark.parametrize("slots", [1, 2])
def test_all_slots_busy_is_503_with_retry_after(seeded, client, an_cert, db, slots):
    app = seeded
    configure_checker(app, pdf_check_slots=slots)
    pdf = pdf_of(client, an_cert)
    holder = pdfcheck.Slots(slot_dir(app), slots)
    held = [holder.try_acquire() for _ in range(slots)]
    assert None not in held and holder.try_acquire() is None
    try:
        response = upload(client, pdf)
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"] == "5"
        problem = response.get_json()
        assert (problem["code"], problem["retry_after"]) == ("verification_busy", 5)
        assert "Traceback" not in response.get_data(as_text=True)
        # The page says so too, in a page.
        page = upload(client, pdf, path="/v/pdf", query_string={"lang": "en"})
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert page.headers["Retry-After"] == "5"
        assert "The service is busy" in page.get_data(as_text=True)
        # Junk never needs a slot: still answered at once.
        assert upload(client, JUNK["no markers"]).get_json()["outcome"] == "malformed"
        assert [e.outcome for e in events(db)] == ["malformed"]  # a busy answer is not a verdict
    finally:
        for fd in held:
            os.close(fd)
    assert upload(client, pdf).get_json()["outcome"] == "valid"


def test_slots_are_shared_across_processes(tmp_path):
    # flock locks belong to the open file: another process competes exactly like a thread.
    import subprocess
    import sys

    script = (
        "import sys, time; from pathlib import Path; from ecert.pdfcheck import Slots\n"
        f"fd = Slots(Path({str(tmp_path)!r}), 1).try_acquire(); print(fd is not None, flush=True); time.sleep(30)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "True"
        assert pdfcheck.Slots(tmp_path, 1).try_acquire() is None
    finally:
        other.kill()
        other.wait()
    fd = pdfcheck.Slots(tmp_path, 1).try_acquire()  # the kernel released the dead holder's slot
    assert fd is not None
    os.close(fd)


# --- settings --------------------------------------------------------------------------------------


def test_check_settings_from_the_environment():
    settings = load_settings({"ECERT_PDF_CHECK_SLOTS": "3", "ECERT_PDF_CHECK_SECONDS": "2.5"})
    assert (settings.pdf_check_slots, settings.pdf_check_seconds) == (3, 2.5)
    defaults = load_settings({})
    assert (defaults.pdf_check_slots, defaults.pdf_check_seconds) == (1, 5.0)
    for name, value in (("SLOTS", "0"), ("SLOTS", "many"), ("SECONDS", "0"), ("SECONDS", "nan"),
                        ("SECONDS", "inf"), ("SECONDS", "soon")):
        with pytest.raises(ConfigurationError, match=f"ECERT_PDF_CHECK_{name}"):
            load_settings({f"ECERT_PDF_CHECK_{name}": value})
