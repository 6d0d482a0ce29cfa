"""The OpenAPI document generates a working client (DESIGN §9, issue #10): openapi-python-client
(pinned in requirements-dev.txt) generates a package from /api/v1/openapi.json without a single
warning, and that package drives the citizen journey against a live server: Form 1 and Form 2,
polling with If-None-Match (304), a staff refusal read as its typed model, the PDF downloaded
twice (304), a cancellation.

The generator supports only JSON, text/* and application/octet-stream bodies: its documented
``content_type_overrides`` reads our binary media types (PDF, PNG, SVG, PEM) as bytes, as a
mobile team's configuration would.
"""
from __future__ import annotations

import importlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from ecert import create_app
from ecert.db import utcnow
from ecert.migrate import upgrade_head
from ecert.services import review as review_service
from ecert.services import staff as staff_service
from ecert.services.audit import Actor
from ecert.wiring import resources_of
from tests.support import form1_payload, form2_payload, history_since_14

pytestmark = pytest.mark.slow

PACKAGE = "ecert_generated_client"
GENERATOR_CONFIG = """\
project_name_override: ecert-generated-client
package_name_override: ecert_generated_client
content_type_overrides:
  application/pdf: application/octet-stream
  image/png: application/octet-stream
  image/svg+xml: application/octet-stream
  application/x-pem-file: application/octet-stream
"""


@pytest.fixture(scope="module")
def served_app(provisioned: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The app on 127.0.0.1 (a port the OS picks), on a database of its own: the journey
    commits, and nothing of it must reach the other tests' database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('client-db') / 'client.sqlite3'}"
    upgrade_head(url)
    overrides = {**provisioned, "database_url": url, "database_owner_url": url}
    setup = create_app(overrides)
    result = setup.test_cli_runner().invoke(args=["ecert", "init", "--json"])
    assert result.exit_code == 0, result.output
    resources_of(setup).engine.dispose()
    app = create_app(overrides)  # its keystore loads the key that init registered
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="client-http", daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        resources_of(app).engine.dispose()


@pytest.fixture(scope="module")
def generated(served_app: tuple[Any, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``openapi-python-client generate`` on the served document; any warning fails."""
    app, _base = served_app
    work = tmp_path_factory.mktemp("generated")
    document = work / "openapi.json"
    document.write_bytes(app.test_client().get("/api/v1/openapi.json").data)
    config = work / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    bin_dir = Path(sys.executable).parent
    tool = bin_dir / "openapi-python-client"
    if not tool.exists():
        pytest.fail("openapi-python-client missing: .venv/bin/pip install -r requirements-dev.txt", pytrace=False)
    result = subprocess.run(
        [str(tool), "generate", "--path", str(document), "--output-path", str(work / PACKAGE),
         "--meta", "none", "--config", str(config)],
        capture_output=True, text=True, timeout=300, check=False, cwd=work,
        # Its post-generation hooks run ruff, which lives beside it.
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(work)},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(work))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))


def _module(package: Any, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def _citizen(package: Any, base: str, token: str) -> Any:
    return _module(package, "client").AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)


def _refuse(app: Any, request_id: str) -> None:
    """An officer refuses the request (the staff service, as the staff API would)."""
    with resources_of(app).sessionmaker() as session:
        enrolment = staff_service.create_staff(
            session, "officer-client", "officer", password="correct horse battery staple", actor=Actor("cli", "cli:t")
        )
        session.flush()
        review_service.refuse(session, request_id, reason="documents_invalid", note="Thiếu giấy tờ",
                              actor=Actor("staff", enrolment.user.id), now=utcnow())
        session.commit()


def test_generated_client_drives_the_citizen_journey(generated: Any, served_app: tuple[Any, str],
                                                      token_for: Any) -> None:
    app, base = served_app
    models = _module(generated, "models")
    create = _module(generated, "api.requests.create_request")
    get = _module(generated, "api.requests.get_request")
    cancel = _module(generated, "api.requests.cancel_request")
    get_certificate = _module(generated, "api.certificates.get_certificate")
    pdf = _module(generated, "api.certificates.certificate_pdf")

    # Form 1, issued at once: poll (304), then the PDF twice (304).
    an = _citizen(generated, base, token_for())
    created = create.sync_detailed(client=an, body=models.RequestCreate.from_dict(form1_payload()))
    assert created.status_code == 201, created.content
    assert created.headers["Location"] == f"/api/v1/requests/{created.parsed.id}"
    request = created.parsed
    assert isinstance(request, models.Request)
    assert request.submitted_at.tzinfo is not None and request.submitted_at.microsecond == 0
    assert request.status == models.RequestStatus.ISSUED, request.status
    first = get.sync_detailed(request.id, client=an)
    assert first.status_code == 200 and isinstance(first.parsed, models.Request)
    again = get.sync_detailed(request.id, client=an, if_none_match=first.headers["ETag"])
    assert again.status_code == 304
    certificate = get_certificate.sync(str(first.parsed.certificate_id), client=an)
    assert isinstance(certificate, models.Certificate)
    download = pdf.sync_detailed(certificate.id, client=an)
    assert download.status_code == 200
    assert download.parsed.payload.read().startswith(b"%PDF")
    revalidated = pdf.sync_detailed(certificate.id, client=an.with_headers({"If-None-Match": download.headers["ETag"]}))
    assert revalidated.status_code == 304

    # Form 2 goes to staff, who refuse it: the citizen reads the refusal as a typed model.
    binh = _citizen(generated, base, token_for(pid="079185001234", name="Trần Thị Bình", birthdate="1985-11-02",
                                               gender="female"))
    form2_body = form2_payload(residence_history=history_since_14("1985-11-02"))
    form2 = create.sync(client=binh, body=models.RequestCreate.from_dict(form2_body))
    assert isinstance(form2, models.Request)
    _refuse(app, form2.id)
    refused = get.sync(form2.id, client=binh)
    assert isinstance(refused, models.Request)
    assert isinstance(refused.refusal, models.Refusal)
    assert str(refused.refusal.reason) == "documents_invalid"
    assert refused.refusal.note == "Thiếu giấy tờ"

    # A Form 1 that waits for staff (ban section asked for), withdrawn by its citizen.
    cuong = _citizen(generated, base, token_for(pid="048088004321", name="Lê Văn Cường", birthdate="1988-01-23"))
    waiting = create.sync(client=cuong, body=models.RequestCreate.from_dict(
        form1_payload(include_ban_section=True, residence_history=history_since_14("1988-01-23"))
    ))
    assert isinstance(waiting, models.Request)
    cancelled = cancel.sync(waiting.id, client=cuong)
    assert isinstance(cancelled, models.Request)
    assert str(cancelled.status) == "cancelled"
    assert cancelled.cancelled_at is not None and cancelled.cancelled_at.microsecond == 0
