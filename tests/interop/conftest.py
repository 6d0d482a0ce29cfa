"""Interop tests: our PDF and QR token checked by software we did not write.

* pyHanko's own command line (``pyhanko sign validate``, package ``pyhanko-cli``),
* poppler's ``pdfsig`` with our root in a fresh NSS store (``certutil`` from NSS's tools),
* an off-the-shelf COSE library (``pycose``) given only the trust list fetched over HTTP,
* zbar (``pyzbar`` + ``libzbar0``) and zxing-cpp reading the QR off the PDF rasterised at 100 dpi.

A missing tool skips its tests with the reason, except when ``ECERT_REQUIRE_INTEROP_TOOLS=1``
(CI sets it, and installs poppler-utils, libnss3-tools and libzbar0): then a missing tool is a failure,
so a green CI run means the interop was really proven.

The served app is a real HTTP server (werkzeug, 127.0.0.1, a free port) in a thread. It only
serves what is already committed (the trust material ``ecert init`` made); certificates are
issued through the test client inside the rolled-back test transaction, like the API tests do.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from ecert import create_app
from ecert.wiring import resources_of
from tests.api.public.test_verification_api import AN, issue, pdf_of

REQUIRE_TOOLS = os.environ.get("ECERT_REQUIRE_INTEROP_TOOLS") == "1"
TOOL_TIMEOUT = 120


def need(what: str, found: bool, install_hint: str) -> None:
    """Skip (or, with ECERT_REQUIRE_INTEROP_TOOLS=1, fail) when ``what`` is absent."""
    if found:
        return
    message = f"{what} not available: {install_hint}"
    if REQUIRE_TOOLS:
        pytest.fail(f"{message} (ECERT_REQUIRE_INTEROP_TOOLS=1 requires it)", pytrace=False)
    pytest.skip(message)


def run_tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT, check=False)


@pytest.fixture(scope="session")
def pyhanko_cli() -> Path:
    # The venv's own script first: the suite may run without the venv on PATH.
    beside = Path(sys.executable).with_name("pyhanko")
    found = beside if beside.exists() else (Path(w) if (w := shutil.which("pyhanko")) else None)
    need("pyHanko's CLI (pyhanko)", found is not None,
         ".venv/bin/pip install -r requirements-dev.txt (pyhanko-cli)")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def pdfsig() -> str:
    found = shutil.which("pdfsig")
    need("poppler's pdfsig", found is not None, "apt-get install poppler-utils")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def certutil() -> str:
    found = shutil.which("certutil")
    need("NSS certutil", found is not None, "apt-get install libnss3-tools")
    assert found is not None
    return found


@dataclass(frozen=True)
class Served:
    url: str

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            assert response.status == 200
            return bytes(response.read())


@pytest.fixture(scope="module")
def served(provisioned: dict[str, Any]) -> Iterator[Served]:
    """The app on a real socket: 127.0.0.1 and a port the OS picks."""
    app = create_app(provisioned)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="interop-http", daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        resources_of(app).engine.dispose()


@pytest.fixture(scope="module")
def published(served: Served, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What anyone fetches from the service: the root CA and the trust list.

    Module-scoped, so it is fetched before a test opens its (SQLite) write transaction: the
    server's own connection would otherwise wait for that transaction's lock.
    """
    root = tmp_path_factory.mktemp("published") / "root-ca.pem"
    root.write_bytes(served.get("/.well-known/ecert/root-ca.pem"))
    assert root.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    trust_list = json.loads(served.get("/.well-known/ecert/trust-list.json"))
    return {"root_pem": root, "trust_list": trust_list}


@pytest.fixture
def root_pem(published: dict[str, Any]) -> Path:
    """Our root CA as anyone gets it: GET /.well-known/ecert/root-ca.pem."""
    return Path(published["root_pem"])


@pytest.fixture
def trust_list(published: dict[str, Any]) -> dict[str, Any]:
    """GET /.well-known/ecert/trust-list.json, parsed."""
    return dict(published["trust_list"])


@pytest.fixture
def certificate(app: Any, client: Any, auth: Any) -> dict[str, Any]:
    """One certificate issued by the service (the citizen's view, with ``pdf`` added)."""
    assert app.test_cli_runner().invoke(args=["ecert", "seed-demo"]).exit_code == 0
    cert = issue(app, client, auth, AN)
    cert["pdf"] = pdf_of(client, cert)
    return cert


@pytest.fixture
def certificate_pdf(certificate: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "phieu.pdf"
    path.write_bytes(certificate["pdf"])
    return path


def flip_signed_byte(pdf: bytes) -> bytes:
    """One bit changed inside the first page's content stream (well inside the signed range)."""
    data = bytearray(pdf)
    at = data.index(b"stream", len(data) // 4) + 20
    data[at] ^= 0x01
    return bytes(data)


def append_info_update(pdf: bytes, **entries: str) -> bytes:
    """One incremental update after the signature rewriting only the document information."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = writer.trailer["/Info"]
    for key, value in entries.items():
        info[generic.NameObject("/" + key)] = generic.TextStringObject(value)
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
